// How synwave-loadgen divides its load over the engines: each engine runs a generator of its own
// (engines share no state while they run), so --concurrency, --count and --rate are split up
// front.
//
// The engines that take part are the first min(engines, concurrency, count) (count only when it
// bounds the run): an engine with no slot, or with no transaction left to issue, runs no
// generator (a count of 0 would mean "unbounded" to it). Among those, engine e gets
// total / used, plus one for the first total % used, for the slots and for the count; the rate
// is divided evenly. With one engine the single share is the whole load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace synwave::loadgen {

struct EngineShare {
  unsigned concurrency = 0;  // slots: connections this engine keeps going
  std::uint64_t count = 0;   // 0: no count bound (as the whole run's count)
  double rate = 0;           // 0: as fast as possible (as the whole run's rate)
};

// `total / parts`, plus one for the first `total % parts` parts.
std::uint64_t share_of(std::uint64_t total, std::size_t parts, std::size_t index);

// One share per engine that takes part, engine 0 first (always at least one when engines > 0).
std::vector<EngineShare> split_load(unsigned concurrency, std::uint64_t count, double rate, std::size_t engines);

}  // namespace synwave::loadgen
