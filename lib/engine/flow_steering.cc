#include "engine/flow_steering.h"

#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

namespace synwave {

std::uint16_t owning_queue(const rte_mbuf* frame, const RssTable& rss) {
  using wire::kEthernetHeaderLen;
  const auto* bytes = rte_pktmbuf_mtod(frame, const std::uint8_t*);
  const std::size_t len = rte_pktmbuf_data_len(frame);
  if (len < kEthernetHeaderLen + 20 + 4 ||
      wire::load_be16(bytes + 12) != static_cast<std::uint16_t>(wire::EtherType::kIpv4))
    return kAnyQueue;
  const std::uint8_t* ip = bytes + kEthernetHeaderLen;
  const std::size_t ip_header_len = std::size_t{ip[0] & 0x0fu} * 4;
  if ((ip[0] >> 4) != 4 || ip_header_len < 20 || len < kEthernetHeaderLen + ip_header_len + 4) return kAnyQueue;
  // A fragment: the NIC hashes it by addresses alone, so its queue says nothing of the flow's.
  if ((wire::load_be16(ip + 6) & 0x3fffu) != 0) return kAnyQueue;
  if (ip[9] != static_cast<std::uint8_t>(wire::IpProtocol::kTcp) &&
      ip[9] != static_cast<std::uint8_t>(wire::IpProtocol::kUdp))
    return kAnyQueue;
  const std::uint8_t* ports = ip + ip_header_len;
  return rss.queue_of(Ipv4Addr{wire::load_be32(ip + 12)}, Ipv4Addr{wire::load_be32(ip + 16)},
                      wire::load_be16(ports), wire::load_be16(ports + 2));
}

}  // namespace synwave
