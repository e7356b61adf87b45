// Building and sending segments, with Linux's option layouts and initial windows.
#include <algorithm>

#include <rte_ip.h>
#include <rte_tcp.h>

#include <array>

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

bool TcpStack::Impl::emit_raw(const FourTuple& tuple, std::uint8_t flags, Seq seq, Seq ack, std::uint16_t window,
                              const wire::TcpOptions& options, const MbufQueue* data, std::size_t data_offset,
                              std::size_t data_len, std::uint16_t tso_segment) {
  rte_mbuf* m = rte_pktmbuf_alloc(params.pool);
  if (m == nullptr) {
    drops.inc(TcpDrop::kNoBuffer);
    return false;
  }
  const std::size_t tcp_header = wire::kTcpMinHeaderLen + wire::tcp_options_len(options);
  const std::size_t headers = kIpHeaderLen + tcp_header;
  const bool offload = params.tx_checksum_offload;
  // The headers and as much payload as fits go in the first buffer; a TSO segment continues in
  // chained buffers. Without offload a segment is one MSS and always fits (the MSS follows the MTU).
  const std::size_t first = std::min<std::size_t>(data_len, rte_pktmbuf_tailroom(m) - std::min<std::size_t>(headers, rte_pktmbuf_tailroom(m)));
  if (headers > rte_pktmbuf_tailroom(m) || (!offload && first < data_len)) {
    rte_pktmbuf_free(m);
    drops.inc(TcpDrop::kNoBuffer);
    return false;
  }
  auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(headers + first)));
  if (first > 0) data->copy_out(data_offset, {p + headers, first});
  rte_mbuf* last = m;
  for (std::size_t done = first; done < data_len;) {
    rte_mbuf* next = rte_pktmbuf_alloc(params.pool);
    if (next == nullptr || rte_pktmbuf_chain(m, next) != 0) {
      if (next != nullptr) rte_pktmbuf_free(next);
      rte_pktmbuf_free(m);
      drops.inc(TcpDrop::kNoBuffer);
      return false;
    }
    const std::size_t n = std::min<std::size_t>(data_len - done, rte_pktmbuf_tailroom(next));
    next->data_len = static_cast<std::uint16_t>(n);
    m->pkt_len += static_cast<std::uint32_t>(n);
    data->copy_out(data_offset + done, {rte_pktmbuf_mtod(next, std::uint8_t*), n});
    done += n;
    last = next;
  }
  (void)last;
  const wire::TcpRepr tcp{.src_port = tuple.local_port, .dst_port = tuple.remote_port, .seq = seq.raw(),
                          .ack = ack.raw(), .flags = wire::TcpFlags{flags}, .window = window, .urgent = 0,
                          .options = options};
  const Ipv4Addr src = tuple.local.value != 0 ? tuple.local : params.address;
  const wire::Ipv4Repr ip{.src = src, .dst = tuple.remote, .protocol = wire::IpProtocol::kTcp,
                          .payload_len = tcp_header + data_len,
                          .ttl = static_cast<std::uint8_t>(params.sysctl.ip_default_ttl)};
  if (offload) {
    (void)tcp.emit({p + kIpHeaderLen, tcp_header}, src, tuple.remote, wire::ChecksumFill::kOffload);
    (void)ip.emit({p, kIpHeaderLen}, wire::ChecksumFill::kOffload);
    m->l3_len = kIpHeaderLen;
    m->l4_len = static_cast<std::uint16_t>(tcp_header);
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
    if (tso_segment != 0 && data_len > tso_segment) {
      m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
      m->tso_segsz = tso_segment;
    }
    // The NIC adds the payload to the pseudo-header sum (without the length when it segments).
    auto* ip_header = reinterpret_cast<rte_ipv4_hdr*>(p);
    auto* tcp_header_bytes = reinterpret_cast<rte_tcp_hdr*>(p + kIpHeaderLen);
    tcp_header_bytes->cksum = rte_ipv4_phdr_cksum(ip_header, m->ol_flags);
  } else {
    (void)tcp.emit({p + kIpHeaderLen, tcp_header + data_len}, src, tuple.remote);
    (void)ip.emit({p, kIpHeaderLen});
  }
  stats.inc(TcpStat::kSegmentsOut);
  if (flags & wire::TcpFlags::kRst) stats.inc(TcpStat::kResetsSent);
  sink(sink_context, m, tuple.remote);
  return true;
}

bool TcpStack::Impl::emit(Tcb& t, std::uint8_t flags, Seq seq, std::size_t data_offset, std::size_t data_len) {
  wire::TcpOptions options;
  std::size_t option_room = wire::kTcpMaxOptionsLen;
  if (t.ts_ok) {
    options.timestamps = wire::TcpTimestamps{ts_now(t), t.ts_recent};
    option_room -= 12;
  }
  if (t.sack_ok && (!t.ooo.empty() || t.ooo.has_dsack())) {
    // RFC 2018: as many blocks as the options (and, with data, the MTU) leave room for.
    const std::uint32_t payload_room = params.mtu - 40 - (t.ts_ok ? 12u : 0u);
    const std::uint32_t segment = data_len > payload_mss(t) ? payload_mss(t) : static_cast<std::uint32_t>(data_len);
    const std::size_t mtu_room = payload_room > segment ? payload_room - segment : 0;
    const std::size_t room = std::min(option_room, mtu_room);
    const std::size_t max_blocks = room >= 4 ? std::min<std::size_t>((room - 4) / 8, wire::TcpOptions::kMaxSackBlocks) : 0;
    std::array<SackBlock, wire::TcpOptions::kMaxSackBlocks> blocks;
    const std::size_t n = t.ooo.sack_blocks(std::span(blocks).first(max_blocks));
    for (std::size_t i = 0; i < n; ++i) options.add_sack({blocks[i].start.raw(), blocks[i].end.raw()});
    if (n > 0) t.ooo.clear_dsack();
  }
  const std::uint16_t window = window_to_announce(t);
  const std::uint16_t tso = data_len > payload_mss(t) ? static_cast<std::uint16_t>(payload_mss(t)) : 0;
  if (!emit_raw(t.tuple, flags, seq, t.rcv_nxt, window, options, &t.send_queue, data_offset, data_len, tso))
    return false;
  // Every segment carries our ACK: nothing is left for the delayed-ACK timer.
  t.ack_pending = false;
  t.rcv_acked = t.rcv_nxt;
  timers.cancel(t.delack_timer);
  return true;
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
    std::optional<wire::TcpTimestamps> ts;
    if (t.ts_ok) ts = wire::TcpTimestamps{ts_now(t), t.ts_recent};
    options = synack_options(t.adv_mss, t.sack_ok, t.ws_ok, ts);
    window = synack_window(t.adv_mss, t.ts_ok);
  }
  t.rcv_wnd = window;  // a SYN's window is never scaled
  if (t.state == State::kSynReceived) {
    t.rcv_adv = t.rcv_nxt + window;
    t.rcv_acked = t.rcv_nxt;
  }
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
  // back. Segments using sequence space (data, FIN) are always answered: the peer needs the ACK
  // to make progress (Linux tcp_oow_rate_limited).
  const Duration limit = std::chrono::milliseconds(params.sysctl.tcp_invalid_ratelimit);
  if ((seg.payload_len > 0 || seg.flags.fin()) && !seg.flags.syn()) return false;
  const Instant now = timers.now();
  if (t.oow_acked && now - t.last_oow_ack < limit) {
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

}  // namespace synwave::tcp
