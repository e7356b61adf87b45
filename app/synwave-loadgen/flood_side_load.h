// A bounded SYN flood sent by synwave-loadgen alongside its legitimate load (--flood-rate), on the
// same engine and tx queue, so one generator process on one core drives both: the flood's
// bursts go out between the engine's own (the load's) in every iteration.
//
// It starts `start` after the load began and stops by itself after `duration` or `count` frames,
// whichever comes first; it never stops the engine. The destination MAC is the next hop's from
// the engine's ARP cache (the load's first connection resolves it); if the cache has none when
// the flood is due, it waits, and sends nothing if none comes before its end. It also counts, for
// the whole run, the frames that reach this port for addresses not its own: the server's answers
// to the spoofed sources (SYN-ACKs with or without cookies, their retransmissions, RSTs).
//
// Sharing the port: before each of its bursts it flushes the frames the load queued in this
// iteration, so the generator never holds the load's packets behind its own flood. A rated flood
// is offered at its rate and what the full ring refuses is dropped and counted (as a NIC's full
// receive ring at the server would lose it, legitimate packets and flood alike); `max` holds the
// rest back instead (FloodSender's back-pressure: as fast as the port takes frames, without
// burning the core on frames that would be freed).
//
// Engine thread only. No allocation after the flood's first frame; a rate keeps its schedule
// (FloodPacer: a thread that lost its core catches up).
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <optional>

#include "engine/engine.h"
#include "flood/flood_pacer.h"
#include "flood/flood_sender.h"
#include "time_slices.h"

namespace synwave::loadgen {

struct SideFloodOptions {
  Ipv4Addr target;
  std::uint16_t target_port = 0;
  Ipv4Prefix sources;
  double rate = 0;             // SYNs per second; 0: as fast as the port takes them
  double start_s = 0;          // after the load began
  double duration_s = 0;       // > 0
  std::uint64_t count = 0;     // > 0
  std::uint64_t seed = 1;
};

struct SideFloodTotals {
  std::uint64_t offered = 0;    // frames built (sent + dropped + unsent)
  std::uint64_t sent = 0;       // taken by the port
  std::uint64_t unsent = 0;     // max: built but still refused by the ring when the flood ended
  std::uint64_t dropped = 0;    // rated: refused by the full ring and freed
  std::uint64_t ring_full = 0;  // iterations the ring was full (the flood waited)
  std::uint64_t no_mbuf = 0;
  std::uint64_t forgiven = 0;   // rate: packets given up after the thread lost its core > 1 s
  std::uint64_t answers = 0;    // frames for addresses not ours, over the whole run
  std::uint64_t load_tx_drops = 0;  // the load's own frames the ring refused, over the whole run
  double started_s = -1;        // when the first frame went, after the load began; -1: never
  double elapsed_s = 0;         // first frame to the end
  bool unresolved = false;      // no MAC for the next hop: nothing was sent
};

class FloodSideLoad {
 public:
  FloodSideLoad(const SideFloodOptions& options, Engine::PortQueue& queue, rte_mempool* pool, unsigned burst,
                TimeSlices& slices);

  // Every engine iteration once the load has begun at `origin`.
  void poll(Instant now, Instant origin);
  // After the last iteration: frees what the ring still refused.
  void stop();

  const SideFloodTotals& totals() const { return totals_; }

 private:
  enum class Phase : std::uint8_t { kWaiting, kFlooding, kDone };

  // False while the next hop's MAC is unknown; `due`: the planned start.
  bool begin(Instant now, Instant origin, Instant due);
  void finish(Instant now);
  void count_answers(Instant now);

  SideFloodOptions options_;
  Engine::PortQueue& queue_;
  rte_mempool* pool_;
  unsigned burst_;
  TimeSlices& slices_;
  Ipv4Addr hop_;
  std::optional<flood::FloodSender> sender_;
  std::optional<flood::FloodPacer> pacer_;
  Phase phase_ = Phase::kWaiting;
  Instant first_{}, end_at_{}, last_now_{};
  std::uint64_t answers_seen_ = 0;  // the counter's value at the last poll
  std::uint64_t tx_drops_at_start_ = 0;
  bool counting_ = false;
  SideFloodTotals totals_;
};

}  // namespace synwave::loadgen
