// One engine: a run-to-completion loop on one lcore, serving one rx/tx queue pair of each port.
//
// Everything an engine touches on the packet path is its own: its queues, its mempool, its
// protocol state and its counters. Other threads only read its counters.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/application.h"
#include "engine/engine_stats.h"
#include "engine/impairment.h"
#include "engine/port.h"
#include "net/net_stack.h"
#include "net/tx_batch.h"
#include "timer/timer_wheel.h"

namespace synwave {

class Engine {
 public:
  // One queue pair on one port, with the protocol stack that owns the port's address.
  struct PortQueue {
    // `rx_impairment` / `tx_impairment`: the [impairment] stages of this queue, or null (the
    // usual case: then nothing but a null check is spent on them).
    PortQueue(const PortInfo& port, std::uint16_t queue, NetStack::Params params,
              std::unique_ptr<LinkImpairment> rx_impairment,
              std::unique_ptr<LinkImpairment> tx_impairment, CounterSet<EngineStat>& stats);
    std::uint16_t port_id;
    std::uint16_t queue_id;
    // Declared before `tx`: the batch's destructor may still flush through the tx stage.
    std::unique_ptr<LinkImpairment> rx_impairment;
    std::unique_ptr<LinkImpairment> tx_impairment;
    Instant now{};                    // the loop's `now`, for the tx stage (TxBatch has no time)
    CounterSet<EngineStat>* stats;    // the engine's, for frames the NIC refuses after the tx stage
    TxBatch tx;
    NetStack net;
  };

  Engine(unsigned id, unsigned lcore, rte_mempool* pool, const Config& config);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds queue `queue` of `port` to this engine's loop, with its IPv4 and TCP layers. Before
  // run() only. Errors: the TCP layer could not be created.
  absl::Status add_port(const PortInfo& port, const PortConfig& config, std::uint16_t queue);

  // Runs `app` on this engine (not owned; it must outlive run()). Before run() only.
  void set_application(Application* app) { app_ = app; }

  // The loop: runs on this engine's lcore until `stop` becomes true, then flushes what it has
  // queued and frees what it still holds. `now` comes from the TSC, read once per iteration.
  void run(const std::atomic<bool>& stop);

  // One iteration at `now`: receive a burst per queue, process it to the end, run due work,
  // transmit. Returns the number of frames received. Used by run() and by tests.
  unsigned poll_once(Instant now);

  unsigned id() const { return id_; }
  unsigned lcore() const { return lcore_; }
  rte_mempool* pool() const { return pool_; }
  const CounterSet<EngineStat>& stats() const { return stats_; }
  const std::vector<std::unique_ptr<PortQueue>>& queues() const { return queues_; }
  TimerWheel& timers() { return timers_; }
  // The `now` of the latest loop iteration, in ns of the engine's clock (the time base of timer
  // deadlines). Any thread: telemetry reads it to say when a connection's timer expires.
  std::int64_t last_now_ns() const { return last_now_ns_.load(std::memory_order_relaxed); }

 private:
  unsigned id_;
  unsigned lcore_;
  rte_mempool* pool_;
  const Config& config_;
  unsigned burst_size_;
  unsigned idle_sleep_us_;
  CounterSet<EngineStat> stats_;  // declared before queues_: their impairment stages count here
  TimerWheel timers_{std::chrono::milliseconds(1)};  // declared before queues_: outlives their timers
  std::vector<std::unique_ptr<PortQueue>> queues_;
  Application* app_ = nullptr;
  std::atomic<std::int64_t> last_now_ns_{0};
};

}  // namespace synwave
