// The flood that synwave-flood runs on one engine.
//
// After --delay it resolves the next hop's MAC (unless --dst-mac gave it): the first packet of
// the flood goes out through the engine's IPv4 layer, which ARPs for the next hop (the target on
// the link, else the configured gateway) and sends the packet once answered; the MAC is then
// read from the engine's ARP cache. From there a FloodSender builds frames from the templates
// in fresh mbufs and hands them to rte_eth_tx_burst on the engine's queue; what the ring does
// not take is retried first on the next iteration (back-pressure, not drops). With a rate a
// FloodPacer keeps the schedule (a thread that lost its core catches up, up to 1 s' worth). It
// stops by itself once --count packets were built or --duration seconds passed, whichever
// comes first; frames still held by then are freed and reported as unsent.
//
// Single-threaded: poll() and stop() run on the engine's thread; totals() and the rest are for
// the main thread once the engines have returned.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/application.h"
#include "engine/engine.h"
#include "flood/flood_frames.h"
#include "flood/flood_pacer.h"
#include "flood/flood_sender.h"

namespace synwave::flood {

struct Options {
  Kind kind = Kind::kSyn;
  Ipv4Addr target;
  std::uint16_t target_port = 0;
  Ipv4Prefix sources;
  std::uint64_t count = 0;       // packets built (sent + unsent at the end); > 0
  double duration_s = 0;         // > 0
  double rate = 0;               // packets per second; 0: as fast as the port takes them
  double delay_s = 0;            // before starting (resolution and flood)
  std::optional<MacAddr> dst_mac;  // skips ARP
  std::uint64_t seed = 1;
  bool progress = true;
};

// Why the flood ended.
enum class StopReason : std::uint8_t { kNone, kCount, kDuration, kSignal, kUnresolved };
const char* stop_reason_name(StopReason reason);

struct Totals {
  std::uint64_t sent = 0;       // taken by the port
  std::uint64_t dropped = 0;    // built but still refused by the port when the flood ended
  std::uint64_t no_mbuf = 0;    // bursts not built because the pool was empty (retried later)
  std::uint64_t ring_full = 0;  // iterations that ended with the tx ring full (back-pressure)
  std::uint64_t forgiven = 0;   // --rate: packets given up after the thread lost its core > 1 s
  std::uint64_t by_kind[4] = {};  // sent, per single kind (syn, ack, rst, fin)
};

class FloodGenerator : public Application {
 public:
  // `queue`: the engine queue to send on (its IPv4 layer resolves the next hop); `pool`: where
  // the frames come from; `burst`: frames per rte_eth_tx_burst.
  FloodGenerator(const Options& options, Engine::PortQueue& queue, rte_mempool* pool, unsigned burst);

  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override;
  void poll(Instant now) override;
  void stop() override;

  const Totals& totals() const { return totals_; }
  // Seconds from the first packet of the flood to its end.
  double elapsed_s() const { return elapsed_s_; }
  StopReason stop_reason() const { return reason_; }
  const std::optional<MacAddr>& dst_mac() const { return dst_mac_; }
  Ipv4Addr next_hop() const { return hop_; }

 private:
  enum class Phase : std::uint8_t { kWaiting, kResolving, kFlooding, kDone };

  void begin(Instant now);
  void send_probe(Instant now);
  void resolve(Instant now);
  void flood(Instant now);
  void update_totals();
  void progress(Instant now);
  void finish(Instant now, StopReason reason);

  Options options_;
  Engine::PortQueue& queue_;
  rte_mempool* pool_;
  unsigned burst_;
  FieldSource fields_;                    // the probe's fields
  std::optional<FloodSender> sender_;     // once the next hop is known
  std::optional<FloodPacer> pacer_;       // with --rate
  Ipv4Addr hop_;
  std::optional<MacAddr> dst_mac_;
  Phase phase_ = Phase::kWaiting;
  Totals totals_;
  Totals last_;  // at the last progress line
  std::uint64_t probes_ = 0;   // 1 once the probe went to the IPv4 layer
  unsigned probe_kind_ = 4;   // its kind, 4 before it went
  Instant start_at_{}, end_at_{}, flood_start_{}, next_progress_{}, last_now_{};
  double elapsed_s_ = 0;
  StopReason reason_ = StopReason::kNone;
};

}  // namespace synwave::flood
