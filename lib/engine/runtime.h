// The running stack: EAL, mempools, ports and one engine per configured lcore.
#pragma once

#include <rte_mempool.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "engine/engine.h"
#include "engine/engine_mesh.h"
#include "engine/port.h"

namespace synwave {

// What shutdown found: every pool should have all its mbufs back.
struct PoolReport {
  std::string name;
  unsigned size = 0;
  unsigned in_use = 0;  // mbufs not returned after the ports closed: a leak when non-zero
};

// Prints one line per pool to `out` ("<program>: <pool>: all N mbufs returned", or "... M of N
// mbufs NOT returned") and returns the exit status the programs use: 0, or 3 when any leaked.
int report_pools(const std::vector<PoolReport>& pools, const char* program, std::FILE* out);

class Runtime {
 public:
  // Starts the EAL from `config`, creates one mempool per engine, starts every port with one
  // queue pair per engine and builds the engines. Once per process, main thread only.
  // Errors: the configuration's EAL arguments, the EAL itself, a port that is missing or refuses
  // its configuration, or memory for the pools.
  static absl::StatusOr<std::unique_ptr<Runtime>> start(Config config);

  // As start(), on an EAL the caller has started and keeps (tests that create their ports in
  // code, e.g. back-to-back rte_eth_from_rings pairs, before the runtime configures them). The
  // runtime leaves the EAL running when it goes.
  static absl::StatusOr<std::unique_ptr<Runtime>> start_on_running_eal(Config config);

  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Runs every engine on its lcore (the main lcore's engine, if any, in the calling thread) and
  // returns once `stop` is set and every engine has returned. A main thread without an engine
  // sleeps meanwhile (it notices `stop` within 10 ms) instead of spinning like the EAL's wait.
  void run(const std::atomic<bool>& stop);

  // Stops and closes the ports, then counts the mbufs that did not come back and frees the pools.
  // Idempotent. The EAL itself is cleaned up by the destructor.
  std::vector<PoolReport> shutdown();

  const Config& config() const { return config_; }
  const std::vector<PortInfo>& ports() const { return ports_; }
  const std::vector<std::unique_ptr<Engine>>& engines() const { return engines_; }

 private:
  explicit Runtime(Config config) : config_(std::move(config)) {}
  // Pools, engines, the mesh between them and the ports, on a running EAL.
  static absl::StatusOr<std::unique_ptr<Runtime>> build(std::unique_ptr<Runtime> runtime);

  Config config_;
  std::vector<rte_mempool*> pools_;
  std::vector<PortInfo> ports_;
  std::unique_ptr<EngineMesh> mesh_;  // with several engines; outlives them (declared before)
  std::vector<std::unique_ptr<Engine>> engines_;
  bool ports_running_ = false;
  bool owns_eal_ = true;
  std::vector<PoolReport> shutdown_report_;
};

}  // namespace synwave
