#include "engine/stop_signal.h"

#include <csignal>

namespace synwave {
namespace {

// A signal handler can reach nothing but a global; a lock-free atomic is async-signal-safe.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

}  // namespace

const std::atomic<bool>& stop_on_signals() {
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return g_stop;
}

void request_stop() { g_stop.store(true, std::memory_order_relaxed); }

}  // namespace synwave
