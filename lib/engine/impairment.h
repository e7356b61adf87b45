// A simulated lossy link inside the engine ([impairment] in the configuration): seeded loss,
// duplication, delay and reordering of the frames one port queue receives or sends.
//
// It exists to test TCP against the Linux kernel where the kernel has no sch_netem; it is a test
// tool, built only when ImpairmentConfig::enabled(). docs/configuration.md describes it for users.
//
// Per frame, in this order:
//   1. loss: with loss_percent the frame is freed and counted (dropped);
//   2. duplication: otherwise, with duplicate_percent, a copy (rte_pktmbuf_copy into the stage's
//      pool; any segment chain) enters right behind it (duplicated). When the pool is empty there
//      is no copy;
//   3. each frame that enters (the original, and its copy) is due at now + delay_us (delayed, when
//      delay_us > 0), and with reorder_percent it is held back (reordered): it leaves right after
//      the next frame that enters without being held, at that frame's due time, or, when no such
//      frame enters before its own due + max(delay_us, 1 ms), at that instant. Several held frames
//      in a row leave together after the follower, in their arrival order ("A(held) B C(held) D"
//      leaves as "B A D C");
//   4. at most `capacity` frames (4096 by default) wait at a time, held or delayed; a frame that
//      finds the stage full is freed and counted (overflow). The stage never blocks.
// Frames that are not held leave in arrival order, at their due time or later (the first call of
// pass() / release_due() at or after it).
//
// Randomness: a splitmix64 stream seeded from (seed, stream), so each stage of each engine and
// port draws its own reproducible sequence. Draws per frame, only for non-zero rates: loss; then
// duplicate; then reorder for the frame and, if copied, for its copy.
//
// Thread-safety: one stage belongs to one engine thread; only its counters (in the engine's
// CounterSet) are read by other threads. No heap allocation after construction.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/engine_stats.h"

namespace synwave {

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush; its output is the same on
// every platform, which is what makes an impaired run reproducible.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // A 53-bit threshold for a probability in percent: chance() is true with percent / 100.
  static std::uint64_t threshold(double percent) {
    if (percent <= 0) return 0;
    if (percent >= 100) return kOne;
    return static_cast<std::uint64_t>(percent / 100.0 * static_cast<double>(kOne));
  }
  bool chance(std::uint64_t threshold) { return (next() >> 11) < threshold; }

  static constexpr std::uint64_t kOne = std::uint64_t{1} << 53;

 private:
  std::uint64_t state_;
};

class LinkImpairment {
 public:
  enum class Direction { kRx, kTx };
  static constexpr std::size_t kDefaultCapacity = 4096;

  // `pool` receives the duplicates; `stats` is the engine's counter set (the stage counts into the
  // five impairment counters of `direction`); `stream` tells stages with the same seed apart.
  LinkImpairment(const ImpairmentConfig& config, Direction direction, rte_mempool* pool,
                 CounterSet<EngineStat>& stats, std::uint64_t stream,
                 std::size_t capacity = kDefaultCapacity);
  ~LinkImpairment() { clear(); }
  LinkImpairment(const LinkImpairment&) = delete;
  LinkImpairment& operator=(const LinkImpairment&) = delete;

  // Takes ownership of frames[0..n) at `now` (dropping, copying, delaying, holding them) and
  // writes to `out` up to `out_capacity` frames due at `now`, oldest first, the caller then owning
  // them. Returns how many it wrote; what did not fit stays for the next call. `out` may be
  // `frames` itself. `now` must not go backwards between calls.
  std::uint16_t pass(rte_mbuf* const* frames, std::uint16_t n, Instant now, rte_mbuf** out,
                     std::uint16_t out_capacity);

  // pass() without new frames: the frames due at `now`.
  std::uint16_t release_due(Instant now, rte_mbuf** out, std::uint16_t out_capacity) {
    return pass(nullptr, 0, now, out, out_capacity);
  }

  // Frees every frame the stage holds (engine stop, destructor). Counts nothing.
  void clear();

  // Frames waiting (delayed or held back).
  std::size_t waiting() const { return ready_.size() + held_.size(); }
  std::size_t capacity() const { return capacity_; }
  Direction direction() const { return direction_; }

 private:
  struct Entry {
    rte_mbuf* frame;
    Instant due;
  };
  // A fixed-capacity FIFO over storage allocated once.
  class Fifo {
   public:
    explicit Fifo(std::size_t capacity) : slots_(capacity) {}
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    Entry& front() { return slots_[head_]; }
    void push(Entry e) {
      slots_[(head_ + size_) % slots_.size()] = e;
      ++size_;
    }
    void pop() {
      head_ = (head_ + 1) % slots_.size();
      --size_;
    }

   private:
    std::vector<Entry> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  // Offsets of the five counters inside a direction's block of EngineStat.
  enum Stat : unsigned { kDropped, kDuplicated, kReordered, kDelayed, kOverflow };
  void count(Stat stat, std::uint64_t n = 1) {
    stats_.add(static_cast<EngineStat>(first_stat_ + stat), n);
  }
  void enter(rte_mbuf* frame, Instant now);
  void expire_held(Instant now);

  Direction direction_;
  rte_mempool* pool_;
  CounterSet<EngineStat>& stats_;
  unsigned first_stat_;
  std::uint64_t loss_;       // SplitMix64 thresholds
  std::uint64_t duplicate_;
  std::uint64_t reorder_;
  Duration delay_;
  Duration hold_limit_;  // max(delay, 1 ms): how long a held frame waits for a follower
  std::size_t capacity_;
  SplitMix64 rng_;
  Fifo ready_;  // leaving in this order, each at its due time
  Fifo held_;   // held back, waiting for the next frame that is not
};

}  // namespace synwave
