// synwave-bulk: one bulk TCP transfer (or several) on synwave's engines, with every received byte
// checked against a deterministic pattern (pattern.h). Runs on every engine (shared_run.h: a
// client's connections go round robin over them, a server listens on each); prints one JSON line
// per connection on stdout when it ends, in connection order. See docs/benchmarking.md.
#include <getopt.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bulk.h"
#include "config/config.h"
#include "ctl/telemetry.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"
#include "shared_run.h"

namespace {

constexpr const char kUsage[] =
    "Usage: synwave-bulk --config FILE (--listen PORT | --connect IP:PORT) [--send BYTES]\n"
    "                    [--expect BYTES] [--connections N] [--timeout SECONDS] [--delay SECONDS]\n"
    "\n"
    "On each connection (a server accepts N of them one after the other, a client makes N):\n"
    "sends BYTES of the pattern (default 0), then shuts down its sending side; reads everything\n"
    "the peer sends until end of stream and checks every byte: the byte at stream offset i must be\n"
    "block[i % 65521], the block filled by xorshift64* from seed 0x5EED0F5A1BEC0DE5 (see\n"
    "app/synwave-bulk/pattern.h). A client retries a refused connect every 100 ms; --delay waits\n"
    "before the first one. With several engines in the config, a client makes connection i on\n"
    "engine i % engines, a server listens on every engine and takes the connections that reach it\n"
    "(one at a time per engine), N in all. Prints one JSON line per connection on stdout:\n"
    "  {\"role\": \"server\", \"connection\": 1, \"engine\": 0, \"sent\": N, \"received\": N, \"verified\": true,\n"
    "   \"first_mismatch\": null, \"seconds\": S, \"gbit_per_s\": G, \"retransmits\": R, \"error\": null}\n"
    "\n"
    "Exit status: 0 when every connection completed with every byte verified (and received BYTES\n"
    "when --expect is given); 1 on a failed connection, a mismatch or a start-up error; 2 on bad\n"
    "usage or when --timeout (default 120 s, the whole run) expired; 3 when mbufs were not all\n"
    "returned at shutdown.\n";

bool parse_u64(const char* text, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && text[0] != '-';
}

bool parse_seconds(const char* text, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text, &end);
  return errno == 0 && end != text && *end == '\0' && out >= 0;
}

int usage_error(const char* what) {
  std::fprintf(stderr, "synwave-bulk: %s\n", what);
  std::fputs(kUsage, stderr);
  return 2;
}

std::string errno_name(int error) {
  if (error == 0) return "null";
  const char* name = strerrorname_np(error);
  return std::string("\"") + (name != nullptr ? name : std::to_string(error).c_str()) + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, target;
  synwave::bulk::Options options;
  bool listen = false;
  static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                    {"listen", required_argument, nullptr, 'l'},
                                    {"connect", required_argument, nullptr, 'C'},
                                    {"send", required_argument, nullptr, 's'},
                                    {"expect", required_argument, nullptr, 'e'},
                                    {"connections", required_argument, nullptr, 'n'},
                                    {"timeout", required_argument, nullptr, 'T'},
                                    {"delay", required_argument, nullptr, 'D'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  for (int opt; (opt = getopt_long(argc, argv, "c:l:C:s:e:n:T:D:h", kOptions, nullptr)) != -1;) {
    std::uint64_t u = 0;
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 'l':
        if (!parse_u64(optarg, u) || u == 0 || u > 65535) return usage_error("bad --listen PORT");
        options.listen_port = static_cast<std::uint16_t>(u);
        listen = true;
        break;
      case 'C': target = optarg; break;
      case 's': if (!parse_u64(optarg, options.send_bytes)) return usage_error("bad --send BYTES"); break;
      case 'e':
        if (!parse_u64(optarg, u)) return usage_error("bad --expect BYTES");
        options.expect_bytes = u;
        break;
      case 'n':
        if (!parse_u64(optarg, u) || u == 0 || u > 1000000) return usage_error("bad --connections");
        options.connections = static_cast<unsigned>(u);
        break;
      case 'T':
        if (!parse_seconds(optarg, options.timeout_s) || options.timeout_s <= 0) return usage_error("bad --timeout");
        break;
      case 'D': if (!parse_seconds(optarg, options.delay_s)) return usage_error("bad --delay"); break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (config_path.empty()) return usage_error("--config FILE is required");
  if (optind != argc) return usage_error("unexpected argument");
  if (listen == !target.empty()) return usage_error("give exactly one of --listen PORT and --connect IP:PORT");
  options.server = listen;
  if (!listen) {
    const std::size_t colon = target.rfind(':');
    std::uint64_t port = 0;
    auto addr = colon == std::string::npos ? std::nullopt : synwave::parse_ipv4(target.substr(0, colon));
    if (!addr || !parse_u64(target.c_str() + colon + 1, port) || port == 0 || port > 65535)
      return usage_error("bad --connect IP:PORT");
    options.target = {*addr, static_cast<std::uint16_t>(port)};
  }

  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-bulk: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-bulk: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  const auto& engines = stack.engines();
  // A server listens on every engine (a peer's connection may reach any); a client needs no more
  // engines than connections.
  const std::size_t instances = options.server ? engines.size() : std::min<std::size_t>(engines.size(), options.connections);
  synwave::bulk::SharedRun run(static_cast<unsigned>(instances), options.connections);
  std::vector<std::unique_ptr<synwave::bulk::BulkApp>> apps;
  for (std::size_t e = 0; e < instances; ++e) {
    apps.push_back(std::make_unique<synwave::bulk::BulkApp>(options, run, static_cast<unsigned>(e)));
    engines[e]->set_application(apps.back().get());
  }
  synwave::publish_telemetry(&stack);

  stack.run(stop);
  synwave::withdraw_telemetry();

  const char* role = options.server ? "server" : "client";
  // Every engine's results, in connection order.
  std::vector<std::pair<const synwave::bulk::Result*, unsigned>> results;  // (result, engine)
  bool all_ok = true, timed_out = false;
  for (std::size_t e = 0; e < apps.size(); ++e) {
    all_ok = all_ok && apps[e]->setup_error() == 0;
    timed_out = timed_out || apps[e]->timed_out();
    for (const synwave::bulk::Result& r : apps[e]->results()) results.emplace_back(&r, static_cast<unsigned>(e));
  }
  std::stable_sort(results.begin(), results.end(),
                   [](const auto& a, const auto& b) { return a.first->connection < b.first->connection; });
  all_ok = all_ok && results.size() == options.connections;
  for (const auto& [result, engine] : results) {
    const synwave::bulk::Result& r = *result;
    const bool expect_ok = !options.expect_bytes || r.received == *options.expect_bytes;
    all_ok = all_ok && r.verified() && expect_ok;
    const double bytes = static_cast<double>(r.sent > r.received ? r.sent : r.received);
    const std::string mismatch =
        r.first_mismatch ? std::to_string(*r.first_mismatch) : std::string("null");
    std::printf(
        "{\"role\": \"%s\", \"connection\": %u, \"engine\": %u, \"sent\": %llu, \"received\": %llu, \"verified\": %s, "
        "\"first_mismatch\": %s, \"seconds\": %.6f, \"gbit_per_s\": %.4f, \"retransmits\": %llu, \"error\": %s%s}\n",
        role, r.connection + 1, engine, static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.received),
        r.verified() ? "true" : "false", mismatch.c_str(), r.seconds,
        r.seconds > 0 ? bytes * 8 / r.seconds / 1e9 : 0.0, static_cast<unsigned long long>(r.retransmits),
        errno_name(r.error).c_str(),
        expect_ok ? "" : (", \"expected\": " + std::to_string(*options.expect_bytes)).c_str());
  }
  std::fflush(stdout);
  int status = timed_out ? 2 : all_ok ? 0 : 1;
  const int pools = synwave::report_pools(stack.shutdown(), "synwave-bulk", stderr);
  if (status == 0 && pools != 0) status = pools;
  std::fprintf(stderr, "synwave-bulk: stopped (%s)\n", status == 0 ? "all verified" : "FAILED");
  return status;
}
