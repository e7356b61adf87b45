// Per-connection congestion control: CUBIC (RFC 9438, Linux's default) and Reno/NewReno
// (RFC 5681), in bytes.
//
// The TCP engine owns the loss-recovery machinery (duplicate ACKs, SACK, RFC 6675 / PRR, the RTO)
// and calls in here at five points: an ACK of new data outside fast recovery (on_ack), entering
// fast recovery (on_loss), a retransmission timeout (on_timeout), leaving fast recovery
// (on_recovery_end) and sending again after an idle period (on_idle_restart). The module does no
// I/O, reads no clock (every event carries `now`), allocates nothing and keeps no global state.
//
// Behaviour follows Linux (net/ipv4/tcp_cong.c, tcp_cubic.c) translated from packets to bytes:
//
//  * Initial window 10 segments (RFC 6928, Linux TCP_INIT_CWND); ssthresh "infinite" (0x7fffffff)
//    until the first loss.
//  * Slow start while cwnd < ssthresh (Linux tcp_in_slow_start): cwnd += acked per ACK (Linux
//    tcp_slow_start: no RFC 3465 limit), never beyond ssthresh; the bytes of
//    an ACK left over when cwnd reaches ssthresh go to congestion avoidance (Linux tcp_slow_start).
//  * Reno congestion avoidance: +1 mss for every cwnd bytes acknowledged (Linux
//    tcp_cong_avoid_ai with w = cwnd). Loss: ssthresh = max(cwnd/2, 2*mss).
//  * CUBIC congestion avoidance (RFC 9438 section 4, Linux bictcp_update): the window aims at
//    W_cubic(t + srtt) = C*(t + srtt - K)^3 + W_max, with C = 0.4 segments/s^3 and
//    K = cbrt((W_max - cwnd_epoch) / C); the per-ACK growth is at most 1 mss per 2 mss acked
//    (cwnd * 1.5 per RTT, Linux's cnt >= 2); below the target, growth is 1% per RTT (Linux
//    cnt = 100 * cwnd); with no W_max yet, at least 5% per RTT (Linux's cnt <= 20). Reno-friendly
//    region: an estimate W_est that grows by 1 mss per 15/8 cwnd acknowledged (Linux's
//    beta_scale = 15, alpha = 8/15 ~ 3(1-beta)/(1+beta)) and, when above cwnd, pulls cwnd towards
//    itself within about one RTT. Loss: ssthresh = max(cwnd * 717/1024, 2*mss); W_max = cwnd, or
//    cwnd * (1 + beta)/2 when below the previous W_max (fast convergence).
//  * Timeout: ssthresh as on a loss (only on the first timeout since new data was acknowledged,
//    as RFC 5681 eq. 4 and Linux tcp_enter_loss), cwnd = 1 mss, and CUBIC forgets W_max (Linux
//    bictcp_reset on TCP_CA_Loss): the first congestion avoidance after a timeout starts with
//    K = 0 from the window it reached (RFC 9438 section 4.8).
//
//  * CUBIC HyStart, delay detection only (Linux hystart_detect bit HYSTART_DELAY), when the engine
//    feeds RTT samples through on_rtt_sample: from 16 segments on, once per connection, slow start
//    ends (ssthresh = cwnd) when the smallest RTT of a round's first 8+ samples exceeds the
//    connection's minimum RTT by clamp(min/8, 4 ms, 16 ms). Without samples: plain slow start.
//
// Not implemented: HyStart's ACK-train detection, cwnd undo after spurious retransmissions,
// ECN-specific handling (call on_loss for a CWR), Linux's 1/32 s recomputation throttle of
// bictcp_update (the target is recomputed on every ACK), idle restart's halving per idle RTO.
//
// Thread-safety: a plain value inside the connection's control block; only the thread owning the
// connection touches it. No function fails; every function needs mss > 0 (0 is treated as 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.h"
#include "tcp/seq.h"

namespace synwave::tcp {

enum class CongestionAlgorithm : std::uint8_t { kReno, kCubic };

// The algorithm named as in Linux's net.ipv4.tcp_congestion_control ("reno", "cubic"; exact,
// case-sensitive); nullopt for any other name.
std::optional<CongestionAlgorithm> congestion_algorithm_from_name(std::string_view name);
// Linux's name of `a` ("reno" or "cubic"); a static string.
const char* congestion_algorithm_name(CongestionAlgorithm a);

// All windows in bytes. Plain struct, lives inside the per-connection control block.
struct CongestionControl {
  // ssthresh before the first loss (Linux TCP_INFINITE_SSTHRESH).
  static constexpr std::uint32_t kInfiniteSsthresh = 0x7fffffff;
  // Initial window in segments (RFC 6928, Linux TCP_INIT_CWND).
  static constexpr std::uint32_t kInitialWindowSegments = 10;
  // Upper bound of cwnd (the largest scaled window, 2^30).
  static constexpr std::uint32_t kMaxCwnd = 1u << 30;
  // CUBIC constants (RFC 9438 section 4.1; Linux beta = 717/1024, bic_scale 41 ~ C = 0.4).
  static constexpr double kCubicC = 0.4;
  static constexpr std::uint32_t kCubicBetaNum = 717;
  static constexpr std::uint32_t kCubicBetaDen = 1024;

  CongestionAlgorithm algorithm = CongestionAlgorithm::kCubic;
  // Set by on_timeout, cleared when new data is acknowledged: a further timeout before that is a
  // backed-off retransmission of the same loss and leaves ssthresh alone (RFC 5681 eq. 4).
  bool timeout_pending = false;
  // CUBIC: an epoch (one congestion avoidance period, RFC 9438's t = 0) is under way.
  bool epoch_started = false;
  std::uint32_t cwnd = 0;
  std::uint32_t ssthresh = kInfiniteSsthresh;
  // Bytes acknowledged in congestion avoidance not yet turned into growth (Linux snd_cwnd_cnt).
  std::uint32_t bytes_acked = 0;

  // CUBIC state (Linux struct bictcp), bytes unless stated.
  std::uint32_t w_max = 0;      // window before the last reduction (last_max_cwnd); 0 = none
  std::uint32_t origin = 0;     // W_cubic(K): w_max, or cwnd at the epoch start if above it
  std::uint32_t w_est = 0;      // Reno-friendly estimate (Linux tcp_cwnd)
  std::uint32_t est_acked = 0;  // bytes acked this epoch not yet added to w_est (ack_cnt)
  Instant epoch_start{};        // when the epoch began (valid if epoch_started)
  double k_seconds = 0;         // K: time from the epoch start to the plateau at origin

  // CUBIC HyStart state (Linux struct bictcp: found, end_seq, curr_rtt, sample_cnt, delay_min).
  bool hystart_found = false;      // slow start already ended by HyStart (until a timeout)
  bool round_open = false;         // round_end is valid
  std::uint8_t round_samples = 0;  // RTT samples seen this round (counts up to 8)
  Seq round_end{};                 // the round ends when SND.UNA passes this (SND.NXT at start)
  std::uint32_t round_min_rtt_us = UINT32_MAX;  // smallest RTT sample this round
  std::uint32_t min_rtt_us = 0;  // smallest RTT sample of the connection; 0 = none yet

  // A connection starts: cwnd = 10 * mss, ssthresh infinite, no CUBIC history.
  void init(CongestionAlgorithm a, std::uint32_t mss, Instant now);
  // New data was cumulatively acknowledged while NOT in fast recovery. `acked`: bytes newly acked.
  // `cwnd_limited`: the sender had filled cwnd (Linux tcp_is_cwnd_limited); when false, cwnd does
  // not grow. `srtt`: the smoothed RTT (zero before the first sample).
  void on_ack(std::uint32_t acked, std::uint32_t mss, Instant now, Duration srtt,
              bool cwnd_limited);
  // Loss detected by duplicate ACKs / SACK (entering fast recovery), or an ECN congestion signal:
  // ssthresh = max(cwnd * beta, 2 * mss), CUBIC's w_max updated, epoch reset. cwnd unchanged: the
  // caller's recovery sets it (RFC 6675: cwnd = ssthresh; or PRR).
  void on_loss(std::uint32_t mss, Instant now);
  // Retransmission timeout: ssthresh as on_loss (not again for a backed-off timeout before new
  // data is acked), cwnd = 1 * mss (RFC 5681 loss window), CUBIC history cleared.
  void on_timeout(std::uint32_t mss, Instant now);
  // Fast recovery is over: cwnd = max(ssthresh, 2 * mss) (Linux tcp_end_cwnd_reduction); nothing
  // happens if no loss ever set ssthresh.
  void on_recovery_end(std::uint32_t mss);
  // Sending again after an idle period of at least one RTO (RFC 5681 section 4.1, Linux
  // tcp_cwnd_restart): ssthresh = max(ssthresh, 3/4 cwnd), cwnd = min(cwnd, initial window),
  // CUBIC epoch reset.
  void on_idle_restart(std::uint32_t mss, Instant now);

  // Optional (CUBIC HyStart): an RTT sample taken from this ACK (RFC 6298 rules: none from
  // retransmitted segments), given before on_ack for the same ACK. `snd_una` / `snd_nxt`: after
  // the ACK was processed. May end slow start by setting ssthresh = cwnd. Reno ignores it.
  void on_rtt_sample(Duration rtt, Seq snd_una, Seq snd_nxt, std::uint32_t mss, Instant now);

  // Whether on_ack would do slow start (Linux tcp_in_slow_start).
  bool in_slow_start() const { return cwnd < ssthresh; }
  // The initial window for `mss`: 10 * mss.
  static std::uint32_t initial_window(std::uint32_t mss);
  // CUBIC: W_cubic(t) of RFC 9438 in bytes for the current epoch, t measured from epoch_start.
  // Meaningful only while epoch_started.
  double cubic_window(Duration t, std::uint32_t mss) const;

 private:
  void reset_cubic_epoch() { epoch_started = false; }
  void hystart_new_round(Seq snd_nxt);
  void recalc_ssthresh(std::uint32_t mss);
  // Congestion avoidance, Linux tcp_cong_avoid_ai: +mss per `w` acked bytes.
  void additive_increase(std::uint64_t w, std::uint32_t acked, std::uint32_t mss);
  void cubic_avoid(std::uint32_t acked, std::uint32_t mss, Instant now, Duration srtt);
};

}  // namespace synwave::tcp
