#include "net/net_stack.h"

#include <sys/random.h>

#include <cstring>

#include "wire/bytes.h"
#include "wire/checksum.h"

namespace synwave {
namespace {

constexpr std::size_t kMinEthernetFrame = 60;  // without FCS: shorter frames are padded

std::span<std::uint8_t> frame_bytes(rte_mbuf* frame) {
  return {rte_pktmbuf_mtod(frame, std::uint8_t*), rte_pktmbuf_data_len(frame)};
}

bool is_martian_source(Ipv4Addr src) {
  const std::uint32_t v = src.value;
  return v == 0xffffffffu || (v >> 28) == 0xe  // broadcast, multicast (224/4)
         || (v >> 24) == 127 || (v >> 28) == 0xf;  // loopback, reserved (240/4)
}

}  // namespace

NetStack::NetStack(const Params& params, TxBatch& tx) : params_(params), tx_(tx), arp_(params.arp) {}

NetStack::~NetStack() = default;

absl::Status NetStack::enable_tcp(TimerWheel& timers, const std::string& table_name, unsigned max_sockets,
                                  unsigned max_half_open, tcp::TcpStack::Params::FlowAffinity affinity) {
  tcp::TcpStack::Params tcp_params;
  tcp_params.address = params_.ipv4;
  tcp_params.sysctl = params_.sysctl;
  tcp_params.mtu = params_.mtu;
  tcp_params.max_sockets = max_sockets;
  tcp_params.max_half_open = max_half_open;
  tcp_params.pool = params_.pool;
  tcp_params.tx_checksum_offload = params_.tx_checksum_offload;
  tcp_params.tso = params_.tso;
  tcp_params.table_name = table_name;
  tcp_params.affinity = affinity;
  // RFC 6528: a secret peers cannot guess, drawn once per stack.
  if (getrandom(tcp_params.isn_secret.data(), tcp_params.isn_secret.size(), 0) !=
      static_cast<ssize_t>(tcp_params.isn_secret.size()))
    return absl::InternalError("getrandom failed: no secret for initial sequence numbers");
  auto stack = tcp::TcpStack::create(tcp_params, timers, &NetStack::tcp_output, this);
  if (!stack.ok()) return stack.status();
  timers_ = &timers;
  tcp_ = *std::move(stack);
  return absl::OkStatus();
}

void NetStack::tcp_output(void* self, rte_mbuf* packet, Ipv4Addr destination) {
  auto* net = static_cast<NetStack*>(self);
  net->output_ipv4(packet, destination, net->timers_->now());
}

void NetStack::drop(rte_mbuf* frame, NetDrop reason) {
  drops_.inc(reason);
  rte_pktmbuf_free(frame);
}

void NetStack::start(Instant) {
  if (!params_.arp.gratuitous) return;
  // RFC 5227 announcement: a request whose sender and target are both our address.
  send_arp(wire::ArpRepr::request(params_.mac, params_.ipv4, params_.ipv4), MacAddr::broadcast());
  stats_.inc(NetStat::kArpGratuitousOut);
}

void NetStack::stop() { arp_.clear(); }

void NetStack::input(rte_mbuf* frame, Instant now) {
  stats_.inc(NetStat::kRxFrames);
  if (rte_pktmbuf_data_len(frame) != rte_pktmbuf_pkt_len(frame)) return drop(frame, NetDrop::kNotContiguous);
  auto eth = wire::EthernetView::parse(frame_bytes(frame));
  if (!eth) {
    eth_errors_.inc(eth.error());
    rte_pktmbuf_free(frame);
    return;
  }
  const MacAddr dst = eth->dst();
  if (dst != params_.mac && !dst.is_multicast()) return drop(frame, NetDrop::kEthNotForUs);
  if (eth->has_vlan()) return drop(frame, NetDrop::kEthVlanTagged);
  switch (eth->ethertype()) {
    case wire::EtherType::kArp: return input_arp(frame, eth->header_len(), now);
    case wire::EtherType::kIpv4: return input_ipv4(frame, eth->header_len(), now);
    default: return drop(frame, NetDrop::kEthUnsupportedType);
  }
}

void NetStack::input_arp(rte_mbuf* frame, std::size_t offset, Instant now) {
  auto arp = wire::ArpView::parse(frame_bytes(frame).subspan(offset));
  if (!arp) {
    arp_errors_.inc(arp.error());
    rte_pktmbuf_free(frame);
    return;
  }
  const wire::ArpRepr message = wire::ArpRepr::from(*arp);
  const bool request = message.op == wire::ArpOp::kRequest;
  stats_.inc(request ? NetStat::kArpRequestsIn : NetStat::kArpRepliesIn);
  if (message.sender_mac.is_multicast() || message.sender_mac.is_zero())
    return drop(frame, NetDrop::kArpInvalidSender);
  if (message.sender_ip == params_.ipv4) return drop(frame, NetDrop::kArpAddressConflict);

  // RFC 826's merge: refresh what we know of the sender; learn it when the message is for us.
  const bool for_us = message.target_ip == params_.ipv4;
  arp_.learn(message.sender_ip, message.sender_mac, now, for_us,
             [this](rte_mbuf* waiting, const MacAddr& mac) { transmit_ethernet(waiting, mac); });
  if (const NeighbourShare& share = neighbour_share_; share.shared != nullptr)
    share.shared(share.context, message.sender_ip, message.sender_mac, for_us);

  if (!for_us) {
    // A gratuitous announcement (sender == target) has done its work in learn().
    if (message.sender_ip == message.target_ip) {
      rte_pktmbuf_free(frame);
      return;
    }
    return drop(frame, NetDrop::kArpNotForUs);
  }
  if (!request) {
    rte_pktmbuf_free(frame);
    return;
  }
  // Answer in the request's own mbuf: same size, no allocation.
  std::span<std::uint8_t> bytes = frame_bytes(frame);
  const wire::EthernetRepr eth{.dst = message.sender_mac, .src = params_.mac,
                               .ethertype = wire::EtherType::kArp};
  (void)eth.emit(bytes);
  (void)wire::ArpRepr::reply_to(message, params_.mac).emit(bytes.subspan(wire::kEthernetHeaderLen));
  stats_.inc(NetStat::kArpRepliesOut);
  tx_.push(frame);
}

void NetStack::learn_neighbour(Ipv4Addr ip, const MacAddr& mac, bool create, Instant now) {
  stats_.inc(NetStat::kArpLearnedFromEngines);
  arp_.learn(ip, mac, now, create, [this](rte_mbuf* waiting, const MacAddr& to) { transmit_ethernet(waiting, to); });
}

void NetStack::input_ipv4(rte_mbuf* frame, std::size_t offset, Instant) {
  const wire::ChecksumCheck check = (frame->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD
                                        ? wire::ChecksumCheck::kSkip
                                        : wire::ChecksumCheck::kVerify;
  auto ip = wire::Ipv4View::parse(frame_bytes(frame).subspan(offset), check);
  if (!ip) {
    ipv4_errors_.inc(ip.error());
    rte_pktmbuf_free(frame);
    return;
  }
  const Ipv4Addr src = ip->src();
  const Ipv4Addr dst = ip->dst();
  const std::uint32_t subnet_broadcast = params_.ipv4.value | ~netmask(params_.prefix_len);
  if (is_martian_source(src) || src == params_.ipv4 || src.value == subnet_broadcast)
    return drop(frame, NetDrop::kIpv4InvalidSource);
  const bool to_broadcast = dst.value == 0xffffffffu || dst.value == subnet_broadcast;
  if (dst != params_.ipv4 && !to_broadcast) return drop(frame, NetDrop::kIpv4NotForUs);
  if (ip->ttl() == 0) return drop(frame, NetDrop::kIpv4TtlZero);
  stats_.inc(NetStat::kIpv4In);

  // Ethernet pads short frames: the datagram ends where its total length says.
  rte_pktmbuf_trim(frame, static_cast<std::uint16_t>(rte_pktmbuf_data_len(frame) - offset - ip->total_len()));
  switch (ip->protocol()) {
    case wire::IpProtocol::kIcmp: return input_icmp(frame, *ip, to_broadcast);
    case wire::IpProtocol::kTcp:
      if (tcp_ == nullptr || to_broadcast) return drop(frame, NetDrop::kIpv4UnsupportedProtocol);
      // TCP takes the datagram with its data starting at the IPv4 header (the view stays valid:
      // the bytes do not move).
      rte_pktmbuf_adj(frame, static_cast<std::uint16_t>(offset));
      return tcp_->input(frame, *ip);
    default: return drop(frame, NetDrop::kIpv4UnsupportedProtocol);
  }
}

void NetStack::input_icmp(rte_mbuf* frame, const wire::Ipv4View& ip, bool to_broadcast) {
  auto icmp = wire::IcmpView::parse(ip.payload());
  if (!icmp) {
    icmp_errors_.inc(icmp.error());
    rte_pktmbuf_free(frame);
    return;
  }
  if (!icmp->is_echo_request()) return drop(frame, NetDrop::kIcmpNotEcho);
  stats_.inc(NetStat::kIcmpEchoRequestsIn);
  if (to_broadcast) return drop(frame, NetDrop::kIcmpBroadcastEcho);

  // Turn the request into its reply in place: swap the addresses, reset the TTL, change the
  // type, and patch both checksums.
  std::uint8_t* eth = rte_pktmbuf_mtod(frame, std::uint8_t*);
  std::uint8_t* ip_hdr = const_cast<std::uint8_t*>(ip.bytes().data());
  std::uint8_t* icmp_hdr = const_cast<std::uint8_t*>(icmp->bytes().data());
  const MacAddr requester = wire::load_mac(eth + 6);
  wire::store_mac(eth, requester);
  wire::store_mac(eth + 6, params_.mac);

  const Ipv4Addr src = ip.src();
  wire::store_be32(ip_hdr + 12, params_.ipv4.value);
  wire::store_be32(ip_hdr + 16, src.value);
  ip_hdr[8] = static_cast<std::uint8_t>(params_.sysctl.ip_default_ttl);
  wire::store_be16(ip_hdr + 10, 0);
  wire::store_be16(ip_hdr + 10, wire::internet_checksum({ip_hdr, ip.header_len()}));

  const std::uint16_t old_type_code = wire::load_be16(icmp_hdr);
  icmp_hdr[0] = static_cast<std::uint8_t>(wire::IcmpType::kEchoReply);
  wire::store_be16(icmp_hdr + 2, wire::checksum_update16(wire::load_be16(icmp_hdr + 2), old_type_code,
                                                         wire::load_be16(icmp_hdr)));
  stats_.inc(NetStat::kIcmpEchoRepliesOut);
  stats_.inc(NetStat::kIpv4Out);
  tx_.push(frame);
}

Ipv4Addr NetStack::next_hop(Ipv4Addr destination) const {
  if (same_subnet(destination, params_.ipv4, params_.prefix_len)) return destination;
  return params_.gateway.value_or(Ipv4Addr{0});
}

void NetStack::output_ipv4(rte_mbuf* packet, Ipv4Addr destination, Instant now) {
  const std::uint32_t subnet_broadcast = params_.ipv4.value | ~netmask(params_.prefix_len);
  if (destination.value == 0xffffffffu || destination.value == subnet_broadcast) {
    stats_.inc(NetStat::kIpv4Out);
    return transmit_ethernet(packet, MacAddr::broadcast());
  }
  const Ipv4Addr hop = next_hop(destination);
  if (hop.value == 0) return drop(packet, NetDrop::kNoRoute);
  bool refresh = false;
  if (const MacAddr* mac = arp_.lookup(hop, now, refresh)) {
    if (refresh) send_arp(wire::ArpRepr::request(params_.mac, params_.ipv4, hop), *mac);
    stats_.inc(NetStat::kIpv4Out);
    return transmit_ethernet(packet, *mac);
  }
  switch (arp_.enqueue(hop, packet, now)) {
    case ArpCache::Enqueued::kQueuedSendRequest:
      send_arp(wire::ArpRepr::request(params_.mac, params_.ipv4, hop), MacAddr::broadcast());
      return;
    case ArpCache::Enqueued::kQueued: return;
    case ArpCache::Enqueued::kQueueFull: return drop(packet, NetDrop::kArpQueueFull);
    case ArpCache::Enqueued::kTableFull: return drop(packet, NetDrop::kArpTableFull);
  }
}

void NetStack::poll(Instant now) {
  arp_.poll(
      now,
      [this](Ipv4Addr ip) {
        send_arp(wire::ArpRepr::request(params_.mac, params_.ipv4, ip), MacAddr::broadcast());
      },
      [this](rte_mbuf* frame) { drop(frame, NetDrop::kArpUnresolved); });
}

void NetStack::transmit_ethernet(rte_mbuf* packet, const MacAddr& dst) {
  auto* header = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(packet, wire::kEthernetHeaderLen));
  if (header == nullptr) return drop(packet, NetDrop::kNoMbuf);
  const wire::EthernetRepr eth{.dst = dst, .src = params_.mac, .ethertype = wire::EtherType::kIpv4};
  (void)eth.emit({header, wire::kEthernetHeaderLen});
  packet->l2_len = wire::kEthernetHeaderLen;
  tx_.push(packet);
}

void NetStack::send_arp(const wire::ArpRepr& arp, const MacAddr& eth_dst) {
  rte_mbuf* frame = rte_pktmbuf_alloc(params_.pool);
  if (frame == nullptr) {
    drops_.inc(NetDrop::kNoMbuf);
    return;
  }
  auto* bytes = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(frame, kMinEthernetFrame));
  std::memset(bytes, 0, kMinEthernetFrame);
  const wire::EthernetRepr eth{.dst = eth_dst, .src = params_.mac, .ethertype = wire::EtherType::kArp};
  (void)eth.emit({bytes, kMinEthernetFrame});
  (void)arp.emit({bytes + wire::kEthernetHeaderLen, wire::kArpLen});
  if (arp.op == wire::ArpOp::kRequest) stats_.inc(NetStat::kArpRequestsOut);
  tx_.push(frame);
}

}  // namespace synwave
