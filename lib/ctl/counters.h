// One place that knows every counter of the running stack, for telemetry and the daemon's report.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "engine/runtime.h"

namespace synwave {

// name -> value; sums over engines (and ports) unless `engine` names one of them.
// Reads other threads' counters with relaxed loads: safe from any thread while engines run.
std::map<std::string, std::uint64_t> collect_counters(const Runtime& runtime, int engine = -1);

}  // namespace synwave
