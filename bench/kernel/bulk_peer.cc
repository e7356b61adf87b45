// bulk_peer: the kernel's side of a bulk transfer, in C++ for the throughput figures of
// bench/bulk/bulk_compare (tests/integration/kernel_bulk.py is the same program in Python, for the
// tests). Same pattern (app/synwave-bulk/pattern.h), same JSON line per connection, same exit
// status as synwave-bulk. Plain Linux sockets, one thread, optionally pinned.
//
//   bulk_peer listen PORT      [--send N] [--expect N] [--connections K] [--timeout S] [--cpu C]
//   bulk_peer connect IP:PORT  [--send N] [--expect N] [--connections K] [--timeout S] [--cpu C]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "pattern.h"

namespace {

using synwave::bulk::kBlockSize;
using synwave::kbench::now_ns;

constexpr const char kUsage[] =
    "Usage: bulk_peer listen PORT | connect IP:PORT [--send N] [--expect N] [--connections K]\n"
    "                 [--timeout S] [--cpu C]\n"
    "Sends N bytes of synwave-bulk's pattern per connection, then shuts down its sending side;\n"
    "reads and verifies everything the peer sends until end of stream. \"listening\" once it\n"
    "listens; one JSON line per connection. Exit 0 all verified, 1 failure, 2 timeout/usage.\n";

struct Result {
  std::uint64_t sent = 0, received = 0;
  std::optional<std::uint64_t> mismatch;
  double seconds = 0;
  int error = 0;
};

bool parse_u64(const char* text, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && text[0] != '-';
}

int remaining_ms(std::uint64_t deadline) {
  const std::uint64_t now = now_ns();
  if (now >= deadline) return 0;
  const std::uint64_t ms = (deadline - now) / 1000000 + 1;
  return ms > 1000 ? 1000 : static_cast<int>(ms);
}

// Both directions on one connected, non-blocking socket until the peer's FIN and our own.
Result transfer(int fd, const synwave::bulk::Pattern& pattern, std::uint64_t send_bytes, std::uint64_t deadline,
                std::vector<std::uint8_t>& buffer) {
  Result r;
  bool shut = false, eof = false;
  const std::uint64_t started = now_ns();
  while (!(shut && eof)) {
    if (!shut && r.sent >= send_bytes) {
      if (shutdown(fd, SHUT_WR) != 0) { r.error = errno; break; }
      shut = true;
      continue;
    }
    if (now_ns() >= deadline) { r.error = ETIMEDOUT; break; }
    pollfd p{fd, static_cast<short>((eof ? 0 : POLLIN) | (shut ? 0 : POLLOUT)), 0};
    const int n = poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno != EINTR) { r.error = errno; break; }
    if (n <= 0) continue;
    if (!eof && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
      for (int i = 0; i < 64; ++i) {
        const ssize_t k = recv(fd, buffer.data(), buffer.size(), 0);
        if (k > 0) {
          if (!r.mismatch)
            r.mismatch = pattern.check(r.received, {buffer.data(), static_cast<std::size_t>(k)});
          r.received += static_cast<std::uint64_t>(k);
          continue;
        }
        if (k == 0) { eof = true; break; }
        if (errno != EAGAIN && errno != EINTR) r.error = errno;
        break;
      }
      if (r.error) break;
    }
    if (!shut && (p.revents & (POLLOUT | POLLERR))) {
      for (int i = 0; i < 64 && r.sent < send_bytes; ++i) {
        const auto chunk = pattern.at(r.sent, send_bytes - r.sent);
        const ssize_t k = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (k > 0) { r.sent += static_cast<std::uint64_t>(k); continue; }
        if (k < 0 && errno != EAGAIN && errno != EINTR) r.error = errno;
        break;
      }
      if (r.error) break;
    }
  }
  r.seconds = static_cast<double>(now_ns() - started) * 1e-9;
  if (r.error) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(fd);
  return r;
}

bool report(const char* role, unsigned index, const Result& r, std::optional<std::uint64_t> expect) {
  const bool verified = !r.mismatch && r.error == 0;
  const bool expect_ok = !expect || r.received == *expect;
  const double moved = static_cast<double>(r.sent > r.received ? r.sent : r.received);
  std::string mismatch = r.mismatch ? std::to_string(*r.mismatch) : "null";
  std::string error = "null";
  if (r.error) {
    const char* name = strerrorname_np(r.error);
    error = std::string("\"") + (name ? name : std::to_string(r.error).c_str()) + "\"";
  }
  std::printf("{\"role\": \"%s\", \"connection\": %u, \"sent\": %llu, \"received\": %llu, \"verified\": %s, "
              "\"first_mismatch\": %s, \"seconds\": %.6f, \"gbit_per_s\": %.4f, \"error\": %s%s}\n",
              role, index, static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.received),
              verified ? "true" : "false", mismatch.c_str(), r.seconds,
              r.seconds > 0 ? moved * 8 / r.seconds / 1e9 : 0.0, error.c_str(),
              expect_ok ? "" : (", \"expected\": " + std::to_string(*expect)).c_str());
  std::fflush(stdout);
  return verified && expect_ok;
}

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Connects, retrying a refused connection every 100 ms until the deadline. Returns the socket or
// -errno.
int connect_to(const sockaddr_in& to, std::uint64_t deadline) {
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) return fd;
    const int error = errno;
    close(fd);
    if (error != ECONNREFUSED && error != ETIMEDOUT && error != EHOSTUNREACH && error != ENETUNREACH) return -error;
    if (now_ns() + 100000000 >= deadline) return -ETIMEDOUT;
    usleep(100000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return std::fputs(kUsage, stderr), 2;
  const bool listen_mode = std::strcmp(argv[1], "listen") == 0;
  if (!listen_mode && std::strcmp(argv[1], "connect") != 0) return std::fputs(kUsage, stderr), 2;
  const std::string where = argv[2];
  std::uint64_t send_bytes = 0, connections = 1, v = 0;
  std::optional<std::uint64_t> expect;
  double timeout_s = 120;
  int cpu = -1;
  for (int i = 3; i < argc; i += 2) {
    if (i + 1 >= argc) return std::fputs(kUsage, stderr), 2;
    const std::string opt = argv[i];
    const char* val = argv[i + 1];
    if (opt == "--send" && parse_u64(val, send_bytes)) continue;
    if (opt == "--expect" && parse_u64(val, v)) { expect = v; continue; }
    if (opt == "--connections" && parse_u64(val, connections) && connections > 0) continue;
    if (opt == "--timeout" && (timeout_s = std::strtod(val, nullptr)) > 0) continue;
    if (opt == "--cpu" && parse_u64(val, v)) { cpu = static_cast<int>(v); continue; }
    std::fprintf(stderr, "bulk_peer: bad option %s %s\n", opt.c_str(), val);
    return std::fputs(kUsage, stderr), 2;
  }
  if (!synwave::kbench::pin_to_cpu(cpu, "bulk_peer")) return 1;
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
  const synwave::bulk::Pattern pattern;
  std::vector<std::uint8_t> buffer(1 << 20);
  const char* role = listen_mode ? "server" : "client";

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int listener = -1;
  if (listen_mode) {
    if (!parse_u64(where.c_str(), v) || v == 0 || v > 65535) return std::fputs("bulk_peer: bad PORT\n", stderr), 2;
    addr.sin_port = htons(static_cast<std::uint16_t>(v));
    listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 16) != 0) {
      std::fprintf(stderr, "bulk_peer: listen on %s: %s\n", where.c_str(), std::strerror(errno));
      return 1;
    }
    std::printf("listening\n");
    std::fflush(stdout);
  } else {
    const std::size_t colon = where.rfind(':');
    if (colon == std::string::npos || inet_pton(AF_INET, where.substr(0, colon).c_str(), &addr.sin_addr) != 1 ||
        !parse_u64(where.c_str() + colon + 1, v) || v == 0 || v > 65535)
      return std::fputs("bulk_peer: bad IP:PORT\n", stderr), 2;
    addr.sin_port = htons(static_cast<std::uint16_t>(v));
  }

  bool ok = true, timed_out = false;
  for (unsigned index = 1; index <= connections; ++index) {
    int fd = -1;
    if (listen_mode) {
      pollfd p{listener, POLLIN, 0};
      while (fd < 0 && now_ns() < deadline) {
        if (poll(&p, 1, remaining_ms(deadline)) > 0) fd = accept(listener, nullptr, nullptr);
      }
      if (fd < 0) fd = -ETIMEDOUT;
    } else {
      fd = connect_to(addr, deadline);
    }
    if (fd < 0) {
      Result r;
      r.error = -fd;
      report(role, index, r, expect);
      timed_out = -fd == ETIMEDOUT;
      ok = false;
      break;
    }
    set_nonblocking(fd);
    const Result r = transfer(fd, pattern, send_bytes, deadline, buffer);
    ok = report(role, index, r, expect) && ok;
    if (r.error == ETIMEDOUT) timed_out = true;
    if (r.error) break;
  }
  if (listener >= 0) close(listener);
  return timed_out ? 2 : ok ? 0 : 1;
}
