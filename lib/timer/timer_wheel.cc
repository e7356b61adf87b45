// The hierarchical timing wheel.
//
// Ticks are unsigned 64-bit numbers cut into 6-bit groups; level l has 64 slots indexed by group l
// of a timer's tick e. cur_ is the next tick to expire. A pending timer lives at the level of the
// highest group in which e and cur_ differ (level 0 if they agree above group 0), in slot
// group_l(e). Since e >= cur_ and both agree above that group, the occupied slots of a level are
// all at or after cur_'s own slot (strictly after on levels > 0): a level never wraps, so there is
// no ambiguity and no per-timer round counter.
//
// The next thing to do is therefore always in the lowest non-empty level, at its lowest occupied
// slot: on level 0 that slot holds exactly the timers of one tick, to be run; on a higher level
// the slot must be cascaded (its timers re-placed, now at finer levels) when cur_ reaches the
// slot's first tick, which is exact because none of them is due before that tick. advance() jumps
// from one such event to the next with two count-trailing-zeros, never visiting empty ticks.
#include "timer/timer_wheel.h"

#include <bit>
#include <limits>

namespace synwave {
namespace {

using timer_internal::ListHook;

void list_init(ListHook& head) {
  head.next = head.prev = &head;
}
bool list_empty(const ListHook& head) {
  return head.next == &head;
}
void list_push_back(ListHook& head, ListHook& n) {
  n.prev = head.prev;
  n.next = &head;
  head.prev->next = &n;
  head.prev = &n;
}
void list_unlink(ListHook& n) {
  n.prev->next = n.next;
  n.next->prev = n.prev;
  n.next = n.prev = nullptr;
}

}  // namespace

TimerWheel::TimerWheel(Duration tick, Instant start)
    : tick_ns_(tick.count() > 0 ? tick.count() : 1),
      max_tick_(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / tick_ns_)),
      cur_(0),
      now_(start < Instant{} ? Instant{} : start) {
  assert(tick.count() > 0 && "the tick must be positive");
  cur_ = floor_tick(now_) + 1;  // the start tick counts as expired
  list_init(overdue_);
  for (auto& level : slots_)
    for (ListHook& head : level) list_init(head);
}

TimerWheel::~TimerWheel() {
  auto drain = [](ListHook& head) {
    while (!list_empty(head)) {
      auto& n = static_cast<TimerNode&>(*head.next);
      list_unlink(n);
      n.where_ = TimerNode::kUnarmed;
    }
  };
  drain(overdue_);
  for (auto& level : slots_)
    for (ListHook& head : level) drain(head);
}

std::uint64_t TimerWheel::ceil_tick(Instant t) const {
  const std::int64_t ns = to_ns(t);
  if (ns <= 0) return 0;
  const auto q = static_cast<std::uint64_t>(ns / tick_ns_ + (ns % tick_ns_ != 0 ? 1 : 0));
  return q < max_tick_ ? q : max_tick_;
}

std::uint64_t TimerWheel::floor_tick(Instant t) const {
  const std::int64_t ns = to_ns(t);
  return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / tick_ns_);
}

// The first tick of slot `slot` of `level`, in cur_'s span of that level.
std::uint64_t TimerWheel::slot_start(unsigned level, unsigned slot) const {
  const unsigned shift = level * kLevelBits;
  const std::uint64_t high =
      level + 1 < kLevels ? cur_ & ~((std::uint64_t{1} << (shift + kLevelBits)) - 1) : 0;
  return high | (std::uint64_t{slot} << shift);
}

// Links `node` (unlinked, tick >= cur_) into its level and slot.
void TimerWheel::place(TimerNode& node, std::uint64_t tick) {
  const std::uint64_t diff = tick ^ cur_;
  const unsigned level =
      diff < kSlots ? 0u : static_cast<unsigned>(63 - std::countl_zero(diff)) / kLevelBits;
  const unsigned slot = static_cast<unsigned>(tick >> (level * kLevelBits)) & (kSlots - 1);
  list_push_back(slots_[level][slot], node);
  occupied_[level] |= std::uint64_t{1} << slot;
  level_mask_ |= 1u << level;
  node.where_ = static_cast<std::uint8_t>(level);
  node.slot_ = static_cast<std::uint8_t>(slot);
}

// Takes an armed `node` off its list, keeping bitmaps, size and the next_deadline() cache right.
// Leaves where_ for the caller to set.
void TimerWheel::unlink(TimerNode& node) {
  // A lone element has the list head on both sides: its slot becomes empty.
  const bool last = node.next == node.prev;
  list_unlink(node);
  if (node.where_ != TimerNode::kOverdue) {
    if (last) {
      occupied_[node.where_] &= ~(std::uint64_t{1} << node.slot_);
      if (occupied_[node.where_] == 0) level_mask_ &= ~(1u << node.where_);
    }
    if (next_valid_ && node.deadline_ns_ == next_ns_) next_valid_ = false;
  }
  --size_;
}

void TimerWheel::arm_at(TimerNode& node, Instant deadline) {
  if (node.armed()) {
    unlink(node);
    ++counters_.rearmed;
  }
  ++counters_.armed;
  ++size_;
  std::uint64_t tick = ceil_tick(deadline);
  // Inside a callback cur_ is the expiring tick: a reached deadline is due at that very tick.
  if (expiring_ && tick < cur_) tick = cur_;
  node.deadline_ns_ = static_cast<std::int64_t>(tick) * tick_ns_;
  if (tick < cur_) {
    list_push_back(overdue_, node);
    node.where_ = TimerNode::kOverdue;
    return;
  }
  place(node, tick);
  if (next_valid_ && node.deadline_ns_ < next_ns_) next_ns_ = node.deadline_ns_;
}

void TimerWheel::arm_after(TimerNode& node, Duration delay) {
  const std::int64_t now_ns = to_ns(now_);
  const std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
  const std::int64_t d = delay.count();
  arm_at(node, instant_from_ns(d > max_ns - now_ns ? max_ns : now_ns + d));
}

bool TimerWheel::cancel(TimerNode& node) {
  if (!node.armed()) return false;
  unlink(node);
  node.where_ = TimerNode::kUnarmed;
  ++counters_.cancelled;
  return true;
}

void TimerWheel::fire(TimerNode& node) {
  unlink(node);
  node.where_ = TimerNode::kUnarmed;
  ++counters_.fired;
  if (node.callback_ != nullptr) node.callback_(node.ctx_, node, now_);
}

// cur_ has just reached the first tick of `slot` of `level`: re-place its timers, all finer now.
void TimerWheel::cascade(unsigned level, unsigned slot) {
  ListHook& head = slots_[level][slot];
  while (!list_empty(head)) {
    auto& n = static_cast<TimerNode&>(*head.next);
    list_unlink(n);
    place(n, static_cast<std::uint64_t>(n.deadline_ns_ / tick_ns_));
    ++counters_.cascaded;
  }
  occupied_[level] &= ~(std::uint64_t{1} << slot);
  if (occupied_[level] == 0) level_mask_ &= ~(1u << level);
}

std::size_t TimerWheel::advance(Instant now) {
  assert(!in_advance_ && "TimerWheel::advance() is not reentrant");
  if (now < now_) now = now_;
  in_advance_ = true;
  std::size_t ran = 0;

  // Overdue timers first: their ticks are all before cur_. Those armed meanwhile join the queue.
  while (!list_empty(overdue_)) {
    fire(static_cast<TimerNode&>(*overdue_.next));
    ++ran;
  }

  const std::uint64_t target = floor_tick(now);  // expire every tick <= target
  if (target >= cur_) {
    while (level_mask_ != 0) {
      const auto level = static_cast<unsigned>(std::countr_zero(level_mask_));
      const auto slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
      const std::uint64_t start = slot_start(level, slot);
      if (level == 0) {
        if (start > target) break;
        cur_ = start;
        now_ = instant_from_ns(static_cast<std::int64_t>(start) * tick_ns_);
        expiring_ = true;
        // Pop one at a time: callbacks may cancel the next ones or append to this very slot.
        ListHook& head = slots_[0][slot];
        while (!list_empty(head)) {
          fire(static_cast<TimerNode&>(*head.next));
          ++ran;
        }
        expiring_ = false;
        cur_ = start + 1;
      } else {
        // A slot starting at target + 1 is cascaded too, so that after cur_ = target + 1 every
        // higher-level slot still lies strictly after cur_.
        if (start > target + 1) break;
        cur_ = start;
        cascade(level, slot);
      }
    }
    cur_ = target + 1;
  }
  now_ = now;
  in_advance_ = false;
  return ran;
}

std::optional<Instant> TimerWheel::next_deadline() const {
  if (!list_empty(overdue_)) return now_;
  if (level_mask_ == 0) return std::nullopt;
  if (!next_valid_) {
    // The earliest timer is in the first occupied slot of the lowest non-empty level.
    const auto level = static_cast<unsigned>(std::countr_zero(level_mask_));
    const auto slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
    if (level == 0) {
      next_ns_ = static_cast<std::int64_t>(slot_start(0, slot)) * tick_ns_;
    } else {
      const ListHook& head = slots_[level][slot];
      std::int64_t best = std::numeric_limits<std::int64_t>::max();
      for (const ListHook* h = head.next; h != &head; h = h->next) {
        const auto& n = static_cast<const TimerNode&>(*h);
        if (n.deadline_ns_ < best) best = n.deadline_ns_;
      }
      next_ns_ = best;
    }
    next_valid_ = true;
  }
  return instant_from_ns(next_ns_);
}

}  // namespace synwave
