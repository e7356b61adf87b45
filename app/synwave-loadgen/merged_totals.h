// The results of every engine's generator added up into one run, for synwave-loadgen's summary:
// totals and retransmits summed, latency histograms merged bucket by bucket, the timeline summed
// slice by slice and the phases (before/during/after a flood) phase by phase, and what each engine
// did on its own, so a reader can see that every engine worked.
//
// The run's time is from the earliest engine's start to the latest engine's end: the totals were
// all produced inside that interval, so dividing them by it gives the aggregate rate without
// overstating it, where the longest single engine's time would, when the engines began a little
// apart. With one engine it is that engine's own elapsed time.
//
// Each engine's timeline counts from its own start; the engines begin within an iteration or so
// of each other, far less than a slice, so slices of the same index are summed as one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/time.h"
#include "histogram.h"
#include "load_generator.h"
#include "time_slices.h"

namespace synwave::loadgen {

// What one engine's generator did, for the per-engine lines of the summary.
struct EngineTotals {
  unsigned engine = 0;
  unsigned concurrency = 0;  // its share of the slots
  Totals totals;
  double elapsed_s = 0;
};

// Adds every counter of `from` to `into`.
void add_totals(Totals& into, const Totals& from);

class MergedTotals {
 public:
  // One engine's generator after the run (the engines have stopped).
  void add(unsigned engine, unsigned concurrency, const LoadGenerator& generator);

  // The parts add() is made of.
  void add_counts(const Totals& totals, const Histogram& histogram, std::uint64_t retransmits);
  // A generator that began its load at `started` (wall clock `started_unix_s`) and ended at `ended`.
  void add_interval(Instant started, Instant ended, double started_unix_s);
  void add_phase(RunPhase phase, const PhaseTotals& totals);
  void add_slices(std::span<const SliceCounts> slices);
  void add_engine(const EngineTotals& engine) { engines_.push_back(engine); }

  const Totals& totals() const { return totals_; }
  const Histogram& histogram() const { return histogram_; }
  std::uint64_t retransmits() const { return retransmits_; }
  // Earliest start to latest end; 0 when no generator began.
  double elapsed_s() const;
  // The wall clock at the earliest start (Unix seconds), 0 when none began.
  double started_unix_s() const { return started_unix_s_; }
  const PhaseTotals& phase(RunPhase p) const { return phases_[static_cast<int>(p)]; }
  std::span<const SliceCounts> slices() const { return slices_; }
  std::span<const EngineTotals> engines() const { return engines_; }

 private:
  Totals totals_;
  Histogram histogram_;
  std::uint64_t retransmits_ = 0;
  std::optional<Instant> first_start_, last_end_;
  double started_unix_s_ = 0;
  PhaseTotals phases_[3];
  std::vector<SliceCounts> slices_;
  std::vector<EngineTotals> engines_;
};

}  // namespace synwave::loadgen
