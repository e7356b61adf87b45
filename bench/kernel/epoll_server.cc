// epoll_server: the Linux-kernel baseline for synwave-httpd in bench/handshake_compare.
//
// One thread (pin it with --cpu, like one synwave engine lcore), plain sockets, epoll
// edge-triggered, non-blocking accept4. HTTP/1.1: every request (read up to CRLFCRLF; several
// pipelined requests in one read are answered in order) gets the same fixed response
//   "HTTP/1.1 200 OK\r\nContent-Length: N\r\n\r\n" + N bytes of body.
// Keep-alive by default. After a request carrying "Connection: close" the server answers, reads
// and answers nothing more, and closes once the client has closed: the client closes first, so
// TIME_WAIT lands on the client. With --close-first it closes as soon as that answer is written,
// as synwave-httpd does, so the server holds the TIME_WAIT (synwave-loadgen waits for the
// server's FIN: bench/synflood_compare).
//
//   epoll_server --port 8080 --response-size 64 --cpu 1
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace synwave::kbench {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Conn {
  bool open = false;
  bool closing = false;      // saw Connection: close; answer pending output, then wait for EOF
  std::string in;            // bytes not yet parsed into a request
  std::string out;           // response bytes not yet written
  std::size_t out_off = 0;
};

struct Stats {
  std::uint64_t accepted = 0, requests = 0, closed = 0, errors = 0;
};

bool has_connection_close(std::string_view head) {
  // Case-insensitive search for a "Connection:" header whose value contains "close".
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    constexpr std::string_view kName = "connection:";
    if (line.size() >= kName.size()) {
      bool match = true;
      for (std::size_t i = 0; i < kName.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) { match = false; break; }
      if (match) {
        std::string v(line.substr(kName.size()));
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (v.find("close") != std::string::npos) return true;
      }
    }
    pos = eol + 2;
  }
  return false;
}

class Server {
 public:
  Server(int epfd, int lfd, std::string response, bool close_first)
      : epfd_(epfd), lfd_(lfd), response_(std::move(response)), close_first_(close_first) {}

  void run() {
    std::vector<epoll_event> events(512);
    while (!g_stop) {
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 200);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("epoll_server: epoll_wait");
        break;
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == lfd_) {
          accept_all();
          continue;
        }
        if (static_cast<std::size_t>(fd) >= conns_.size() || !conns_[fd].open) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
          if (!on_readable(fd)) continue;
        }
        if (events[i].events & EPOLLOUT) on_writable(fd);
      }
    }
  }

  const Stats& stats() const { return stats_; }

 private:
  void accept_all() {
    for (;;) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        ++stats_.errors;
        if (errno == EMFILE || errno == ENFILE) return;  // try again on the next event
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) * 2 + 64);
      Conn& c = conns_[fd];
      c.open = true;
      c.closing = false;
      c.in.clear();
      c.out.clear();
      c.out_off = 0;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.fd = fd;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ++stats_.errors;
        close_conn(fd);
        continue;
      }
      ++stats_.accepted;
    }
  }

  // Returns false when the connection was closed.
  bool on_readable(int fd) {
    Conn& c = conns_[fd];
    char buf[16384];
    bool eof = false;
    for (;;) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        if (!c.closing) c.in.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (r == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      ++stats_.errors;  // ECONNRESET and friends
      close_conn(fd);
      return false;
    }
    // Answer every complete request in the buffer, in order.
    std::size_t pos = 0;
    while (!c.closing) {
      std::size_t end = c.in.find("\r\n\r\n", pos);
      if (end == std::string::npos) break;
      std::string_view head(c.in.data() + pos, end - pos);
      c.out.append(response_);
      ++stats_.requests;
      if (has_connection_close(head)) c.closing = true;
      pos = end + 4;
    }
    if (pos > 0) c.in.erase(0, pos);
    if (c.closing) c.in.clear();
    if (!flush(fd)) return false;
    if (eof || answered_and_closing(c)) {
      // The client closed (possibly after a half-close with its last request): finish writing
      // what we can, then close our side.
      close_conn(fd);
      return false;
    }
    return true;
  }

  void on_writable(int fd) {
    if (flush(fd) && answered_and_closing(conns_[fd])) close_conn(fd);
  }

  // --close-first: the answer to a Connection: close request is written; close our side now.
  bool answered_and_closing(const Conn& c) const { return close_first_ && c.closing && c.out.empty(); }

  // Writes pending output; returns false when the connection was closed on an error.
  bool flush(int fd) {
    Conn& c = conns_[fd];
    while (c.out_off < c.out.size()) {
      ssize_t w = send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w > 0) {
        c.out_off += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // EPOLLOUT resumes
      ++stats_.errors;
      close_conn(fd);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    return true;
  }

  void close_conn(int fd) {
    Conn& c = conns_[fd];
    c.open = false;
    c.in.clear();
    c.in.shrink_to_fit();
    c.out.clear();
    c.out_off = 0;
    close(fd);  // also removes it from the epoll set
    ++stats_.closed;
  }

  int epfd_, lfd_;
  std::string response_;
  bool close_first_;
  std::vector<Conn> conns_;
  Stats stats_;
};

void usage(FILE* f) {
  std::fprintf(f,
               "usage: epoll_server [--port P] [--response-size N] [--cpu N] [--backlog N] [--close-first] [--quiet]\n"
               "  Linux-socket HTTP/1.1 server (one thread, epoll ET): fixed 200 response with an\n"
               "  N-byte body (default 64) on port P (default 8080), keep-alive and Connection: close.\n"
               "  --cpu pins the thread to one CPU. --close-first: after answering Connection: close, close\n"
               "  at once (the server holds the TIME_WAIT, as synwave-httpd) instead of waiting for the\n"
               "  client to close. Stops on SIGINT/SIGTERM and prints its counters.\n");
}

int main_impl(int argc, char** argv) {
  std::uint64_t port = 8080, size = 64, backlog = 4096;
  long cpu = -1;
  bool quiet = false, close_first = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::uint64_t& out) {
      if (i + 1 >= argc || !parse_u64(argv[i + 1], out)) {
        std::fprintf(stderr, "epoll_server: %s needs a non-negative integer\n", argv[i]);
        std::exit(2);
      }
      ++i;
    };
    if (a == "--port") {
      value(port);
    } else if (a == "--response-size") {
      value(size);
    } else if (a == "--backlog") {
      value(backlog);
    } else if (a == "--cpu") {
      std::uint64_t v;
      value(v);
      cpu = static_cast<long>(v);
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--close-first") {
      close_first = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "epoll_server: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (port == 0 || port > 65535 || size > (64u << 20)) {
    std::fprintf(stderr, "epoll_server: port must be 1..65535 and response size at most 64 MiB\n");
    return 2;
  }
  if (!pin_to_cpu(static_cast<int>(cpu), "epoll_server")) return 1;

  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  response.append(size, 'x');

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    std::perror("epoll_server: socket");
    return 1;
  }
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "epoll_server: bind port %llu: %s\n", static_cast<unsigned long long>(port),
                 std::strerror(errno));
    return 1;
  }
  if (listen(lfd, static_cast<int>(backlog)) != 0) {
    std::perror("epoll_server: listen");
    return 1;
  }
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    std::perror("epoll_server: epoll_create1");
    return 1;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = lfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (!quiet)
    std::fprintf(stderr, "epoll_server: listening on port %llu, response body %llu bytes, cpu %ld\n",
                 static_cast<unsigned long long>(port), static_cast<unsigned long long>(size), cpu);
  Server server(epfd, lfd, std::move(response), close_first);
  server.run();
  const Stats& s = server.stats();
  if (!quiet)
    std::fprintf(stderr, "epoll_server: accepted %llu, requests %llu, closed %llu, errors %llu\n",
                 static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.requests),
                 static_cast<unsigned long long>(s.closed), static_cast<unsigned long long>(s.errors));
  close(epfd);
  close(lfd);
  return 0;
}

}  // namespace
}  // namespace synwave::kbench

int main(int argc, char** argv) { return synwave::kbench::main_impl(argc, argv); }
