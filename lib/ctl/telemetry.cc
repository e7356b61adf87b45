#include "ctl/telemetry.h"

#include <rte_mempool.h>
#include <rte_telemetry.h>

#include <algorithm>
#include <chrono>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ctl/counters.h"
#include "tcp/state.h"
#include "tcp/tcp_stack.h"

namespace synwave {
namespace {

// The one process-wide slot DPDK's context-free callbacks can reach. Guarded by its mutex: the
// telemetry thread reads it, the main thread publishes and withdraws it.
struct Published {
  std::mutex mutex;
  const Runtime* runtime = nullptr;
  const shim::ShimService* shim = nullptr;
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
    rte_tel_data_add_dict_string(p, "steering", steering_name(port.steering));
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
    // Its TCP layers: connections now (listeners and CLOSED aside) and opened so far.
    std::int64_t connections = 0;
    std::uint64_t opens = 0;
    for (const auto& q : engine->queues()) {
      const tcp::TcpStack* tcp = std::as_const(q->net).tcp();
      if (tcp == nullptr) continue;
      const auto counts = tcp->state_counts();
      for (std::size_t s = 0; s < tcp::kStateCount; ++s) {
        const auto state = static_cast<tcp::State>(s);
        if (state != tcp::State::kListen && state != tcp::State::kClosed) connections += static_cast<std::int64_t>(counts[s]);
      }
      opens += tcp->stats().get(tcp::TcpStat::kActiveOpens) + tcp->stats().get(tcp::TcpStat::kPassiveOpens);
    }
    rte_tel_data_add_dict_u64(e, "connections", static_cast<std::uint64_t>(std::max<std::int64_t>(connections, 0)));
    rte_tel_data_add_dict_u64(e, "opens", opens);
    const std::string key = "engine" + std::to_string(engine->id());
    rte_tel_data_add_dict_container(d, key.c_str(), e, 0);
  }
  return 0;
}

// Every engine's ARP cache, one row per engine and neighbour (like ip neigh, with the engine),
// as a dict of rows keyed "e<engine>_<n>" (telemetry arrays cannot hold dicts). The caches are the
// engines' own: each is asked, and answers between two loop iterations.
int cmd_neigh(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  rte_tel_data_start_dict(d);
  std::vector<Engine::NeighbourRow> rows;
  for (const auto& engine : runtime->engines()) {
    if (!engine->neighbours(rows, std::chrono::milliseconds(500))) return -EAGAIN;  // not running
    for (std::size_t n = 0; n < rows.size(); ++n) {
      const Engine::NeighbourRow& row = rows[n];
      rte_tel_data* r = rte_tel_data_alloc();
      rte_tel_data_start_dict(r);
      rte_tel_data_add_dict_int(r, "engine", static_cast<int>(engine->id()));
      rte_tel_data_add_dict_int(r, "port", row.port_id);
      rte_tel_data_add_dict_string(r, "ip", format_ipv4(row.ip).c_str());
      rte_tel_data_add_dict_string(r, "mac", format_mac(row.mac).c_str());
      rte_tel_data_add_dict_string(r, "state", row.state);
      rte_tel_data_add_dict_int(r, "remaining_ms", static_cast<int>(std::clamp<std::int64_t>(row.remaining_ms, INT_MIN, INT_MAX)));
      // StrCat, not operator+: GCC 12 at -O3 warns falsely (-Wrestrict) on chained std::string +.
      const std::string key = absl::StrCat("e", engine->id(), "_", n);
      rte_tel_data_add_dict_container(d, key.c_str(), r, 0);
    }
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

// Calls fn(engine, tcp) for every TCP layer of the runtime (one per engine and port).
template <typename Fn>
void for_each_tcp(const Runtime& runtime, Fn&& fn) {
  for (const auto& engine : runtime.engines())
    for (const auto& q : engine->queues())
      if (const tcp::TcpStack* tcp = std::as_const(q->net).tcp(); tcp != nullptr) fn(*engine, *tcp);
}

int cmd_tcp_states(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  // Signed sums: each layer's counts come from transition counters read one by one, so a state
  // may read one below its true value while a connection moves; never report it negative.
  std::array<std::int64_t, tcp::kStateCount> counts{};
  for_each_tcp(*runtime, [&](const Engine&, const tcp::TcpStack& tcp) {
    const auto layer = tcp.state_counts();
    for (std::size_t i = 0; i < tcp::kStateCount; ++i) counts[i] += static_cast<std::int64_t>(layer[i]);
  });
  rte_tel_data_start_dict(d);
  for (std::size_t i = 0; i < tcp::kStateCount; ++i) {
    const auto state = static_cast<tcp::State>(i);
    if (state == tcp::State::kClosed) continue;  // not a place connections stay
    rte_tel_data_add_dict_u64(d, std::string(tcp::netstat_name(state)).c_str(),
                              static_cast<std::uint64_t>(std::max<std::int64_t>(counts[i], 0)));
  }
  return 0;
}

// Dictionary keys may only hold [A-Za-z0-9_/] in DPDK's telemetry: a transition is "FROM/TO".
int cmd_tcp_transitions(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  std::array<std::uint64_t, tcp::kStateCount * tcp::kStateCount> counts{};
  for_each_tcp(*runtime, [&](const Engine&, const tcp::TcpStack& tcp) {
    for (std::size_t from = 0; from < tcp::kStateCount; ++from)
      for (std::size_t to = 0; to < tcp::kStateCount; ++to)
        counts[from * tcp::kStateCount + to] +=
            tcp.transitions(static_cast<tcp::State>(from), static_cast<tcp::State>(to));
  });
  rte_tel_data_start_dict(d);
  for (std::size_t from = 0; from < tcp::kStateCount; ++from) {
    for (std::size_t to = 0; to < tcp::kStateCount; ++to) {
      const std::uint64_t n = counts[from * tcp::kStateCount + to];
      if (n == 0 || from == to) continue;  // a socket's birth counts as CLOSED->CLOSED
      const std::string key = std::string(tcp::rfc_name(static_cast<tcp::State>(from))) + "/" +
                              std::string(tcp::rfc_name(static_cast<tcp::State>(to)));
      rte_tel_data_add_dict_u64(d, key.c_str(), n);
    }
  }
  return 0;
}

struct ConnectionRow {
  tcp::ConnectionSummary summary;
  unsigned engine = 0;
  std::int64_t expires_ms = 0;
  std::uint32_t app = 0;  // the shim application that owns it, 0: none (in-engine or orphan)
  pid_t app_pid = 0;
};

std::string endpoint_text(const tcp::Endpoint& e) {
  return format_ipv4(e.addr) + ":" + std::to_string(e.port);
}

// One member of a connection's dictionary. The same list feeds the encoder and the page budget
// below, so the budget counts exactly what DPDK writes.
struct Field {
  enum class Kind : std::uint8_t { kString, kU64, kInt };
  const char* name;
  Kind kind;
  std::string text;        // kString: the value
  std::uint64_t u64 = 0;   // kU64
  int integer = 0;         // kInt
};

std::vector<Field> fields_of(const ConnectionRow& row) {
  const tcp::ConnectionSummary& s = row.summary;
  using K = Field::Kind;
  auto u = [](const char* name, std::uint64_t v) { return Field{name, K::kU64, {}, v}; };
  return {
      Field{"state", K::kString, std::string(tcp::ss_name(s.state))},
      Field{"local", K::kString, endpoint_text(s.local)},
      Field{"remote", K::kString, endpoint_text(s.remote)},
      u("recv_q", s.recv_queue),
      u("send_q", s.send_queue),
      Field{"timer", K::kString, s.timer},
      Field{"expires_ms", K::kInt, {}, 0, static_cast<int>(row.expires_ms)},
      u("retransmits", s.retransmits),
      u("engine", row.engine),
      u("app", row.app),
      Field{"app_pid", K::kInt, {}, 0, static_cast<int>(row.app_pid)},
      // ss -i (Linux's tcp_info): RTT in us, RTO in ms, windows in segments, flags 0 or 1.
      u("srtt_us", s.srtt_us),
      u("rttvar_us", s.rttvar_us),
      u("rto_ms", s.rto_ms),
      u("mss", s.mss),
      u("cwnd", s.cwnd),
      u("ssthresh", s.ssthresh),
      u("total_retransmits", s.total_retransmits),
      Field{"congestion", K::kString, s.congestion != nullptr ? s.congestion : ""},
      u("snd_wscale", s.snd_wscale),
      u("rcv_wscale", s.rcv_wscale),
      u("sack", s.sack ? 1 : 0),
      u("timestamps", s.timestamps ? 1 : 0),
  };
}

// What DPDK's JSON encoder will write for one row under `key` (plus its separating comma):
// ,"key":{"name":"text","name":123,...}. The answer has a fixed size (16 KiB in DPDK 22.11) and
// an entry that does not fit is dropped silently, so a page ends before the budget runs out.
std::size_t encoded_size(const std::string& key, const std::vector<Field>& fields) {
  std::size_t size = 2 + key.size() + 3 + 1;  // ,"key":{ ... }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    size += (i == 0 ? 0 : 1) + 1 + std::strlen(f.name) + 2;  // [,]"name":
    switch (f.kind) {
      case Field::Kind::kString: size += f.text.size() + 2; break;
      case Field::Kind::kU64: size += std::to_string(f.u64).size(); break;
      case Field::Kind::kInt: size += std::to_string(f.integer).size(); break;
    }
  }
  return size;
}

void add_fields(rte_tel_data* d, const std::vector<Field>& fields) {
  for (const Field& f : fields) {
    switch (f.kind) {
      case Field::Kind::kString: rte_tel_data_add_dict_string(d, f.name, f.text.c_str()); break;
      case Field::Kind::kU64: rte_tel_data_add_dict_u64(d, f.name, f.u64); break;
      case Field::Kind::kInt: rte_tel_data_add_dict_int(d, f.name, f.integer); break;
    }
  }
}

constexpr std::size_t kDefaultPageLimit = 200;
// The entries "total", "offset" and "next" come first; DPDK holds at most 256 per dictionary.
constexpr std::size_t kMaxPageLimit = RTE_TEL_MAX_DICT_ENTRIES - 3;
// 16 KiB answer, less the command's own wrapping and the three header entries, with margin.
constexpr std::size_t kPageBytes = 16 * 1024 - 512;

// Parameters "OFFSET,LIMIT" (both optional). The answer: "total" connections, this page's
// "offset", the "next" offset to ask for (== total at the end), then one entry per connection
// keyed by its index: a list, as DPDK 22.11 arrays cannot hold dictionaries.
int cmd_tcp_connections(const char*, const char* params, rte_tel_data* d) {
  std::size_t offset = 0;
  std::size_t limit = kDefaultPageLimit;
  if (params != nullptr && *params != '\0') {
    const std::string text = params;
    const std::size_t comma = text.find(',');
    if (!absl::SimpleAtoi(text.substr(0, comma), &offset)) return -EINVAL;
    if (comma != std::string::npos && (!absl::SimpleAtoi(text.substr(comma + 1), &limit) || limit == 0))
      return -EINVAL;
  }
  limit = std::min(limit, kMaxPageLimit);
  std::lock_guard lock(published().mutex);
  const Runtime* runtime = published().runtime;
  if (runtime == nullptr) return kNotRunning;
  std::vector<ConnectionRow> rows;
  const shim::ShimService* shim = published().shim;
  std::vector<shim::AppSummary> apps;
  if (shim != nullptr) apps = shim->apps();
  for_each_tcp(*runtime, [&](const Engine& engine, const tcp::TcpStack& tcp) {
    const std::int64_t now_ns = engine.last_now_ns();
    // The shim serves the first port's TCP layer of each engine.
    const bool shim_served = shim != nullptr && !engine.queues().empty() && engine.queues().front()->net.tcp() == &tcp;
    tcp.for_each_published([&](const tcp::ConnectionSummary& s) {
      ConnectionRow row{.summary = s, .engine = engine.id()};
      if (shim_served) {
        row.app = shim->engine(engine.id()).owner_of(s.socket);
        for (const shim::AppSummary& a : apps)
          if (a.id == row.app) row.app_pid = a.pid;
      }
      if (std::string_view(s.timer) != "off") {
        const std::int64_t ms = (s.timer_deadline_ns - now_ns) / 1'000'000;
        row.expires_ms = std::clamp<std::int64_t>(ms, 0, INT_MAX);
      }
      rows.push_back(row);
    });
  });
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "total", rows.size());
  rte_tel_data_add_dict_u64(d, "offset", offset);
  std::size_t next = std::min(offset, rows.size());
  std::size_t bytes = 64;  // the three header entries
  std::vector<std::pair<std::string, rte_tel_data*>> page;
  for (; next < rows.size() && page.size() < limit; ++next) {
    const ConnectionRow& row = rows[next];
    std::string key = std::to_string(next);
    const std::vector<Field> fields = fields_of(row);
    bytes += encoded_size(key, fields);
    if (bytes > kPageBytes && !page.empty()) break;
    rte_tel_data* c = rte_tel_data_alloc();
    if (c == nullptr) break;
    rte_tel_data_start_dict(c);
    add_fields(c, fields);
    page.emplace_back(std::move(key), c);
  }
  rte_tel_data_add_dict_u64(d, "next", next);
  for (auto& [key, c] : page)
    if (rte_tel_data_add_dict_container(d, key.c_str(), c, 0) != 0) rte_tel_data_free(c);
  return 0;
}

// One entry per attached application, keyed by its id.
int cmd_apps(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(published().mutex);
  if (published().runtime == nullptr) return kNotRunning;
  rte_tel_data_start_dict(d);
  const shim::ShimService* shim = published().shim;
  if (shim == nullptr) return 0;
  const shim::AppTable& table = shim->table();
  rte_tel_data_add_dict_u64(d, "attached_total", table.attached.load(std::memory_order_relaxed));
  rte_tel_data_add_dict_u64(d, "refused_total", table.refused.load(std::memory_order_relaxed));
  rte_tel_data_add_dict_u64(d, "detached_total", table.detached.load(std::memory_order_relaxed));
  rte_tel_data_add_dict_u64(d, "faults_total", table.faults.load(std::memory_order_relaxed));
  for (const shim::AppSummary& a : shim->apps()) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (c == nullptr) break;
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_int(c, "pid", static_cast<int>(a.pid));
    rte_tel_data_add_dict_u64(c, "uid", a.uid);
    rte_tel_data_add_dict_u64(c, "gid", a.gid);
    rte_tel_data_add_dict_string(c, "name", a.name.c_str());
    rte_tel_data_add_dict_string(c, "phase", a.phase.c_str());
    rte_tel_data_add_dict_u64(c, "max_sockets", a.max_sockets);
    rte_tel_data_add_dict_u64(c, "region_bytes", a.region_bytes);
    rte_tel_data_add_dict_u64(c, "sockets", a.sockets);
    rte_tel_data_add_dict_u64(c, "requests", a.requests);
    rte_tel_data_add_dict_u64(c, "bad_requests", a.bad_requests);
    rte_tel_data_add_dict_u64(c, "events", a.events);
    rte_tel_data_add_dict_u64(c, "event_overflows", a.event_overflows);
    rte_tel_data_add_dict_u64(c, "wakeups", a.wakeups);
    rte_tel_data_add_dict_u64(c, "accepted", a.accepted);
    rte_tel_data_add_dict_u64(c, "bytes_in", a.bytes_in);
    rte_tel_data_add_dict_u64(c, "bytes_out", a.bytes_out);
    rte_tel_data_add_dict_u64(c, "resets_on_exit", a.resets_on_exit);
    rte_tel_data_add_dict_u64(c, "closed_on_exit", a.closed_on_exit);
    rte_tel_data_add_dict_u64(c, "faulted", a.faulted ? 1 : 0);
    const std::string key = "app" + std::to_string(a.id);
    if (rte_tel_data_add_dict_container(d, key.c_str(), c, 0) != 0) rte_tel_data_free(c);
  }
  return 0;
}

}  // namespace

void publish_telemetry(const Runtime* runtime, const shim::ShimService* shim) {
  std::lock_guard lock(published().mutex);
  published().runtime = runtime;
  published().shim = runtime != nullptr ? shim : nullptr;
  if (published().registered || runtime == nullptr) return;
  published().registered = true;
  rte_telemetry_register_cmd("/synwave/info", cmd_info,
                             "synwave version, ports and engines. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/counters", cmd_counters,
                             "Every synwave counter, summed over engines. Parameter: engine id");
  rte_telemetry_register_cmd("/synwave/engines", cmd_engines,
                             "Per-engine load: lcore, loop counters, busy/idle ns, steering, connections, opens. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/neigh", cmd_neigh,
                             "Every engine's ARP cache: engine, port, ip, mac, state, remaining_ms. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/mempools", cmd_mempools,
                             "Per-engine mbuf pools: size, in use, available. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/tcp/states", cmd_tcp_states,
                             "TCP connections per state (netstat names). Takes no parameters");
  rte_telemetry_register_cmd("/synwave/tcp/transitions", cmd_tcp_transitions,
                             "TCP state transitions, FROM/TO -> count. Takes no parameters");
  rte_telemetry_register_cmd("/synwave/tcp/connections", cmd_tcp_connections,
                             "TCP connections, one page. Parameters: offset,limit (0,200)");
  rte_telemetry_register_cmd("/synwave/apps", cmd_apps,
                             "Applications attached through the shim. Takes no parameters");
}

}  // namespace synwave
