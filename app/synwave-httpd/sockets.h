// The socket calls the HTTP server makes, so that one server runs either on an engine (over its
// TcpStack: engine_sockets.h) or in a process of its own attached to a synwave daemon (over the
// client library: client_sockets.h).
//
// Socket ids are non-negative; the server indexes its connection table by the low 20 bits
// (kSlotMask) and keeps the whole id to tell a reused slot from the old connection. Calls return
// a value >= 0 on success and -errno on failure, as TcpStack does (-EAGAIN, -ENOBUFS, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace synwave::httpd {

inline constexpr int kSlotMask = (1 << 20) - 1;

class Sockets {
 public:
  virtual ~Sockets() = default;

  // A listener on 0.0.0.0:port with SO_REUSEADDR, non-blocking: its id, or -errno.
  virtual int listen(std::uint16_t port, int backlog) = 0;
  // An accepted connection (non-blocking), or -EAGAIN when none waits, or -errno.
  virtual int accept(int listener) = 0;
  // Bytes queued / read (0 at end of stream), or -EAGAIN, -ENOBUFS (no buffer now: retry soon,
  // no readiness change will say when), -errno.
  virtual long send(int s, std::span<const std::uint8_t> data) = 0;
  virtual long recv(int s, std::span<std::uint8_t> buffer) = 0;
  // Unsent bytes still go out, then FIN. The id is invalid afterwards.
  virtual int close(int s) = 0;
  // Closes with an RST (SO_LINGER 0).
  virtual int abort(int s) = 0;
  // Sockets whose readiness changed since the last call (edge-triggered: the server reads and
  // writes until -EAGAIN before it waits for the next change). Fills up to out.size() ids;
  // returns how many, 0 when there are no more now.
  virtual std::size_t take_ready(std::span<int> out) = 0;
};

}  // namespace synwave::httpd
