// Two engines in one process, two ports back to back over net_ring (rte_eth_from_rings), two
// queues each: the whole multi-engine path of the runtime (software steering, shared neighbours,
// RSS-aware active opens, per-engine TCP layers) in virtual time, on one thread.
//
// The rings are crossed: what a port sends on its queue q arrives at the other port's queue 1-q,
// while a flow's owner is the same queue number on both sides (symmetric hash, the same RETA).
// So every TCP frame reaches the wrong engine first, and must be handed over to be understood.
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/runtime.h"
#include "tcp/tcp_stack.h"

namespace synwave {
namespace {

constexpr char kServerIp[] = "198.18.7.1";
constexpr char kClientIp[] = "198.18.7.2";
constexpr std::uint16_t kPort = 80;
constexpr int kConnectionsPerEngine = 24;

// Two ports whose queues are wired back to back, crossed (see the file comment).
struct RingPair {
  rte_ring* to_server[2] = {};
  rte_ring* to_client[2] = {};

  // Ports net_ring_<prefix>srv and net_ring_<prefix>cli.
  bool create(const std::string& prefix = "") {
    for (int q = 0; q < 2; ++q) {
      to_server[q] = rte_ring_create((prefix + "rt_srv" + std::to_string(q)).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      to_client[q] = rte_ring_create((prefix + "rt_cli" + std::to_string(q)).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (to_server[q] == nullptr || to_client[q] == nullptr) return false;
    }
    rte_ring* server_tx[2] = {to_client[1], to_client[0]};
    rte_ring* client_tx[2] = {to_server[1], to_server[0]};
    // The PMD names the ports net_ring_<name>.
    return rte_eth_from_rings((prefix + "srv").c_str(), to_server, 2, server_tx, 2, SOCKET_ID_ANY) >= 0 &&
           rte_eth_from_rings((prefix + "cli").c_str(), to_client, 2, client_tx, 2, SOCKET_ID_ANY) >= 0;
  }
};

Config two_engine_config() {
  const std::string text = std::string("[eal]\nlcores = 0-1\n") +
                           "[port.0]\ndevice = net_ring_srv\nipv4 = " + kServerIp + "/24\nmac = 02:00:00:00:07:01\n" +
                           "[port.1]\ndevice = net_ring_cli\nipv4 = " + kClientIp + "/24\nmac = 02:00:00:00:07:02\n" +
                           "[engine]\nmbufs_per_engine = 4095\nmempool_cache = 64\nmax_sockets = 256\n" +
                           "[arp]\ngratuitous = false\nqueue_len = 64\n";
  auto config = parse_config(text, "rings.conf");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

tcp::TcpStack& stack_of(Runtime& runtime, unsigned engine, unsigned port_index) {
  const std::uint16_t port_id = runtime.ports()[port_index].port_id;
  for (const auto& q : runtime.engines()[engine]->queues())
    if (q->port_id == port_id) return *q->net.tcp();
  ADD_FAILURE() << "engine " << engine << " does not serve port " << port_index;
  std::abort();
}

std::uint64_t engine_stat(Runtime& runtime, unsigned engine, EngineStat stat) {
  return runtime.engines()[engine]->stats().get(stat);
}

TEST(EnginesOverRings, EveryConnectionLivesOnOneEngineAndEveryFrameReachesIt) {
  RingPair rings;
  ASSERT_TRUE(rings.create());
  auto started = Runtime::start_on_running_eal(two_engine_config());
  ASSERT_TRUE(started.ok()) << started.status();
  Runtime& runtime = **started;
  ASSERT_EQ(runtime.engines().size(), 2u);
  for (const PortInfo& port : runtime.ports()) {
    EXPECT_EQ(port.queues, 2u);
    EXPECT_EQ(port.steering, Steering::kSoftware) << "net_ring has no RSS";
  }

  // Virtual time, one thread: each step polls both engines once.
  std::int64_t now_ms = 0;
  auto step = [&](int steps) {
    for (int i = 0; i < steps; ++i, ++now_ms)
      for (const auto& engine : runtime.engines()) engine->poll_once(instant_from_ns(now_ms * 1'000'000));
  };

  const Ipv4Addr server_ip = *parse_ipv4(kServerIp);
  int listener[2];
  for (unsigned e = 0; e < 2; ++e) {
    tcp::TcpStack& server = stack_of(runtime, e, 0);
    listener[e] = server.socket();
    ASSERT_EQ(server.bind(listener[e], {server_ip, kPort}), 0);
    ASSERT_EQ(server.listen(listener[e], 128), 0);
  }
  std::map<unsigned, std::set<std::uint16_t>> client_ports;  // engine -> source ports it opened
  std::vector<std::pair<unsigned, int>> clients;
  for (unsigned e = 0; e < 2; ++e) {
    tcp::TcpStack& client = stack_of(runtime, e, 1);
    for (int i = 0; i < kConnectionsPerEngine; ++i) {
      const int s = client.socket();
      ASSERT_EQ(client.connect(s, {server_ip, kPort}), -EINPROGRESS);
      client_ports[e].insert(client.local_endpoint(s)->port);
      clients.emplace_back(e, s);
    }
  }
  step(50);
  // Every connection established; each accepted by the engine of the same number as the one that
  // opened it, and by no other.
  for (const auto& [e, s] : clients)
    EXPECT_TRUE(stack_of(runtime, e, 1).readiness(s) & tcp::kConnected) << "engine " << e << " socket " << s;
  std::map<unsigned, std::vector<int>> accepted;
  for (unsigned e = 0; e < 2; ++e) {
    tcp::TcpStack& server = stack_of(runtime, e, 0);
    std::set<std::uint16_t> peer_ports;
    tcp::Endpoint peer;
    for (int s; (s = server.accept(listener[e], &peer)) >= 0;) {
      peer_ports.insert(peer.port);
      accepted[e].push_back(s);
    }
    EXPECT_EQ(peer_ports, client_ports[e]) << "server engine " << e;
  }

  // Bytes both ways on every connection, then the client closes.
  const std::string hello = "hello";
  for (const auto& [e, s] : clients)
    ASSERT_EQ(stack_of(runtime, e, 1).send(s, {reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()}), 5);
  step(50);
  for (unsigned e = 0; e < 2; ++e) {
    tcp::TcpStack& server = stack_of(runtime, e, 0);
    for (int s : accepted[e]) {
      std::uint8_t buffer[16];
      ASSERT_EQ(server.recv(s, buffer), 5) << "engine " << e;
      ASSERT_EQ(server.send(s, {buffer, 5}), 5);
    }
  }
  step(50);
  for (const auto& [e, s] : clients) {
    std::uint8_t buffer[16];
    EXPECT_EQ(stack_of(runtime, e, 1).recv(s, buffer), 5);
    stack_of(runtime, e, 1).close(s);
  }
  for (unsigned e = 0; e < 2; ++e)
    for (int s : accepted[e]) stack_of(runtime, e, 0).close(s);
  step(300);  // FIN exchange; the client side then sits in TIME_WAIT

  for (unsigned e = 0; e < 2; ++e) {
    for (unsigned p = 0; p < 2; ++p) {
      const tcp::TcpStack& tcp = stack_of(runtime, e, p);
      EXPECT_EQ(tcp.drops().get(tcp::TcpDrop::kNoSocket), 0u) << "engine " << e << " port " << p;
      EXPECT_EQ(tcp.stats().get(tcp::TcpStat::kResetsSent), 0u) << "engine " << e << " port " << p;
      EXPECT_EQ(tcp.stats().get(tcp::TcpStat::kRetransmits), 0u) << "engine " << e << " port " << p;
    }
    EXPECT_EQ(stack_of(runtime, e, 0).stats().get(tcp::TcpStat::kPassiveOpens), unsigned{kConnectionsPerEngine});
    EXPECT_EQ(stack_of(runtime, e, 1).stats().get(tcp::TcpStat::kActiveOpens), unsigned{kConnectionsPerEngine});
    // The crossed rings: every TCP frame this engine's queues received belonged to the other.
    const std::uint64_t tcp_frames_in = stack_of(runtime, e, 0).stats().get(tcp::TcpStat::kSegmentsIn) +
                                        stack_of(runtime, e, 1).stats().get(tcp::TcpStat::kSegmentsIn);
    EXPECT_EQ(engine_stat(runtime, e, EngineStat::kSteeredIn), tcp_frames_in) << "engine " << e;
    EXPECT_EQ(engine_stat(runtime, e, EngineStat::kSteerRingFull), 0u);
    EXPECT_EQ(engine_stat(runtime, e, EngineStat::kSteerNoPort), 0u);
  }
  EXPECT_EQ(engine_stat(runtime, 0, EngineStat::kSteeredOut), engine_stat(runtime, 1, EngineStat::kSteeredIn));
  EXPECT_EQ(engine_stat(runtime, 1, EngineStat::kSteeredOut), engine_stat(runtime, 0, EngineStat::kSteeredIn));

  // Both engines of each port know the other port's MAC. (Both asked here: they opened connections
  // in the same iteration, before either had an answer to share.)
  for (unsigned p = 0; p < 2; ++p) {
    const Ipv4Addr peer = *parse_ipv4(p == 0 ? kClientIp : kServerIp);
    const MacAddr peer_mac = runtime.ports()[1 - p].mac;
    for (unsigned e = 0; e < 2; ++e) {
      const ArpCache& arp = runtime.engines()[e]->queues()[p]->net.arp();
      const ArpCache::Entry* entry = arp.find_entry(peer);
      ASSERT_NE(entry, nullptr) << "engine " << e << " port " << p;
      EXPECT_EQ(entry->state, ArpCache::State::kReachable);
      EXPECT_EQ(entry->mac, peer_mac);
    }
  }

  const auto pools = runtime.shutdown();
  for (const PoolReport& pool : pools) EXPECT_EQ(pool.in_use, 0u) << pool.name;
}

// Impossible combinations are refused at start, naming the configuration line.
TEST(EnginesOverRings, ImpossibleSetUpsNameTheirLine) {
  RingPair rings;
  ASSERT_TRUE(rings.create("bad_"));
  auto hardware = parse_config(
      "[eal]\nlcores = 0-1\n[port.0]\ndevice = net_ring_bad_srv\nipv4 = 198.18.7.1/24\nsteering = hardware\n",
      "rings.conf");
  ASSERT_TRUE(hardware.ok()) << hardware.status();
  auto refused = Runtime::start_on_running_eal(*hardware);
  EXPECT_EQ(refused.status().message(),
            "rings.conf:3: [port.0] (net_ring_bad_srv): steering = hardware, but the net_ring driver has no Toeplitz RSS "
            "over TCP/IPv4; use steering = software (or auto)");
  // Three engines on a port whose driver was given two queue pairs.
  auto three = parse_config("[eal]\nlcores = 0-2\n[port.0]\ndevice = net_ring_bad_cli\nipv4 = 198.18.7.2/24\n",
                            "rings.conf");
  ASSERT_TRUE(three.ok()) << three.status();
  refused = Runtime::start_on_running_eal(*three);
  EXPECT_EQ(refused.status().message(),
            "rings.conf:3: [port.0] (net_ring_bad_cli): 3 engines serve it and need a queue pair each; the net_ring "
            "driver offers 2 (fewer [eal] lcores, or [port.0] lcores = a subset)");
}

}  // namespace
}  // namespace synwave
