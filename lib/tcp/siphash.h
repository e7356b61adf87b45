// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit
// pseudo-random function for short inputs. Used for RFC 6528 initial sequence numbers and the
// per-connection TCP timestamp offset (see isn.h), as Linux does.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace synwave::tcp {

// A 128-bit SipHash key as the two 64-bit halves the algorithm works on.
struct SipHashKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;

  // The paper's convention: k0 is bytes 0..7 and k1 bytes 8..15, each read little-endian.
  static constexpr SipHashKey from_bytes(const std::array<std::uint8_t, 16>& bytes) {
    SipHashKey key;
    for (int i = 7; i >= 0; --i) {
      key.k0 = (key.k0 << 8) | bytes[static_cast<std::size_t>(i)];
      key.k1 = (key.k1 << 8) | bytes[static_cast<std::size_t>(i) + 8];
    }
    return key;
  }
  friend constexpr bool operator==(const SipHashKey&, const SipHashKey&) = default;
};

// SipHash-2-4 of `message` (any length) under `key`. The 64-bit result is the integer whose
// little-endian bytes are the paper's 8-byte output. Never fails.
std::uint64_t siphash24(const SipHashKey& key, std::span<const std::uint8_t> message);

// The hash of a text label: how one secret gives keys of its own to several uses.
inline std::uint64_t siphash24_label(const SipHashKey& key, std::string_view label) {
  return siphash24(key, {reinterpret_cast<const std::uint8_t*>(label.data()), label.size()});
}

}  // namespace synwave::tcp
