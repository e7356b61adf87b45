// Half-open connections kept as records (syn_queue.h), as Linux keeps request socks: a SYN the
// listener answers with state costs one 64-byte record and a table entry; the full Tcb is built
// when the handshake completes, or when a segment needs the whole state machine (data, FIN, an
// in-window RST that is not exact, a bad ACK...): promote() hands it to input_synchronized()
// with the same table entry and the same retransmission instant, so every SYN_RCVD rule of
// input.cc holds unchanged. The record itself answers only what must stay cheap under a flood:
// a retransmitted SYN (the same SYN-ACK again), an exact RST (the entry goes), a RST outside the
// window (ignored), a third ACK that meets a full accept queue (seed 004: kept, retransmitted).
//
// SYN-ACK retransmission (Linux reqsk_timer_handler with tcp_synack_retries): 1, 3, 7, 15, 31 s
// after the first, then the record is dropped silently at 63 s; one TimerNode for the whole
// stack, armed at the schedule's earliest deadline.
#include <algorithm>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr std::uint32_t kMaxUnscaledWindow = 65535;

void count_transition(std::array<Counter, kStateCount * kStateCount>& counts, State from, State to) {
  counts[static_cast<std::size_t>(from) * kStateCount + static_cast<std::size_t>(to)].inc();
}

}  // namespace

std::uint16_t TcpStack::Impl::synack_window(std::uint16_t adv_mss, bool ts_ok) {
  // 65535 rounded down to whole segments of payload (Linux tcp_select_initial_window).
  const std::uint32_t payload = adv_mss - (ts_ok ? 12u : 0u);
  return static_cast<std::uint16_t>(kMaxUnscaledWindow / payload * payload);
}

wire::TcpOptions TcpStack::Impl::synack_options(std::uint16_t adv_mss, bool sack_ok, bool ws_ok,
                                                std::optional<wire::TcpTimestamps> timestamps) const {
  // Only what the SYN offered, in Linux's layout (<mss, nop, nop, sackOK, nop, wscale> or with
  // timestamps <mss, sackOK, TS, nop, wscale>; wire::TcpOptions lays them out).
  wire::TcpOptions options;
  options.mss = adv_mss;
  options.sack_permitted = sack_ok;
  options.timestamps = timestamps;
  if (ws_ok) options.window_scale = kOurWindowScale;
  return options;
}

void TcpStack::Impl::open_half(Tcb& listener, Segment& seg, std::optional<Seq> isn_override) {
  HalfOpen* record = syn_queue.allocate();
  if (record == nullptr) {
    // Every record of the stack is taken (all listeners together): answered as a full SYN queue.
    stats.inc(TcpStat::kHalfOpenExhausted);
    if (params.sysctl.tcp_syncookies == 0) {
      stats.inc(TcpStat::kReqQFullDrop);
      drops.inc(TcpDrop::kListenDrops);
      return;
    }
    stats.inc(TcpStat::kReqQFullDoCookies);
    send_cookie_synack(listener, seg);
    return;
  }
  HalfOpen& r = *record;
  r.tuple = FourTuple{.local = seg.dst, .remote = seg.src, .local_port = seg.tcp.dst_port(),
                      .remote_port = seg.tcp.src_port()};
  if (connections->insert(r.tuple, TableEntry::tag(record)) != TableResult::kOk) {
    syn_queue.release(r);
    drops.inc(TcpDrop::kNoBuffer);
    return;
  }
  const SynNegotiation n = negotiate_syn(seg, listener.user_mss);
  r.adv_mss = n.adv_mss;
  r.peer_mss = n.peer_mss;
  r.ws_ok = n.ws_ok;
  r.snd_wscale = n.snd_wscale;
  r.sack_ok = n.sack_ok;
  r.ts_ok = n.ts_ok;
  r.ts_recent = n.ts_recent;
  r.listener = listener.index;
  r.irs = seg.seq;
  r.peer_window = seg.window;  // never scaled in a SYN (RFC 7323 2.2)
  const Instant now = timers.now();
  r.iss = isn_override ? *isn_override
                       : isn.next(r.tuple.local, r.tuple.local_port, r.tuple.remote, r.tuple.remote_port, now);
  r.ts_offset = isn.ts_offset(r.tuple.local, r.tuple.remote);
  r.rtt_valid = true;
  ++listener.syn_queue_len;
  ++listener.syn_queue_young;
  count_transition(transition_counts, State::kClosed, State::kSynReceived);
  stats.inc(TcpStat::kPassiveOpens);
  send_synack(r);
  syn_queue.schedule(r, now);
  // The timer is always at the earliest deadline: only a new record due sooner moves it (per SYN,
  // no walk over the lists).
  if (!synack_timer.armed() || r.deadline < synack_timer.deadline()) timers.arm_at(synack_timer, r.deadline);
}

void TcpStack::Impl::send_synack(const HalfOpen& r) {
  std::optional<wire::TcpTimestamps> ts;
  if (r.ts_ok) {
    const auto clock = static_cast<std::uint32_t>(to_ms(timers.now().time_since_epoch()));
    ts = wire::TcpTimestamps{clock + r.ts_offset, r.ts_recent};
  }
  emit_raw(r.tuple, wire::TcpFlags::kSyn | wire::TcpFlags::kAck, r.iss, r.irs + 1u, synack_window(r.adv_mss, r.ts_ok),
           synack_options(r.adv_mss, r.sack_ok, r.ws_ok, ts), nullptr, 0, 0);
}

void TcpStack::Impl::input_half_open(HalfOpen& r, Segment& seg) {
  const Seq rcv_nxt = r.irs + 1u;
  const wire::TcpFlags f = seg.flags;
  // A retransmitted SYN: the same SYN-ACK again (Linux tcp_check_req); its ACK no longer times
  // the round trip (Karn).
  if (f.syn() && !f.ack() && !f.rst() && seg.seq == r.irs) {
    r.rtt_valid = false;
    send_synack(r);
    return;
  }
  if (f.rst()) {
    // RFC 5961 3.2 as for any SYN_RCVD entry: exact → the entry goes (back to LISTEN); outside
    // the window → ignored; in the window but not exact → the Tcb's challenge ACK, below.
    if (seg.seq == rcv_nxt) {
      stats.inc(TcpStat::kResetsReceived);
      drop_half_open(r);
      return;
    }
    if (!seq_in_window(seg.seq, rcv_nxt, synack_window(r.adv_mss, r.ts_ok))) {
      drops.inc(TcpDrop::kRstOutOfWindow);
      return;
    }
  }
  Tcb& listener = slab[r.listener];
  const bool third_ack = f.ack() && !f.syn() && !f.rst() && seg.seq == rcv_nxt && seg.ack == r.iss + 1u;
  const bool paws_ok = !r.ts_ok || !seg.options.timestamps ||
                       static_cast<std::int32_t>(seg.options.timestamps->val - r.ts_recent) >= 0;
  if (third_ack && paws_ok && accept_queue_full(listener)) {
    if (third_ack_overflowed(seg)) drop_half_open(r);
    else r.acked_while_full = true;
    return;
  }
  Tcb* child = promote(r);
  if (child == nullptr) return;  // no control block free: dropped (counted); the peer retransmits
  input_synchronized(*child, seg);
}

Tcb* TcpStack::Impl::make_child(Tcb& listener, const HalfOpen& h, bool from_record) {
  Tcb* child = allocate();
  if (child == nullptr) {
    drops.inc(TcpDrop::kNoBuffer);
    return nullptr;
  }
  child->tuple = h.tuple;
  // A record's table entry changes hands in place (one store, no erase and insert); a cookie's
  // connection gets a new one.
  const TableResult hashed = from_record ? connections->replace(child->tuple, child)
                                         : connections->insert(child->tuple, child);
  if (hashed != TableResult::kOk) {
    release(*child);
    drops.inc(TcpDrop::kNoBuffer);
    return nullptr;
  }
  child->hashed = true;
  // The child shares the listener's port (Linux inet_inherit_port) and its SO_REUSEADDR.
  child->reuse_addr = listener.reuse_addr;
  link_port(*child, child->tuple.local_port);
  child->listener = listener.index;
  child->user_mss = listener.user_mss;
  // The connection as the SYN and our SYN-ACK made it.
  child->adv_mss = h.adv_mss;
  child->mss = h.peer_mss;
  child->ws_ok = h.ws_ok;
  child->snd_wscale = h.snd_wscale;
  child->rcv_wscale = h.ws_ok ? kOurWindowScale : std::uint8_t{0};
  child->sack_ok = h.sack_ok;
  child->ts_ok = h.ts_ok;
  child->ts_recent = h.ts_recent;
  child->ts_recent_stamp = timers.now();
  child->ts_offset = h.ts_offset;
  child->irs = h.irs;
  child->rcv_nxt = h.irs + 1u;
  child->iss = h.iss;
  child->snd_una = h.iss;
  child->snd_nxt = h.iss + 1u;
  child->snd_wnd = h.peer_window;
  child->max_snd_wnd = h.peer_window;
  child->snd_wl1 = h.irs;
  const std::uint16_t window = synack_window(h.adv_mss, h.ts_ok);
  child->rcv_wnd = window;
  child->rcv_adv = child->rcv_nxt + static_cast<std::uint32_t>(window);
  child->rcv_acked = child->rcv_nxt;
  if (from_record) {
    child->state = State::kSynReceived;  // the record was counted in SYN_RCVD already
    publish(*child);
  } else {
    set_state(*child, State::kSynReceived);
  }
  return child;
}

Tcb* TcpStack::Impl::promote(HalfOpen& r) {
  Tcb& listener = slab[r.listener];
  Tcb* child = make_child(listener, r, /*from_record=*/true);
  if (child == nullptr) return nullptr;  // the record keeps its entry
  child->in_syn_queue = true;  // the record's place in listener.syn_queue_len passes to it
  child->acked_while_full = r.acked_while_full;
  // Same schedule: the next SYN-ACK retransmission (or the end) at the record's deadline.
  child->retransmits = r.retransmits;
  child->rto = SynQueue::wait_after(r.retransmits);
  child->rtt_timing = r.rtt_valid && r.retransmits == 0;
  child->rtt_start = r.deadline - SynQueue::kInitialRto;
  child->rtx_kind = RtxTimer::kRetransmit;
  timers.arm_at(child->rtx_timer, r.deadline);
  if (r.retransmits == 0 && listener.syn_queue_young > 0) --listener.syn_queue_young;
  syn_queue.release(r);
  publish(*child);
  return child;
}

void TcpStack::Impl::drop_half_open(HalfOpen& r) {
  connections->erase(r.tuple);
  Tcb& listener = slab[r.listener];
  if (listener.syn_queue_len > 0) --listener.syn_queue_len;
  if (r.retransmits == 0 && listener.syn_queue_young > 0) --listener.syn_queue_young;
  count_transition(transition_counts, State::kSynReceived, State::kClosed);
  syn_queue.release(r);
}

void TcpStack::Impl::drop_half_opens_of(const Tcb& listener) {
  if (listener.syn_queue_len == 0) return;
  for (std::uint32_t i = 0; i < syn_queue.capacity(); ++i) {
    HalfOpen& r = syn_queue.at(i);
    if (!r.in_use || r.listener != listener.index) continue;
    // As for a SYN_RCVD child of a closing listener: RST with our SND.NXT.
    emit_raw(r.tuple, wire::TcpFlags::kRst | wire::TcpFlags::kAck, r.iss + 1u, r.irs + 1u, 0, wire::TcpOptions{},
             nullptr, 0, 0);
    drop_half_open(r);
  }
}

void TcpStack::Impl::arm_synack_timer() {
  const std::optional<Instant> next = syn_queue.next_deadline();
  if (!next) {
    timers.cancel(synack_timer);
    return;
  }
  if (!synack_timer.armed() || synack_timer.deadline() != *next) timers.arm_at(synack_timer, *next);
}

void TcpStack::Impl::synack_expired(void* impl, TimerNode&, Instant now) {
  static_cast<Impl*>(impl)->on_synack_timer(now);
}

unsigned TcpStack::Impl::synack_retry_limit(const Tcb& listener) const {
  // Linux reqsk_timer_handler: while the SYN queue is more than half full, half of it is kept for
  // young entries (never retransmitted) and old ones get fewer retries: one less each time the
  // queue holds twice as many entries as young ones, and never fewer than 2. A flood's entries,
  // which no ACK ever completes, then go after 7 s instead of 63 s. Linux compares with the listen
  // backlog, which bounds its request queue; synwave's SYN queue is bounded by tcp_max_syn_backlog.
  unsigned limit = params.sysctl.tcp_synack_retries;
  const std::uint64_t queued = listener.syn_queue_len;
  if (queued * 2 > std::max<std::uint64_t>(8, params.sysctl.tcp_max_syn_backlog)) {
    std::uint64_t young = std::uint64_t{listener.syn_queue_young} * 2;
    while (limit > 2 && queued >= young) {
      --limit;
      young *= 2;
    }
  }
  return limit;
}

void TcpStack::Impl::on_synack_timer(Instant now) {
  while (HalfOpen* r = syn_queue.take_due(now)) {
    Tcb& listener = slab[r->listener];
    if (r->retransmits >= synack_retry_limit(listener)) {
      // Out of retries (or pruned): Linux drops the request silently.
      stats.inc(TcpStat::kAttemptFails);
      drop_half_open(*r);
      continue;
    }
    if (r->retransmits == 0 && listener.syn_queue_young > 0) --listener.syn_queue_young;
    ++r->retransmits;
    r->rtt_valid = false;
    stats.inc(TcpStat::kRetransmits);
    send_synack(*r);
    syn_queue.schedule(*r, now);
  }
  arm_synack_timer();
}

}  // namespace synwave::tcp
