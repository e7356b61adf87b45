#include "load_generator.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "engine/stop_signal.h"

namespace synwave::loadgen {
namespace {

constexpr int kSlotMask = (1 << 20) - 1;  // the slab index inside a socket id (tcp_stack_impl.h)
constexpr std::size_t kScratch = 65536;

Duration seconds(double s) { return Duration(static_cast<std::int64_t>(s * 1e9)); }

ErrorKind kind_of(int error) {
  switch (error) {
    case ECONNREFUSED: return ErrorKind::kRefused;
    case ETIMEDOUT: return ErrorKind::kTimeout;
    case ECONNRESET: case EPIPE: case ECONNABORTED: return ErrorKind::kReset;
    default: return ErrorKind::kOther;
  }
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

LoadGenerator::LoadGenerator(const Options& options) : options_(options) {}

void LoadGenerator::start(std::span<tcp::TcpStack* const> tcp, Instant now) {
  tcp_ = tcp.front();
  if (options_.echo) {
    request_.assign(options_.request_size ? options_.request_size : 64, 'q');
  } else {
    std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
    if (options_.mode == Mode::kCrr) head += "Connection: close\r\n";
    const std::size_t minimal = head.size() + 2;
    if (options_.request_size > minimal + 9) {  // "X-Pad: " + CRLF
      head += "X-Pad: ";
      head.append(options_.request_size - minimal - 9, 'p');
      head += "\r\n";
    }
    request_ = head + "\r\n";
  }
  if (options_.mode == Mode::kBulk) request_.assign(16384, 'b');
  slots_.assign(options_.concurrency, Slot{});
  slot_of_.assign(std::min<std::size_t>(options_.max_sockets, kSlotMask + 1u), -1);
  runnable_.reserve(options_.concurrency);
  runnable_next_.reserve(options_.concurrency);
  scratch_.assign(kScratch, 0);
  start_at_ = now + seconds(options_.delay_s);
}

void LoadGenerator::begin(Instant now) {
  started_ = true;
  start_at_ = now;
  end_at_ = options_.duration_s > 0 ? now + seconds(options_.duration_s) : Instant::max();
  next_progress_ = now + 1s;
  next_timeout_scan_ = now + 10ms;
  token_time_ = now;
  tokens_ = 1;
  retransmits_at_start_ = tcp_->stats().get(tcp::TcpStat::kRetransmits);
  if (slices_ != nullptr) slices_->set_origin(now);
  started_unix_s_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // One connection first: it resolves the peer's address, so the other slots' SYNs do not
  // overflow the ARP queue and wait a second for their retransmission.
  make_runnable(0);
}

void LoadGenerator::warm_up_done() {
  if (warmed_) return;
  warmed_ = true;
  for (int i = 1; i < static_cast<int>(slots_.size()); ++i) make_runnable(i);
}

void LoadGenerator::make_runnable(int index) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (slot.queued) return;
  slot.queued = true;
  runnable_.push_back(index);
}

bool LoadGenerator::may_issue() const {
  if (stopping_) return false;
  if (options_.count == 0) return true;
  if (options_.mode == Mode::kBulk) return totals_.bytes_sent < options_.count;
  return issued_ < options_.count;
}

bool LoadGenerator::take_token() {
  if (options_.rate <= 0) return true;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void LoadGenerator::poll(Instant now) {
  if (tcp_ == nullptr || done_) return;
  last_now_ = now;
  if (!started_) {
    if (now < start_at_) return;
    begin(now);
  }
  if (stopping_) {
    int ready[256];
    while (tcp_->take_ready(ready) > 0) {}
    if (now >= exit_at_) {
      done_ = true;
      if (completion_ != nullptr) completion_->generator_done();
      else request_stop();
    }
    return;
  }
  if (options_.rate > 0) {
    const double burst = std::max(1.0, options_.rate / 100.0);  // at most 10 ms' worth at once
    tokens_ = std::min(burst, tokens_ + options_.rate * static_cast<double>((now - token_time_).count()) * 1e-9);
    token_time_ = now;
  }
  int ready[256];
  for (std::size_t n; (n = tcp_->take_ready(ready)) > 0;)
    for (std::size_t i = 0; i < n; ++i) on_ready(ready[i], now);

  if (!runnable_.empty()) {
    runnable_next_.swap(runnable_);
    for (std::size_t i = 0; i < runnable_next_.size(); ++i) {
      const int index = runnable_next_[i];
      slots_[static_cast<std::size_t>(index)].queued = false;
      run_slot(index, now);
    }
    runnable_next_.clear();
  }

  if (now >= next_timeout_scan_) {
    next_timeout_scan_ = now + 10ms;
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
      const Slot& slot = slots_[static_cast<std::size_t>(i)];
      if (slot.socket >= 0 && slot.phase != Phase::kWaiting && slot.phase != Phase::kBulk && now > slot.deadline)
        fail(i, ETIMEDOUT, now);
    }
  }
  if (now >= next_progress_) progress(now);

  bool over = now >= end_at_;
  if (options_.count != 0) {
    if (options_.mode == Mode::kBulk) over = over || totals_.bytes_sent >= options_.count;
    else over = over || totals_.completed + totals_.error_total() >= options_.count;
  }
  if (over) finish(now);
}

void LoadGenerator::run_slot(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (slot.phase == Phase::kIdle) {
    if (now < blocked_until_) return make_runnable(index);
    if (options_.mode == Mode::kCrr) {
      if (!may_issue()) return;  // stays idle: the run is ending
      if (!take_token()) return make_runnable(index);
    } else if (!may_issue()) {
      return;
    }
    launch(index, now);
  } else if (slot.phase == Phase::kWaiting) {  // rr: connected, waiting for a token
    if (!may_issue()) return;
    if (!take_token()) return make_runnable(index);
    send_request(slot, now);
    pump_send(index, now);
  }
}

void LoadGenerator::launch(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  const int s = tcp_->socket();
  if (s < 0) {
    ++totals_.no_socket;
    blocked_until_ = now + 1ms;
    if (options_.rate > 0) tokens_ += 1;
    return make_runnable(index);
  }
  const int r = tcp_->connect(s, options_.target);
  if (r != -EINPROGRESS) {
    tcp_->close(s);
    if (options_.rate > 0 && r == -EADDRNOTAVAIL) tokens_ += 1;
    if (r == -EADDRNOTAVAIL) {  // every ephemeral port busy (TIME_WAIT): try again in a while
      ++totals_.addr_not_avail;
      blocked_until_ = now + 1ms;
      return make_runnable(index);
    }
    if (options_.mode == Mode::kCrr) ++issued_;
    count_error(kind_of(-r), now);
    warm_up_done();
    return make_runnable(index);
  }
  const std::size_t key = static_cast<std::size_t>(s & kSlotMask);
  if (key >= slot_of_.size()) {  // cannot happen with the slab's ids
    tcp_->setsockopt(s, tcp::SockOpt::kLinger, 0);
    tcp_->close(s);
    ++totals_.errors[static_cast<int>(ErrorKind::kOther)];
    return;
  }
  if (options_.mode == Mode::kCrr) ++issued_;
  slot_of_[key] = index;
  slot.socket = s;
  slot.phase = Phase::kConnecting;
  slot.started = now;
  slot.deadline = now + seconds(options_.timeout_s);
}

void LoadGenerator::on_ready(int s, Instant now) {
  const std::size_t key = static_cast<std::size_t>(s & kSlotMask);
  if (s < 0 || key >= slot_of_.size()) return;
  const int index = slot_of_[key];
  if (index < 0) return;
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (slot.socket != s) return;
  const std::uint32_t r = tcp_->readiness(s);
  switch (slot.phase) {
    case Phase::kConnecting:
      if (r & (tcp::kError | tcp::kClosed)) {
        int error = 0;
        tcp_->getsockopt(s, tcp::SockOpt::kError, &error);
        return fail(index, error != 0 ? error : ECONNRESET, now);
      }
      if (!(r & tcp::kConnected)) return;
      ++totals_.connections;
      warm_up_done();
      if (options_.mode == Mode::kCrr) {
        send_request(slot, now);
        return pump_send(index, now);
      }
      if (options_.mode == Mode::kBulk) {
        slot.phase = Phase::kBulk;
        return pump_bulk(index, now);
      }
      slot.phase = Phase::kWaiting;
      return run_slot(index, now);
    case Phase::kSending:
      pump_send(index, now);
      if (slot.socket == s && slot.phase == Phase::kReading) read_response(index, now);
      return;
    case Phase::kReading:
    case Phase::kDraining:
      return read_response(index, now);
    case Phase::kBulk:
      return pump_bulk(index, now);
    case Phase::kWaiting:
      if (r & (tcp::kError | tcp::kClosed | tcp::kPeerClosed | tcp::kReadable)) {
        int error = 0;
        tcp_->getsockopt(s, tcp::SockOpt::kError, &error);
        return fail(index, error != 0 ? error : ECONNRESET, now);
      }
      return;
    case Phase::kIdle:
      return;
  }
}

void LoadGenerator::send_request(Slot& slot, Instant now) {
  if (options_.mode == Mode::kRr) {
    ++issued_;
    slot.started = now;
    slot.deadline = now + seconds(options_.timeout_s);
  }
  slot.phase = Phase::kSending;
  slot.sent = 0;
  slot.head_len = 0;
  slot.head_done = false;
  slot.until_eof = false;
  slot.body_left = options_.echo ? request_.size() : 0;
}

void LoadGenerator::pump_send(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  while (slot.sent < request_.size()) {
    const long r = tcp_->send(slot.socket, std::span<const std::uint8_t>(
                                               reinterpret_cast<const std::uint8_t*>(request_.data()) + slot.sent,
                                               request_.size() - slot.sent));
    if (r == -EAGAIN) return;  // kWritable comes back
    if (r == -ENOBUFS) return make_runnable(index), void();
    if (r < 0) return fail(index, static_cast<int>(-r), now);
    slot.sent += static_cast<std::uint32_t>(r);
    totals_.bytes_sent += static_cast<std::uint64_t>(r);
  }
  slot.phase = Phase::kReading;
}

void LoadGenerator::pump_bulk(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  for (;;) {  // drop whatever comes back
    const long n = tcp_->recv(slot.socket, scratch_);
    if (n > 0) {
      totals_.bytes_received += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) return fail(index, ECONNRESET, now);
    if (n != -EAGAIN) return fail(index, static_cast<int>(-n), now);
    break;
  }
  while (may_issue()) {
    const long r = tcp_->send(slot.socket, std::span<const std::uint8_t>(
                                               reinterpret_cast<const std::uint8_t*>(request_.data()), request_.size()));
    if (r == -EAGAIN) return;
    if (r == -ENOBUFS) return make_runnable(index);
    if (r < 0) return fail(index, static_cast<int>(-r), now);
    totals_.bytes_sent += static_cast<std::uint64_t>(r);
  }
}

bool LoadGenerator::consume_response(Slot& slot, const std::uint8_t* data, std::size_t len) {
  if (options_.echo) {
    slot.body_left -= std::min<std::uint64_t>(slot.body_left, len);
    return slot.body_left == 0;
  }
  if (!slot.head_done) {
    const std::size_t k = std::min(len, sizeof(slot.head) - slot.head_len);
    std::memcpy(slot.head + slot.head_len, data, k);
    const std::size_t before = slot.head_len;
    slot.head_len = static_cast<std::uint16_t>(slot.head_len + k);
    const std::string_view head(slot.head, slot.head_len);
    const std::size_t end = head.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (slot.head_len == sizeof(slot.head)) {
        ++totals_.bad_responses;
        slot.head_done = true;
        slot.until_eof = true;  // give up parsing: mark as bad below
      }
      return false;
    }
    slot.head_done = true;
    // Status line: HTTP/1.x NNN
    const bool ok = head.size() > 12 && head.substr(0, 7) == "HTTP/1." && head[9] == '2';
    if (!ok) ++totals_.bad_responses;
    std::uint64_t content_length = 0;
    bool have_length = false;
    for (std::size_t pos = head.find("\r\n"); pos < end;) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const std::string_view field = head.substr(pos + 2, next - pos - 2);
      pos = next;
      constexpr std::string_view kName = "content-length:";
      if (field.size() > kName.size()) {
        bool match = true;
        for (std::size_t i = 0; i < kName.size() && match; ++i) match = lower(field[i]) == kName[i];
        if (match) {
          have_length = true;
          for (char ch : field.substr(kName.size()))
            if (ch >= '0' && ch <= '9') content_length = content_length * 10 + static_cast<std::uint64_t>(ch - '0');
        }
      }
    }
    const std::size_t body_here = slot.head_len - (end + 4);
    // Bytes of this chunk beyond what the header buffer took are body bytes too.
    const std::size_t extra = len - (slot.head_len - before);
    slot.until_eof = !have_length;
    const std::uint64_t got = body_here + extra;
    slot.body_left = content_length > got ? content_length - got : 0;
    return !slot.until_eof && slot.body_left == 0;
  }
  if (slot.until_eof) return false;
  slot.body_left -= std::min<std::uint64_t>(slot.body_left, len);
  return slot.body_left == 0;
}

void LoadGenerator::read_response(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  const int s = slot.socket;
  for (;;) {
    const long n = tcp_->recv(s, scratch_);
    if (n == -EAGAIN) return;
    if (n < 0) return fail(index, static_cast<int>(-n), now);
    if (n == 0) {  // end of stream
      if (slot.phase == Phase::kDraining) return release(index, false), make_runnable(index);
      if (slot.head_done && slot.until_eof) return complete(index, now), release(index, false), make_runnable(index);
      return fail(index, ECONNRESET, now);
    }
    totals_.bytes_received += static_cast<std::uint64_t>(n);
    if (slot.phase == Phase::kDraining) continue;  // after the response: ignore
    if (consume_response(slot, scratch_.data(), static_cast<std::size_t>(n))) {
      complete(index, now);
      if (slot.socket != s) return;
    }
  }
}

PhaseTotals* LoadGenerator::phase_at(Instant now) {
  if (slices_ == nullptr) return nullptr;
  const Duration since = now - start_at_;
  const RunPhase p = since < window_start_ ? RunPhase::kBefore : since < window_end_ ? RunPhase::kDuring : RunPhase::kAfter;
  return &phases_[static_cast<int>(p)];
}

void LoadGenerator::count_error(ErrorKind kind, Instant now) {
  ++totals_.errors[static_cast<int>(kind)];
  if (PhaseTotals* p = phase_at(now)) {
    ++p->errors;
    ++slices_->at(now).errors;
  }
}

void LoadGenerator::complete(int index, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  const auto latency = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (now - slot.started).count()));
  histogram_.record(latency);
  ++totals_.completed;
  if (PhaseTotals* p = phase_at(now)) {
    p->histogram.record(latency);
    ++p->completed;
    ++slices_->at(now).completed;
  }
  if (options_.mode == Mode::kCrr) {
    // Wait for the server's FIN, so that the server (not us) holds the TIME_WAIT.
    slot.phase = Phase::kDraining;
    slot.deadline = now + seconds(options_.timeout_s);
    if (tcp_->readiness(slot.socket) & tcp::kPeerClosed) {
      release(index, false);
      make_runnable(index);
    }
    return;
  }
  slot.phase = Phase::kWaiting;
  run_slot(index, now);
}

void LoadGenerator::fail(int index, int error, Instant now) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (slot.phase == Phase::kDraining) {  // the response was complete: not an error
    release(index, error != ETIMEDOUT);
    return make_runnable(index);
  }
  count_error(kind_of(error), now);
  warm_up_done();
  release(index, true);
  make_runnable(index);
}

void LoadGenerator::release(int index, bool abort) {
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  if (slot.socket >= 0) {
    if (abort) tcp_->setsockopt(slot.socket, tcp::SockOpt::kLinger, 0);
    tcp_->close(slot.socket);
    slot_of_[static_cast<std::size_t>(slot.socket & kSlotMask)] = -1;
  }
  slot.socket = -1;
  slot.phase = Phase::kIdle;
}

void LoadGenerator::progress(Instant now) {
  next_progress_ = now + 1s;
  retransmits_ = tcp_->stats().get(tcp::TcpStat::kRetransmits) - retransmits_at_start_;
  if (!options_.progress) return;
  const double t = static_cast<double>((now - start_at_).count()) * 1e-9;
  const auto e = [&](ErrorKind k) { return static_cast<unsigned long long>(totals_.errors[static_cast<int>(k)]); };
  const std::uint64_t requests = totals_.completed - last_.completed;
  std::fprintf(stderr,
               "%s[%5.1fs] conn/s %llu req/s %llu MB/s %.1f errors refused %llu timeout %llu reset %llu other %llu "
               "addrnotavail %llu retransmits %llu\n",
               options_.progress_label.c_str(), t,
               static_cast<unsigned long long>(totals_.connections - last_.connections),
               static_cast<unsigned long long>(requests),
               static_cast<double>(totals_.bytes_sent - last_.bytes_sent) / 1e6, e(ErrorKind::kRefused),
               e(ErrorKind::kTimeout), e(ErrorKind::kReset), e(ErrorKind::kOther),
               static_cast<unsigned long long>(totals_.addr_not_avail), static_cast<unsigned long long>(retransmits_));
  last_ = totals_;
}

void LoadGenerator::finish(Instant now) {
  stopping_ = true;
  ended_at_ = now;
  elapsed_s_ = static_cast<double>((now - start_at_).count()) * 1e-9;
  retransmits_ = tcp_->stats().get(tcp::TcpStat::kRetransmits) - retransmits_at_start_;
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
    const Slot& slot = slots_[static_cast<std::size_t>(i)];
    // Transactions still under way are cut off (not counted); idle connections close cleanly.
    if (slot.socket >= 0) release(i, slot.phase != Phase::kWaiting && slot.phase != Phase::kDraining);
  }
  exit_at_ = now + 200ms;  // let the FIN/ACK exchanges of the last connections finish
}

void LoadGenerator::stop() {
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i)
    if (slots_[static_cast<std::size_t>(i)].socket >= 0) release(i, true);
  if (!stopping_ && started_ && tcp_ != nullptr) {
    // Interrupted (SIGINT/SIGTERM): the summary covers what ran.
    ended_at_ = last_now_;
    elapsed_s_ = static_cast<double>((last_now_ - start_at_).count()) * 1e-9;
    retransmits_ = tcp_->stats().get(tcp::TcpStat::kRetransmits) - retransmits_at_start_;
  }
}

}  // namespace synwave::loadgen
