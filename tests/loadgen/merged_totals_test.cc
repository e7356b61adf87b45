#include "merged_totals.h"

#include <gtest/gtest.h>

namespace synwave::loadgen {
namespace {

Totals some_totals(std::uint64_t base) {
  Totals t;
  t.connections = base;
  t.completed = base + 1;
  t.errors[static_cast<int>(ErrorKind::kRefused)] = base + 2;
  t.errors[static_cast<int>(ErrorKind::kOther)] = 1;
  t.addr_not_avail = base + 3;
  t.no_socket = base + 4;
  t.bytes_sent = base * 100;
  t.bytes_received = base * 1000;
  t.bad_responses = 1;
  return t;
}

TEST(MergedTotals, SumsEveryCounter) {
  Totals into = some_totals(10);
  add_totals(into, some_totals(20));
  EXPECT_EQ(into.connections, 30u);
  EXPECT_EQ(into.completed, 32u);
  EXPECT_EQ(into.errors[static_cast<int>(ErrorKind::kRefused)], 34u);
  EXPECT_EQ(into.errors[static_cast<int>(ErrorKind::kOther)], 2u);
  EXPECT_EQ(into.error_total(), 36u);
  EXPECT_EQ(into.addr_not_avail, 36u);
  EXPECT_EQ(into.no_socket, 38u);
  EXPECT_EQ(into.bytes_sent, 3000u);
  EXPECT_EQ(into.bytes_received, 30000u);
  EXPECT_EQ(into.bad_responses, 2u);
}

TEST(MergedTotals, CountsHistogramsAndRetransmitsAddUp) {
  MergedTotals run;
  Histogram a, b;
  a.record(1000);
  b.record(3000);
  b.record(5000);
  run.add_counts(some_totals(1), a, 4);
  run.add_counts(some_totals(2), b, 6);
  EXPECT_EQ(run.totals().connections, 3u);
  EXPECT_EQ(run.histogram().count(), 3u);
  EXPECT_EQ(run.histogram().min(), 1000u);
  EXPECT_EQ(run.histogram().max(), 5000u);
  EXPECT_EQ(run.retransmits(), 10u);
}

TEST(MergedTotals, ElapsedRunsFromTheEarliestStartToTheLatestEnd) {
  MergedTotals run;
  EXPECT_EQ(run.elapsed_s(), 0.0);  // no engine began
  run.add_interval(instant_from_ns(2'000'000'000), instant_from_ns(5'000'000'000), 100.5);
  run.add_interval(instant_from_ns(1'500'000'000), instant_from_ns(4'000'000'000), 100.0);
  EXPECT_DOUBLE_EQ(run.elapsed_s(), 3.5);
  EXPECT_DOUBLE_EQ(run.started_unix_s(), 100.0);  // the earliest start's wall clock
}

TEST(MergedTotals, OneEngineKeepsItsOwnElapsedTime) {
  MergedTotals run;
  run.add_interval(instant_from_ns(1'000'000'000), instant_from_ns(3'250'000'000), 7.0);
  EXPECT_DOUBLE_EQ(run.elapsed_s(), 2.25);
}

TEST(MergedTotals, PhasesAndSlicesAreSummedIndexByIndex) {
  MergedTotals run;
  PhaseTotals during;
  during.completed = 5;
  during.errors = 1;
  during.histogram.record(2000);
  run.add_phase(RunPhase::kDuring, during);
  run.add_phase(RunPhase::kDuring, during);
  EXPECT_EQ(run.phase(RunPhase::kDuring).completed, 10u);
  EXPECT_EQ(run.phase(RunPhase::kDuring).errors, 2u);
  EXPECT_EQ(run.phase(RunPhase::kDuring).histogram.count(), 2u);
  EXPECT_EQ(run.phase(RunPhase::kBefore).completed, 0u);

  const SliceCounts engine0[3] = {{1, 0, 10, 2}, {2, 1, 20, 3}, {3, 0, 0, 0}};
  const SliceCounts engine1[2] = {{4, 0, 0, 0}, {5, 2, 0, 0}};  // ended a slice earlier
  run.add_slices(engine0);
  run.add_slices(engine1);
  ASSERT_EQ(run.slices().size(), 3u);
  EXPECT_EQ(run.slices()[0].completed, 5u);
  EXPECT_EQ(run.slices()[1].completed, 7u);
  EXPECT_EQ(run.slices()[1].errors, 3u);
  EXPECT_EQ(run.slices()[1].flood_sent, 20u);
  EXPECT_EQ(run.slices()[1].answers, 3u);
  EXPECT_EQ(run.slices()[2].completed, 3u);
}

TEST(MergedTotals, AGeneratorThatNeverRanAddsOnlyZeros) {
  Options options;
  options.concurrency = 2;
  const LoadGenerator idle(options);
  MergedTotals run;
  run.add(1, 2, idle);
  EXPECT_EQ(run.totals().completed, 0u);
  EXPECT_EQ(run.elapsed_s(), 0.0);
  EXPECT_TRUE(run.slices().empty());
  ASSERT_EQ(run.engines().size(), 1u);
  EXPECT_EQ(run.engines()[0].engine, 1u);
  EXPECT_EQ(run.engines()[0].concurrency, 2u);
}

}  // namespace
}  // namespace synwave::loadgen
