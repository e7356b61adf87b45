// An HDR-style latency histogram: log-linear buckets with 128 linear sub-buckets per power of two
// (better than 1% resolution, i.e. 2 significant digits), from 1 ns to 2^36 ns (~68 s). A fixed
// array; record() is a few shifts and an increment, with no allocation. Histograms of several
// engines merge() into one.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace synwave::loadgen {

class Histogram {
 public:
  static constexpr int kSubBits = 7;                        // 128 sub-buckets per half-range
  static constexpr std::uint64_t kMaxValue = (1ull << 36) - 1;  // ~68.7 s in ns
  static constexpr std::size_t kBuckets = (36 - kSubBits + 1) * (1u << kSubBits);

  static std::size_t index_of(std::uint64_t v) {
    v = std::min(v, kMaxValue);
    if (v < (2u << kSubBits)) return static_cast<std::size_t>(v);
    const int e = 63 - std::countl_zero(v);  // >= kSubBits + 1
    const int shift = e - kSubBits;
    return static_cast<std::size_t>(shift) * (1u << kSubBits) + static_cast<std::size_t>(v >> shift);
  }
  // The highest value that falls into bucket i (what HdrHistogram reports).
  static std::uint64_t highest_of(std::size_t i) {
    if (i < (2u << kSubBits)) return i;
    const std::size_t shift = i / (1u << kSubBits) - 1;
    const std::uint64_t sub = i - shift * (1u << kSubBits);
    return ((sub + 1) << shift) - 1;
  }

  void record(std::uint64_t v) {
    ++counts_[index_of(v)];
    ++total_;
    sum_ += v;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  // Adds every sample of `other` (e.g. another engine's), as if recorded here: the buckets share
  // one layout, so the merged percentiles are those of the union of the samples.
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t min() const { return total_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The value at percentile p (0..100): the smallest bucket whose cumulative count reaches
  // ceil(p% of the samples), reported as that bucket's highest value, capped at the maximum seen.
  std::uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    std::uint64_t target = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.999999);
    target = std::clamp<std::uint64_t>(target, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= target) return std::min(highest_of(i), max_);
    }
    return max_;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = ~0ull;
  std::uint64_t max_ = 0;
};

}  // namespace synwave::loadgen
