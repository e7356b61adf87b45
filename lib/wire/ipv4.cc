#include "wire/ipv4.h"

#include "wire/bytes.h"
#include "wire/checksum.h"

namespace synwave::wire {

Parsed<Ipv4View, Ipv4Error> Ipv4View::parse(std::span<const std::uint8_t> packet,
                                            ChecksumCheck check, FragmentPolicy fragments) {
  if (packet.size() < kIpv4MinHeaderLen) return Ipv4Error::kTruncated;
  const std::uint8_t* p = packet.data();
  if ((p[0] >> 4) != 4) return Ipv4Error::kBadVersion;
  const std::size_t header_len = static_cast<std::size_t>(p[0] & 0x0f) * 4;
  if (header_len < kIpv4MinHeaderLen) return Ipv4Error::kBadHeaderLength;
  if (header_len > packet.size()) return Ipv4Error::kTruncated;
  const std::size_t total_len = load_be16(p + 2);
  if (total_len < header_len || total_len > packet.size()) return Ipv4Error::kBadTotalLength;
  if (check == ChecksumCheck::kVerify && internet_checksum(packet.first(header_len)) != 0)
    return Ipv4Error::kBadChecksum;
  Ipv4View view(packet.first(total_len));
  if (fragments == FragmentPolicy::kReject && view.is_fragment()) return Ipv4Error::kFragment;
  return view;
}

std::uint16_t Ipv4View::identification() const {
  return load_be16(packet_.data() + 4);
}
std::uint16_t Ipv4View::fragment_offset() const {
  return static_cast<std::uint16_t>((load_be16(packet_.data() + 6) & 0x1fff) * 8);
}
std::uint16_t Ipv4View::checksum() const {
  return load_be16(packet_.data() + 10);
}
Ipv4Addr Ipv4View::src() const {
  return Ipv4Addr{load_be32(packet_.data() + 12)};
}
Ipv4Addr Ipv4View::dst() const {
  return Ipv4Addr{load_be32(packet_.data() + 16)};
}

Ipv4Repr Ipv4Repr::from(const Ipv4View& view) {
  Ipv4Repr repr;
  repr.src = view.src();
  repr.dst = view.dst();
  repr.protocol = view.protocol();
  repr.payload_len = view.payload().size();
  repr.ttl = view.ttl();
  repr.tos = view.bytes()[1];
  repr.identification = view.identification();
  repr.dont_fragment = view.dont_fragment();
  return repr;
}

Built Ipv4Repr::emit(std::span<std::uint8_t> out, ChecksumFill fill) const {
  if (out.size() < kIpv4MinHeaderLen) return BuildError::kBufferTooSmall;
  if (payload_len > 0xffff - kIpv4MinHeaderLen) return BuildError::kTooLong;
  std::uint8_t* p = out.data();
  p[0] = 0x45;
  p[1] = tos;
  store_be16(p + 2, static_cast<std::uint16_t>(kIpv4MinHeaderLen + payload_len));
  store_be16(p + 4, identification);
  store_be16(p + 6, dont_fragment ? 0x4000 : 0);
  p[8] = ttl;
  p[9] = static_cast<std::uint8_t>(protocol);
  store_be16(p + 10, 0);
  store_be32(p + 12, src.value);
  store_be32(p + 16, dst.value);
  if (fill == ChecksumFill::kCompute)
    store_be16(p + 10, internet_checksum(out.first(kIpv4MinHeaderLen)));
  return kIpv4MinHeaderLen;
}

}  // namespace synwave::wire
