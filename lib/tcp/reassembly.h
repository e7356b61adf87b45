// The receiver's out-of-order queue (RFC 9293 section 3.10.7.4, "segment text" queued beyond
// RCV.NXT) and the SACK blocks it reports (RFC 2018, RFC 2883).
//
// Segments are single-segment mbufs linked through mbuf->next, sorted by sequence number and
// pairwise disjoint (adjacent is allowed: they stay separate mbufs but form one SACK block). Each
// mbuf's first sequence number is kept in m->hash.usr (the receive metadata there is not needed once
// a segment is queued). Nothing allocates: the queue is a few words inside the control block, every
// operation walks at most the queued segments, and the segment count is capped by the caller.
//
// Sequence numbers compare modulo 2^32 (tcp/seq.h): everything held must lie within 2^31 of
// everything else, which the caller's window check guarantees (RCV.WND <= 2^30). Input outside
// that never crashes or leaks; it only yields a nonsensical but memory-safe queue.
//
// Thread-safety: none; one queue belongs to one connection on one lcore.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tcp/mbuf_queue.h"
#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace synwave::tcp {

class ReassemblyQueue {
 public:
  struct InsertResult {
    std::uint32_t new_bytes = 0;  // bytes of the segment not held before (now held)
    bool refused = false;         // segment cap reached (or a chained mbuf): nothing kept
  };

  // How many recently reported blocks are remembered for RFC 2018's ordering rule.
  static constexpr std::size_t kRecentBlocks = 4;

  ReassemblyQueue() = default;
  ReassemblyQueue(const ReassemblyQueue&) = delete;
  ReassemblyQueue& operator=(const ReassemblyQueue&) = delete;
  ReassemblyQueue(ReassemblyQueue&& other) noexcept;
  ReassemblyQueue& operator=(ReassemblyQueue&& other) noexcept;
  ~ReassemblyQueue() { clear(); }

  // Queues the payload of one segment. Takes ownership of `m` in every case: a single-segment mbuf
  // (m->next == nullptr) whose data (data_off .. data_len) is the payload for [seq, seq + data_len).
  //
  // Bytes already held win: the segment is trimmed at its ends (rte_pktmbuf_adj/_trim) to what is
  // new; held segments it covers entirely are freed and replaced by it. Afterwards every byte of
  // [seq, seq + data_len) is held. When nothing is new, m is freed and new_bytes is 0. When the queue
  // already holds `max_segments` segments and m would add one, m is freed and `refused` is set (the
  // queue is unchanged). A chained mbuf (m->next set) or an empty one is freed: refused / 0 bytes.
  // A segment that ends up held (also a pure duplicate of held data) becomes the most recent one for
  // sack_blocks(). O(segments); appending above the highest segment is O(1).
  InsertResult insert(Seq seq, rte_mbuf* m, std::uint32_t max_segments);

  // Moves every segment now in order (starting at or before rcv_nxt) onto `out` (MbufQueue::push),
  // trimming bytes below rcv_nxt and freeing segments wholly below it; continues while the next
  // segment starts at or before the advancing rcv_nxt. Returns the new rcv_nxt (unchanged when the
  // first segment starts after it). O(segments drained).
  Seq drain(Seq rcv_nxt, MbufQueue& out);

  // The SACK blocks to send (RFC 2018 section 4), at most out.size(): a pending D-SACK block first
  // (RFC 2883 section 4); then the maximal contiguous block holding the most recently received
  // segment; then the blocks holding the segments received before it, most recent first (up to
  // kRecentBlocks remembered); then the remaining blocks in ascending order. No block twice (a
  // D-SACK block may repeat as the SACK block that contains it, per RFC 2883). Returns the count.
  // O(segments * kRecentBlocks).
  std::size_t sack_blocks(std::span<SackBlock> out) const;

  // A duplicate segment was received: report `b` once as the first block (RFC 2883). Replaces any
  // pending one. An empty block (start >= end) clears it.
  void set_dsack(SackBlock b);
  // The pending D-SACK was sent.
  void clear_dsack() { has_dsack_ = false; }
  bool has_dsack() const { return has_dsack_; }

  bool empty() const { return head_ == nullptr; }
  std::uint32_t bytes() const { return bytes_; }        // payload bytes held
  std::uint32_t segments() const { return segments_; }  // mbufs held
  // One past the highest byte held. Valid only when !empty(); Seq() otherwise.
  Seq highest() const;
  // The lowest byte held. Valid only when !empty(); Seq() otherwise.
  Seq lowest() const;

  // Frees every segment and forgets the SACK history and the pending D-SACK.
  void clear();

 private:
  // The maximal contiguous held block containing s, or an empty block when s is not held.
  SackBlock block_containing(Seq s) const;
  // Makes s (a held byte) the most recently received: first in recent_, other entries of the same
  // block dropped.
  void note_recent(Seq s);
  // Drops recent_ entries no longer held.
  void prune_recent();
  void unlink_and_free(rte_mbuf* prev, rte_mbuf* m);

  rte_mbuf* head_ = nullptr;  // lowest segment
  rte_mbuf* tail_ = nullptr;  // highest segment
  std::uint32_t bytes_ = 0;
  std::uint32_t segments_ = 0;
  // A byte of each recently received block, most recent first; entries lie in distinct blocks.
  std::array<Seq, kRecentBlocks> recent_{};
  std::uint8_t recent_count_ = 0;
  bool has_dsack_ = false;
  SackBlock dsack_{};
};

}  // namespace synwave::tcp
