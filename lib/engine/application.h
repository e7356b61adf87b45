// What runs on an engine besides the stack: a server, a load generator, a test driver.
//
// The engine calls it on its own thread, between receiving and transmitting, with the same `now`
// the stack sees. An application talks to the stack through the TcpStack socket API only.
#pragma once

#include <span>

#include "base/time.h"
#include "tcp/tcp_stack.h"

namespace synwave {

class Application {
 public:
  virtual ~Application() = default;
  // Once, on the engine's thread, before the first iteration. `tcp` is the engine's TCP layer on
  // each configured port, in port order.
  virtual void start(std::span<tcp::TcpStack* const> tcp, Instant now) = 0;
  // Every iteration, after received frames and due timers were processed.
  virtual void poll(Instant now) = 0;
  // Once, after the last iteration (before the stack frees its connections).
  virtual void stop() {}
};

}  // namespace synwave
