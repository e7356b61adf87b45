#include "flood/flood_pacer.h"

#include <gtest/gtest.h>

namespace synwave::flood {
namespace {

using std::chrono::milliseconds;

constexpr Instant kStart{Duration(1'000'000'000)};

TEST(FloodPacer, KeepsTheScheduleInSmallSteps) {
  FloodPacer pacer(100'000, std::chrono::seconds(1));
  pacer.start(kStart);
  std::uint64_t sent = 0;
  for (int ms = 1; ms <= 1000; ++ms) {
    const std::uint64_t n = pacer.allowance(kStart + milliseconds(ms), ~0ull);
    pacer.spent(n);
    sent += n;
  }
  EXPECT_EQ(sent, 100'000u);
}

TEST(FloodPacer, CatchesUpAfterAStallShorterThanTheLimit) {
  // A thread that lost its core for 300 ms may send what it owes at once: the average holds
  // (the 10 ms bucket it replaces lost 290 ms of packets here).
  FloodPacer pacer(1'000'000, std::chrono::seconds(1));
  pacer.start(kStart);
  EXPECT_EQ(pacer.allowance(kStart + milliseconds(300), ~0ull), 300'000u);
  EXPECT_EQ(pacer.forgiven(), 0u);
}

TEST(FloodPacer, ForgivesWhatALongerStallOwesBeyondTheLimit) {
  FloodPacer pacer(1'000, milliseconds(100));
  pacer.start(kStart);
  EXPECT_EQ(pacer.allowance(kStart + std::chrono::seconds(2), ~0ull), 100u);
  EXPECT_EQ(pacer.forgiven(), 1'900u);
  pacer.spent(100);
  // From there the schedule goes on at the rate.
  EXPECT_EQ(pacer.allowance(kStart + std::chrono::seconds(2) + milliseconds(10), ~0ull), 10u);
}

TEST(FloodPacer, HonoursTheCallersLimitAndWhatWasSpent) {
  FloodPacer pacer(10'000, std::chrono::seconds(1));
  pacer.start(kStart);
  EXPECT_EQ(pacer.allowance(kStart, 32), 0u);
  EXPECT_EQ(pacer.allowance(kStart + milliseconds(10), 32), 32u);
  pacer.spent(32);
  EXPECT_EQ(pacer.allowance(kStart + milliseconds(10), 1000), 68u);
  pacer.spent(68);
  EXPECT_EQ(pacer.allowance(kStart + milliseconds(10), 1000), 0u);
}

}  // namespace
}  // namespace synwave::flood
