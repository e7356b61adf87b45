#include "engine_report.h"

namespace synwave::loadgen {
namespace {

using ull = unsigned long long;

double per_second(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

}  // namespace

void print_engine_lines(std::FILE* out, const MergedTotals& run) {
  for (const EngineTotals& e : run.engines()) {
    std::fprintf(out, "  engine %u: concurrency %u, %llu completed, %.0f conn/s, %.0f req/s, errors %llu\n", e.engine,
                 e.concurrency, static_cast<ull>(e.totals.completed), per_second(e.totals.connections, e.elapsed_s),
                 per_second(e.totals.completed, e.elapsed_s), static_cast<ull>(e.totals.error_total()));
  }
}

void print_engines_json(std::FILE* out, const MergedTotals& run) {
  std::fputs(", \"engines\": [", out);
  bool first = true;
  for (const EngineTotals& e : run.engines()) {
    std::fprintf(out,
                 "%s{\"engine\": %u, \"concurrency\": %u, \"completed\": %llu, \"connections\": %llu, "
                 "\"errors\": %llu, \"duration_s\": %.6f}",
                 first ? "" : ", ", e.engine, e.concurrency, static_cast<ull>(e.totals.completed),
                 static_cast<ull>(e.totals.connections), static_cast<ull>(e.totals.error_total()), e.elapsed_s);
    first = false;
  }
  std::fputc(']', out);
}

}  // namespace synwave::loadgen
