// What synwave-bulk's instances (one per engine) share: the run's connection numbers and when it
// is over. Each instance runs on its own engine's thread; they meet here only at the edges of a
// connection (accept, end) and once per engine iteration for a flag read, never per byte.
//
//   client  connection i runs on instance i % instances: each knows its own share up front.
//   server  every instance listens on the port and accepts what reaches its engine; an accepted
//           connection takes the next number (claim_connection), up to --connections; the run
//           is over when that many have finished, on whichever engines.
// A failed connection ends the run on every instance (as one failure ends it with one engine).
// The engines stop when the last instance has ended its run (with its grace period).
#pragma once

#include <atomic>
#include <optional>

#include "engine/stop_signal.h"

namespace synwave::bulk {

class SharedRun {
 public:
  SharedRun(unsigned instances, unsigned connections)
      : instances_(instances), connections_(connections), not_ready_(instances), running_(instances) {}

  unsigned instances() const { return instances_; }
  unsigned connections() const { return connections_; }

  // An instance is listening (or about to connect); true for the last one, which says "ready".
  bool instance_ready() { return not_ready_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

  // Server: the number (0-based) of a connection just accepted, or none when all are taken.
  std::optional<unsigned> claim_connection() {
    const unsigned n = claimed_.fetch_add(1, std::memory_order_relaxed);
    if (n < connections_) return n;
    return std::nullopt;
  }
  // A connection is over (either role).
  void connection_finished() { finished_.fetch_add(1, std::memory_order_acq_rel); }
  bool all_finished() const { return finished_.load(std::memory_order_acquire) >= connections_; }

  void fail() { failed_.store(true, std::memory_order_release); }
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  // An instance's run is over, grace included; the last one stops the engines.
  void instance_finished() {
    if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) request_stop();
  }

 private:
  const unsigned instances_;
  const unsigned connections_;
  std::atomic<unsigned> not_ready_;
  std::atomic<unsigned> running_;
  std::atomic<unsigned> claimed_{0};
  std::atomic<unsigned> finished_{0};
  std::atomic<bool> failed_{false};
};

}  // namespace synwave::bulk
