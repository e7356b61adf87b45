// Link and network addresses as plain values, with their text forms.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace synwave {

// An IPv4 address in host byte order (198.18.0.1 is 0xC6120001).
struct Ipv4Addr {
  std::uint32_t value = 0;
  friend constexpr bool operator==(Ipv4Addr, Ipv4Addr) = default;
};

struct MacAddr {
  std::array<std::uint8_t, 6> bytes{};
  friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;

  constexpr bool is_broadcast() const {
    for (auto b : bytes)
      if (b != 0xff) return false;
    return true;
  }
  constexpr bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  constexpr bool is_zero() const { return *this == MacAddr{}; }
  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
};

// "198.18.0.1" -> address; nullopt for anything else (no leading zeros, no trailing text).
std::optional<Ipv4Addr> parse_ipv4(std::string_view text);
// "02:00:5e:00:53:01" (case-insensitive) -> address; nullopt for anything else.
std::optional<MacAddr> parse_mac(std::string_view text);
std::string format_ipv4(Ipv4Addr addr);
std::string format_mac(const MacAddr& mac);

// The network of `addr` with a prefix of `prefix_len` bits (0..32).
constexpr std::uint32_t netmask(unsigned prefix_len) {
  return prefix_len == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_len);
}
constexpr bool same_subnet(Ipv4Addr a, Ipv4Addr b, unsigned prefix_len) {
  return ((a.value ^ b.value) & netmask(prefix_len)) == 0;
}

// An IPv4 network, "198.18.0.0/15": the address with its host bits zero, and the prefix length.
struct Ipv4Prefix {
  Ipv4Addr network;
  unsigned length = 32;  // 0..32
  friend constexpr bool operator==(Ipv4Prefix, Ipv4Prefix) = default;

  constexpr bool contains(Ipv4Addr addr) const { return same_subnet(addr, network, length); }
  // Addresses in the prefix (2^(32 - length)).
  constexpr std::uint64_t size() const { return std::uint64_t{1} << (32 - length); }
};

// "198.18.0.0/15" -> prefix; nullopt for anything else, including an address with host bits set
// ("198.18.0.1/15"): a network is written as its network address.
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text);
std::string format_ipv4_prefix(Ipv4Prefix prefix);

}  // namespace synwave
