#include "wire/udp.h"

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace synwave::wire {

Parsed<UdpView, UdpError> UdpView::parse(std::span<const std::uint8_t> datagram, Ipv4Addr src,
                                         Ipv4Addr dst, ChecksumCheck check) {
  if (datagram.size() < kUdpHeaderLen) return UdpError::kTruncated;
  const std::uint16_t length = load_be16(datagram.data() + 4);
  if (length < kUdpHeaderLen || length > datagram.size()) return UdpError::kBadLength;
  const std::span<const std::uint8_t> trimmed = datagram.first(length);
  if (check == ChecksumCheck::kVerify && load_be16(datagram.data() + 6) != 0) {
    const std::uint32_t sum = checksum_partial(
        trimmed, pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kUdp), length));
    if (checksum_finish(sum) != 0) return UdpError::kBadChecksum;
  }
  return UdpView(trimmed);
}

std::uint16_t UdpView::src_port() const {
  return load_be16(datagram_.data());
}
std::uint16_t UdpView::dst_port() const {
  return load_be16(datagram_.data() + 2);
}
std::uint16_t UdpView::checksum() const {
  return load_be16(datagram_.data() + 6);
}

Built UdpRepr::emit(std::span<std::uint8_t> datagram, Ipv4Addr src, Ipv4Addr dst,
                    ChecksumFill fill) const {
  if (datagram.size() < kUdpHeaderLen) return BuildError::kBufferTooSmall;
  if (datagram.size() > 0xffff) return BuildError::kTooLong;
  const auto length = static_cast<std::uint16_t>(datagram.size());
  std::uint8_t* p = datagram.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be16(p + 4, length);
  store_be16(p + 6, 0);
  const std::uint32_t pseudo =
      pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kUdp), length);
  if (fill == ChecksumFill::kOffload) {
    store_be16(p + 6, checksum_fold(pseudo));
  } else {
    const std::uint16_t sum = checksum_finish(checksum_partial(datagram, pseudo));
    store_be16(p + 6, sum == 0 ? 0xffff : sum);
  }
  return datagram.size();
}

}  // namespace synwave::wire
