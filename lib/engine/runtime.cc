#include "engine/runtime.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <time.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/eal.h"

namespace synwave {
namespace {

struct LaunchArgs {
  Engine* engine;
  const std::atomic<bool>* stop;
};

int engine_main(void* arg) {
  auto* launch = static_cast<LaunchArgs*>(arg);
  launch->engine->run(*launch->stop);
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::start(Config config) {
  if (absl::Status status = init_eal(config); !status.ok()) return status;
  return build(std::unique_ptr<Runtime>(new Runtime(std::move(config))));
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::start_on_running_eal(Config config) {
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(config)));
  runtime->owns_eal_ = false;
  return build(std::move(runtime));
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::build(std::unique_ptr<Runtime> runtime) {
  const Config& cfg = runtime->config_;

  for (unsigned e = 0; e < cfg.eal.lcores.size(); ++e) {
    const unsigned lcore = cfg.eal.lcores[e];
    const std::string name = absl::StrCat("synwave_e", e);
    rte_mempool* pool = rte_pktmbuf_pool_create(
        name.c_str(), cfg.engine.mbufs_per_engine, cfg.engine.mempool_cache, 0,
        RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_lcore_to_socket_id(lcore)));
    if (pool == nullptr)
      return absl::ResourceExhaustedError(absl::StrCat(
          "mempool ", name, " (", cfg.engine.mbufs_per_engine, " mbufs): ", rte_strerror(rte_errno),
          "; lower engine.mbufs_per_engine or raise eal.memory_mb"));
    runtime->pools_.push_back(pool);
    runtime->engines_.push_back(std::make_unique<Engine>(e, lcore, pool, cfg));
  }

  // Engines reach each other through rings once there are several (software steering and shared
  // neighbours); one engine alone needs none.
  if (runtime->engines_.size() > 1) {
    // Frame rings hold a few bursts of every other engine; neighbour rings a burst of ARP.
    auto mesh = EngineMesh::create(static_cast<unsigned>(runtime->engines_.size()), 4096, 1024);
    if (!mesh.ok()) return mesh.status();
    runtime->mesh_ = *std::move(mesh);
    for (auto& engine : runtime->engines_) engine->set_mesh(runtime->mesh_.get());
  }

  for (const PortConfig& port_config : cfg.ports) {
    // The engines serving this port, in lcore order: queue q is the q-th of them.
    std::vector<unsigned> serving;
    std::vector<rte_mempool*> pools;
    for (auto& engine : runtime->engines_) {
      const auto& only = port_config.lcores;
      if (!only.empty() && std::find(only.begin(), only.end(), engine->lcore()) == only.end()) continue;
      serving.push_back(engine->id());
      pools.push_back(engine->pool());
    }
    auto port = start_port(port_config, cfg.source, pools);
    if (!port.ok()) return port.status();
    port->engine_of_queue = serving;
    runtime->ports_.push_back(*port);
    runtime->ports_running_ = true;
  }
  // Engines keep pointers into ports_ (RSS table, queue owners): add them once it stops growing.
  for (std::size_t p = 0; p < runtime->ports_.size(); ++p) {
    const PortInfo& port = runtime->ports_[p];
    for (unsigned q = 0; q < port.engine_of_queue.size(); ++q) {
      Engine& engine = *runtime->engines_[port.engine_of_queue[q]];
      absl::Status status = engine.add_port(port, cfg.ports[p], static_cast<std::uint16_t>(q));
      if (!status.ok()) return status;
    }
  }
  return runtime;
}

void Runtime::run(const std::atomic<bool>& stop) {
  std::vector<LaunchArgs> args(engines_.size());
  Engine* on_main = nullptr;
  for (std::size_t i = 0; i < engines_.size(); ++i) {
    args[i] = {engines_[i].get(), &stop};
    if (engines_[i]->lcore() == rte_get_main_lcore())
      on_main = engines_[i].get();
    else
      rte_eal_remote_launch(engine_main, &args[i], engines_[i]->lcore());
  }
  if (on_main != nullptr) {
    on_main->run(stop);
  } else {
    // rte_eal_mp_wait_lcore() spins: an idle main thread would take a core from the engines (on
    // a 2-core machine, half of the other program's engine). Sleep until the stop flag instead.
    while (!stop.load(std::memory_order_relaxed)) {
      const timespec pause{0, 10'000'000};  // 10 ms: how fast a stop is noticed
      nanosleep(&pause, nullptr);
    }
  }
  rte_eal_mp_wait_lcore();
}

std::vector<PoolReport> Runtime::shutdown() {
  if (!ports_running_ && pools_.empty()) return shutdown_report_;
  for (const PortInfo& port : ports_) stop_port(port);
  ports_running_ = false;
  // Engines hold no mbufs once they have returned from run(); their tx batches are empty. Frames
  // one engine handed another after that one stopped are still in its ring.
  if (mesh_ != nullptr) mesh_->drain();
  engines_.clear();
  mesh_.reset();
  for (rte_mempool* pool : pools_) {
    shutdown_report_.push_back(PoolReport{pool->name, pool->size, rte_mempool_in_use_count(pool)});
    rte_mempool_free(pool);
  }
  pools_.clear();
  return shutdown_report_;
}

int report_pools(const std::vector<PoolReport>& pools, const char* program, std::FILE* out) {
  int status = 0;
  for (const PoolReport& pool : pools) {
    if (pool.in_use == 0) {
      std::fprintf(out, "%s: %s: all %u mbufs returned\n", program, pool.name.c_str(), pool.size);
    } else {
      std::fprintf(out, "%s: %s: %u of %u mbufs NOT returned\n", program, pool.name.c_str(), pool.in_use, pool.size);
      status = 3;
    }
  }
  return status;
}

Runtime::~Runtime() {
  shutdown();
  if (owns_eal_) rte_eal_cleanup();
}

}  // namespace synwave
