// The JSON that synwave-loadgen adds to its summary with a timeline (--timeline-ms, or a flood):
//   "timeline": {"slice_s", "completed": [...], "errors": [...], "flood_sent": [...], "answers": [...]}
//   "phases": {"before"|"during"|"after": {"start_s", "end_s", "completed", "errors", "rate_per_s",
//              "latency_ns": {"p50", "p99", "samples"}}}
//   "flood": {...}  (with --flood-rate only)
// Each written as `, "key": value`, to go inside the summary's object.
#pragma once

#include <cstdio>

#include "base/time.h"
#include "flood_side_load.h"
#include "merged_totals.h"

namespace synwave::loadgen {

// `run`: every engine's generator merged, its slices `slice_width` wide; `window_start_s`/
// `window_end_s`: the phase boundaries after the load's start; `run_s`: the load's duration.
// `flood`/`flood_options` are null without a flood.
void print_timeline_json(std::FILE* out, Duration slice_width, const MergedTotals& run, double window_start_s,
                         double window_end_s, double run_s, const SideFloodOptions* flood_options,
                         const SideFloodTotals* flood);

}  // namespace synwave::loadgen
