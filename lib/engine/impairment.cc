#include "engine/impairment.h"

#include <algorithm>
#include <chrono>

namespace synwave {
namespace {

// One splitmix64 step as a mixing function: decorrelates seeds that differ in a few bits.
std::uint64_t mix(std::uint64_t value) {
  return SplitMix64(value).next();
}

}  // namespace

LinkImpairment::LinkImpairment(const ImpairmentConfig& config, Direction direction,
                               rte_mempool* pool, CounterSet<EngineStat>& stats,
                               std::uint64_t stream, std::size_t capacity)
    : direction_(direction),
      pool_(pool),
      stats_(stats),
      first_stat_(static_cast<unsigned>(direction == Direction::kRx
                                            ? EngineStat::kImpairmentRxDropped
                                            : EngineStat::kImpairmentTxDropped)),
      loss_(SplitMix64::threshold(config.loss_percent)),
      duplicate_(SplitMix64::threshold(config.duplicate_percent)),
      reorder_(SplitMix64::threshold(config.reorder_percent)),
      delay_(std::chrono::microseconds(config.delay_us)),
      hold_limit_(std::max<Duration>(delay_, std::chrono::milliseconds(1))),
      capacity_(std::max<std::size_t>(capacity, 1)),
      rng_(config.seed ^ mix(stream)),
      ready_(capacity_),
      held_(capacity_) {}

void LinkImpairment::clear() {
  while (!ready_.empty()) {
    rte_pktmbuf_free(ready_.front().frame);
    ready_.pop();
  }
  while (!held_.empty()) {
    rte_pktmbuf_free(held_.front().frame);
    held_.pop();
  }
}

// Held frames whose follower did not come in time leave on their own, in order. Everything in
// ready_ arrived before them, so appending keeps ready_ sorted by due time.
void LinkImpairment::expire_held(Instant now) {
  while (!held_.empty() && held_.front().due + hold_limit_ <= now) {
    Entry e = held_.front();
    held_.pop();
    ready_.push({e.frame, e.due + hold_limit_});
  }
}

void LinkImpairment::enter(rte_mbuf* frame, Instant now) {
  if (waiting() >= capacity_) {
    rte_pktmbuf_free(frame);
    count(kOverflow);
    return;
  }
  const Entry entry{frame, now + delay_};
  if (delay_.count() > 0) count(kDelayed);
  if (reorder_ != 0 && rng_.chance(reorder_)) {
    held_.push(entry);
    count(kReordered);
    return;
  }
  ready_.push(entry);
  // This frame is the follower the held ones waited for: they leave right behind it.
  while (!held_.empty()) {
    ready_.push({held_.front().frame, entry.due});
    held_.pop();
  }
}

std::uint16_t LinkImpairment::pass(rte_mbuf* const* frames, std::uint16_t n, Instant now,
                                   rte_mbuf** out, std::uint16_t out_capacity) {
  expire_held(now);  // first, so a late frame does not count as the follower of an expired one
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* frame = frames[i];
    if (loss_ != 0 && rng_.chance(loss_)) {
      rte_pktmbuf_free(frame);
      count(kDropped);
      continue;
    }
    rte_mbuf* copy = nullptr;
    if (duplicate_ != 0 && rng_.chance(duplicate_)) {
      copy = rte_pktmbuf_copy(frame, pool_, 0, UINT32_MAX);
      if (copy != nullptr) count(kDuplicated);
    }
    enter(frame, now);
    if (copy != nullptr) enter(copy, now);
  }
  std::uint16_t written = 0;
  while (written < out_capacity && !ready_.empty() && ready_.front().due <= now) {
    out[written++] = ready_.front().frame;
    ready_.pop();
  }
  return written;
}

}  // namespace synwave
