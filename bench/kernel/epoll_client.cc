// epoll_client: the Linux-kernel baseline for synwave-loadgen in bench/handshake_compare.
//
// One thread (pin it with --cpu), plain sockets, epoll edge-triggered, --concurrency C
// connections in flight at once.
//   crr  connect (non-blocking), send "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
//        read the whole response (by Content-Length), close; one latency sample per connection,
//        from connect() to the last byte of the response. The client closes first, so TIME_WAIT
//        lands here: on loopback run with net.ipv4.tcp_tw_reuse=1 (bench/handshake_compare sets
//        and restores it), or the ephemeral ports run out (EADDRNOTAVAIL: counted, retried).
//   rr   C persistent connections, each sending "GET / HTTP/1.1\r\nHost: x\r\n\r\n" and reading
//        the response, again and again; one sample per request, from send() to the last byte.
// Stops after --duration seconds and/or --count completed connections (crr) or requests (rr),
// whichever comes first. Latencies go into a fixed log-linear histogram; the summary gives
// p50/p90/p99/p99.9, conn/s, req/s and errors by errno, as text or as JSON (--json).
//
//   epoll_client --target 127.0.0.1:8080 --mode crr --concurrency 64 --duration 10 --cpu 0 --json
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace synwave::kbench {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

enum class Mode { kCrr, kRr };
enum class State { kIdle, kWaitRetry, kConnecting, kSending, kReading };

constexpr std::string_view kCrrRequest = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
constexpr std::string_view kRrRequest = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr int kEof = 0;  // errors[0]: the peer closed before the response was complete

struct Slot {
  int fd = -1;
  std::uint32_t gen = 0;
  State state = State::kIdle;
  std::uint64_t conn_start = 0, req_start = 0, retry_at = 0;
  std::size_t sent = 0;
  // Response parsing: header bytes until CRLFCRLF, then a count of body bytes still to come.
  char head[1024];
  std::size_t head_len = 0;
  bool in_body = false;
  std::uint64_t body_left = 0;
};

struct Options {
  sockaddr_in target{};
  std::string target_text;
  Mode mode = Mode::kCrr;
  std::uint64_t concurrency = 64, count = 0;
  double duration = 0;
  long cpu = -1;
  bool json = false, progress = false;
};

class Client {
 public:
  Client(const Options& o, int epfd) : o_(o), epfd_(epfd), slots_(o.concurrency) {
    request_ = o.mode == Mode::kCrr ? kCrrRequest : kRrRequest;
  }

  void run() {
    start_ = now_ns();
    deadline_ = o_.duration > 0 ? start_ + static_cast<std::uint64_t>(o_.duration * 1e9) : UINT64_MAX;
    std::uint64_t next_progress = start_ + 1000000000ull, last_completed = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) open_conn(i);
    std::vector<epoll_event> events(1024);
    while (!done()) {
      std::uint64_t now = now_ns();
      if (now >= deadline_ || g_stop) break;
      int timeout_ms = static_cast<int>(std::min<std::uint64_t>((deadline_ - now) / 1000000 + 1, 100));
      if (waiting_ > 0) timeout_ms = 1;
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("epoll_client: epoll_wait");
        break;
      }
      for (int i = 0; i < n; ++i) {
        std::uint64_t tag = events[i].data.u64;
        std::size_t idx = static_cast<std::size_t>(tag & 0xffffffffu);
        if (idx >= slots_.size() || slots_[idx].gen != static_cast<std::uint32_t>(tag >> 32)) continue;
        on_event(idx, events[i].events);
      }
      if (waiting_ > 0) {
        std::uint64_t t = now_ns();
        for (std::size_t i = 0; i < slots_.size(); ++i)
          if (slots_[i].state == State::kWaitRetry && slots_[i].retry_at <= t) {
            slots_[i].state = State::kIdle;
            --waiting_;
            open_conn(i);
          }
      }
      if (o_.progress && now_ns() >= next_progress) {
        std::fprintf(stderr, "epoll_client: %.0f/s completed %llu errors %llu\n",
                     static_cast<double>(completed_ - last_completed),
                     static_cast<unsigned long long>(completed_), static_cast<unsigned long long>(error_total()));
        last_completed = completed_;
        next_progress += 1000000000ull;
      }
    }
    end_ = now_ns();
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].fd >= 0) {
        close(slots_[i].fd);
        slots_[i].fd = -1;
      }
  }

  void report() const {
    double secs = static_cast<double>(end_ - start_) / 1e9;
    if (secs <= 0) secs = 1e-9;
    double rate = static_cast<double>(completed_) / secs;
    auto us = [&](double q) { return static_cast<double>(hist_.quantile(q)) / 1000.0; };
    const char* mode = o_.mode == Mode::kCrr ? "crr" : "rr";
    if (o_.json) {
      std::printf("{\"mode\": \"%s\", \"completed\": %llu, \"duration_s\": %.3f, \"rate_per_s\": %.1f, "
                  "\"errors\": %llu, \"errors_by_kind\": {",
                  mode, static_cast<unsigned long long>(completed_), secs, rate,
                  static_cast<unsigned long long>(error_total()));
      bool first = true;
      for (std::size_t e = 0; e < errors_.size(); ++e)
        if (errors_[e]) {
          std::printf("%s\"%s\": %llu", first ? "" : ", ", error_name(static_cast<int>(e)).c_str(),
                      static_cast<unsigned long long>(errors_[e]));
          first = false;
        }
      std::printf("}, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
                  "\"max_us\": %.1f, \"connections\": %llu, \"requests\": %llu, \"conn_per_s\": %.1f, "
                  "\"req_per_s\": %.1f, \"concurrency\": %llu, \"target\": \"%s\", \"system\": \"kernel\"}\n",
                  us(0.50), us(0.90), us(0.99), us(0.999), static_cast<double>(hist_.max()) / 1000.0,
                  static_cast<unsigned long long>(connections_), static_cast<unsigned long long>(requests_),
                  static_cast<double>(connections_) / secs, static_cast<double>(requests_) / secs,
                  static_cast<unsigned long long>(o_.concurrency), o_.target_text.c_str());
      return;
    }
    std::printf("epoll_client %s -> %s, concurrency %llu, %.3f s\n", mode, o_.target_text.c_str(),
                static_cast<unsigned long long>(o_.concurrency), secs);
    std::printf("  completed %llu %s: %.1f/s\n", static_cast<unsigned long long>(completed_),
                o_.mode == Mode::kCrr ? "connections" : "requests", rate);
    std::printf("  conn/s %.1f   req/s %.1f   (connections %llu, requests %llu)\n",
                static_cast<double>(connections_) / secs, static_cast<double>(requests_) / secs,
                static_cast<unsigned long long>(connections_), static_cast<unsigned long long>(requests_));
    std::printf("  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", us(0.50), us(0.90),
                us(0.99), us(0.999), static_cast<double>(hist_.max()) / 1000.0);
    std::printf("  errors %llu", static_cast<unsigned long long>(error_total()));
    for (std::size_t e = 0; e < errors_.size(); ++e)
      if (errors_[e])
        std::printf("  %s %llu", error_name(static_cast<int>(e)).c_str(), static_cast<unsigned long long>(errors_[e]));
    std::printf("\n");
  }

 private:
  bool done() const { return o_.count > 0 && completed_ >= o_.count; }
  // In count mode, do not start more work than the count still needs.
  bool may_start() const {
    if (g_stop || now_ns() >= deadline_) return false;
    return o_.count == 0 || completed_ + in_flight_ < o_.count;
  }

  static std::string error_name(int e) {
    if (e == kEof) return "EOF";
    const char* n = strerrorname_np(e);
    if (n != nullptr) return n;
    char buf[24];
    std::snprintf(buf, sizeof buf, "errno%d", e);
    return buf;
  }
  std::uint64_t error_total() const {
    std::uint64_t t = 0;
    for (std::uint64_t v : errors_) t += v;
    return t;
  }
  void count_error(int e) { ++errors_[static_cast<std::size_t>(e) < errors_.size() ? e : errors_.size() - 1]; }

  void arm(std::size_t i) {
    Slot& s = slots_[i];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (static_cast<std::uint64_t>(s.gen) << 32) | i;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev);
  }

  void drop(std::size_t i) {
    Slot& s = slots_[i];
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
    ++s.gen;
    s.state = State::kIdle;
    --in_flight_;
  }

  // Fails the slot's current work with errno e and schedules a fresh connection.
  void fail(std::size_t i, int e) {
    count_error(e);
    drop(i);
    Slot& s = slots_[i];
    s.state = State::kWaitRetry;
    // Out of ephemeral ports (or similar): give TIME_WAIT a moment instead of spinning.
    s.retry_at = now_ns() + (e == EADDRNOTAVAIL ? 1000000ull : 100000ull);
    ++waiting_;
  }

  void open_conn(std::size_t i) {
    if (!may_start()) return;
    Slot& s = slots_[i];
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ++in_flight_;
    if (s.fd < 0) {
      fail(i, errno);
      return;
    }
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s.conn_start = now_ns();
    s.head_len = 0;
    s.in_body = false;
    s.sent = 0;
    ++s.gen;
    int r = connect(s.fd, reinterpret_cast<const sockaddr*>(&o_.target), sizeof o_.target);
    if (r != 0 && errno != EINPROGRESS) {
      fail(i, errno);
      return;
    }
    arm(i);
    if (r == 0) {
      ++connections_;
      start_request(i);
    } else {
      s.state = State::kConnecting;
    }
  }

  void start_request(std::size_t i) {
    Slot& s = slots_[i];
    s.state = State::kSending;
    s.sent = 0;
    s.head_len = 0;
    s.in_body = false;
    s.req_start = now_ns();
    send_more(i);
  }

  void send_more(std::size_t i) {
    Slot& s = slots_[i];
    while (s.sent < request_.size()) {
      ssize_t w = send(s.fd, request_.data() + s.sent, request_.size() - s.sent, MSG_NOSIGNAL);
      if (w > 0) {
        s.sent += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT resumes
      fail(i, w < 0 ? errno : EPIPE);
      return;
    }
    s.state = State::kReading;
    read_more(i);  // the response may already be there (edge-triggered)
  }

  void on_event(std::size_t i, std::uint32_t ev) {
    Slot& s = slots_[i];
    switch (s.state) {
      case State::kConnecting: {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fail(i, err);
          return;
        }
        ++connections_;
        start_request(i);
        return;
      }
      case State::kSending:
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) send_more(i);
        return;
      case State::kReading:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) read_more(i);
        return;
      default:
        return;
    }
  }

  void read_more(std::size_t i) {
    Slot& s = slots_[i];
    char buf[16384];
    for (;;) {
      ssize_t r = read(s.fd, buf, sizeof buf);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail(i, errno);
        return;
      }
      if (r == 0) {
        fail(i, kEof);
        return;
      }
      if (consume(s, buf, static_cast<std::size_t>(r))) {
        complete(i);
        return;
      }
    }
  }

  // Feeds response bytes; true once the response is complete. Bytes past it are ignored (the
  // client never pipelines).
  static bool consume(Slot& s, const char* p, std::size_t n) {
    if (!s.in_body) {
      std::size_t take = std::min(n, sizeof s.head - s.head_len);
      std::memcpy(s.head + s.head_len, p, take);
      std::size_t old = s.head_len;
      s.head_len += take;
      std::string_view h(s.head, s.head_len);
      std::size_t end = h.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
      if (end == std::string_view::npos) return false;  // (a header over 1 KiB never completes)
      s.body_left = content_length(h.substr(0, end));
      s.in_body = true;
      std::size_t body_here = s.head_len - (end + 4) + (n - take);
      s.body_left -= std::min<std::uint64_t>(s.body_left, body_here);
      return s.body_left == 0;
    }
    s.body_left -= std::min<std::uint64_t>(s.body_left, n);
    return s.body_left == 0;
  }

  static std::uint64_t content_length(std::string_view head) {
    constexpr std::string_view kName = "content-length:";
    std::size_t pos = 0;
    while (pos < head.size()) {
      std::size_t eol = head.find("\r\n", pos);
      if (eol == std::string_view::npos) eol = head.size();
      std::string_view line = head.substr(pos, eol - pos);
      if (line.size() > kName.size()) {
        bool match = true;
        for (std::size_t k = 0; k < kName.size(); ++k)
          if ((line[k] | 0x20) != kName[k] && !(kName[k] == '-' && line[k] == '-')) {
            match = false;
            break;
          }
        if (match) {
          std::uint64_t v = 0;
          for (char c : line.substr(kName.size()))
            if (c >= '0' && c <= '9') v = v * 10 + static_cast<std::uint64_t>(c - '0');
          return v;
        }
      }
      pos = eol + 2;
    }
    return 0;
  }

  void complete(std::size_t i) {
    Slot& s = slots_[i];
    std::uint64_t t = now_ns();
    ++requests_;
    ++completed_;
    if (o_.mode == Mode::kCrr) {
      hist_.record(t - s.conn_start);
      drop(i);  // close(): the client closes first
      if (!done()) open_conn(i);
      return;
    }
    hist_.record(t - s.req_start);
    --in_flight_;  // one request over; the connection stays
    if (!done() && may_start()) {
      ++in_flight_;
      start_request(i);
    } else {
      ++in_flight_;
      drop(i);
    }
  }

  const Options& o_;
  int epfd_;
  std::vector<Slot> slots_;
  std::string_view request_;
  LatencyHistogram hist_;
  std::array<std::uint64_t, 256> errors_{};
  std::uint64_t completed_ = 0, connections_ = 0, requests_ = 0, in_flight_ = 0, waiting_ = 0;
  std::uint64_t start_ = 0, end_ = 0, deadline_ = UINT64_MAX;
};

void usage(FILE* f) {
  std::fprintf(f,
               "usage: epoll_client --target IP:PORT [--mode crr|rr] [--concurrency C] [--duration S]\n"
               "                    [--count N] [--cpu N] [--json] [--progress]\n"
               "  crr: connect, one request with Connection: close, read the response, close.\n"
               "  rr:  C persistent connections, request after request.\n"
               "  Stops after S seconds and/or N completed connections (crr) / requests (rr); with\n"
               "  neither, 10 s. Defaults: crr, concurrency 64.\n");
}

int main_impl(int argc, char** argv) {
  Options o;
  bool have_target = false, have_duration = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto need = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "epoll_client: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    auto bad = [&](const char* v) {
      std::fprintf(stderr, "epoll_client: bad value '%s' for %.*s\n", v, static_cast<int>(a.size()), a.data());
      std::exit(2);
    };
    if (a == "--target") {
      std::string v = need();
      std::size_t colon = v.rfind(':');
      std::uint64_t port = 0;
      if (colon == std::string::npos || !parse_u64(v.c_str() + colon + 1, port) || port == 0 || port > 65535 ||
          inet_pton(AF_INET, v.substr(0, colon).c_str(), &o.target.sin_addr) != 1)
        bad(v.c_str());
      o.target.sin_family = AF_INET;
      o.target.sin_port = htons(static_cast<std::uint16_t>(port));
      o.target_text = v;
      have_target = true;
    } else if (a == "--mode") {
      const char* v = need();
      if (std::string_view(v) == "crr") o.mode = Mode::kCrr;
      else if (std::string_view(v) == "rr") o.mode = Mode::kRr;
      else bad(v);
    } else if (a == "--concurrency") {
      const char* v = need();
      if (!parse_u64(v, o.concurrency) || o.concurrency == 0 || o.concurrency > 1000000) bad(v);
    } else if (a == "--duration") {
      const char* v = need();
      if (!parse_double(v, o.duration)) bad(v);
      have_duration = true;
    } else if (a == "--count") {
      const char* v = need();
      if (!parse_u64(v, o.count)) bad(v);
    } else if (a == "--cpu") {
      const char* v = need();
      std::uint64_t c;
      if (!parse_u64(v, c)) bad(v);
      o.cpu = static_cast<long>(c);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--progress") {
      o.progress = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "epoll_client: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (!have_target) {
    std::fprintf(stderr, "epoll_client: --target IP:PORT is required\n");
    usage(stderr);
    return 2;
  }
  if (!have_duration && o.count == 0) o.duration = 10;
  if (!pin_to_cpu(static_cast<int>(o.cpu), "epoll_client")) return 1;

  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    std::perror("epoll_client: epoll_create1");
    return 1;
  }
  auto client = std::make_unique<Client>(o, epfd);
  client->run();
  client->report();
  close(epfd);
  return 0;
}

}  // namespace
}  // namespace synwave::kbench

int main(int argc, char** argv) { return synwave::kbench::main_impl(argc, argv); }
