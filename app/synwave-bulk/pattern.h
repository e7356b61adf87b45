// The byte pattern synwave-bulk sends and verifies (tests/integration/kernel_bulk.py and
// bench/bulk generate the same one).
//
// A block of kBlockSize = 65521 bytes (the largest prime below 2^16, so the block boundaries drift
// across segment boundaries instead of lining up with them), repeated for the whole stream: the
// byte at stream offset i is block[i % 65521]. The block is filled by xorshift64* (Vigna:
// x ^= x >> 12; x ^= x << 25; x ^= x >> 27; output x * 0x2545F4914F6CDD1D) seeded with
// kSeed = 0x5EED0F5A1BEC0DE5, each 64-bit output stored little-endian, 8 bytes at a time; the last
// 1 byte of the block is the low byte of output 8191.
//
// Thread-safety: a Pattern is immutable after construction; share it freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace synwave::bulk {

inline constexpr std::size_t kBlockSize = 65521;
inline constexpr std::uint64_t kSeed = 0x5EED0F5A1BEC0DE5ull;

class Pattern {
 public:
  Pattern() : doubled_(2 * kBlockSize) {
    std::uint64_t x = kSeed;
    for (std::size_t i = 0; i < kBlockSize; i += 8) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      std::uint64_t out = x * 0x2545F4914F6CDD1Dull;
      for (std::size_t b = 0; b < 8 && i + b < kBlockSize; ++b, out >>= 8)
        doubled_[i + b] = static_cast<std::uint8_t>(out);
    }
    std::memcpy(doubled_.data() + kBlockSize, doubled_.data(), kBlockSize);
  }

  // Up to kBlockSize bytes of the stream starting at `offset`, contiguous in memory.
  std::span<const std::uint8_t> at(std::uint64_t offset, std::size_t max) const {
    const std::size_t start = static_cast<std::size_t>(offset % kBlockSize);
    return {doubled_.data() + start, max < kBlockSize ? max : kBlockSize};
  }

  // Compares `data`, which sits at stream offset `offset`, with the pattern. Returns the stream
  // offset of the first byte that differs, or nothing.
  std::optional<std::uint64_t> check(std::uint64_t offset, std::span<const std::uint8_t> data) const {
    std::size_t done = 0;
    while (done < data.size()) {
      const std::span<const std::uint8_t> want = at(offset + done, data.size() - done);
      if (std::memcmp(want.data(), data.data() + done, want.size()) != 0) {
        for (std::size_t i = 0; i < want.size(); ++i)
          if (want[i] != data[done + i]) return offset + done + i;
      }
      done += want.size();
    }
    return std::nullopt;
  }

 private:
  std::vector<std::uint8_t> doubled_;  // the block twice: any window of <= kBlockSize is contiguous
};

}  // namespace synwave::bulk
