// Congestion control (lib/tcp/congestion.h): slow start, Reno and CUBIC congestion avoidance,
// reactions to loss, timeout, recovery end and idle, all in virtual time with exact byte counts.
#include "tcp/congestion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace synwave::tcp {
namespace {

static_assert(sizeof(CongestionControl) < 96);
static_assert(std::is_trivially_copyable_v<CongestionControl>);

constexpr std::uint32_t kMss = 1448;
constexpr Instant kT0 = instant_from_ns(1'000'000'000);

CongestionControl make(CongestionAlgorithm a, std::uint32_t mss = kMss) {
  CongestionControl cc;
  cc.init(a, mss, kT0);
  return cc;
}

// `n` ACKs of `bytes` each at `now`, the sender cwnd-limited.
void ack_n(CongestionControl& cc, int n, std::uint32_t bytes, std::uint32_t mss, Instant now,
           Duration srtt = 100ms) {
  for (int i = 0; i < n; ++i) cc.on_ack(bytes, mss, now, srtt, true);
}

// One round trip of a cwnd-limited sender: a whole window acknowledged one mss per ACK, the ACKs
// spread evenly over `rtt`. Returns the instant of the last ACK.
Instant ack_one_rtt(CongestionControl& cc, std::uint32_t mss, Instant now, Duration rtt) {
  const std::uint32_t segments = std::max(cc.cwnd / mss, 1u);
  const Duration step = rtt / segments;
  for (std::uint32_t i = 0; i < segments; ++i) {
    now += step;
    cc.on_ack(mss, mss, now, rtt, true);
  }
  return now;
}

// A CUBIC connection that has just finished fast recovery from a loss at `w_max_segments`:
// W_max = w_max_segments * mss, cwnd = ssthresh = 717/1024 of it, no epoch yet.
CongestionControl cubic_after_loss(std::uint32_t mss, std::uint32_t w_max_segments) {
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = w_max_segments * mss;
  cc.on_loss(mss, kT0);
  cc.on_recovery_end(mss);
  return cc;
}

// --- names --------------------------------------------------------------------------------------

TEST(Congestion, Names_LinuxNames_RoundTrip) {
  EXPECT_EQ(congestion_algorithm_from_name("reno"), CongestionAlgorithm::kReno);
  EXPECT_EQ(congestion_algorithm_from_name("cubic"), CongestionAlgorithm::kCubic);
  EXPECT_EQ(congestion_algorithm_from_name("CUBIC"), std::nullopt);
  EXPECT_EQ(congestion_algorithm_from_name("bbr"), std::nullopt);
  EXPECT_EQ(congestion_algorithm_from_name(""), std::nullopt);
  EXPECT_STREQ(congestion_algorithm_name(CongestionAlgorithm::kReno), "reno");
  EXPECT_STREQ(congestion_algorithm_name(CongestionAlgorithm::kCubic), "cubic");
}

// --- start and slow start -----------------------------------------------------------------------

TEST(Congestion, Init_Mss1448_InitialWindowOfTenSegments) {
  for (auto a : {CongestionAlgorithm::kReno, CongestionAlgorithm::kCubic}) {
    const CongestionControl cc = make(a);
    EXPECT_EQ(cc.algorithm, a);
    EXPECT_EQ(cc.cwnd, 14480u);
    EXPECT_EQ(cc.ssthresh, 0x7fffffffu);
    EXPECT_EQ(cc.w_max, 0u);
    EXPECT_FALSE(cc.epoch_started);
    EXPECT_TRUE(cc.in_slow_start());
  }
  EXPECT_EQ(make(CongestionAlgorithm::kCubic, 1460).cwnd, 14600u);
}

TEST(Congestion, Init_AfterUse_ForgetsEverything) {
  CongestionControl cc = cubic_after_loss(kMss, 50);
  cc.init(CongestionAlgorithm::kReno, 1000, kT0);
  EXPECT_EQ(cc.algorithm, CongestionAlgorithm::kReno);
  EXPECT_EQ(cc.cwnd, 10000u);
  EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);
  EXPECT_EQ(cc.w_max, 0u);
  EXPECT_EQ(cc.bytes_acked, 0u);
}

TEST(Congestion, SlowStart_OneAckPerSegment_DoublesEveryRtt) {
  for (auto a : {CongestionAlgorithm::kReno, CongestionAlgorithm::kCubic}) {
    CongestionControl cc = make(a);
    ack_n(cc, 10, kMss, kMss, kT0);
    EXPECT_EQ(cc.cwnd, 28960u);
    ack_n(cc, 20, kMss, kMss, kT0 + 100ms);
    EXPECT_EQ(cc.cwnd, 57920u);
    ack_n(cc, 40, kMss, kMss, kT0 + 200ms);
    EXPECT_EQ(cc.cwnd, 115840u);
    EXPECT_EQ(cc.bytes_acked, 0u);
    EXPECT_FALSE(cc.epoch_started);
  }
}

TEST(Congestion, SlowStart_DelayedAcksOfTwoSegments_StillDoubleEveryRtt) {
  CongestionControl cc = make(CongestionAlgorithm::kCubic);
  ack_n(cc, 5, 2 * kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 28960u);
  ack_n(cc, 10, 2 * kMss, kMss, kT0 + 100ms);
  EXPECT_EQ(cc.cwnd, 57920u);
}

TEST(Congestion, SlowStart_StretchAck_GrowsByAllItAcknowledges) {
  // Linux tcp_slow_start has no RFC 3465 limit: an ACK of ten segments adds ten.
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.on_ack(10 * kMss, kMss, kT0, 100ms, true);
  EXPECT_EQ(cc.cwnd, 14480u + 10 * kMss);
  cc.on_ack(3 * kMss + 7, kMss, kT0, 100ms, true);
  EXPECT_EQ(cc.cwnd, 14480u + 13 * kMss + 7);
  cc.on_ack(100, kMss, kT0, 100ms, true);  // a partial segment counts by its bytes
  EXPECT_EQ(cc.cwnd, 14480u + 13 * kMss + 107);
}

TEST(Congestion, SlowStart_NotCwndLimited_DoesNotGrow) {
  for (auto a : {CongestionAlgorithm::kReno, CongestionAlgorithm::kCubic}) {
    CongestionControl cc = make(a);
    for (int i = 0; i < 50; ++i) cc.on_ack(kMss, kMss, kT0, 100ms, false);
    EXPECT_EQ(cc.cwnd, 14480u);
  }
}

TEST(Congestion, SlowStart_ReachesSsthresh_StopsThereAndLeftoverCountsForAvoidance) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.ssthresh = 15000;
  cc.on_ack(2 * kMss, kMss, kT0, 100ms, true);
  EXPECT_EQ(cc.cwnd, 15000u);  // 14480 + 520, not + 2896
  EXPECT_FALSE(cc.in_slow_start());
  EXPECT_EQ(cc.bytes_acked, 2 * kMss - 520);
}

// --- Reno congestion avoidance ------------------------------------------------------------------

TEST(Congestion, RenoAvoidance_OneWindowAcked_AddsExactlyOneMss) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = cc.ssthresh = 20 * kMss;
  ack_n(cc, 19, kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 20 * kMss);
  EXPECT_EQ(cc.bytes_acked, 19 * kMss);
  ack_n(cc, 1, kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 21 * kMss);
  EXPECT_EQ(cc.bytes_acked, 0u);
  // The next mss needs a whole 21-segment window, in whatever ACK sizes.
  ack_n(cc, 10, 2 * kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 21 * kMss);
  ack_n(cc, 1, kMss - 1, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 21 * kMss);
  ack_n(cc, 1, 1, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 22 * kMss);
  EXPECT_EQ(cc.bytes_acked, 0u);
}

TEST(Congestion, RenoAvoidance_NotCwndLimited_CountsNothing) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = cc.ssthresh = 20 * kMss;
  for (int i = 0; i < 100; ++i) cc.on_ack(kMss, kMss, kT0, 100ms, false);
  EXPECT_EQ(cc.cwnd, 20 * kMss);
  EXPECT_EQ(cc.bytes_acked, 0u);
}

TEST(Congestion, RenoAvoidance_ManyRtts_OneMssPerRtt) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = cc.ssthresh = 20 * kMss;
  Instant now = kT0;
  for (int r = 0; r < 30; ++r) now = ack_one_rtt(cc, kMss, now, 50ms);
  EXPECT_EQ(cc.cwnd, 50 * kMss);
}

// --- loss ---------------------------------------------------------------------------------------

TEST(Congestion, RenoLoss_Window_HalvesSsthreshKeepsCwnd) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 28960;
  cc.bytes_acked = 500;
  cc.on_loss(kMss, kT0);
  EXPECT_EQ(cc.ssthresh, 14480u);
  EXPECT_EQ(cc.cwnd, 28960u);
  EXPECT_EQ(cc.bytes_acked, 0u);
}

TEST(Congestion, RenoLoss_SmallWindow_SsthreshFloorTwoMss) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 3 * kMss;
  cc.on_loss(kMss, kT0);
  EXPECT_EQ(cc.ssthresh, 2 * kMss);
}

TEST(Congestion, CubicLoss_Window_SsthreshIsBeta717Of1024) {
  CongestionControl cc = make(CongestionAlgorithm::kCubic);
  cc.cwnd = 28960;
  cc.on_loss(kMss, kT0);
  EXPECT_EQ(cc.ssthresh, 20277u);  // 28960 * 717 / 1024 = 20277.19
  EXPECT_EQ(cc.w_max, 28960u);
  EXPECT_EQ(cc.cwnd, 28960u);
  EXPECT_FALSE(cc.epoch_started);
}

TEST(Congestion, CubicLoss_SmallWindow_SsthreshFloorTwoMss) {
  CongestionControl cc = make(CongestionAlgorithm::kCubic);
  cc.cwnd = 2 * kMss;
  cc.on_loss(kMss, kT0);
  EXPECT_EQ(cc.ssthresh, 2 * kMss);
}

TEST(Congestion, CubicLoss_BelowPreviousMax_FastConvergenceLowersWmax) {
  constexpr std::uint32_t mss = 1024;
  CongestionControl cc = cubic_after_loss(mss, 100);
  EXPECT_EQ(cc.w_max, 102400u);
  cc.cwnd = 80 * mss;  // the next loss comes before regaining the old maximum
  cc.on_loss(mss, kT0);
  EXPECT_EQ(cc.w_max, 69640u);     // 81920 * (1 + 0.7) / 2, not 81920
  EXPECT_EQ(cc.ssthresh, 57360u);  // 81920 * 0.7
  cc.cwnd = 75 * mss;              // above the lowered maximum: no fast convergence
  cc.on_loss(mss, kT0);
  EXPECT_EQ(cc.w_max, 76800u);
}

// --- recovery end -------------------------------------------------------------------------------

TEST(Congestion, RecoveryEnd_AfterLoss_CwndIsSsthresh) {
  for (auto a : {CongestionAlgorithm::kReno, CongestionAlgorithm::kCubic}) {
    CongestionControl cc = make(a);
    cc.cwnd = 40 * kMss;
    cc.on_loss(kMss, kT0);
    cc.cwnd = 5 * kMss;  // whatever recovery left it at
    cc.on_recovery_end(kMss);
    EXPECT_EQ(cc.cwnd, cc.ssthresh);
    EXPECT_EQ(cc.cwnd, a == CongestionAlgorithm::kReno ? 20 * kMss : 40 * kMss * 717 / 1024);
    EXPECT_FALSE(cc.in_slow_start());
  }
}

TEST(Congestion, RecoveryEnd_SsthreshBelowTwoMss_CwndFloorTwoMss) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.ssthresh = 1000;
  cc.on_recovery_end(kMss);
  EXPECT_EQ(cc.cwnd, 2 * kMss);
}

TEST(Congestion, RecoveryEnd_NoLossEver_CwndUnchanged) {
  CongestionControl cc = make(CongestionAlgorithm::kCubic);
  cc.on_recovery_end(kMss);
  EXPECT_EQ(cc.cwnd, 14480u);
}

// --- timeout ------------------------------------------------------------------------------------

TEST(Congestion, Timeout_Established_CwndOneMssSsthreshReduced) {
  CongestionControl reno = make(CongestionAlgorithm::kReno);
  reno.cwnd = 40 * kMss;
  reno.on_timeout(kMss, kT0);
  EXPECT_EQ(reno.cwnd, kMss);
  EXPECT_EQ(reno.ssthresh, 20 * kMss);

  CongestionControl cubic = make(CongestionAlgorithm::kCubic);
  cubic.cwnd = 40 * kMss;
  cubic.on_timeout(kMss, kT0);
  EXPECT_EQ(cubic.cwnd, kMss);
  EXPECT_EQ(cubic.ssthresh, 40 * kMss * 717 / 1024);
  EXPECT_EQ(cubic.w_max, 0u);  // history cleared, as Linux's bictcp_reset on TCP_CA_Loss
}

TEST(Congestion, Timeout_BackedOffAgainBeforeAnyAck_SsthreshKept) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 40 * kMss;
  cc.on_timeout(kMss, kT0);
  cc.on_timeout(kMss, kT0 + 1s);
  cc.on_timeout(kMss, kT0 + 3s);
  EXPECT_EQ(cc.ssthresh, 20 * kMss);
  EXPECT_EQ(cc.cwnd, kMss);
  // New data acknowledged, then another timeout: a new loss, ssthresh from the current window.
  ack_n(cc, 1, kMss, kMss, kT0 + 4s);
  EXPECT_EQ(cc.cwnd, 2 * kMss);
  cc.on_timeout(kMss, kT0 + 5s);
  EXPECT_EQ(cc.ssthresh, 2 * kMss);
  EXPECT_EQ(cc.cwnd, kMss);
}

TEST(Congestion, Timeout_SlowStartBack_DoublesToSsthreshThenAvoidance) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 40 * kMss;
  cc.on_timeout(kMss, kT0);
  ack_n(cc, 1, kMss, kMss, kT0);
  ack_n(cc, 2, kMss, kMss, kT0);
  ack_n(cc, 4, kMss, kMss, kT0);
  ack_n(cc, 8, kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 16 * kMss);
  ack_n(cc, 16, kMss, kMss, kT0);
  EXPECT_EQ(cc.cwnd, 20 * kMss);  // stopped at ssthresh; 12 leftover segments counted
  EXPECT_EQ(cc.bytes_acked, 12 * kMss);
}

TEST(Congestion, CubicTimeout_FirstAvoidance_StartsWithZeroKFromCurrentWindow) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 100 * mss;
  cc.on_timeout(mss, kT0);
  EXPECT_EQ(cc.ssthresh, 70019u);
  Instant now = kT0;
  while (cc.in_slow_start()) {
    now += 1ms;
    cc.on_ack(mss, mss, now, 100ms, true);
  }
  // The ACK that took cwnd from 70000 to ssthresh had 981 bytes left over: they started the
  // avoidance epoch, with no growth yet.
  EXPECT_EQ(cc.cwnd, 70019u);
  EXPECT_TRUE(cc.epoch_started);
  EXPECT_EQ(cc.epoch_start, now);
  EXPECT_EQ(cc.k_seconds, 0.0);
  EXPECT_EQ(cc.origin, 70019u);  // RFC 9438 4.8: W_max = cwnd at the start of avoidance
}

// --- CUBIC congestion avoidance -----------------------------------------------------------------

TEST(Congestion, CubicAvoidance_FirstAckAfterRecovery_KFromDistanceToWmax) {
  constexpr std::uint32_t mss = 1024;
  CongestionControl cc = cubic_after_loss(mss, 100);
  EXPECT_EQ(cc.w_max, 102400u);
  EXPECT_EQ(cc.ssthresh, 71700u);  // 102400 * 717 / 1024 exactly
  EXPECT_EQ(cc.cwnd, 71700u);
  const Instant now = kT0 + 10ms;
  cc.on_ack(mss, mss, now, 100ms, true);
  EXPECT_TRUE(cc.epoch_started);
  EXPECT_EQ(cc.epoch_start, now);
  EXPECT_EQ(cc.origin, 102400u);
  // K = cbrt(W_max * (1 - beta) / C) in segments: cbrt(29.98 / 0.4) = 4.2162 s.
  EXPECT_DOUBLE_EQ(cc.k_seconds, std::cbrt((102400.0 - 71700.0) / 1024.0 / 0.4));
  EXPECT_NEAR(cc.k_seconds, 4.2162, 1e-4);
  EXPECT_DOUBLE_EQ(cc.cubic_window(Duration::zero(), mss), 71700.0);
  EXPECT_NEAR(cc.cubic_window(4216200us, mss), 102400.0, 1.0);
}

TEST(Congestion, CubicAvoidance_AfterLoss_FollowsCubicCurveConcaveThenConvex) {
  constexpr std::uint32_t mss = 1024;
  constexpr Duration rtt = 100ms;
  CongestionControl cc = cubic_after_loss(mss, 100);
  Instant now = ack_one_rtt(cc, mss, kT0, rtt);  // starts the epoch
  const Instant epoch = cc.epoch_start;
  const double k = cc.k_seconds;

  // Sample cwnd once a second for 8 s (K ~ 4.2 s); ACK clocking at one window per RTT.
  std::vector<std::uint32_t> per_second{cc.cwnd};
  Instant next_sample = epoch + 1s;
  bool checked_k = false;
  while (now < epoch + 8s) {
    now = ack_one_rtt(cc, mss, now, rtt);
    const double t = std::chrono::duration<double>(now - epoch).count();
    // Chasing W_cubic(t + RTT), the window stays between W_cubic(t) and W_cubic(t + RTT), give or
    // take one mss.
    EXPECT_GE(cc.cwnd, cc.cubic_window(now - epoch, mss) - mss) << "t=" << t;
    EXPECT_LE(cc.cwnd, cc.cubic_window(now - epoch + rtt, mss) + mss) << "t=" << t;
    if (!checked_k && t >= k) {
      EXPECT_NEAR(cc.cwnd, 102400.0, mss) << "at t=K cwnd is back at W_max";
      checked_k = true;
    }
    if (now >= next_sample) {
      per_second.push_back(cc.cwnd);
      next_sample += 1s;
    }
  }
  EXPECT_TRUE(checked_k);
  ASSERT_EQ(per_second.size(), 9u);
  std::vector<std::int64_t> growth;
  for (std::size_t i = 1; i < per_second.size(); ++i) {
    growth.push_back(std::int64_t{per_second[i]} - per_second[i - 1]);
  }
  // Concave: growth slows down while approaching W_max ...
  EXPECT_GT(growth[0], growth[1]);
  EXPECT_GT(growth[1], growth[2]);
  EXPECT_GT(growth[2], growth[3]);
  // ... plateau around K ...
  EXPECT_LT(growth[3], 2 * std::int64_t{mss});
  EXPECT_LT(growth[4], 2 * std::int64_t{mss});
  // ... then convex: probing ever faster beyond it.
  EXPECT_LT(growth[5], growth[6]);
  EXPECT_LT(growth[6], growth[7]);
  EXPECT_GT(per_second.back(), 102400u);
}

TEST(Congestion, CubicAvoidance_TargetFarAhead_GrowthClampedToHalfMssPerAckedMss) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.w_max = 1000 * mss;  // far above: W_cubic(RTT) ~ 33 segments
  cc.cwnd = cc.ssthresh = 10 * mss;
  ack_n(cc, 10, mss, mss, kT0, 100ms);
  EXPECT_EQ(cc.cwnd, 15 * mss);  // one RTT: x1.5, not to the target
}

TEST(Congestion, CubicAvoidance_AboveWmax_StartsConvexFromCwnd) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.w_max = 50 * mss;
  cc.cwnd = cc.ssthresh = 60 * mss;
  cc.on_ack(mss, mss, kT0, 100ms, true);
  EXPECT_EQ(cc.k_seconds, 0.0);
  EXPECT_EQ(cc.origin, 60 * mss);
}

TEST(Congestion, CubicAvoidance_NoWmaxYet_GrowsAtLeastFivePercentPerRtt) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = cc.ssthresh = 100 * mss;     // e.g. a configured ssthresh, no loss seen
  ack_n(cc, 100, mss, mss, kT0, 100ms);  // one window at the epoch's first instant
  EXPECT_EQ(cc.cwnd, 105 * mss);         // Linux: cnt capped at 20
}

TEST(Congestion, CubicAvoidance_NotCwndLimited_NoGrowthNoEpoch) {
  CongestionControl cc = cubic_after_loss(kMss, 50);
  const std::uint32_t before = cc.cwnd;
  for (int i = 0; i < 100; ++i) cc.on_ack(kMss, kMss, kT0 + i * 10ms, 100ms, false);
  EXPECT_EQ(cc.cwnd, before);
  EXPECT_FALSE(cc.epoch_started);
}

TEST(Congestion, CubicAvoidance_SmallRtt_RenoFriendlyRegionDominates) {
  // RFC 9438 4.3: with a 1 ms RTT the cubic curve barely moves in 100 RTTs (0.1 s of its ~4.2 s
  // K), while a Reno flow with beta 0.7 would add 0.53 mss per RTT; CUBIC must not be slower.
  constexpr std::uint32_t mss = 1024;
  constexpr Duration rtt = 1ms;
  CongestionControl cc = cubic_after_loss(mss, 100);
  Instant now = kT0;
  for (int r = 0; r < 100; ++r) now = ack_one_rtt(cc, mss, now, rtt);
  const double cubic = cc.cubic_window(now - cc.epoch_start + rtt, mss);
  EXPECT_LT(cubic, 73 * 1024.0);
  EXPECT_GT(cc.w_est, cc.cwnd - mss);
  // 70 segments + 100 RTTs * 8/15 segment = ~123 segments (a few short for the rounding of
  // whole-segment rounds and the growing window the estimate divides by).
  EXPECT_GE(cc.cwnd, 115 * mss);
  EXPECT_LE(cc.cwnd, 124 * mss);
  EXPECT_GT(cc.cwnd, cubic + 40 * mss);
}

TEST(Congestion, CubicAvoidance_LargeRtt_CubicRegionDominates) {
  constexpr std::uint32_t mss = 1024;
  constexpr Duration rtt = 100ms;
  CongestionControl cc = cubic_after_loss(mss, 100);
  Instant now = kT0;
  for (int r = 0; r < 10; ++r) now = ack_one_rtt(cc, mss, now, rtt);
  // After ~1 s W_cubic is ~87 segments, the Reno estimate ~75.
  EXPECT_GT(cc.cwnd, cc.w_est + 5 * mss);
  EXPECT_NEAR(cc.cwnd, cc.cubic_window(now - cc.epoch_start + rtt, mss), mss);
}

TEST(Congestion, CubicAvoidance_LossResets_EpochRestartsAtNextAck) {
  constexpr std::uint32_t mss = 1024;
  CongestionControl cc = cubic_after_loss(mss, 100);
  Instant now = kT0;
  for (int r = 0; r < 5; ++r) now = ack_one_rtt(cc, mss, now, 100ms);
  EXPECT_TRUE(cc.epoch_started);
  cc.on_loss(mss, now);
  EXPECT_FALSE(cc.epoch_started);
  cc.on_recovery_end(mss);
  now += 200ms;
  cc.on_ack(mss, mss, now, 100ms, true);
  EXPECT_TRUE(cc.epoch_started);
  EXPECT_EQ(cc.epoch_start, now);
}

// --- CUBIC HyStart (delay detection) -------------------------------------------------------------

// `n` RTT samples of `rtt`, SND.UNA advancing by one mss each from `una`; SND.NXT one window ahead.
Seq rtt_samples(CongestionControl& cc, int n, Duration rtt, Seq una, std::uint32_t mss,
                Instant now) {
  for (int i = 0; i < n; ++i) {
    una += mss;
    cc.on_rtt_sample(rtt, una, una + cc.cwnd, mss, now);
  }
  return una;
}

TEST(Congestion, CubicHystart_RoundRttRisesPastThreshold_SlowStartEndsAtCurrentWindow) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 20 * mss;
  // First round: the path's RTT, 10 ms.
  Seq una = rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  EXPECT_EQ(cc.min_rtt_us, 10000u);
  EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);
  // Next round (SND.UNA past the first round's SND.NXT): 14.5 ms, more than 10 + max(10/8, 4).
  una = Seq(5000) + 40 * mss;
  una = rtt_samples(cc, 8, 14500us, una, mss, kT0 + 10ms);
  EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);  // 8 samples are not enough
  rtt_samples(cc, 1, 14500us, una, mss, kT0 + 10ms);
  EXPECT_TRUE(cc.hystart_found);
  EXPECT_EQ(cc.ssthresh, 20 * mss);
  EXPECT_FALSE(cc.in_slow_start());
}

TEST(Congestion, CubicHystart_RoundRttRisesLessThanFourMs_SlowStartGoesOn) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 20 * mss;
  rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  rtt_samples(cc, 30, 13900us, Seq(5000) + 40 * mss, mss, kT0 + 10ms);
  EXPECT_FALSE(cc.hystart_found);
  EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);
}

TEST(Congestion, CubicHystart_OneSlowSampleInRound_RoundMinimumDecides) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 20 * mss;
  rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  Seq una = rtt_samples(cc, 1, 10ms, Seq(5000) + 40 * mss, mss, kT0 + 10ms);
  rtt_samples(cc, 20, 30ms, una, mss, kT0 + 10ms);
  EXPECT_FALSE(cc.hystart_found);
}

TEST(Congestion, CubicHystart_WindowBelowSixteenSegments_NoDetection) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 15 * mss;
  rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  rtt_samples(cc, 30, 50ms, Seq(5000) + 40 * mss, mss, kT0 + 10ms);
  EXPECT_FALSE(cc.hystart_found);
  EXPECT_EQ(cc.min_rtt_us, 10000u);
}

TEST(Congestion, RenoHystart_Samples_Ignored) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kReno, mss);
  cc.cwnd = 20 * mss;
  rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  rtt_samples(cc, 30, 50ms, Seq(5000) + 40 * mss, mss, kT0 + 10ms);
  EXPECT_FALSE(cc.hystart_found);
  EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);
}

TEST(Congestion, CubicHystart_FoundThenTimeout_DetectsAgainInNextSlowStart) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = make(CongestionAlgorithm::kCubic, mss);
  cc.cwnd = 20 * mss;
  rtt_samples(cc, 12, 10ms, Seq(5000), mss, kT0);
  rtt_samples(cc, 9, 20ms, Seq(5000) + 40 * mss, mss, kT0 + 10ms);
  ASSERT_TRUE(cc.hystart_found);
  cc.on_timeout(mss, kT0 + 1s);
  EXPECT_FALSE(cc.hystart_found);
  EXPECT_EQ(cc.min_rtt_us, 0u);
  EXPECT_EQ(cc.ssthresh, 14003u);  // 20000 * 717 / 1024
  // Pretend slow start regrew past 16 segments, with ssthresh still ahead.
  cc.cwnd = 40 * mss;
  cc.ssthresh = 100 * mss;
  rtt_samples(cc, 12, 10ms, Seq(100000), mss, kT0 + 2s);
  rtt_samples(cc, 9, 20ms, Seq(100000) + 80 * mss, mss, kT0 + 2s);
  EXPECT_TRUE(cc.hystart_found);
  EXPECT_EQ(cc.ssthresh, 40 * mss);
}

TEST(Congestion, CubicHystart_SamplesInFirstSecondAfterRecovery_Ignored) {
  constexpr std::uint32_t mss = 1000;
  CongestionControl cc = cubic_after_loss(mss, 50);
  cc.on_ack(mss, mss, kT0, 10ms, true);  // epoch starts at kT0
  cc.on_rtt_sample(3ms, Seq(1), Seq(2), mss, kT0 + 999ms);
  EXPECT_EQ(cc.min_rtt_us, 0u);
  cc.on_rtt_sample(3ms, Seq(1), Seq(2), mss, kT0 + 1s);
  EXPECT_EQ(cc.min_rtt_us, 3000u);
}

// --- idle restart -------------------------------------------------------------------------------

TEST(Congestion, IdleRestart_LargeWindow_BackToInitialWindow) {
  for (auto a : {CongestionAlgorithm::kReno, CongestionAlgorithm::kCubic}) {
    CongestionControl cc = make(a);
    cc.cwnd = 40 * kMss;
    cc.on_idle_restart(kMss, kT0 + 10s);
    EXPECT_EQ(cc.cwnd, 14480u);
    EXPECT_EQ(cc.ssthresh, CongestionControl::kInfiniteSsthresh);
  }
}

TEST(Congestion, IdleRestart_AfterLoss_SsthreshKeepsThreeQuartersOfWindow) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 40 * kMss;
  cc.ssthresh = 20 * kMss;
  cc.on_idle_restart(kMss, kT0 + 10s);
  EXPECT_EQ(cc.cwnd, 10 * kMss);
  EXPECT_EQ(cc.ssthresh, 30 * kMss);  // Linux tcp_current_ssthresh
}

TEST(Congestion, IdleRestart_SmallWindow_Unchanged) {
  CongestionControl cc = make(CongestionAlgorithm::kReno);
  cc.cwnd = 3 * kMss;
  cc.ssthresh = 8 * kMss;
  cc.on_idle_restart(kMss, kT0 + 10s);
  EXPECT_EQ(cc.cwnd, 3 * kMss);
  EXPECT_EQ(cc.ssthresh, 8 * kMss);
}

TEST(Congestion, CubicIdleRestart_DuringEpoch_EpochReset) {
  CongestionControl cc = cubic_after_loss(kMss, 50);
  ack_n(cc, 5, kMss, kMss, kT0 + 100ms);
  EXPECT_TRUE(cc.epoch_started);
  cc.on_idle_restart(kMss, kT0 + 10s);
  EXPECT_FALSE(cc.epoch_started);
  EXPECT_EQ(cc.cwnd, 10 * kMss);
}

}  // namespace
}  // namespace synwave::tcp
