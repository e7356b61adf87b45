// SYN cookies at a listener, as Linux uses them (net/ipv4/tcp_input.c tcp_conn_request,
// net/ipv4/syncookies.c cookie_v4_check, include/net/tcp.h tcp_synq_overflow).
//
// When the listener's SYN queue is full (tcp_syncookies=1) or always (tcp_syncookies=2), a SYN is
// answered with a SYN-ACK whose ISN is a cookie (syncookie.h) and nothing is kept. An ACK that
// later finds no half-open entry is checked as a cookie when the listener sent one in the last
// two minutes; a valid one rebuilds the connection (MSS from the cookie, window scale and SACK
// from the echoed timestamp) and the segment is then processed as the ACK of SYN_RCVD, data and
// FIN included. A failed one is counted and falls back to LISTEN's rule: RST.
#include <algorithm>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

constexpr Duration kOverflowStampPeriod = std::chrono::seconds(1);  // HZ in tcp_synq_overflow
// TCP_SYNCOOKIE_VALID: cookies are checked this long after the last one went out.
constexpr Duration kCookieValid = SynCookies::kMaxAge * SynCookies::kPeriod;

CookieTuple cookie_tuple(const Segment& seg) {
  return CookieTuple{.remote = seg.src, .local = seg.dst, .remote_port = seg.tcp.src_port(),
                     .local_port = seg.tcp.dst_port()};
}

}  // namespace

void TcpStack::Impl::send_cookie_synack(Tcb& listener, const Segment& seg) {
  const Instant now = timers.now();
  const wire::TcpOptions& o = seg.options;
  const Sysctl& sys = params.sysctl;
  // Linux tcp_synq_overflow (from cookie_init_sequence): remember, at most once a second, that
  // this listener hands out cookies; cookie_ack() checks ACKs only for two minutes after.
  if (!listener.synq_overflowed || now < listener.synq_overflow_stamp ||
      now > listener.synq_overflow_stamp + kOverflowStampPeriod) {
    listener.synq_overflowed = true;
    listener.synq_overflow_stamp = now;
  }
  // The MSS the cookie encodes: Linux's mss_clamp, the SYN's MSS (536 without one, or when it is
  // 0) lowered to TCP_MAXSEG, then rounded down to an entry of the table.
  std::uint16_t peer_mss = 536;
  if (o.mss && *o.mss != 0) {
    peer_mss = *o.mss;
    if (listener.user_mss != 0 && listener.user_mss < peer_mss) peer_mss = listener.user_mss;
  }
  const CookieTuple tuple = cookie_tuple(seg);
  const Seq cookie = cookies.make(tuple, seg.seq, SynCookies::mss_index(peer_mss), now);
  // Options as for any SYN-ACK, except that without timestamps there is nowhere to keep window
  // scaling and SACK: Linux then offers neither (tcp_clear_options when !saw_tstamp).
  const bool ts_ok = o.timestamps && sys.tcp_timestamps;
  const bool ws_ok = ts_ok && o.window_scale && sys.tcp_window_scaling;
  const bool sack_ok = ts_ok && o.sack_permitted && sys.tcp_sack;
  const std::uint16_t adv = announced_mss(listener.user_mss);
  std::optional<wire::TcpTimestamps> timestamps;
  if (ts_ok) {
    const CookieTsOptions carried{.wscale_ok = ws_ok,
                                  .snd_wscale = ws_ok ? std::min(*o.window_scale, kMaxWindowScale) : std::uint8_t{0},
                                  .sack_ok = sack_ok, .ecn_ok = false};
    const auto clock = static_cast<std::uint32_t>(to_ms(now.time_since_epoch()));
    const std::uint32_t tsval = SynCookies::init_timestamp(clock, carried) + isn.ts_offset(seg.dst, seg.src);
    timestamps = wire::TcpTimestamps{tsval, o.timestamps->val};
  }
  const wire::TcpOptions options = synack_options(adv, sack_ok, ws_ok, timestamps);
  const FourTuple four{.local = seg.dst, .remote = seg.src, .local_port = seg.tcp.dst_port(),
                       .remote_port = seg.tcp.src_port()};
  stats.inc(TcpStat::kSyncookiesSent);
  emit_raw(four, wire::TcpFlags::kSyn | wire::TcpFlags::kAck, cookie, seg.seq + 1u, synack_window(adv, ts_ok), options,
           nullptr, 0, 0);
}

TcpStack::Impl::CookieVerdict TcpStack::Impl::cookie_ack(Tcb& listener, Segment& seg) {
  const Sysctl& sys = params.sysctl;
  if (sys.tcp_syncookies == 0) return CookieVerdict::kNotCookie;
  const Instant now = timers.now();
  // Linux tcp_synq_no_recent_overflow: no cookie went out in the last two minutes (with a second
  // of slack below): not a cookie.
  if (!listener.synq_overflowed || now < listener.synq_overflow_stamp - kOverflowStampPeriod ||
      now > listener.synq_overflow_stamp + kCookieValid)
    return CookieVerdict::kNotCookie;
  const CookieTuple tuple = cookie_tuple(seg);
  const std::optional<std::uint16_t> cookie_mss = cookies.check(tuple, seg.ack - 1u, seg.seq - 1u, now);
  if (!cookie_mss) {
    stats.inc(TcpStat::kSyncookiesFailed);
    return CookieVerdict::kNotCookie;
  }
  stats.inc(TcpStat::kSyncookiesRecv);
  // Linux cookie_timestamp_decode, after removing the connection's offset from TSecr (only when
  // TSecr is not 0, as Linux does).
  const std::optional<wire::TcpTimestamps>& ts = seg.options.timestamps;
  std::uint32_t ts_offset = 0;
  CookieTsOptions carried;
  if (ts) {
    std::uint32_t tsecr = ts->ecr;
    if (tsecr != 0) {
      ts_offset = isn.ts_offset(seg.dst, seg.src);
      tsecr -= ts_offset;
    }
    if (!sys.tcp_timestamps) return CookieVerdict::kNotCookie;
    carried = SynCookies::decode_timestamp(tsecr);
    if (carried.sack_ok && !sys.tcp_sack) return CookieVerdict::kNotCookie;
    if (carried.wscale_ok && !sys.tcp_window_scaling) return CookieVerdict::kNotCookie;
  }
  // Linux tcp_v4_syn_recv_sock: a full accept queue means no child; the ACK is dropped silently
  // (no RST, whatever tcp_abort_on_overflow says) and the client's next segment tries again.
  if (accept_queue_full(listener)) {
    stats.inc(TcpStat::kListenOverflows);
    drops.inc(TcpDrop::kListenDrops);
    return CookieVerdict::kConsumed;
  }
  // The connection as the SYN and our cookie SYN-ACK made it, rebuilt (send_cookie_synack).
  HalfOpen handshake;
  handshake.tuple = FourTuple{.local = seg.dst, .remote = seg.src, .local_port = seg.tcp.dst_port(),
                              .remote_port = seg.tcp.src_port()};
  handshake.adv_mss = announced_mss(listener.user_mss);
  handshake.peer_mss = clamp_peer_mss(*cookie_mss, handshake.adv_mss);
  handshake.ws_ok = carried.wscale_ok;
  handshake.snd_wscale = carried.wscale_ok ? std::min(carried.snd_wscale, kMaxWindowScale) : std::uint8_t{0};
  handshake.sack_ok = carried.sack_ok;
  handshake.ts_ok = ts.has_value();
  handshake.ts_recent = ts ? ts->val : 0;
  handshake.ts_offset = ts_offset;
  handshake.irs = seg.seq - 1u;
  handshake.iss = seg.ack - 1u;
  // Never in the SYN queue (in_syn_queue stays false); counted CLOSED -> SYN_RCVD now.
  Tcb* child = make_child(listener, handshake, /*from_record=*/false);
  if (child == nullptr) return CookieVerdict::kConsumed;
  stats.inc(TcpStat::kPassiveOpens);  // Linux counts PassiveOpens when the child is created
  // The SYN-ACK was not timed. Linux (tcp_synack_rtt_meas without a request, then
  // tcp_ack_update_rtt) takes the RTT from the echoed timestamp instead: our clock minus TSecr,
  // at least 1 ms; it includes up to 63 ms of the cookie's rounding down. Without timestamps
  // there is no sample and established() starts the RTO at 3 s (RFC 6298 5.7).
  if (ts && ts->ecr != 0) {
    const std::uint32_t delta = ts_now(*child) - ts->ecr;
    if (delta < 0x7fffffffu / 1000u) rtt_sample(*child, std::chrono::milliseconds(delta == 0 ? 1 : delta));
  }
  // The segment now completes SYN_RCVD like any third ACK (RFC 9293 3.10.7.4), and its data and
  // FIN are taken.
  input_synchronized(*child, seg);
  return CookieVerdict::kConsumed;
}

}  // namespace synwave::tcp
