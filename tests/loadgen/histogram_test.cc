#include "histogram.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace synwave::loadgen {
namespace {

TEST(Histogram, MergeEqualsRecordingEverySampleInOne) {
  Histogram a, b, all;
  for (std::uint64_t v = 1; v <= 100'000; v += 7) {
    (v % 3 == 0 ? a : b).record(v * 13);
    all.record(v * 13);
  }
  Histogram merged;
  merged.merge(a);
  merged.merge(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) EXPECT_EQ(merged.percentile(p), all.percentile(p)) << p;
}

TEST(Histogram, MergingAnEmptyOneChangesNothing) {
  Histogram h, empty;
  h.record(500);
  h.record(1500);
  h.merge(empty);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), 500u);
  EXPECT_EQ(h.max(), 1500u);

  Histogram into;  // empty into empty: still reports zeros, not the "no minimum yet" sentinel
  into.merge(empty);
  EXPECT_EQ(into.count(), 0u);
  EXPECT_EQ(into.min(), 0u);
  EXPECT_EQ(into.percentile(50), 0u);
}

TEST(Histogram, MergedPercentilesSpanBothEngines) {
  // One engine fast, one slow: the merged median sits between, the tail is the slow one's.
  Histogram fast, slow;
  for (int i = 0; i < 1000; ++i) fast.record(10'000);
  for (int i = 0; i < 1000; ++i) slow.record(1'000'000);
  Histogram merged;
  merged.merge(fast);
  merged.merge(slow);
  EXPECT_EQ(merged.count(), 2000u);
  EXPECT_LE(merged.percentile(50), 10'100u);
  EXPECT_GE(merged.percentile(99), 990'000u);
  EXPECT_EQ(merged.min(), 10'000u);
  EXPECT_EQ(merged.max(), 1'000'000u);
}

}  // namespace
}  // namespace synwave::loadgen
