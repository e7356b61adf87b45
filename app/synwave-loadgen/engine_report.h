// What each engine's generator did on its own, in synwave-loadgen's summary, so a reader (or a
// test) can see that every engine carried load:
//   text: one line per engine, "  engine E: concurrency C, N completed, X conn/s, Y req/s, errors Z"
//   JSON: , "engines": [{"engine", "concurrency", "completed", "connections", "errors", "duration_s"}, ...]
#pragma once

#include <cstdio>

#include "merged_totals.h"

namespace synwave::loadgen {

void print_engine_lines(std::FILE* out, const MergedTotals& run);
// Written as `, "engines": [...]`, to go inside the summary's object.
void print_engines_json(std::FILE* out, const MergedTotals& run);

}  // namespace synwave::loadgen
