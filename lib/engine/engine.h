// One engine: a run-to-completion loop on one lcore, serving one rx/tx queue pair of each port.
//
// Everything an engine touches on the packet path is its own: its queues, its mempool, its
// protocol state and its counters. Other threads only read its counters.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "engine/application.h"
#include "engine/engine_mesh.h"
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
    // TcpStack's FlowAffinity for this queue: does the packet answering `tuple` arrive here?
    static bool receives(const void* self, const FourTuple& tuple);

    std::uint16_t port_id;
    std::uint16_t queue_id;
    Steering steering;
    const RssTable* rss;                          // with several queues (the port's, shared)
    const std::vector<unsigned>* engine_of_queue;  // the port's
    Engine* engine = nullptr;                     // the owner, for shared neighbours
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

  // Lets this engine reach the others (software steering, shared neighbours). Not owned; it must
  // outlive run(). Before add_port() and run() only.
  void set_mesh(EngineMesh* mesh);

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

  // One ARP cache entry, as `ip neigh` shows it.
  struct NeighbourRow {
    std::uint16_t port_id = 0;
    Ipv4Addr ip;
    MacAddr mac;
    const char* state = "";  // "INCOMPLETE", "REACHABLE", "STALE"
    std::int64_t remaining_ms = 0;  // INCOMPLETE: to the next request; else to the end of REACHABLE
  };
  // Any thread: asks the running engine for its ARP caches and waits up to `timeout` for the
  // answer, given between two loop iterations (the caches are the engine's alone). False when no
  // answer came (the engine is not running). Callers are serialized.
  bool neighbours(std::vector<NeighbourRow>& rows, std::chrono::milliseconds timeout) const;

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

  // Software steering: frames received here for engine e wait in outbox_[e * kMaxBurst ...] until
  // the end of the burst, then go to its ring in one enqueue.
  unsigned steer(PortQueue& q, rte_mbuf** frames, unsigned count);
  void receive_frames_from_engines(Instant now);
  void learn_from_engines(Instant now);
  static void share_neighbour(void* queue, Ipv4Addr ip, const MacAddr& mac, bool create);
  PortQueue* queue_of_port(std::uint16_t port_id);
  void answer_neighbour_request(Instant now);

  static constexpr unsigned kMaxBurst = 512;
  EngineMesh* mesh_ = nullptr;
  std::vector<rte_mbuf*> outbox_;
  std::vector<unsigned> outbox_count_;

  // neighbours(): the caller bumps request_ and waits for answered_ to match.
  mutable std::mutex neighbour_callers_;
  mutable std::atomic<std::uint32_t> neighbour_request_{0};
  std::atomic<std::uint32_t> neighbour_answered_{0};
  std::vector<NeighbourRow> neighbour_rows_;  // written by the engine before answered_ moves
};

}  // namespace synwave
