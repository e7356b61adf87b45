// ReassemblyQueue on real mbufs: ordering, trimming, the segment cap, SACK block order (RFC 2018
// section 4, RFC 2883), sequence wrap, and mbuf accounting (every test returns the pool to where it
// started).
#include "tcp/reassembly.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "tcp/mbuf_queue.h"
#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace synwave::tcp {
namespace {

using Blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

// This file's pool (the EAL is started by dpdk_test_main.cc). No per-lcore cache, so the in-use
// count is exact.
rte_mempool* reassembly_pool() {
  static rte_mempool* pool = rte_pktmbuf_pool_create("reassembly_test_pool", 4095, 0, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

// The payload byte at sequence number x; `tag` tells copies of the same range apart.
std::uint8_t pattern(std::uint32_t x, std::uint8_t tag = 0) {
  return static_cast<std::uint8_t>((x * 131u) ^ (x >> 8) ^ (tag * 89u));
}

constexpr std::uint32_t kCap = 1000;

class ReassemblyQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(reassembly_pool(), nullptr);
    baseline_ = rte_mempool_in_use_count(reassembly_pool());
  }

  void TearDown() override {
    q_.clear();
    out_.clear();
    EXPECT_EQ(rte_mempool_in_use_count(reassembly_pool()), baseline_) << "mbufs leaked";
  }

  static rte_mbuf* segment(std::uint32_t seq, std::uint16_t len, std::uint8_t tag = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(reassembly_pool());
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return nullptr;
    auto* data = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, len));
    EXPECT_NE(data, nullptr) << "at most 2048 bytes fit";
    if (data == nullptr) return m;
    for (std::uint16_t i = 0; i < len; ++i) data[i] = pattern(seq + i, tag);
    return m;
  }

  ReassemblyQueue::InsertResult put(std::uint32_t seq, std::uint16_t len, std::uint8_t tag = 0,
                                    std::uint32_t cap = kCap) {
    return q_.insert(Seq(seq), segment(seq, len, tag), cap);
  }

  // Everything drained so far.
  std::vector<std::uint8_t> delivered() const {
    std::vector<std::uint8_t> bytes(out_.bytes());
    EXPECT_EQ(out_.copy_out(0, bytes), bytes.size());
    return bytes;
  }

  // Expected bytes for [from, from + len) given the tag of each byte.
  static std::vector<std::uint8_t> expected(std::uint32_t from, std::vector<std::uint8_t> tags) {
    std::vector<std::uint8_t> bytes;
    for (std::uint32_t i = 0; i < tags.size(); ++i) bytes.push_back(pattern(from + i, tags[i]));
    return bytes;
  }
  static std::vector<std::uint8_t> tags(std::initializer_list<std::pair<std::uint32_t, std::uint8_t>> runs) {
    std::vector<std::uint8_t> t;
    for (auto [n, tag] : runs) t.insert(t.end(), n, tag);
    return t;
  }

  Blocks sacks(std::size_t room = 4) const {
    std::vector<SackBlock> b(room);
    b.resize(q_.sack_blocks(b));
    Blocks raw;
    for (const SackBlock& s : b) raw.emplace_back(s.start.raw(), s.end.raw());
    return raw;
  }

  ReassemblyQueue q_;
  MbufQueue out_;
  unsigned baseline_ = 0;
};

TEST_F(ReassemblyQueueTest, Empty_NothingQueued_DrainReturnsRcvNxtUnchanged) {
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(1000));
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(q_.bytes(), 0u);
  EXPECT_EQ(q_.segments(), 0u);
  EXPECT_EQ(sacks(), Blocks{});
}

TEST_F(ReassemblyQueueTest, Empty_InOrderSegments_DrainDeliversAll) {
  EXPECT_EQ(put(1000, 500).new_bytes, 500u);
  EXPECT_EQ(put(1500, 300).new_bytes, 300u);
  EXPECT_EQ(q_.bytes(), 800u);
  EXPECT_EQ(q_.segments(), 2u);
  EXPECT_EQ(q_.lowest(), Seq(1000));
  EXPECT_EQ(q_.highest(), Seq(1800));
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(1800));
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(q_.bytes(), 0u);
  EXPECT_EQ(q_.segments(), 0u);
  EXPECT_EQ(delivered(), expected(1000, tags({{800, 0}})));
  EXPECT_EQ(sacks(), Blocks{});  // what was delivered is not reported
}

TEST_F(ReassemblyQueueTest, SingleHole_DataAboveHole_HeldUntilHoleFilled) {
  EXPECT_EQ(put(2000, 1000).new_bytes, 1000u);
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(1000));
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(sacks(), (Blocks{{2000, 3000}}));

  EXPECT_EQ(put(1000, 1000).new_bytes, 1000u);
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(3000));
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(delivered(), expected(1000, tags({{2000, 0}})));
}

TEST_F(ReassemblyQueueTest, Held_ExactDuplicate_FreedWithoutNewBytes) {
  put(1000, 500, 1);
  const auto r = put(1000, 500, 2);
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(q_.segments(), 1u);
  EXPECT_EQ(q_.bytes(), 500u);
  // A duplicate lying inside a held segment is nothing new either.
  EXPECT_EQ(put(1100, 100, 3).new_bytes, 0u);
  EXPECT_EQ(q_.segments(), 1u);
  q_.drain(Seq(1000), out_);
  EXPECT_EQ(delivered(), expected(1000, tags({{500, 1}})));  // the first copy stayed
}

TEST_F(ReassemblyQueueTest, Held_OverlapAtFront_NewSegmentTrimmedAtFront) {
  put(1000, 1000, 1);
  EXPECT_EQ(put(1500, 1000, 2).new_bytes, 500u);
  EXPECT_EQ(q_.segments(), 2u);
  EXPECT_EQ(q_.bytes(), 1500u);
  EXPECT_EQ(sacks(), (Blocks{{1000, 2500}}));
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(2500));
  EXPECT_EQ(delivered(), expected(1000, tags({{1000, 1}, {500, 2}})));
}

TEST_F(ReassemblyQueueTest, Held_OverlapAtBack_NewSegmentTrimmedAtBack) {
  put(2000, 1000, 1);
  EXPECT_EQ(put(1500, 1000, 2).new_bytes, 500u);
  EXPECT_EQ(q_.segments(), 2u);
  EXPECT_EQ(q_.bytes(), 1500u);
  EXPECT_EQ(q_.lowest(), Seq(1500));
  EXPECT_EQ(q_.drain(Seq(1500), out_), Seq(3000));
  EXPECT_EQ(delivered(), expected(1500, tags({{500, 2}, {1000, 1}})));
}

TEST_F(ReassemblyQueueTest, Held_OverlapAtBothEnds_OnlyTheGapKept) {
  put(1000, 1000, 1);
  put(3000, 1000, 1);
  EXPECT_EQ(put(1500, 2000, 2).new_bytes, 1000u);
  EXPECT_EQ(q_.segments(), 3u);
  EXPECT_EQ(q_.bytes(), 3000u);
  EXPECT_EQ(sacks(), (Blocks{{1000, 4000}}));
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(4000));
  EXPECT_EQ(delivered(), expected(1000, tags({{1000, 1}, {1000, 2}, {1000, 1}})));
}

TEST_F(ReassemblyQueueTest, Held_NewSegmentCoversOlderOnes_OlderReplaced) {
  put(1100, 100, 1);
  put(1300, 100, 1);
  put(1200, 50, 1);
  EXPECT_EQ(q_.segments(), 3u);
  const auto r = put(1000, 500, 2, /*cap=*/3);  // the cap is full, but nothing is added
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(r.new_bytes, 250u);
  EXPECT_EQ(q_.segments(), 1u);
  EXPECT_EQ(q_.bytes(), 500u);
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(1500));
  EXPECT_EQ(delivered(), expected(1000, tags({{500, 2}})));
}

TEST_F(ReassemblyQueueTest, Held_NewSegmentTrimmedAndCoveringOthers_EndsKeptMiddleReplaced) {
  put(900, 200, 1);   // [900, 1100): cuts the front
  put(1200, 100, 1);  // [1200, 1300): covered, replaced
  put(1400, 200, 1);  // [1400, 1600): cuts the back
  EXPECT_EQ(put(1000, 500, 2).new_bytes, 200u);
  EXPECT_EQ(q_.segments(), 3u);
  EXPECT_EQ(q_.bytes(), 700u);
  EXPECT_EQ(sacks(), (Blocks{{900, 1600}}));
  EXPECT_EQ(q_.drain(Seq(900), out_), Seq(1600));
  EXPECT_EQ(delivered(), expected(900, tags({{200, 1}, {300, 2}, {200, 1}})));
}

TEST_F(ReassemblyQueueTest, Held_AdjacentSegments_OneSackBlockSeparateSegments) {
  put(2000, 100);
  put(2100, 100);
  put(1900, 100);
  EXPECT_EQ(q_.segments(), 3u);
  EXPECT_EQ(sacks(), (Blocks{{1900, 2200}}));
  // Spanning two adjacent held segments and the gap after them: only the gap is new.
  EXPECT_EQ(put(1950, 400).new_bytes, 150u);
  EXPECT_EQ(q_.highest(), Seq(2350));
}

TEST_F(ReassemblyQueueTest, Full_SegmentWouldAddOne_RefusedAndFreed) {
  put(1000, 100);
  put(2000, 100);
  put(3000, 100);
  auto r = put(4000, 100, 0, /*cap=*/3);
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(r.new_bytes, 0u);
  // Extending a held segment also adds one (held bytes stay in their own mbuf).
  r = put(1050, 100, 0, 3);
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(q_.segments(), 3u);
  EXPECT_EQ(q_.bytes(), 300u);
  EXPECT_EQ(sacks(), (Blocks{{3000, 3100}, {2000, 2100}, {1000, 1100}}));  // refusals not noted
  // A duplicate at the cap is not a refusal.
  r = put(2000, 100, 0, 3);
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(r.new_bytes, 0u);
  // Replacing a covered segment adds none.
  r = put(1900, 300, 0, 3);
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(r.new_bytes, 200u);
  EXPECT_EQ(q_.segments(), 3u);
  // Cap zero refuses anything that would add a segment.
  q_.clear();
  EXPECT_TRUE(put(1000, 100, 0, 0).refused);
  EXPECT_TRUE(q_.empty());
}

TEST_F(ReassemblyQueueTest, Held_SegmentsBelowRcvNxt_DrainTrimsAndFrees) {
  put(1000, 1000);  // wholly below 2500 after the ACK moved on: freed
  put(2000, 1000);  // partly below: trimmed to [2500, 3000)
  put(3000, 500);
  put(4000, 500);  // beyond a hole: stays
  EXPECT_EQ(q_.drain(Seq(2500), out_), Seq(3500));
  EXPECT_EQ(out_.bytes(), 1000u);
  EXPECT_EQ(delivered(), expected(2500, tags({{1000, 0}})));
  EXPECT_EQ(q_.segments(), 1u);
  EXPECT_EQ(q_.bytes(), 500u);
  EXPECT_EQ(sacks(), (Blocks{{4000, 4500}}));
  // Everything wholly below: freed, nothing delivered, rcv_nxt kept.
  out_.clear();
  EXPECT_EQ(q_.drain(Seq(5000), out_), Seq(5000));
  EXPECT_TRUE(out_.empty());
  EXPECT_TRUE(q_.empty());
}

// RFC 2018 section 5, case 3: eight 500-byte segments from 5000, the 2nd, 4th, 6th and 8th lost.
TEST_F(ReassemblyQueueTest, OutOfOrder_Rfc2018Case3_MostRecentBlockFirst) {
  Seq rcv_nxt(5000);
  put(5000, 500);
  rcv_nxt = q_.drain(rcv_nxt, out_);
  EXPECT_EQ(rcv_nxt, Seq(5500));
  EXPECT_EQ(sacks(), Blocks{});
  put(6000, 500);
  EXPECT_EQ(sacks(), (Blocks{{6000, 6500}}));
  put(7000, 500);
  EXPECT_EQ(sacks(), (Blocks{{7000, 7500}, {6000, 6500}}));
  put(8000, 500);
  EXPECT_EQ(sacks(), (Blocks{{8000, 8500}, {7000, 7500}, {6000, 6500}}));
  // The 4th segment arrives: it joins two blocks, which come first.
  put(6500, 500);
  EXPECT_EQ(q_.drain(rcv_nxt, out_), Seq(5500));
  EXPECT_EQ(sacks(), (Blocks{{6000, 7500}, {8000, 8500}}));
  // The 2nd: the ACK moves to 7500.
  put(5500, 500);
  rcv_nxt = q_.drain(rcv_nxt, out_);
  EXPECT_EQ(rcv_nxt, Seq(7500));
  EXPECT_EQ(sacks(), (Blocks{{8000, 8500}}));
  EXPECT_EQ(delivered(), expected(5000, tags({{2500, 0}})));
}

TEST_F(ReassemblyQueueTest, OutOfOrder_MoreBlocksThanRemembered_RecentThenAscending) {
  // Six blocks received from the highest down to the lowest... then in mixed order.
  for (std::uint32_t start : {6000u, 5000u, 4000u, 3000u, 2000u, 1000u}) put(start, 100);
  EXPECT_EQ(sacks(3), (Blocks{{1000, 1100}, {2000, 2100}, {3000, 3100}}));
  // Only four are remembered; the rest follow in ascending order.
  EXPECT_EQ(sacks(6), (Blocks{{1000, 1100}, {2000, 2100}, {3000, 3100}, {4000, 4100}, {5000, 5100},
                              {6000, 6100}}));
  put(5050, 100);  // grows the 5000 block: it comes first now
  EXPECT_EQ(sacks(6), (Blocks{{5000, 5150}, {1000, 1100}, {2000, 2100}, {3000, 3100}, {4000, 4100},
                              {6000, 6100}}));
  put(2000, 50);  // a duplicate inside the 2000 block: it is the segment that triggers the ACK
  EXPECT_EQ(sacks(4), (Blocks{{2000, 2100}, {5000, 5150}, {1000, 1100}, {3000, 3100}}));
  // Room for one block: the most recent only.
  EXPECT_EQ(sacks(1), (Blocks{{2000, 2100}}));
  EXPECT_EQ(sacks(0), Blocks{});
}

TEST_F(ReassemblyQueueTest, OutOfOrder_RecentBlockDrained_NextRecentFirst) {
  put(3000, 100);
  put(2000, 100);
  put(1000, 100);
  EXPECT_EQ(q_.drain(Seq(1000), out_), Seq(1100));  // the most recent block went in order
  EXPECT_EQ(sacks(), (Blocks{{2000, 2100}, {3000, 3100}}));
}

TEST_F(ReassemblyQueueTest, DsackPending_SackBlocks_DsackFirstThenClearedOnce) {
  put(3000, 500);
  put(5000, 500);
  q_.set_dsack({Seq(1000), Seq(1500)});  // a duplicate below rcv_nxt
  EXPECT_TRUE(q_.has_dsack());
  EXPECT_EQ(sacks(), (Blocks{{1000, 1500}, {5000, 5500}, {3000, 3500}}));
  EXPECT_EQ(sacks(1), (Blocks{{1000, 1500}}));
  q_.clear_dsack();
  EXPECT_FALSE(q_.has_dsack());
  EXPECT_EQ(sacks(), (Blocks{{5000, 5500}, {3000, 3500}}));

  // A duplicate inside a held block (RFC 2883 section 4.1.2): the D-SACK block, then the block
  // containing it, even though they start alike.
  EXPECT_EQ(put(3000, 200).new_bytes, 0u);
  q_.set_dsack({Seq(3000), Seq(3200)});
  EXPECT_EQ(sacks(), (Blocks{{3000, 3200}, {3000, 3500}, {5000, 5500}}));
  // An empty block clears.
  q_.set_dsack({Seq(10), Seq(10)});
  EXPECT_FALSE(q_.has_dsack());
  // clear() forgets it too.
  q_.set_dsack({Seq(3000), Seq(3200)});
  q_.clear();
  EXPECT_EQ(sacks(), Blocks{});
}

TEST_F(ReassemblyQueueTest, Wrap_SegmentsStraddlingZero_ReassembledInOrder) {
  const std::uint32_t base = 0xfffffc00u;  // rcv_nxt 1024 bytes below the wrap
  EXPECT_EQ(put(0xffffff00u, 0x200).new_bytes, 0x200u);  // [-256, 256): straddles 0
  EXPECT_EQ(put(0x00000300u, 0x100).new_bytes, 0x100u);
  EXPECT_EQ(q_.highest(), Seq(0x400));
  EXPECT_EQ(q_.lowest(), Seq(0xffffff00u));
  EXPECT_EQ(sacks(), (Blocks{{0x300, 0x400}, {0xffffff00u, 0x100}}));
  // Trimmed at both ends across the wrap: [0x80, 0x380) keeps [0x100, 0x300).
  EXPECT_EQ(put(0x80, 0x300, 1).new_bytes, 0x200u);
  // [-512, 0) keeps [-512, -256).
  EXPECT_EQ(put(0xfffffe00u, 0x200, 1).new_bytes, 0x100u);
  EXPECT_EQ(q_.segments(), 4u);
  EXPECT_EQ(q_.bytes(), 0x600u);
  EXPECT_EQ(sacks(), (Blocks{{0xfffffe00u, 0x400}}));
  EXPECT_EQ(q_.drain(Seq(base), out_), Seq(base));
  put(base, 0x200);
  EXPECT_EQ(q_.drain(Seq(base), out_), Seq(0x400));
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(delivered(), expected(base, tags({{0x200, 0}, {0x100, 1}, {0x200, 0}, {0x200, 1}, {0x100, 0}})));
}

TEST_F(ReassemblyQueueTest, Wrap_DrainTrimAcrossZero_TrimmedExactly) {
  put(0xfffffff0u, 0x20);  // [-16, 16)
  EXPECT_EQ(q_.drain(Seq(0x8), out_), Seq(0x10));
  EXPECT_EQ(delivered(), expected(0x8, tags({{8, 0}})));
}

TEST_F(ReassemblyQueueTest, BadMbuf_ChainedOrEmpty_FreedWithoutChange) {
  rte_mbuf* a = segment(1000, 100);
  rte_mbuf* b = segment(1100, 100);
  ASSERT_EQ(rte_pktmbuf_chain(a, b), 0);
  const auto r = q_.insert(Seq(1000), a, kCap);
  EXPECT_TRUE(r.refused);
  EXPECT_TRUE(q_.empty());
  const auto e = q_.insert(Seq(1000), segment(1000, 0), kCap);
  EXPECT_FALSE(e.refused);
  EXPECT_EQ(e.new_bytes, 0u);
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(q_.insert(Seq(1000), nullptr, kCap).new_bytes, 0u);
}

TEST_F(ReassemblyQueueTest, Held_QueueMoved_OwnershipTransferred) {
  put(1000, 100);
  put(3000, 100);
  ReassemblyQueue other(std::move(q_));
  EXPECT_TRUE(q_.empty());
  EXPECT_EQ(other.segments(), 2u);
  ReassemblyQueue third;
  third = std::move(other);
  EXPECT_EQ(third.bytes(), 200u);
  std::vector<SackBlock> b(4);
  EXPECT_EQ(third.sack_blocks(b), 2u);
  EXPECT_EQ(b[0], (SackBlock{Seq(3000), Seq(3100)}));
}

// The byte-exact model: which offsets above the base are held.
struct Model {
  explicit Model(std::uint32_t size) : held(size, false) {}
  std::uint32_t insert(std::uint32_t off, std::uint32_t len) {
    std::uint32_t fresh = 0;
    for (std::uint32_t i = off; i < off + len; ++i) {
      if (!held[i]) ++fresh;
      held[i] = true;
    }
    return fresh;
  }
  std::uint32_t bytes_from(std::uint32_t from) const {
    return static_cast<std::uint32_t>(std::count(held.begin() + from, held.end(), true));
  }
  // Maximal held runs at or above `from`.
  std::set<std::pair<std::uint32_t, std::uint32_t>> runs(std::uint32_t from) const {
    std::set<std::pair<std::uint32_t, std::uint32_t>> r;
    for (std::uint32_t i = from; i < held.size();) {
      if (!held[i]) { ++i; continue; }
      std::uint32_t j = i;
      while (j < held.size() && held[j]) ++j;
      r.emplace(i, j);
      i = j;
    }
    return r;
  }
  std::vector<bool> held;
};

// Segments cover [base, base + size) (a partition) plus overlapping extras, arrive shuffled, are
// cut to rcv_nxt as the TCP input path does, inserted, and drained after every arrival.
TEST_F(ReassemblyQueueTest, ManyHoles_SeededRandomArrivalOrder_MatchesByteModel) {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    // Half the seeds straddle the wrap.
    const std::uint32_t base = seed % 2 == 0 ? 0xffffffffu - (rng() % 20000) : rng();
    const std::uint32_t size = 2000 + rng() % 18000;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> segs;  // (offset, length)
    for (std::uint32_t off = 0; off < size;) {
      const std::uint32_t len = std::min<std::uint32_t>(1 + rng() % 1460, size - off);
      segs.emplace_back(off, len);
      off += len;
    }
    const std::size_t extras = rng() % (segs.size() + 1);
    for (std::size_t i = 0; i < extras; ++i) {
      const std::uint32_t off = rng() % size;
      segs.emplace_back(off, std::min<std::uint32_t>(1 + rng() % 2000, size - off));
    }
    std::shuffle(segs.begin(), segs.end(), rng);

    Model model(size);
    std::uint32_t rcv = 0;  // offset of rcv_nxt
    std::vector<std::uint8_t> got;
    for (auto [off, len] : segs) {
      if (off + len <= rcv) continue;  // wholly old: the input path drops it
      rte_mbuf* m = segment(base + off, static_cast<std::uint16_t>(len));
      if (off < rcv) {
        rte_pktmbuf_adj(m, static_cast<std::uint16_t>(rcv - off));
        len -= rcv - off;
        off = rcv;
      }
      const auto r = q_.insert(Seq(base + off), m, kCap);
      ASSERT_FALSE(r.refused);
      ASSERT_EQ(r.new_bytes, model.insert(off, len)) << "segment at " << off << " len " << len;
      const Seq next = q_.drain(Seq(base + rcv), out_);
      while (rcv < size && model.held[rcv]) ++rcv;
      ASSERT_EQ(next, Seq(base + rcv));
      ASSERT_EQ(q_.bytes(), model.bytes_from(rcv));
      // SACK blocks: exactly the held runs; the first holds the segment just received unless it
      // was delivered.
      std::vector<SackBlock> blocks(64);
      blocks.resize(q_.sack_blocks(blocks));
      std::set<std::pair<std::uint32_t, std::uint32_t>> reported;
      for (const SackBlock& b : blocks) reported.emplace(b.start.raw() - base, b.end.raw() - base);
      ASSERT_EQ(reported.size(), blocks.size()) << "a block reported twice";
      ASSERT_EQ(reported, model.runs(rcv));
      if (off >= rcv) {
        ASSERT_FALSE(blocks.empty());
        ASSERT_TRUE(seq_in_window(Seq(base + off), blocks[0].start, blocks[0].length()));
      }
      if (!q_.empty()) {
        ASSERT_EQ(q_.highest(), Seq(base + model.runs(rcv).rbegin()->second));
      }
      // Keep the output small: check and drop what was delivered.
      const std::vector<std::uint8_t> d = delivered();
      got.insert(got.end(), d.begin(), d.end());
      out_.clear();
    }
    ASSERT_EQ(rcv, size);
    ASSERT_TRUE(q_.empty());
    ASSERT_EQ(got, expected(base, std::vector<std::uint8_t>(size, 0)));
  }
}

// Whatever arrives (any sequence numbers, any cap, drains anywhere), nothing crashes and every
// mbuf is returned; with sane input the counters stay consistent.
TEST_F(ReassemblyQueueTest, Hostile_RandomSequenceNumbersAndCaps_NoCrashNoLeak) {
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    std::mt19937 rng(seed);
    const std::uint32_t base = rng();
    for (int i = 0; i < 400; ++i) {
      const std::uint32_t seq = rng() % 4 == 0 ? rng() : base + rng() % 100000;
      const auto len = static_cast<std::uint16_t>(rng() % 2000);
      const std::uint32_t before = q_.segments();
      const std::uint32_t cap = rng() % 64;
      const auto r = q_.insert(Seq(seq), segment(seq, len), cap);
      ASSERT_LE(q_.segments(), before + 1);
      if (q_.segments() > before) {
        ASSERT_LE(q_.segments(), cap);
      }
      if (r.refused) {
        ASSERT_EQ(q_.segments(), before);
      }
      if (rng() % 8 == 0) {
        q_.drain(Seq(rng() % 2 == 0 ? rng() : base + rng() % 100000), out_);
        out_.clear();
      }
      std::vector<SackBlock> b(4);
      ASSERT_LE(q_.sack_blocks(b), 4u);
    }
    q_.clear();
    ASSERT_EQ(rte_mempool_in_use_count(reassembly_pool()), baseline_);
  }
}

}  // namespace
}  // namespace synwave::tcp
