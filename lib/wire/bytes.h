// Big-endian loads and stores on byte buffers.
//
// Every multi-byte field on the wire is big-endian; accessors return host order. Loads and stores
// go through memcpy, never through a cast pointer, so unaligned fields are fine under the
// sanitizers. The caller guarantees that the bytes exist (views check lengths once, in parse()).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "base/addr.h"

namespace synwave::wire {

constexpr std::uint16_t byteswap16(std::uint16_t v) {
  return static_cast<std::uint16_t>(v << 8 | v >> 8);
}
constexpr std::uint32_t byteswap32(std::uint32_t v) {
  return __builtin_bswap32(v);
}

inline std::uint16_t load_be16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return std::endian::native == std::endian::little ? byteswap16(v) : v;
}

inline std::uint32_t load_be32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return std::endian::native == std::endian::little ? byteswap32(v) : v;
}

inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) v = byteswap16(v);
  std::memcpy(p, &v, sizeof v);
}

inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) v = byteswap32(v);
  std::memcpy(p, &v, sizeof v);
}

inline MacAddr load_mac(const std::uint8_t* p) {
  MacAddr mac;
  std::memcpy(mac.bytes.data(), p, mac.bytes.size());
  return mac;
}

inline void store_mac(std::uint8_t* p, const MacAddr& mac) {
  std::memcpy(p, mac.bytes.data(), mac.bytes.size());
}

}  // namespace synwave::wire
