// What to send and when: retransmissions chosen by loss recovery first (RFC 6675 NextSeg), then
// new data as the peer's window, the congestion window, silly-window avoidance (RFC 9293 3.8.6.2.1)
// and Nagle (RFC 896, Minshall's variant as Linux) allow, in segments of one MSS or, when the port
// does TSO, up to 64 KiB; then the FIN; then the persist timer when a closed window holds data back.
#include <algorithm>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr std::uint32_t kTsoMaxPayload = 65535 - 20 - 60;  // one IPv4 packet, before the NIC cuts it

}  // namespace

std::uint32_t TcpStack::Impl::payload_mss(const Tcb& t) const {
  // Linux mss_cache: the peer's MSS less the options every segment carries.
  return t.mss - (t.ts_ok ? 12u : 0u);
}

std::uint32_t TcpStack::Impl::in_flight(const Tcb& t) const {
  const std::uint32_t outstanding = static_cast<std::uint32_t>(t.snd_nxt - t.snd_una);
  const std::uint32_t mss = payload_mss(t);
  switch (t.recovery) {
    case Recovery::kLoss: {
      // Everything below the recovery point that is not SACKed counts as lost: what is in the
      // network is what we resent since the timeout and what we sent after it.
      const Seq resent_end = std::min(t.rxt_next, t.recovery_point);
      const std::uint32_t resent = resent_end > t.snd_una
                                       ? static_cast<std::uint32_t>(resent_end - t.snd_una) -
                                             (t.sack_ok ? t.scoreboard.sacked_between(t.snd_una, resent_end) : 0)
                                       : 0;
      const std::uint32_t after = t.snd_nxt > t.recovery_point
                                      ? static_cast<std::uint32_t>(t.snd_nxt - t.recovery_point) -
                                            (t.sack_ok ? t.scoreboard.sacked_between(t.recovery_point, t.snd_nxt) : 0)
                                      : 0;
      return resent + after;
    }
    case Recovery::kFast:
      if (t.sack_ok) return t.scoreboard.pipe(t.snd_una, t.snd_nxt, t.rxt_next, mss, params.sysctl.tcp_reordering);
      [[fallthrough]];
    case Recovery::kOpen:
      if (t.sack_ok) return outstanding - std::min(outstanding, t.scoreboard.sacked_bytes());
      // Without SACK every duplicate ACK says one segment left the network (Linux counts them as
      // SACKed); this is NewReno's window inflation, and limited transmit (RFC 3042) before it.
      {
        const std::uint32_t left = t.dupacks * mss;
        std::uint32_t pipe = outstanding > left ? outstanding - left : 0;
        // The head segment resent in this recovery is in the network again.
        if (t.recovery == Recovery::kFast && t.rxt_next > t.snd_una)
          pipe += std::min<std::uint32_t>(static_cast<std::uint32_t>(t.rxt_next - t.snd_una), mss);
        return pipe;
      }
  }
  return outstanding;
}

bool TcpStack::Impl::send_range(Tcb& t, Seq seq, std::uint32_t len, bool retransmission) {
  // The FIN occupies the sequence number after the data: a range reaching it carries the flag.
  std::uint32_t data_len = len;
  bool fin = false;
  if (t.fin_sent && seq + len > t.fin_seq) {
    data_len = seq <= t.fin_seq ? static_cast<std::uint32_t>(t.fin_seq - seq) : 0;
    fin = true;
  }
  const std::size_t offset = static_cast<std::size_t>(seq - t.snd_una);
  const bool last = offset + data_len >= t.send_queue.bytes();
  std::uint8_t flags = wire::TcpFlags::kAck;
  if (fin) flags |= wire::TcpFlags::kFin;
  if (data_len > 0 && last) flags |= wire::TcpFlags::kPsh;
  if (!emit(t, flags, seq, offset, data_len)) return false;
  if (retransmission) {
    ++t.total_retransmits;
    stats.inc(TcpStat::kRetransmits);
    stats.add(TcpStat::kBytesRetransmitted, data_len);
    if (t.recovery == Recovery::kFast) stats.inc(TcpStat::kFastRetransmits);
    // Karn: a sample from a segment sent twice would be ambiguous.
    if (t.rtt_timing && seq <= t.rtt_seq && t.rtt_seq < seq + len) t.rtt_timing = false;
  }
  if (!t.rtx_timer.armed() || t.rtx_kind == RtxTimer::kPersist) arm_rtx(t);
  return true;
}

bool TcpStack::Impl::retransmit_next(Tcb& t) {
  if (t.recovery == Recovery::kOpen) return false;
  const std::uint32_t mss = payload_mss(t);
  Seq from = t.rxt_head_due ? t.snd_una : std::max(t.rxt_next, t.snd_una);
  Seq end = t.snd_nxt;
  if (!t.sack_ok && t.recovery == Recovery::kFast) {
    // NewReno resends one segment per partial ACK: the one at SND.UNA.
    if (!t.rxt_head_due) return false;
    end = std::min(end, t.snd_una + mss);
  }
  if (!t.sack_ok && t.recovery == Recovery::kLoss) end = t.recovery_point;
  // The lowest byte from `from` on that the peer has not SACKed.
  if (t.sack_ok && !t.scoreboard.empty() && from < t.scoreboard.highest_sacked()) {
    if (auto hole = t.scoreboard.next_hole(from)) {
      from = hole->start;
      end = std::min(end, hole->end);
    } else {
      from = t.scoreboard.highest_sacked();
    }
  }
  if (from >= end) return false;
  // What counts as lost (RFC 6675 NextSeg rule 1): the head when due; after a timeout everything
  // below the recovery point; otherwise what IsLost() says, up to SND.NXT (losses of data sent
  // during the recovery are repaired in it too).
  if (t.recovery == Recovery::kLoss && from < t.recovery_point) {
    end = std::min(end, t.recovery_point);
  } else if (t.recovery == Recovery::kFast && t.sack_ok && from < t.lost_until) {
    end = std::min(end, t.lost_until);
  } else if (!t.rxt_head_due && !(t.sack_ok && t.scoreboard.is_lost(from, mss, params.sysctl.tcp_reordering))) {
    return false;
  }
  const std::uint32_t len = std::min<std::uint32_t>(static_cast<std::uint32_t>(end - from), mss);
  if (!send_range(t, from, len, true)) return false;
  if (from == t.snd_una) {
    // Lost-retransmission detection (Linux tcp_mark_lost_retrans): if data sent after this is
    // SACKed while SND.UNA stays here, this copy was lost too.
    t.head_rxt_mark = t.snd_nxt;
    t.head_rxt_valid = true;
  }
  t.rxt_next = from + len;
  t.rxt_head_due = false;
  return true;
}

void TcpStack::Impl::push_data(Tcb& t) {
  if (!is_synchronized(t.state)) return;
  const std::uint32_t mss = payload_mss(t);
  const Instant now = timers.now();
  // RFC 5681 4.1 (Linux tcp_slow_start_after_idle): after an idle RTO the window is stale.
  if (params.sysctl.tcp_slow_start_after_idle && t.snd_nxt == t.snd_una && t.recovery == Recovery::kOpen &&
      t.last_send != Instant{} && now - t.last_send > t.rto)
    t.cc.on_idle_restart(mss, now);
  t.cwnd_limited = false;
  bool window_blocked = false;
  bool sent_new = false;
  // Bounded: every pass sends a segment or leaves.
  while (true) {
    const std::uint32_t flight = in_flight(t);
    if ((t.rxt_head_due || flight < t.cc.cwnd) && retransmit_next(t)) continue;
    if (t.fin_sent) break;
    const std::size_t offset = static_cast<std::size_t>(t.snd_nxt - t.snd_una);
    const std::size_t unsent = t.send_queue.bytes() > offset ? t.send_queue.bytes() - offset : 0;
    if (unsent == 0) break;
    if (flight >= t.cc.cwnd) {
      t.cwnd_limited = true;
      break;
    }
    const std::int64_t window_room =
        static_cast<std::int64_t>(t.snd_wnd) - static_cast<std::int64_t>(t.snd_nxt - t.snd_una);
    if (window_room <= 0) {
      window_blocked = true;
      break;
    }
    // Whole segments as the congestion window allows (at least one: cwnd counts segments in Linux).
    const std::uint32_t cwnd_segments = std::max<std::uint32_t>(1, (t.cc.cwnd - flight) / mss);
    const std::uint32_t max_len = params.tso ? std::min(kTsoMaxPayload / mss, cwnd_segments) * mss : mss;
    std::size_t len = std::min<std::size_t>({unsent, static_cast<std::size_t>(window_room), max_len});
    if (len < mss && len < unsent) {
      // The window cuts the segment short. Sender silly-window avoidance: send it only when it is
      // at least half the largest window the peer offered; otherwise wait (persist timer).
      if (len < t.max_snd_wnd / 2) {
        window_blocked = true;
        break;
      }
    } else if (len < mss && !t.fin_requested && (t.cork || (!t.no_delay && t.snd_sml > t.snd_una))) {
      // TCP_CORK: a partial segment waits for more data or the uncork (Linux tcp_nagle_check with
      // TCP_NAGLE_CORK; Linux's 200 ms ceiling on a cork is not applied). Otherwise Nagle,
      // Minshall's variant: one small segment in flight at a time.
      break;
    }
    // The last of the data when the application has closed: the FIN rides on it (Linux
    // tcp_send_fin sets FIN on the last unsent segment rather than sending one of its own).
    const bool with_fin = t.fin_requested && fin_queued(t.state) && len == unsent;
    if (with_fin) {
      t.fin_seq = t.snd_nxt + static_cast<std::uint32_t>(len);
      t.fin_sent = true;
    }
    if (!send_range(t, t.snd_nxt, static_cast<std::uint32_t>(len) + (with_fin ? 1u : 0u), false)) {
      if (with_fin) t.fin_sent = false;
      break;
    }
    if (!t.rtt_timing) {
      t.rtt_timing = true;
      t.rtt_start = now;
      t.rtt_seq = t.snd_nxt;
    }
    if (len < mss) t.snd_sml = t.snd_nxt + static_cast<std::uint32_t>(len);
    t.snd_nxt += static_cast<std::uint32_t>(len) + (with_fin ? 1u : 0u);
    t.last_send = now;
    sent_new = true;
    stats.add(TcpStat::kBytesOut, len);
  }
  const bool all_sent = static_cast<std::size_t>(t.snd_nxt - t.snd_una) >= t.send_queue.bytes();
  if (t.fin_requested && !t.fin_sent && all_sent && fin_queued(t.state)) {
    t.fin_seq = t.snd_nxt;
    t.fin_sent = true;
    t.snd_nxt = t.fin_seq + 1u;
    send_range(t, t.fin_seq, 1, false);
  }
  // New data out: the timer watches the tail from now (probe or RTO, RFC 8985 7.2).
  if (sent_new && t.rtx_kind != RtxTimer::kPersist) arm_retransmission(t);
  // RFC 9293 3.8.6.1: data waits for a window and nothing in flight will bring an ACK that opens
  // it: probe.
  if (window_blocked && t.snd_nxt == t.snd_una && !t.rtx_timer.armed()) arm_persist(t);
  publish(t);
}

void TcpStack::Impl::send_probe(Tcb& t) {
  // Linux tcp_xmit_probe_skb: an old sequence number the peer must answer with an ACK carrying its
  // current window.
  emit(t, wire::TcpFlags::kAck, t.snd_una - 1u, 0, 0);
}

void TcpStack::Impl::update_send_buffer(Tcb& t) {
  if (t.snd_buf_locked) return;
  // Linux tcp_sndbuf_expand: room for about two congestion windows of data. It only grows: a
  // window cut by a loss does not take back buffer the application already uses.
  const auto& wmem = params.sysctl.tcp_wmem;
  t.snd_buf = std::max(t.snd_buf, std::clamp<std::uint32_t>(2 * t.cc.cwnd, wmem[1], wmem[2]));
}

}  // namespace synwave::tcp
