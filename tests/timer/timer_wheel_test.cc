#include "timer/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <vector>

namespace synwave {
namespace {

struct Fired {
  int id;
  Instant at;
  friend bool operator==(const Fired&, const Fired&) = default;
};

// A timer owner that records every expiry into a shared log.
struct Probe {
  Probe(int probe_id, std::vector<Fired>* fire_log) : id(probe_id), log(fire_log) {}
  static void on_fire(void* ctx, TimerNode&, Instant now) {
    auto* self = static_cast<Probe*>(ctx);
    self->log->push_back({self->id, now});
    if (self->then) self->then(*self, now);
  }
  int id;
  std::vector<Fired>* log;
  std::function<void(Probe&, Instant)> then;  // optional extra action, run after logging
  TimerNode node{&Probe::on_fire, this};
};

// Members in this order so the wheel (which disarms its nodes) is destroyed before the probes.
struct Rig {
  explicit Rig(Duration tick = 1ms, Instant start = Instant{}) : wheel(tick, start) {}
  Probe& add() { return probes.emplace_back(static_cast<int>(probes.size()), &log); }
  std::vector<int> fired_ids() const {
    std::vector<int> ids;
    for (const Fired& f : log) ids.push_back(f.id);
    return ids;
  }
  std::vector<Fired> log;
  std::deque<Probe> probes;
  TimerWheel wheel;
};

Instant at(Duration d) {
  return Instant(d);
}

// Arms a timer at `armed_at` for `delay`; it must not fire at expected - 1 ns and must fire, once,
// at exactly `expected`.
void ExpectFiresAt(Duration tick, Instant armed_at, Duration delay, Instant expected) {
  SCOPED_TRACE(testing::Message() << "tick " << tick.count() << "ns, armed at " << to_ns(armed_at)
                                  << "ns, delay " << delay.count() << "ns");
  Rig rig(tick);
  rig.wheel.advance(armed_at);
  Probe& p = rig.add();
  rig.wheel.arm_after(p.node, delay);
  EXPECT_TRUE(p.node.armed());
  EXPECT_EQ(p.node.deadline(), expected);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(expected));
  rig.wheel.advance(expected - 1ns);
  EXPECT_TRUE(rig.log.empty()) << "fired early";
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(expected));
  EXPECT_EQ(rig.wheel.advance(expected), 1u);
  ASSERT_EQ(rig.log.size(), 1u);
  EXPECT_EQ(rig.log[0].at, expected);
  EXPECT_FALSE(p.node.armed());
  EXPECT_EQ(rig.wheel.size(), 0u);
  EXPECT_EQ(rig.wheel.next_deadline(), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Exact instants.

TEST(TimerWheel, TimerArmedAt0For1ms_FiresAtExactly1ms) {
  ExpectFiresAt(1ms, at(0s), 1ms, at(1ms));
}
TEST(TimerWheel, DelayedAck40ms_FiresAtExactly40ms) {
  ExpectFiresAt(1ms, at(0s), 40ms, at(40ms));
}
TEST(TimerWheel, Rto200ms_FiresAtExactly200ms) {
  ExpectFiresAt(1ms, at(0s), 200ms, at(200ms));
}
TEST(TimerWheel, TimerArmedAt1s_FiresAtExactly1s) {
  ExpectFiresAt(1ms, at(0s), 1s, at(1s));
}
TEST(TimerWheel, TimeWait60s_FiresAtExactly60s) {
  ExpectFiresAt(1ms, at(5s), 60s, at(65s));
}
TEST(TimerWheel, Keepalive7200s_FiresAtExactly7200s) {
  ExpectFiresAt(1ms, at(0s), 7200s, at(7200s));
  ExpectFiresAt(1ms, at(123'456ms), 7200s, at(123'456ms + 7200s));
}

TEST(TimerWheel, SynRetransmissionDelays_EachFiresAtExactlyItsInstant) {
  for (auto delay : {1s, 3s, 7s, 15s, 31s, 63s}) ExpectFiresAt(1ms, at(0s), delay, at(delay));
}

TEST(TimerWheel, ArmedBetweenTicks_DeadlineRoundsUpToNextTick) {
  // Armed at 0.5 ms for 1 ms: the deadline 1.5 ms rounds up to 2 ms.
  ExpectFiresAt(1ms, at(500us), 1ms, at(2ms));
  // 1 ns past a boundary rounds up by almost a whole tick.
  ExpectFiresAt(1ms, at(0s), 40ms + 1ns, at(41ms));
  ExpectFiresAt(10ms, at(3ms), 40ms, at(50ms));
  ExpectFiresAt(250us, at(1ns), 1ms, at(1250us));
}

TEST(TimerWheel, DeadlineOnTickBoundary_IsNotRoundedFurther) {
  ExpectFiresAt(1ms, at(7ms), 3ms, at(10ms));
  ExpectFiresAt(10ms, at(0s), 40ms, at(40ms));
}

TEST(TimerWheel, SubTickDelay_FiresAtNextBoundary) {
  ExpectFiresAt(1ms, at(0s), 1ns, at(1ms));
}

// Values at and around each level boundary (64^k ticks), from several starting ticks so that the
// arithmetic carries into higher digits.
TEST(TimerWheel, DeadlinesNearEveryLevelBoundary_FireExactly) {
  std::vector<std::int64_t> deltas;
  for (int bits = 6; bits <= 60; bits += 6) {
    const std::int64_t b = std::int64_t{1} << bits;
    for (std::int64_t d : {b - 1, b, b + 1}) deltas.push_back(d);
  }
  deltas.push_back(std::int64_t{1} << 32);
  deltas.push_back((std::int64_t{1} << 32) + 1);
  deltas.push_back((std::int64_t{1} << 62) - 1);
  for (std::int64_t start :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{63}, std::int64_t{4095},
        std::int64_t{262'143}, std::int64_t{(1 << 24) - 2}, std::int64_t{123'456'789}}) {
    for (std::int64_t d : deltas) {
      // A 1 ns tick reaches every level.
      ExpectFiresAt(1ns, instant_from_ns(start), Duration(d), instant_from_ns(start + d));
    }
  }
  // With a 1 ms tick, up to 2^42 ticks (139 years).
  for (int bits = 6; bits <= 42; bits += 6) {
    const std::int64_t b = std::int64_t{1} << bits;
    for (std::int64_t d : {b - 1, b, b + 1})
      ExpectFiresAt(1ms, at(4095ms), std::chrono::milliseconds(d),
                    at(4095ms + std::chrono::milliseconds(d)));
  }
}

TEST(TimerWheel, SteppingEveryTick_FiresOnTheFirstAdvanceReachingTheDeadline) {
  Rig rig(1ms);
  std::vector<Duration> delays = {1ms, 40ms, 63ms, 64ms, 65ms, 200ms, 1s, 4095ms, 4096ms, 4097ms};
  for (Duration d : delays) rig.wheel.arm_after(rig.add().node, d);
  // Steps of 0.3 ms: each timer fires in the first advance whose now >= its deadline, and its
  // callback sees the deadline itself.
  std::vector<Instant> advance_of(delays.size());
  for (Instant now = at(0s); now <= at(4200ms); now += 300us) {
    std::size_t before = rig.log.size();
    rig.wheel.advance(now);
    for (std::size_t i = before; i < rig.log.size(); ++i) advance_of[rig.log[i].id] = now;
  }
  ASSERT_EQ(rig.log.size(), delays.size());
  for (std::size_t i = 0; i < delays.size(); ++i) {
    EXPECT_EQ(rig.log[i].id, static_cast<int>(i));
    EXPECT_EQ(rig.log[i].at, at(delays[i]));
    EXPECT_GE(advance_of[i], at(delays[i]));
    EXPECT_LT(advance_of[i], at(delays[i]) + 300us);
  }
}

TEST(TimerWheel, AdvanceWithinOneTick_FiresNothingUntilTheBoundary) {
  Rig rig(1ms);
  Probe& p = rig.add();
  rig.wheel.arm_at(p.node, at(5ms));
  for (Instant now = at(0s); now < at(5ms); now += 1us) rig.wheel.advance(now);
  EXPECT_TRUE(rig.log.empty());
  rig.wheel.advance(at(5ms));
  EXPECT_EQ(rig.log.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Overdue deadlines.

TEST(TimerWheel, DeadlineInThePast_FiresAtTheNextAdvanceEvenWithoutTimeMoving) {
  Rig rig(1ms);
  rig.wheel.advance(at(10ms) + 300us);
  Probe& a = rig.add();
  Probe& b = rig.add();
  Probe& c = rig.add();
  rig.wheel.arm_at(a.node, at(10ms));  // on the boundary already passed
  rig.wheel.arm_at(b.node, at(2ms));   // well past, armed later: runs after a
  rig.wheel.arm_after(c.node, 0ns);    // now + 0 rounds up to 11 ms: not overdue
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(rig.wheel.now()));
  EXPECT_EQ(rig.wheel.advance(rig.wheel.now()), 2u);
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0, 1}));
  EXPECT_EQ(rig.log[0].at, at(10ms) + 300us);  // callbacks of overdue timers see now()
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(11ms)));
  rig.wheel.advance(at(11ms));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0, 1, 2}));
}

TEST(TimerWheel, OverdueTimers_RunBeforeTimersDueInTheSameAdvance) {
  Rig rig(1ms);
  rig.wheel.advance(at(100ms));
  Probe& later = rig.add();
  Probe& overdue = rig.add();
  rig.wheel.arm_at(later.node, at(101ms));
  rig.wheel.arm_at(overdue.node, at(50ms));
  rig.wheel.advance(at(200ms));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{1, 0}));
}

TEST(TimerWheel, DeadlineAtStart_IsOverdue) {
  Rig rig(1ms, at(5s));
  Probe& p = rig.add();
  rig.wheel.arm_at(p.node, at(5s));
  rig.wheel.advance(at(5s));
  EXPECT_EQ(rig.log.size(), 1u);
}

TEST(TimerWheel, TimeGoingBackwards_IsTreatedAsNow) {
  Rig rig(1ms);
  rig.wheel.advance(at(10ms));
  Probe& p = rig.add();
  rig.wheel.arm_at(p.node, at(11ms));
  rig.wheel.advance(at(3ms));
  EXPECT_EQ(rig.wheel.now(), at(10ms));
  EXPECT_TRUE(rig.log.empty());
  rig.wheel.advance(at(11ms));
  EXPECT_EQ(rig.log.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Order.

TEST(TimerWheel, TimersDueInOneAdvance_RunInDeadlineOrder) {
  Rig rig(1ms);
  const std::vector<Duration> delays = {7200s, 40ms, 3s, 1ms, 64ms, 63s, 200ms, 4096ms, 60s, 1s};
  for (Duration d : delays) rig.wheel.arm_after(rig.add().node, d);
  rig.wheel.advance(at(10'000s));
  ASSERT_EQ(rig.log.size(), delays.size());
  for (std::size_t i = 1; i < rig.log.size(); ++i) EXPECT_LT(rig.log[i - 1].at, rig.log[i].at);
  for (const Fired& f : rig.log) EXPECT_EQ(f.at, at(delays[f.id]));
}

TEST(TimerWheel, EqualDeadlines_RunInArmingOrder) {
  Rig rig(1ms);
  for (int i = 0; i < 5; ++i) rig.add();
  // Rounded to the same tick from different raw deadlines, armed in a scrambled order, some far
  // away so that they are cascaded through several levels first.
  rig.wheel.arm_at(rig.probes[3].node, at(7200s) - 300us);
  rig.wheel.arm_at(rig.probes[1].node, at(7200s));
  rig.wheel.advance(at(100s));
  rig.wheel.arm_at(rig.probes[4].node, at(7200s) - 1ns);
  rig.wheel.advance(at(7199s));
  rig.wheel.arm_at(rig.probes[0].node, at(7200s));
  rig.wheel.arm_at(rig.probes[2].node, at(7200s) - 999us);
  rig.wheel.advance(at(7300s));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{3, 1, 4, 0, 2}));
  for (const Fired& f : rig.log) EXPECT_EQ(f.at, at(7200s));
}

TEST(TimerWheel, RearmToSameDeadline_MovesToTheBackOfItsTick) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  rig.wheel.arm_at(a.node, at(40ms));
  rig.wheel.arm_at(b.node, at(40ms));
  rig.wheel.arm_at(a.node, at(40ms));
  rig.wheel.advance(at(40ms));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{1, 0}));
}

// ---------------------------------------------------------------------------------------------
// Cancel and re-arm.

TEST(TimerWheel, CancelBeforeExpiry_NeverFires) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  rig.wheel.arm_after(a.node, 200ms);
  rig.wheel.arm_after(b.node, 7200s);
  EXPECT_EQ(rig.wheel.size(), 2u);
  rig.wheel.advance(at(199ms));
  EXPECT_TRUE(rig.wheel.cancel(a.node));
  EXPECT_TRUE(rig.wheel.cancel(b.node));
  EXPECT_FALSE(a.node.armed());
  EXPECT_FALSE(rig.wheel.cancel(a.node));
  EXPECT_EQ(rig.wheel.size(), 0u);
  EXPECT_EQ(rig.wheel.next_deadline(), std::nullopt);
  rig.wheel.advance(at(8000s));
  EXPECT_TRUE(rig.log.empty());
  EXPECT_EQ(rig.wheel.counters().cancelled, 2u);
  EXPECT_EQ(rig.wheel.counters().fired, 0u);
}

TEST(TimerWheel, CancelOverdueTimer_NeverFires) {
  Rig rig(1ms);
  rig.wheel.advance(at(1s));
  Probe& p = rig.add();
  rig.wheel.arm_at(p.node, at(0s));
  EXPECT_TRUE(rig.wheel.cancel(p.node));
  EXPECT_EQ(rig.wheel.next_deadline(), std::nullopt);
  rig.wheel.advance(at(2s));
  EXPECT_TRUE(rig.log.empty());
}

TEST(TimerWheel, CancelUnarmedNode_ReturnsFalse) {
  Rig rig(1ms);
  EXPECT_FALSE(rig.wheel.cancel(rig.add().node));
}

TEST(TimerWheel, RearmEarlierAndLater_FiresOnlyAtTheLastDeadline) {
  Rig rig(1ms);
  Probe& p = rig.add();
  rig.wheel.arm_after(p.node, 10s);
  rig.wheel.arm_after(p.node, 5ms);
  EXPECT_EQ(p.node.deadline(), at(5ms));
  EXPECT_EQ(rig.wheel.size(), 1u);
  rig.wheel.advance(at(4ms));
  rig.wheel.arm_after(p.node, 200ms);  // the RTO restart pattern
  EXPECT_EQ(p.node.deadline(), at(204ms));
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(204ms)));
  rig.wheel.advance(at(203ms));
  EXPECT_TRUE(rig.log.empty());
  rig.wheel.advance(at(20s));
  ASSERT_EQ(rig.log.size(), 1u);
  EXPECT_EQ(rig.log[0].at, at(204ms));
  const auto& c = rig.wheel.counters();
  EXPECT_EQ(c.armed, 3u);
  EXPECT_EQ(c.rearmed, 2u);
  EXPECT_EQ(c.fired, 1u);
}

TEST(TimerWheel, RearmAfterFiring_FiresAgain) {
  Rig rig(1ms);
  Probe& p = rig.add();
  rig.wheel.arm_after(p.node, 1ms);
  rig.wheel.advance(at(1ms));
  rig.wheel.arm_after(p.node, 1ms);
  rig.wheel.advance(at(2ms));
  EXPECT_EQ(rig.log, (std::vector<Fired>{{0, at(1ms)}, {0, at(2ms)}}));
}

// ---------------------------------------------------------------------------------------------
// Callbacks that change the wheel.

TEST(TimerWheel, CallbackCancelsTimerDueAtTheSameTick_ItDoesNotRun) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  Probe& c = rig.add();
  a.then = [&](Probe&, Instant) { EXPECT_TRUE(rig.wheel.cancel(b.node)); };
  for (Probe* p : {&a, &b, &c}) rig.wheel.arm_at(p->node, at(40ms));
  rig.wheel.advance(at(1s));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0, 2}));
  EXPECT_EQ(rig.wheel.size(), 0u);
}

TEST(TimerWheel, CallbackCancelsTimerDueLaterInTheSameAdvance_ItDoesNotRun) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  a.then = [&](Probe&, Instant) { EXPECT_TRUE(rig.wheel.cancel(b.node)); };
  rig.wheel.arm_at(a.node, at(1s));
  rig.wheel.arm_at(b.node, at(7200s));
  rig.wheel.advance(at(8000s));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0}));
}

TEST(TimerWheel, CallbackArmsTimerDueWithinTheSameAdvance_ItRunsInOrder) {
  Rig rig(1ms);
  Probe& a = rig.add();  // at 1 s, arms c for now + 40 ms
  Probe& b = rig.add();  // at 1.1 s
  Probe& c = rig.add();
  Probe& d = rig.add();  // at 1.04 s, armed before c: runs before c at the same tick
  a.then = [&](Probe&, Instant now) {
    EXPECT_EQ(now, at(1s));
    EXPECT_EQ(rig.wheel.now(), at(1s));
    rig.wheel.arm_after(c.node, 40ms);
  };
  rig.wheel.arm_at(a.node, at(1s));
  rig.wheel.arm_at(b.node, at(1100ms));
  rig.wheel.arm_at(d.node, at(1040ms));
  rig.wheel.advance(at(2s));
  EXPECT_EQ(rig.log,
            (std::vector<Fired>{{0, at(1s)}, {3, at(1040ms)}, {2, at(1040ms)}, {1, at(1100ms)}}));
}

TEST(TimerWheel, CallbackArmsWithZeroOrPastDelay_RunsAtTheSameTickAfterTheOthers) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  Probe& c = rig.add();
  Probe& d = rig.add();
  a.then = [&](Probe&, Instant) {
    rig.wheel.arm_after(c.node, 0ns);
    rig.wheel.arm_at(d.node, at(1ms));  // in the past: due now
  };
  rig.wheel.arm_at(a.node, at(5ms));
  rig.wheel.arm_at(b.node, at(5ms));
  rig.wheel.advance(at(6ms));
  EXPECT_EQ(rig.log, (std::vector<Fired>{{0, at(5ms)}, {1, at(5ms)}, {2, at(5ms)}, {3, at(5ms)}}));
  EXPECT_EQ(rig.wheel.now(), at(6ms));
}

TEST(TimerWheel, CallbackRearmsItself_PeriodicTimerStaysExactAcrossOneLongJump) {
  Rig rig(1ms);
  Probe& p = rig.add();
  p.then = [&](Probe& self, Instant) {
    if (rig.log.size() < 25) rig.wheel.arm_after(self.node, 40ms);
  };
  rig.wheel.arm_after(p.node, 40ms);
  rig.wheel.advance(at(10s));
  ASSERT_EQ(rig.log.size(), 25u);
  for (std::size_t i = 0; i < rig.log.size(); ++i) EXPECT_EQ(rig.log[i].at, at(40ms * (i + 1)));
}

TEST(TimerWheel, CallbackCancelsItselfOrRearmsAnotherDueTimer_IsSafe) {
  Rig rig(1ms);
  Probe& a = rig.add();
  Probe& b = rig.add();
  a.then = [&](Probe& self, Instant) {
    EXPECT_FALSE(self.node.armed());
    EXPECT_FALSE(rig.wheel.cancel(self.node));
    rig.wheel.arm_after(b.node, 3s);  // b was due at this same tick: moved away
  };
  rig.wheel.arm_at(a.node, at(1s));
  rig.wheel.arm_at(b.node, at(1s));
  rig.wheel.advance(at(3s));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0}));
  rig.wheel.advance(at(4s));
  EXPECT_EQ(rig.log, (std::vector<Fired>{{0, at(1s)}, {1, at(4s)}}));
}

TEST(TimerWheel, OverdueCallbackArmsAnotherOverdueTimer_RunsInTheSameAdvance) {
  Rig rig(1ms);
  rig.wheel.advance(at(1s));
  Probe& a = rig.add();
  Probe& b = rig.add();
  a.then = [&](Probe&, Instant) { rig.wheel.arm_at(b.node, at(0s)); };
  rig.wheel.arm_at(a.node, at(0s));
  rig.wheel.advance(at(1s));
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{0, 1}));
}

// The SYN retransmission schedule, with the RTO doubling from 1 s, driven by a member function.
struct SynSender {
  explicit SynSender(TimerWheel& w) : wheel(w) { rto.set_callback<&SynSender::on_rto>(this); }
  ~SynSender() { wheel.cancel(rto); }
  void on_rto(TimerNode& node, Instant now) {
    sent_at.push_back(now);
    if (sent_at.size() == 6) return;  // give up
    backoff *= 2;
    wheel.arm_after(node, backoff);
  }
  TimerWheel& wheel;
  Duration backoff = 1s;
  std::vector<Instant> sent_at;
  TimerNode rto;
};

TEST(TimerWheel, SynSchedule_OneJumpTo63s_FiresAt1_3_7_15_31_63s) {
  TimerWheel wheel(1ms);
  SynSender syn(wheel);
  wheel.arm_after(syn.rto, syn.backoff);
  EXPECT_EQ(wheel.advance(at(63s)), 6u);
  EXPECT_EQ(syn.sent_at, (std::vector<Instant>{at(1s), at(3s), at(7s), at(15s), at(31s), at(63s)}));
  EXPECT_FALSE(syn.rto.armed());
}

TEST(TimerWheel, SynSchedule_SteppingEveryMillisecond_FiresAt1_3_7_15_31_63s) {
  TimerWheel wheel(1ms);
  SynSender syn(wheel);
  wheel.arm_after(syn.rto, syn.backoff);
  for (Instant now = at(0s); now <= at(70s); now += 1ms) wheel.advance(now);
  EXPECT_EQ(syn.sent_at, (std::vector<Instant>{at(1s), at(3s), at(7s), at(15s), at(31s), at(63s)}));
}

TEST(TimerWheel, SynSchedule_JumpingToNextDeadline_TakesOneAdvancePerFiring) {
  TimerWheel wheel(1ms);
  SynSender syn(wheel);
  wheel.arm_after(syn.rto, syn.backoff);
  int advances = 0;
  while (auto next = wheel.next_deadline()) {
    ASSERT_LT(advances, 10) << "next_deadline() is not making progress";
    EXPECT_EQ(wheel.advance(*next), 1u);
    ++advances;
  }
  EXPECT_EQ(advances, 6);
  EXPECT_EQ(syn.sent_at.back(), at(63s));
}

// ---------------------------------------------------------------------------------------------
// Long jumps and cost.

TEST(TimerWheel, JumpTo7200sInOneAdvance_FiresAllInOrderWithBoundedCascades) {
  Rig rig(1ms);
  std::mt19937_64 rng(7);
  constexpr int kTimers = 20'000;
  std::vector<Instant> deadlines;
  for (int i = 0; i < kTimers; ++i) {
    Instant d = at(std::chrono::milliseconds(1 + rng() % 7'200'000));
    deadlines.push_back(d);
    rig.wheel.arm_at(rig.add().node, d);
  }
  EXPECT_EQ(rig.wheel.advance(at(7200s)), static_cast<std::size_t>(kTimers));
  for (std::size_t i = 1; i < rig.log.size(); ++i) EXPECT_LE(rig.log[i - 1].at, rig.log[i].at);
  for (const Fired& f : rig.log) EXPECT_EQ(f.at, deadlines[f.id]);
  // Each timer moves down at most once per level, never once per elapsed tick.
  EXPECT_LE(rig.wheel.counters().cascaded, std::uint64_t{kTimers} * 4);
}

TEST(TimerWheel, HugeJumpWithOneFarTimer_CascadesAtMostOncePerLevel) {
  Rig rig(1ns);
  Probe& p = rig.add();
  const Instant far = instant_from_ns((std::int64_t{1} << 61) + 12345);
  rig.wheel.arm_at(p.node, far);
  rig.wheel.advance(far - 1ns);
  EXPECT_TRUE(rig.log.empty());
  rig.wheel.advance(far);
  ASSERT_EQ(rig.log.size(), 1u);
  EXPECT_EQ(rig.log[0].at, far);
  EXPECT_LE(rig.wheel.counters().cascaded, 11u);
}

TEST(TimerWheel, DeadlineAtInstantMax_IsAcceptedAndStaysPending) {
  Rig rig(1ms);
  Probe& p = rig.add();
  rig.wheel.arm_at(p.node, Instant::max());
  rig.wheel.arm_after(rig.add().node, Duration::max());
  rig.wheel.advance(at(100'000'000s));
  EXPECT_TRUE(rig.log.empty());
  EXPECT_EQ(rig.wheel.size(), 2u);
  EXPECT_LE(*rig.wheel.next_deadline(), Instant::max());
}

// ---------------------------------------------------------------------------------------------
// next_deadline(), size(), counters, teardown.

TEST(TimerWheel, NextDeadline_IsExactAtEveryLevel) {
  Rig rig(1ms);
  EXPECT_EQ(rig.wheel.next_deadline(), std::nullopt);
  Probe& far = rig.add();
  Probe& farther = rig.add();
  Probe& near = rig.add();
  rig.wheel.arm_at(farther.node, at(7200s) + 7ms);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7200s) + 7ms));
  rig.wheel.arm_at(far.node, at(7200s) + 3ms);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7200s) + 3ms));
  rig.wheel.arm_at(near.node, at(40ms) - 1ns);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(40ms)));
  rig.wheel.cancel(near.node);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7200s) + 3ms));
  rig.wheel.advance(at(7000s));
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7200s) + 3ms));
  rig.wheel.arm_at(far.node, at(7300s));  // moving the earliest away
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7200s) + 7ms));
  rig.wheel.advance(*rig.wheel.next_deadline());
  EXPECT_EQ(rig.fired_ids(), (std::vector<int>{1}));
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(7300s)));
}

TEST(TimerWheel, NextDeadline_NeverBeforeNowForPendingTimers) {
  Rig rig(1ms);
  rig.wheel.advance(at(10ms) + 1ns);
  rig.wheel.arm_after(rig.add().node, 0ns);
  EXPECT_EQ(rig.wheel.next_deadline(), std::optional<Instant>(at(11ms)));
}

TEST(TimerWheel, Counters_BalanceWithSize) {
  Rig rig(1ms);
  for (int i = 0; i < 10; ++i)
    rig.wheel.arm_after(rig.add().node, std::chrono::milliseconds(i * 100));
  rig.wheel.arm_after(rig.probes[9].node, 5s);
  rig.wheel.cancel(rig.probes[8].node);
  rig.wheel.advance(at(500ms));
  const auto& c = rig.wheel.counters();
  EXPECT_EQ(c.armed, 11u);
  EXPECT_EQ(c.rearmed, 1u);
  EXPECT_EQ(c.cancelled, 1u);
  EXPECT_EQ(c.fired, 6u);  // 0 (overdue), 100, ..., 500 ms
  EXPECT_EQ(rig.wheel.size(), 3u);
  EXPECT_EQ(c.armed, c.fired + c.cancelled + c.rearmed + rig.wheel.size());
}

TEST(TimerWheel, DestroyingTheWheel_DisarmsItsTimers) {
  std::vector<Fired> log;
  Probe a(0, &log), b(1, &log);
  {
    TimerWheel wheel(1ms);
    wheel.arm_after(a.node, 1s);
    wheel.arm_at(b.node, at(0s));
  }
  EXPECT_FALSE(a.node.armed());
  EXPECT_FALSE(b.node.armed());
  EXPECT_TRUE(log.empty());
}

TEST(TimerWheel, NullCallback_JustDisarms) {
  TimerWheel wheel(1ms);
  TimerNode node;
  wheel.arm_after(node, 1ms);
  EXPECT_EQ(wheel.advance(at(1ms)), 1u);
  EXPECT_FALSE(node.armed());
}

// ---------------------------------------------------------------------------------------------
// Random operations against a reference model (a std::multimap ordered by effective tick).

// The specification, written naively.
class ModelWheel {
 public:
  explicit ModelWheel(Duration tick) : tick_ns_(tick.count()) {}
  std::function<void(int, Instant)> on_fire;

  void arm_at(int id, Instant deadline) {
    cancel(id);
    const std::int64_t ns = to_ns(deadline);
    const std::int64_t max_tick = std::numeric_limits<std::int64_t>::max() / tick_ns_;
    std::int64_t t = ns <= 0 ? 0 : ns / tick_ns_ + (ns % tick_ns_ != 0);
    t = std::min(t, max_tick);
    if (expiring_ && t < cur_) t = cur_;
    if (t < cur_) t = cur_ - 1;  // overdue: before every other timer, in arming order
    pending_[id] = queue_.emplace(t, id);
  }
  void arm_after(int id, Duration delay) {
    const std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
    const std::int64_t now_ns = to_ns(now_);
    arm_at(id, instant_from_ns(delay.count() > max_ns - now_ns ? max_ns : now_ns + delay.count()));
  }
  bool cancel(int id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    queue_.erase(it->second);
    pending_.erase(it);
    return true;
  }
  std::size_t advance(Instant now) {
    if (now < now_) now = now_;
    std::size_t ran = 0;
    while (!queue_.empty() && queue_.begin()->first < cur_) ran += pop();
    const std::int64_t target = to_ns(now) / tick_ns_;
    if (target >= cur_) {
      while (!queue_.empty() && queue_.begin()->first <= target) {
        cur_ = queue_.begin()->first;
        now_ = instant_from_ns(cur_ * tick_ns_);
        expiring_ = true;
        ran += pop();
        expiring_ = false;
      }
      cur_ = target + 1;
    }
    now_ = now;
    return ran;
  }
  std::optional<Instant> next_deadline() const {
    if (queue_.empty()) return std::nullopt;
    if (queue_.begin()->first < cur_) return now_;
    return instant_from_ns(queue_.begin()->first * tick_ns_);
  }
  std::size_t size() const { return queue_.size(); }
  bool armed(int id) const { return pending_.count(id) != 0; }
  Instant now() const { return now_; }

 private:
  std::size_t pop() {
    const int id = queue_.begin()->second;
    queue_.erase(queue_.begin());
    pending_.erase(id);
    on_fire(id, now_);
    return 1;
  }
  std::int64_t tick_ns_;
  std::int64_t cur_ = 1;
  Instant now_{};
  bool expiring_ = false;
  std::multimap<std::int64_t, int> queue_;
  std::map<int, std::multimap<std::int64_t, int>::iterator> pending_;
};

// The wheel under test behind the same id-based interface.
class RealWheel {
 public:
  static constexpr int kIds = 48;
  explicit RealWheel(Duration tick) : wheel_(tick) {
    for (int i = 0; i < kIds; ++i) nodes_[i].set_callback(&RealWheel::thunk, this);
  }
  ~RealWheel() {
    for (TimerNode& n : nodes_) wheel_.cancel(n);
  }
  std::function<void(int, Instant)> on_fire;
  void arm_at(int id, Instant d) { wheel_.arm_at(nodes_[id], d); }
  void arm_after(int id, Duration d) { wheel_.arm_after(nodes_[id], d); }
  bool cancel(int id) { return wheel_.cancel(nodes_[id]); }
  std::size_t advance(Instant now) { return wheel_.advance(now); }
  std::optional<Instant> next_deadline() const { return wheel_.next_deadline(); }
  std::size_t size() const { return wheel_.size(); }
  bool armed(int id) const { return nodes_[id].armed(); }
  Instant now() const { return wheel_.now(); }
  const TimerWheel& wheel() const { return wheel_; }

 private:
  static void thunk(void* ctx, TimerNode& node, Instant now) {
    auto* self = static_cast<RealWheel*>(ctx);
    self->on_fire(static_cast<int>(&node - self->nodes_), now);
  }
  TimerNode nodes_[kIds];
  TimerWheel wheel_;
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Delays in ticks from every scale the wheel has, including level boundaries and sub-tick parts.
Duration random_delay(std::uint64_t r, Duration tick, std::int64_t max_ticks) {
  std::int64_t ticks = 0;
  const std::uint64_t r2 = splitmix(r);
  switch (r % 8) {
    case 0:
      ticks = static_cast<std::int64_t>(r2 % 4);
      break;
    case 1:
      ticks = static_cast<std::int64_t>(r2 % 130);
      break;
    case 2:
      ticks = static_cast<std::int64_t>(r2 % 9000);
      break;
    case 3:
      ticks = static_cast<std::int64_t>(r2 % 600'000);
      break;
    case 4:
      ticks = static_cast<std::int64_t>(r2 % static_cast<std::uint64_t>(max_ticks));
      break;
    case 5: {  // around a level boundary
      const int bits = 6 * (1 + static_cast<int>(r2 % 6));
      ticks = (std::int64_t{1} << bits) + static_cast<std::int64_t>((r2 >> 8) % 5) - 2;
      ticks = std::min(ticks, max_ticks);
      break;
    }
    case 6:
      ticks = -static_cast<std::int64_t>(r2 % 100);
      break;  // in the past
    default:
      ticks = static_cast<std::int64_t>(r2 % 64);
      break;
  }
  Duration d = tick * ticks;
  if ((r2 >> 40) % 3 == 0) d += Duration(static_cast<std::int64_t>((r2 >> 20) % tick.count()));
  return d;
}

// Runs one scenario (ops and callback actions derived from `seed`) on a wheel-like `impl`.
template <typename Impl>
class Scenario {
 public:
  Scenario(std::uint64_t seed, Duration tick, std::int64_t max_ticks)
      : impl(tick), seed_(seed), tick_(tick), max_ticks_(max_ticks) {
    impl.on_fire = [this](int id, Instant now) { fired(id, now); };
  }
  // Applies op number `i`; the op depends only on the seed and i (and on next_deadline(), which
  // must agree between the two implementations anyway).
  void step(std::uint64_t i) {
    const std::uint64_t r = splitmix(seed_ ^ splitmix(i));
    const int id = static_cast<int>((r >> 32) % RealWheel::kIds);
    zero_budget_ = 8;
    switch (r % 16) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        impl.arm_after(id, random_delay(splitmix(r), tick_, max_ticks_));
        break;
      case 6:
        impl.arm_at(id, impl.now() + random_delay(splitmix(r), tick_, max_ticks_));
        break;
      case 7:
      case 8:
        cancelled.push_back(impl.cancel(id));
        break;
      case 9:
      case 10: {  // small step, possibly within a tick
        const auto ns =
            static_cast<std::int64_t>(splitmix(r) % static_cast<std::uint64_t>(3 * tick_.count()));
        impl.advance(impl.now() + Duration(ns));
        break;
      }
      case 11:
        impl.advance(impl.now() + random_delay(splitmix(r + 1), tick_, max_ticks_));
        break;
      case 12:
      case 13:
        if (auto next = impl.next_deadline()) impl.advance(*next);
        break;
      case 14:
        if (auto next = impl.next_deadline()) impl.advance(*next - 1ns);
        break;
      default:
        impl.advance(impl.now());
        break;
    }
  }

  Impl impl;
  std::vector<Fired> log;
  std::vector<bool> cancelled;

 private:
  void fired(int id, Instant now) {
    log.push_back({id, now});
    const std::uint64_t r = splitmix(seed_ * 31 + log.size());
    const int other = static_cast<int>((r >> 32) % RealWheel::kIds);
    switch (r % 10) {
      case 0:
      case 1:  // periodic: re-arm itself at least a tick ahead
        impl.arm_after(id, tick_ * (1 + static_cast<std::int64_t>(splitmix(r) % 200)));
        break;
      case 2:
      case 3: {
        Duration d = random_delay(splitmix(r + 7), tick_, max_ticks_);
        if (d < tick_) {
          if (zero_budget_ == 0) break;
          --zero_budget_;  // bounded zero-delay chains
        }
        impl.arm_after(other, d);
        break;
      }
      case 4:
      case 5:
        impl.cancel(other);
        break;
      default:
        break;
    }
  }

  std::uint64_t seed_;
  Duration tick_;
  std::int64_t max_ticks_;
  int zero_budget_ = 8;
};

void RunAgainstModel(std::uint64_t seed, Duration tick, std::int64_t max_ticks, int ops) {
  SCOPED_TRACE(testing::Message() << "seed " << seed << ", tick " << tick.count() << "ns");
  Scenario<RealWheel> real(seed, tick, max_ticks);
  Scenario<ModelWheel> model(seed, tick, max_ticks);
  for (int i = 0; i < ops; ++i) {
    real.step(static_cast<std::uint64_t>(i));
    model.step(static_cast<std::uint64_t>(i));
    ASSERT_EQ(real.log.size(), model.log.size()) << "after op " << i;
    if (!real.log.empty()) {
      ASSERT_EQ(real.log.back(), model.log.back()) << "after op " << i;
    }
    ASSERT_EQ(real.impl.size(), model.impl.size()) << "after op " << i;
    ASSERT_EQ(real.impl.next_deadline(), model.impl.next_deadline()) << "after op " << i;
    ASSERT_EQ(real.impl.now(), model.impl.now()) << "after op " << i;
    for (int id = 0; id < RealWheel::kIds; ++id)
      ASSERT_EQ(real.impl.armed(id), model.impl.armed(id)) << "id " << id << " after op " << i;
  }
  EXPECT_EQ(real.log, model.log);
  EXPECT_EQ(real.cancelled, model.cancelled);
  // Every firing is at or after its timer's effective deadline: the model guarantees that, and the
  // logs are equal. Also check the counter balance.
  const auto& c = real.impl.wheel().counters();
  EXPECT_EQ(c.armed, c.fired + c.cancelled + c.rearmed + real.impl.size());
  EXPECT_EQ(c.fired, real.log.size());
}

TEST(TimerWheelModel, RandomOperations_MatchReferenceModel_1msTick) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) RunAgainstModel(seed, 1ms, 8'000'000, 1500);
}

TEST(TimerWheelModel, RandomOperations_MatchReferenceModel_1nsTick) {
  for (std::uint64_t seed = 1000; seed < 1100; ++seed)
    RunAgainstModel(seed, 1ns, std::int64_t{1} << 40, 1500);
}

TEST(TimerWheelModel, RandomOperations_MatchReferenceModel_OddTick) {
  for (std::uint64_t seed = 2000; seed < 2050; ++seed)
    RunAgainstModel(seed, 7ms + 13ns, 1 << 20, 1500);
}

// Many timers, random deadlines, random step sizes: each fires exactly at its deadline.
TEST(TimerWheelModel, ThousandsOfTimers_FireExactlyInDeadlineOrder) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rig rig(1ms);
    std::mt19937_64 rng(seed);
    std::multimap<Instant, int> expected;  // deadline -> id, in arming order for ties
    for (int i = 0; i < 5000; ++i) {
      Probe& p = rig.add();
      const Instant d = at(std::chrono::milliseconds(1 + rng() % 200'000));
      rig.wheel.arm_at(p.node, d);
      expected.emplace(d, p.id);
    }
    Instant now = at(0s);
    while (!rig.wheel.empty()) {
      ASSERT_LT(now, at(1000s)) << "timers left over";
      now += std::chrono::microseconds(rng() % 3'000'000);
      rig.wheel.advance(now);
    }
    ASSERT_EQ(rig.log.size(), expected.size());
    auto it = expected.begin();
    for (const Fired& f : rig.log) {
      EXPECT_EQ(f.id, it->second);
      EXPECT_EQ(f.at, it->first);
      ++it;
    }
  }
}

}  // namespace
}  // namespace synwave
