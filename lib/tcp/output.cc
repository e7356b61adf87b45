// Building and sending segments, with Linux's option layouts and initial windows.
#include <algorithm>

#include "tcp/tcp_stack_impl.h"
#include "wire/ipv4.h"

namespace synwave::tcp {
namespace {

constexpr std::size_t kIpHeaderLen = 20;
constexpr std::uint32_t kMaxUnscaledWindow = 65535;

}  // namespace

std::uint32_t TcpStack::Impl::ts_now(const Tcb& t) const {
  // Linux's TCP timestamp clock ticks in milliseconds (tcp_time_stamp_raw), offset per host pair.
  return static_cast<std::uint32_t>(to_ms(timers.now().time_since_epoch())) + t.ts_offset;
}

std::uint16_t TcpStack::Impl::window_to_announce(Tcb& t) {
  const std::size_t used = t.recv_queue.bytes();
  // The free receive buffer. (Keeping the right edge from shrinking and silly-window avoidance
  // arrive with reliable transfer.)
  const std::uint32_t space = t.rcv_buf > used ? static_cast<std::uint32_t>(t.rcv_buf - used) : 0;
  const std::uint32_t scaled = std::min<std::uint32_t>(space >> t.rcv_wscale, kMaxUnscaledWindow);
  t.rcv_wnd = scaled << t.rcv_wscale;
  return static_cast<std::uint16_t>(scaled);
}

bool TcpStack::Impl::emit_raw(const FourTuple& tuple, std::uint8_t flags, Seq seq, Seq ack, std::uint16_t window,
                              const wire::TcpOptions& options, const MbufQueue* data, std::size_t data_offset,
                              std::size_t data_len) {
  rte_mbuf* m = rte_pktmbuf_alloc(params.pool);
  if (m == nullptr) {
    drops.inc(TcpDrop::kNoBuffer);
    return false;
  }
  const std::size_t tcp_header = wire::kTcpMinHeaderLen + wire::tcp_options_len(options);
  const std::size_t total = kIpHeaderLen + tcp_header + data_len;
  // A segment never exceeds one mbuf: the MSS is clamped to the MTU, so this only guards bugs.
  auto* p = total <= rte_pktmbuf_tailroom(m)
                ? reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(total)))
                : nullptr;
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    drops.inc(TcpDrop::kNoBuffer);
    return false;
  }
  if (data_len > 0) data->copy_out(data_offset, {p + kIpHeaderLen + tcp_header, data_len});
  const wire::TcpRepr tcp{.src_port = tuple.local_port, .dst_port = tuple.remote_port, .seq = seq.raw(),
                          .ack = ack.raw(), .flags = wire::TcpFlags{flags}, .window = window, .urgent = 0,
                          .options = options};
  const Ipv4Addr src = tuple.local.value != 0 ? tuple.local : params.address;
  (void)tcp.emit({p + kIpHeaderLen, tcp_header + data_len}, src, tuple.remote);
  const wire::Ipv4Repr ip{.src = src, .dst = tuple.remote, .protocol = wire::IpProtocol::kTcp,
                          .payload_len = tcp_header + data_len,
                          .ttl = static_cast<std::uint8_t>(params.sysctl.ip_default_ttl)};
  (void)ip.emit({p, kIpHeaderLen});
  stats.inc(TcpStat::kSegmentsOut);
  if (flags & wire::TcpFlags::kRst) stats.inc(TcpStat::kResetsSent);
  sink(sink_context, m, tuple.remote);
  return true;
}

bool TcpStack::Impl::emit(Tcb& t, std::uint8_t flags, Seq seq, std::size_t data_offset, std::size_t data_len) {
  wire::TcpOptions options;
  if (t.ts_ok) options.timestamps = wire::TcpTimestamps{ts_now(t), t.ts_recent};
  const std::uint16_t window = window_to_announce(t);
  return emit_raw(t.tuple, flags, seq, t.rcv_nxt, window, options, &t.send_queue, data_offset, data_len);
}

void TcpStack::Impl::send_syn(Tcb& t) {
  wire::TcpOptions options;
  std::uint8_t flags = wire::TcpFlags::kSyn;
  std::uint16_t window;
  Seq ack{0};
  if (t.state == State::kSynSent) {
    // Linux's SYN: <mss, sackOK, TS val ecr 0, nop, wscale 7>, window 65535 rounded down to a
    // multiple of the MSS (64240 for 1460).
    options.mss = t.adv_mss;
    options.sack_permitted = params.sysctl.tcp_sack;
    if (params.sysctl.tcp_timestamps) options.timestamps = wire::TcpTimestamps{ts_now(t), 0};
    if (params.sysctl.tcp_window_scaling) options.window_scale = 7;
    window = static_cast<std::uint16_t>(kMaxUnscaledWindow / t.adv_mss * t.adv_mss);
  } else {
    // SYN-ACK: only what the peer offered; window rounded to the payload per segment.
    flags |= wire::TcpFlags::kAck;
    ack = t.rcv_nxt;
    options.mss = t.adv_mss;
    options.sack_permitted = t.sack_ok;
    if (t.ts_ok) options.timestamps = wire::TcpTimestamps{ts_now(t), t.ts_recent};
    if (t.ws_ok) options.window_scale = t.rcv_wscale;
    const std::uint32_t payload = t.adv_mss - (t.ts_ok ? 12u : 0u);
    window = static_cast<std::uint16_t>(kMaxUnscaledWindow / payload * payload);
  }
  t.rcv_wnd = window;  // a SYN's window is never scaled
  if (t.retransmits == 0) {
    t.rtt_timing = true;
    t.rtt_start = timers.now();
  }
  emit_raw(t.tuple, flags, t.iss, ack, window, options, nullptr, 0, 0);
  t.snd_nxt = t.iss + 1u;
  if (!t.rtx_timer.armed()) arm_rtx(t);
  publish(t);
}

void TcpStack::Impl::send_ack(Tcb& t) { emit(t, wire::TcpFlags::kAck, t.snd_nxt, 0, 0); }

bool TcpStack::Impl::oow_rate_limited(Tcb& t, const Segment& seg) {
  // Out-of-window segments, bogus RSTs and SYNs are answered at most once per
  // tcp_invalid_ratelimit (Linux: 500 ms) per connection, so a flood of them cannot make us flood
  // back. Segments carrying data are always answered: the peer needs the ACK to make progress.
  constexpr Duration kInvalidRateLimit = std::chrono::milliseconds(500);
  if (seg.payload_len > 0 && !seg.flags.syn()) return false;
  const Instant now = timers.now();
  if (t.oow_acked && now - t.last_oow_ack < kInvalidRateLimit) {
    stats.inc(TcpStat::kAcksSkipped);
    return true;
  }
  t.oow_acked = true;
  t.last_oow_ack = now;
  return false;
}

void TcpStack::Impl::send_challenge_ack(Tcb& t) {
  stats.inc(TcpStat::kChallengeAcks);
  send_ack(t);
}

void TcpStack::Impl::send_rst(Tcb& t) {
  wire::TcpOptions none;
  emit_raw(t.tuple, wire::TcpFlags::kRst | wire::TcpFlags::kAck, t.snd_nxt, t.rcv_nxt, 0, none, nullptr, 0, 0);
}

void TcpStack::Impl::send_rst_for(const Segment& seg) {
  if (seg.flags.rst()) return;  // never answer a RST
  const FourTuple tuple{.local = seg.dst, .remote = seg.src, .local_port = seg.tcp.dst_port(),
                        .remote_port = seg.tcp.src_port()};
  wire::TcpOptions none;
  if (seg.flags.ack()) {
    // <SEQ=SEG.ACK><CTL=RST>
    emit_raw(tuple, wire::TcpFlags::kRst, seg.ack, Seq{0}, 0, none, nullptr, 0, 0);
  } else {
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, window 0 (seed 004's capture)
    emit_raw(tuple, wire::TcpFlags::kRst | wire::TcpFlags::kAck, Seq{0}, seg.seq + seg.len, 0, none, nullptr, 0, 0);
  }
}

void TcpStack::Impl::push_data(Tcb& t) {
  if (!is_synchronized(t.state)) return;
  const std::uint32_t payload_per_segment = t.mss - (t.ts_ok ? 12u : 0u);
  // Bounded: each round sends at least one byte of the queue, or stops.
  while (!t.fin_sent) {
    const std::size_t offset = static_cast<std::size_t>(t.snd_nxt - t.snd_una);
    const std::size_t unsent = t.send_queue.bytes() > offset ? t.send_queue.bytes() - offset : 0;
    if (unsent == 0) break;
    const std::int64_t usable = static_cast<std::int64_t>(t.snd_wnd) - static_cast<std::int64_t>(offset);
    if (usable <= 0) break;  // zero window: the persist timer arrives with reliable transfer
    const std::size_t len = std::min<std::size_t>({unsent, static_cast<std::size_t>(usable), payload_per_segment});
    const bool last = len == unsent;
    const std::uint8_t flags = wire::TcpFlags::kAck | (last ? wire::TcpFlags::kPsh : 0);
    if (!emit(t, flags, t.snd_nxt, offset, len)) break;
    if (!t.rtt_timing) {
      t.rtt_timing = true;
      t.rtt_start = timers.now();
      t.rtt_seq = t.snd_nxt;
    }
    t.snd_nxt += static_cast<std::uint32_t>(len);
    stats.add(TcpStat::kBytesOut, len);
    if (!t.rtx_timer.armed()) arm_rtx(t);
  }
  const bool all_sent = static_cast<std::size_t>(t.snd_nxt - t.snd_una) >= t.send_queue.bytes();
  if (t.fin_requested && !t.fin_sent && all_sent && fin_queued(t.state)) {
    t.fin_seq = t.snd_nxt;
    emit(t, wire::TcpFlags::kFin | wire::TcpFlags::kAck, t.fin_seq, 0, 0);
    t.fin_sent = true;
    t.snd_nxt = t.fin_seq + 1u;
    if (!t.rtx_timer.armed()) arm_rtx(t);
  }
  publish(t);
}

void TcpStack::Impl::retransmit_head(Tcb& t) {
  const std::size_t unacked_data =
      std::min<std::size_t>(t.send_queue.bytes(), static_cast<std::size_t>(t.snd_nxt - t.snd_una) -
                                                      (t.fin_sent && t.snd_nxt > t.fin_seq ? 1 : 0));
  const std::uint32_t payload_per_segment = t.mss - (t.ts_ok ? 12u : 0u);
  if (unacked_data > 0) {
    const std::size_t len = std::min<std::size_t>(unacked_data, payload_per_segment);
    emit(t, wire::TcpFlags::kAck | wire::TcpFlags::kPsh, t.snd_una, 0, len);
  } else if (t.fin_sent && t.snd_una <= t.fin_seq) {
    emit(t, wire::TcpFlags::kFin | wire::TcpFlags::kAck, t.fin_seq, 0, 0);
  }
}

}  // namespace synwave::tcp
