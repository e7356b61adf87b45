// ARP for Ethernet and IPv4 (RFC 826): the only kind the stack speaks.
//
//   htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2) sha(6) spa(4) tha(6) tpa(4)   = 28 bytes
//
// Thread-safety: views and reprs are plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/addr.h"
#include "wire/result.h"

namespace synwave::wire {

inline constexpr std::size_t kArpLen = 28;

enum class ArpOp : std::uint16_t { kRequest = 1, kReply = 2 };

enum class ArpError : std::uint8_t {
  kTruncated,         // fewer than 28 bytes
  kBadHardwareType,   // htype != 1 (Ethernet)
  kBadProtocolType,   // ptype != 0x0800 (IPv4)
  kBadAddressLength,  // hlen != 6 or plen != 4
  kBadOperation,      // op not request (1) or reply (2)
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(ArpError::kCount)>
    kArpErrorNames = {"truncated", "bad_hardware_type", "bad_protocol_type", "bad_address_length",
                      "bad_operation"};

constexpr std::string_view error_name(ArpError e) {
  return kArpErrorNames[static_cast<std::size_t>(e)];
}

// A validated Ethernet/IPv4 ARP packet (trailing Ethernet padding is ignored).
class ArpView {
 public:
  ArpView() = default;
  static Parsed<ArpView, ArpError> parse(std::span<const std::uint8_t> packet);

  ArpOp op() const;
  MacAddr sender_mac() const;
  Ipv4Addr sender_ip() const;
  MacAddr target_mac() const;
  Ipv4Addr target_ip() const;
  std::span<const std::uint8_t> bytes() const { return packet_; }  // exactly 28 bytes

 private:
  explicit ArpView(std::span<const std::uint8_t> packet) : packet_(packet) {}
  std::span<const std::uint8_t> packet_;
};

struct ArpRepr {
  ArpOp op = ArpOp::kRequest;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;  // zero in a request
  Ipv4Addr target_ip;
  friend bool operator==(const ArpRepr&, const ArpRepr&) = default;

  static ArpRepr from(const ArpView& view);
  // "Who has target_ip? Tell sender_ip" (also a gratuitous ARP when target_ip == our_ip).
  static ArpRepr request(MacAddr our_mac, Ipv4Addr our_ip, Ipv4Addr target_ip);
  // The answer to `request`, from the owner of its target address.
  static ArpRepr reply_to(const ArpRepr& request, MacAddr our_mac);

  // Writes 28 bytes at the start of `out`; returns kArpLen or kBufferTooSmall.
  Built emit(std::span<std::uint8_t> out) const;
};

}  // namespace synwave::wire
