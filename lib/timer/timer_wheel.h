// A hierarchical timing wheel with intrusive timers: one per engine.
//
// The object that owns a timer embeds a TimerNode; arming never allocates. Arm, cancel and re-arm
// are O(1); advance() costs O(timers fired + timers cascaded + levels), independent of how much
// time passes, because empty slots are skipped with per-level occupancy bitmaps.
//
// Time. The wheel reads no clock: it only knows the Instants its owner passes in. Time is cut into
// ticks of a resolution fixed at construction (default 1 ms); tick k is the instant k * tick since
// the epoch (Instant{}). A timer armed for deadline D is due at D rounded UP to a tick boundary,
// its "effective deadline", and it fires during the first advance(now) with now >= that boundary:
// never earlier, never later. arm_after(d) is arm_at(now() + d).
//
// Order. The timers fired by one advance() run in effective-deadline order; timers with the same
// effective deadline run in the order they were (last) armed.
//
// Overdue timers. A deadline whose tick boundary is not after the latest advance(now) (or the
// start instant) is overdue: the timer fires at the very next advance() call, whatever its now,
// before every other timer, overdue timers among themselves in arming order.
//
// Callbacks. A callback receives its context, its node (already disarmed) and the wheel's now(),
// which during advance() is the instant of the tick being expired (its effective deadline), so a
// callback that re-arms relative to now() keeps an exact schedule even when one advance() jumps
// far ahead. A callback may arm, re-arm or cancel any timer of the wheel, itself included, also
// timers due in the same advance(): a cancelled one does not run; one armed with a deadline that is
// already reached (at or before the tick being expired) runs later in the same advance(), after
// the timers already due at that tick. (So a callback that keeps re-arming itself with a zero delay
// loops forever, like any zero-delay loop.) A callback must not call advance() or destroy the
// wheel.
//
// Thread-safety: none. A wheel and all its nodes belong to one engine thread; every call, and every
// callback, happens on that thread. Other threads may not even read a node's state.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/time.h"

namespace synwave {

class TimerWheel;

namespace timer_internal {
// A link of a circular doubly-linked list; list heads are bare hooks owned by the wheel.
struct ListHook {
  ListHook* next = nullptr;
  ListHook* prev = nullptr;
};
}  // namespace timer_internal

// One timer, embedded in the object that owns it (48 bytes). Not copyable, not movable: the wheel
// links to it by address. Destroy it (or its wheel) only while it is not armed (asserted).
class TimerNode : private timer_internal::ListHook {
 public:
  // Called on the engine thread when the timer expires; `node` is already disarmed, `now` is the
  // wheel's now() (the expiring tick's instant, see the file comment).
  using Callback = void (*)(void* ctx, TimerNode& node, Instant now);

  TimerNode() = default;
  TimerNode(Callback callback, void* ctx) : callback_(callback), ctx_(ctx) {}
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;
  ~TimerNode() { assert(!armed() && "destroying an armed TimerNode; cancel it first"); }

  // Sets what runs on expiry (a null callback only disarms). Allowed at any time, even armed.
  void set_callback(Callback callback, void* ctx) {
    callback_ = callback;
    ctx_ = ctx;
  }
  // Binds a member function `void T::f(TimerNode&, Instant)` of `obj`, without allocating:
  //   node.set_callback<&Connection::on_rto>(this);
  template <auto Method, typename T>
  void set_callback(T* obj) {
    set_callback(
        [](void* ctx, TimerNode& n, Instant now) { (static_cast<T*>(ctx)->*Method)(n, now); }, obj);
  }

  // True between arm and expiry or cancel.
  bool armed() const { return where_ != kUnarmed; }
  // The effective deadline (a tick boundary) it was last armed for; meaningful once armed.
  Instant deadline() const { return instant_from_ns(deadline_ns_); }

 private:
  friend class TimerWheel;
  static constexpr std::uint8_t kUnarmed = 0xff;
  static constexpr std::uint8_t kOverdue = 0xfe;

  Callback callback_ = nullptr;
  void* ctx_ = nullptr;
  std::int64_t deadline_ns_ = 0;
  std::uint8_t where_ = kUnarmed;  // wheel level, kOverdue or kUnarmed
  std::uint8_t slot_ = 0;          // slot within the level
};

class TimerWheel {
 public:
  // Event counts since construction. armed counts every arm call (re-arms too), rearmed those on an
  // already armed node; so armed == fired + cancelled + rearmed + size() at all times.
  struct Counters {
    std::uint64_t armed = 0;
    std::uint64_t rearmed = 0;
    std::uint64_t cancelled = 0;  // cancel() calls that disarmed a timer
    std::uint64_t fired = 0;
    std::uint64_t cascaded = 0;  // moves of a timer to a finer level (cost accounting)
  };

  // `tick` > 0 is the resolution; `start` (>= the epoch) is the initial now(). Deadlines may reach
  // Instant::max() (a deadline within one tick of it is treated as the last tick boundary).
  explicit TimerWheel(Duration tick = std::chrono::milliseconds(1), Instant start = Instant{});
  // Disarms every pending timer (without running it). Not from inside a callback.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `node` to expire at `deadline` rounded up to a tick boundary; an armed node is moved
  // (its old deadline forgotten). O(1), never allocates, never fails. `node` must not be armed on
  // another wheel.
  void arm_at(TimerNode& node, Instant deadline);
  // arm_at(node, now() + delay), saturating; a delay <= 0 makes the timer overdue (outside
  // advance) or due at the current tick (inside a callback).
  void arm_after(TimerNode& node, Duration delay);
  // Disarms `node` if it is armed on this wheel; returns whether it was. O(1).
  bool cancel(TimerNode& node);

  // Moves time to `now` (a smaller value than now() counts as now()) and runs every timer due by
  // then, in order (see the file comment). Returns how many callbacks ran. Not reentrant.
  std::size_t advance(Instant now);

  // The earliest effective deadline among pending timers, exact; now() if a timer is overdue;
  // nullopt if none is pending. A virtual-time harness can advance() straight to it, an engine can
  // sleep until it. O(1) when the result is cached or lies in the finest level; otherwise it scans
  // the one slot holding the earliest timer, and caches the answer until that timer goes away.
  std::optional<Instant> next_deadline() const;

  // Pending (armed) timers.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The latest advance()'s now (or start); during a callback, the expiring tick's instant.
  Instant now() const { return now_; }
  Duration tick() const { return Duration(tick_ns_); }
  const Counters& counters() const { return counters_; }

 private:
  using ListHook = timer_internal::ListHook;
  static constexpr unsigned kLevelBits = 6;
  static constexpr unsigned kSlots = 1u << kLevelBits;  // one 64-bit occupancy word per level
  static constexpr unsigned kLevels = 11;               // 66 bits: every representable tick

  std::uint64_t ceil_tick(Instant t) const;
  std::uint64_t floor_tick(Instant t) const;
  std::uint64_t slot_start(unsigned level, unsigned slot) const;
  void place(TimerNode& node, std::uint64_t tick);
  void unlink(TimerNode& node);
  void fire(TimerNode& node);
  void cascade(unsigned level, unsigned slot);

  std::int64_t tick_ns_;
  std::uint64_t max_tick_;  // last tick whose instant is representable
  std::uint64_t cur_;       // next tick to expire: every tick < cur_ has been expired
  Instant now_;
  bool in_advance_ = false;
  bool expiring_ = false;  // inside a callback of the wheel phase (cur_ is the expiring tick)
  std::size_t size_ = 0;
  std::uint32_t level_mask_ = 0;       // bit l: occupied_[l] != 0
  std::uint64_t occupied_[kLevels]{};  // bit s: slots_[l][s] non-empty
  ListHook overdue_;
  ListHook slots_[kLevels][kSlots];
  // next_deadline() cache for the wheel proper (not the overdue list).
  mutable bool next_valid_ = false;
  mutable std::int64_t next_ns_ = 0;
  Counters counters_;
};

}  // namespace synwave
