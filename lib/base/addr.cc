#include "base/addr.h"

#include <charconv>
#include <cstdio>

namespace synwave {
namespace {

// Parses a decimal number without sign or leading zeros, at most `max`.
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Ipv4Addr> parse_ipv4(std::string_view text) {
  std::uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    std::size_t dot = text.find('.');
    if ((part < 3) == (dot == std::string_view::npos)) return std::nullopt;
    auto octet = parse_decimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
    text = part < 3 ? text.substr(dot + 1) : std::string_view{};
  }
  return Ipv4Addr{value};
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = parse_ipv4(text.substr(0, slash));
  auto length = parse_decimal(text.substr(slash + 1), 32);
  if (!addr || !length) return std::nullopt;
  if ((addr->value & ~netmask(*length)) != 0) return std::nullopt;
  return Ipv4Prefix{*addr, *length};
}

std::string format_ipv4_prefix(Ipv4Prefix prefix) {
  return format_ipv4(prefix.network) + "/" + std::to_string(prefix.length);
}

std::optional<MacAddr> parse_mac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr mac;
  for (int i = 0; i < 6; ++i) {
    int hi = hex_digit(text[i * 3]);
    int lo = hex_digit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) return std::nullopt;
    mac.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return mac;
}

std::string format_ipv4(Ipv4Addr addr) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", addr.value >> 24, (addr.value >> 16) & 0xff,
                (addr.value >> 8) & 0xff, addr.value & 0xff);
  return buf;
}

std::string format_mac(const MacAddr& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac.bytes[0], mac.bytes[1],
                mac.bytes[2], mac.bytes[3], mac.bytes[4], mac.bytes[5]);
  return buf;
}

}  // namespace synwave
