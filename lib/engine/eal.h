// Starting DPDK's Environment Abstraction Layer from a synwave configuration.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "config/config.h"

namespace synwave {

// What the machine offers that changes the EAL arguments.
struct HostFacts {
  unsigned hugepages_free = 0;   // HugePages_Free from /proc/meminfo
  unsigned cpu_count = 1;
};

// Reads HostFacts from /proc and sysconf.
HostFacts read_host_facts();

// The lcore that runs the control thread: the lowest core not used by an engine, or the first
// engine lcore when every core runs one (then that core's engine runs on the main thread).
unsigned choose_main_lcore(const EalConfig& eal, unsigned cpu_count);

// The argument vector for rte_eal_init (argv[0] included). Pure: depends only on its inputs.
// Errors (InvalidArgument): in_memory asked for while hugepages end up off; hugepages = on while
// the machine has none free.
absl::StatusOr<std::vector<std::string>> build_eal_args(const Config& config, const HostFacts& host);

// Runs rte_eal_init with build_eal_args(config, read_host_facts()). Call once per process, from
// the main thread. Errors: the EAL's own failure, with rte_errno's text.
absl::Status init_eal(const Config& config);

}  // namespace synwave
