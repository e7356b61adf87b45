#include "wire/ethernet.h"

#include "wire/bytes.h"

namespace synwave::wire {

Parsed<EthernetView, EthernetError> EthernetView::parse(std::span<const std::uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLen) return EthernetError::kTruncated;
  const auto outer = static_cast<EtherType>(load_be16(frame.data() + 12));
  if (outer == EtherType::kQinQ) return EthernetError::kStackedVlan;
  if (outer != EtherType::kVlan) return EthernetView(frame, kEthernetHeaderLen);
  if (frame.size() < kEthernetVlanHeaderLen) return EthernetError::kTruncated;
  const auto inner = static_cast<EtherType>(load_be16(frame.data() + 16));
  if (inner == EtherType::kVlan || inner == EtherType::kQinQ) return EthernetError::kStackedVlan;
  return EthernetView(frame, kEthernetVlanHeaderLen);
}

MacAddr EthernetView::dst() const {
  return load_mac(frame_.data());
}
MacAddr EthernetView::src() const {
  return load_mac(frame_.data() + 6);
}
EtherType EthernetView::ethertype() const {
  return static_cast<EtherType>(load_be16(frame_.data() + header_len_ - 2));
}
std::uint16_t EthernetView::vlan_id() const {
  return has_vlan() ? load_be16(frame_.data() + 14) & 0x0fff : 0;
}
std::uint8_t EthernetView::vlan_priority() const {
  return has_vlan() ? static_cast<std::uint8_t>(frame_[14] >> 5) : 0;
}

EthernetRepr EthernetRepr::from(const EthernetView& view) {
  EthernetRepr repr{view.dst(), view.src(), view.ethertype(), std::nullopt};
  if (view.has_vlan()) repr.vlan_id = view.vlan_id();
  return repr;
}

Built EthernetRepr::emit(std::span<std::uint8_t> out) const {
  const std::size_t len = header_len();
  if (out.size() < len) return BuildError::kBufferTooSmall;
  std::uint8_t* p = out.data();
  store_mac(p, dst);
  store_mac(p + 6, src);
  if (vlan_id) {
    store_be16(p + 12, static_cast<std::uint16_t>(EtherType::kVlan));
    store_be16(p + 14, static_cast<std::uint16_t>(*vlan_id & 0x0fff));
  }
  store_be16(p + len - 2, static_cast<std::uint16_t>(ethertype));
  return len;
}

}  // namespace synwave::wire
