#include "engine_shares.h"

#include <gtest/gtest.h>

namespace synwave::loadgen {
namespace {

TEST(EngineShares, OneEngineTakesTheWholeLoad) {
  const auto shares = split_load(7, 500, 1000.0, 1);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0].concurrency, 7u);
  EXPECT_EQ(shares[0].count, 500u);
  EXPECT_DOUBLE_EQ(shares[0].rate, 1000.0);
}

TEST(EngineShares, RemaindersGoToTheFirstEngines) {
  const auto shares = split_load(10, 101, 300.0, 4);
  ASSERT_EQ(shares.size(), 4u);
  const unsigned slots[4] = {3, 3, 2, 2};
  const std::uint64_t counts[4] = {26, 25, 25, 25};
  unsigned slot_sum = 0;
  std::uint64_t count_sum = 0;
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(shares[e].concurrency, slots[e]) << e;
    EXPECT_EQ(shares[e].count, counts[e]) << e;
    EXPECT_DOUBLE_EQ(shares[e].rate, 75.0) << e;
    slot_sum += shares[e].concurrency;
    count_sum += shares[e].count;
  }
  EXPECT_EQ(slot_sum, 10u);
  EXPECT_EQ(count_sum, 101u);
}

TEST(EngineShares, EnginesWithoutASlotRunNoGenerator) {
  const auto shares = split_load(2, 0, 100.0, 4);
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_EQ(shares[0].concurrency, 1u);
  EXPECT_EQ(shares[1].concurrency, 1u);
  EXPECT_EQ(shares[0].count, 0u);  // unbounded stays unbounded
  EXPECT_DOUBLE_EQ(shares[0].rate, 50.0);  // the rate goes to the engines that run
}

TEST(EngineShares, ACountSmallerThanTheEnginesLeavesNoEngineWithZero) {
  // A share of 0 would mean "no count bound" to a generator: such an engine runs none.
  const auto shares = split_load(8, 3, 0.0, 4);
  ASSERT_EQ(shares.size(), 3u);
  for (const EngineShare& s : shares) EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(shares[0].concurrency + shares[1].concurrency + shares[2].concurrency, 8u);
  EXPECT_DOUBLE_EQ(shares[0].rate, 0.0);
}

TEST(EngineShares, ShareOf) {
  EXPECT_EQ(share_of(5, 2, 0), 3u);
  EXPECT_EQ(share_of(5, 2, 1), 2u);
  EXPECT_EQ(share_of(4, 2, 1), 2u);
  EXPECT_EQ(share_of(1, 3, 2), 0u);
}

}  // namespace
}  // namespace synwave::loadgen
