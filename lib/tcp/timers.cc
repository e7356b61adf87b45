// The TCP timers: retransmission (SYN, SYN-ACK, data, FIN) with RFC 6298 back-off, and the state
// timers (TIME_WAIT's 2MSL, an orphan's FIN_WAIT_2 limit). Every instant comes from the wheel.
#include <algorithm>
#include <cerrno>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr Duration kRtoMin = std::chrono::milliseconds(200);  // Linux TCP_RTO_MIN
constexpr Duration kRtoMax = std::chrono::seconds(120);       // Linux TCP_RTO_MAX

}  // namespace

void TcpStack::Impl::arm_rtx(Tcb& t) { timers.arm_after(t.rtx_timer, t.rto); }

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
  stats.inc(TcpStat::kRetransmits);
  if (t.state == State::kSynSent || t.state == State::kSynReceived) {
    send_syn(t);
  } else {
    retransmit_head(t);
  }
  arm_rtx(t);
  publish(t);
}

void TcpStack::Impl::enter_time_wait(Tcb& t) {
  timers.cancel(t.rtx_timer);
  if (t.state != State::kTimeWait) set_state(t, State::kTimeWait);
  arm_state_timer(t, StateTimer::kTimeWait, std::chrono::seconds(params.sysctl.tcp_timewait_len));
  update_readiness(t);
}

void TcpStack::Impl::on_state_timeout(Tcb& t) {
  const StateTimer kind = t.state_timer_kind;
  t.state_timer_kind = StateTimer::kNone;
  if (kind == StateTimer::kFinWait2) stats.inc(TcpStat::kFinWait2Timeouts);
  // TIME_WAIT over, or an orphan gave up waiting for the peer's FIN: the connection ends quietly.
  finish(t, 0);
}

}  // namespace synwave::tcp
