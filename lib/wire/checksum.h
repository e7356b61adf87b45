// The internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Conventions: a *sum* is an unfolded 32-bit one's-complement accumulator over 16-bit big-endian
// words, in host order; a *checksum* is the 16-bit value as it reads in the header field (host
// order, i.e. what load_be16 returns). Sums may be chained: checksum_partial(b,
// checksum_partial(a)) is the sum over a followed by b, provided a has even length (only the last
// piece may be odd).
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/addr.h"

namespace synwave::wire {

// Adds the one's-complement sum of `bytes` (odd length: a zero byte is appended) to `sum`.
// Sums 64-bit words; the result fits in 32 bits and may be chained up to 2^15 times.
std::uint32_t checksum_partial(std::span<const std::uint8_t> bytes, std::uint32_t sum = 0);

// Folds a sum to 16 bits with end-around carry (not complemented).
constexpr std::uint16_t checksum_fold(std::uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// The checksum to store for a sum: its folded complement.
constexpr std::uint16_t checksum_finish(std::uint32_t sum) {
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// The checksum of `bytes` (RFC 1071). Over a region that contains its own valid checksum this is 0.
inline std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes) {
  return checksum_finish(checksum_partial(bytes));
}

// The sum of the IPv4 pseudo-header (RFC 793 / 768): addresses, protocol, L4 length.
constexpr std::uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                                          std::uint16_t l4_length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff) +
         protocol + l4_length;
}

// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changed from `old_word`
// to `new_word`: HC' = ~(~HC + ~m + m').
constexpr std::uint16_t checksum_update16(std::uint16_t checksum, std::uint16_t old_word,
                                          std::uint16_t new_word) {
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~old_word);
  sum += new_word;
  return checksum_finish(sum);
}

// The same for a 32-bit field (an address, or seq/ack) aligned on a 16-bit boundary.
constexpr std::uint16_t checksum_update32(std::uint16_t checksum, std::uint32_t old_value,
                                          std::uint32_t new_value) {
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~(old_value >> 16));
  sum += static_cast<std::uint16_t>(~old_value);
  sum += new_value >> 16;
  sum += new_value & 0xffff;
  return checksum_finish(sum);
}

}  // namespace synwave::wire
