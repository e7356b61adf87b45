// A NIC port set up for synwave: one rx/tx queue pair per engine.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <vector>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "base/addr.h"
#include "config/config.h"
#include "engine/rss_table.h"

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

// How each flow reaches the engine that owns it (config: [port.N] steering).
enum class Steering : std::uint8_t {
  kNone,      // one queue: nothing to steer
  kHardware,  // the NIC's RSS, with the key and RETA in PortInfo::rss
  kSoftware,  // the engines hash each frame (engine/flow_steering.h) and pass it on
};
const char* steering_name(Steering steering);

struct PortInfo {
  std::uint16_t port_id = 0;
  std::string name;        // the configured device name
  std::string driver;      // "net_tap", "net_memif", ...
  MacAddr mac;
  unsigned queues = 0;
  unsigned mtu = 1500;
  PortOffloads offloads;
  Steering steering = Steering::kNone;
  // With several queues: the hash and RETA that decide a flow's queue (the NIC's own, read back
  // from it, or software's round-robin table). Shared, immutable.
  std::shared_ptr<const RssTable> rss;
  std::vector<unsigned> engine_of_queue;  // queue q is served by engine engine_of_queue[q]
};

// Configures the port named by `config.device` (already probed by the EAL) with one rx/tx queue
// pair per pool, queue q fed by pools[q], and starts it. With more than one queue it chooses the
// steering ([port.N] steering): hardware RSS under the configured Toeplitz key (symmetric by
// default) with the NIC's RETA read back, or software steering. Control path, main thread only.
// Errors name the configuration line, the port and the failing DPDK call.
// `source`: the configuration's name, for file:line errors.
absl::StatusOr<PortInfo> start_port(const PortConfig& config, const std::string& source,
                                    std::span<rte_mempool* const> pools);

// Stops and closes the port; its queues give back every mbuf they held.
void stop_port(const PortInfo& port);

}  // namespace synwave
