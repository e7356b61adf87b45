// The server's sockets on an engine: its TcpStack, on the engine's thread.
#pragma once

#include "sockets.h"
#include "tcp/tcp_stack.h"

namespace synwave::httpd {

class EngineSockets final : public Sockets {
 public:
  explicit EngineSockets(tcp::TcpStack& tcp) : tcp_(tcp) {}

  int listen(std::uint16_t port, int backlog) override;
  int accept(int listener) override { return tcp_.accept(listener); }
  long send(int s, std::span<const std::uint8_t> data) override { return tcp_.send(s, data); }
  long recv(int s, std::span<std::uint8_t> buffer) override { return tcp_.recv(s, buffer); }
  int close(int s) override { return tcp_.close(s); }
  int abort(int s) override;
  std::size_t take_ready(std::span<int> out) override { return tcp_.take_ready(out); }

 private:
  tcp::TcpStack& tcp_;
};

}  // namespace synwave::httpd
