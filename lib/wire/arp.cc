#include "wire/arp.h"

#include "wire/bytes.h"
#include "wire/ethernet.h"

namespace synwave::wire {
namespace {

constexpr std::uint16_t kHardwareEthernet = 1;

}  // namespace

Parsed<ArpView, ArpError> ArpView::parse(std::span<const std::uint8_t> packet) {
  if (packet.size() < kArpLen) return ArpError::kTruncated;
  const std::uint8_t* p = packet.data();
  if (load_be16(p) != kHardwareEthernet) return ArpError::kBadHardwareType;
  if (load_be16(p + 2) != static_cast<std::uint16_t>(EtherType::kIpv4))
    return ArpError::kBadProtocolType;
  if (p[4] != 6 || p[5] != 4) return ArpError::kBadAddressLength;
  const std::uint16_t op = load_be16(p + 6);
  if (op != static_cast<std::uint16_t>(ArpOp::kRequest) &&
      op != static_cast<std::uint16_t>(ArpOp::kReply))
    return ArpError::kBadOperation;
  return ArpView(packet.first(kArpLen));
}

ArpOp ArpView::op() const {
  return static_cast<ArpOp>(load_be16(packet_.data() + 6));
}
MacAddr ArpView::sender_mac() const {
  return load_mac(packet_.data() + 8);
}
Ipv4Addr ArpView::sender_ip() const {
  return Ipv4Addr{load_be32(packet_.data() + 14)};
}
MacAddr ArpView::target_mac() const {
  return load_mac(packet_.data() + 18);
}
Ipv4Addr ArpView::target_ip() const {
  return Ipv4Addr{load_be32(packet_.data() + 24)};
}

ArpRepr ArpRepr::from(const ArpView& view) {
  return ArpRepr{view.op(), view.sender_mac(), view.sender_ip(), view.target_mac(),
                 view.target_ip()};
}

ArpRepr ArpRepr::request(MacAddr our_mac, Ipv4Addr our_ip, Ipv4Addr target_ip) {
  return ArpRepr{ArpOp::kRequest, our_mac, our_ip, MacAddr{}, target_ip};
}

ArpRepr ArpRepr::reply_to(const ArpRepr& req, MacAddr our_mac) {
  return ArpRepr{ArpOp::kReply, our_mac, req.target_ip, req.sender_mac, req.sender_ip};
}

Built ArpRepr::emit(std::span<std::uint8_t> out) const {
  if (out.size() < kArpLen) return BuildError::kBufferTooSmall;
  std::uint8_t* p = out.data();
  store_be16(p, kHardwareEthernet);
  store_be16(p + 2, static_cast<std::uint16_t>(EtherType::kIpv4));
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, static_cast<std::uint16_t>(op));
  store_mac(p + 8, sender_mac);
  store_be32(p + 14, sender_ip.value);
  store_mac(p + 18, target_mac);
  store_be32(p + 24, target_ip.value);
  return kArpLen;
}

}  // namespace synwave::wire
