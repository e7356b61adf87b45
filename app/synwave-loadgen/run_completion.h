// When the engines may stop: every engine's generator ends its run by itself (--duration, its
// share of --count), at slightly different moments, and the engines must keep running until the
// last one is done; stopping at the first would cut the others' transactions off. The last
// generator to finish requests the stop. Touched once per generator, never per connection.
#pragma once

#include <atomic>

#include "engine/stop_signal.h"

namespace synwave::loadgen {

class RunCompletion {
 public:
  explicit RunCompletion(unsigned generators) : running_(generators) {}

  // A generator's run (with its drain) is over.
  void generator_done() {
    if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) request_stop();
  }

 private:
  std::atomic<unsigned> running_;
};

}  // namespace synwave::loadgen
