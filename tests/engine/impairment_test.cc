// LinkImpairment on real mbufs, on a virtual clock: reproducible loss near its rate, byte-identical
// duplicates, the documented reorder order, exact delays, bounded waiting, and every mbuf back.
#include "engine/impairment.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace synwave {
namespace {

using Dir = LinkImpairment::Direction;

class ImpairmentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("impair_test", 16383, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() {
    rte_mempool_free(pool_);
    pool_ = nullptr;
  }
  void SetUp() override { baseline_ = rte_mempool_in_use_count(pool_); }
  void TearDown() override {
    stage_.reset();
    for (rte_mbuf* m : delivered_) rte_pktmbuf_free(m);
    delivered_.clear();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), baseline_) << "mbufs not returned";
  }

  LinkImpairment& make(const ImpairmentConfig& config, Dir dir = Dir::kRx,
                       std::size_t capacity = LinkImpairment::kDefaultCapacity) {
    stage_ = std::make_unique<LinkImpairment>(config, dir, pool_, stats_, 0, capacity);
    return *stage_;
  }

  // A frame whose first 4 bytes carry `tag`, then a pattern, `len` bytes in all.
  static rte_mbuf* frame(std::uint32_t tag, std::uint16_t len = 64) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    auto* data = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, len));
    std::memcpy(data, &tag, sizeof tag);
    for (std::uint16_t i = sizeof tag; i < len; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + tag);
    return m;
  }
  static std::uint32_t tag_of(const rte_mbuf* m) {
    std::uint32_t tag;
    std::memcpy(&tag, rte_pktmbuf_read(m, 0, sizeof tag, &tag), sizeof tag);
    return tag;
  }

  // Passes `frames` at `now`; keeps what comes out (freed at TearDown) and returns their tags.
  std::vector<std::uint32_t> pass(std::vector<rte_mbuf*> frames, Instant now) {
    rte_mbuf* out[1024];
    const std::uint16_t n = stage_->pass(frames.data(), static_cast<std::uint16_t>(frames.size()),
                                         now, out, 1024);
    return keep(out, n);
  }
  std::vector<std::uint32_t> release(Instant now) {
    rte_mbuf* out[1024];
    return keep(out, stage_->release_due(now, out, 1024));
  }
  std::vector<std::uint32_t> keep(rte_mbuf** out, std::uint16_t n) {
    std::vector<std::uint32_t> tags;
    for (std::uint16_t i = 0; i < n; ++i) {
      tags.push_back(tag_of(out[i]));
      delivered_.push_back(out[i]);
    }
    return tags;
  }

  std::uint64_t stat(EngineStat s) const { return stats_.get(s); }

  static inline rte_mempool* pool_ = nullptr;
  unsigned baseline_ = 0;
  CounterSet<EngineStat> stats_;
  std::unique_ptr<LinkImpairment> stage_;
  std::vector<rte_mbuf*> delivered_;
};

// Passes 100000 frames through a 10% loss stage seeded with `seed`; returns the drop count.
std::uint64_t count_drops(rte_mempool* pool, std::uint64_t seed) {
  ImpairmentConfig config;
  config.loss_percent = 10;
  config.seed = seed;
  CounterSet<EngineStat> stats;
  LinkImpairment stage(config, Dir::kTx, pool, stats, 0);
  std::uint64_t delivered = 0;
  Instant now{};
  for (int burst = 0; burst < 100000 / 32; ++burst) {  // 3125 bursts of 32
    rte_mbuf* frames[32];
    const std::uint16_t n = 32;
    EXPECT_EQ(rte_pktmbuf_alloc_bulk(pool, frames, n), 0);
    const std::uint16_t out = stage.pass(frames, n, now, frames, 32);
    delivered += out;
    rte_pktmbuf_free_bulk(frames, out);
    now += 1us;
  }
  const std::uint64_t dropped = stats.get(EngineStat::kImpairmentTxDropped);
  EXPECT_EQ(dropped + delivered, 100000u);
  EXPECT_EQ(stats.get(EngineStat::kImpairmentRxDropped), 0u);  // counted in its own direction
  return dropped;
}

TEST_F(ImpairmentTest, Loss_FixedSeed_ReproducibleAndNearTheRate) {
  const std::uint64_t first = count_drops(pool_, 42);
  EXPECT_EQ(count_drops(pool_, 42), first);
  // Within one percentage point of the 10% rate (9000..11000), and within 3 sigma of the
  // binomial's 10000 (sigma = sqrt(100000 * 0.1 * 0.9) = 95): seed 42 gives 9835.
  EXPECT_NEAR(static_cast<double>(first), 10000.0, 1000.0);
  EXPECT_NEAR(static_cast<double>(first), 10000.0, 3 * 95.0);
  EXPECT_NE(count_drops(pool_, 43), first);                 // another seed, other decisions
}

TEST_F(ImpairmentTest, NoRates_FramesPassThroughInOrderAtOnce) {
  ImpairmentConfig config;
  config.seed = 7;
  make(config);
  EXPECT_EQ(pass({frame(1), frame(2), frame(3)}, Instant{}), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(stage_->waiting(), 0u);
}

TEST_F(ImpairmentTest, Duplicate_CopiesAreByteIdenticalIncludingChains) {
  ImpairmentConfig config;
  config.duplicate_percent = 100;
  make(config);
  // A two-segment frame: 64 bytes chained to 1000 more.
  rte_mbuf* head = frame(5, 64);
  rte_mbuf* tail = frame(6, 1000);
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  std::vector<std::uint8_t> original(rte_pktmbuf_pkt_len(head));
  std::memcpy(original.data(),
              rte_pktmbuf_read(head, 0, static_cast<std::uint32_t>(original.size()), original.data()),
              original.size());

  EXPECT_EQ(pass({head, frame(9)}, Instant{}), (std::vector<std::uint32_t>{5, 5, 9, 9}));
  EXPECT_EQ(stat(EngineStat::kImpairmentRxDuplicated), 2u);
  ASSERT_EQ(delivered_.size(), 4u);
  EXPECT_EQ(delivered_[0], head);
  EXPECT_NE(delivered_[1], head);
  for (rte_mbuf* m : {delivered_[0], delivered_[1]}) {
    ASSERT_EQ(rte_pktmbuf_pkt_len(m), original.size());
    std::vector<std::uint8_t> bytes(original.size());
    std::memcpy(bytes.data(),
                rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(bytes.size()), bytes.data()),
                bytes.size());
    EXPECT_EQ(bytes, original);
  }
  EXPECT_EQ(rte_pktmbuf_pkt_len(delivered_[3]), rte_pktmbuf_pkt_len(delivered_[2]));
  EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(delivered_[2], void*), rte_pktmbuf_mtod(delivered_[3], void*),
                        rte_pktmbuf_data_len(delivered_[2])),
            0);
}

// The order the documented rule gives for `held` decisions: each frame not held leaves, then the
// held ones before it in arrival order; held ones at the end wait.
std::vector<std::uint32_t> documented_order(const std::vector<bool>& held) {
  std::vector<std::uint32_t> order, waiting;
  for (std::uint32_t i = 0; i < held.size(); ++i) {
    if (held[i]) {
      waiting.push_back(i);
      continue;
    }
    order.push_back(i);
    order.insert(order.end(), waiting.begin(), waiting.end());
    waiting.clear();
  }
  return order;
}

TEST_F(ImpairmentTest, Reorder_ScriptedSequence_GivesTheDocumentedOrder) {
  ImpairmentConfig config;
  config.reorder_percent = 40;
  config.seed = 1234;
  make(config);
  // The same stream the stage draws from (stream 0, reorder only: one draw per frame).
  SplitMix64 rng(config.seed ^ SplitMix64(0).next());
  const std::uint64_t threshold = SplitMix64::threshold(config.reorder_percent);
  std::vector<bool> held;
  std::vector<rte_mbuf*> frames;
  for (std::uint32_t i = 0; i < 40; ++i) {
    held.push_back(rng.chance(threshold));
    frames.push_back(frame(i));
  }
  // Whatever the seed, the script must have a held frame followed by one that is not.
  bool reorders = false;
  for (std::size_t i = 0; i + 1 < held.size(); ++i) reorders |= held[i] && !held[i + 1];
  ASSERT_TRUE(reorders);
  std::size_t trailing = 0;
  while (held[held.size() - 1 - trailing]) ++trailing;

  const Instant t0{};
  std::vector<std::uint32_t> got = pass(frames, t0);
  EXPECT_EQ(got, documented_order(held));
  EXPECT_EQ(stat(EngineStat::kImpairmentRxReordered),
            static_cast<std::uint64_t>(std::count(held.begin(), held.end(), true)));
  // The trailing held frames wait for a follower for max(delay_us, 1 ms), then leave in order.
  EXPECT_EQ(stage_->waiting(), trailing);
  EXPECT_TRUE(release(t0 + 1ms - 1ns).empty());
  std::vector<std::uint32_t> late = release(t0 + 1ms);
  ASSERT_EQ(late.size(), trailing);
  for (std::size_t i = 0; i < trailing; ++i) EXPECT_EQ(late[i], 40 - trailing + i);
}

TEST_F(ImpairmentTest, Reorder_HeldFrame_LeavesAfterTheNextFrameOfALaterBurst) {
  ImpairmentConfig config;
  config.reorder_percent = 100;
  make(config);
  const Instant t0 = instant_from_ns(1'000'000'000);
  EXPECT_TRUE(pass({frame(1)}, t0).empty());  // held
  // 100% means the next frame is held too: nothing leaves until the 1 ms limit, then in order.
  EXPECT_TRUE(pass({frame(2)}, t0 + 500us).empty());
  EXPECT_EQ(release(t0 + 1ms), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(release(t0 + 1500us), (std::vector<std::uint32_t>{2}));
  EXPECT_EQ(stat(EngineStat::kImpairmentRxReordered), 2u);
}

TEST_F(ImpairmentTest, Delay_ReleasedExactlyAtNowPlusDelay) {
  ImpairmentConfig config;
  config.delay_us = 250;
  make(config, Dir::kTx);
  const Instant t0 = instant_from_ns(5'000'000);
  EXPECT_TRUE(pass({frame(1), frame(2)}, t0).empty());
  EXPECT_TRUE(pass({frame(3)}, t0 + 100us).empty());
  EXPECT_TRUE(release(t0 + 250us - 1ns).empty());
  EXPECT_EQ(release(t0 + 250us), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(release(t0 + 350us - 1ns).empty());
  EXPECT_EQ(release(t0 + 350us), (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(stat(EngineStat::kImpairmentTxDelayed), 3u);
}

TEST_F(ImpairmentTest, DelayAndReorder_HeldFrameLeavesWithItsFollower) {
  ImpairmentConfig config;
  config.delay_us = 5000;
  config.reorder_percent = 50;
  config.seed = 3;
  make(config);
  SplitMix64 rng(config.seed ^ SplitMix64(0).next());
  const std::uint64_t threshold = SplitMix64::threshold(50);
  // Find the first frame held and followed by one that is not, feeding frames 1 ms apart.
  const Instant t0{};
  std::vector<bool> held;
  for (int i = 0; i < 64; ++i) held.push_back(rng.chance(threshold));
  std::vector<std::uint32_t> got;
  for (std::uint32_t i = 0; i < held.size(); ++i) {
    const Instant now = t0 + std::chrono::milliseconds(i);
    for (std::uint32_t tag : pass({frame(i)}, now)) got.push_back(tag);
  }
  // Frames 1 ms apart and a hold limit of 5 ms: a held frame always sees its follower in time
  // (asserted below), so the order is the documented one; the trailing held frames leave last.
  for (std::uint32_t tag : release(t0 + 1s)) got.push_back(tag);
  std::vector<std::uint32_t> want = documented_order(held);
  for (std::uint32_t i = static_cast<std::uint32_t>(want.size()); i < held.size(); ++i)
    want.push_back(i);  // trailing held ones, after the hold limit
  // A run of held frames longer than the 5 ms limit would break the simple rule; this seed has none.
  std::size_t run = 0, longest = 0;
  for (bool h : held) longest = std::max(longest, run = h ? run + 1 : 0);
  ASSERT_LT(longest, 5u);
  EXPECT_EQ(got, want);
}

TEST_F(ImpairmentTest, Overflow_CountedAndNeverBlocks) {
  ImpairmentConfig config;
  config.delay_us = 1000;
  make(config, Dir::kRx, 8);
  std::vector<rte_mbuf*> frames;
  for (std::uint32_t i = 0; i < 12; ++i) frames.push_back(frame(i));
  EXPECT_TRUE(pass(frames, Instant{}).empty());
  EXPECT_EQ(stage_->waiting(), 8u);
  EXPECT_EQ(stat(EngineStat::kImpairmentRxOverflow), 4u);
  EXPECT_EQ(release(Instant{} + 1ms), (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(ImpairmentTest, OutCapacity_RestLeavesOnTheNextCall) {
  ImpairmentConfig config;
  config.delay_us = 10;
  make(config);
  std::vector<rte_mbuf*> frames;
  for (std::uint32_t i = 0; i < 5; ++i) frames.push_back(frame(i));
  pass(frames, Instant{});
  rte_mbuf* out[2];
  EXPECT_EQ(stage_->release_due(Instant{} + 10us, out, 2), 2u);
  keep(out, 2);
  EXPECT_EQ(release(Instant{} + 10us), (std::vector<std::uint32_t>{2, 3, 4}));
}

TEST_F(ImpairmentTest, ClearAndDestructor_FreeWhatIsHeld) {
  ImpairmentConfig config;
  config.delay_us = 1000;
  config.reorder_percent = 30;
  config.duplicate_percent = 30;
  make(config);
  std::vector<rte_mbuf*> frames;
  for (std::uint32_t i = 0; i < 100; ++i) frames.push_back(frame(i));
  pass(frames, Instant{});
  EXPECT_GT(stage_->waiting(), 100u);
  stage_->clear();
  EXPECT_EQ(stage_->waiting(), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), baseline_);
  // The destructor frees as well (checked by TearDown).
  frames.clear();
  for (std::uint32_t i = 0; i < 50; ++i) frames.push_back(frame(i));
  pass(frames, Instant{});
}

TEST_F(ImpairmentTest, Everything_AllMbufsComeBack) {
  ImpairmentConfig config;
  config.loss_percent = 20;
  config.duplicate_percent = 20;
  config.reorder_percent = 20;
  config.delay_us = 300;
  config.seed = 99;
  make(config, Dir::kTx, 64);
  Instant now{};
  std::uint64_t out_total = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<rte_mbuf*> frames;
    for (int k = 0; k < 8; ++k) frames.push_back(frame(static_cast<std::uint32_t>(i * 8 + k)));
    out_total += pass(frames, now).size();
    for (rte_mbuf* m : delivered_) rte_pktmbuf_free(m);
    delivered_.clear();
    now += 20us;
  }
  out_total += release(now + 1s).size();
  const std::uint64_t in = 16000 + stat(EngineStat::kImpairmentTxDuplicated);
  EXPECT_EQ(out_total + stat(EngineStat::kImpairmentTxDropped) + stat(EngineStat::kImpairmentTxOverflow),
            in);
  EXPECT_GT(stat(EngineStat::kImpairmentTxOverflow), 0u);  // ~120 frames wait 300 us at 8 per 20 us: more than 64
  EXPECT_GT(stat(EngineStat::kImpairmentTxReordered), 0u);
}

}  // namespace
}  // namespace synwave
