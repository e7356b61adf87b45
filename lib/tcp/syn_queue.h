// Half-open connections as small records (Linux's request_sock, FreeBSD's syncache): a SYN that
// a listener answers keeps 64 bytes here, not a control block; the Tcb is built only when the
// handshake completes (or a segment needs the full state machine).
//
// SynQueue owns every record of one stack, preallocated, and orders them for the SYN-ACK
// retransmission schedule without a timer per record. A record that has been retransmitted k
// times waits min(1 s << k, 120 s) for its next event (RFC 6298 back-off from the 1 s initial
// RTO, capped as Linux caps it); records of the same k enter their list at non-decreasing
// instants with the same wait, so each list is ordered by deadline and only its head is ever
// due first. Lists k >= kLevels - 1 share the capped wait and one list. Everything is O(1) but
// next_deadline(), which looks at kLevels heads.
// Private to lib/tcp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "base/time.h"
#include "table/keys.h"
#include "tcp/seq.h"

namespace synwave::tcp {

struct HalfOpen {
  FourTuple tuple;               // local and remote, as the connection table keys it
  Seq irs, iss;                  // the SYN's sequence number; ours in the SYN-ACK
  std::uint32_t ts_recent = 0;   // the SYN's TSval, echoed in TSecr
  std::uint32_t ts_offset = 0;   // added to our millisecond clock in TSval
  std::uint32_t listener = 0;    // the listening Tcb's slab index
  std::uint32_t prev = 0, next = 0;  // in its schedule list; `next` also links the free list
  Instant deadline;              // the next SYN-ACK retransmission, or the end of the wait
  std::uint16_t peer_window = 0; // the SYN's window (never scaled)
  std::uint16_t peer_mss = 0;    // what we may send per segment (the SYN's MSS, clamped)
  std::uint16_t adv_mss = 0;     // the MSS we announced
  std::uint8_t snd_wscale = 0;   // the peer's shift
  std::uint8_t retransmits = 0;  // SYN-ACK retransmissions so far
  bool ws_ok : 1 = false;
  bool sack_ok : 1 = false;
  bool ts_ok : 1 = false;
  bool rtt_valid : 1 = false;        // the first SYN-ACK alone was sent: its ACK times the RTT (Karn)
  bool acked_while_full : 1 = false; // the third ACK met a full accept queue (seed 004)
  bool in_use : 1 = false;
  bool scheduled : 1 = false;
};
static_assert(sizeof(HalfOpen) <= 64, "a half-open record is one cache line");

class SynQueue {
 public:
  static constexpr std::uint32_t kNone = 0xffffffff;
  static constexpr unsigned kLevels = 8;  // waits 1, 2, 4, ..., 64 s, then 120 s for the rest
  static constexpr Duration kInitialRto = std::chrono::seconds(1);
  static constexpr Duration kMaxRto = std::chrono::seconds(120);

  explicit SynQueue(std::uint32_t capacity);

  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t in_use() const { return in_use_; }

  // A zeroed record in use, not yet scheduled; nullptr when every record is taken.
  HalfOpen* allocate();
  // Off its schedule list and back to the free list.
  void release(HalfOpen& record);

  // How long a record retransmitted `retransmits` times waits for its next event.
  static Duration wait_after(unsigned retransmits);
  // Puts the record at the tail of its list with deadline now + wait_after(retransmits). `now`
  // must not be earlier than any instant passed before (the engine's clock).
  void schedule(HalfOpen& record, Instant now);
  // Off its list (before it is rescheduled or released).
  void unschedule(HalfOpen& record);
  // The earliest deadline of any scheduled record, if there is one.
  std::optional<Instant> next_deadline() const;
  // A scheduled record whose deadline is at or before `now`, unscheduled; nullptr when none is.
  HalfOpen* take_due(Instant now);

  HalfOpen& at(std::uint32_t index) { return records_[index]; }
  std::uint32_t index_of(const HalfOpen& record) const { return static_cast<std::uint32_t>(&record - records_.get()); }

 private:
  struct List {
    std::uint32_t head = kNone, tail = kNone;
  };
  static unsigned level_of(unsigned retransmits) { return retransmits < kLevels ? retransmits : kLevels - 1; }

  std::unique_ptr<HalfOpen[]> records_;
  std::uint32_t capacity_ = 0;
  std::uint32_t free_head_ = kNone;
  std::uint32_t in_use_ = 0;
  std::array<List, kLevels> lists_;
};

}  // namespace synwave::tcp
