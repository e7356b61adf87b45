#include "merged_totals.h"

#include <algorithm>

namespace synwave::loadgen {

void add_totals(Totals& into, const Totals& from) {
  into.connections += from.connections;
  into.completed += from.completed;
  for (int k = 0; k < static_cast<int>(ErrorKind::kCount); ++k) into.errors[k] += from.errors[k];
  into.addr_not_avail += from.addr_not_avail;
  into.no_socket += from.no_socket;
  into.bytes_sent += from.bytes_sent;
  into.bytes_received += from.bytes_received;
  into.bad_responses += from.bad_responses;
}

void MergedTotals::add(unsigned engine, unsigned concurrency, const LoadGenerator& generator) {
  add_counts(generator.totals(), generator.histogram(), generator.retransmits());
  if (generator.started()) add_interval(generator.started_at(), generator.ended_at(), generator.started_unix_s());
  for (int p = 0; p < 3; ++p) add_phase(static_cast<RunPhase>(p), generator.phase(static_cast<RunPhase>(p)));
  if (generator.timeline() != nullptr) add_slices(generator.timeline()->recorded());
  add_engine({.engine = engine, .concurrency = concurrency, .totals = generator.totals(),
              .elapsed_s = generator.elapsed_s()});
}

void MergedTotals::add_counts(const Totals& totals, const Histogram& histogram, std::uint64_t retransmits) {
  add_totals(totals_, totals);
  histogram_.merge(histogram);
  retransmits_ += retransmits;
}

void MergedTotals::add_interval(Instant started, Instant ended, double started_unix_s) {
  if (!first_start_ || started < *first_start_) {
    first_start_ = started;
    started_unix_s_ = started_unix_s;
  }
  if (!last_end_ || ended > *last_end_) last_end_ = ended;
}

double MergedTotals::elapsed_s() const {
  if (!first_start_) return 0;
  return static_cast<double>((*last_end_ - *first_start_).count()) * 1e-9;
}

void MergedTotals::add_phase(RunPhase phase, const PhaseTotals& totals) {
  PhaseTotals& into = phases_[static_cast<int>(phase)];
  into.completed += totals.completed;
  into.errors += totals.errors;
  into.histogram.merge(totals.histogram);
}

void MergedTotals::add_slices(std::span<const SliceCounts> slices) {
  if (slices_.size() < slices.size()) slices_.resize(slices.size());
  for (std::size_t i = 0; i < slices.size(); ++i) {
    slices_[i].completed += slices[i].completed;
    slices_[i].errors += slices[i].errors;
    slices_[i].flood_sent += slices[i].flood_sent;
    slices_[i].answers += slices[i].answers;
  }
}

}  // namespace synwave::loadgen
