// synwave-httpd: an HTTP/1.1 server (or a request/response echo server) on synwave engines.
// One server per engine, each listening on the engine's TCP layer of port 0. Prints "ready" once
// every engine listens, runs until SIGINT/SIGTERM, then prints its counters and the mbuf report.
//
// With --attach, the same server runs in this process instead, on the sockets of a running synwave
// daemon (the client library: no EAL here), and sleeps in the client's epoll while idle.
#include <getopt.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "ctl/telemetry.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"
#include "http_server.h"

#if SYNWAVE_HTTPD_ATTACH
#include "client/synwave_client.h"
#include "client_sockets.h"
#endif

namespace {

constexpr const char kUsage[] =
    "Usage: synwave-httpd --config FILE [--port N] [--response-size BYTES] [--mode http|echo]\n"
    "                     [--backlog N]\n"
    "       synwave-httpd --attach PREFIX [--max-sockets N] [--port N] [--response-size BYTES]\n"
    "                     [--mode http|echo] [--backlog N]\n"
    "\n"
    "Serves HTTP/1.1 on the first configured port's address with synwave's TCP stack: a fixed\n"
    "response with a body of BYTES bytes (default 64) to every request; keep-alive by default,\n"
    "Connection: close honoured, pipelining supported. --mode echo sends back whatever arrives.\n"
    "Prints \"ready\" once listening; SIGINT or SIGTERM stops it and prints its counters.\n"
    "\n"
    "--attach runs the same server as a process of its own on the running synwave daemon whose\n"
    "EAL file prefix is PREFIX, through the client library, on every address of the daemon.\n"
    "--max-sockets sizes its connection table there (default 65536; with --config, the\n"
    "configuration's max_sockets does).\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a start-up error (or when the attached daemon went\n"
    "away), 2 on bad usage, 3 when mbufs were not all returned at shutdown.\n";

std::atomic<unsigned> g_listening{0};
unsigned g_engines = 0;

// Reports "ready" from the engine threads once every server has its listener.
class ReadyServer : public synwave::httpd::Server {
 public:
  using Server::Server;
  void start(std::span<synwave::tcp::TcpStack* const> tcp, synwave::Instant now) override {
    Server::start(tcp, now);
    if (!listening()) {
      std::fprintf(stderr, "synwave-httpd: listen: %s\n", std::strerror(listen_error()));
      synwave::request_stop();
      return;
    }
    if (g_listening.fetch_add(1) + 1 == g_engines) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
  }
};

bool parse_unsigned(const char* text, unsigned long max, unsigned long& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max) return false;
  out = v;
  return true;
}

void print_counters(const synwave::httpd::Counters& total) {
  std::printf(
      "synwave-httpd: accepted %llu requests %llu responses %llu closed %llu bad_requests %llu errors %llu "
      "send_blocked %llu no_buffer %llu bytes_in %llu bytes_out %llu\n",
      static_cast<unsigned long long>(total.accepted), static_cast<unsigned long long>(total.requests),
      static_cast<unsigned long long>(total.responses), static_cast<unsigned long long>(total.closed),
      static_cast<unsigned long long>(total.bad_requests), static_cast<unsigned long long>(total.errors),
      static_cast<unsigned long long>(total.send_blocked), static_cast<unsigned long long>(total.no_buffer),
      static_cast<unsigned long long>(total.bytes_in), static_cast<unsigned long long>(total.bytes_out));
}

#if SYNWAVE_HTTPD_ATTACH
// One server in this process on the daemon's sockets; returns the exit status.
int serve_attached(const char* prefix, const synwave::httpd::Options& options, const std::atomic<bool>& stop) {
  synwave::httpd::ClientSockets sockets;
  synwave::httpd::Server server(options);
  server.start(sockets);
  if (!server.listening()) {
    std::fprintf(stderr, "synwave-httpd: listen: %s\n", std::strerror(server.listen_error()));
    server.stop();
    return 1;
  }
  std::fprintf(stderr, "synwave-httpd: %s mode on 0.0.0.0 port %u, attached to %s\n", options.echo ? "echo" : "http",
               options.port, prefix);
  std::printf("ready\n");
  std::fflush(stdout);

  int lost = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    // A signal ends the wait early (EINTR): the flag is seen at once.
    sockets.wait(server.retry_pending() ? 1 : 100);
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    server.poll(synwave::instant_from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
    lost = sockets.error() != 0 ? sockets.error() : server.accept_error();
    if (lost != 0) break;
  }
  if (lost != 0) std::fprintf(stderr, "synwave-httpd: lost the daemon %s: %s\n", prefix, std::strerror(lost));
  server.stop();
  print_counters(server.counters());
  if (lost != 0) return 1;
  std::printf("synwave-httpd: stopped\n");
  std::fflush(stdout);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  const char* attach_prefix = nullptr;
  bool max_sockets_given = false;
  synwave::httpd::Options options;
  static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                    {"attach", required_argument, nullptr, 'a'},
                                    {"max-sockets", required_argument, nullptr, 'n'},
                                    {"port", required_argument, nullptr, 'p'},
                                    {"response-size", required_argument, nullptr, 's'},
                                    {"mode", required_argument, nullptr, 'm'},
                                    {"backlog", required_argument, nullptr, 'b'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  for (int opt; (opt = getopt_long(argc, argv, "c:p:s:m:b:h", kOptions, nullptr)) != -1;) {
    unsigned long v = 0;
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 'a':
        if (*optarg == '\0') return std::fputs("synwave-httpd: --attach needs a prefix\n", stderr), 2;
        attach_prefix = optarg;
        break;
      case 'n':
        if (!parse_unsigned(optarg, 1u << 20, v) || v == 0)
          return std::fputs("synwave-httpd: bad --max-sockets\n", stderr), 2;
        options.max_sockets = static_cast<unsigned>(v);
        max_sockets_given = true;
        break;
      case 'p':
        if (!parse_unsigned(optarg, 65535, v) || v == 0) return std::fputs("synwave-httpd: bad --port\n", stderr), 2;
        options.port = static_cast<std::uint16_t>(v);
        break;
      case 's':
        if (!parse_unsigned(optarg, 64u << 20, v)) return std::fputs("synwave-httpd: bad --response-size\n", stderr), 2;
        options.response_size = static_cast<unsigned>(v);
        break;
      case 'm':
        if (std::strcmp(optarg, "http") != 0 && std::strcmp(optarg, "echo") != 0)
          return std::fputs("synwave-httpd: --mode is http or echo\n", stderr), 2;
        options.echo = std::strcmp(optarg, "echo") == 0;
        break;
      case 'b':
        if (!parse_unsigned(optarg, 1u << 20, v)) return std::fputs("synwave-httpd: bad --backlog\n", stderr), 2;
        options.backlog = static_cast<int>(v);
        break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  const char* usage_error = nullptr;
  if (optind != argc) {
    usage_error = "synwave-httpd: unexpected argument\n";
  } else if (!config_path.empty() && attach_prefix != nullptr) {
    usage_error = "synwave-httpd: --config and --attach exclude each other\n";
  } else if (config_path.empty() && attach_prefix == nullptr) {
    usage_error = "synwave-httpd: --config FILE or --attach PREFIX is required\n";
  } else if (max_sockets_given && attach_prefix == nullptr) {
    usage_error = "synwave-httpd: --max-sockets goes with --attach (the configuration sets it)\n";
  }
  if (usage_error != nullptr) {
    std::fputs(usage_error, stderr);
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (attach_prefix != nullptr) {
#if SYNWAVE_HTTPD_ATTACH
    options.parked_buffers = std::min(options.max_sockets, 4096u);
    const std::atomic<bool>& stop = synwave::stop_on_signals();
    if (sw_attach(attach_prefix) != 0) {
      const int error = errno;
      const char* why = sw_last_error();
      std::fprintf(stderr, "synwave-httpd: attach to %s: %s\n", attach_prefix,
                   why != nullptr && *why != '\0' ? why : std::strerror(error));
      return 1;
    }
    const int status = serve_attached(attach_prefix, options, stop);
    sw_detach();
    return status;
#else
    std::fputs("synwave-httpd: --attach: not built with the client library\n", stderr);
    return 2;
#endif
  }
  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-httpd: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  options.max_sockets = config->engine.max_sockets;
  options.parked_buffers = std::min(options.max_sockets, 4096u);

  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-httpd: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  std::vector<std::unique_ptr<ReadyServer>> servers;
  g_engines = static_cast<unsigned>(stack.engines().size());
  for (const auto& engine : stack.engines()) {
    servers.push_back(std::make_unique<ReadyServer>(options));
    engine->set_application(servers.back().get());
  }
  synwave::publish_telemetry(&stack);
  std::fprintf(stderr, "synwave-httpd: %s mode on %s port %u, %zu engine(s)\n", options.echo ? "echo" : "http",
               synwave::format_ipv4(stack.config().ports.front().ipv4).c_str(), options.port, servers.size());

  stack.run(stop);

  synwave::withdraw_telemetry();
  synwave::httpd::Counters total;
  for (const auto& s : servers) {
    const synwave::httpd::Counters& c = s->counters();
    total.accepted += c.accepted;
    total.requests += c.requests;
    total.responses += c.responses;
    total.closed += c.closed;
    total.bad_requests += c.bad_requests;
    total.errors += c.errors;
    total.send_blocked += c.send_blocked;
    total.no_buffer += c.no_buffer;
    total.bytes_in += c.bytes_in;
    total.bytes_out += c.bytes_out;
  }
  print_counters(total);
  const int status = synwave::report_pools(stack.shutdown(), "synwave-httpd", stdout);
  std::printf("synwave-httpd: stopped\n");
  std::fflush(stdout);
  return status;
}
