#include "tcp/congestion.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace synwave::tcp {

namespace {

// Linux's limits on CUBIC's per-ACK growth, in "segments acked per segment of growth" (cnt):
// at most cwnd * 1.5 per RTT, at least 1% per RTT above the target, and at least 5% per RTT
// while no loss has given a W_max.
constexpr std::uint64_t kCubicMinCnt = 2;
constexpr std::uint64_t kCubicPlateauCnt = 100;
constexpr std::uint64_t kCubicNoMaxCnt = 20;
// Reno-friendly estimate: +1 segment per (15/8) * cwnd acked (Linux beta_scale, 8*(1+b)/3/(1-b)).
constexpr std::uint64_t kFriendlyScaleNum = 15;
constexpr std::uint64_t kFriendlyScaleDen = 8;
// HyStart (Linux hystart_low_window, HYSTART_MIN_SAMPLES, HYSTART_DELAY_MIN / _MAX).
constexpr std::uint32_t kHystartLowWindowSegments = 16;
constexpr std::uint8_t kHystartMinSamples = 8;
constexpr std::uint32_t kHystartDelayMinUs = 4000;
constexpr std::uint32_t kHystartDelayMaxUs = 16000;

std::uint32_t clamp_cwnd(std::uint64_t w) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(w, CongestionControl::kMaxCwnd));
}

double seconds(Duration d) {
  return static_cast<double>(d.count()) * 1e-9;
}

}  // namespace

std::optional<CongestionAlgorithm> congestion_algorithm_from_name(std::string_view name) {
  if (name == "reno") return CongestionAlgorithm::kReno;
  if (name == "cubic") return CongestionAlgorithm::kCubic;
  return std::nullopt;
}

const char* congestion_algorithm_name(CongestionAlgorithm a) {
  switch (a) {
    case CongestionAlgorithm::kReno:
      return "reno";
    case CongestionAlgorithm::kCubic:
      return "cubic";
  }
  return "unknown";
}

std::uint32_t CongestionControl::initial_window(std::uint32_t mss) {
  return clamp_cwnd(std::uint64_t{kInitialWindowSegments} * std::max(mss, 1u));
}

void CongestionControl::init(CongestionAlgorithm a, std::uint32_t mss, Instant now) {
  *this = CongestionControl{};
  algorithm = a;
  cwnd = initial_window(mss);
  epoch_start = now;
}

void CongestionControl::on_ack(std::uint32_t acked, std::uint32_t mss, Instant now, Duration srtt,
                               bool cwnd_limited) {
  mss = std::max(mss, 1u);
  timeout_pending = false;  // new data acked: a later timeout is a new loss (Linux retransmits=0)
  if (acked == 0 || !cwnd_limited) return;

  if (in_slow_start()) {
    // Linux tcp_slow_start: every byte an ACK covers, stopping at ssthresh (no RFC 3465 limit, so a
    // stretch ACK grows the window by all it acknowledges); what is left counts for avoidance.
    const std::uint32_t growth = std::min({acked, ssthresh - cwnd, kMaxCwnd - std::min(cwnd, kMaxCwnd)});
    cwnd += growth;
    if (in_slow_start() || cwnd >= kMaxCwnd) return;
    acked -= growth;
    if (acked == 0) return;
  }

  switch (algorithm) {
    case CongestionAlgorithm::kReno:
      additive_increase(cwnd, acked, mss);  // RFC 5681 (3): one mss per window acknowledged
      break;
    case CongestionAlgorithm::kCubic:
      cubic_avoid(acked, mss, now, srtt);
      break;
  }
}

void CongestionControl::additive_increase(std::uint64_t w, std::uint32_t acked, std::uint32_t mss) {
  w = std::clamp<std::uint64_t>(w, 1, std::numeric_limits<std::uint32_t>::max());
  std::uint64_t total = cwnd;
  // The window w may have shrunk since the bytes were counted: grow once and start over.
  if (bytes_acked >= w) {
    bytes_acked = 0;
    total += mss;
  }
  std::uint64_t pending = std::uint64_t{bytes_acked} + acked;
  if (pending >= w) {
    const std::uint64_t steps = pending / w;
    pending -= steps * w;
    total += steps * mss;
  }
  bytes_acked = static_cast<std::uint32_t>(pending);  // < w <= UINT32_MAX
  cwnd = clamp_cwnd(total);
}

double CongestionControl::cubic_window(Duration t, std::uint32_t mss) const {
  const double offset = seconds(t) - k_seconds;
  return static_cast<double>(origin) +
         kCubicC * static_cast<double>(mss) * offset * offset * offset;
}

void CongestionControl::cubic_avoid(std::uint32_t acked, std::uint32_t mss, Instant now,
                                    Duration srtt) {
  if (!epoch_started) {
    // RFC 9438 section 4.2: a new epoch; K from the distance to W_max (Linux bictcp_update with
    // epoch_start == 0). Above the old maximum (or without one) the curve is convex from here.
    epoch_started = true;
    epoch_start = now;
    est_acked = acked;
    w_est = cwnd;
    if (w_max <= cwnd) {
      k_seconds = 0;
      origin = cwnd;
    } else {
      k_seconds = std::cbrt(static_cast<double>(w_max - cwnd) / (kCubicC * mss));
      origin = w_max;
    }
  } else {
    est_acked = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::uint64_t{est_acked} + acked, UINT32_MAX));
  }

  // Aim at where the curve will be one RTT from now (RFC 9438 4.2 target = W_cubic(t + RTT);
  // Linux adds delay_min).
  Duration t = now - epoch_start;
  if (t < Duration::zero()) t = Duration::zero();
  t += std::max(srtt, Duration::zero());
  const double target = cubic_window(t, mss);

  // cnt: segments to acknowledge per segment of growth; here in bytes (cnt * mss).
  const double window = static_cast<double>(cwnd);
  std::uint64_t w;
  if (target > window) {
    const double per_mss = window * mss / (target - window);
    w = per_mss >= 1e18 ? std::uint64_t{1} << 60 : static_cast<std::uint64_t>(per_mss);
  } else {
    w = kCubicPlateauCnt * cwnd;  // at or above the curve: creep at 1% per RTT
  }
  if (w_max == 0) w = std::min(w, kCubicNoMaxCnt * mss);

  // Reno-friendly region (RFC 9438 4.3): W_est grows like a Reno flow with CUBIC's beta; when it
  // is ahead, cwnd grows at least fast enough to reach it in about one RTT.
  const std::uint64_t est_step =
      std::max<std::uint64_t>(std::uint64_t{cwnd} * kFriendlyScaleNum / kFriendlyScaleDen, 1);
  if (est_acked > est_step) {
    // Linux grows while ack_cnt > delta, i.e. (ack_cnt - 1) / delta steps.
    const std::uint64_t steps = (est_acked - 1) / est_step;
    est_acked = static_cast<std::uint32_t>(est_acked - steps * est_step);
    w_est = clamp_cwnd(std::uint64_t{w_est} + steps * mss);
  }
  if (w_est > cwnd) {
    const std::uint64_t reno_w = std::uint64_t{cwnd} * mss / (w_est - cwnd);
    w = std::min(w, reno_w);
  }

  w = std::max(w, kCubicMinCnt * mss);  // at most 1.5 * cwnd per RTT
  additive_increase(w, acked, mss);
}

void CongestionControl::hystart_new_round(Seq snd_nxt) {
  round_open = true;
  round_end = snd_nxt;
  round_min_rtt_us = UINT32_MAX;
  round_samples = 0;
}

void CongestionControl::on_rtt_sample(Duration rtt, Seq snd_una, Seq snd_nxt, std::uint32_t mss,
                                      Instant now) {
  if (algorithm != CongestionAlgorithm::kCubic) return;
  mss = std::max(mss, 1u);
  // Samples taken just after fast recovery still carry its queue (Linux: the first second of the
  // epoch is ignored).
  if (epoch_started && now - epoch_start < std::chrono::seconds(1)) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(rtt).count();
  const std::uint32_t delay =
      static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 1, UINT32_MAX));
  if (min_rtt_us == 0 || delay < min_rtt_us) min_rtt_us = delay;

  if (hystart_found || !in_slow_start() ||
      std::uint64_t{cwnd} < std::uint64_t{kHystartLowWindowSegments} * mss) {
    return;
  }
  if (!round_open || snd_una > round_end) hystart_new_round(snd_nxt);
  round_min_rtt_us = std::min(round_min_rtt_us, delay);
  if (round_samples < kHystartMinSamples) {
    ++round_samples;
    return;
  }
  // The queue is building: this round's best RTT is well above the path's.
  const std::uint32_t threshold =
      std::clamp(min_rtt_us >> 3, kHystartDelayMinUs, kHystartDelayMaxUs);
  if (round_min_rtt_us > min_rtt_us + threshold) {
    hystart_found = true;
    ssthresh = cwnd;
  }
}

void CongestionControl::recalc_ssthresh(std::uint32_t mss) {
  const std::uint64_t floor = 2 * std::uint64_t{mss};
  std::uint64_t reduced;
  switch (algorithm) {
    case CongestionAlgorithm::kReno:
      reduced = cwnd / 2;  // RFC 5681 (4), Linux tcp_reno_ssthresh, from cwnd
      break;
    case CongestionAlgorithm::kCubic:
    default:
      // Fast convergence (RFC 9438 4.7, Linux bictcp_recalc_ssthresh): a flow whose maximum
      // keeps falling releases bandwidth by remembering an even lower W_max.
      if (cwnd < w_max) {
        w_max = static_cast<std::uint32_t>(std::uint64_t{cwnd} * (kCubicBetaDen + kCubicBetaNum) /
                                           (2 * kCubicBetaDen));
      } else {
        w_max = cwnd;
      }
      reduced = std::uint64_t{cwnd} * kCubicBetaNum / kCubicBetaDen;
      break;
  }
  ssthresh = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(std::max(reduced, floor), kInfiniteSsthresh));
  reset_cubic_epoch();
}

void CongestionControl::on_loss(std::uint32_t mss, Instant /*now*/) {
  mss = std::max(mss, 1u);
  recalc_ssthresh(mss);
  bytes_acked = 0;  // Linux tcp_init_cwnd_reduction
}

void CongestionControl::on_timeout(std::uint32_t mss, Instant /*now*/) {
  mss = std::max(mss, 1u);
  if (!timeout_pending) recalc_ssthresh(mss);
  timeout_pending = true;
  cwnd = mss;
  bytes_acked = 0;
  // Linux bictcp_state(TCP_CA_Loss) -> bictcp_reset: the history goes, W_max included, so the next
  // congestion avoidance starts with K = 0 from where slow start ends (RFC 9438 4.8).
  w_max = 0;
  origin = 0;
  w_est = 0;
  est_acked = 0;
  k_seconds = 0;
  hystart_found = false;  // and HyStart may end the next slow start again (bictcp_hystart_reset)
  round_open = false;
  min_rtt_us = 0;
  reset_cubic_epoch();
}

void CongestionControl::on_recovery_end(std::uint32_t mss) {
  mss = std::max(mss, 1u);
  if (ssthresh == kInfiniteSsthresh) return;
  cwnd = clamp_cwnd(std::max<std::uint64_t>(ssthresh, 2 * std::uint64_t{mss}));
}

void CongestionControl::on_idle_restart(std::uint32_t mss, Instant /*now*/) {
  // Linux tcp_current_ssthresh: keep a memory of 3/4 of the window before the restart.
  ssthresh = std::max(ssthresh, (cwnd >> 1) + (cwnd >> 2));
  cwnd = std::min(cwnd, initial_window(mss));
  reset_cubic_epoch();
}

}  // namespace synwave::tcp
