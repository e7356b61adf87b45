#include "bulk.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/stop_signal.h"

namespace synwave::bulk {
namespace {

constexpr std::size_t kRxBuffer = 256 * 1024;
constexpr Duration kRetryGap = 100ms;     // between refused connects
constexpr Duration kSafetyPump = 10ms;    // pump without a readiness event, in case one was missed
constexpr Duration kExitGrace = 200ms;    // let the last FIN/ACK exchange finish before stopping

Duration seconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }

bool retryable_connect_error(int error) {
  return error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH || error == ETIMEDOUT;
}

}  // namespace

BulkApp::BulkApp(const Options& options, SharedRun& run, unsigned instance)
    : options_(options), run_(run), instance_(instance), rx_buffer_(kRxBuffer) {
  // Connections instance, instance + instances, ... (round robin over the engines).
  const unsigned n = run_.instances();
  client_share_ = options_.connections / n + (instance_ < options_.connections % n ? 1 : 0);
  results_.reserve(options_.server ? options_.connections : client_share_);
}

bool BulkApp::share_done() const {
  return options_.server ? run_.all_finished() : results_.size() >= client_share_;
}

unsigned BulkApp::next_client_connection() const {
  return instance_ + static_cast<unsigned>(results_.size()) * run_.instances();
}

void BulkApp::start(std::span<tcp::TcpStack* const> tcp, Instant now) {
  tcp_ = tcp.front();
  deadline_ = now + seconds(options_.timeout_s);
  next_safety_pump_ = now + kSafetyPump;
  if (options_.server) {
    listener_ = tcp_->socket();
    int r = listener_ < 0 ? listener_ : tcp_->setsockopt(listener_, tcp::SockOpt::kReuseAddr, 1);
    if (r >= 0) r = tcp_->bind(listener_, {Ipv4Addr{}, options_.listen_port});
    if (r >= 0) r = tcp_->listen(listener_, 16);
    if (r < 0) {
      setup_error_ = -r;
      std::fprintf(stderr, "synwave-bulk: listen on port %u: %s\n", options_.listen_port, std::strerror(-r));
      finished_ = true;
      run_.fail();
      request_stop();
      return;
    }
    // Said once, by the last engine to listen: a peer may connect to any of them after it.
    if (run_.instance_ready()) std::fprintf(stderr, "synwave-bulk: ready: listening on port %u\n", options_.listen_port);
  } else {
    next_attempt_ = now + seconds(options_.delay_s);
    if (run_.instance_ready())
      std::fprintf(stderr, "synwave-bulk: ready: connecting to %s:%u\n", format_ipv4(options_.target.addr).c_str(),
                   options_.target.port);
  }
  std::fflush(stderr);
}

void BulkApp::poll(Instant now) {
  if (tcp_ == nullptr) return;
  if (finished_) {
    int ready[64];
    tcp_->take_ready(ready);  // (bounded: a socket may come back at once; the next poll takes it)
    if (now >= exit_at_ && !reported_finished_) {
      reported_finished_ = true;
      run_.instance_finished();
    }
    return;
  }
  if (now >= deadline_) {
    timed_out_ = true;
    bool owed = phase_ == Phase::kTransfer || phase_ == Phase::kConnecting;
    if (!owed && options_.server) {  // a connection that never came: record it under the next number
      const std::optional<unsigned> number = run_.claim_connection();
      if (number) current_.connection = *number;
      owed = number.has_value();
    } else if (!owed) {
      owed = !share_done();
    }
    if (owed) {
      current_.timed_out = true;  // (also when no connection came at all: the run failed)
      finish_connection(now, ETIMEDOUT);
    }
    return finish_run(now);
  }
  // Another engine's connection failed: this one is cut off (ECANCELED), and the run ends.
  if (run_.failed()) {
    if (phase_ == Phase::kTransfer) return finish_connection(now, ECANCELED);
    return finish_run(now);
  }
  // Server: the other engines finished the last connections.
  if (phase_ == Phase::kIdle && share_done()) return finish_run(now);

  // A bounded number of rounds: pumping a socket can make it ready again at once (a send that
  // fills the queue, an ACK that frees it); what is left waits for the next iteration, so this
  // loop never starves the engine's receive and transmit.
  bool touched = false;
  int ready[64];
  for (int round = 0; round < 4; ++round) {
    const std::size_t n = tcp_->take_ready(ready);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      if (finished_) return;
      if (ready[i] == listener_ && phase_ == Phase::kIdle) try_accept(now);
      else if (ready[i] == socket_ && phase_ == Phase::kConnecting) on_connecting(now);
      else if (ready[i] == socket_ && phase_ == Phase::kTransfer) pump(now), touched = true;
    }
  }
  if (finished_) return;
  if (phase_ == Phase::kIdle && now >= next_attempt_) begin_next(now);
  if (now >= next_safety_pump_) {
    next_safety_pump_ = now + kSafetyPump;
    if (phase_ == Phase::kTransfer && !touched) pump(now);
    else if (phase_ == Phase::kConnecting) on_connecting(now);
  }
}

void BulkApp::begin_next(Instant now) {
  if (options_.server) try_accept(now);
  else try_connect(now);
}

void BulkApp::try_accept(Instant now) {
  int s = -1;
  std::optional<unsigned> number;
  while (!number) {
    s = tcp_->accept(listener_);
    if (s < 0) return;  // -EAGAIN: kAcceptReady will come
    number = run_.claim_connection();
    if (!number) {  // beyond --connections (another engine took the last): refuse it
      tcp_->setsockopt(s, tcp::SockOpt::kLinger, 0);
      tcp_->close(s);
    }
  }
  socket_ = s;
  phase_ = Phase::kTransfer;
  current_ = Result{};
  current_.connection = *number;
  conn_started_ = now;
  retransmits_at_conn_ = tcp_->stats().get(tcp::TcpStat::kRetransmits);
  pump(now);
}

void BulkApp::try_connect(Instant now) {
  const int s = tcp_->socket();
  if (s < 0) {
    next_attempt_ = now + kRetryGap;
    return;
  }
  const int r = tcp_->connect(s, options_.target);
  if (r != -EINPROGRESS && r != 0) {
    tcp_->close(s);
    if (retryable_connect_error(-r) || r == -EADDRNOTAVAIL) {
      next_attempt_ = now + kRetryGap;
      return;
    }
    current_ = Result{};
    return finish_connection(now, -r);
  }
  socket_ = s;
  phase_ = Phase::kConnecting;
  current_ = Result{};
  if (r == 0) on_connecting(now);
}

void BulkApp::on_connecting(Instant now) {
  const std::uint32_t r = tcp_->readiness(socket_);
  if (r & (tcp::kError | tcp::kClosed)) {
    int error = 0;
    tcp_->getsockopt(socket_, tcp::SockOpt::kError, &error);
    if (error == 0) error = ECONNRESET;
    tcp_->setsockopt(socket_, tcp::SockOpt::kLinger, 0);
    tcp_->close(socket_);
    socket_ = -1;
    phase_ = Phase::kIdle;
    if (retryable_connect_error(error)) {  // the peer is not listening yet: try again
      next_attempt_ = now + kRetryGap;
      return;
    }
    return finish_connection(now, error);
  }
  if (!(r & tcp::kConnected)) return;
  phase_ = Phase::kTransfer;
  conn_started_ = now;
  retransmits_at_conn_ = tcp_->stats().get(tcp::TcpStat::kRetransmits);
  pump(now);
}

void BulkApp::pump(Instant now) {
  Result& c = current_;
  bool eof = false;
  for (;;) {
    const long n = tcp_->recv(socket_, rx_buffer_);
    if (n > 0) {
      const std::span<const std::uint8_t> got(rx_buffer_.data(), static_cast<std::size_t>(n));
      if (!c.first_mismatch) c.first_mismatch = pattern_.check(c.received, got);
      c.received += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (n == -EAGAIN) break;
    return finish_connection(now, static_cast<int>(-n));
  }
  while (c.sent < options_.send_bytes) {
    const std::span<const std::uint8_t> chunk = pattern_.at(c.sent, options_.send_bytes - c.sent);
    const long r = tcp_->send(socket_, chunk);
    if (r == -EAGAIN || r == -ENOBUFS) break;  // kWritable comes back (ENOBUFS: the safety pump)
    if (r < 0) return finish_connection(now, static_cast<int>(-r));
    c.sent += static_cast<std::uint64_t>(r);
  }
  if (eof) eof_ = true;
  if (c.sent == options_.send_bytes && !shut_wr_) {
    const int r = tcp_->shutdown(socket_, tcp::Shutdown::kWrite);
    if (r < 0) return finish_connection(now, -r);
    shut_wr_ = true;
  }
  if (eof_ && shut_wr_ && fin_acknowledged()) return finish_connection(now, 0);
  // A reset or a timeout shows as kError (recv() returns it too, but not after end of stream).
  if (tcp_->readiness(socket_) & tcp::kError) {
    int error = 0;
    tcp_->getsockopt(socket_, tcp::SockOpt::kError, &error);
    finish_connection(now, error != 0 ? error : ECONNRESET);
  }
  // Otherwise: more to read, more to send, or our FIN not yet acknowledged (closing and exiting
  // earlier would leave data that may need retransmitting with nobody to retransmit it).
}

bool BulkApp::fin_acknowledged() const {
  const std::optional<tcp::State> state = tcp_->state(socket_);
  return !state || *state == tcp::State::kFinWait2 || *state == tcp::State::kTimeWait ||
         *state == tcp::State::kClosed;
}

void BulkApp::finish_connection(Instant now, int error) {
  if (!options_.server) current_.connection = next_client_connection();
  current_.error = error;
  current_.seconds = phase_ == Phase::kTransfer ? static_cast<double>((now - conn_started_).count()) * 1e-9 : 0;
  current_.retransmits = tcp_->stats().get(tcp::TcpStat::kRetransmits) - retransmits_at_conn_;
  if (socket_ >= 0) {
    if (error != 0) tcp_->setsockopt(socket_, tcp::SockOpt::kLinger, 0);  // abort: RST
    tcp_->close(socket_);
  }
  socket_ = -1;
  shut_wr_ = eof_ = false;
  phase_ = Phase::kIdle;
  results_.push_back(current_);
  current_ = Result{};
  next_attempt_ = now;
  run_.connection_finished();
  if (error != 0) run_.fail();
  if (share_done() || error != 0) finish_run(now);
}

void BulkApp::finish_run(Instant now) {
  if (finished_) return;
  finished_ = true;
  exit_at_ = now + kExitGrace;
}

void BulkApp::stop() {
  if (!finished_ && phase_ == Phase::kTransfer && tcp_ != nullptr) {  // interrupted (SIGINT/SIGTERM)
    current_.error = EINTR;
    current_.retransmits = tcp_->stats().get(tcp::TcpStat::kRetransmits) - retransmits_at_conn_;
    results_.push_back(current_);
  }
  if (socket_ >= 0) {
    tcp_->setsockopt(socket_, tcp::SockOpt::kLinger, 0);
    tcp_->close(socket_);
    socket_ = -1;
  }
  if (listener_ >= 0) {
    tcp_->close(listener_);
    listener_ = -1;
  }
}

}  // namespace synwave::bulk
