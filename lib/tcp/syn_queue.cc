// The half-open records and their SYN-ACK retransmission schedule (syn_queue.h).
#include "tcp/syn_queue.h"

#include <algorithm>

namespace synwave::tcp {

SynQueue::SynQueue(std::uint32_t capacity)
    : records_(std::make_unique<HalfOpen[]>(capacity)), capacity_(capacity) {
  for (std::uint32_t i = capacity; i-- > 0;) {
    records_[i].next = free_head_;
    free_head_ = i;
  }
}

HalfOpen* SynQueue::allocate() {
  if (free_head_ == kNone) return nullptr;
  HalfOpen& record = records_[free_head_];
  free_head_ = record.next;
  record = HalfOpen{};
  record.in_use = true;
  record.prev = record.next = kNone;
  ++in_use_;
  return &record;
}

void SynQueue::release(HalfOpen& record) {
  if (!record.in_use) return;
  unschedule(record);
  record.in_use = false;
  record.next = free_head_;
  free_head_ = index_of(record);
  --in_use_;
}

Duration SynQueue::wait_after(unsigned retransmits) {
  if (retransmits >= 7) return kMaxRto;  // 1 s << 7 is past the cap
  return std::min<Duration>(kInitialRto * (1u << retransmits), kMaxRto);
}

void SynQueue::schedule(HalfOpen& record, Instant now) {
  unschedule(record);
  record.deadline = now + wait_after(record.retransmits);
  List& list = lists_[level_of(record.retransmits)];
  const std::uint32_t index = index_of(record);
  record.prev = list.tail;
  record.next = kNone;
  if (list.tail == kNone) list.head = index;
  else records_[list.tail].next = index;
  list.tail = index;
  record.scheduled = true;
}

void SynQueue::unschedule(HalfOpen& record) {
  if (!record.scheduled) return;
  List& list = lists_[level_of(record.retransmits)];
  if (record.prev == kNone) list.head = record.next;
  else records_[record.prev].next = record.next;
  if (record.next == kNone) list.tail = record.prev;
  else records_[record.next].prev = record.prev;
  record.prev = record.next = kNone;
  record.scheduled = false;
}

std::optional<Instant> SynQueue::next_deadline() const {
  std::optional<Instant> earliest;
  for (const List& list : lists_)
    if (list.head != kNone && (!earliest || records_[list.head].deadline < *earliest))
      earliest = records_[list.head].deadline;
  return earliest;
}

HalfOpen* SynQueue::take_due(Instant now) {
  HalfOpen* due = nullptr;
  for (const List& list : lists_) {
    if (list.head == kNone) continue;
    HalfOpen& head = records_[list.head];
    if (head.deadline <= now && (due == nullptr || head.deadline < due->deadline)) due = &head;
  }
  if (due != nullptr) unschedule(*due);
  return due;
}

}  // namespace synwave::tcp
