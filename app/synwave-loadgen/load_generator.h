// The load generator that synwave-loadgen runs on each engine (one instance per engine, each
// with its share of the load: engine_shares.h; merged_totals.h adds their results up).
//
//   crr   connect, send one HTTP GET with Connection: close, read the whole response
//         (Content-Length), close; latency = connect() to the response's last byte.
//   rr    persistent connections, one request in flight on each; latency = request to response.
//   bulk  send as fast as the send queues allow; what comes back is read and dropped.
//
// `concurrency` slots, each one connection; a preallocated slot table and a socket->slot table
// sized from engine.max_sockets: no allocation per connection or request.
//
// With a timeline (set_timeline) it also counts completions and failures per time slice, and
// keeps latency and counts apart for three phases of the run: before, during and after a window
// (the flood of --flood-rate), each transaction in the phase it ended in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/application.h"
#include "histogram.h"
#include "run_completion.h"
#include "tcp/tcp_stack.h"
#include "time_slices.h"

namespace synwave::loadgen {

enum class Mode : std::uint8_t { kCrr, kRr, kBulk };

struct Options {
  tcp::Endpoint target;
  Mode mode = Mode::kCrr;
  bool echo = false;            // --proto echo: the response is the request echoed back
  unsigned concurrency = 1;
  double duration_s = 0;        // 0: no time bound (then count must be set)
  std::uint64_t count = 0;      // transactions (crr: connections, rr: requests, bulk: bytes); 0: none
  double rate = 0;              // transactions per second; 0: as fast as possible
  unsigned request_size = 0;    // 0: the minimal request
  double delay_s = 0;           // wait this long before starting (e.g. for the link to come up)
  double timeout_s = 5;         // a transaction (or connect) taking longer counts as a timeout
  bool progress = true;
  std::string progress_label;   // before each progress line (e.g. "engine 1 "); empty with one engine
  unsigned max_sockets = 65536;
};

enum class ErrorKind : std::uint8_t { kRefused, kTimeout, kReset, kOther, kCount };

struct Totals {
  std::uint64_t connections = 0;  // connections established
  std::uint64_t completed = 0;    // transactions completed (crr: connections; rr: requests)
  std::uint64_t errors[static_cast<int>(ErrorKind::kCount)] = {};
  std::uint64_t addr_not_avail = 0;  // connect() found no free ephemeral port: retried later
  std::uint64_t no_socket = 0;       // socket() returned -EMFILE: retried later
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bad_responses = 0;   // not 2xx, or unparseable (counted in errors.other)
  std::uint64_t error_total() const {
    std::uint64_t n = 0;
    for (std::uint64_t e : errors) n += e;
    return n;
  }
};

enum class RunPhase : std::uint8_t { kBefore, kDuring, kAfter };
inline constexpr const char* kPhaseNames[3] = {"before", "during", "after"};

struct PhaseTotals {
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  Histogram histogram;
};

class LoadGenerator : public Application {
 public:
  explicit LoadGenerator(const Options& options);

  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override;
  void poll(Instant now) override;
  void stop() override;

  // Per-slice counts into `slices` (its origin set when the load begins), and phases split at
  // `window_start` and `window_end` after the load's start. Before start() only.
  void set_timeline(TimeSlices* slices, Duration window_start, Duration window_end) {
    slices_ = slices;
    window_start_ = window_start;
    window_end_ = window_end;
  }
  // With several generators: the run ends when all are done (the last one stops the engines).
  // Without one, this generator stops the engines when it is done. Before start() only.
  void set_completion(RunCompletion* completion) { completion_ = completion; }
  // Whether the load has begun (after --delay), and when; when it ended (the end of the measured
  // run, before the drain; or the last iteration when interrupted), valid once elapsed_s() is.
  bool started() const { return started_; }
  Instant started_at() const { return start_at_; }
  Instant ended_at() const { return ended_at_; }
  // The timeline set by set_timeline(), or null.
  const TimeSlices* timeline() const { return slices_; }
  // The wall clock at that moment (Unix seconds), to line the timeline up with outside samples.
  double started_unix_s() const { return started_unix_s_; }
  const PhaseTotals& phase(RunPhase p) const { return phases_[static_cast<int>(p)]; }

  const Totals& totals() const { return totals_; }
  const Histogram& histogram() const { return histogram_; }
  double elapsed_s() const { return elapsed_s_; }
  std::uint64_t retransmits() const { return retransmits_; }
  bool finished() const { return done_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kConnecting, kSending, kReading, kDraining, kWaiting, kBulk };

  struct Slot {
    int socket = -1;
    Phase phase = Phase::kIdle;
    bool queued = false;          // in runnable_
    Instant started{};            // the transaction's start (latency origin)
    Instant deadline{};
    std::uint32_t sent = 0;       // request bytes sent
    std::uint16_t head_len = 0;   // response header bytes gathered so far
    bool head_done = false;
    bool until_eof = false;       // no Content-Length: the response ends with the connection
    std::uint64_t body_left = 0;
    char head[1024];
  };

  void begin(Instant now);
  void warm_up_done();
  void run_slot(int index, Instant now);          // from the runnable queue
  void on_ready(int s, Instant now);
  bool take_token();
  bool may_issue() const;
  void launch(int index, Instant now);            // connect
  void send_request(Slot& slot, Instant now);
  void pump_send(int index, Instant now);
  void read_response(int index, Instant now);
  void pump_bulk(int index, Instant now);
  void complete(int index, Instant now);
  void fail(int index, int error, Instant now);   // error: positive errno
  void release(int index, bool abort);
  void make_runnable(int index);
  void progress(Instant now);
  void finish(Instant now);
  bool consume_response(Slot& slot, const std::uint8_t* data, std::size_t len);  // true when complete
  void count_error(ErrorKind kind, Instant now);
  PhaseTotals* phase_at(Instant now);  // null without a timeline

  Options options_;
  tcp::TcpStack* tcp_ = nullptr;
  std::string request_;
  std::vector<Slot> slots_;
  std::vector<std::int32_t> slot_of_;   // socket slot index -> our slot, -1 when none
  std::vector<int> runnable_, runnable_next_;
  std::vector<std::uint8_t> scratch_;
  Histogram histogram_;
  Totals totals_;
  Totals last_;                          // at the last progress line
  std::uint64_t issued_ = 0;
  std::uint64_t retransmits_at_start_ = 0;
  std::uint64_t retransmits_ = 0;
  double tokens_ = 0;
  Instant token_time_{};
  Instant start_at_{}, end_at_{}, next_progress_{}, next_timeout_scan_{}, blocked_until_{};
  Instant exit_at_{}, last_now_{}, ended_at_{};
  bool started_ = false, stopping_ = false, done_ = false, warmed_ = false;
  double elapsed_s_ = 0;
  double started_unix_s_ = 0;
  TimeSlices* slices_ = nullptr;
  Duration window_start_{}, window_end_{};
  PhaseTotals phases_[3];
  RunCompletion* completion_ = nullptr;
};

}  // namespace synwave::loadgen
