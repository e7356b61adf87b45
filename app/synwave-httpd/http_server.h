// The HTTP/1.1 (and echo) server that synwave-httpd runs on an engine, or over the client
// library in a process attached to a synwave daemon: the same code on either Sockets.
//
// One fixed response, built once at start. Requests are parsed incrementally: request line and
// headers up to CRLFCRLF (8 KiB at most, else 431 and close), any Content-Length body skipped,
// several pipelined requests per read. HTTP/1.1 keeps the connection unless `Connection: close`;
// HTTP/1.0 closes unless `Connection: keep-alive`. Per-connection state lives in a table
// preallocated at start and indexed by the socket's slot; a partial request is parked in a buffer
// from a preallocated pool, so the request path allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/application.h"
#include "sockets.h"

namespace synwave::httpd {

struct Options {
  std::uint16_t port = 80;
  unsigned response_size = 64;
  bool echo = false;
  int backlog = 4096;
  unsigned max_sockets = 65536;   // the size of the connection table (the configuration's, on engines)
  unsigned parked_buffers = 4096; // 8 KiB buffers for partial requests / unsent echo bytes
};

struct Counters {
  std::uint64_t accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t responses = 0;
  std::uint64_t closed = 0;
  std::uint64_t bad_requests = 0;    // 400, 431, 501
  std::uint64_t errors = 0;          // recv/send errors other than EAGAIN
  std::uint64_t send_blocked = 0;    // send returned -EAGAIN / -ENOBUFS
  std::uint64_t no_buffer = 0;       // the parked-buffer pool was empty: connection closed
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class Server : public Application {
 public:
  static constexpr std::size_t kMaxHeader = 8192;

  explicit Server(const Options& options);

  // On an engine: over its TcpStack of the first port.
  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override;
  // Over any sockets (which must outlive the server's stop()).
  void start(Sockets& sockets);
  void poll(Instant now) override;
  void stop() override;

  bool listening() const { return listener_ >= 0; }
  int listen_error() const { return listen_error_; }
  // The listener's accept() failed other than for want of a connection (EAGAIN) or a transient
  // cause: a positive errno (attached, ENETDOWN when the daemon went away), else 0.
  int accept_error() const { return accept_error_; }
  // Sends wait to be retried (ENOBUFS), which no readiness change will announce: poll again soon.
  bool retry_pending() const { return !retry_.empty(); }
  const Counters& counters() const { return counters_; }

 private:
  enum class Final : std::uint8_t { kNone, kClose, k400, k431, k501 };

  struct Conn {
    int socket = -1;              // the full socket id; -1: free
    std::int32_t parked = -1;     // index of a pool buffer holding unparsed input / unsent echo bytes
    std::uint16_t parked_len = 0;
    std::uint32_t owed = 0;       // keep-alive responses not yet (fully) sent
    std::uint32_t offset = 0;     // bytes of the current response already sent
    std::uint64_t body_left = 0;  // request body bytes still to skip
    const std::string* keep = nullptr;  // the keep-alive response variant of this connection
    Final final = Final::kNone;   // sent after the owed ones, then the connection closes
    bool eof = false;             // the peer's FIN was read: close once the output is flushed
    bool in_retry = false;
  };

  Conn* conn_of(int s);
  void on_ready(int s);
  void accept_all();
  void service(Conn& c);          // flush output, read input, maybe close
  bool flush(Conn& c);            // true when nothing is left to send
  // Reads up to `limit` bytes into the scratch buffer; 0 when nothing more is there now, or ever
  // (end of stream or an error, which mark the connection to close once flushed).
  std::size_t receive(Conn& c, std::size_t limit);
  void read_http(Conn& c);
  void read_echo(Conn& c);
  // Parses requests from data; returns bytes consumed (the rest is an incomplete request), or
  // sets c.final to an error.
  std::size_t parse(Conn& c, const std::uint8_t* data, std::size_t len);
  void close_conn(Conn& c);
  std::uint8_t* buffer(std::int32_t index) { return pool_.data() + static_cast<std::size_t>(index) * kMaxHeader; }
  bool park(Conn& c, const std::uint8_t* data, std::size_t len);
  void unpark(Conn& c);
  void retry_later(Conn& c);
  const std::string& final_response(Final f) const;

  Options options_;
  std::unique_ptr<Sockets> engine_sockets_;  // engine mode: the TcpStack's
  Sockets* sockets_ = nullptr;
  int listener_ = -1;
  int listen_error_ = 0;
  int accept_error_ = 0;
  std::string keep_11_, keep_10_, close_, r400_, r431_, r501_;
  std::vector<Conn> conns_;
  std::vector<std::uint8_t> pool_;
  std::vector<std::int32_t> free_buffers_;
  std::vector<int> retry_, retry_next_;  // sockets whose send failed for want of mbufs
  std::vector<std::uint8_t> scratch_;
  Counters counters_;
};

}  // namespace synwave::httpd
