// The wire layer's one error convention.
//
// Every parse returns Parsed<View, Error>: either a view whose bytes have been validated once (all
// of its accessors are then infallible) or the single reason the bytes were refused. Every builder
// returns Built: the number of bytes written, or a BuildError. Error enums are small, end with
// kCount (so that a CounterSet<Error> can count each reason) and have a stable snake_case name from
// error_name(), kept next to the enum.
//
// No exceptions, no allocation. Thread-safety: plain values, safe to copy between threads.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace synwave::wire {

// A value or an error (a small stand-in for C++23 std::expected). T must be default-constructible.
// Both constructors are implicit, so `return view;` and `return Ipv4Error::kTruncated;` both work.
template <class T, class E>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) : value_(std::move(value)), ok_(true) {}  // NOLINT(implicit)
  constexpr Result(E error) : error_(error), ok_(false) {}            // NOLINT(implicit)

  constexpr bool ok() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }

  // Only when !ok().
  constexpr E error() const {
    assert(!ok_);
    return error_;
  }
  // Only when ok().
  constexpr const T& value() const {
    assert(ok_);
    return value_;
  }
  constexpr const T& operator*() const { return value(); }
  constexpr const T* operator->() const { return &value(); }

 private:
  T value_{};
  E error_{};
  bool ok_;
};

// What a parse returns: a validated view, or why the bytes were refused.
template <class View, class Error>
using Parsed = Result<View, Error>;

// Why a builder wrote nothing.
enum class BuildError : std::uint8_t {
  kBufferTooSmall,  // the caller's span cannot hold the header (or header + payload)
  kTooLong,         // a length field would overflow (IPv4 total length, UDP length > 65535)
  kOptionsTooLong,  // TCP options beyond 40 bytes (too many SACK blocks)
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(BuildError::kCount)>
    kBuildErrorNames = {"buffer_too_small", "too_long", "options_too_long"};

constexpr std::string_view error_name(BuildError e) {
  return kBuildErrorNames[static_cast<std::size_t>(e)];
}

// What a builder returns: bytes written, or why nothing was written.
using Built = Result<std::size_t, BuildError>;

// Whether a parse verifies checksums (kSkip when the NIC has already verified them).
enum class ChecksumCheck : std::uint8_t { kVerify, kSkip };

// What a builder writes in a checksum field.
enum class ChecksumFill : std::uint8_t {
  kCompute,  // the full checksum, in software
  kOffload,  // IPv4: zero; TCP/UDP: the folded pseudo-header sum, as NIC offload expects
};

}  // namespace synwave::wire
