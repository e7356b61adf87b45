// synwave: the daemon. Starts the stack described by a configuration file and runs it until
// SIGINT or SIGTERM, then stops the ports and checks that every mbuf came back.
#include <getopt.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_join.h"
#include "config/config.h"
#include "ctl/telemetry.h"
#include "engine/eal.h"
#include "engine/runtime.h"
#include "engine/stop_signal.h"
#include "shim/shim_service.h"

namespace {

constexpr const char kUsage[] =
    "Usage: synwave --config FILE [--check] [--print-eal-args]\n"
    "\n"
    "Runs the synwave TCP/IP stack on the ports FILE describes until SIGINT or SIGTERM.\n"
    "\n"
    "  -c, --config FILE     configuration file (format: docs/configuration.md; examples: config/)\n"
    "      --check           parse and validate FILE, print the EAL arguments, and exit\n"
    "      --print-eal-args  print the arguments synwave would pass to rte_eal_init, and exit\n"
    "  -h, --help            this text\n"
    "  -V, --version         the version\n"
    "\n"
    "While it runs, read its counters with DPDK's telemetry client:\n"
    "  dpdk-telemetry.py -f <eal.file_prefix>     then  /synwave/counters  (also /synwave/info,\n"
    "                                             /synwave/engines, /synwave/mempools)\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a configuration or start-up error,\n"
    "2 on bad usage, 3 when mbufs were not all returned at shutdown.\n";

int print_eal_args(const synwave::Config& config) {
  auto args = synwave::build_eal_args(config, synwave::read_host_facts());
  if (!args.ok()) {
    std::fprintf(stderr, "synwave: %s: %s\n", config.source.c_str(), std::string(args.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", absl::StrJoin(*args, " ").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  bool eal_args_only = false;
  static const option kOptions[] = {
      {"config", required_argument, nullptr, 'c'}, {"check", no_argument, nullptr, 'k'},
      {"print-eal-args", no_argument, nullptr, 'e'}, {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},      {nullptr, 0, nullptr, 0}};
  for (int opt; (opt = getopt_long(argc, argv, "c:hV", kOptions, nullptr)) != -1;) {
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 'k': check_only = true; break;
      case 'e': eal_args_only = true; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      case 'V': std::printf("synwave %s\n", SYNWAVE_VERSION); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (config_path.empty() || optind != argc) {
    std::fputs(optind != argc ? "synwave: unexpected argument\n" : "synwave: --config FILE is required\n", stderr);
    std::fputs(kUsage, stderr);
    return 2;
  }

  auto config = synwave::load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "synwave: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  if (check_only || eal_args_only) {
    const int status = print_eal_args(*config);
    if (status == 0 && check_only) std::printf("%s: OK\n", config_path.c_str());
    return status;
  }

  const std::atomic<bool>& stop = synwave::stop_on_signals();
  auto runtime = synwave::Runtime::start(*std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "synwave: %s\n", std::string(runtime.status().message()).c_str());
    return 1;
  }
  synwave::Runtime& stack = **runtime;
  // Application processes attach through the shim (docs/shim.md); every engine serves them.
  std::unique_ptr<synwave::shim::ShimService> shim;
  if (stack.config().shim.enabled) {
    synwave::shim::ShimService::Params params;
    params.config = stack.config().shim;
    params.directory = synwave::shim_directory(stack.config());
    params.engines = static_cast<unsigned>(stack.engines().size());
    for (const synwave::PortConfig& pc : stack.config().ports) params.addresses.push_back(pc.ipv4);
    params.mtu = stack.ports().front().mtu;
    auto created = synwave::shim::ShimService::create(params);
    if (!created.ok()) {
      std::fprintf(stderr, "synwave: %s\n", std::string(created.status().message()).c_str());
      stack.shutdown();
      return 1;
    }
    shim = *std::move(created);
    for (std::size_t e = 0; e < stack.engines().size(); ++e)
      stack.engines()[e]->set_application(shim->engine_application(static_cast<unsigned>(e)));
    shim->start();
  }
  synwave::publish_telemetry(&stack, shim.get());
  for (std::size_t i = 0; i < stack.ports().size(); ++i) {
    const synwave::PortInfo& port = stack.ports()[i];
    const synwave::PortConfig& pc = stack.config().ports[i];
    std::printf("synwave: port %zu: %s (%s) mac %s address %s/%u, %u queue(s)\n", i, port.name.c_str(),
                port.driver.c_str(), synwave::format_mac(port.mac).c_str(),
                synwave::format_ipv4(pc.ipv4).c_str(), pc.prefix_len, port.queues);
  }
  std::printf("synwave: ready: %zu engine(s); telemetry: dpdk-telemetry.py -f %s\n", stack.engines().size(),
              stack.config().eal.file_prefix.c_str());
  if (shim) std::printf("synwave: applications attach at %s\n", shim->socket_path().c_str());
  std::fflush(stdout);

  stack.run(stop);

  synwave::withdraw_telemetry();
  if (shim) shim->stop();  // the engines have returned: applications learn the daemon stopped
  const int status = synwave::report_pools(stack.shutdown(), "synwave", stdout);
  std::printf("synwave: stopped\n");
  return status;
}
