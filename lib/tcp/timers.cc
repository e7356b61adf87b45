// The TCP timers: retransmission (SYN, SYN-ACK, data, FIN) with RFC 6298 back-off, the persist
// timer that probes a zero window, keepalive, and the state timers (TIME_WAIT's 2MSL, an orphan's
// FIN_WAIT_2 limit). The delayed-ACK timer lives with the receive side (receive.cc). Every instant
// comes from the wheel.
#include <algorithm>
#include <cerrno>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr Duration kRtoMin = std::chrono::milliseconds(200);  // Linux TCP_RTO_MIN
constexpr Duration kRtoMax = std::chrono::seconds(120);       // Linux TCP_RTO_MAX

}  // namespace

void TcpStack::Impl::arm_rtx(Tcb& t) {
  t.rtx_kind = RtxTimer::kRetransmit;
  timers.arm_after(t.rtx_timer, t.rto);
}

void TcpStack::Impl::arm_retransmission(Tcb& t) {
  // Linux tcp_schedule_loss_probe: with SACK, in the open state, once per tail, when an RTT is
  // known: PTO = 2 SRTT, plus 2 ms (TCP_TIMEOUT_MIN) or, with one segment in flight, plus
  // 200 ms for the peer's delayed ACK; never later than the RTO.
  const bool probe = t.sack_ok && t.recovery == Recovery::kOpen && !t.tlp_pending && t.rtt_measured &&
                     t.snd_nxt != t.snd_una && (t.state == State::kEstablished || t.state == State::kCloseWait);
  if (!probe) {
    arm_rtx(t);
    return;
  }
  const bool one_segment = static_cast<std::uint32_t>(t.snd_nxt - t.snd_una) <= payload_mss(t);
  const Duration pto = 2 * t.srtt + (one_segment ? kRtoMin : std::chrono::milliseconds(2));
  t.rtx_kind = RtxTimer::kLossProbe;
  timers.arm_after(t.rtx_timer, std::min(pto, t.rto));
}

void TcpStack::Impl::on_loss_probe(Tcb& t) {
  // RFC 8985 7.3 / Linux tcp_send_loss_probe: new data if the window lets one segment go,
  // otherwise the last segment again; either way the ACK it draws shows what was lost, and SACK
  // recovery takes it from there. Then the RTO runs as before.
  if (t.recovery != Recovery::kOpen || t.snd_nxt == t.snd_una) {
    arm_rtx(t);
    return;
  }
  const std::uint32_t mss = payload_mss(t);
  const std::size_t offset = static_cast<std::size_t>(t.snd_nxt - t.snd_una);
  const std::size_t unsent = t.fin_sent || t.send_queue.bytes() <= offset ? 0 : t.send_queue.bytes() - offset;
  const std::int64_t room = static_cast<std::int64_t>(t.snd_wnd) - static_cast<std::int64_t>(offset);
  bool sent = false;
  if (unsent > 0 && room > 0) {
    const auto len = static_cast<std::uint32_t>(std::min<std::size_t>({unsent, static_cast<std::size_t>(room), mss}));
    if (send_range(t, t.snd_nxt, len, false)) {
      t.snd_nxt += len;
      t.last_send = timers.now();
      stats.add(TcpStat::kBytesOut, len);
      t.tlp_retransmitted = false;
      sent = true;
    }
  } else if (t.snd_nxt != t.snd_una) {
    const std::uint32_t outstanding = static_cast<std::uint32_t>(t.snd_nxt - t.snd_una);
    const Seq from = t.snd_nxt - std::min(outstanding, mss);
    sent = send_range(t, from, static_cast<std::uint32_t>(t.snd_nxt - from), true);
    t.tlp_retransmitted = true;
  }
  if (sent) {
    t.tlp_pending = true;
    t.tlp_high_seq = t.snd_nxt;
    stats.inc(TcpStat::kLossProbes);
  }
  arm_rtx(t);
  publish(t);
}

void TcpStack::Impl::arm_persist(Tcb& t) {
  // Linux tcp_probe0_when: the RTO, doubled per probe sent (icsk_backoff, here `retransmits`:
  // nothing is in flight while the window is closed), at most TCP_RTO_MAX. An answer from the
  // peer resets the abort count (`probes`) but not the back-off.
  t.rtx_kind = RtxTimer::kPersist;
  const unsigned shift = std::min<unsigned>(t.retransmits, 10);
  timers.arm_after(t.rtx_timer, std::min<Duration>(t.rto * (1u << shift), kRtoMax));
}

void TcpStack::Impl::arm_keepalive(Tcb& t) {
  const unsigned idle = t.keepalive_idle_s != 0 ? t.keepalive_idle_s : params.sysctl.tcp_keepalive_time;
  if (t.state_timer.armed() && t.state_timer_kind != StateTimer::kKeepalive) return;  // TIME_WAIT, FIN_WAIT_2
  arm_state_timer(t, StateTimer::kKeepalive, std::chrono::seconds(idle));
}

void TcpStack::Impl::arm_state_timer(Tcb& t, StateTimer kind, Duration after) {
  t.state_timer_kind = kind;
  timers.arm_after(t.state_timer, after);
  publish(t);
}

void TcpStack::Impl::rtt_sample(Tcb& t, Duration r) {
  // RFC 6298 2.2 and 2.3, with Linux's floor: RTO = SRTT + max(4 * RTTVAR, TCP_RTO_MIN).
  if (!t.rtt_measured) {
    t.rtt_measured = true;
    t.srtt = r;
    t.rttvar = r / 2;
  } else {
    const Duration delta = t.srtt > r ? t.srtt - r : r - t.srtt;
    t.rttvar = (3 * t.rttvar + delta) / 4;
    t.srtt = (7 * t.srtt + r) / 8;
  }
  t.rto = std::clamp(t.srtt + std::max(4 * t.rttvar, kRtoMin), kRtoMin, kRtoMax);
}

unsigned TcpStack::Impl::retry_limit(const Tcb& t) const {
  const Sysctl& s = params.sysctl;
  switch (t.state) {
    case State::kSynSent: return s.tcp_syn_retries;
    case State::kSynReceived: return t.listener != kNoIndex ? s.tcp_synack_retries : s.tcp_syn_retries;
    default:
      // Linux tcp_orphan_retries(): 0 means 8 for a socket nobody holds.
      if (t.orphan) return s.tcp_orphan_retries == 0 ? 8 : s.tcp_orphan_retries;
      return s.tcp_retries2;
  }
}

void TcpStack::Impl::rtx_expired(void* tcb, TimerNode&, Instant) {
  Tcb& t = *static_cast<Tcb*>(tcb);
  static_cast<Impl*>(t.owner)->on_rtx_timeout(t);
}

void TcpStack::Impl::state_expired(void* tcb, TimerNode&, Instant) {
  Tcb& t = *static_cast<Tcb*>(tcb);
  static_cast<Impl*>(t.owner)->on_state_timeout(t);
}

void TcpStack::Impl::on_rtx_timeout(Tcb& t) {
  if (t.rtx_kind == RtxTimer::kPersist) {
    on_persist_timeout(t);
    return;
  }
  if (t.rtx_kind == RtxTimer::kLossProbe) {
    on_loss_probe(t);
    return;
  }
  if (t.retransmits >= retry_limit(t)) {
    // Out of retries: the waiting that followed the last retransmission is over too.
    switch (t.state) {
      case State::kSynSent:
        stats.inc(TcpStat::kAttemptFails);
        finish(t, ETIMEDOUT);
        return;
      case State::kSynReceived:
        stats.inc(TcpStat::kAttemptFails);
        if (t.listener != kNoIndex) release(t);  // Linux drops the half-open entry silently
        else finish(t, ETIMEDOUT);
        return;
      default:
        stats.inc(TcpStat::kAbortOnTimeout);
        finish(t, ETIMEDOUT);
        return;
    }
  }
  ++t.retransmits;
  t.rto = std::min(t.rto * 2, kRtoMax);  // RFC 6298 5.5
  t.rtt_timing = false;                  // Karn: no sample from a retransmitted segment
  if (t.state == State::kSynSent || t.state == State::kSynReceived) {
    stats.inc(TcpStat::kRetransmits);
    send_syn(t);
  } else {
    // RFC 6298 5.4 and RFC 5681 3.1: resend from SND.UNA, starting over from one segment.
    enter_loss(t);
    push_data(t);
  }
  arm_rtx(t);
  publish(t);
}

void TcpStack::Impl::on_persist_timeout(Tcb& t) {
  // Linux tcp_probe_timer: a peer that never answers is given up after tcp_retries2 probes (an
  // orphan after its orphan retries); one that answers keeps the connection, however long.
  if (t.probes >= retry_limit(t)) {
    stats.inc(TcpStat::kAbortOnTimeout);
    finish(t, ETIMEDOUT);
    return;
  }
  const std::uint32_t mss = payload_mss(t);
  const std::size_t offset = static_cast<std::size_t>(t.snd_nxt - t.snd_una);
  const std::int64_t room = static_cast<std::int64_t>(t.snd_wnd) - static_cast<std::int64_t>(offset);
  if (room > 0 && t.send_queue.bytes() > offset) {
    // The window opened a little but silly-window avoidance held the data: send what fits
    // (Linux tcp_write_wakeup).
    const std::uint32_t len =
        static_cast<std::uint32_t>(std::min<std::size_t>({static_cast<std::size_t>(room), t.send_queue.bytes() - offset, mss}));
    if (send_range(t, t.snd_nxt, len, false)) {
      t.snd_nxt += len;
      stats.add(TcpStat::kBytesOut, len);
      // Data in flight: the retransmission timer takes over (Linux tcp_send_probe0).
      t.probes = 0;
      t.retransmits = 0;
    }
    publish(t);
    return;
  }
  if (t.snd_una != t.snd_nxt || t.send_queue.bytes() <= offset) return;  // nothing waits for a window any more
  ++t.probes;
  if (t.retransmits < 255) ++t.retransmits;
  stats.inc(TcpStat::kWindowProbes);
  send_probe(t);
  arm_persist(t);
  publish(t);
}

void TcpStack::Impl::enter_time_wait(Tcb& t) {
  timers.cancel(t.rtx_timer);
  timers.cancel(t.delack_timer);
  if (t.state != State::kTimeWait) set_state(t, State::kTimeWait);
  arm_state_timer(t, StateTimer::kTimeWait, std::chrono::seconds(params.sysctl.tcp_timewait_len));
  update_readiness(t);
}

void TcpStack::Impl::on_keepalive_timeout(Tcb& t) {
  // Linux tcp_keepalive_timer.
  if (!t.keep_alive || !is_synchronized(t.state) || t.state == State::kTimeWait) return;
  const Sysctl& s = params.sysctl;
  const Duration idle_limit = std::chrono::seconds(t.keepalive_idle_s != 0 ? t.keepalive_idle_s : s.tcp_keepalive_time);
  const Duration interval = std::chrono::seconds(t.keepalive_intvl_s != 0 ? t.keepalive_intvl_s : s.tcp_keepalive_intvl);
  const unsigned max_probes = t.keepalive_probes != 0 ? t.keepalive_probes : s.tcp_keepalive_probes;
  if (t.snd_nxt != t.snd_una || !t.send_queue.empty()) {
    // Data in flight has its own timer to detect a dead peer.
    arm_state_timer(t, StateTimer::kKeepalive, idle_limit);
    return;
  }
  const Duration idle = timers.now() - t.last_recv;
  if (idle < idle_limit) {
    arm_state_timer(t, StateTimer::kKeepalive, idle_limit - idle);
    return;
  }
  if (t.probes >= max_probes) {
    stats.inc(TcpStat::kAbortOnTimeout);
    send_rst(t);
    finish(t, ETIMEDOUT);
    return;
  }
  ++t.probes;
  stats.inc(TcpStat::kKeepaliveProbes);
  send_probe(t);
  arm_state_timer(t, StateTimer::kKeepalive, interval);
}

void TcpStack::Impl::on_state_timeout(Tcb& t) {
  const StateTimer kind = t.state_timer_kind;
  if (kind == StateTimer::kKeepalive) {
    on_keepalive_timeout(t);
    return;
  }
  t.state_timer_kind = StateTimer::kNone;
  if (kind == StateTimer::kFinWait2) stats.inc(TcpStat::kFinWait2Timeouts);
  // TIME_WAIT over, or an orphan gave up waiting for the peer's FIN: the connection ends quietly.
  finish(t, 0);
}

}  // namespace synwave::tcp
