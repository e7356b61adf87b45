#include "engine/engine.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

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

}  // namespace

Engine::PortQueue::PortQueue(const PortInfo& port, std::uint16_t queue, NetStack::Params params)
    : port_id(port.port_id),
      queue_id(queue),
      tx(eth_tx_burst_encoded, encode_target(port.port_id, queue)),
      net(params, tx) {}

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
      .tso = port.offloads.ipv4_checksum && port.offloads.tcp_checksum && port.offloads.tcp_tso,
  };
  auto q = std::make_unique<PortQueue>(port, queue, params);
  const std::string table = "tcp_p" + std::to_string(port.port_id) + "_e" + std::to_string(id_);
  if (absl::Status status = q->net.enable_tcp(timers_, table, config_.engine.max_sockets); !status.ok())
    return status;
  queues_.push_back(std::move(q));
  return absl::OkStatus();
}

unsigned Engine::poll_once(Instant now) {
  last_now_ns_.store(to_ns(now), std::memory_order_relaxed);  // one writer: this thread
  rte_mbuf* frames[512];
  unsigned received = 0;
  timers_.advance(now);  // due TCP timers first, so input sees the same now
  for (auto& q : queues_) {
    const std::uint16_t n =
        rte_eth_rx_burst(q->port_id, q->queue_id, frames, static_cast<std::uint16_t>(burst_size_));
    for (std::uint16_t i = 0; i < n; ++i) {
      if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void*));
      q->net.input(frames[i], now);
    }
    q->net.poll(now);
    received += n;
  }
  if (app_ != nullptr) app_->poll(now);
  for (auto& q : queues_) q->tx.flush();
  stats_.inc(EngineStat::kLoops);
  stats_.add(EngineStat::kRxPackets, received);
  if (received == 0) stats_.inc(EngineStat::kIdleLoops);
  return received;
}

void Engine::run(const std::atomic<bool>& stop) {
  TscClock clock;
  for (auto& q : queues_) q->net.start(clock.now());
  if (app_ != nullptr) {
    std::vector<tcp::TcpStack*> tcp;
    for (auto& q : queues_) tcp.push_back(q->net.tcp());
    app_->start(tcp, clock.now());
  }
  for (auto& q : queues_) q->tx.flush();
  // Relaxed is enough: the flag carries no data, and the loop re-reads it every iteration.
  while (!stop.load(std::memory_order_relaxed)) {
    const unsigned received = poll_once(clock.now());
    if (received == 0 && idle_sleep_us_ != 0) rte_delay_us_sleep(idle_sleep_us_);
  }
  if (app_ != nullptr) app_->stop();
  for (auto& q : queues_) {
    q->net.stop();
    q->tx.flush();
  }
}

}  // namespace synwave
