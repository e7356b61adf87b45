// The ARP cache of one engine on one port: next-hop IPv4 address -> Ethernet address.
//
// Fixed capacity, open addressing with linear probing, no allocation after construction.
// An entry is INCOMPLETE while requests are out (frames for it wait in a bounded queue),
// REACHABLE once answered, and STALE when its reachable time has passed: a stale entry is still
// used, as Linux does, while a unicast request refreshes it; an entry stale for another reachable
// time without answer is forgotten. Single-threaded: owned by one engine.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

#include "base/addr.h"
#include "base/time.h"
#include "config/config.h"

namespace synwave {

class ArpCache {
 public:
  enum class State : std::uint8_t { kFree, kIncomplete, kReachable };

  struct Entry {
    Ipv4Addr ip;
    MacAddr mac;
    State state = State::kFree;
    std::uint8_t requests_sent = 0;
    std::uint16_t pending_count = 0;
    Instant deadline;          // INCOMPLETE: next request; REACHABLE: end of reachable time
    Instant last_refresh;      // REACHABLE: when a refresh request was last sent
    std::uint32_t pending_at = 0;  // index of this entry's slice in pending_
  };

  // What the caller must do after enqueue().
  enum class Enqueued : std::uint8_t {
    kQueuedSendRequest,  // first frame for this address: send an ARP request now
    kQueued,             // a request is already out
    kQueueFull,          // the frame was not taken: the caller drops it
    kTableFull,          // no room for a new entry: the caller drops the frame
  };

  explicit ArpCache(const ArpConfig& config);
  ~ArpCache();
  ArpCache(const ArpCache&) = delete;
  ArpCache& operator=(const ArpCache&) = delete;

  // The MAC for `ip` when known (reachable or stale), else nullptr. Sets `refresh` when the
  // entry is stale and a unicast refresh request should go out now (rate-limited per entry).
  const MacAddr* lookup(Ipv4Addr ip, Instant now, bool& refresh);

  // Queues `frame` until `ip` resolves, creating an INCOMPLETE entry when needed.
  Enqueued enqueue(Ipv4Addr ip, rte_mbuf* frame, Instant now);

  // Records ip -> mac. Existing entries are updated; a new entry is made only when `create`
  // (Linux creates entries for requests aimed at us and for replies). Frames that waited for
  // this address are handed to `send(frame, mac)` in arrival order.
  template <typename SendFn>
  void learn(Ipv4Addr ip, const MacAddr& mac, Instant now, bool create, SendFn&& send) {
    Entry* entry = find(ip);
    if (entry == nullptr) {
      if (!create) return;
      entry = insert(ip);
      if (entry == nullptr) return;
    }
    if (entry->state == State::kIncomplete) --incomplete_;
    entry->mac = mac;
    entry->state = State::kReachable;
    entry->deadline = now + reachable_;
    entry->last_refresh = now;
    entry->requests_sent = 0;
    rte_mbuf** queue = &pending_[entry->pending_at];
    for (std::uint16_t i = 0; i < entry->pending_count; ++i) send(queue[i], mac);
    entry->pending_count = 0;
  }

  // Due work for INCOMPLETE entries: `retry(ip)` when a request must be sent again,
  // `give_up(frame)` for each frame of an address that did not answer max_retries requests.
  template <typename RetryFn, typename GiveUpFn>
  void poll(Instant now, RetryFn&& retry, GiveUpFn&& give_up) {
    if (incomplete_ == 0 || now < next_poll_) return;
    next_poll_ = Instant::max();
    bool erased = false;
    // Bounded: visits each slot once, and only when some INCOMPLETE deadline is due.
    for (std::size_t slot = 0; slot < entries_.size(); ++slot) {
      Entry& entry = entries_[slot];
      if (entry.state != State::kIncomplete) continue;
      if (entry.deadline <= now) {
        if (entry.requests_sent >= max_retries_) {
          rte_mbuf** queue = &pending_[entry.pending_at];
          for (std::uint16_t i = 0; i < entry.pending_count; ++i) give_up(queue[i]);
          entry.pending_count = 0;
          erase(&entry);
          erased = true;  // erase() may shift a later entry into a visited slot
          continue;
        }
        ++entry.requests_sent;
        entry.deadline = now + retrans_;
        retry(entry.ip);
      }
      if (entry.deadline < next_poll_) next_poll_ = entry.deadline;
    }
    if (erased) next_poll_ = now;  // look again next iteration for any entry the shift hid
  }

  // Frees every queued frame (engine shutdown).
  void clear();

  std::size_t size() const { return used_; }
  std::size_t capacity() const { return entries_.size(); }
  const Entry* find_entry(Ipv4Addr ip) const;
  // Calls visit(entry) for every entry in use (owning thread only).
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const Entry& entry : entries_)
      if (entry.state != State::kFree) visit(entry);
  }

 private:
  Entry* find(Ipv4Addr ip);
  Entry* insert(Ipv4Addr ip);
  void erase(Entry* entry);
  std::size_t slot_of(Ipv4Addr ip) const;

  std::vector<Entry> entries_;
  std::vector<rte_mbuf*> pending_;  // queue_len slots per entry
  std::vector<std::uint32_t> free_slices_;  // offsets into pending_ not owned by an entry
  std::size_t used_ = 0;
  std::size_t incomplete_ = 0;
  Instant next_poll_ = Instant::max();
  Duration reachable_;
  Duration retrans_;
  unsigned max_retries_;
  unsigned queue_len_;
  std::size_t mask_;
};

}  // namespace synwave
