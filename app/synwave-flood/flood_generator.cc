#include "flood_generator.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>

#include "engine/stop_signal.h"
#include "net/arp_cache.h"

namespace synwave::flood {
namespace {

// Bursts per engine iteration: as fast as the port goes, one rx poll per 4 bursts; with a rate,
// enough to catch up quickly after the thread lost its core.
constexpr unsigned kBurstsPerPoll = 4;
constexpr unsigned kBurstsPerPollRated = 64;
// How far behind its schedule a rated flood may catch up after a stall.
constexpr Duration kMaxCatchUp = 1s;

double seconds_between(Instant from, Instant to) { return static_cast<double>((to - from).count()) * 1e-9; }

Duration seconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kNone: return "none";
    case StopReason::kCount: return "count";
    case StopReason::kDuration: return "duration";
    case StopReason::kSignal: return "signal";
    case StopReason::kUnresolved: return "unresolved";
  }
  return "?";
}

FloodGenerator::FloodGenerator(const Options& options, Engine::PortQueue& queue, rte_mempool* pool, unsigned burst)
    : options_(options),
      queue_(queue),
      pool_(pool),
      burst_(std::clamp(burst, 1u, FloodSender::kMaxBurst)),
      fields_(options.sources, options.seed) {
  const NetStack::Params& net = queue_.net.params();
  hop_ = same_subnet(options_.target, net.ipv4, net.prefix_len) ? options_.target : net.gateway.value_or(Ipv4Addr{0});
}

void FloodGenerator::start(std::span<tcp::TcpStack* const>, Instant now) {
  start_at_ = now + seconds(options_.delay_s);
  last_now_ = now;
}

void FloodGenerator::poll(Instant now) {
  last_now_ = now;
  switch (phase_) {
    case Phase::kWaiting:
      if (now >= start_at_) begin(now);
      return;
    case Phase::kResolving: return resolve(now);
    case Phase::kFlooding: return flood(now);
    case Phase::kDone: return;
  }
}

void FloodGenerator::begin(Instant now) {
  end_at_ = now + seconds(options_.duration_s);
  if (options_.dst_mac) {
    dst_mac_ = options_.dst_mac;
    phase_ = Phase::kResolving;
    return resolve(now);
  }
  send_probe(now);
  phase_ = Phase::kResolving;
}

// The flood's first packet goes through the IPv4 layer, which resolves the next hop for it.
void FloodGenerator::send_probe(Instant now) {
  const NetStack::Params& net = queue_.net.params();
  const Kind kind = options_.kind == Kind::kMix ? static_cast<Kind>(fields_.below(4)) : options_.kind;
  const FrameTemplate frame(kind, {.src_mac = net.mac,
                                   .dst_mac = MacAddr{},
                                   .dst = options_.target,
                                   .dst_port = options_.target_port,
                                   .mss = static_cast<std::uint16_t>(net.mtu - 40),
                                   .ttl = static_cast<std::uint8_t>(net.sysctl.ip_default_ttl)});
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;  // tried again on the next iteration
  const std::size_t len = frame.write({rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m)}, fields_.next());
  m->data_len = static_cast<std::uint16_t>(len);
  m->pkt_len = static_cast<std::uint32_t>(len);
  rte_pktmbuf_adj(m, wire::kEthernetHeaderLen);  // the IPv4 layer writes its own Ethernet header
  queue_.net.output_ipv4(m, options_.target, now);
  probes_ = 1;
  probe_kind_ = static_cast<unsigned>(kind);
  ++totals_.by_kind[static_cast<int>(kind)];
  totals_.sent = 1;  // on its way once the next hop answers
}

void FloodGenerator::resolve(Instant now) {
  if (!dst_mac_) {
    if (probes_ == 0) {
      send_probe(now);
    } else {
      const ArpCache::Entry* entry = queue_.net.arp().find_entry(hop_);
      if (entry == nullptr) return finish(now, StopReason::kUnresolved);  // ARP gave up
      if (entry->state == ArpCache::State::kReachable) dst_mac_ = entry->mac;
    }
    if (!dst_mac_) {
      if (now >= end_at_) finish(now, StopReason::kUnresolved);
      return;
    }
  }
  const NetStack::Params& net = queue_.net.params();
  const FrameParams params{.src_mac = net.mac,
                           .dst_mac = *dst_mac_,
                           .dst = options_.target,
                           .dst_port = options_.target_port,
                           .mss = static_cast<std::uint16_t>(net.mtu - 40),
                           .ttl = static_cast<std::uint8_t>(net.sysctl.ip_default_ttl)};
  // Another stream than the probe's (its seed + 1), so the probe's source is not drawn again.
  sender_.emplace(options_.kind, params, options_.sources, options_.seed + 1, pool_, queue_.port_id, queue_.queue_id,
                  burst_);
  if (options_.progress) {
    std::fprintf(stderr, "synwave-flood: next hop %s is at %s; flooding\n", format_ipv4(hop_).c_str(),
                 format_mac(*dst_mac_).c_str());
  }
  phase_ = Phase::kFlooding;
  flood_start_ = now;
  next_progress_ = now + 1s;
  if (options_.rate > 0) {
    pacer_.emplace(options_.rate, kMaxCatchUp);
    pacer_->start(now);
  }
  flood(now);
}

void FloodGenerator::flood(Instant now) {
  const std::uint64_t built = probes_ + sender_->counts().built;
  std::uint64_t budget = options_.count > built ? options_.count - built : 0;
  budget = std::min<std::uint64_t>(budget, std::uint64_t{burst_} * (pacer_ ? kBurstsPerPollRated : kBurstsPerPoll));
  // At the time limit, what the schedule owes up to the limit still goes.
  if (pacer_) budget = pacer_->allowance(std::min(now, end_at_), budget);
  const std::uint64_t before = sender_->counts().built;
  sender_->send(budget);
  if (pacer_) pacer_->spent(sender_->counts().built - before);
  update_totals();
  if (now >= next_progress_) progress(now);
  // Done once the count is built and the port took all of it, or at the time limit.
  if (probes_ + sender_->counts().built >= options_.count && sender_->held() == 0)
    return finish(now, StopReason::kCount);
  if (now >= end_at_) return finish(now, StopReason::kDuration);
}

void FloodGenerator::update_totals() {
  const SenderCounts& c = sender_->counts();
  totals_.sent = probes_ + c.sent;
  totals_.dropped = c.unsent;
  totals_.no_mbuf = c.no_mbuf;
  totals_.ring_full = c.ring_full;
  totals_.forgiven = pacer_ ? pacer_->forgiven() : 0;
  for (int k = 0; k < 4; ++k) totals_.by_kind[k] = c.by_kind[k];
  if (probe_kind_ < 4) ++totals_.by_kind[probe_kind_];
}

void FloodGenerator::progress(Instant now) {
  next_progress_ += 1s;
  if (next_progress_ <= now) next_progress_ = now + 1s;
  if (options_.progress) {
    using ull = unsigned long long;
    // ring_full: iterations the tx ring was full (the flood waited for it, nothing was dropped).
    std::fprintf(stderr, "[%5.1fs] pps %llu ring_full %llu  total sent %llu\n", seconds_between(flood_start_, now),
                 static_cast<ull>(totals_.sent - last_.sent), static_cast<ull>(totals_.ring_full - last_.ring_full),
                 static_cast<ull>(totals_.sent));
  }
  last_ = totals_;
}

void FloodGenerator::finish(Instant now, StopReason reason) {
  if (phase_ == Phase::kFlooding) elapsed_s_ = seconds_between(flood_start_, now);
  if (sender_) {  // what the ring still refused at the end is reported, not sent later
    sender_->discard();
    update_totals();
  }
  if (reason == StopReason::kUnresolved) totals_ = Totals{};  // the probe never left
  phase_ = Phase::kDone;
  reason_ = reason;
  request_stop();
}

void FloodGenerator::stop() {
  if (phase_ == Phase::kDone) return;
  // Interrupted (SIGINT/SIGTERM): the summary covers what ran.
  if (phase_ == Phase::kFlooding) elapsed_s_ = seconds_between(flood_start_, last_now_);
  if (sender_) {
    sender_->discard();
    update_totals();
  }
  if (phase_ == Phase::kResolving && !dst_mac_) totals_ = Totals{};  // the probe never left
  phase_ = Phase::kDone;
  reason_ = StopReason::kSignal;
}

}  // namespace synwave::flood
