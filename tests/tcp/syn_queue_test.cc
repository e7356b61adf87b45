// SynQueue: the half-open records and their retransmission schedule, on their own.
#include "tcp/syn_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace synwave::tcp {
namespace {

Instant at_ms(std::int64_t ms) { return instant_from_ns(ms * 1'000'000); }

TEST(SynQueueTest, RecordIsOneCacheLine) { EXPECT_LE(sizeof(HalfOpen), 64u); }

TEST(SynQueueTest, WaitAfter_DoublesFromOneSecondCappedAt120) {
  const std::vector<std::int64_t> expected_s = {1, 2, 4, 8, 16, 32, 64, 120, 120, 120};
  for (unsigned k = 0; k < expected_s.size(); ++k)
    EXPECT_EQ(SynQueue::wait_after(k), std::chrono::seconds(expected_s[k])) << "after " << k << " retransmissions";
  EXPECT_EQ(SynQueue::wait_after(255), std::chrono::seconds(120));
}

TEST(SynQueueTest, Allocate_UntilCapacityThenNullptr_ReleasedRecordReused) {
  SynQueue q(3);
  HalfOpen* a = q.allocate();
  HalfOpen* b = q.allocate();
  HalfOpen* c = q.allocate();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(q.allocate(), nullptr);
  EXPECT_EQ(q.in_use(), 3u);
  b->irs = Seq(77);
  q.release(*b);
  EXPECT_EQ(q.in_use(), 2u);
  HalfOpen* again = q.allocate();
  EXPECT_EQ(again, b);
  EXPECT_EQ(again->irs, Seq(0)) << "a reused record starts zeroed";
  EXPECT_TRUE(again->in_use);
  EXPECT_FALSE(again->scheduled);
}

TEST(SynQueueTest, ReleaseTwice_CountedOnce) {
  SynQueue q(2);
  HalfOpen* a = q.allocate();
  q.release(*a);
  q.release(*a);
  EXPECT_EQ(q.in_use(), 0u);
  EXPECT_NE(q.allocate(), nullptr);
  EXPECT_NE(q.allocate(), nullptr);
  EXPECT_EQ(q.allocate(), nullptr) << "the free list holds each record once";
}

TEST(SynQueueTest, TakeDue_EarliestFirstAcrossLevels_NothingBeforeItsDeadline) {
  SynQueue q(8);
  HalfOpen* first = q.allocate();   // at 0, no retransmission yet: due at 1 s
  HalfOpen* second = q.allocate();  // at 500 ms: due at 1.5 s
  HalfOpen* old = q.allocate();     // retransmitted twice, rescheduled at 200 ms: due at 4.2 s
  old->retransmits = 2;
  q.schedule(*first, at_ms(0));
  q.schedule(*old, at_ms(200));
  q.schedule(*second, at_ms(500));
  EXPECT_EQ(q.next_deadline(), at_ms(1000));
  EXPECT_EQ(q.take_due(at_ms(999)), nullptr);
  EXPECT_EQ(q.take_due(at_ms(1000)), first);
  EXPECT_FALSE(first->scheduled);
  EXPECT_EQ(q.next_deadline(), at_ms(1500));
  EXPECT_EQ(q.take_due(at_ms(5000)), second) << "1.5 s comes before 4.2 s";
  EXPECT_EQ(q.take_due(at_ms(5000)), old);
  EXPECT_EQ(q.take_due(at_ms(5000)), nullptr);
  EXPECT_FALSE(q.next_deadline().has_value());
}

TEST(SynQueueTest, Unschedule_FromHeadMiddleAndTail_ListStaysOrdered) {
  SynQueue q(5);
  std::vector<HalfOpen*> r;
  for (int i = 0; i < 5; ++i) {
    r.push_back(q.allocate());
    q.schedule(*r.back(), at_ms(i * 10));  // due at 1000, 1010, ..., 1040 ms
  }
  q.unschedule(*r[0]);
  q.unschedule(*r[2]);
  q.release(*r[4]);  // release unschedules too
  EXPECT_EQ(q.next_deadline(), at_ms(1010));
  EXPECT_EQ(q.take_due(at_ms(2000)), r[1]);
  EXPECT_EQ(q.take_due(at_ms(2000)), r[3]);
  EXPECT_EQ(q.take_due(at_ms(2000)), nullptr);
}

TEST(SynQueueTest, Reschedule_MovesToTheNextLevelWithItsWait) {
  SynQueue q(2);
  HalfOpen* a = q.allocate();
  q.schedule(*a, at_ms(0));
  ASSERT_EQ(q.take_due(at_ms(1000)), a);
  ++a->retransmits;
  q.schedule(*a, at_ms(1000));
  EXPECT_EQ(a->deadline, at_ms(3000));
  // Past the last level: every record there waits the capped 120 s, in arrival order.
  HalfOpen* b = q.allocate();
  b->retransmits = 9;
  q.unschedule(*a);  // before its count changes: the count names its list
  a->retransmits = 9;
  q.schedule(*b, at_ms(5000));
  q.schedule(*a, at_ms(6000));
  EXPECT_EQ(q.take_due(at_ms(200000)), b);
  EXPECT_EQ(q.take_due(at_ms(200000)), a);
}

}  // namespace
}  // namespace synwave::tcp
