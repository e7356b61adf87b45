// A NIC port set up for synwave: one rx/tx queue pair per engine.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "base/addr.h"
#include "config/config.h"

namespace synwave {

// Offloads the port does in hardware (or, for net_tap, in its driver); the stack does the rest
// in software.
struct PortOffloads {
  bool ipv4_checksum = false;
  bool tcp_checksum = false;
  bool udp_checksum = false;
  bool tcp_tso = false;
  bool rss = false;
};

struct PortInfo {
  std::uint16_t port_id = 0;
  std::string name;        // the configured device name
  std::string driver;      // "net_tap", "net_memif", ...
  MacAddr mac;
  unsigned queues = 0;
  unsigned mtu = 1500;
  PortOffloads offloads;
};

// Configures the port named by `config.device` (already probed by the EAL) with one rx/tx queue
// pair per engine, queue q fed by pools[q], and starts it. With more than one queue the port
// uses RSS with a symmetric Toeplitz key so both directions of a flow reach the same engine.
// Control path, main thread only. Errors name the port and the failing DPDK call.
absl::StatusOr<PortInfo> start_port(const PortConfig& config, std::span<rte_mempool* const> pools);

// Stops and closes the port; its queues give back every mbuf they held.
void stop_port(const PortInfo& port);

}  // namespace synwave
