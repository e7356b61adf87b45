#include "tcp/sack_scoreboard.h"

#include <algorithm>
#include <limits>

namespace synwave::tcp {

namespace {

// snd_una < start < end <= snd_nxt (RFC 2018; Linux tcp_is_sackblock_valid).
bool valid_block(SackBlock b, Seq snd_una, Seq snd_nxt) {
  return snd_una < b.start && b.start < b.end && b.end <= snd_nxt;
}

// a lies within b.
bool inside(SackBlock a, SackBlock b) {
  return b.start <= a.start && a.end <= b.end;
}

// Bytes common to a and b.
std::uint32_t overlap(SackBlock a, SackBlock b) {
  const Seq s = seq_max(a.start, b.start);
  const Seq e = seq_min(a.end, b.end);
  return s < e ? static_cast<std::uint32_t>(e - s) : 0;
}

}  // namespace

SackScoreboard::UpdateResult SackScoreboard::update(Seq snd_una, Seq snd_nxt,
                                                    std::span<const SackBlock> blocks) {
  UpdateResult r;
  acked(snd_una);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const SackBlock b = blocks[i];
    const bool valid = valid_block(b, snd_una, snd_nxt);
    if (i == 0 && b.start < b.end) {
      // RFC 2883 section 4: a D-SACK is the first block, below the cumulative ACK or inside the
      // second block; or (a duplicate of a retransmission) strictly inside a range SACKed before.
      bool dsack = b.end <= snd_una;
      if (!dsack && valid && blocks.size() > 1 && valid_block(blocks[1], snd_una, snd_nxt)) {
        dsack = inside(b, blocks[1]);
      }
      if (!dsack && valid) {
        for (const SackBlock& range : ranges()) {
          if (inside(b, range) && !(b == range)) {
            dsack = true;
            break;
          }
        }
      }
      if (dsack) {
        r.dsack = true;
        continue;
      }
    }
    if (!valid) {
      ++r.invalid_blocks;
      continue;
    }
    r.newly_sacked += record(b);
  }
  return r;
}

std::uint32_t SackScoreboard::record(SackBlock b) {
  // First range ending at or after b.start (overlapping, adjacent or above).
  std::size_t i = 0;
  while (i < count_ && ranges_[i].end < b.start) ++i;
  // Ranges [i, j) overlap or touch b: they merge with it.
  std::size_t j = i;
  std::uint32_t common = 0;
  SackBlock merged = b;
  while (j < count_ && ranges_[j].start <= b.end) {
    common += overlap(ranges_[j], b);
    merged.start = seq_min(merged.start, ranges_[j].start);
    merged.end = seq_max(merged.end, ranges_[j].end);
    ++j;
  }
  const std::uint32_t len = b.length();
  const std::uint32_t fresh = len > common ? len - common : 0;
  if (j > i) {
    ranges_[i] = merged;
    std::copy(ranges_.begin() + j, ranges_.begin() + count_, ranges_.begin() + i + 1);
    count_ = static_cast<std::uint8_t>(count_ - (j - i - 1));
  } else {
    if (count_ == kMaxRanges) {
      if (i == count_) return 0;  // the highest range and no room: dropped (conservative)
      --count_;                   // room for b: the highest range goes
    }
    std::copy_backward(ranges_.begin() + i, ranges_.begin() + count_, ranges_.begin() + count_ + 1);
    ranges_[i] = b;
    ++count_;
  }
  recount();
  return fresh;
}

void SackScoreboard::recount() {
  bytes_ = 0;
  for (const SackBlock& range : ranges()) bytes_ += range.length();
}

void SackScoreboard::acked(Seq snd_una) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    SackBlock range = ranges_[i];
    if (range.end <= snd_una) continue;
    range.start = seq_max(range.start, snd_una);
    ranges_[kept++] = range;
  }
  count_ = static_cast<std::uint8_t>(kept);
  recount();
}

bool SackScoreboard::is_sacked(Seq s) const {
  for (const SackBlock& range : ranges()) {
    if (seq_in_window(s, range.start, range.length())) return true;
  }
  return false;
}

bool SackScoreboard::is_lost(Seq seq, std::uint32_t mss, std::uint32_t dupthresh) const {
  if (dupthresh == 0) return true;
  const Seq above = seq + 1u;  // the first byte "greater than seq"
  std::uint32_t ranges_above = 0;
  std::uint64_t bytes_above = 0;
  for (const SackBlock& range : ranges()) {
    if (range.end <= above) continue;
    ++ranges_above;
    bytes_above += static_cast<std::uint32_t>(range.end - seq_max(range.start, above));
  }
  return ranges_above >= dupthresh ||
         bytes_above > static_cast<std::uint64_t>(dupthresh - 1) * mss;
}

std::optional<SackBlock> SackScoreboard::next_hole(Seq from) const {
  Seq p = from;
  for (const SackBlock& range : ranges()) {
    if (range.end <= p) continue;  // wholly below
    if (range.start <= p) {        // p is SACKed: the hole (if any) starts after this range
      p = range.end;
      continue;
    }
    return SackBlock{p, range.start};
  }
  return std::nullopt;
}

std::uint32_t SackScoreboard::pipe(Seq snd_una, Seq snd_nxt, Seq high_rxt, std::uint32_t mss,
                                   std::uint32_t dupthresh) const {
  if (!(snd_una < snd_nxt)) return 0;
  const std::uint64_t flight = static_cast<std::uint32_t>(snd_nxt - snd_una);

  // The ranges as offsets above snd_una, those at or below it left out. Ranges beyond snd_nxt
  // (none when update() was given this snd_nxt) still count for IsLost, as is_lost() counts them.
  struct Span {
    std::uint64_t s, e;
  };
  std::array<Span, kMaxRanges> spans{};
  std::size_t n = 0;
  for (const SackBlock& range : ranges()) {
    if (range.end <= snd_una) continue;
    const Seq start = seq_max(range.start, snd_una);
    spans[n++] = {static_cast<std::uint32_t>(start - snd_una),
                  static_cast<std::uint32_t>(range.end - snd_una)};
  }

  // IsLost(S) is monotone: it holds exactly for the offsets S < lost_below.
  std::uint64_t lost_below = 0;
  if (dupthresh == 0) {
    lost_below = flight;
  } else {
    // At least dupthresh ranges with a byte above S: S < end - 1 of the dupthresh-th highest.
    if (n >= dupthresh) lost_below = std::max(lost_below, spans[n - dupthresh].e - 1);
    // More than B = (dupthresh - 1) * mss SACKed bytes above S: S < the (B + 1)-th highest byte.
    std::uint64_t rank = static_cast<std::uint64_t>(dupthresh - 1) * mss + 1;
    for (std::size_t k = n; k-- > 0;) {
      const std::uint64_t len = spans[k].e - spans[k].s;
      if (rank <= len) {
        lost_below = std::max(lost_below, spans[k].e - rank);
        break;
      }
      rank -= len;
    }
  }
  lost_below = std::min(lost_below, flight);

  // Un-SACKed bytes in [a, b) (offsets within the flight).
  auto unsacked = [&](std::uint64_t a, std::uint64_t b) -> std::uint64_t {
    if (b <= a) return 0;
    std::uint64_t sacked = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint64_t s = std::max(a, spans[k].s);
      const std::uint64_t e = std::min(b, spans[k].e);
      if (s < e) sacked += e - s;
    }
    return (b - a) - sacked;
  };

  const std::uint64_t retransmitted =
      snd_una < high_rxt ? std::min<std::uint64_t>(static_cast<std::uint32_t>(high_rxt - snd_una), flight) : 0;
  const std::uint64_t total = unsacked(lost_below, flight) + unsacked(0, retransmitted);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(total, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace synwave::tcp
