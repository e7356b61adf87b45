// ACKs for the data we sent: cumulative progress, RTT samples (RFC 6298 with Karn's rule, RFC 7323
// timestamps where Karn forbids a sample), the SACK scoreboard (RFC 2018), duplicate ACKs, fast
// retransmit and recovery (RFC 6675 with SACK, RFC 6582 NewReno without), recovery after a
// retransmission timeout, and the congestion controller's events (congestion.h).
#include <algorithm>
#include <array>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {

void TcpStack::Impl::tcp_init_transfer(Tcb& t) {
  const Instant now = timers.now();
  t.cc.init(t.cc.algorithm, payload_mss(t), now);
  t.recovery = Recovery::kOpen;
  t.dupacks = 0;
  t.rxt_next = t.snd_una;
  t.snd_sml = t.snd_una;
  t.last_recv = now;
  t.rcvq_space = std::min<std::uint32_t>(t.rcv_wnd, 10u * t.adv_mss);  // Linux tcp_init_buffer_space
  t.rcvq_time = now;
  t.rcvq_copied = 0;
  update_send_buffer(t);
  if (t.keep_alive) arm_keepalive(t);
}

void TcpStack::Impl::ack_data(Tcb& t, const Segment& seg, bool window_changed) {
  t.probes = 0;  // any acceptable ACK answers our probes (Linux tcp_ack)
  if (t.rtx_kind == RtxTimer::kPersist && t.snd_nxt == t.snd_una) {
    // Linux tcp_ack_probe: a window that opened ends the probe back-off; one still closed
    // re-arms the probe from now, with the back-off so far.
    if (t.snd_wnd > 0) {
      t.retransmits = 0;
    } else if (t.rtx_timer.armed()) {
      arm_persist(t);
    }
  }
  const Instant now = timers.now();
  const std::uint32_t mss = payload_mss(t);
  const std::uint32_t dupthresh = params.sysctl.tcp_reordering;
  const std::uint32_t flight_before = in_flight(t);
  // Linux tcp_is_cwnd_limited: the last transmit stopped at cwnd, or (slow start) cwnd is less
  // than twice what was in flight, so it grows to twice what the application keeps in flight.
  const bool cwnd_limited = t.cwnd_limited || flight_before + mss >= t.cc.cwnd ||
                            (t.cc.in_slow_start() && t.cc.cwnd < 2 * flight_before);

  bool newly_sacked = false;
  if (t.sack_ok && seg.options.sack_count > 0) {
    std::array<SackBlock, wire::TcpOptions::kMaxSackBlocks> blocks;
    for (std::size_t i = 0; i < seg.options.sack_count; ++i)
      blocks[i] = SackBlock{Seq(seg.options.sack_blocks[i].left), Seq(seg.options.sack_blocks[i].right)};
    const Seq una = seg.ack > t.snd_una ? seg.ack : t.snd_una;
    const SackScoreboard::UpdateResult r =
        t.scoreboard.update(una, t.snd_nxt, std::span(blocks).first(seg.options.sack_count));
    if (r.invalid_blocks > 0) drops.add(TcpDrop::kInvalidSack, r.invalid_blocks);
    if (r.dsack) stats.inc(TcpStat::kDsacksReceived);
    newly_sacked = r.newly_sacked > 0;
  }

  if (t.tlp_pending && seg.ack >= t.tlp_high_seq) {
    // Linux tcp_process_tlp_ack: the probe is answered. A resent segment nobody reports as a
    // duplicate (D-SACK) repaired a real loss: that is congestion, and the window is cut.
    t.tlp_pending = false;
    const bool spurious = seg.options.sack_count > 0 && Seq(seg.options.sack_blocks[0].right) <= seg.ack;
    if (t.tlp_retransmitted && !spurious && t.recovery == Recovery::kOpen) {
      stats.inc(TcpStat::kLossProbeRecoveries);
      t.cc.on_loss(mss, now);
      t.cc.cwnd = std::max(t.cc.ssthresh, 2 * mss);
    }
  }

  if (seg.ack > t.snd_una) {
    std::uint32_t acked = static_cast<std::uint32_t>(seg.ack - t.snd_una);
    if (t.fin_sent && seg.ack > t.fin_seq) --acked;  // the FIN's sequence number is not data
    t.send_queue.consume(acked);
    t.snd_una = seg.ack;
    t.scoreboard.acked(t.snd_una);
    if (t.head_rxt_valid && t.recovery == Recovery::kFast && t.snd_una < t.recovery_point &&
        t.head_rxt_mark > t.lost_until) {
      // The resent head arrived (a partial ACK): whatever was first sent before it and is still
      // missing, and not resent since, was lost too.
      t.lost_until = t.head_rxt_mark;
    }
    t.head_rxt_valid = false;
    if (t.rxt_next < t.snd_una) t.rxt_next = t.snd_una;
    if (t.rtt_timing && t.snd_una > t.rtt_seq) {
      const Duration rtt = now - t.rtt_start;
      rtt_sample(t, rtt);
      t.rtt_timing = false;
      t.cc.on_rtt_sample(rtt, t.snd_una, t.snd_nxt, mss, now);
    } else if (t.ts_ok && seg.options.timestamps && seg.options.timestamps->ecr != 0 &&
               (t.retransmits > 0 || t.recovery != Recovery::kOpen)) {
      // Karn's rule forbids timing retransmitted data; the echoed timestamp says which send it
      // answers (RFC 7323 4.1, Linux tcp_rtt_tsopt_us).
      const std::uint32_t ms = ts_now(t) - seg.options.timestamps->ecr;
      if (ms < 0x7fffffffu) rtt_sample(t, std::chrono::milliseconds(std::max<std::uint32_t>(ms, 1)));
    }
    t.retransmits = 0;
    t.dupacks = 0;
    switch (t.recovery) {
      case Recovery::kFast:
        if (t.snd_una >= t.recovery_point) {
          t.recovery = Recovery::kOpen;
          t.cc.on_recovery_end(mss);
        } else if (!t.sack_ok) {
          // RFC 6582 partial ACK: the segment now at SND.UNA was lost too.
          t.rxt_next = t.snd_una;
          t.rxt_head_due = true;
        }
        break;
      case Recovery::kLoss:
        if (t.snd_una >= t.recovery_point) t.recovery = Recovery::kOpen;
        t.cc.on_ack(acked, mss, now, t.srtt, cwnd_limited);
        break;
      case Recovery::kOpen:
        t.cc.on_ack(acked, mss, now, t.srtt, cwnd_limited);
        break;
    }
    update_send_buffer(t);
    if (t.snd_una == t.snd_nxt) {
      if (t.rtx_kind != RtxTimer::kPersist) timers.cancel(t.rtx_timer);
    } else {
      arm_retransmission(t);  // RFC 6298 5.3: restart for the remaining data (or probe the tail)
    }
  } else if (seg.ack == t.snd_una && seg.payload_len == 0 && !seg.flags.syn() && !seg.flags.fin() &&
             !window_changed && t.snd_nxt > t.snd_una && (!t.sack_ok || newly_sacked)) {
    // RFC 5681 duplicate ACK; with SACK, RFC 6675 section 2: only one that SACKs new data (an ACK
    // the network duplicated says nothing new).
    if (t.dupacks < 255) ++t.dupacks;
  }

  // A resent head whose later data is SACKed while the head still is not: the copy was lost.
  if (t.recovery != Recovery::kOpen && t.head_rxt_valid && t.sack_ok && !t.scoreboard.empty() &&
      t.scoreboard.highest_sacked() > t.head_rxt_mark && !t.scoreboard.is_sacked(t.snd_una)) {
    t.head_rxt_valid = false;
    t.rxt_head_due = true;
    stats.inc(TcpStat::kLostRetransmits);
  }

  // Loss detection (RFC 6675 section 5, RFC 6582): DupThresh duplicate ACKs, or SACK shows the
  // segment at SND.UNA lost.
  if (t.recovery == Recovery::kOpen && t.snd_nxt > t.snd_una && is_synchronized(t.state)) {
    const bool lost = t.dupacks >= dupthresh ||
                      (t.sack_ok && !t.scoreboard.empty() && t.scoreboard.is_lost(t.snd_una, mss, dupthresh));
    if (lost) {
      t.cc.on_loss(mss, now);
      t.cc.cwnd = std::max(t.cc.ssthresh, 2 * mss);
      t.recovery = Recovery::kFast;
      t.tlp_pending = false;
      if (t.rtx_kind == RtxTimer::kLossProbe) arm_rtx(t);  // recovery has begun: no probe
      t.recovery_point = t.snd_nxt;
      t.lost_until = t.snd_una;
      t.rxt_next = t.snd_una;
      t.rxt_head_due = true;
      stats.inc(t.sack_ok ? TcpStat::kSackRecoveries : TcpStat::kRenoRecoveries);
    }
  }
}

void TcpStack::Impl::enter_loss(Tcb& t) {
  const std::uint32_t mss = payload_mss(t);
  // Linux tcp_enter_loss: the threshold is cut once per loss episode (the controller knows);
  // every timeout restarts from one segment and resends everything not SACKed.
  t.cc.on_timeout(mss, timers.now());
  t.recovery = Recovery::kLoss;
  t.tlp_pending = false;
  t.recovery_point = t.snd_nxt;
  t.rxt_next = t.snd_una;
  t.rxt_head_due = true;
  t.dupacks = 0;
  stats.inc(TcpStat::kTimeouts);
}

}  // namespace synwave::tcp
