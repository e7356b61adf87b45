// The network layer of one engine on one port: Ethernet, ARP, IPv4 and ICMP.
//
// It receives frames with the engine's `now`, answers what it must (ARP requests, echo requests)
// in the same mbuf where it can, and sends through the engine's TxBatch. Every frame it does not
// pass on is freed and counted under a named drop reason.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <memory>
#include <optional>
#include <string>

#include "base/addr.h"
#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "net/arp_cache.h"
#include "net/net_counters.h"
#include "net/tx_batch.h"
#include "tcp/tcp_stack.h"
#include "timer/timer_wheel.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace synwave {

class NetStack {
 public:
  struct Params {
    MacAddr mac;
    Ipv4Addr ipv4;
    unsigned prefix_len = 24;
    std::optional<Ipv4Addr> gateway;
    unsigned mtu = 1500;
    ArpConfig arp;
    Sysctl sysctl;
    rte_mempool* pool = nullptr;  // where frames this layer originates come from
    bool tx_checksum_offload = false;  // the port fills IPv4 and TCP checksums
    bool tso = false;                  // the port segments large TCP packets
  };

  // Several engines on the port: every mapping an ARP message teaches this layer is also handed
  // to `shared(context, ip, mac, create)` for the other engines (they apply it with
  // learn_neighbour).
  struct NeighbourShare {
    void (*shared)(void* context, Ipv4Addr ip, const MacAddr& mac, bool create) = nullptr;
    void* context = nullptr;
  };
  void share_neighbours(NeighbourShare share) { neighbour_share_ = share; }

  NetStack(const Params& params, TxBatch& tx);
  NetStack(const NetStack&) = delete;
  NetStack& operator=(const NetStack&) = delete;
  ~NetStack();

  // Gives this port a TCP layer whose timers run on `timers` (the engine's wheel). `table_name`
  // must be unique in the process. Before start(). Errors: the TCP layer's creation.
  absl::Status enable_tcp(TimerWheel& timers, const std::string& table_name, unsigned max_sockets,
                          unsigned max_half_open = 0, tcp::TcpStack::Params::FlowAffinity affinity = {});
  // The TCP layer, once enabled (else nullptr). Its API is for the engine thread; its counters
  // and published connections may be read from any thread.
  tcp::TcpStack* tcp() { return tcp_.get(); }
  const tcp::TcpStack* tcp() const { return tcp_.get(); }

  // Announces the address (gratuitous ARP) when configured to.
  void start(Instant now);
  // Takes ownership of one received frame and processes it to the end.
  void input(rte_mbuf* frame, Instant now);
  // A mapping another engine learned from an ARP message on this port: applied as if the message
  // had come here (frames waiting for `ip` leave now), but nothing is answered or shared again.
  void learn_neighbour(Ipv4Addr ip, const MacAddr& mac, bool create, Instant now);
  // Due work: ARP retransmissions, resolution give-ups and entry expiry.
  void poll(Instant now);
  // Frees every frame this layer still holds (packets waiting for ARP). Before destruction.
  void stop();

  // Sends an IPv4 packet whose IPv4 header is at the start of `packet` (room for the Ethernet
  // header in its headroom): to the next hop through ARP, queued while resolving. Takes ownership.
  void output_ipv4(rte_mbuf* packet, Ipv4Addr destination, Instant now);

  const Params& params() const { return params_; }
  // Readable from any thread.
  const CounterSet<NetDrop>& drops() const { return drops_; }
  const CounterSet<NetStat>& stats() const { return stats_; }
  // Malformed headers, one counter per wire-layer error ("ipv4_bad_checksum", ...).
  const CounterSet<wire::EthernetError>& eth_errors() const { return eth_errors_; }
  const CounterSet<wire::ArpError>& arp_errors() const { return arp_errors_; }
  const CounterSet<wire::Ipv4Error>& ipv4_errors() const { return ipv4_errors_; }
  const CounterSet<wire::IcmpError>& icmp_errors() const { return icmp_errors_; }

  // Calls visit(name, value) for every counter of this layer, drops included.
  template <typename Visit>
  void for_each_counter(Visit&& visit) const;
  const ArpCache& arp() const { return arp_; }

 private:
  void input_arp(rte_mbuf* frame, std::size_t offset, Instant now);
  void input_ipv4(rte_mbuf* frame, std::size_t offset, Instant now);
  void input_icmp(rte_mbuf* frame, const wire::Ipv4View& ip, bool to_broadcast);
  void send_arp(const wire::ArpRepr& arp, const MacAddr& eth_dst);
  void transmit_ethernet(rte_mbuf* packet, const MacAddr& dst);
  void drop(rte_mbuf* frame, NetDrop reason);
  Ipv4Addr next_hop(Ipv4Addr destination) const;
  static void tcp_output(void* self, rte_mbuf* packet, Ipv4Addr destination);

  Params params_;
  TxBatch& tx_;
  ArpCache arp_;
  CounterSet<NetDrop> drops_;
  CounterSet<NetStat> stats_;
  CounterSet<wire::EthernetError> eth_errors_;
  CounterSet<wire::ArpError> arp_errors_;
  CounterSet<wire::Ipv4Error> ipv4_errors_;
  CounterSet<wire::IcmpError> icmp_errors_;
  TimerWheel* timers_ = nullptr;
  NeighbourShare neighbour_share_;
  std::unique_ptr<tcp::TcpStack> tcp_;
};

namespace net_detail {
template <typename Error, typename Visit>
void visit_errors(const char* prefix, const CounterSet<Error>& set, Visit& visit) {
  for (std::size_t i = 0; i < CounterSet<Error>::kSize; ++i) {
    std::string name = prefix;
    name += wire::error_name(static_cast<Error>(i));
    visit(name, set.get(i));
  }
}
}  // namespace net_detail

template <typename Visit>
void NetStack::for_each_counter(Visit&& visit) const {
  for (std::size_t i = 0; i < kNetStatNames.size(); ++i) visit(std::string(kNetStatNames[i]), stats_.get(i));
  for (std::size_t i = 0; i < kNetDropNames.size(); ++i)
    visit("drop_" + std::string(kNetDropNames[i]), drops_.get(i));
  net_detail::visit_errors("drop_eth_", eth_errors_, visit);
  net_detail::visit_errors("drop_arp_", arp_errors_, visit);
  net_detail::visit_errors("drop_ipv4_", ipv4_errors_, visit);
  net_detail::visit_errors("drop_icmp_", icmp_errors_, visit);
  if (tcp_ != nullptr) {
    for (std::size_t i = 0; i < tcp::kTcpStatNames.size(); ++i)
      visit(std::string(tcp::kTcpStatNames[i]), tcp_->stats().get(i));
    for (std::size_t i = 0; i < tcp::kTcpDropNames.size(); ++i)
      visit("drop_tcp_" + std::string(tcp::kTcpDropNames[i]), tcp_->drops().get(i));
    net_detail::visit_errors("drop_tcp_", tcp_->header_errors(), visit);
  }
}

}  // namespace synwave
