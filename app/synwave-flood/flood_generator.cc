#include "flood_generator.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>

#include "engine/stop_signal.h"
#include "net/arp_cache.h"

namespace synwave::flood {
namespace {

constexpr unsigned kMaxBurst = 512;
// Bursts per engine iteration: as fast as the port goes, one rx poll per 4 bursts; with a rate,
// enough to spend a full bucket at once (a thread that lost its core catches up).
constexpr unsigned kBurstsPerPoll = 4;
constexpr unsigned kBurstsPerPollRated = 64;
constexpr int kTxAttempts = 4;          // as the engine's TxBatch: then the rest count as drops

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
      burst_(std::clamp(burst, 1u, kMaxBurst)),
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
  ++offered_;
  ++totals_.by_kind[static_cast<int>(kind)];
  totals_.sent = 1;  // on its way once the next hop answers
}

void FloodGenerator::resolve(Instant now) {
  if (!dst_mac_) {
    if (offered_ == 0) {
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
  templates_.clear();
  for (Kind k : {Kind::kSyn, Kind::kAck, Kind::kRst, Kind::kFin}) templates_.emplace_back(k, params);
  if (options_.progress) {
    std::fprintf(stderr, "synwave-flood: next hop %s is at %s; flooding\n", format_ipv4(hop_).c_str(),
                 format_mac(*dst_mac_).c_str());
  }
  phase_ = Phase::kFlooding;
  flood_start_ = now;
  next_progress_ = now + 1s;
  token_time_ = now;
  // 10 ms deep: a thread that lost its core for a few ms still keeps the rate.
  bucket_depth_ = std::max<double>(burst_, options_.rate * 1e-2);
  tokens_ = 0;
  flood(now);
}

unsigned FloodGenerator::build(rte_mbuf** frames, unsigned n) {
  if (rte_pktmbuf_alloc_bulk(pool_, frames, n) != 0) {
    ++totals_.no_mbuf;
    return 0;
  }
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = frames[i];
    const Kind kind = options_.kind == Kind::kMix ? static_cast<Kind>(fields_.below(4)) : options_.kind;
    const FrameTemplate& frame = templates_[static_cast<std::size_t>(kind)];
    const std::size_t len = frame.write({rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m)}, fields_.next());
    m->data_len = static_cast<std::uint16_t>(len);
    m->pkt_len = static_cast<std::uint32_t>(len);
    m->ol_flags = 0;
    // The kind rides in the mbuf until the port has taken it (per-kind totals).
    m->hash.usr = static_cast<std::uint32_t>(kind);
  }
  return n;
}

void FloodGenerator::flood(Instant now) {
  if (options_.rate > 0) {
    tokens_ = std::min(bucket_depth_, tokens_ + options_.rate * seconds_between(token_time_, now));
    token_time_ = now;
  }
  rte_mbuf* frames[kMaxBurst];
  const unsigned rounds = options_.rate > 0 ? kBurstsPerPollRated : kBurstsPerPoll;
  for (unsigned round = 0; round < rounds; ++round) {
    if (offered_ >= options_.count) break;
    std::uint64_t n = std::min<std::uint64_t>(burst_, options_.count - offered_);
    if (options_.rate > 0) n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(tokens_));
    if (n == 0) break;
    const unsigned built = build(frames, static_cast<unsigned>(n));
    if (built == 0) break;
    std::uint16_t sent = 0;
    for (int attempt = 0; attempt < kTxAttempts && sent < built; ++attempt)
      sent += rte_eth_tx_burst(queue_.port_id, queue_.queue_id, frames + sent, static_cast<std::uint16_t>(built - sent));
    for (unsigned i = 0; i < sent; ++i) ++totals_.by_kind[frames[i]->hash.usr & 3];
    if (sent < built) rte_pktmbuf_free_bulk(frames + sent, built - sent);
    totals_.sent += sent;
    totals_.dropped += built - sent;
    offered_ += built;
    if (options_.rate > 0) tokens_ -= built;
  }
  if (now >= next_progress_) progress(now);
  if (offered_ >= options_.count) return finish(now, StopReason::kCount);
  if (now >= end_at_) return finish(now, StopReason::kDuration);
}

void FloodGenerator::progress(Instant now) {
  next_progress_ += 1s;
  if (next_progress_ <= now) next_progress_ = now + 1s;
  if (options_.progress) {
    using ull = unsigned long long;
    std::fprintf(stderr, "[%5.1fs] pps %llu tx_drops %llu  total sent %llu dropped %llu\n",
                 seconds_between(flood_start_, now), static_cast<ull>(totals_.sent - last_.sent),
                 static_cast<ull>(totals_.dropped - last_.dropped), static_cast<ull>(totals_.sent),
                 static_cast<ull>(totals_.dropped));
  }
  last_ = totals_;
}

void FloodGenerator::finish(Instant now, StopReason reason) {
  if (phase_ == Phase::kFlooding) elapsed_s_ = seconds_between(flood_start_, now);
  if (reason == StopReason::kUnresolved) totals_ = Totals{};  // the probe never left
  phase_ = Phase::kDone;
  reason_ = reason;
  request_stop();
}

void FloodGenerator::stop() {
  if (phase_ == Phase::kDone) return;
  // Interrupted (SIGINT/SIGTERM): the summary covers what ran.
  if (phase_ == Phase::kFlooding) elapsed_s_ = seconds_between(flood_start_, last_now_);
  if (phase_ == Phase::kResolving && !dst_mac_) totals_ = Totals{};  // the probe never left
  phase_ = Phase::kDone;
  reason_ = StopReason::kSignal;
}

}  // namespace synwave::flood
