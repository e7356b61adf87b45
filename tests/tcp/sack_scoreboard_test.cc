// SackScoreboard: recording and merging SACK blocks, validity and D-SACK (RFC 2018, RFC 2883),
// cumulative ACKs, RFC 6675's IsLost / holes / SetPipe (checked against a per-byte model over
// seeded random scoreboards), the 32-range capacity, and sequence wrap.
#include "tcp/sack_scoreboard.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace synwave::tcp {
namespace {

using Ranges = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

SackBlock blk(std::uint32_t start, std::uint32_t end) {
  return SackBlock{Seq(start), Seq(end)};
}

class SackScoreboardTest : public ::testing::Test {
 protected:
  SackScoreboard::UpdateResult sack(std::uint32_t una, std::uint32_t nxt, Ranges blocks) {
    std::vector<SackBlock> b;
    for (auto [s, e] : blocks) b.push_back(blk(s, e));
    return sb_.update(Seq(una), Seq(nxt), b);
  }
  Ranges ranges() const {
    Ranges r;
    for (const SackBlock& b : sb_.ranges()) r.emplace_back(b.start.raw(), b.end.raw());
    return r;
  }
  std::optional<std::pair<std::uint32_t, std::uint32_t>> hole(std::uint32_t from) const {
    const auto h = sb_.next_hole(Seq(from));
    if (!h) return std::nullopt;
    return std::make_pair(h->start.raw(), h->end.raw());
  }

  SackScoreboard sb_;
};

using Hole = std::optional<std::pair<std::uint32_t, std::uint32_t>>;

TEST_F(SackScoreboardTest, Empty_NothingSacked_QueriesAnswerEmpty) {
  EXPECT_TRUE(sb_.empty());
  EXPECT_EQ(sb_.sacked_bytes(), 0u);
  EXPECT_FALSE(sb_.is_sacked(Seq(1000)));
  EXPECT_FALSE(sb_.is_lost(Seq(1000), 1000, 3));
  EXPECT_EQ(hole(1000), Hole{});
  // Nothing lost: every byte counts once, retransmitted ones twice.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(11000), Seq(1000), 1000, 3), 10000u);
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(11000), Seq(3000), 1000, 3), 12000u);
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(1000), Seq(1000), 1000, 3), 0u);
}

TEST_F(SackScoreboardTest, Empty_ValidBlock_RecordedExactly) {
  const auto r = sack(1000, 10000, {{2000, 3000}});
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}}));
  EXPECT_EQ(sb_.sacked_bytes(), 1000u);
  EXPECT_EQ(sb_.highest_sacked(), Seq(3000));
  EXPECT_EQ(sb_.lowest_sacked(), Seq(2000));
  EXPECT_FALSE(sb_.is_sacked(Seq(1999)));
  EXPECT_TRUE(sb_.is_sacked(Seq(2000)));
  EXPECT_TRUE(sb_.is_sacked(Seq(2999)));
  EXPECT_FALSE(sb_.is_sacked(Seq(3000)));
  // A block ending exactly at snd_nxt is valid.
  EXPECT_EQ(sack(1000, 10000, {{9000, 10000}}).newly_sacked, 1000u);
}

TEST_F(SackScoreboardTest, Sacked_OverlappingAndAdjacentBlocks_Merge) {
  sack(1000, 10000, {{2000, 3000}});
  auto r = sack(1000, 10000, {{3000, 3500}});  // adjacent above
  EXPECT_EQ(r.newly_sacked, 500u);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3500}}));
  r = sack(1000, 10000, {{1500, 2000}});  // adjacent below
  EXPECT_EQ(r.newly_sacked, 500u);
  EXPECT_EQ(ranges(), (Ranges{{1500, 3500}}));
  r = sack(1000, 10000, {{3200, 4000}, {5000, 6000}, {7000, 8000}});
  EXPECT_EQ(r.newly_sacked, 500u + 1000u + 1000u);
  EXPECT_EQ(ranges(), (Ranges{{1500, 4000}, {5000, 6000}, {7000, 8000}}));
  // One block bridging three ranges: only the gaps are new.
  r = sack(1000, 10000, {{3900, 7100}});
  EXPECT_EQ(r.newly_sacked, 1000u + 1000u);
  EXPECT_EQ(ranges(), (Ranges{{1500, 8000}}));
  EXPECT_EQ(sb_.sacked_bytes(), 6500u);
  // The same blocks again (a repeated ACK): nothing new, no D-SACK.
  r = sack(1000, 10000, {{1500, 8000}});
  EXPECT_EQ(r.newly_sacked, 0u);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(r.invalid_blocks, 0u);
  // A block covering more than a range on both sides.
  r = sack(1000, 10000, {{1200, 8800}});
  EXPECT_EQ(r.newly_sacked, 300u + 800u);
  EXPECT_EQ(ranges(), (Ranges{{1200, 8800}}));
}

TEST_F(SackScoreboardTest, Update_InvalidBlocks_CountedAndIgnored) {
  const auto r = sack(1000, 10000,
                      {{2000, 2100},     // valid (first, so that the next ones are not D-SACKs)
                       {9500, 10001},    // beyond snd_nxt
                       {3000, 3000},     // empty
                       {4000, 3000},     // reversed
                       {500, 900},       // below snd_una, not first
                       {900, 1100},      // straddles snd_una
                       {1000, 1100}});   // starts at snd_una
  EXPECT_EQ(r.invalid_blocks, 6u);
  EXPECT_EQ(r.newly_sacked, 100u);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(ranges(), (Ranges{{2000, 2100}}));
  // A reversed or straddling first block is invalid, not a D-SACK.
  auto r2 = sack(1000, 10000, {{3000, 2500}});
  EXPECT_EQ(r2.invalid_blocks, 1u);
  EXPECT_FALSE(r2.dsack);
  r2 = sack(1000, 10000, {{900, 1100}});
  EXPECT_EQ(r2.invalid_blocks, 1u);
  EXPECT_FALSE(r2.dsack);
  EXPECT_EQ(ranges(), (Ranges{{2000, 2100}}));
}

TEST_F(SackScoreboardTest, Update_FirstBlockAtOrBelowSndUna_Dsack) {
  auto r = sack(1000, 10000, {{500, 900}, {2000, 3000}});
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}}));
  r = sack(1000, 10000, {{900, 1000}});  // ends exactly at snd_una
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}}));
}

TEST_F(SackScoreboardTest, Update_FirstBlockInsideSecond_DsackNotRecordedTwice) {
  // RFC 2883 section 4.1.2: a duplicate inside an out-of-order block the sender had not seen.
  const auto r = sack(1000, 10000, {{2200, 2300}, {2000, 3000}});
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}}));
}

TEST_F(SackScoreboardTest, Sacked_FirstBlockStrictlyInsideRange_Dsack) {
  sack(1000, 10000, {{2000, 3000}, {5000, 6000}});
  auto r = sack(1000, 10000, {{2500, 2600}});
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 0u);
  EXPECT_EQ(r.invalid_blocks, 0u);
  r = sack(1000, 10000, {{5000, 5001}, {7000, 7500}});  // then normal blocks still count
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 500u);
  // Not first: an already-SACKed block is plain, not a D-SACK.
  r = sack(1000, 10000, {{8000, 8100}, {2500, 2600}});
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 100u);
  // First and equal to a whole range: the receiver repeating its blocks, not a D-SACK.
  r = sack(1000, 10000, {{5000, 6000}});
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 0u);
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}, {5000, 6000}, {7000, 7500}, {8000, 8100}}));
}

TEST_F(SackScoreboardTest, Sacked_CumulativeAckAdvances_TrimsAndForgets) {
  sack(1000, 10000, {{2000, 3000}, {4000, 5000}, {6000, 7000}});
  sb_.acked(Seq(1500));
  EXPECT_EQ(ranges(), (Ranges{{2000, 3000}, {4000, 5000}, {6000, 7000}}));
  sb_.acked(Seq(2500));
  EXPECT_EQ(ranges(), (Ranges{{2500, 3000}, {4000, 5000}, {6000, 7000}}));
  EXPECT_EQ(sb_.sacked_bytes(), 2500u);
  sb_.acked(Seq(3000));
  EXPECT_EQ(ranges(), (Ranges{{4000, 5000}, {6000, 7000}}));
  EXPECT_EQ(sb_.sacked_bytes(), 2000u);
  // update() forgets what its snd_una covers before it looks at the blocks.
  const auto r = sack(6500, 10000, {{8000, 9000}});
  EXPECT_EQ(r.newly_sacked, 1000u);
  EXPECT_EQ(ranges(), (Ranges{{6500, 7000}, {8000, 9000}}));
  sb_.acked(Seq(9000));
  EXPECT_TRUE(sb_.empty());
  EXPECT_EQ(sb_.sacked_bytes(), 0u);
}

TEST_F(SackScoreboardTest, Sacked_DupthreshRangesAbove_LostExactlyBelowThirdRangeEnd) {
  // Three 10-byte ranges (far less than 2 * mss in bytes): the range count decides.
  sack(1000, 10000, {{2000, 2010}, {3000, 3010}, {4000, 4010}});
  EXPECT_TRUE(sb_.is_lost(Seq(1000), 1000, 3));
  EXPECT_TRUE(sb_.is_lost(Seq(1999), 1000, 3));
  EXPECT_TRUE(sb_.is_lost(Seq(2008), 1000, 3));   // byte 2009 is still above it
  EXPECT_FALSE(sb_.is_lost(Seq(2009), 1000, 3));  // only two ranges hold bytes above 2009
  EXPECT_FALSE(sb_.is_lost(Seq(2500), 1000, 3));
  EXPECT_TRUE(sb_.is_lost(Seq(2500), 1000, 2));
  EXPECT_FALSE(sb_.is_lost(Seq(3009), 1000, 2));
  EXPECT_FALSE(sb_.is_lost(Seq(1000), 1000, 4));
  EXPECT_TRUE(sb_.is_lost(Seq(1000), 1000, 0));  // no threshold: everything
}

TEST_F(SackScoreboardTest, Sacked_MoreThanDupthreshMinusOneMssAbove_Lost) {
  // One range of 201 bytes; mss 100, dupthresh 3: lost when more than 200 SACKed bytes lie above.
  sack(1000, 10000, {{2000, 2201}});
  EXPECT_TRUE(sb_.is_lost(Seq(1999), 100, 3));   // 201 bytes above
  EXPECT_FALSE(sb_.is_lost(Seq(2000), 100, 3));  // exactly 200 above: not more
  EXPECT_FALSE(sb_.is_lost(Seq(1999), 101, 3));  // 201 is not more than 202
  EXPECT_TRUE(sb_.is_lost(Seq(1999), 100, 3));
  // Bytes across ranges add up.
  sb_.clear();
  sack(1000, 10000, {{2000, 2100}, {3000, 3101}});
  EXPECT_TRUE(sb_.is_lost(Seq(1500), 100, 3));   // 201 above
  EXPECT_FALSE(sb_.is_lost(Seq(2000), 100, 3));  // 200 above (2001..2099 and 3000..3100)
}

TEST_F(SackScoreboardTest, Sacked_NextHole_LowestUnsackedRangeBelowHighest) {
  sack(1000, 10000, {{2000, 3000}, {4000, 5000}, {6000, 7000}});
  EXPECT_EQ(hole(1000), (Hole{{1000, 2000}}));
  EXPECT_EQ(hole(1999), (Hole{{1999, 2000}}));
  EXPECT_EQ(hole(2000), (Hole{{3000, 4000}}));
  EXPECT_EQ(hole(2500), (Hole{{3000, 4000}}));
  EXPECT_EQ(hole(3000), (Hole{{3000, 4000}}));
  EXPECT_EQ(hole(3500), (Hole{{3500, 4000}}));
  EXPECT_EQ(hole(5000), (Hole{{5000, 6000}}));
  EXPECT_EQ(hole(6500), Hole{});
  EXPECT_EQ(hole(7000), Hole{});
  EXPECT_EQ(hole(9000), Hole{});
}

TEST_F(SackScoreboardTest, Sacked_PipeWorkedExample_CountsUnsackedNotLostAndRetransmitted) {
  // mss 100, dupthresh 3: flight [1000, 2000); SACKed [1300, 1400), [1500, 1600), [1700, 1800).
  sack(1000, 2000, {{1300, 1400}, {1500, 1600}, {1700, 1800}});
  // IsLost below 1799 - 1 + 1 = 1399 by count (bytes above 1398: three ranges); by bytes (more than
  // 200 above) below 1399 too. Un-SACKed not lost: [1400, 1500) [1600, 1700) [1800, 2000) = 400.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(1000), 100, 3), 400u);
  // Retransmitted [1000, 1200): 200 more.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(1200), 100, 3), 600u);
  // Retransmitted up to 1500 crosses a SACKed range: 300 + 100 un-SACKed.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(1500), 100, 3), 800u);
  // high_rxt beyond snd_nxt is capped.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(5000), 100, 3), 400u + 700u);
  // high_rxt below snd_una: nothing retransmitted.
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(900), 100, 3), 400u);
}

TEST_F(SackScoreboardTest, Sacked_PipeBytesRuleBoundaryAtRangeStart_LostBelowIt) {
  // mss 100, dupthresh 3: lost where more than 200 SACKed bytes lie above. 101 + 100 SACKed bytes:
  // the 201st highest is 1300, the first byte of the lower range, so exactly [1000, 1300) is lost.
  sack(1000, 2000, {{1300, 1400}, {1600, 1701}});
  EXPECT_TRUE(sb_.is_lost(Seq(1299), 100, 3));
  EXPECT_FALSE(sb_.is_lost(Seq(1300), 100, 3));
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(1000), 100, 3), 200u + 299u);
  // One byte fewer above: nothing lost.
  sb_.clear();
  sack(1000, 2000, {{1300, 1400}, {1600, 1700}});
  EXPECT_FALSE(sb_.is_lost(Seq(1000), 100, 3));
  EXPECT_EQ(sb_.pipe(Seq(1000), Seq(2000), Seq(1000), 100, 3), 300u + 200u + 300u);
}

// The 32-range capacity: when full, a new highest range is dropped; a lower one evicts the highest.
TEST_F(SackScoreboardTest, Full_MoreThan32Ranges_HighestDropped) {
  for (std::uint32_t k = 1; k <= SackScoreboard::kMaxRanges; ++k) {
    ASSERT_EQ(sack(0, 100000, {{k * 1000, k * 1000 + 100}}).newly_sacked, 100u);
  }
  EXPECT_EQ(sb_.ranges().size(), 32u);
  EXPECT_EQ(sb_.sacked_bytes(), 3200u);
  // Highest and no room: not recorded.
  auto r = sack(0, 100000, {{40000, 40100}});
  EXPECT_EQ(r.newly_sacked, 0u);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_EQ(sb_.highest_sacked(), Seq(32100));
  // Lower: recorded, the highest range (32000..32100) goes.
  r = sack(0, 100000, {{10, 20}});
  EXPECT_EQ(r.newly_sacked, 10u);
  EXPECT_EQ(sb_.ranges().size(), 32u);
  EXPECT_EQ(sb_.highest_sacked(), Seq(31100));
  EXPECT_EQ(sb_.sacked_bytes(), 3200u - 100u + 10u);
  EXPECT_FALSE(sb_.is_sacked(Seq(32000)));
  // Growing or merging ranges needs no room.
  r = sack(0, 100000, {{1100, 1200}});
  EXPECT_EQ(r.newly_sacked, 100u);
  r = sack(0, 100000, {{1200, 2000}});  // joins 1000..1200 and 2000..2100
  EXPECT_EQ(r.newly_sacked, 800u);
  EXPECT_EQ(sb_.ranges().size(), 31u);
  EXPECT_EQ(sb_.sacked_bytes(), 3200u - 100u + 10u + 900u);
  // Room again: the highest can come back.
  EXPECT_EQ(sack(0, 100000, {{40000, 40100}}).newly_sacked, 100u);
  EXPECT_EQ(sb_.highest_sacked(), Seq(40100));
  sb_.clear();
  EXPECT_TRUE(sb_.empty());
  EXPECT_EQ(sb_.sacked_bytes(), 0u);
}

TEST_F(SackScoreboardTest, Wrap_RangesStraddlingZero_Everything) {
  const std::uint32_t una = 0xfffff000u;
  const std::uint32_t nxt = 0x1000u;
  auto r = sack(una, nxt, {{0xfffff800u, 0x100}, {0x200, 0x300}, {0xf00, 0x1001}});
  EXPECT_EQ(r.newly_sacked, 0x900u + 0x100u);
  EXPECT_EQ(r.invalid_blocks, 1u);  // beyond snd_nxt across the wrap
  EXPECT_EQ(ranges(), (Ranges{{0xfffff800u, 0x100}, {0x200, 0x300}}));
  EXPECT_TRUE(sb_.is_sacked(Seq(0xffffffffu)));
  EXPECT_TRUE(sb_.is_sacked(Seq(0)));
  EXPECT_FALSE(sb_.is_sacked(Seq(0x100)));
  EXPECT_EQ(sb_.highest_sacked(), Seq(0x300));
  EXPECT_EQ(hole(una), (Hole{{una, 0xfffff800u}}));
  EXPECT_EQ(hole(0xfffffff0u), (Hole{{0x100, 0x200}}));
  EXPECT_EQ(hole(0x300), Hole{});
  // Adjacent across zero merges.
  r = sack(una, nxt, {{0x100, 0x200}});
  EXPECT_EQ(r.newly_sacked, 0x100u);
  EXPECT_EQ(ranges(), (Ranges{{0xfffff800u, 0x300}}));
  // D-SACK below snd_una across the wrap.
  r = sack(una, nxt, {{0xffffe000u, 0xffffe800u}});
  EXPECT_TRUE(r.dsack);
  // mss 0x100, dupthresh 3: lost below the 0x201st highest SACKed byte, 0x300 - 0x201 = 0xff.
  EXPECT_TRUE(sb_.is_lost(Seq(0xfe), 0x100, 3));
  EXPECT_FALSE(sb_.is_lost(Seq(0xff), 0x100, 3));
  // Un-SACKed [una, 0xfffff800) is lost; [0x300, 0x1000) is not; [una, una + 0x10) retransmitted.
  EXPECT_EQ(sb_.pipe(Seq(una), Seq(nxt), Seq(una + 0x10u), 0x100, 3), 0xd00u + 0x10u);
  sb_.acked(Seq(0x10));
  EXPECT_EQ(ranges(), (Ranges{{0x10, 0x300}}));
  EXPECT_EQ(sb_.sacked_bytes(), 0x2f0u);
}

// The per-byte model RFC 6675 describes, over offsets from snd_una.
struct ByteModel {
  std::vector<bool> sacked;
  // IsLost for every offset, by counting ranges and bytes above it.
  std::vector<bool> lost(std::uint32_t mss, std::uint32_t dupthresh) const {
    std::vector<bool> out(sacked.size(), false);
    std::uint64_t bytes_above = 0;
    std::uint32_t runs_above = 0;
    // Walk down: before looking at offset S, bytes_above / runs_above count offsets > S.
    for (std::size_t i = sacked.size(); i-- > 0;) {
      out[i] = dupthresh == 0 || runs_above >= dupthresh ||
               bytes_above > static_cast<std::uint64_t>(dupthresh - 1) * mss;
      if (sacked[i]) {
        ++bytes_above;
        if (i + 1 == sacked.size() || !sacked[i + 1]) ++runs_above;  // top byte of a run
      }
    }
    return out;
  }
};

TEST_F(SackScoreboardTest, RandomScoreboards_PipeAndIsLost_MatchPerByteModel) {
  const std::uint32_t mss_choices[] = {1, 7, 100, 536, 1460};
  for (std::uint32_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    sb_.clear();
    const std::uint32_t flight = 1 + rng() % 12000;
    std::uint32_t una = seed % 2 == 0 ? 0u - (rng() % flight) : rng();  // even seeds straddle zero
    const std::uint32_t nxt = una + flight;
    const std::uint32_t base = una;
    std::vector<bool> model(flight, false);
    bool evicted = false;
    // A few ACKs of up to four blocks, some invalid.
    const int acks = 1 + static_cast<int>(rng() % 20);
    for (int a = 0; a < acks; ++a) {
      std::vector<SackBlock> blocks;
      const std::size_t nb = 1 + rng() % 4;
      std::uint32_t expect_invalid = 0;
      for (std::size_t b = 0; b < nb; ++b) {
        const std::uint32_t s = 1 + rng() % flight;  // offset from base
        const std::uint32_t len = 1 + rng() % 800;
        blocks.push_back(blk(base + s, base + s + len));
      }
      if (rng() % 5 == 0) std::swap(blocks.back().start, blocks.back().end);
      const std::uint32_t off_una = una - base;
      // Model the outcome: D-SACK rules for the first block, validity for all.
      std::uint32_t expect_new = 0;
      for (std::size_t b = 0; b < blocks.size(); ++b) {
        const std::uint32_t s = blocks[b].start.raw() - base;
        const std::uint32_t e = blocks[b].end.raw() - base;
        const bool valid = s > off_una && s < e && e <= flight;
        if (b == 0 && s < e && e <= off_una) continue;  // D-SACK
        if (b == 0 && valid) {
          bool dsack = false;
          if (blocks.size() > 1) {
            const std::uint32_t s2 = blocks[1].start.raw() - base;
            const std::uint32_t e2 = blocks[1].end.raw() - base;
            dsack = s2 > off_una && s2 < e2 && e2 <= flight && s2 <= s && e <= e2;
          }
          for (const SackBlock& r : sb_.ranges()) {
            const std::uint32_t rs = r.start.raw() - base;
            const std::uint32_t re = r.end.raw() - base;
            if (rs <= s && e <= re && !(rs == s && re == e)) dsack = true;
          }
          if (dsack) continue;
        }
        if (!valid) {
          ++expect_invalid;
          continue;
        }
        for (std::uint32_t i = s; i < e; ++i) {
          if (!model[i]) ++expect_new;
          model[i] = true;
        }
      }
      const auto r = sb_.update(Seq(una), Seq(nxt), blocks);
      ASSERT_EQ(r.invalid_blocks, expect_invalid);
      // Count the model's runs: beyond 32 the scoreboard forgets some (then stop comparing).
      std::uint32_t runs = 0;
      for (std::uint32_t i = 0; i < flight; ++i) runs += model[i] && (i == 0 || !model[i - 1]);
      if (runs > SackScoreboard::kMaxRanges) evicted = true;
      if (!evicted) {
        ASSERT_EQ(r.newly_sacked, expect_new);
        ASSERT_EQ(sb_.ranges().size(), runs);
      }
      if (rng() % 4 == 0) {  // the cumulative ACK moves
        const std::uint32_t adv = rng() % (flight - off_una + 1);
        una += adv;
        sb_.acked(Seq(una));
        for (std::uint32_t i = 0; i < una - base; ++i) model[i] = false;
      }
    }

    // The scoreboard as bytes (what pipe() must agree with whatever was evicted).
    ByteModel bm{std::vector<bool>(flight, false)};
    const std::uint32_t off_una = una - base;
    std::uint32_t sacked_total = 0;
    for (std::uint32_t i = off_una; i < flight; ++i) {
      bm.sacked[i] = sb_.is_sacked(Seq(base + i));
      if (!evicted) {
        ASSERT_EQ(bm.sacked[i], model[i]) << "offset " << i;
      }
      sacked_total += bm.sacked[i];
    }
    ASSERT_EQ(sb_.sacked_bytes(), sacked_total);
    ASSERT_LE(sb_.ranges().size(), SackScoreboard::kMaxRanges);

    const std::uint32_t mss = mss_choices[rng() % 5];
    const std::uint32_t dupthresh = rng() % 6;
    const std::vector<bool> lost = bm.lost(mss, dupthresh);
    for (std::uint32_t i = off_una; i < flight; ++i) {
      ASSERT_EQ(sb_.is_lost(Seq(base + i), mss, dupthresh), lost[i]) << "offset " << i;
    }
    for (int h = 0; h < 4; ++h) {
      // high_rxt: none, inside the flight, at snd_nxt, beyond it.
      const std::uint32_t high_rxt_off =
          h == 0 ? off_una : h == 1 ? off_una + rng() % (flight - off_una + 1) : h == 2 ? flight : flight + 100;
      std::uint32_t expect = 0;
      for (std::uint32_t i = off_una; i < flight; ++i) {
        if (bm.sacked[i]) continue;
        if (!lost[i]) ++expect;
        if (i < high_rxt_off) ++expect;
      }
      ASSERT_EQ(sb_.pipe(Seq(una), Seq(nxt), Seq(base + high_rxt_off), mss, dupthresh), expect)
          << "high_rxt offset " << high_rxt_off << " mss " << mss << " dupthresh " << dupthresh;
    }
    // Holes: walking next_hole from snd_una visits exactly the un-SACKed bytes below the highest.
    if (!sb_.empty()) {
      std::vector<bool> in_hole(flight, false);
      Seq from(una);
      for (int guard = 0; guard < 40; ++guard) {
        const auto hole = sb_.next_hole(from);
        if (!hole) break;
        ASSERT_TRUE(hole->start < hole->end);
        for (Seq s = hole->start; s < hole->end; s += 1u) in_hole[s.raw() - base] = true;
        from = hole->end;
      }
      const std::uint32_t top = sb_.highest_sacked().raw() - base;
      for (std::uint32_t i = off_una; i < flight; ++i) {
        ASSERT_EQ(in_hole[i], !bm.sacked[i] && i < top) << "offset " << i;
      }
    }
  }
}

}  // namespace
}  // namespace synwave::tcp
