// How many packets a rated flood may offer at a given moment.
//
// A schedule, not a short token bucket: by time t the flood is owed rate * (t - start) packets
// in all, and whatever it has not offered yet it may offer now. A generator thread that lost its
// core for a while (a loaded machine) catches up afterwards instead of losing those packets, so
// the average rate holds. The catch-up is capped (`max_catch_up`): after a longer stall the
// excess is forgiven and counted, so one long stall does not turn into a line-rate burst.
//
// Pure: no DPDK, no clock of its own; the caller passes `now`.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/time.h"

namespace synwave::flood {

class FloodPacer {
 public:
  // `rate`: packets per second, above 0.
  FloodPacer(double rate, Duration max_catch_up)
      : rate_(rate),
        max_owed_(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate * static_cast<double>(max_catch_up.count()) / 1e9))) {}

  void start(Instant now) {
    start_ = now;
    granted_ = 0;
    forgiven_ = 0;
  }

  // Packets that may be offered at `now`, at most `limit`; the caller reports what it offered
  // with spent().
  std::uint64_t allowance(Instant now, std::uint64_t limit) {
    if (now <= start_) return 0;
    // rate * ns first, then / 1e9: exact for whole rates (no 0.3 s * rate = 299999.99...).
    const auto scheduled = static_cast<std::uint64_t>(rate_ * static_cast<double>((now - start_).count()) / 1e9);
    if (scheduled <= forgiven_ + granted_) return 0;
    std::uint64_t owed = scheduled - forgiven_ - granted_;
    if (owed > max_owed_) {  // stalled longer than the catch-up allows
      forgiven_ += owed - max_owed_;
      owed = max_owed_;
    }
    return std::min(owed, limit);
  }
  void spent(std::uint64_t n) { granted_ += n; }

  // Packets given up after stalls longer than the catch-up (0 unless the thread lost its core).
  std::uint64_t forgiven() const { return forgiven_; }

 private:
  double rate_;
  std::uint64_t max_owed_;
  Instant start_{};
  std::uint64_t granted_ = 0;
  std::uint64_t forgiven_ = 0;
};

}  // namespace synwave::flood
