// Time as the engine hands it down to every layer.
//
// Protocol code never reads a clock: the engine reads the TSC once per loop iteration and passes
// an Instant down; tests pass a virtual Instant they advance themselves.
#pragma once

#include <chrono>
#include <cstdint>

namespace synwave {

// A clock type that only names the time base; it deliberately has no now().
struct EngineClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<EngineClock>;
  static constexpr bool is_steady = true;
};

// Nanoseconds since an arbitrary epoch (the engine's start, or zero under test).
using Instant = EngineClock::time_point;
using Duration = EngineClock::duration;

using std::chrono_literals::operator""ns;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

// Instant from a plain nanosecond count (handy in tests and when converting TSC readings).
constexpr Instant instant_from_ns(std::int64_t ns) { return Instant(Duration(ns)); }
constexpr std::int64_t to_ns(Instant t) { return t.time_since_epoch().count(); }
constexpr std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace synwave
