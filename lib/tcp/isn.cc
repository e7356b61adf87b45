#include "tcp/isn.h"

#include <cstddef>
#include <string_view>

namespace synwave::tcp {
namespace {

void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint64_t hash_label(const SipHashKey& key, std::string_view label) {
  return siphash24(key, {reinterpret_cast<const std::uint8_t*>(label.data()), label.size()});
}

}  // namespace

IsnGenerator::IsnGenerator(std::array<std::uint8_t, 16> secret)
    : isn_key_(SipHashKey::from_bytes(secret)),
      ts_key_{hash_label(isn_key_, "synwave-tcp-ts-key-0"),
              hash_label(isn_key_, "synwave-tcp-ts-key-1")} {}

Seq IsnGenerator::next(Ipv4Addr local, std::uint16_t local_port, Ipv4Addr remote,
                       std::uint16_t remote_port, Instant now) const {
  std::array<std::uint8_t, 12> msg;
  put_be32(&msg[0], local.value);
  put_be32(&msg[4], remote.value);
  put_be16(&msg[8], local_port);
  put_be16(&msg[10], remote_port);
  const auto f = static_cast<std::uint32_t>(siphash24(isn_key_, msg));
  // M: nanoseconds / 64, modulo 2^32 (an arithmetic shift keeps this exact for negative instants).
  const auto m = static_cast<std::uint32_t>(to_ns(now) >> 6);
  return Seq(f) + m;
}

std::uint32_t IsnGenerator::ts_offset(Ipv4Addr local, Ipv4Addr remote) const {
  std::array<std::uint8_t, 8> msg;
  put_be32(&msg[0], local.value);
  put_be32(&msg[4], remote.value);
  return static_cast<std::uint32_t>(siphash24(ts_key_, msg));
}

}  // namespace synwave::tcp
