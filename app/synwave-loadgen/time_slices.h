// What happened in each slice of a run (e.g. every 100 ms): legitimate transactions completed
// and failed, flood frames sent, and answers to the flood's spoofed sources seen coming back, so
// a chart can show the legitimate rate over time around a flood.
//
// A fixed table sized before the run: recording is an index computation and an increment. A
// sample past the planned span goes into the last slice.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "base/time.h"

namespace synwave::loadgen {

struct SliceCounts {
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  std::uint64_t flood_sent = 0;  // flood frames the port took
  std::uint64_t answers = 0;     // frames to addresses not ours (the server answering the flood)
};

class TimeSlices {
 public:
  // `width` > 0; `span`: how long the run may last (slices beyond are folded into the last).
  TimeSlices(Duration width, Duration span)
      : width_(width), slices_(static_cast<std::size_t>(span / width) + 2) {}

  void set_origin(Instant origin) { origin_ = origin; }
  Instant origin() const { return origin_; }
  Duration width() const { return width_; }

  SliceCounts& at(Instant now) {
    const std::int64_t i = now < origin_ ? 0 : (now - origin_) / width_;
    const std::size_t index = std::min<std::size_t>(static_cast<std::size_t>(i), slices_.size() - 1);
    used_ = std::max(used_, index + 1);
    return slices_[index];
  }

  // The slices from the origin to the last one anything was recorded in.
  std::span<const SliceCounts> recorded() const { return {slices_.data(), used_}; }

 private:
  Duration width_;
  Instant origin_{};
  std::vector<SliceCounts> slices_;
  std::size_t used_ = 0;
};

}  // namespace synwave::loadgen
