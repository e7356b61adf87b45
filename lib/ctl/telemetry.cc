#include "ctl/telemetry.h"

#include <rte_mempool.h>
#include <rte_telemetry.h>

#include <cstdlib>
#include <mutex>

#include "absl/strings/numbers.h"
#include "ctl/counters.h"

namespace synwave {
namespace {

// The one process-wide slot DPDK's context-free callbacks can reach. Guarded by its mutex: the
// telemetry thread reads it, the main thread publishes and withdraws it.
struct Published {
  std::mutex mutex;
  const Runtime* runtime = nullptr;
  bool registered = false;
};

Published& published() {
  static Published instance;
  return instance;
}

constexpr int kNotRunning = -1;  // the telemetry library answers a negative return as an error

int cmd_info(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "version", SYNWAVE_VERSION);
  rte_tel_data_add_dict_string(d, "config", runtime->config().source.c_str());
  rte_tel_data_add_dict_int(d, "engines", static_cast<int>(runtime->engines().size()));
  for (std::size_t i = 0; i < runtime->ports().size(); ++i) {
    const PortInfo& port = runtime->ports()[i];
    const PortConfig& config = runtime->config().ports[i];
    rte_tel_data* p = rte_tel_data_alloc();
    rte_tel_data_start_dict(p);
    rte_tel_data_add_dict_string(p, "device", port.name.c_str());
    rte_tel_data_add_dict_string(p, "driver", port.driver.c_str());
    rte_tel_data_add_dict_string(p, "mac", format_mac(port.mac).c_str());
    const std::string address = format_ipv4(config.ipv4) + "/" + std::to_string(config.prefix_len);
    rte_tel_data_add_dict_string(p, "ipv4", address.c_str());
    rte_tel_data_add_dict_int(p, "mtu", static_cast<int>(port.mtu));
    rte_tel_data_add_dict_int(p, "queues", static_cast<int>(port.queues));
    const std::string key = "port" + std::to_string(i);
    rte_tel_data_add_dict_container(d, key.c_str(), p, 0);
  }
  return 0;
}

int cmd_counters(const char*, const char* params, rte_tel_data* d) {
  int engine = -1;
  if (params != nullptr && *params != '\0' && !absl::SimpleAtoi(params, &engine)) return -EINVAL;
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  if (engine >= static_cast<int>(runtime->engines().size())) return -EINVAL;
  rte_tel_data_start_dict(d);
  for (const auto& [name, value] : collect_counters(*runtime, engine))
    rte_tel_data_add_dict_u64(d, name.c_str(), value);
  return 0;
}

int cmd_engines(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  rte_tel_data_start_dict(d);
  for (const auto& engine : runtime->engines()) {
    rte_tel_data* e = rte_tel_data_alloc();
    rte_tel_data_start_dict(e);
    rte_tel_data_add_dict_int(e, "lcore", static_cast<int>(engine->lcore()));
    for (std::size_t i = 0; i < CounterSet<EngineStat>::kSize; ++i)
      rte_tel_data_add_dict_u64(e, kEngineStatNames[i], engine->stats().get(i));
    const std::string key = "engine" + std::to_string(engine->id());
    rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
  }
  return 0;
}

int cmd_mempools(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  rte_tel_data_start_dict(d);
  for (const auto& engine : runtime->engines()) {
    rte_mempool* pool = engine->pool();
    rte_tel_data* p = rte_tel_data_alloc();
    rte_tel_data_start_dict(p);
    rte_tel_data_add_dict_u64(p, "size", pool->size);
    rte_tel_data_add_dict_u64(p, "in_use", rte_mempool_in_use_count(pool));
    rte_tel_data_add_dict_u64(p, "available", rte_mempool_avail_count(pool));
    rte_tel_data_add_dict_container(d, pool->name, p, 0);
  }
  return 0;
}

}  // namespace

void publish_telemetry(const Runtime* runtime) {
  std::lock_guard lock(published().mutex);
  published().runtime = runtime;
  if (published().registered || runtime == nullptr) return;
  published().registered = true;
  rte_telemetry_register_cmd("/synwave/info", cmd_info,
                             "synwave version, ports and engines. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/counters", cmd_counters,
                             "Every synwave counter, summed over engines. Parameter: engine id");
  rte_telemetry_register_cmd("/synwave/engines", cmd_engines,
                             "Per-engine loop counters. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/mempools", cmd_mempools,
                             "Per-engine mbuf pools: size, in use, available. Takes no parameters");
}

}  // namespace synwave
