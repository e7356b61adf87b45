// The flood that synwave-flood runs on one engine.
//
// After --delay it resolves the next hop's MAC (unless --dst-mac gave it): the first packet of
// the flood goes out through the engine's IPv4 layer, which ARPs for the next hop (the target on
// the link, else the configured gateway) and sends the packet once answered; the MAC is then
// read from the engine's ARP cache. From there every iteration builds up to a burst of frames
// from the templates in fresh mbufs and hands them to rte_eth_tx_burst on the engine's queue;
// what the port does not take after a few tries is freed and counted as a tx drop. With a rate
// a token bucket (10 ms deep) paces the bursts. It stops by itself once --count packets were
// offered to the port or --duration seconds passed, whichever comes first.
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
#include "flood_frames.h"

namespace synwave::flood {

struct Options {
  Kind kind = Kind::kSyn;
  Ipv4Addr target;
  std::uint16_t target_port = 0;
  Ipv4Prefix sources;
  std::uint64_t count = 0;       // packets offered to the port (sent + dropped); > 0
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
  std::uint64_t dropped = 0;    // refused by the port after the retries (tx drops)
  std::uint64_t no_mbuf = 0;    // bursts cut short because the pool was empty (retried later)
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
  // Builds `n` frames (n <= burst) into `frames`; returns how many mbufs it got.
  unsigned build(rte_mbuf** frames, unsigned n);
  void progress(Instant now);
  void finish(Instant now, StopReason reason);

  Options options_;
  Engine::PortQueue& queue_;
  rte_mempool* pool_;
  unsigned burst_;
  std::vector<FrameTemplate> templates_;  // one per single kind, index = Kind
  FieldSource fields_;
  Ipv4Addr hop_;
  std::optional<MacAddr> dst_mac_;
  Phase phase_ = Phase::kWaiting;
  Totals totals_;
  Totals last_;  // at the last progress line
  std::uint64_t offered_ = 0;  // sent + dropped, plus the probe while it waits for ARP
  double tokens_ = 0;
  double bucket_depth_ = 0;
  Instant token_time_{}, start_at_{}, end_at_{}, flood_start_{}, next_progress_{}, last_now_{};
  double elapsed_s_ = 0;
  StopReason reason_ = StopReason::kNone;
};

}  // namespace synwave::flood
