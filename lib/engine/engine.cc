#include "engine/engine.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <memory>
#include <utility>

#include "engine/flow_steering.h"
#include "engine/tsc_clock.h"

namespace synwave {
namespace {

// The tx target is two small integers: carry them in the context pointer's value itself.
void* encode_target(std::uint16_t port, std::uint16_t queue) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(port) << 16 | queue);
}

std::uint16_t eth_tx_burst_encoded(void* context, rte_mbuf** frames, std::uint16_t count) {
  const auto value = reinterpret_cast<std::uintptr_t>(context);
  return rte_eth_tx_burst(static_cast<std::uint16_t>(value >> 16),
                          static_cast<std::uint16_t>(value & 0xffff), frames, count);
}

// Frames out of a tx impairment stage go to the NIC with the same bounded retries as TxBatch;
// what the NIC still refuses is freed and counted.
void transmit_released(Engine::PortQueue& q, rte_mbuf** frames, std::uint16_t count) {
  constexpr int kMaxAttempts = 4;
  std::uint16_t sent = 0;
  for (int attempt = 0; attempt < kMaxAttempts && sent < count; ++attempt)
    sent += rte_eth_tx_burst(q.port_id, q.queue_id, frames + sent,
                             static_cast<std::uint16_t>(count - sent));
  if (sent < count) {
    rte_pktmbuf_free_bulk(frames + sent, count - sent);
    q.stats->add(EngineStat::kImpairmentTxRingFull, count - sent);
  }
}

// Passes `frames` (may be none) through the queue's tx stage at the loop's `now` and transmits
// whatever is due.
void transmit_impaired(Engine::PortQueue& q, rte_mbuf** frames, std::uint16_t count) {
  constexpr std::uint16_t kOut = 512;
  rte_mbuf* out[kOut];
  std::uint16_t n = q.tx_impairment->pass(frames, count, q.now, out, kOut);
  for (;;) {
    transmit_released(q, out, n);
    if (n < kOut) break;
    n = q.tx_impairment->release_due(q.now, out, kOut);
  }
}

// TxBatch's burst function when the queue has a tx stage: the stage takes every frame.
std::uint16_t impaired_tx_burst(void* context, rte_mbuf** frames, std::uint16_t count) {
  transmit_impaired(*static_cast<Engine::PortQueue*>(context), frames, count);
  return count;
}

}  // namespace

Engine::PortQueue::PortQueue(const PortInfo& port, std::uint16_t queue, NetStack::Params params,
                             std::unique_ptr<LinkImpairment> rx_stage,
                             std::unique_ptr<LinkImpairment> tx_stage,
                             CounterSet<EngineStat>& engine_stats)
    : port_id(port.port_id),
      queue_id(queue),
      steering(port.steering),
      rss(port.rss.get()),
      engine_of_queue(&port.engine_of_queue),
      rx_impairment(std::move(rx_stage)),
      tx_impairment(std::move(tx_stage)),
      stats(&engine_stats),
      tx(tx_impairment ? impaired_tx_burst : eth_tx_burst_encoded,
         tx_impairment ? static_cast<void*>(this) : encode_target(port.port_id, queue)),
      net(params, tx) {}

bool Engine::PortQueue::receives(const void* self, const FourTuple& tuple) {
  const auto* q = static_cast<const PortQueue*>(self);
  // The reply comes from the remote end: that is the packet whose hash the NIC (or software
  // steering) computes.
  return q->rss->queue_of(tuple.remote, tuple.local, tuple.remote_port, tuple.local_port) == q->queue_id;
}

Engine::Engine(unsigned id, unsigned lcore, rte_mempool* pool, const Config& config)
    : id_(id),
      lcore_(lcore),
      pool_(pool),
      config_(config),
      burst_size_(config.engine.burst_size),
      idle_sleep_us_(config.engine.idle_sleep_us) {}

absl::Status Engine::add_port(const PortInfo& port, const PortConfig& config, std::uint16_t queue) {
  NetStack::Params params{
      .mac = port.mac,
      .ipv4 = config.ipv4,
      .prefix_len = config.prefix_len,
      .gateway = config.gateway,
      .mtu = port.mtu,
      .arp = config_.arp,
      .sysctl = config_.sysctl,
      .pool = pool_,
      .tx_checksum_offload = port.offloads.ipv4_checksum && port.offloads.tcp_checksum,
      // DPDK 22.11's net_tap refuses a TSO packet whose segment plus Ethernet header exceeds the
      // MTU (it compares against the MTU without the L2 header) and stops the burst there: no TSO.
      .tso = port.offloads.ipv4_checksum && port.offloads.tcp_checksum && port.offloads.tcp_tso &&
             port.driver != "net_tap",
  };
  std::unique_ptr<LinkImpairment> rx_stage, tx_stage;
  if (const ImpairmentConfig& imp = config_.impairment; imp.enabled()) {
    using Dir = ImpairmentConfig::Direction;
    // Each stage its own random stream: engine, port, queue and direction.
    const std::uint64_t stream = std::uint64_t{id_} << 40 | std::uint64_t{port.port_id} << 24 |
                                 std::uint64_t{queue} << 8;
    if (imp.direction != Dir::kTx)
      rx_stage = std::make_unique<LinkImpairment>(imp, LinkImpairment::Direction::kRx, pool_,
                                                  stats_, stream | 0);
    if (imp.direction != Dir::kRx)
      tx_stage = std::make_unique<LinkImpairment>(imp, LinkImpairment::Direction::kTx, pool_,
                                                  stats_, stream | 1);
  }
  auto q = std::make_unique<PortQueue>(port, queue, params, std::move(rx_stage),
                                       std::move(tx_stage), stats_);
  q->engine = this;
  tcp::TcpStack::Params::FlowAffinity affinity;
  if (port.rss != nullptr) {
    affinity = {.receives = &PortQueue::receives, .context = q.get()};
    if (mesh_ != nullptr) q->net.share_neighbours({.shared = &Engine::share_neighbour, .context = q.get()});
  }
  const std::string table = "tcp_p" + std::to_string(port.port_id) + "_e" + std::to_string(id_);
  if (absl::Status status = q->net.enable_tcp(timers_, table, config_.engine.max_sockets,
                                              config_.engine.max_half_open, affinity);
      !status.ok())
    return status;
  queues_.push_back(std::move(q));
  return absl::OkStatus();
}

void Engine::set_mesh(EngineMesh* mesh) {
  mesh_ = mesh;
  outbox_.assign(std::size_t{mesh->engines()} * kMaxBurst, nullptr);
  outbox_count_.assign(mesh->engines(), 0);
}

Engine::PortQueue* Engine::queue_of_port(std::uint16_t port_id) {
  for (auto& q : queues_)
    if (q->port_id == port_id) return q.get();
  return nullptr;
}

// Keeps this engine's frames (and those any engine may handle) at the front of `frames` and
// hands the others to their engines. ARP stays here; what it teaches is shared by the NetStack.
unsigned Engine::steer(PortQueue& q, rte_mbuf** frames, unsigned count) {
  unsigned kept = 0;
  bool handed = false;
  for (unsigned i = 0; i < count; ++i) {
    rte_mbuf* frame = frames[i];
    const std::uint16_t owner = owning_queue(frame, *q.rss);
    if (owner == kAnyQueue || owner == q.queue_id) {
      frames[kept++] = frame;
      continue;
    }
    const unsigned to = (*q.engine_of_queue)[owner];
    frame->port = q.port_id;  // not every PMD sets it (net_ring does not); the owner needs it
    outbox_[std::size_t{to} * kMaxBurst + outbox_count_[to]++] = frame;
    handed = true;
  }
  if (handed) {
    for (unsigned to = 0; to < outbox_count_.size(); ++to) {
      const unsigned n = outbox_count_[to];
      if (n == 0) continue;
      rte_mbuf** out = &outbox_[std::size_t{to} * kMaxBurst];
      const unsigned sent = mesh_->send_frames(to, out, n);
      if (sent < n) {
        rte_pktmbuf_free_bulk(out + sent, n - sent);
        stats_.add(EngineStat::kSteerRingFull, n - sent);
      }
      stats_.add(EngineStat::kSteeredOut, sent);
      outbox_count_[to] = 0;
    }
  }
  return kept;
}

void Engine::receive_frames_from_engines(Instant now) {
  rte_mbuf* frames[kMaxBurst];
  const unsigned n = mesh_->receive_frames(id_, frames, burst_size_);
  stats_.add(EngineStat::kSteeredIn, n);
  for (unsigned i = 0; i < n; ++i) {
    PortQueue* q = queue_of_port(frames[i]->port);
    if (q == nullptr) {
      stats_.inc(EngineStat::kSteerNoPort);
      rte_pktmbuf_free(frames[i]);
      continue;
    }
    q->net.input(frames[i], now);
  }
}

void Engine::learn_from_engines(Instant now) {
  NeighbourUpdate updates[32];
  const unsigned learned = mesh_->receive_neighbours(id_, updates, 32);
  for (unsigned i = 0; i < learned; ++i) {
    if (PortQueue* q = queue_of_port(updates[i].port_id); q != nullptr) {
      MacAddr mac;
      std::copy(std::begin(updates[i].mac), std::end(updates[i].mac), mac.bytes.begin());
      q->net.learn_neighbour(Ipv4Addr{updates[i].ip}, mac, updates[i].create != 0, now);
    }
  }
}

void Engine::share_neighbour(void* queue, Ipv4Addr ip, const MacAddr& mac, bool create) {
  auto* q = static_cast<PortQueue*>(queue);
  Engine& self = *q->engine;
  NeighbourUpdate update;
  update.ip = ip.value;
  std::copy(mac.bytes.begin(), mac.bytes.end(), update.mac);
  update.port_id = static_cast<std::uint8_t>(q->port_id);
  update.create = create ? 1 : 0;
  const unsigned missed = self.mesh_->share_neighbour(self.id_, update);
  self.stats_.inc(EngineStat::kNeighboursShared);
  self.stats_.add(EngineStat::kNeighbourRingFull, missed);
}

bool Engine::neighbours(std::vector<NeighbourRow>& rows, std::chrono::milliseconds timeout) const {
  std::lock_guard callers(neighbour_callers_);
  const std::uint32_t ticket = neighbour_request_.fetch_add(1, std::memory_order_relaxed) + 1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (neighbour_answered_.load(std::memory_order_acquire) != ticket) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    const timespec pause{0, 200'000};
    nanosleep(&pause, nullptr);
  }
  rows = neighbour_rows_;
  return true;
}

void Engine::answer_neighbour_request(Instant now) {
  neighbour_rows_.clear();
  for (auto& q : queues_) {
    q->net.arp().for_each([&](const ArpCache::Entry& entry) {
      NeighbourRow row{.port_id = q->port_id, .ip = entry.ip, .mac = entry.mac};
      const bool incomplete = entry.state == ArpCache::State::kIncomplete;
      row.state = incomplete ? "INCOMPLETE" : entry.deadline > now ? "REACHABLE" : "STALE";
      row.remaining_ms = std::chrono::duration_cast<std::chrono::milliseconds>(entry.deadline - now).count();
      neighbour_rows_.push_back(row);
    });
  }
  neighbour_answered_.store(neighbour_request_.load(std::memory_order_relaxed), std::memory_order_release);
}

unsigned Engine::poll_once(Instant now) {
  last_now_ns_.store(to_ns(now), std::memory_order_relaxed);  // one writer: this thread
  rte_mbuf* frames[512];
  unsigned received = 0;
  timers_.advance(now);  // due TCP timers first, so input sees the same now
  // Neighbours other engines learned, before this burst's frames need them.
  if (mesh_ != nullptr) learn_from_engines(now);
  for (auto& q : queues_) {
    std::uint16_t n =
        rte_eth_rx_burst(q->port_id, q->queue_id, frames, static_cast<std::uint16_t>(burst_size_));
    received += n;
    if (q->tx_impairment) q->now = now;
    // The rx stage takes the burst and gives back what is due now (in place).
    if (q->rx_impairment) n = q->rx_impairment->pass(frames, n, now, frames, static_cast<std::uint16_t>(std::size(frames)));
    if (q->steering == Steering::kSoftware && mesh_ != nullptr) n = static_cast<std::uint16_t>(steer(*q, frames, n));
    for (std::uint16_t i = 0; i < n; ++i) {
      if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void*));
      q->net.input(frames[i], now);
    }
    q->net.poll(now);
  }
  if (mesh_ != nullptr) receive_frames_from_engines(now);
  if (app_ != nullptr) app_->poll(now);
  for (auto& q : queues_) {
    q->tx.flush();
    if (q->tx_impairment) transmit_impaired(*q, nullptr, 0);  // frames whose delay ended
  }
  stats_.inc(EngineStat::kLoops);
  stats_.add(EngineStat::kRxPackets, received);
  if (received == 0) stats_.inc(EngineStat::kIdleLoops);
  // A telemetry thread waits for the ARP caches (rare: one relaxed load of a quiet line).
  if (neighbour_request_.load(std::memory_order_relaxed) != neighbour_answered_.load(std::memory_order_relaxed))
    answer_neighbour_request(now);
  return received;
}

void Engine::run(const std::atomic<bool>& stop) {
  TscClock clock;
  for (auto& q : queues_) {
    q->now = clock.now();
    q->net.start(q->now);
  }
  if (app_ != nullptr) {
    std::vector<tcp::TcpStack*> tcp;
    for (auto& q : queues_) tcp.push_back(q->net.tcp());
    app_->start(tcp, clock.now());
  }
  for (auto& q : queues_) q->tx.flush();
  // Relaxed is enough: the flag carries no data, and the loop re-reads it every iteration.
  // Busy time: from the start of an iteration that received frames to the start of the next.
  Instant previous = clock.now();
  bool previous_busy = false;
  while (!stop.load(std::memory_order_relaxed)) {
    const Instant now = clock.now();
    stats_.add(previous_busy ? EngineStat::kBusyNs : EngineStat::kIdleNs,
               static_cast<std::uint64_t>(to_ns(now) - to_ns(previous)));
    previous = now;
    const unsigned received = poll_once(now);
    previous_busy = received != 0;
    if (received == 0 && idle_sleep_us_ != 0) rte_delay_us_sleep(idle_sleep_us_);
  }
  if (app_ != nullptr) app_->stop();
  for (auto& q : queues_) {
    q->net.stop();
    q->tx.flush();
    // Frames still delayed or held are dropped, so the pool is whole when the runtime checks it.
    if (q->rx_impairment) q->rx_impairment->clear();
    if (q->tx_impairment) q->tx_impairment->clear();
  }
}

}  // namespace synwave
