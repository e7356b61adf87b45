// Segment arrival: RFC 9293 section 3.10.7 ("SEGMENT ARRIVES"), with RFC 5961's defences and the
// Linux behaviour of ../shared/docs/behaviour.md. Each state's handler cites the clause it follows.
#include <algorithm>
#include <cerrno>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {

void TcpStack::Impl::input(rte_mbuf* packet, const wire::Ipv4View& ip) {
  stats.inc(TcpStat::kSegmentsIn);
  const bool checksum_good = (packet->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  auto tcp = wire::TcpView::parse(ip.payload(), ip.src(), ip.dst(),
                                  checksum_good ? wire::ChecksumCheck::kSkip : wire::ChecksumCheck::kVerify);
  if (!tcp) {
    header_errors.inc(tcp.error());
    rte_pktmbuf_free(packet);
    return;
  }
  Segment seg;
  seg.tcp = *tcp;
  std::optional<wire::TcpOptionError> option_error;
  // Like Linux, stop reading options at the first malformed one and keep the segment.
  seg.options = wire::parse_tcp_options_lenient(tcp->options(), &option_error);
  if (option_error) drops.inc(TcpDrop::kBadOptions);
  seg.src = ip.src();
  seg.dst = ip.dst();
  seg.seq = Seq(tcp->seq());
  seg.ack = Seq(tcp->ack());
  seg.flags = tcp->flags();
  seg.payload_len = static_cast<std::uint32_t>(tcp->payload().size());
  seg.len = static_cast<std::uint32_t>(tcp->seq_len());
  seg.window = tcp->window();
  seg.mbuf = packet;
  seg.payload_offset = static_cast<std::size_t>(tcp->payload().data() - rte_pktmbuf_mtod(packet, const std::uint8_t*));

  const FourTuple tuple{.local = seg.dst, .remote = seg.src, .local_port = tcp->dst_port(),
                        .remote_port = tcp->src_port()};
  const TableEntry entry = find(tuple);
  if (entry.half_open != nullptr) {
    input_half_open(*entry.half_open, seg);
  } else if (Tcb* t = entry.tcb) {
    switch (t->state) {
      case State::kSynSent: input_syn_sent(*t, seg); break;
      case State::kTimeWait: input_time_wait(*t, seg); break;
      default: input_synchronized(*t, seg); break;
    }
  } else if (const std::uint32_t l = listener_by_port[tuple.local_port];
             l != kNoIndex && (slab[l].tuple.local.value == 0 || slab[l].tuple.local == seg.dst)) {
    input_listen(slab[l], seg);
  } else {
    drops.inc(TcpDrop::kNoSocket);
    send_rst_for(seg);
  }
  if (!seg.taken) rte_pktmbuf_free(packet);
}

// RFC 9293 3.10.7.2: LISTEN.
void TcpStack::Impl::input_listen(Tcb& listener, Segment& seg, std::optional<Seq> isn_override) {
  if (seg.flags.rst()) return;  // "An incoming RST should be ignored"
  if (seg.flags.ack()) {
    // An ACK with no half-open entry. It may complete a handshake answered with a SYN cookie
    // (Linux tcp_v4_cookie_check, for segments without SYN).
    if (!seg.flags.syn() && cookie_ack(listener, seg) == CookieVerdict::kConsumed) return;
    // Otherwise the entry expired, or never was, or the cookie failed: Linux resets it
    // (seed 004: data sent after the server dropped the half-open entry meets a RST).
    drops.inc(TcpDrop::kNoSocket);
    send_rst_for(seg);
    return;
  }
  if (!seg.flags.syn()) return;
  if (seg.flags.fin()) {
    drops.inc(TcpDrop::kSynFin);  // Linux discards SYN+FIN in LISTEN
    return;
  }
  // Linux tcp_conn_request, in its order. A full SYN queue (or tcp_syncookies=2) means a cookie,
  // or with tcp_syncookies=0 a dropped SYN; a SYN that recycles a TIME_WAIT entry is exempt ("TW
  // buckets are converted to open requests without limitations").
  bool want_cookie = false;
  if (!isn_override && (params.sysctl.tcp_syncookies == 2 ||
                        listener.syn_queue_len >= params.sysctl.tcp_max_syn_backlog)) {
    if (params.sysctl.tcp_syncookies == 0) {
      stats.inc(TcpStat::kReqQFullDrop);
      drops.inc(TcpDrop::kListenDrops);
      return;
    }
    stats.inc(TcpStat::kReqQFullDoCookies);
    want_cookie = true;
  }
  // A full accept queue drops the SYN silently, cookie or not; the client retries.
  if (accept_queue_full(listener)) {
    stats.inc(TcpStat::kListenOverflows);
    drops.inc(TcpDrop::kListenDrops);
    return;
  }
  if (want_cookie) {
    send_cookie_synack(listener, seg);
    return;
  }
  open_half(listener, seg, isn_override);
}

std::uint16_t TcpStack::Impl::announced_mss(std::uint16_t user_mss) const {
  const auto mss = static_cast<std::uint16_t>(params.mtu - 40);
  return user_mss != 0 ? std::min(mss, user_mss) : mss;
}

std::uint16_t TcpStack::Impl::clamp_peer_mss(std::uint16_t offered, std::uint16_t adv_mss) {
  // Linux never sends segments smaller than tcp_min_snd_mss (48) plus options: a hostile MSS must
  // not make us loop on empty segments.
  constexpr std::uint16_t kMinSndMss = 48 + 40;
  return std::clamp<std::uint16_t>(offered, std::min<std::uint16_t>(kMinSndMss, adv_mss), adv_mss);
}

SynNegotiation TcpStack::Impl::negotiate_syn(const Segment& seg, std::uint16_t user_mss) const {
  const wire::TcpOptions& o = seg.options;
  SynNegotiation n;
  n.adv_mss = announced_mss(user_mss);
  // Linux ignores an MSS of 0: 536, as without the option.
  n.peer_mss = clamp_peer_mss(o.mss && *o.mss != 0 ? *o.mss : 536, n.adv_mss);
  n.ws_ok = o.window_scale && params.sysctl.tcp_window_scaling;
  n.snd_wscale = n.ws_ok ? std::min(*o.window_scale, kMaxWindowScale) : std::uint8_t{0};
  n.sack_ok = o.sack_permitted && params.sysctl.tcp_sack;
  n.ts_ok = o.timestamps && params.sysctl.tcp_timestamps;
  n.ts_recent = n.ts_ok ? o.timestamps->val : 0;
  return n;
}

void TcpStack::Impl::apply_syn_options(Tcb& t, const Segment& seg) {
  const SynNegotiation n = negotiate_syn(seg, t.user_mss);
  t.adv_mss = n.adv_mss;
  t.mss = n.peer_mss;
  t.ws_ok = n.ws_ok;
  t.snd_wscale = n.snd_wscale;
  t.rcv_wscale = n.ws_ok ? kOurWindowScale : std::uint8_t{0};
  t.sack_ok = n.sack_ok;
  t.ts_ok = n.ts_ok;
  if (n.ts_ok) {
    t.ts_recent = n.ts_recent;
    t.ts_recent_stamp = timers.now();
  }
}

// RFC 9293 3.10.7.3: SYN-SENT.
void TcpStack::Impl::input_syn_sent(Tcb& t, Segment& seg) {
  // First: the ACK bit.
  if (seg.flags.ack() && (seg.ack <= t.iss || seg.ack > t.snd_nxt)) {
    drops.inc(TcpDrop::kBadAck);
    if (!seg.flags.rst()) send_rst_for(seg);
    return;
  }
  // Second: the RST bit. Only a RST acknowledging our SYN refuses the connection.
  if (seg.flags.rst()) {
    if (seg.flags.ack()) {
      stats.inc(TcpStat::kResetsReceived);
      stats.inc(TcpStat::kAttemptFails);
      finish(t, ECONNREFUSED);
    }
    return;
  }
  // Fourth: the SYN bit.
  if (!seg.flags.syn()) return;
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1u;
  const std::uint16_t user_mss = t.user_mss;
  apply_syn_options(t, seg);
  t.user_mss = user_mss;
  t.rcv_adv = t.rcv_nxt + t.rcv_wnd;  // our SYN's window, unscaled
  t.rcv_acked = t.rcv_nxt;
  if (seg.flags.ack()) {
    t.snd_una = seg.ack;
    t.snd_wnd = seg.window;  // unscaled in a SYN-ACK
    t.max_snd_wnd = seg.window;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    if (t.rtt_timing && t.retransmits == 0) rtt_sample(t, timers.now() - t.rtt_start);
    t.rtt_timing = false;
    send_ack(t);  // the third segment of the handshake, before anything established() sends
    established(t);
    return;
  }
  // Simultaneous open: both sent SYNs. Answer with SYN-ACK, same ISS, and wait for its ACK.
  t.retransmits = 0;
  timers.cancel(t.rtx_timer);
  set_state(t, State::kSynReceived);
  t.snd_nxt = t.iss;
  send_syn(t);
}

// RFC 9293 3.10.7.4, first check: is the segment acceptable?
bool TcpStack::Impl::acceptable(const Tcb& t, const Segment& seg) const {
  const std::uint32_t wnd = receive_window(t);
  if (seg.len == 0) {
    if (wnd == 0) return seg.seq == t.rcv_nxt;
    return seq_in_window(seg.seq, t.rcv_nxt, wnd);
  }
  if (wnd == 0) return false;
  return seq_in_window(seg.seq, t.rcv_nxt, wnd) || seq_in_window(seg.seq + (seg.len - 1), t.rcv_nxt, wnd);
}

// RFC 9293 3.10.7.4: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK.
void TcpStack::Impl::input_synchronized(Tcb& t, Segment& seg) {
  // A retransmitted SYN for a half-open entry: Linux answers with the SYN-ACK again.
  if (t.state == State::kSynReceived && seg.flags.syn() && !seg.flags.ack() && !seg.flags.rst() &&
      seg.seq == t.irs) {
    t.snd_nxt = t.iss;
    send_syn(t);
    t.rtt_timing = false;  // Karn: the ACK may answer either SYN-ACK
    return;
  }
  // Simultaneous open (Linux tcp_validate_incoming): the peer's SYN-ACK repeats its SYN and
  // acknowledges ours; take it as the ACK that completes the handshake.
  const bool crossing_synack = t.state == State::kSynReceived && t.listener == kNoIndex && seg.flags.syn() &&
                               seg.flags.ack() && !seg.flags.rst() && seg.seq + 1u == t.rcv_nxt &&
                               seg.ack == t.snd_nxt;
  if (crossing_synack) {
    seg.flags.bits = static_cast<std::uint8_t>(seg.flags.bits & ~wire::TcpFlags::kSyn);
    seg.seq = t.rcv_nxt;
    seg.len = seg.payload_len + (seg.flags.fin() ? 1u : 0u);
  }
  // RFC 7323 5.3: PAWS, before the sequence number check.
  if (paws_reject(t, seg)) return;
  // First: sequence number.
  if (!acceptable(t, seg)) {
    if (seg.flags.rst()) {
      drops.inc(TcpDrop::kRstOutOfWindow);
      return;
    }
    if (seg.payload_len > 0 && seg.seq + seg.payload_len <= t.rcv_nxt) {
      // Data we have: the peer missed our ACK or retransmitted early. Linux tcp_send_dupack
      // reports it with a D-SACK (RFC 2883) so the peer can tell.
      drops.inc(TcpDrop::kDuplicateData);
      if (t.sack_ok) {
        t.ooo.set_dsack(SackBlock{seg.seq, seg.seq + seg.payload_len});
        stats.inc(TcpStat::kDsacksSent);
      }
    } else {
      drops.inc(TcpDrop::kOutOfWindow);
    }
    if (!oow_rate_limited(t, seg)) send_ack(t);
    return;
  }
  // Second: RST (RFC 5961 3.2: only an exact match resets; others get a challenge ACK).
  if (seg.flags.rst()) {
    if (seg.seq != t.rcv_nxt) {
      if (!oow_rate_limited(t, seg)) send_challenge_ack(t);
      return;
    }
    handle_rst(t, seg);
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
  if (seg.flags.syn()) {
    drops.inc(TcpDrop::kSynInWindow);
    if (!oow_rate_limited(t, seg)) send_challenge_ack(t);
    return;
  }
  // RFC 7323 4.3: remember the peer's latest TSval, echoed in our TSecr: a newer one from a
  // segment that starts at or before the last ACK we sent.
  if (t.ts_ok && seg.options.timestamps && seg.seq <= t.rcv_acked &&
      static_cast<std::int32_t>(seg.options.timestamps->val - t.ts_recent) >= 0) {
    t.ts_recent = seg.options.timestamps->val;
    t.ts_recent_stamp = timers.now();
  }
  t.last_recv = timers.now();
  // Fifth: the ACK field.
  if (!seg.flags.ack()) {
    drops.inc(TcpDrop::kNoAck);
    return;
  }
  if (t.state == State::kSynReceived) {
    if (seg.ack <= t.snd_una || seg.ack > t.snd_nxt) {
      drops.inc(TcpDrop::kBadAck);
      send_rst_for(seg);
      return;
    }
    if (t.listener != kNoIndex) {
      Tcb& listener = slab[t.listener];
      if (accept_queue_full(listener)) {
        if (third_ack_overflowed(seg)) release(t);
        else t.acked_while_full = true;
        return;
      }
    }
    t.snd_una = seg.ack;
    t.snd_wnd = seg.window << t.snd_wscale;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    if (t.rtt_timing && t.retransmits == 0) rtt_sample(t, timers.now() - t.rtt_start);
    t.rtt_timing = false;
    established(t);
  }
  if (!handle_ack(t, seg)) return;
  if (!t.in_use || t.state == State::kClosed) return;  // LAST_ACK completed

  // Seventh: segment text.
  if (seg.payload_len > 0) {
    handle_payload(t, seg);
    if (!t.in_use || t.state == State::kClosed) return;
  }
  // Eighth: FIN.
  if (seg.flags.fin()) handle_fin(t, seg);
}

void TcpStack::Impl::handle_rst(Tcb& t, const Segment&) {
  stats.inc(TcpStat::kResetsReceived);
  switch (t.state) {
    case State::kSynReceived:
      // Passive: back to LISTEN, i.e. the half-open entry goes. Active (simultaneous open): refused.
      if (t.listener != kNoIndex) {
        release(t);
      } else {
        stats.inc(TcpStat::kAttemptFails);
        finish(t, ECONNREFUSED);
      }
      return;
    case State::kEstablished:
    case State::kCloseWait:
    case State::kFinWait1:
    case State::kFinWait2:
      finish(t, ECONNRESET);
      return;
    default:  // CLOSING, LAST_ACK: the connection simply ends
      finish(t, 0);
      return;
  }
}

// RFC 9293 3.10.7.4, fifth check, for the synchronized states. Returns false when the segment
// is to be dropped.
bool TcpStack::Impl::handle_ack(Tcb& t, const Segment& seg) {
  if (seg.ack > t.snd_nxt) {
    // Acknowledges something not yet sent: ACK and drop.
    drops.inc(TcpDrop::kBadAck);
    send_ack(t);
    return false;
  }
  if (seg.ack < t.snd_una - t.max_snd_wnd) {
    // RFC 5961 5.2: an ACK older than any window we were offered is not from the peer.
    drops.inc(TcpDrop::kOldAck);
    if (!oow_rate_limited(t, seg)) send_challenge_ack(t);
    return false;
  }
  // Window update (RFC 9293 3.10.7.4, SND.WL1/SND.WL2 rule), then the ACK's news for our data.
  const std::uint32_t window_before = t.snd_wnd;
  if (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack)) {
    t.snd_wnd = seg.window << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
  }
  ack_data(t, seg, t.snd_wnd != window_before);
  if (t.snd_wnd > 0 && t.rtx_kind == RtxTimer::kPersist && t.rtx_timer.armed()) {
    timers.cancel(t.rtx_timer);  // the window opened: push_data sends and times it
    t.probes = 0;
  }
  const bool our_fin_acked = t.fin_sent && t.snd_una == t.fin_seq + 1u;
  switch (t.state) {
    case State::kFinWait1:
      if (our_fin_acked) {
        set_state(t, State::kFinWait2);
        // An orphan waits at most tcp_fin_timeout for the peer's FIN; a half-closed socket
        // (shutdown(SHUT_WR), still open) waits as long as it takes.
        if (t.orphan)
          arm_state_timer(t, StateTimer::kFinWait2, std::chrono::seconds(params.sysctl.tcp_fin_timeout));
      }
      break;
    case State::kClosing:
      if (our_fin_acked) enter_time_wait(t);
      break;
    case State::kLastAck:
      if (our_fin_acked) {
        finish(t, 0);
        return false;
      }
      break;
    default: break;
  }
  push_data(t);  // the window may have opened
  publish(t);
  update_readiness(t);
  return true;
}

// RFC 9293 3.10.7.4, eighth check.
void TcpStack::Impl::handle_fin(Tcb& t, const Segment& seg) {
  const Seq fin = seg.seq + seg.payload_len;
  if (fin != t.rcv_nxt) {
    if (fin < t.rcv_nxt) {
      if (fin_received(t.state)) send_ack(t);  // a retransmitted FIN
    } else if (can_receive_data(t.state)) {
      // Beyond a hole: remember it for when the hole fills, and say what is missing.
      t.ooo_fin = true;
      t.ooo_fin_seq = fin;
      send_ack(t);
    }
    return;
  }
  fin_arrived(t);
}

void TcpStack::Impl::fin_arrived(Tcb& t) {
  t.rcv_nxt += 1u;
  switch (t.state) {
    case State::kSynReceived:
    case State::kEstablished:
      set_state(t, State::kCloseWait);
      break;
    case State::kFinWait1:
      // Our FIN not yet acknowledged (else handle_ack moved us on): both closed at once.
      set_state(t, State::kClosing);
      break;
    case State::kFinWait2:
      send_ack(t);
      enter_time_wait(t);
      return;
    default: break;
  }
  send_ack(t);
  update_readiness(t);
}

void TcpStack::Impl::established(Tcb& t) {
  // RFC 6298 5.7: after a retransmitted handshake (no RTT sample), data starts with RTO 3 s.
  if (!t.rtt_measured) t.rto = std::chrono::seconds(3);
  t.retransmits = 0;
  tcp_init_transfer(t);
  if (t.snd_una == t.snd_nxt) timers.cancel(t.rtx_timer);
  const bool passive = t.listener != kNoIndex;
  set_state(t, State::kEstablished);
  if (passive) {
    accept_enqueue(slab[t.listener], t);
  } else {
    t.connected_edge = true;
    update_readiness(t);
  }
  if (t.fin_requested) {
    // shutdown(SHUT_WR) before the handshake completed: the FIN goes now.
    set_state(t, State::kFinWait1);
    push_data(t);
  }
}

// TIME_WAIT (RFC 9293 3.10.7.4 and Linux tcp_timewait_state_process).
void TcpStack::Impl::input_time_wait(Tcb& t, Segment& seg) {
  if (seg.flags.rst()) {
    // Linux with tcp_rfc1337=0: an in-window RST ends TIME_WAIT early.
    if (seg.seq == t.rcv_nxt) finish(t, 0);
    return;
  }
  if (seg.flags.syn() && !seg.flags.ack()) {
    // RFC 6191: a new SYN beyond the old connection's sequence space (or with a newer timestamp)
    // may reopen the 4-tuple; its ISN follows the old connection's.
    const bool newer_ts = t.ts_ok && seg.options.timestamps &&
                          static_cast<std::int32_t>(seg.options.timestamps->val - t.ts_recent) > 0;
    const std::uint16_t port = t.tuple.local_port;
    if ((seg.seq > t.rcv_nxt || newer_ts) && t.orphan && listener_by_port[port] != kNoIndex) {
      const Seq next_isn = t.snd_nxt + 65535u + 2u;
      stats.inc(TcpStat::kTimeWaitRecycled);
      release(t);
      input_listen(slab[listener_by_port[port]], seg, next_isn);
      return;
    }
    send_ack(t);
    return;
  }
  if (seg.flags.fin() && seg.seq + seg.payload_len + 1u == t.rcv_nxt) {
    // The peer did not hear our last ACK: send it again and restart the 2MSL wait.
    send_ack(t);
    enter_time_wait(t);
    return;
  }
  if (!acceptable(t, seg)) send_ack(t);
}

}  // namespace synwave::tcp
