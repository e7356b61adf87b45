// The server's sockets in a process attached to a synwave daemon: the client library
// (lib/client/synwave_client.h), with one edge-triggered epoll instance for readiness.
//
// Single-threaded, like the server. sw_attach() comes first (main.cc).
#pragma once

#include <sys/epoll.h>

#include <array>

#include "sockets.h"

namespace synwave::httpd {

class ClientSockets final : public Sockets {
 public:
  ClientSockets() = default;
  ClientSockets(const ClientSockets&) = delete;
  ClientSockets& operator=(const ClientSockets&) = delete;
  ~ClientSockets() override;

  // The first listen() creates the epoll instance every socket is registered in.
  int listen(std::uint16_t port, int backlog) override;
  int accept(int listener) override;
  long send(int s, std::span<const std::uint8_t> data) override;
  long recv(int s, std::span<std::uint8_t> buffer) override;
  int close(int s) override;
  int abort(int s) override;
  // Hands out the batch wait() gathered, then returns 0 once: one look at the epoll instance per
  // round, so that a server's poll() ends under a steady load (and the loop sees its stop flag).
  // Without a wait() before it, it looks itself (without sleeping).
  std::size_t take_ready(std::span<int> out) override;

  // Sleeps until some socket's readiness changes, a signal arrives or timeout_ms passes (0: does
  // not sleep). Keeps what it finds for take_ready.
  void wait(int timeout_ms);
  // Why looking for readiness failed (a positive errno: the daemon went away), else 0.
  int error() const { return error_; }

 private:
  static constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

  int watch(int s);  // adds s to the epoll instance: 0 or -errno
  void fetch(int timeout_ms);

  int ep_ = -1;
  int listener_ = -1;
  int error_ = 0;
  std::array<epoll_event, 256> events_{};
  std::size_t count_ = 0, next_ = 0;  // the batch, and how much of it take_ready handed out
  bool fetched_ = false;              // this round's batch was fetched already
};

}  // namespace synwave::httpd
