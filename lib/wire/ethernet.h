// Ethernet II frames, with at most one 802.1Q VLAN tag.
//
//   dst(6) src(6) [0x8100 tci(2)] ethertype(2) payload
//
// Thread-safety: views and reprs are plain values over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/addr.h"
#include "wire/result.h"

namespace synwave::wire {

// An EtherType; any 16-bit value may appear, these are the ones the stack names.
enum class EtherType : std::uint16_t {
  kIpv4 = 0x0800,
  kArp = 0x0806,
  kVlan = 0x8100,  // 802.1Q tag
  kQinQ = 0x88a8,  // 802.1ad service tag
  kIpv6 = 0x86dd,
};

inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kEthernetVlanHeaderLen = 18;

enum class EthernetError : std::uint8_t {
  kTruncated,    // shorter than 14 bytes, or than 18 with a VLAN tag
  kStackedVlan,  // 802.1ad or a second 802.1Q tag: not supported
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(EthernetError::kCount)>
    kEthernetErrorNames = {"truncated", "stacked_vlan"};

constexpr std::string_view error_name(EthernetError e) {
  return kEthernetErrorNames[static_cast<std::size_t>(e)];
}

// A validated Ethernet frame. Frames are not length-checked against the 60-byte minimum (the NIC
// strips the FCS and may or may not have padded); the payload is everything after the header.
class EthernetView {
 public:
  EthernetView() = default;
  static Parsed<EthernetView, EthernetError> parse(std::span<const std::uint8_t> frame);

  MacAddr dst() const;
  MacAddr src() const;
  // The EtherType of the payload (the inner one when the frame is VLAN-tagged).
  EtherType ethertype() const;
  bool has_vlan() const { return header_len_ == kEthernetVlanHeaderLen; }
  // The 12-bit VLAN id and 3-bit priority of the tag; 0 when the frame has no tag.
  std::uint16_t vlan_id() const;
  std::uint8_t vlan_priority() const;
  std::size_t header_len() const { return header_len_; }
  std::span<const std::uint8_t> payload() const { return frame_.subspan(header_len_); }
  std::span<const std::uint8_t> bytes() const { return frame_; }

 private:
  EthernetView(std::span<const std::uint8_t> frame, std::size_t header_len)
      : frame_(frame), header_len_(header_len) {}
  std::span<const std::uint8_t> frame_;
  std::size_t header_len_ = 0;
};

// An Ethernet header as a plain value.
struct EthernetRepr {
  MacAddr dst;
  MacAddr src;
  EtherType ethertype = EtherType::kIpv4;
  std::optional<std::uint16_t> vlan_id;  // 12 bits; emitted with priority 0
  friend bool operator==(const EthernetRepr&, const EthernetRepr&) = default;

  static EthernetRepr from(const EthernetView& view);
  std::size_t header_len() const { return vlan_id ? kEthernetVlanHeaderLen : kEthernetHeaderLen; }
  // Writes the header at the start of `out`; returns header_len() or kBufferTooSmall.
  Built emit(std::span<std::uint8_t> out) const;
};

}  // namespace synwave::wire
