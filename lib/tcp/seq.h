// TCP sequence numbers: a strong 32-bit type with modular (wrap-safe) arithmetic and order.
//
// Sequence numbers live on a ring of 2^32 values (RFC 9293 section 3.4). Seq never converts to or
// from an integer implicitly: construct with Seq(uint32_t), read with raw(). Adding or subtracting
// an offset wraps modulo 2^32; subtracting two Seqs gives their signed distance.
//
// Order follows serial-number arithmetic (RFC 1982, the SEQ_LT of RFC 9293 implementations,
// Linux's before()/after()): a < b iff int32_t(a.raw() - b.raw()) < 0, i.e. b lies less than 2^31
// ahead of a. This order is only meaningful between numbers less than 2^31 apart, which TCP
// guarantees for live data (windows are at most 2^30). It is not transitive over the whole ring;
// and for two numbers exactly 2^31 apart both a < b and b < a hold (as with Linux's before()),
// so there is no operator<=>.
//
// Thread-safety: plain values; every function is constexpr and pure.
#pragma once

#include <cstdint>

namespace synwave::tcp {

class Seq {
 public:
  // Seq(0). Exists so that control blocks can be default-constructed; no meaning as an ISN.
  constexpr Seq() = default;
  constexpr explicit Seq(std::uint32_t raw) : raw_(raw) {}

  // The number as it appears on the wire (host byte order).
  constexpr std::uint32_t raw() const { return raw_; }

  // Offsets wrap modulo 2^32. A negative int32_t offset moves backwards.
  friend constexpr Seq operator+(Seq s, std::uint32_t n) { return Seq(s.raw_ + n); }
  friend constexpr Seq operator+(Seq s, std::int32_t n) {
    return Seq(s.raw_ + static_cast<std::uint32_t>(n));
  }
  friend constexpr Seq operator-(Seq s, std::uint32_t n) { return Seq(s.raw_ - n); }
  friend constexpr Seq operator-(Seq s, std::int32_t n) {
    return Seq(s.raw_ - static_cast<std::uint32_t>(n));
  }
  constexpr Seq& operator+=(std::uint32_t n) { return *this = *this + n; }
  constexpr Seq& operator+=(std::int32_t n) { return *this = *this + n; }
  constexpr Seq& operator-=(std::uint32_t n) { return *this = *this - n; }
  constexpr Seq& operator-=(std::int32_t n) { return *this = *this - n; }

  // Signed distance from b to a: the d with b + d == a, in [-2^31, 2^31). Positive when a is after
  // b.
  friend constexpr std::int32_t operator-(Seq a, Seq b) {
    return static_cast<std::int32_t>(a.raw_ - b.raw_);
  }

  friend constexpr bool operator==(Seq, Seq) = default;
  friend constexpr bool operator<(Seq a, Seq b) { return (a - b) < 0; }
  friend constexpr bool operator<=(Seq a, Seq b) { return (a - b) <= 0; }
  friend constexpr bool operator>(Seq a, Seq b) { return (b - a) < 0; }
  friend constexpr bool operator>=(Seq a, Seq b) { return (b - a) <= 0; }

 private:
  std::uint32_t raw_ = 0;
};

// True iff s lies in the window [start, start + len): start <= s < start + len on the ring.
// Computed as the unsigned offset (s - start) < len, which equals the comparison form for
// 1 <= len <= 2^31 and also gives the exact answer for larger windows; len == 0 is always empty.
constexpr bool seq_in_window(Seq s, Seq start, std::uint32_t len) {
  return s.raw() - start.raw() < len;
}

// The later / earlier of two sequence numbers in the modular order (a on a tie).
constexpr Seq seq_max(Seq a, Seq b) {
  return a < b ? b : a;
}
constexpr Seq seq_min(Seq a, Seq b) {
  return b < a ? b : a;
}

}  // namespace synwave::tcp
