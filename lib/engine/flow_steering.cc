#include "engine/flow_steering.h"

#include "wire/bytes.h"

namespace synwave {
namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeArp = 0x0806;
constexpr std::size_t kEthernetLen = 14;
constexpr std::uint8_t kProtocolTcp = 6;
constexpr std::uint8_t kProtocolUdp = 17;

}  // namespace

std::uint16_t owning_queue(const rte_mbuf* frame, const RssTable& rss) {
  const auto* bytes = rte_pktmbuf_mtod(frame, const std::uint8_t*);
  const std::size_t len = rte_pktmbuf_data_len(frame);
  if (len < kEthernetLen + 20 + 4 || wire::load_be16(bytes + 12) != kEtherTypeIpv4) return kAnyQueue;
  const std::uint8_t* ip = bytes + kEthernetLen;
  const std::size_t ip_header_len = std::size_t{ip[0] & 0x0fu} * 4;
  if ((ip[0] >> 4) != 4 || ip_header_len < 20 || len < kEthernetLen + ip_header_len + 4) return kAnyQueue;
  // A fragment: the NIC hashes it by addresses alone, so its queue says nothing of the flow's.
  if ((wire::load_be16(ip + 6) & 0x3fffu) != 0) return kAnyQueue;
  if (ip[9] != kProtocolTcp && ip[9] != kProtocolUdp) return kAnyQueue;
  const std::uint8_t* ports = ip + ip_header_len;
  return rss.queue_of(Ipv4Addr{wire::load_be32(ip + 12)}, Ipv4Addr{wire::load_be32(ip + 16)},
                      wire::load_be16(ports), wire::load_be16(ports + 2));
}

bool is_arp(const rte_mbuf* frame) {
  return rte_pktmbuf_data_len(frame) >= kEthernetLen &&
         wire::load_be16(rte_pktmbuf_mtod(frame, const std::uint8_t*) + 12) == kEtherTypeArp;
}

}  // namespace synwave
