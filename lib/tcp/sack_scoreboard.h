// The sender's record of what the peer SACKed above SND.UNA (RFC 2018, RFC 2883, RFC 6675): the
// scoreboard RFC 6675's loss recovery reads (IsLost, NextSeg's holes, SetPipe).
//
// At most kMaxRanges disjoint, non-adjacent ranges [start, end), sorted ascending, in a fixed array
// inside the control block: nothing allocates and every operation is O(kMaxRanges) (update() is
// O(blocks * kMaxRanges)). When the array is full the lowest ranges are kept and the highest
// dropped, which is conservative: forgotten SACKed data only looks outstanding (it may be
// retransmitted needlessly; nothing is ever counted delivered that was not).
//
// Sequence numbers compare modulo 2^32 (tcp/seq.h); every recorded range lies inside
// (SND.UNA, SND.NXT], which is less than 2^31 wide, so wrap at 2^32 is transparent.
//
// Thread-safety: none; one scoreboard belongs to one connection on one lcore.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace synwave::tcp {

class SackScoreboard {
 public:
  static constexpr std::size_t kMaxRanges = 32;

  struct UpdateResult {
    std::uint32_t newly_sacked = 0;    // bytes recorded by this ACK that were not SACKed before
    std::uint32_t invalid_blocks = 0;  // blocks ignored as invalid (Linux's TCPSACKDiscard)
    bool dsack = false;                // the first block was a D-SACK (RFC 2883 section 4)
  };

  // Applies one ACK's SACK blocks, in option order. First forgets everything at or below snd_una
  // (as acked() does). Then, per block:
  //  - the first block is a D-SACK, reported through `dsack` and not recorded, when (RFC 2883
  //    section 4) it lies at or below snd_una (end <= snd_una), or lies inside the second block
  //    (when that one is valid), or lies strictly inside an already-SACKed range (a subset but not
  //    the whole range: a receiver repeating its SACK blocks, e.g. in a window update, sends the
  //    whole range or more, so only a duplicate can report less);
  //  - a block is valid when snd_una < start < end <= snd_nxt (RFC 2018; Linux
  //    tcp_is_sackblock_valid) and is then recorded, merging with overlapping or adjacent ranges;
  //  - any other block (reversed or empty, beyond snd_nxt, at or below snd_una when not first,
  //    straddling snd_una) is counted in invalid_blocks and ignored.
  // newly_sacked counts bytes recorded by this call even if a later block evicted their range for
  // room (they were delivered all the same); a block that does not fit is not counted.
  UpdateResult update(Seq snd_una, Seq snd_nxt, std::span<const SackBlock> blocks);

  // The cumulative ACK reached snd_una: ranges ending at or below it are forgotten, a range
  // straddling it is cut to start at it.
  void acked(Seq snd_una);

  bool empty() const { return count_ == 0; }
  std::uint32_t sacked_bytes() const { return bytes_; }
  // SACKed bytes within [from, to).
  std::uint32_t sacked_between(Seq from, Seq to) const {
    std::uint32_t bytes = 0;
    for (const SackBlock& r : ranges()) {
      const Seq a = std::max(r.start, from);
      const Seq b = std::min(r.end, to);
      if (a < b) bytes += static_cast<std::uint32_t>(b - a);
    }
    return bytes;
  }
  // End of the highest / start of the lowest range. Valid only when !empty(); Seq() otherwise.
  Seq highest_sacked() const { return count_ == 0 ? Seq() : ranges_[count_ - 1].end; }
  Seq lowest_sacked() const { return count_ == 0 ? Seq() : ranges_[0].start; }
  // The recorded ranges, ascending (disjoint, never adjacent).
  std::span<const SackBlock> ranges() const { return std::span(ranges_).first(count_); }
  bool is_sacked(Seq s) const;

  // RFC 6675 IsLost(seq): true when at least `dupthresh` discontiguous SACKed ranges hold bytes
  // above seq, or more than (dupthresh - 1) * mss SACKed bytes lie above seq. (dupthresh 0: always.)
  bool is_lost(Seq seq, std::uint32_t mss, std::uint32_t dupthresh) const;

  // The lowest un-SACKed range [s, e) with s >= from and e <= highest_sacked(): a hole to
  // retransmit (RFC 6675 NextSeg rule 1 before its IsLost test). When `from` lies inside a hole
  // the hole is returned from `from` on. nullopt when no hole lies at or above `from`.
  std::optional<SackBlock> next_hole(Seq from) const;

  // RFC 6675 SetPipe() in bytes for the flight [snd_una, snd_nxt): every un-SACKed byte counts once
  // if not IsLost(), and once more if it was retransmitted (below high_rxt; high_rxt at or below
  // snd_una: nothing retransmitted). Computed from the ranges in O(kMaxRanges): IsLost() holds
  // exactly for the bytes below one threshold. Saturates at 2^32 - 1. Thread-safety: none.
  std::uint32_t pipe(Seq snd_una, Seq snd_nxt, Seq high_rxt, std::uint32_t mss,
                     std::uint32_t dupthresh) const;

  void clear() {
    count_ = 0;
    bytes_ = 0;
  }

 private:
  // Records b (valid, non-empty); returns the bytes it adds.
  std::uint32_t record(SackBlock b);
  void recount();

  std::array<SackBlock, kMaxRanges> ranges_{};
  std::uint8_t count_ = 0;
  std::uint32_t bytes_ = 0;
};

}  // namespace synwave::tcp
