// Timing-wheel microbenchmarks: arm, cancel, re-arm and expiry, each with ~1M timers pending.
//
// Deadlines are precomputed (no RNG in the timed loops). Each node is 48 bytes, so 1M pending
// timers are ~48 MB: these figures include the cache misses a loaded engine would see.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "timer/timer_wheel.h"

namespace synwave {
namespace {

constexpr std::size_t kPending = 1u << 20;

void count_fire(void* ctx, TimerNode&, Instant) {
  ++*static_cast<std::uint64_t*>(ctx);
}

// Random deadlines, uniform in [lo, hi).
std::vector<Instant> deadlines(std::size_t n, Duration lo, Duration hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(lo.count(), hi.count() - 1);
  std::vector<Instant> out(n);
  for (Instant& d : out) d = instant_from_ns(dist(rng));
  return out;
}

// Nodes, declared before the wheel so that the wheel (which disarms them) goes first.
struct Timers {
  explicit Timers(std::size_t n) : nodes(new TimerNode[n]) {
    for (std::size_t i = 0; i < n; ++i) nodes[i].set_callback(&count_fire, &fired);
  }
  std::uint64_t fired = 0;
  std::unique_ptr<TimerNode[]> nodes;
};

void arm_all(TimerWheel& wheel, Timers& t, const std::vector<Instant>& when) {
  for (std::size_t i = 0; i < when.size(); ++i) wheel.arm_at(t.nodes[i], when[i]);
}

// Arming an idle node while 1M (up to 2M) timers are pending, deadlines from 10 ms to 10 s.
void BM_Arm(benchmark::State& state) {
  const auto when = deadlines(kPending, 10ms, 10s, 1);
  const auto extra_when = deadlines(kPending, 10ms, 10s, 2);
  Timers pending(kPending), extra(kPending);
  TimerWheel wheel(1ms);
  arm_all(wheel, pending, when);
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == kPending) {
      state.PauseTiming();
      for (std::size_t j = 0; j < kPending; ++j) wheel.cancel(extra.nodes[j]);
      i = 0;
      state.ResumeTiming();
    }
    wheel.arm_at(extra.nodes[i], extra_when[i]);
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Arm);

// Cancelling a pending timer among 1M to 2M.
void BM_Cancel(benchmark::State& state) {
  const auto when = deadlines(kPending, 10ms, 10s, 3);
  const auto extra_when = deadlines(kPending, 10ms, 10s, 4);
  Timers pending(kPending), extra(kPending);
  TimerWheel wheel(1ms);
  arm_all(wheel, pending, when);
  arm_all(wheel, extra, extra_when);
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == kPending) {
      state.PauseTiming();
      arm_all(wheel, extra, extra_when);
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(wheel.cancel(extra.nodes[i]));
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Cancel);

// The TCP RTO pattern: every ACK restarts the connection's timer at now + RTO. 1M connections,
// each re-armed once per ~1 s of virtual time (time advances 1 ms per 1024 re-arms) to now + 1.5 s
// (+ up to 0.5 s jitter), so none fires; the figure includes advance() and cascading.
void BM_Rearm(benchmark::State& state) {
  const auto jitter = deadlines(kPending, 1500ms, 2s, 5);
  Timers conns(kPending);
  TimerWheel wheel(1ms);
  arm_all(wheel, conns, jitter);
  Instant now{};
  std::size_t i = 0;
  for (auto _ : state) {
    wheel.arm_at(conns.nodes[i], now + jitter[i].time_since_epoch());
    if ((++i & 1023) == 0) {
      now += 1ms;
      wheel.advance(now);
      if (i == kPending) i = 0;
    }
  }
  if (conns.fired != 0) state.SkipWithError("a timer fired");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Rearm);

// Same, with a fixed now: the pure cost of moving a timer (unlink + link).
void BM_RearmFixedNow(benchmark::State& state) {
  const auto when = deadlines(kPending, 200ms, 1200ms, 6);
  const auto again = deadlines(kPending, 200ms, 1200ms, 7);
  Timers conns(kPending);
  TimerWheel wheel(1ms);
  arm_all(wheel, conns, when);
  std::size_t i = 0;
  for (auto _ : state) {
    wheel.arm_at(conns.nodes[i], again[i]);
    if (++i == kPending) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RearmFixedNow);

// Expiry: 1M timers due within [1 ms, 1 s), advanced 1 ms at a time like an engine loop; the
// reported time is per fired timer (callback included), arming excluded.
void BM_ExpireStepping(benchmark::State& state) {
  const auto when = deadlines(kPending, 1ms, 1s, 8);
  for (auto _ : state) {
    state.PauseTiming();
    auto timers = std::make_unique<Timers>(kPending);
    auto wheel = std::make_unique<TimerWheel>(1ms);
    arm_all(*wheel, *timers, when);
    state.ResumeTiming();
    for (Instant now = Instant{} + 1ms; !wheel->empty(); now += 1ms) wheel->advance(now);
    state.PauseTiming();
    if (timers->fired != kPending) state.SkipWithError("not all fired");
    wheel.reset();
    timers.reset();
    state.ResumeTiming();
  }
  state.counters["per_timer"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kPending),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ExpireStepping)->Unit(benchmark::kMillisecond)->Iterations(5);

// Expiry across one long jump: 1M timers due within [1 s, 7200 s), one advance(7200 s). Includes
// every cascade through the levels.
void BM_ExpireOneJump7200s(benchmark::State& state) {
  const auto when = deadlines(kPending, 1s, 7200s, 9);
  for (auto _ : state) {
    state.PauseTiming();
    auto timers = std::make_unique<Timers>(kPending);
    auto wheel = std::make_unique<TimerWheel>(1ms);
    arm_all(*wheel, *timers, when);
    state.ResumeTiming();
    wheel->advance(Instant{} + 7200s);
    state.PauseTiming();
    if (timers->fired != kPending) state.SkipWithError("not all fired");
    state.counters["cascades_per_timer"] =
        static_cast<double>(wheel->counters().cascaded) / static_cast<double>(kPending);
    wheel.reset();
    timers.reset();
    state.ResumeTiming();
  }
  state.counters["per_timer"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kPending),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ExpireOneJump7200s)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace synwave

BENCHMARK_MAIN();
