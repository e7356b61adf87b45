// Incoming data (RFC 9293 3.10.7.4, seventh check) and what answers it: trimming to RCV.NXT and
// to the right edge we announced, the out-of-order queue with SACK and D-SACK blocks (RFC 2018,
// RFC 2883), PAWS (RFC 7323 5.3), the window we announce (scaled, never shrinking, receiver-side
// silly-window avoidance), window updates after reads, and Linux's delayed ACK.
#include <algorithm>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr Duration kDelayedAckTime = std::chrono::milliseconds(40);  // Linux TCP_DELACK_MIN
constexpr std::uint8_t kMaxQuickAcks = 16;                           // Linux TCP_MAX_QUICKACKS
constexpr std::uint32_t kMaxUnscaledWindow = 65535;
// In-order payload this small is copied into the tail of the receive queue instead of keeping its
// own mbuf: a peer sending tiny segments cannot pin one 2 KiB buffer per byte (Linux collapses).
constexpr std::uint32_t kCompactBelow = 512;
// RFC 7323 5.5: a TS.Recent older than 24 days is no longer a reference.
constexpr Duration kPawsIdleLimit = std::chrono::hours(24 * 24);
constexpr std::int32_t kPawsWindow = 1;  // Linux TCP_PAWS_WINDOW

// Linux tcp_disordered_ack: a pure duplicate ACK at RCV.NXT that would not update the send window
// and whose TSval trails TS.Recent by at most about one RTO was only reordered with the segment
// that set TS.Recent; PAWS lets it through (it still counts as a duplicate ACK).
bool disordered_ack(const Tcb& t, const Segment& seg) {
  if (!seg.flags.ack() || seg.len != 0 || seg.seq != t.rcv_nxt || seg.ack != t.snd_una) return false;
  const std::uint32_t window = seg.window << t.snd_wscale;
  // Linux tcp_may_update_window.
  if (seg.ack > t.snd_una || seg.seq > t.snd_wl1 || (seg.seq == t.snd_wl1 && (window > t.snd_wnd || t.snd_wnd == 0)))
    return false;
  // icsk_rto * 1024 / HZ: the RTO in timestamp ticks (ours are milliseconds).
  const auto rto_ticks = static_cast<std::int64_t>(to_ms(t.rto)) * 1024 / 1000;
  return static_cast<std::int32_t>(t.ts_recent - seg.options.timestamps->val) <= rto_ticks;
}

}  // namespace

bool TcpStack::Impl::paws_reject(Tcb& t, const Segment& seg) {
  if (!t.ts_ok || !seg.options.timestamps || seg.flags.rst()) return false;
  // Linux tcp_paws_check with TCP_PAWS_WINDOW = 1 on an established connection: a TSval one tick
  // older than TS.Recent still passes; a TS.Recent of 0 is no reference.
  if (static_cast<std::int32_t>(t.ts_recent - seg.options.timestamps->val) <= kPawsWindow) return false;
  if (t.ts_recent == 0) return false;
  if (timers.now() - t.ts_recent_stamp > kPawsIdleLimit) return false;
  if (disordered_ack(t, seg)) return false;
  drops.inc(TcpDrop::kPaws);
  if (!oow_rate_limited(t, seg)) send_ack(t);
  return true;
}

std::uint32_t TcpStack::Impl::receive_window(const Tcb& t) const {
  const std::int32_t w = static_cast<std::int32_t>(t.rcv_adv - t.rcv_nxt);
  return w > 0 ? static_cast<std::uint32_t>(w) : 0;
}

std::uint32_t TcpStack::Impl::receive_space(const Tcb& t) const {
  const std::size_t used = t.recv_queue.bytes() + t.ooo.bytes();
  return t.rcv_buf > used ? static_cast<std::uint32_t>(t.rcv_buf - used) : 0;
}

std::uint16_t TcpStack::Impl::window_to_announce(Tcb& t) {
  const std::uint32_t current = receive_window(t);
  std::uint32_t window = receive_space(t);
  // Receiver-side silly-window avoidance (RFC 9293 3.8.6.2.2): move the right edge only by at
  // least min(half the buffer, one MSS). Never move it left (RFC 7323 2.4).
  const std::uint32_t step = std::min<std::uint32_t>(t.rcv_buf / 2, t.adv_mss);
  if (window < current || window - current < step) window = current;
  // Scaling rounds down: the edge the peer sees may fall short of RCV.ADV by less than one unit
  // of scale (RFC 7323 2.4); we still take data up to RCV.ADV. Rounding up instead would creep
  // past the buffer by a little on every ACK.
  const std::uint32_t scaled = std::min<std::uint32_t>(window >> t.rcv_wscale, kMaxUnscaledWindow);
  t.rcv_wnd = scaled << t.rcv_wscale;
  if (t.rcv_nxt + t.rcv_wnd > t.rcv_adv) t.rcv_adv = t.rcv_nxt + t.rcv_wnd;
  return static_cast<std::uint16_t>(scaled);
}

void TcpStack::Impl::handle_payload(Tcb& t, Segment& seg) {
  if (!can_receive_data(t.state)) return;  // the peer's FIN came already: ignore
  const Seq start = seg.seq;
  const Seq end = seg.seq + seg.payload_len;
  if (end <= t.rcv_nxt) {
    // All of it arrived before: the peer missed our ACK. Say so at once, with a D-SACK.
    drops.inc(TcpDrop::kDuplicateData);
    if (t.sack_ok) {
      t.ooo.set_dsack(SackBlock{start, end});
      stats.inc(TcpStat::kDsacksSent);
    }
    t.quickacks = kMaxQuickAcks;  // Linux tcp_enter_quickack_mode on a retransmission
    // A FIN with it is new (an acceptable segment's FIN lies at or after RCV.NXT): handle_fin's
    // ACK answers both, with the D-SACK, as Linux answers once.
    if (!seg.flags.fin()) send_ack(t);
    return;
  }
  if (t.orphan) {
    // Linux (tcp_rcv_state_process, FIN_WAIT_1/2 after close()): new data nobody will read
    // resets the connection.
    stats.inc(TcpStat::kAbortOnData);
    send_rst(t);
    finish(t, ECONNRESET);
    return;
  }
  std::uint32_t skip = 0;
  if (start < t.rcv_nxt) {
    skip = static_cast<std::uint32_t>(t.rcv_nxt - start);
    if (t.sack_ok) {
      t.ooo.set_dsack(SackBlock{start, t.rcv_nxt});
      stats.inc(TcpStat::kDsacksSent);
    }
  }
  const Seq from = start + skip;
  const Seq edge = t.rcv_nxt + receive_window(t);
  if (from >= edge) {
    drops.inc(TcpDrop::kBeyondWindow);
    send_ack(t);
    return;
  }
  std::uint32_t len = seg.payload_len - skip;
  if (from + len > edge) {
    // Beyond the window we offered: trimmed, and a FIN behind it goes too.
    len = static_cast<std::uint32_t>(edge - from);
    drops.inc(TcpDrop::kBeyondWindow);
    seg.flags.bits = static_cast<std::uint8_t>(seg.flags.bits & ~wire::TcpFlags::kFin);
  }
  t.rcv_mss = static_cast<std::uint16_t>(std::max<std::uint32_t>(t.rcv_mss, std::min<std::uint32_t>(len, t.adv_mss)));

  rte_mbuf* m = seg.mbuf;
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(seg.payload_offset + skip));
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - len));

  if (from == t.rcv_nxt) {
    measure_receive_rtt(t, seg);
    if (len < kCompactBelow && t.recv_queue.tail_room() >= len) {
      t.recv_queue.append_to_tail({rte_pktmbuf_mtod(m, const std::uint8_t*), len});
    } else {
      t.recv_queue.push(m);
      seg.taken = true;
    }
    t.rcv_nxt += len;
    stats.add(TcpStat::kBytesIn, len);
    bool hole_filled = false;
    if (!t.ooo.empty()) {
      const Seq before = t.rcv_nxt;
      t.rcv_nxt = t.ooo.drain(t.rcv_nxt, t.recv_queue);
      stats.add(TcpStat::kBytesIn, static_cast<std::uint32_t>(t.rcv_nxt - before));
      hole_filled = t.rcv_nxt != before;
    }
    if (t.ooo_fin && t.rcv_nxt == t.ooo_fin_seq && t.ooo.empty()) {
      t.ooo_fin = false;
      // This segment's own FIN (a retransmission covering the hole and the FIN) is the same one:
      // handle_fin must not take or answer it again.
      seg.flags.bits = static_cast<std::uint8_t>(seg.flags.bits & ~wire::TcpFlags::kFin);
      fin_arrived(t);  // ACKs everything
    } else if (!seg.flags.fin()) {
      // An in-order FIN is ACKed by handle_fin; otherwise ACK now or a little later.
      ack_received_data(t, hole_filled || !t.ooo.empty());
    }
  } else {
    // Out of order: keep it (RFC 9293 3.10.7.4 "may be held") and ACK at once with SACK blocks,
    // which is the duplicate ACK that drives the peer's fast retransmit.
    const std::uint32_t max_segments = std::max<std::uint32_t>(16, t.rcv_buf / 1024);
    const bool fin = seg.flags.fin();
    seg.taken = true;
    const ReassemblyQueue::InsertResult r = t.ooo.insert(from, m, max_segments);
    if (r.refused) {
      drops.inc(TcpDrop::kOfoFull);
    } else if (r.new_bytes == 0) {
      drops.inc(TcpDrop::kDuplicateData);
      if (t.sack_ok) {
        t.ooo.set_dsack(SackBlock{from, from + len});
        stats.inc(TcpStat::kDsacksSent);
      }
    } else {
      stats.inc(TcpStat::kOfoQueued);
      if (fin) {
        t.ooo_fin = true;
        t.ooo_fin_seq = from + len;
      }
    }
    seg.flags.bits = static_cast<std::uint8_t>(seg.flags.bits & ~wire::TcpFlags::kFin);
    send_ack(t);
  }
  publish(t);
  update_readiness(t);
}

void TcpStack::Impl::ack_received_data(Tcb& t, bool now) {
  t.ack_pending = true;
  if (!t.data_seen) {
    // Linux tcp_incr_quickack on the first data: ACK the first segments at once so the peer's
    // slow start is not held back by our delayed ACKs.
    t.data_seen = true;
    const std::uint32_t q = t.rcv_wnd / (2u * t.rcv_mss);
    t.quickacks = static_cast<std::uint8_t>(std::clamp<std::uint32_t>(q, 2, kMaxQuickAcks));
  }
  // Linux __tcp_ack_snd_check: more than one full segment unacknowledged, quick-ACK mode, or
  // out-of-order data (or a hole just filled) means now.
  const bool two_segments = static_cast<std::uint32_t>(t.rcv_nxt - t.rcv_acked) > t.rcv_mss;
  if (now || two_segments || t.quickacks > 0) {
    if (t.quickacks > 0) --t.quickacks;
    send_ack(t);
    return;
  }
  if (!t.delack_timer.armed()) timers.arm_after(t.delack_timer, kDelayedAckTime);
}

void TcpStack::Impl::measure_receive_rtt(Tcb& t, const Segment& seg) {
  // Linux tcp_rcv_rtt_measure_ts: a full segment echoing our timestamp tells how long the round
  // trip took, seen from the receiving side (millisecond clock, at least one tick).
  if (!t.ts_ok || !seg.options.timestamps || seg.options.timestamps->ecr == 0 || seg.payload_len < t.rcv_mss) return;
  const std::uint32_t ms = ts_now(t) - seg.options.timestamps->ecr;
  if (ms >= 0x7fffffffu) return;
  const Duration sample = std::chrono::milliseconds(std::max<std::uint32_t>(ms, 1));
  t.rcv_rtt = t.rcv_rtt == Duration{0} ? sample : std::min(sample, (7 * t.rcv_rtt + sample) / 8);
}

void TcpStack::Impl::tune_receive_buffer(Tcb& t, std::size_t bytes) {
  // Linux tcp_rcv_space_adjust (dynamic right-sizing): once per receiver RTT, if the application
  // read more than in any round before, make room for twice that plus slow-start headroom, so
  // the window stays ahead of a sender that doubles every round trip.
  t.rcvq_copied += static_cast<std::uint32_t>(bytes);
  const Duration rtt = t.rcv_rtt != Duration{0} ? t.rcv_rtt : t.srtt;
  const Instant now = timers.now();
  if (t.rcv_buf_locked || rtt == Duration{0} || now - t.rcvq_time < rtt) return;
  const std::uint32_t copied = t.rcvq_copied;
  t.rcvq_copied = 0;
  t.rcvq_time = now;
  if (copied <= t.rcvq_space) return;
  std::uint64_t window = 2ull * copied + 16ull * t.adv_mss;
  if (t.rcvq_space > 0) window += 2ull * window * (copied - t.rcvq_space) / t.rcvq_space;
  t.rcvq_space = copied;
  const std::uint64_t limit = std::min(params.sysctl.tcp_rmem[2], kMaxReceiveBuffer);
  const auto buffer = static_cast<std::uint32_t>(std::min(window, limit));
  if (buffer > t.rcv_buf) t.rcv_buf = buffer;
}

void TcpStack::Impl::delack_expired(void* tcb, TimerNode&, Instant) {
  Tcb& t = *static_cast<Tcb*>(tcb);
  auto* self = static_cast<Impl*>(t.owner);
  if (!t.ack_pending || !is_synchronized(t.state)) return;
  self->stats.inc(TcpStat::kDelayedAcks);
  self->send_ack(t);
}

void TcpStack::Impl::data_read(Tcb& t, std::size_t bytes) {
  if (!can_receive_data(t.state)) return;
  tune_receive_buffer(t, bytes);
  // Linux __tcp_cleanup_rbuf: after a read, tell the peer when the window we can offer now is at
  // least twice what it still has (and the step passes silly-window avoidance).
  const std::uint32_t current = receive_window(t);
  const std::uint32_t space = receive_space(t);
  const std::uint32_t step = std::min<std::uint32_t>(t.rcv_buf / 2, t.adv_mss);
  if (2u * current > t.rcv_buf || space < current + step || space < 2u * current) return;
  stats.inc(TcpStat::kWindowUpdates);
  send_ack(t);
}

}  // namespace synwave::tcp
