// synwave-flood: a TCP flood generator (SYN, ACK, RST, FIN or a mix) running on a synwave engine,
// for testing how servers survive floods. Runs on the first engine; bounded by --count and
// --duration (both required; it stops at whichever comes first) or SIGINT/SIGTERM; refuses any
// destination outside the config's [flood] allowed_destinations (198.18.0.0/15 by default).
// Prints a progress line per second on stderr and a summary (JSON on stdout with --json).
#include <getopt.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "config/config.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"
#include "flood/flood_target.h"
#include "flood_generator.h"

namespace {

constexpr const char kUsage[] =
    "Usage: synwave-flood --config FILE --target IP:PORT --kind syn|ack|rst|fin|mix --count N --duration S\n"
    "                     [--rate PPS] [--source-prefix A.B.C.D/N] [--dst-mac MAC] [--delay S] [--seed N]\n"
    "                     [--json] [--quiet]\n"
    "\n"
    "  syn  SYNs with Linux's options (MSS, SACK-permitted, timestamps, window scale)\n"
    "  ack  ACKs with timestamps       rst  RSTs       fin  FIN|ACKs with timestamps\n"
    "  mix  each packet one of the four, drawn at random\n"
    "Sources are spoofed: addresses drawn from --source-prefix (default: [flood] source_prefix,\n"
    "198.19.0.0/16), ports from 1024-65535, random sequence numbers, IP ids and timestamps.\n"
    "--count (packets built) and --duration (seconds) are both required: the flood stops at\n"
    "whichever comes first. --rate keeps packets per second on a schedule (after a stall of up to\n"
    "1 s it catches up); without it the flood goes as fast as the port takes packets. A full tx\n"
    "ring holds the flood back (the rest of a burst goes first next time); nothing is dropped.\n"
    "The target must lie in the config's [flood] allowed_destinations (default 198.18.0.0/15).\n"
    "The next hop's MAC comes from ARP (the target on\n"
    "the link, else the config's gateway) unless --dst-mac gives it. --delay waits before starting.\n"
    "A progress line per second goes to stderr (--quiet: none); the summary to stdout (--json: as\n"
    "JSON, the text to stderr). Exit status: 0 done, 1 refused or failed, 2 bad options, 3 mbufs leaked.\n";

bool parse_double(const char* text, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text, &end);
  return errno == 0 && end != text && *end == '\0' && out >= 0;
}

bool parse_u64(const char* text, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  if (*text == '-') return false;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0';
}

int bad(const char* what) {
  std::fprintf(stderr, "synwave-flood: bad %s (--help for usage)\n", what);
  return 2;
}


}  // namespace

int main(int argc, char** argv) {
  using synwave::flood::Kind;
  std::string config_path, target, source_prefix;
  synwave::flood::Options options;
  bool json = false, have_kind = false, have_count = false, have_duration = false, have_seed = false;
  static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                    {"target", required_argument, nullptr, 't'},
                                    {"kind", required_argument, nullptr, 'k'},
                                    {"count", required_argument, nullptr, 'n'},
                                    {"duration", required_argument, nullptr, 'd'},
                                    {"rate", required_argument, nullptr, 'r'},
                                    {"source-prefix", required_argument, nullptr, 's'},
                                    {"dst-mac", required_argument, nullptr, 'm'},
                                    {"delay", required_argument, nullptr, 'D'},
                                    {"seed", required_argument, nullptr, 'S'},
                                    {"json", no_argument, nullptr, 'j'},
                                    {"quiet", no_argument, nullptr, 'q'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  for (int opt; (opt = getopt_long(argc, argv, "c:t:k:n:d:r:s:m:D:S:jqh", kOptions, nullptr)) != -1;) {
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 't': target = optarg; break;
      case 'k': {
        auto kind = synwave::flood::parse_kind(optarg);
        if (!kind) return bad("--kind (syn, ack, rst, fin or mix)");
        options.kind = *kind;
        have_kind = true;
        break;
      }
      case 'n':
        if (!parse_u64(optarg, options.count) || options.count == 0) return bad("--count (packets, at least 1)");
        have_count = true;
        break;
      case 'd':
        if (!parse_double(optarg, options.duration_s) || options.duration_s <= 0 || options.duration_s > 86400)
          return bad("--duration (seconds, above 0, at most 86400)");
        have_duration = true;
        break;
      case 'r':
        if (!parse_double(optarg, options.rate) || options.rate <= 0) return bad("--rate (packets per second, above 0)");
        break;
      case 's': source_prefix = optarg; break;
      case 'm': {
        auto mac = synwave::parse_mac(optarg);
        if (!mac || mac->is_multicast() || mac->is_zero()) return bad("--dst-mac (a unicast MAC, 02:00:5e:00:53:01)");
        options.dst_mac = *mac;
        break;
      }
      case 'D':
        if (!parse_double(optarg, options.delay_s) || options.delay_s > 3600) return bad("--delay (seconds)");
        break;
      case 'S':
        if (!parse_u64(optarg, options.seed)) return bad("--seed");
        have_seed = true;
        break;
      case 'j': json = true; break;
      case 'q': options.progress = false; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (optind != argc) return bad("arguments (no operands are taken)");
  if (config_path.empty() || target.empty() || !have_kind) {
    std::fputs("synwave-flood: --config FILE, --target IP:PORT and --kind are required\n", stderr);
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!have_count || !have_duration) {
    std::fprintf(stderr,
                 "synwave-flood: --count N and --duration S are both required (missing: %s); the flood stops "
                 "at whichever comes first\n",
                 !have_count && !have_duration ? "both" : !have_count ? "--count" : "--duration");
    return 2;
  }
  const std::size_t colon = target.rfind(':');
  std::uint64_t port = 0;
  auto addr = colon == std::string::npos ? std::nullopt : synwave::parse_ipv4(target.substr(0, colon));
  if (!addr || !parse_u64(target.c_str() + colon + 1, port) || port == 0 || port > 65535)
    return bad("--target (IP:PORT, port 1-65535)");
  options.target = *addr;
  options.target_port = static_cast<std::uint16_t>(port);
  if (!source_prefix.empty()) {
    auto prefix = synwave::parse_ipv4_prefix(source_prefix);
    if (!prefix) return bad("--source-prefix (a network A.B.C.D/N with its host bits zero)");
    options.sources = *prefix;
  }
  if (!have_seed) options.seed = static_cast<std::uint64_t>(std::time(nullptr)) ^ (std::uint64_t{static_cast<unsigned>(getpid())} << 32);

  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave-flood: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  if (auto allowed = synwave::flood::check_flood_target(*config, options.target, options.dst_mac.has_value());
      !allowed.ok()) {
    std::fprintf(stderr, "synwave-flood: %s\n", std::string(allowed.message()).c_str());
    return 1;
  }
  if (source_prefix.empty()) options.sources = config->flood.source_prefix;
  // The flood's engine is never idle while it floods: no sleeping after empty receive polls.
  config->engine.idle_sleep_us = 0;
  const unsigned burst = config->engine.burst_size;

  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave-flood: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  synwave::Engine& engine = *stack.engines().front();
  synwave::flood::FloodGenerator generator(options, *engine.queues().front(), engine.pool(), burst);
  engine.set_application(&generator);
  const std::string kind(synwave::flood::kind_name(options.kind));
  const std::string prefix_text = synwave::format_ipv4_prefix(options.sources);
  char rate_text[32] = "as fast as the port goes";
  if (options.rate > 0) std::snprintf(rate_text, sizeof rate_text, "%.0f pps", options.rate);
  std::fprintf(stderr, "synwave-flood: ready: %s flood to %s from %s, at most %llu packets in %g s, %s\n",
               kind.c_str(), target.c_str(), prefix_text.c_str(), static_cast<unsigned long long>(options.count),
               options.duration_s, rate_text);

  stack.run(stop);

  using ull = unsigned long long;
  const synwave::flood::Totals& t = generator.totals();
  const double secs = generator.elapsed_s();
  const double pps = secs > 0 ? static_cast<double>(t.sent) / secs : 0;
  const char* reason = synwave::flood::stop_reason_name(generator.stop_reason());
  const std::string mac = generator.dst_mac() ? synwave::format_mac(*generator.dst_mac()) : "";
  std::fprintf(json ? stderr : stdout,
               "synwave-flood: %s flood to %s from %s: %llu sent, %llu unsent at the end in %.3f s, %.0f pps "
               "(syn %llu ack %llu rst %llu fin %llu); stopped by %s\n",
               kind.c_str(), target.c_str(), prefix_text.c_str(), static_cast<ull>(t.sent), static_cast<ull>(t.dropped),
               secs, pps, static_cast<ull>(t.by_kind[0]), static_cast<ull>(t.by_kind[1]),
               static_cast<ull>(t.by_kind[2]), static_cast<ull>(t.by_kind[3]), reason);
  if (json) {
    std::printf(
        "{\"kind\": \"%s\", \"target\": \"%s\", \"source_prefix\": \"%s\", \"sent\": %llu, \"dropped\": %llu, "
        "\"duration_s\": %.6f, \"pps\": %.1f, \"rate\": %.1f, \"count\": %llu, \"duration_limit_s\": %g, "
        "\"stopped_by\": \"%s\", \"dst_mac\": \"%s\", \"no_mbuf\": %llu, \"ring_full\": %llu, \"forgiven\": %llu, "
        "\"sent_by_kind\": {\"syn\": %llu, \"ack\": %llu, \"rst\": %llu, \"fin\": %llu}}\n",
        kind.c_str(), target.c_str(), prefix_text.c_str(), static_cast<ull>(t.sent), static_cast<ull>(t.dropped), secs,
        pps, options.rate, static_cast<ull>(options.count), options.duration_s, reason, mac.c_str(),
        static_cast<ull>(t.no_mbuf), static_cast<ull>(t.ring_full), static_cast<ull>(t.forgiven),
        static_cast<ull>(t.by_kind[0]), static_cast<ull>(t.by_kind[1]),
        static_cast<ull>(t.by_kind[2]), static_cast<ull>(t.by_kind[3]));
  }
  std::fflush(stdout);
  int status = synwave::report_pools(stack.shutdown(), "synwave-flood", stderr);
  if (generator.stop_reason() == synwave::flood::StopReason::kUnresolved) {
    std::fprintf(stderr, "synwave-flood: no ARP answer from the next hop %s: nothing was sent\n",
                 synwave::format_ipv4(generator.next_hop()).c_str());
    if (status == 0) status = 1;
  }
  std::fprintf(stderr, "synwave-flood: stopped\n");
  return status;
}
