#include "flood_side_load.h"

#include <algorithm>

#include "net/arp_cache.h"
#include "net/net_counters.h"

namespace synwave::loadgen {
namespace {

// Bursts per iteration: enough for a rate to catch up after a stall, few enough that the load's
// receive polls (every iteration) are not starved when the port is slow.
constexpr unsigned kBurstsPerPoll = 8;
constexpr Duration kMaxCatchUp = 1s;

Duration seconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }
double seconds_between(Instant from, Instant to) { return static_cast<double>((to - from).count()) * 1e-9; }

}  // namespace

FloodSideLoad::FloodSideLoad(const SideFloodOptions& options, Engine::PortQueue& queue, rte_mempool* pool,
                             unsigned burst, TimeSlices& slices)
    : options_(options), queue_(queue), pool_(pool), burst_(burst), slices_(slices) {
  const NetStack::Params& net = queue_.net.params();
  hop_ = same_subnet(options_.target, net.ipv4, net.prefix_len) ? options_.target : net.gateway.value_or(Ipv4Addr{0});
}

void FloodSideLoad::count_answers(Instant now) {
  const std::uint64_t seen = queue_.net.drops().get(NetDrop::kIpv4NotForUs);
  if (counting_ && seen != answers_seen_) {
    slices_.at(now).answers += seen - answers_seen_;
    totals_.answers += seen - answers_seen_;
  }
  answers_seen_ = seen;
  if (!counting_) tx_drops_at_start_ = queue_.tx.dropped();
  totals_.load_tx_drops = queue_.tx.dropped() - tx_drops_at_start_;
  counting_ = true;
}

bool FloodSideLoad::begin(Instant now, Instant origin, Instant due) {
  const ArpCache::Entry* entry = queue_.net.arp().find_entry(hop_);
  if (entry == nullptr || entry->state != ArpCache::State::kReachable) return false;
  const NetStack::Params& net = queue_.net.params();
  const flood::FrameParams params{.src_mac = net.mac,
                                  .dst_mac = entry->mac,
                                  .dst = options_.target,
                                  .dst_port = options_.target_port,
                                  .mss = static_cast<std::uint16_t>(net.mtu - 40),
                                  .ttl = static_cast<std::uint8_t>(net.sysctl.ip_default_ttl)};
  using OnFullRing = flood::FloodSender::OnFullRing;
  sender_.emplace(flood::Kind::kSyn, params, options_.sources, options_.seed, pool_, queue_.port_id, queue_.queue_id,
                  burst_, options_.rate > 0 ? OnFullRing::kDrop : OnFullRing::kHold);
  if (options_.rate > 0) {
    pacer_.emplace(options_.rate, kMaxCatchUp);
    pacer_->start(due);  // the schedule runs from the planned start: rate x seconds in all
  }
  first_ = now;
  totals_.started_s = seconds_between(origin, now);
  return true;
}

void FloodSideLoad::poll(Instant now, Instant origin) {
  last_now_ = now;
  count_answers(now);
  if (phase_ == Phase::kDone) return;
  if (phase_ == Phase::kWaiting) {
    const Instant due = origin + seconds(options_.start_s);
    if (now < due) return;
    end_at_ = due + seconds(options_.duration_s);
    if (!begin(now, origin, due)) {
      if (now >= end_at_) {
        totals_.unresolved = true;
        phase_ = Phase::kDone;
      }
      return;
    }
    phase_ = Phase::kFlooding;
  }
  const flood::SenderCounts& c = sender_->counts();
  std::uint64_t budget = options_.count > c.built ? options_.count - c.built : 0;
  budget = std::min<std::uint64_t>(budget, std::uint64_t{burst_} * kBurstsPerPoll);
  // At the time limit, what the schedule owes up to the limit still goes.
  if (pacer_) budget = pacer_->allowance(std::min(now, end_at_), budget);
  const std::uint64_t built = c.built;
  if (budget > 0 || sender_->held() > 0) queue_.tx.flush();  // the load's frames first
  const std::uint64_t taken = sender_->send(budget);
  if (pacer_) pacer_->spent(c.built - built);
  if (taken > 0) slices_.at(now).flood_sent += taken;
  if ((c.built >= options_.count && sender_->held() == 0) || now >= end_at_) finish(now);
}

void FloodSideLoad::finish(Instant now) {
  sender_->discard();
  const flood::SenderCounts& c = sender_->counts();
  totals_.offered = c.built;
  totals_.sent = c.sent;
  totals_.unsent = c.unsent;
  totals_.dropped = c.dropped;
  totals_.ring_full = c.ring_full;
  totals_.no_mbuf = c.no_mbuf;
  totals_.forgiven = pacer_ ? pacer_->forgiven() : 0;
  totals_.elapsed_s = seconds_between(first_, now);
  phase_ = Phase::kDone;
}

void FloodSideLoad::stop() {
  if (phase_ == Phase::kFlooding) finish(last_now_);
}

}  // namespace synwave::loadgen
