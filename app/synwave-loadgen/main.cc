// synwave-loadgen: a load generator (CRR, RR, bulk) running on a synwave engine.
// Runs on the first engine; stops by itself at --duration or --count, or on SIGINT/SIGTERM, then
// prints a summary (text, or JSON on stdout with --json) and the mbuf report.
#include <getopt.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "config/config.h"
#include "ctl/telemetry.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"
#include "load_generator.h"

namespace {

constexpr const char kUsage[] =
    "Usage: synwave-loadgen --config FILE --target IP:PORT [--mode crr|rr|bulk] [--concurrency N]\n"
    "                       [--duration SECONDS] [--count N] [--rate R] [--request-size BYTES]\n"
    "                       [--proto http|echo] [--timeout SECONDS] [--delay SECONDS] [--json] [--quiet]\n"
    "\n"
    "  crr   connect, HTTP GET with Connection: close, read the response, close (handshake rate)\n"
    "  rr    request/response on N persistent connections\n"
    "  bulk  send as fast as possible on N connections (--count is then in bytes)\n"
    "--count bounds transactions (crr: connections, rr: requests; errors count too), --duration the\n"
    "time; without either it runs 10 s. --rate caps transactions per second (token bucket).\n"
    "--proto echo expects the request echoed back instead of an HTTP response. --delay waits\n"
    "before starting. A progress line goes to stderr each second (--quiet: none); the summary with\n"
    "latency percentiles goes to stdout (--json: as JSON, the text to stderr).\n";

using synwave::loadgen::ErrorKind;

bool parse_double(const char* text, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text, &end);
  return errno == 0 && end != text && *end == '\0' && out >= 0;
}

bool parse_u64(const char* text, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

const char* mode_name(synwave::loadgen::Mode m) {
  switch (m) {
    case synwave::loadgen::Mode::kCrr: return "crr";
    case synwave::loadgen::Mode::kRr: return "rr";
    case synwave::loadgen::Mode::kBulk: return "bulk";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, target;
  synwave::loadgen::Options options;
  bool json = false;
  static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                    {"target", required_argument, nullptr, 't'},
                                    {"mode", required_argument, nullptr, 'm'},
                                    {"concurrency", required_argument, nullptr, 'n'},
                                    {"duration", required_argument, nullptr, 'd'},
                                    {"count", required_argument, nullptr, 'k'},
                                    {"rate", required_argument, nullptr, 'r'},
                                    {"request-size", required_argument, nullptr, 's'},
                                    {"proto", required_argument, nullptr, 'p'},
                                    {"timeout", required_argument, nullptr, 'T'},
                                    {"delay", required_argument, nullptr, 'D'},
                                    {"json", no_argument, nullptr, 'j'},
                                    {"quiet", no_argument, nullptr, 'q'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  auto bad = [](const char* what) {
    std::fprintf(stderr, "synwave-loadgen: bad %s\n", what);
    return 2;
  };
  for (int opt; (opt = getopt_long(argc, argv, "c:t:m:n:d:k:r:s:p:T:D:jqh", kOptions, nullptr)) != -1;) {
    std::uint64_t u = 0;
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 't': target = optarg; break;
      case 'm':
        if (!std::strcmp(optarg, "crr")) options.mode = synwave::loadgen::Mode::kCrr;
        else if (!std::strcmp(optarg, "rr")) options.mode = synwave::loadgen::Mode::kRr;
        else if (!std::strcmp(optarg, "bulk")) options.mode = synwave::loadgen::Mode::kBulk;
        else return bad("--mode (crr, rr or bulk)");
        break;
      case 'n':
        if (!parse_u64(optarg, u) || u == 0 || u > 1000000) return bad("--concurrency");
        options.concurrency = static_cast<unsigned>(u);
        break;
      case 'd': if (!parse_double(optarg, options.duration_s)) return bad("--duration"); break;
      case 'k': if (!parse_u64(optarg, options.count)) return bad("--count"); break;
      case 'r': if (!parse_double(optarg, options.rate)) return bad("--rate"); break;
      case 's':
        if (!parse_u64(optarg, u) || u > 65536) return bad("--request-size");
        options.request_size = static_cast<unsigned>(u);
        break;
      case 'p':
        if (std::strcmp(optarg, "http") != 0 && std::strcmp(optarg, "echo") != 0) return bad("--proto");
        options.echo = std::strcmp(optarg, "echo") == 0;
        break;
      case 'T': if (!parse_double(optarg, options.timeout_s) || options.timeout_s <= 0) return bad("--timeout"); break;
      case 'D': if (!parse_double(optarg, options.delay_s)) return bad("--delay"); break;
      case 'j': json = true; break;
      case 'q': options.progress = false; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (config_path.empty() || target.empty() || optind != argc) {
    std::fputs("synwave-loadgen: --config FILE and --target IP:PORT are required\n", stderr);
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::size_t colon = target.rfind(':');
  std::uint64_t port = 0;
  auto addr = colon == std::string::npos ? std::nullopt : synwave::parse_ipv4(target.substr(0, colon));
  if (!addr || !parse_u64(target.c_str() + colon + 1, port) || port == 0 || port > 65535) return bad("--target");
  options.target = {*addr, static_cast<std::uint16_t>(port)};
  if (options.duration_s == 0 && options.count == 0) options.duration_s = 10;

  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-loadgen: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  options.max_sockets = config->engine.max_sockets;
  if (options.concurrency > options.max_sockets) return bad("--concurrency (above engine.max_sockets)");

  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-loadgen: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  synwave::loadgen::LoadGenerator generator(options);
  stack.engines().front()->set_application(&generator);
  synwave::publish_telemetry(&stack);
  std::fprintf(stderr, "synwave-loadgen: ready: %s to %s, concurrency %u\n", mode_name(options.mode), target.c_str(),
               options.concurrency);

  stack.run(stop);
  synwave::withdraw_telemetry();

  const synwave::loadgen::Totals& t = generator.totals();
  const synwave::loadgen::Histogram& h = generator.histogram();
  const double secs = generator.elapsed_s() > 0 ? generator.elapsed_s() : 1e-9;
  const auto err = [&](ErrorKind k) { return static_cast<unsigned long long>(t.errors[static_cast<int>(k)]); };
  using ull = unsigned long long;
  char text[2048];
  std::snprintf(text, sizeof text,
                "synwave-loadgen: %s %s concurrency %u: %.3f s, %llu completed, %.0f conn/s, %.0f req/s, "
                "%.1f MB/s sent\n"
                "  errors %llu (refused %llu timeout %llu reset %llu other %llu), addrnotavail %llu, "
                "bad responses %llu, tcp_retransmits %llu\n"
                "  latency us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f min %.1f max %.1f mean %.1f (%llu samples)\n",
                mode_name(options.mode), target.c_str(), options.concurrency, secs,
                static_cast<ull>(t.completed), static_cast<double>(t.connections) / secs,
                static_cast<double>(t.completed) / secs, static_cast<double>(t.bytes_sent) / secs / 1e6,
                static_cast<ull>(t.error_total()), err(ErrorKind::kRefused), err(ErrorKind::kTimeout),
                err(ErrorKind::kReset), err(ErrorKind::kOther), static_cast<ull>(t.addr_not_avail),
                static_cast<ull>(t.bad_responses), static_cast<ull>(generator.retransmits()),
                static_cast<double>(h.percentile(50)) / 1e3, static_cast<double>(h.percentile(90)) / 1e3,
                static_cast<double>(h.percentile(99)) / 1e3, static_cast<double>(h.percentile(99.9)) / 1e3,
                static_cast<double>(h.min()) / 1e3, static_cast<double>(h.max()) / 1e3, h.mean() / 1e3,
                static_cast<ull>(h.count()));
  std::fputs(text, json ? stderr : stdout);
  if (json) {
    std::printf(
        "{\"mode\": \"%s\", \"target\": \"%s\", \"concurrency\": %u, \"duration_s\": %.6f, \"completed\": %llu, "
        "\"connections\": %llu, \"connections_per_s\": %.1f, \"requests_per_s\": %.1f, \"bytes_sent\": %llu, "
        "\"bytes_received\": %llu, \"errors\": %llu, \"errors_by_kind\": {\"refused\": %llu, \"timeout\": %llu, "
        "\"reset\": %llu, \"other\": %llu}, \"addr_not_avail\": %llu, \"bad_responses\": %llu, "
        "\"tcp_retransmits\": %llu, \"latency_ns\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
        "\"p99.9\": %llu, \"min\": %llu, \"max\": %llu, \"mean\": %.0f, \"samples\": %llu}}\n",
        mode_name(options.mode), target.c_str(), options.concurrency, secs, static_cast<ull>(t.completed),
        static_cast<ull>(t.connections), static_cast<double>(t.connections) / secs,
        static_cast<double>(t.completed) / secs, static_cast<ull>(t.bytes_sent), static_cast<ull>(t.bytes_received),
        static_cast<ull>(t.error_total()), err(ErrorKind::kRefused), err(ErrorKind::kTimeout), err(ErrorKind::kReset),
        err(ErrorKind::kOther), static_cast<ull>(t.addr_not_avail), static_cast<ull>(t.bad_responses),
        static_cast<ull>(generator.retransmits()), static_cast<ull>(h.percentile(50)),
        static_cast<ull>(h.percentile(90)), static_cast<ull>(h.percentile(99)), static_cast<ull>(h.percentile(99.9)),
        static_cast<ull>(h.min()), static_cast<ull>(h.max()), h.mean(), static_cast<ull>(h.count()));
  }
  const int status = synwave::report_pools(stack.shutdown(), "synwave-loadgen", stderr);
  std::fprintf(stderr, "synwave-loadgen: stopped\n");
  std::fflush(stdout);
  return status;
}
