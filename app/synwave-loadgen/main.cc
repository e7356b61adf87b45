// synwave-loadgen: a load generator (CRR, RR, bulk) running on synwave's engines.
// One generator on every engine, each with its share of the load (engine_shares.h); stops by
// itself at --duration or --count, or on SIGINT/SIGTERM, then prints a summary of all engines
// merged (text, or JSON on stdout with --json), what each engine did, and the mbuf report.
#include <getopt.h>

#include <atomic>
#include <cerrno>
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
#include "engine_report.h"
#include "engine_shares.h"
#include "flood/flood_target.h"
#include "flood_side_load.h"
#include "load_generator.h"
#include "load_with_flood.h"
#include "merged_totals.h"
#include "run_completion.h"
#include "timeline_report.h"

namespace {

constexpr const char kUsage[] =
    "Usage: synwave-loadgen --config FILE --target IP:PORT [--mode crr|rr|bulk] [--concurrency N]\n"
    "                       [--duration SECONDS] [--count N] [--rate R] [--request-size BYTES]\n"
    "                       [--proto http|echo] [--timeout SECONDS] [--delay SECONDS] [--json] [--quiet]\n"
    "                       [--timeline-ms MS]\n"
    "                       [--flood-rate PPS|max --flood-start S --flood-seconds S [--flood-count N]\n"
    "                        [--flood-source-prefix A.B.C.D/N] [--flood-seed N]]\n"
    "\n"
    "  crr   connect, HTTP GET with Connection: close, read the response, close (handshake rate)\n"
    "  rr    request/response on N persistent connections\n"
    "  bulk  send as fast as possible on N connections (--count is then in bytes)\n"
    "Every engine of the config runs a generator: --concurrency, --count and --rate are split over\n"
    "them (an engine left without a connection runs none); the summary adds them up and shows each.\n"
    "--count bounds transactions (crr: connections, rr: requests; errors count too), --duration the\n"
    "time; without either it runs 10 s. --rate caps transactions per second (token bucket).\n"
    "--proto echo expects the request echoed back instead of an HTTP response. --delay waits\n"
    "before starting. A progress line goes to stderr each second (--quiet: none); the summary with\n"
    "latency percentiles goes to stdout (--json: as JSON, the text to stderr).\n"
    "--timeline-ms adds to the JSON the completions, failures, flood frames sent and answers to\n"
    "the flood seen in each slice of MS ms, and latency per phase (before, during, after a flood).\n"
    "--flood-rate sends a SYN flood with spoofed sources (as synwave-flood --kind syn) from the first\n"
    "engine, --flood-start seconds after the load begins, for --flood-seconds (both required), at\n"
    "PPS or as fast as the port goes (max), at most --flood-count frames (default: rate x seconds;\n"
    "required with max). The target must lie in the config's [flood] allowed_destinations; sources\n"
    "come from --flood-source-prefix (default [flood] source_prefix). Needs --duration, at least\n"
    "--flood-start + --flood-seconds; implies --timeline-ms 100.\n";

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
  synwave::loadgen::SideFloodOptions flood;
  bool json = false, flooding = false, flood_max = false, have_flood_start = false, have_flood_seconds = false;
  std::uint64_t timeline_ms = 0;
  std::string flood_prefix;
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
                                    {"timeline-ms", required_argument, nullptr, 'L'},
                                    {"flood-rate", required_argument, nullptr, 'F'},
                                    {"flood-start", required_argument, nullptr, 'A'},
                                    {"flood-seconds", required_argument, nullptr, 'B'},
                                    {"flood-count", required_argument, nullptr, 'C'},
                                    {"flood-source-prefix", required_argument, nullptr, 'P'},
                                    {"flood-seed", required_argument, nullptr, 'E'},
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
      case 'L':
        if (!parse_u64(optarg, timeline_ms) || timeline_ms == 0 || timeline_ms > 60000) return bad("--timeline-ms");
        break;
      case 'F':
        flooding = true;
        flood_max = std::strcmp(optarg, "max") == 0;
        if (!flood_max && (!parse_double(optarg, flood.rate) || flood.rate <= 0 || flood.rate > 1e9))
          return bad("--flood-rate (SYNs per second, or max)");
        break;
      case 'A':
        if (!parse_double(optarg, flood.start_s) || flood.start_s > 86400) return bad("--flood-start");
        have_flood_start = true;
        break;
      case 'B':
        if (!parse_double(optarg, flood.duration_s) || flood.duration_s <= 0 || flood.duration_s > 86400)
          return bad("--flood-seconds (above 0)");
        have_flood_seconds = true;
        break;
      case 'C':
        if (!parse_u64(optarg, flood.count) || flood.count == 0) return bad("--flood-count (at least 1)");
        break;
      case 'P': flood_prefix = optarg; break;
      case 'E': if (!parse_u64(optarg, flood.seed)) return bad("--flood-seed"); break;
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
  if (flooding) {
    // Bounded in time and in packets, inside the load's own run.
    if (!have_flood_start || !have_flood_seconds) return bad("flood: --flood-start and --flood-seconds are required");
    if (options.duration_s < flood.start_s + flood.duration_s)
      return bad("flood: --duration must cover --flood-start + --flood-seconds");
    if (flood.count == 0) {
      if (flood_max) return bad("flood: --flood-rate max needs --flood-count");
      flood.count = static_cast<std::uint64_t>(flood.rate * flood.duration_s + 0.5);
      if (flood.count == 0) flood.count = 1;
    }
    flood.target = *addr;
    flood.target_port = static_cast<std::uint16_t>(port);
    if (timeline_ms == 0) timeline_ms = 100;
  }
  if (timeline_ms != 0 && options.duration_s == 0) return bad("--timeline-ms needs --duration");

  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-loadgen: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  options.max_sockets = config->engine.max_sockets;
  if (flooding) {
    if (auto allowed = synwave::flood::check_flood_target(*config, flood.target, false); !allowed.ok()) {
      std::fprintf(stderr, "synwave-loadgen: flood %s\n", std::string(allowed.message()).c_str());
      return 1;
    }
    flood.sources = config->flood.source_prefix;
    if (!flood_prefix.empty()) {
      auto prefix = synwave::parse_ipv4_prefix(flood_prefix);
      if (!prefix) return bad("--flood-source-prefix (a network A.B.C.D/N with its host bits zero)");
      flood.sources = *prefix;
    }
  }
  const unsigned burst = config->engine.burst_size;
  if (options.concurrency > options.max_sockets) return bad("--concurrency (above engine.max_sockets)");

  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-loadgen: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  const auto& engines = stack.engines();
  const std::vector<synwave::loadgen::EngineShare> shares =
      synwave::loadgen::split_load(options.concurrency, options.count, options.rate, engines.size());
  // The timeline spans the run plus the drain after it; its phases split at the flood's window.
  const double window_start_s = flooding ? flood.start_s : options.duration_s;
  const double window_end_s = flooding ? flood.start_s + flood.duration_s : options.duration_s;
  const std::chrono::milliseconds slice_width(timeline_ms);
  // One generator (and timeline) per engine that takes part, each touched by its engine's thread
  // only; the engines keep running until the last generator is done.
  synwave::loadgen::RunCompletion completion(static_cast<unsigned>(shares.size()));
  std::vector<std::unique_ptr<synwave::loadgen::LoadGenerator>> generators;
  std::vector<std::unique_ptr<synwave::loadgen::TimeSlices>> timelines;
  for (std::size_t e = 0; e < shares.size(); ++e) {
    synwave::loadgen::Options share = options;
    share.concurrency = shares[e].concurrency;
    share.count = shares[e].count;
    share.rate = shares[e].rate;
    if (shares.size() > 1) share.progress_label = "engine " + std::to_string(e) + " ";
    auto& generator = generators.emplace_back(std::make_unique<synwave::loadgen::LoadGenerator>(share));
    generator->set_completion(&completion);
    if (timeline_ms != 0) {
      using std::chrono::milliseconds;
      auto& slices = timelines.emplace_back(std::make_unique<synwave::loadgen::TimeSlices>(
          slice_width, milliseconds(static_cast<std::int64_t>(options.duration_s * 1000) + 2000)));
      generator->set_timeline(slices.get(), milliseconds(static_cast<std::int64_t>(window_start_s * 1000)),
                              milliseconds(static_cast<std::int64_t>(window_end_s * 1000)));
    }
    if (e != 0 || !flooding) engines[e]->set_application(generator.get());
  }
  // The flood goes from the first engine, beside its generator, into that engine's timeline.
  std::optional<synwave::loadgen::FloodSideLoad> side_flood;
  std::optional<synwave::loadgen::LoadWithFlood> load_with_flood;
  if (flooding) {
    synwave::Engine& first = *engines.front();
    side_flood.emplace(flood, *first.queues().front(), first.pool(), burst, *timelines.front());
    load_with_flood.emplace(*generators.front(), *side_flood);
    first.set_application(&*load_with_flood);
  }
  synwave::publish_telemetry(&stack);
  std::string spread;
  if (engines.size() > 1) spread = ", on " + std::to_string(shares.size()) + " of " + std::to_string(engines.size()) + " engines";
  std::fprintf(stderr, "synwave-loadgen: ready: %s to %s, concurrency %u%s\n", mode_name(options.mode),
               target.c_str(), options.concurrency, spread.c_str());

  stack.run(stop);
  synwave::withdraw_telemetry();

  synwave::loadgen::MergedTotals run;
  for (std::size_t e = 0; e < generators.size(); ++e)
    run.add(static_cast<unsigned>(e), shares[e].concurrency, *generators[e]);
  const synwave::loadgen::Totals& t = run.totals();
  const synwave::loadgen::Histogram& h = run.histogram();
  const double secs = run.elapsed_s() > 0 ? run.elapsed_s() : 1e-9;
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
                static_cast<ull>(t.bad_responses), static_cast<ull>(run.retransmits()),
                static_cast<double>(h.percentile(50)) / 1e3, static_cast<double>(h.percentile(90)) / 1e3,
                static_cast<double>(h.percentile(99)) / 1e3, static_cast<double>(h.percentile(99.9)) / 1e3,
                static_cast<double>(h.min()) / 1e3, static_cast<double>(h.max()) / 1e3, h.mean() / 1e3,
                static_cast<ull>(h.count()));
  std::fputs(text, json ? stderr : stdout);
  if (engines.size() > 1) synwave::loadgen::print_engine_lines(json ? stderr : stdout, run);
  if (json) {
    std::printf(
        "{\"mode\": \"%s\", \"target\": \"%s\", \"concurrency\": %u, \"duration_s\": %.6f, \"completed\": %llu, "
        "\"connections\": %llu, \"connections_per_s\": %.1f, \"requests_per_s\": %.1f, \"bytes_sent\": %llu, "
        "\"bytes_received\": %llu, \"errors\": %llu, \"errors_by_kind\": {\"refused\": %llu, \"timeout\": %llu, "
        "\"reset\": %llu, \"other\": %llu}, \"addr_not_avail\": %llu, \"bad_responses\": %llu, "
        "\"tcp_retransmits\": %llu, \"latency_ns\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
        "\"p99.9\": %llu, \"min\": %llu, \"max\": %llu, \"mean\": %.0f, \"samples\": %llu}",
        mode_name(options.mode), target.c_str(), options.concurrency, secs, static_cast<ull>(t.completed),
        static_cast<ull>(t.connections), static_cast<double>(t.connections) / secs,
        static_cast<double>(t.completed) / secs, static_cast<ull>(t.bytes_sent), static_cast<ull>(t.bytes_received),
        static_cast<ull>(t.error_total()), err(ErrorKind::kRefused), err(ErrorKind::kTimeout), err(ErrorKind::kReset),
        err(ErrorKind::kOther), static_cast<ull>(t.addr_not_avail), static_cast<ull>(t.bad_responses),
        static_cast<ull>(run.retransmits()), static_cast<ull>(h.percentile(50)),
        static_cast<ull>(h.percentile(90)), static_cast<ull>(h.percentile(99)), static_cast<ull>(h.percentile(99.9)),
        static_cast<ull>(h.min()), static_cast<ull>(h.max()), h.mean(), static_cast<ull>(h.count()));
    synwave::loadgen::print_engines_json(stdout, run);
    if (timeline_ms != 0) {
      synwave::loadgen::print_timeline_json(stdout, slice_width, run, window_start_s, window_end_s, run.elapsed_s(),
                                            flooding ? &flood : nullptr, side_flood ? &side_flood->totals() : nullptr);
    }
    std::fputs("}\n", stdout);
  }
  if (side_flood) {
    const synwave::loadgen::SideFloodTotals& f = side_flood->totals();
    std::fprintf(stderr,
                 "synwave-loadgen: flood: %llu SYNs offered, %llu sent in %.3f s from %.3f s (%.0f pps), %llu dropped "
                 "at the full ring, %llu unsent, %llu answers seen, %llu of the load's frames dropped at the ring%s\n",
                 static_cast<ull>(f.offered), static_cast<ull>(f.sent), f.elapsed_s, f.started_s,
                 f.elapsed_s > 0 ? static_cast<double>(f.sent) / f.elapsed_s : 0.0, static_cast<ull>(f.dropped),
                 static_cast<ull>(f.unsent), static_cast<ull>(f.answers), static_cast<ull>(f.load_tx_drops),
                 f.unresolved ? " (no MAC for the next hop: nothing sent)" : "");
  }
  const int status = synwave::report_pools(stack.shutdown(), "synwave-loadgen", stderr);
  std::fprintf(stderr, "synwave-loadgen: stopped\n");
  std::fflush(stdout);
  return status;
}
