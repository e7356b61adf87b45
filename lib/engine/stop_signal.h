// The flag every engine loop watches: set by SIGINT/SIGTERM, or by the program itself.
#pragma once

#include <atomic>

namespace synwave {

// Installs SIGINT and SIGTERM handlers (once per process) that set the flag, and returns it.
// Main thread, before the engines start.
const std::atomic<bool>& stop_on_signals();

// Sets the flag from any thread (a "quit" command, a test harness). Async-signal-safe.
void request_stop();

}  // namespace synwave
