#include "net/arp_cache.h"

#include <algorithm>
#include <bit>

namespace synwave {

ArpCache::ArpCache(const ArpConfig& config)
    : entries_(std::bit_ceil(std::max(config.entries, 2u))),
      pending_(entries_.size() * config.queue_len),
      reachable_(std::chrono::milliseconds(config.reachable_ms)),
      retrans_(std::chrono::milliseconds(config.retrans_ms)),
      max_retries_(config.max_retries),
      queue_len_(config.queue_len),
      mask_(entries_.size() - 1) {
  free_slices_.reserve(entries_.size());
  for (std::size_t i = entries_.size(); i-- > 0;)
    free_slices_.push_back(static_cast<std::uint32_t>(i * queue_len_));
}

ArpCache::~ArpCache() { clear(); }

std::size_t ArpCache::slot_of(Ipv4Addr ip) const {
  // Fibonacci hashing spreads consecutive host addresses over the table.
  return static_cast<std::size_t>((ip.value * 0x9E3779B1u) >> 7) & mask_;
}

ArpCache::Entry* ArpCache::find(Ipv4Addr ip) {
  for (std::size_t slot = slot_of(ip), probes = 0; probes <= mask_; slot = (slot + 1) & mask_, ++probes) {
    Entry& entry = entries_[slot];
    if (entry.state == State::kFree) return nullptr;
    if (entry.ip == ip) return &entry;
  }
  return nullptr;
}

const ArpCache::Entry* ArpCache::find_entry(Ipv4Addr ip) const {
  return const_cast<ArpCache*>(this)->find(ip);
}

ArpCache::Entry* ArpCache::insert(Ipv4Addr ip) {
  // Keep a quarter free so that probe sequences stay short.
  if ((used_ + 1) * 4 > entries_.size() * 3) return nullptr;
  std::size_t slot = slot_of(ip);
  while (entries_[slot].state != State::kFree) slot = (slot + 1) & mask_;
  Entry& entry = entries_[slot];
  entry = Entry{};
  entry.ip = ip;
  entry.pending_at = free_slices_.back();
  free_slices_.pop_back();
  ++used_;
  return &entry;
}

void ArpCache::erase(Entry* entry) {
  if (entry->state == State::kIncomplete) --incomplete_;
  free_slices_.push_back(entry->pending_at);
  --used_;
  // Backward-shift deletion: move later members of the probe run into the hole so that lookups
  // never need tombstones.
  std::size_t hole = static_cast<std::size_t>(entry - entries_.data());
  for (std::size_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
    Entry& candidate = entries_[next];
    if (candidate.state == State::kFree) break;
    const std::size_t home = slot_of(candidate.ip);
    // Move it when its home slot is not in the cyclic range (hole, next].
    const bool home_in_range = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!home_in_range) {
      entries_[hole] = candidate;
      hole = next;
    }
  }
  entries_[hole] = Entry{};
}

const MacAddr* ArpCache::lookup(Ipv4Addr ip, Instant now, bool& refresh) {
  refresh = false;
  Entry* entry = find(ip);
  if (entry == nullptr || entry->state != State::kReachable) return nullptr;
  if (now < entry->deadline) return &entry->mac;
  if (now >= entry->deadline + reachable_) {
    // Stale for a whole reachable time without an answer: resolve afresh.
    erase(entry);
    return nullptr;
  }
  if (now - entry->last_refresh >= retrans_) {
    entry->last_refresh = now;
    refresh = true;
  }
  return &entry->mac;
}

ArpCache::Enqueued ArpCache::enqueue(Ipv4Addr ip, rte_mbuf* frame, Instant now) {
  Entry* entry = find(ip);
  bool created = false;
  if (entry == nullptr) {
    entry = insert(ip);
    if (entry == nullptr) return Enqueued::kTableFull;
    entry->state = State::kIncomplete;
    entry->requests_sent = 1;
    entry->deadline = now + retrans_;
    if (entry->deadline < next_poll_) next_poll_ = entry->deadline;
    ++incomplete_;
    created = true;
  }
  if (entry->pending_count >= queue_len_) return Enqueued::kQueueFull;
  pending_[entry->pending_at + entry->pending_count++] = frame;
  return created ? Enqueued::kQueuedSendRequest : Enqueued::kQueued;
}

void ArpCache::clear() {
  for (Entry& entry : entries_) {
    if (entry.state == State::kFree) continue;
    for (std::uint16_t i = 0; i < entry.pending_count; ++i)
      rte_pktmbuf_free(pending_[entry.pending_at + i]);
    entry.pending_count = 0;
  }
}

}  // namespace synwave
