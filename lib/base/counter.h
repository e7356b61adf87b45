// Counters with one writer and any number of readers.
//
// Each engine owns its counters and is their only writer, so an increment is a relaxed load and a
// relaxed store: no locked instruction on the packet path. Readers on other threads (telemetry,
// the control command) see a value that is at most a few increments stale, never a torn one.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synwave {

class Counter {
 public:
  // Writer side: only the owning engine thread may call these.
  void add(std::uint64_t n) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void inc() { add(1); }
  // Reader side: any thread.
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A fixed set of counters indexed by an enum whose last enumerator is kCount, with a name each.
// Names come from a constexpr table the enum's owner keeps next to the enum.
template <typename Enum>
class CounterSet {
 public:
  static constexpr std::size_t kSize = static_cast<std::size_t>(Enum::kCount);

  void inc(Enum e) { counters_[static_cast<std::size_t>(e)].inc(); }
  void add(Enum e, std::uint64_t n) { counters_[static_cast<std::size_t>(e)].add(n); }
  std::uint64_t get(Enum e) const { return counters_[static_cast<std::size_t>(e)].get(); }
  std::uint64_t get(std::size_t i) const { return counters_[i].get(); }
  std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (const Counter& c : counters_) sum += c.get();
    return sum;
  }

 private:
  std::array<Counter, kSize> counters_{};
};

}  // namespace synwave
