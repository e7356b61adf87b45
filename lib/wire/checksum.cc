#include "wire/checksum.h"

#include <bit>
#include <cstring>

#include "wire/bytes.h"

namespace synwave::wire {

std::uint32_t checksum_partial(std::span<const std::uint8_t> bytes, std::uint32_t sum) {
  // Sum native-order 64-bit words with end-around carry; one's-complement addition does not care
  // about byte order (RFC 1071 section 2(B)), so one swap at the end gives the big-endian sum.
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t acc = 0;
  auto add = [&acc](std::uint64_t w) {
    acc += w;
    acc += (acc < w);  // end-around carry
  };
  while (n >= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, sizeof w);
    add(w[0]);
    add(w[1]);
    add(w[2]);
    add(w[3]);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    add(w);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint8_t tail[8] = {};
    std::memcpy(tail, p, n);  // an odd last byte becomes the high byte of a zero-padded word
    std::uint64_t w;
    std::memcpy(&w, tail, sizeof w);
    add(w);
  }
  std::uint32_t folded =
      static_cast<std::uint32_t>(acc & 0xffffffff) + static_cast<std::uint32_t>(acc >> 32);
  if (folded < static_cast<std::uint32_t>(acc >> 32)) ++folded;
  std::uint16_t s = checksum_fold(folded);
  if constexpr (std::endian::native == std::endian::little) s = byteswap16(s);
  return sum + s;
}

}  // namespace synwave::wire
