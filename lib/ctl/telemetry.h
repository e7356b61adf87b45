// synwave's DPDK telemetry commands, readable with the packaged dpdk-telemetry.py:
//
//   dpdk-telemetry.py -f <file_prefix>     then   /synwave/counters
//
//   /synwave/info          version, ports (device, driver, MAC, address), engines (lcore)
//   /synwave/counters      every counter summed over engines; param: an engine id for one only
//   /synwave/engines       per-engine loop counters
//   /synwave/mempools      per-engine mempool: size, in use, available
//   /synwave/tcp/states    connections per state, netstat names ("ESTABLISHED": 245, ...)
//   /synwave/tcp/transitions  state transitions, "FROM/TO" (RFC names) -> count, non-zero only
//   /synwave/tcp/connections  one page of connections (ss -tan -o and ss -i); params: offset,limit
//   /synwave/apps          applications attached through the shim (pid, uid, sockets, counters)
//
// synwave-ctl (app/synwave-ctl) reads them and prints them like netstat and ss.
#pragma once

#include "engine/runtime.h"
#include "shim/shim_service.h"

namespace synwave {

// Publishes `runtime` to the telemetry commands (registered once per process). DPDK's telemetry
// callbacks take no context argument, so the runtime is held in one guarded, process-wide slot.
// Control path; thread-safe against the telemetry thread.
// `shim`, when the daemon serves applications, feeds /synwave/apps and the connections' owners.
void publish_telemetry(const Runtime* runtime, const shim::ShimService* shim = nullptr);

// Withdraws the runtime: the commands answer an error from then on. Call before shutdown().
inline void withdraw_telemetry() { publish_telemetry(nullptr); }

}  // namespace synwave
