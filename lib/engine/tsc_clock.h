// The engine's clock: the TSC, read once per loop iteration and turned into an Instant.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

#include "base/time.h"

namespace synwave {

class TscClock {
 public:
  // Instants count nanoseconds from the moment of construction.
  TscClock() : hz_(rte_get_tsc_hz()), start_(rte_rdtsc()) {
    // ns = cycles * 2^32 / hz * 1e9 / 2^32: one multiply and shift instead of a division.
    ns_per_cycle_q32_ = static_cast<std::uint64_t>((1'000'000'000.0 * 4294967296.0) / static_cast<double>(hz_));
  }

  Instant now() const {
    const std::uint64_t cycles = rte_rdtsc() - start_;
    const unsigned __int128 ns = static_cast<unsigned __int128>(cycles) * ns_per_cycle_q32_ >> 32;
    return instant_from_ns(static_cast<std::int64_t>(ns));
  }

  std::uint64_t hz() const { return hz_; }

 private:
  std::uint64_t hz_;
  std::uint64_t start_;
  std::uint64_t ns_per_cycle_q32_;
};

}  // namespace synwave
