#include "timeline_report.h"

#include <algorithm>

namespace synwave::loadgen {
namespace {

using ull = unsigned long long;

template <typename Field>
void print_series(std::FILE* out, const char* name, std::span<const SliceCounts> slices, Field field) {
  std::fprintf(out, ", \"%s\": [", name);
  for (std::size_t i = 0; i < slices.size(); ++i)
    std::fprintf(out, "%s%llu", i == 0 ? "" : ",", static_cast<ull>(field(slices[i])));
  std::fputc(']', out);
}

}  // namespace

void print_timeline_json(std::FILE* out, Duration slice_width, const MergedTotals& run, double window_start_s,
                         double window_end_s, double run_s, const SideFloodOptions* flood_options,
                         const SideFloodTotals* flood) {
  const std::span<const SliceCounts> s = run.slices();
  std::fprintf(out, ", \"timeline\": {\"slice_s\": %.3f, \"started_unix_s\": %.6f",
               static_cast<double>(slice_width.count()) * 1e-9, run.started_unix_s());
  print_series(out, "completed", s, [](const SliceCounts& c) { return c.completed; });
  print_series(out, "errors", s, [](const SliceCounts& c) { return c.errors; });
  print_series(out, "flood_sent", s, [](const SliceCounts& c) { return c.flood_sent; });
  print_series(out, "answers", s, [](const SliceCounts& c) { return c.answers; });
  std::fputs("}, \"phases\": {", out);
  const double bounds[4] = {0, window_start_s, window_end_s, run_s};
  for (int i = 0; i < 3; ++i) {
    const PhaseTotals& p = run.phase(static_cast<RunPhase>(i));
    const double secs = std::max(bounds[i + 1] - bounds[i], 1e-9);
    std::fprintf(out,
                 "%s\"%s\": {\"start_s\": %.3f, \"end_s\": %.3f, \"completed\": %llu, \"errors\": %llu, "
                 "\"rate_per_s\": %.1f, \"latency_ns\": {\"p50\": %llu, \"p99\": %llu, \"samples\": %llu}}",
                 i == 0 ? "" : ", ", kPhaseNames[i], bounds[i], bounds[i + 1], static_cast<ull>(p.completed),
                 static_cast<ull>(p.errors), static_cast<double>(p.completed) / secs,
                 static_cast<ull>(p.histogram.percentile(50)), static_cast<ull>(p.histogram.percentile(99)),
                 static_cast<ull>(p.histogram.count()));
  }
  std::fputc('}', out);
  if (flood == nullptr || flood_options == nullptr) return;
  const double pps = flood->elapsed_s > 0 ? static_cast<double>(flood->sent) / flood->elapsed_s : 0;
  const double offered_pps = flood->elapsed_s > 0 ? static_cast<double>(flood->offered) / flood->elapsed_s : 0;
  std::fprintf(out,
               ", \"flood\": {\"kind\": \"syn\", \"rate\": %.1f, \"start_s\": %.3f, \"duration_limit_s\": %.3f, "
               "\"count_limit\": %llu, \"started_s\": %.3f, \"elapsed_s\": %.6f, \"offered\": %llu, \"offered_pps\": %.1f, "
               "\"sent\": %llu, \"pps\": %.1f, "
               "\"unsent\": %llu, \"dropped\": %llu, \"load_tx_drops\": %llu, \"ring_full\": %llu, \"no_mbuf\": %llu, \"forgiven\": %llu, \"answers\": %llu, "
               "\"unresolved\": %s}",
               flood_options->rate, flood_options->start_s, flood_options->duration_s,
               static_cast<ull>(flood_options->count), flood->started_s, flood->elapsed_s,
               static_cast<ull>(flood->offered), offered_pps, static_cast<ull>(flood->sent), pps, static_cast<ull>(flood->unsent), static_cast<ull>(flood->dropped),
               static_cast<ull>(flood->load_tx_drops), static_cast<ull>(flood->ring_full),
               static_cast<ull>(flood->no_mbuf), static_cast<ull>(flood->forgiven), static_cast<ull>(flood->answers),
               flood->unresolved ? "true" : "false");
}

}  // namespace synwave::loadgen
