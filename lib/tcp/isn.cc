#include "tcp/isn.h"

#include <cstddef>
#include <string_view>

#include "wire/bytes.h"

namespace synwave::tcp {
IsnGenerator::IsnGenerator(std::array<std::uint8_t, 16> secret)
    : isn_key_(SipHashKey::from_bytes(secret)),
      ts_key_{siphash24_label(isn_key_, "synwave-tcp-ts-key-0"),
              siphash24_label(isn_key_, "synwave-tcp-ts-key-1")} {}

Seq IsnGenerator::next(Ipv4Addr local, std::uint16_t local_port, Ipv4Addr remote,
                       std::uint16_t remote_port, Instant now) const {
  std::array<std::uint8_t, 12> msg;
  wire::store_be32(&msg[0], local.value);
  wire::store_be32(&msg[4], remote.value);
  wire::store_be16(&msg[8], local_port);
  wire::store_be16(&msg[10], remote_port);
  const auto f = static_cast<std::uint32_t>(siphash24(isn_key_, msg));
  // M: nanoseconds / 64, modulo 2^32 (an arithmetic shift keeps this exact for negative instants).
  const auto m = static_cast<std::uint32_t>(to_ns(now) >> 6);
  return Seq(f) + m;
}

std::uint32_t IsnGenerator::ts_offset(Ipv4Addr local, Ipv4Addr remote) const {
  std::array<std::uint8_t, 8> msg;
  wire::store_be32(&msg[0], local.value);
  wire::store_be32(&msg[4], remote.value);
  return static_cast<std::uint32_t>(siphash24(ts_key_, msg));
}

}  // namespace synwave::tcp
