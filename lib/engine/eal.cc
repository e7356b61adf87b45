#include "engine/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace synwave {

HostFacts read_host_facts() {
  HostFacts facts;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  while (meminfo >> key) {
    if (key == "HugePages_Free:") {
      meminfo >> facts.hugepages_free;
      break;
    }
    meminfo.ignore(4096, '\n');
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  facts.cpu_count = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
  return facts;
}

unsigned choose_main_lcore(const EalConfig& eal, unsigned cpu_count) {
  for (unsigned core = 0; core < cpu_count; ++core) {
    if (std::find(eal.lcores.begin(), eal.lcores.end(), core) == eal.lcores.end()) return core;
  }
  return eal.lcores.empty() ? 0 : eal.lcores.front();
}

absl::StatusOr<std::vector<std::string>> build_eal_args(const Config& config, const HostFacts& host) {
  const EalConfig& eal = config.eal;
  bool use_hugepages = false;
  switch (eal.hugepages) {
    case EalConfig::Hugepages::kOn:
      if (host.hugepages_free == 0)
        return absl::FailedPreconditionError(
            "hugepages = on, but the machine has no free hugepages (see dpdk-hugepages.py)");
      use_hugepages = true;
      break;
    case EalConfig::Hugepages::kOff: use_hugepages = false; break;
    case EalConfig::Hugepages::kAuto: use_hugepages = host.hugepages_free > 0; break;
  }
  if (eal.in_memory && !use_hugepages)
    return absl::FailedPreconditionError(
        "in_memory = true needs hugepages, and this run has none (DPDK's --in-memory does not "
        "combine with --no-huge); set in_memory = false");

  std::vector<std::string> args = {"synwave"};
  const unsigned main_lcore = choose_main_lcore(eal, host.cpu_count);
  std::vector<unsigned> cores = eal.lcores;
  if (std::find(cores.begin(), cores.end(), main_lcore) == cores.end()) cores.push_back(main_lcore);
  std::sort(cores.begin(), cores.end());
  args.push_back("-l");
  args.push_back(absl::StrJoin(cores, ","));
  args.push_back(absl::StrCat("--main-lcore=", main_lcore));
  args.push_back(absl::StrCat("--file-prefix=", eal.file_prefix));
  if (use_hugepages) {
    if (eal.in_memory) args.push_back("--in-memory");
  } else {
    // No hugepages: anonymous memory, and no shared config files (multi-process needs hugepages).
    args.push_back("--no-huge");
    args.push_back("--no-shconf");
    if (eal.memory_mb > 0) {
      args.push_back("-m");
      args.push_back(absl::StrCat(eal.memory_mb));
    }
  }
  bool any_pci = false;
  for (const PortConfig& port : config.ports) {
    if (port.device.rfind("net_", 0) == 0) {
      args.push_back(port.devargs.empty() ? absl::StrCat("--vdev=", port.device)
                                          : absl::StrCat("--vdev=", port.device, ",", port.devargs));
    } else {
      any_pci = true;
      args.push_back("-a");
      args.push_back(port.devargs.empty() ? port.device : absl::StrCat(port.device, ",", port.devargs));
    }
  }
  if (!any_pci) args.push_back("--no-pci");
  for (const std::string& extra : eal.extra_args) args.push_back(extra);
  return args;
}

absl::Status init_eal(const Config& config) {
  auto args = build_eal_args(config, read_host_facts());
  if (!args.ok()) return args.status();
  std::vector<char*> argv;
  for (std::string& arg : *args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int consumed = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (consumed < 0)
    return absl::InternalError(absl::StrCat("rte_eal_init failed: ", rte_strerror(rte_errno),
                                            " (arguments: ", absl::StrJoin(*args, " "), ")"));
  return absl::OkStatus();
}

}  // namespace synwave
