// The bulk-transfer application synwave-bulk runs on each engine (one instance per engine; what
// they share, the connection numbers and the end of the run, is in shared_run.h).
//
// One connection at a time per instance (a server instance accepts the connections that reach its
// engine one after the other, until --connections have finished over all engines; a client
// instance makes its share, connections i with i % instances == its index, one after the other). On each: send `send_bytes` of the pattern (pattern.h), then
// shutdown(SHUT_WR); meanwhile read everything the peer sends until its FIN, checking every byte
// against the pattern at its stream offset. The connection is over when both are done and our FIN
// is acknowledged (every byte we sent has arrived); then it is closed and its Result recorded.
// Preallocated send pattern and receive buffer: nothing is allocated per call or per connection.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/application.h"
#include "pattern.h"
#include "shared_run.h"
#include "tcp/tcp_stack.h"

namespace synwave::bulk {

struct Options {
  bool server = false;
  std::uint16_t listen_port = 0;     // server
  tcp::Endpoint target;              // client
  std::uint64_t send_bytes = 0;
  std::optional<std::uint64_t> expect_bytes;
  unsigned connections = 1;          // over all instances
  double timeout_s = 120;            // the whole run, from start()
  double delay_s = 0;                // client: wait before the first connect (link coming up)
};

// What one connection did. `error` is a positive errno (ETIMEDOUT for the run's --timeout), 0 when
// the transfer completed in both directions.
struct Result {
  unsigned connection = 0;                       // the run's connection number, from 0
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::optional<std::uint64_t> first_mismatch;  // stream offset of the first wrong byte received
  double seconds = 0;                            // established -> both directions finished
  std::uint64_t retransmits = 0;                 // the stack's RetransSegs during the connection
  int error = 0;
  bool timed_out = false;

  bool verified() const { return !first_mismatch && error == 0; }
};

class BulkApp : public Application {
 public:
  // The instance numbered `instance` of `run.instances()`.
  BulkApp(const Options& options, SharedRun& run, unsigned instance);

  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override;
  void poll(Instant now) override;
  void stop() override;

  // After the engines stopped: one Result per connection of this instance that started (in its
  // order), whether the run hit its timeout, and whether start-up failed (listen error: positive
  // errno).
  const std::vector<Result>& results() const { return results_; }
  bool timed_out() const { return timed_out_; }
  int setup_error() const { return setup_error_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kConnecting, kTransfer, kDone };

  void begin_next(Instant now);     // accept or connect the next connection
  void try_accept(Instant now);
  void try_connect(Instant now);
  void on_connecting(Instant now);
  void pump(Instant now);           // read, verify, send, shutdown; finishes the connection
  bool fin_acknowledged() const;    // our FIN (and so every byte we sent) was acknowledged
  void finish_connection(Instant now, int error);
  void finish_run(Instant now);
  bool share_done() const;          // this instance has no connection left to make or accept
  unsigned next_client_connection() const;

  Options options_;
  SharedRun& run_;
  unsigned instance_;
  unsigned client_share_ = 0;       // client: connections this instance makes
  Pattern pattern_;
  std::vector<std::uint8_t> rx_buffer_;
  tcp::TcpStack* tcp_ = nullptr;
  int listener_ = -1;
  int socket_ = -1;
  Phase phase_ = Phase::kIdle;
  Result current_;
  Instant conn_started_{}, deadline_{}, next_attempt_{}, next_safety_pump_{}, exit_at_{};
  std::uint64_t retransmits_at_conn_ = 0;
  std::vector<Result> results_;
  bool shut_wr_ = false, eof_ = false;   // on the current connection
  bool finished_ = false, timed_out_ = false, reported_finished_ = false;
  int setup_error_ = 0;
};

}  // namespace synwave::bulk
