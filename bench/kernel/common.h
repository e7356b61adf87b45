// Shared by the kernel-socket baseline programs (epoll_server, epoll_client): CPU pinning, a
// monotonic clock, and a small HDR-style log-linear latency histogram. Plain Linux, no DPDK.
#pragma once

#include <sched.h>
#include <time.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace synwave::kbench {

inline std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Pins the calling thread to one CPU; -1 leaves it alone. Returns false (with a message) on error.
inline bool pin_to_cpu(int cpu, const char* prog) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::fprintf(stderr, "%s: sched_setaffinity(cpu %d): %s\n", prog, cpu, std::strerror(errno));
    return false;
  }
  return true;
}

// Log-linear histogram in the manner of HdrHistogram: values below 128 have a bucket each; above,
// every power of two is split into 64 linear sub-buckets, so a recorded value is known to within
// 1/64 (1.6 %). Fixed storage (about 30 KiB), no allocation per sample, O(1) record.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;                     // 64 sub-buckets per power of two
  static constexpr std::uint64_t kLinear = 2u << kSubBits;  // 128 exact buckets at the bottom
  static constexpr std::size_t kBuckets = kLinear + (64 - (kSubBits + 1)) * (1u << kSubBits);

  void record(std::uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    if (v > max_) max_ = v;
    if (v < min_) min_ = v;
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return total_ ? max_ : 0; }
  std::uint64_t min() const { return total_ ? min_ : 0; }

  // The value at quantile q (0..1): the middle of the bucket holding the rank, capped at max().
  std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    std::uint64_t rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.5);
    if (rank < 1) rank = 1;
    if (rank > total_) rank = total_;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        std::uint64_t lo = lower(i), width = lower(i + 1) - lo;
        std::uint64_t mid = lo + width / 2;
        return mid > max_ ? max_ : (mid < min_ ? min_ : mid);
      }
    }
    return max_;
  }

  static std::size_t index(std::uint64_t v) {
    if (v < kLinear) return static_cast<std::size_t>(v);
    int msb = 63 - std::countl_zero(v);     // >= kSubBits + 1
    int shift = msb - kSubBits;             // keeps the top kSubBits+1 bits
    std::uint64_t sub = (v >> shift) - (1u << kSubBits);  // 0..63
    return kLinear + static_cast<std::size_t>(msb - (kSubBits + 1)) * (1u << kSubBits) + sub;
  }
  static std::uint64_t lower(std::size_t i) {
    if (i < kLinear) return i;
    if (i >= kBuckets) return UINT64_MAX;
    std::size_t j = i - kLinear;
    int msb = static_cast<int>(j >> kSubBits) + kSubBits + 1;
    std::uint64_t sub = j & ((1u << kSubBits) - 1);
    return ((1ull << kSubBits) + sub) << (msb - kSubBits);
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0, max_ = 0, min_ = UINT64_MAX;
};

// Strict unsigned parse for command-line values.
inline bool parse_u64(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  out = v;
  return true;
}

inline bool parse_double(const char* s, double& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || *end != '\0' || !(v >= 0)) return false;
  out = v;
  return true;
}

}  // namespace synwave::kbench
