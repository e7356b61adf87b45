// TcpStack's insides, shared by the files that implement them (one concern each):
//   tcp_stack.cc   creation, the socket API, readiness
//   input.cc       segment arrival (RFC 9293 3.10.7)
//   receive.cc     incoming data: trimming, reassembly, PAWS, windows we announce, delayed ACK
//   output.cc      building segments (options, SACK blocks, checksum offload, TSO)
//   transmit.cc    what to send: segmentation, Nagle, windows, cwnd, retransmission choice, probes
//   recovery.cc    incoming ACKs for data: RTT, SACK scoreboard, fast retransmit, loss recovery
//   timers.cc      retransmission, persist, delayed ACK, keepalive, TIME_WAIT, FIN_WAIT_2
//   ports.cc       bind rules and ephemeral ports
//   listener.cc    the accept queue
//   syn_recv.cc    half-open records (syn_queue.h): the SYN-ACK, its retransmissions, the segments
//                  that arrive for them, and the one path from a record to a Tcb
//   syncookie_listen.cc  SYN cookies at a listener: the cookie SYN-ACK, the ACK that completes it
// Private to lib/tcp.
#pragma once

#include <memory>
#include <vector>

#include "table/connection_table.h"
#include "tcp/isn.h"
#include "tcp/syn_queue.h"
#include "tcp/syncookie.h"
#include "tcp/tcb.h"
#include "tcp/tcp_stack.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {

// A received segment, parsed once.
struct Segment {
  wire::TcpView tcp;
  wire::TcpOptions options;
  Ipv4Addr src, dst;
  Seq seq;
  Seq ack;
  std::uint32_t len = 0;  // RFC 9293 SEG.LEN: payload + SYN + FIN
  std::uint32_t payload_len = 0;
  std::uint32_t window = 0;  // unscaled
  wire::TcpFlags flags;
  rte_mbuf* mbuf = nullptr;  // owned by input() until a receive queue takes it
  bool taken = false;        // the payload's mbuf went to a receive queue
  std::size_t payload_offset = 0;  // from the mbuf's data start
};

// What a SYN's options and our sysctls settle for the connection (Linux tcp_parse_options and
// tcp_openreq_init, folded): kept in a half-open record or a Tcb.
struct SynNegotiation {
  std::uint16_t adv_mss = 0;     // the MSS we announce
  std::uint16_t peer_mss = 0;    // what we may send per segment
  std::uint8_t snd_wscale = 0;   // the peer's shift (0 without window scaling)
  bool ws_ok = false, sack_ok = false, ts_ok = false;
  std::uint32_t ts_recent = 0;   // the SYN's TSval
};

// A connection-table value: a Tcb*, or a HalfOpen* with its low bit set.
struct TableEntry {
  Tcb* tcb = nullptr;
  HalfOpen* half_open = nullptr;
  static void* tag(HalfOpen* record) { return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(record) | 1u); }
  static TableEntry of(void* value) {
    const auto bits = reinterpret_cast<std::uintptr_t>(value);
    if (bits & 1u) return {nullptr, reinterpret_cast<HalfOpen*>(bits & ~std::uintptr_t{1})};
    return {static_cast<Tcb*>(value), nullptr};
  }
};

class TcpStack::Impl {
 public:
  Impl(const Params& params, TimerWheel& timers, SegmentSink sink, void* sink_context);

  // --- slab -------------------------------------------------------------------------------------
  Tcb* allocate();
  void release(Tcb& tcb);  // back to the slab: timers off, queues freed, unhashed, unbound
  Tcb* from_socket(int s) const;
  static int socket_id(const Tcb& tcb) { return static_cast<int>(tcb.generation) << 20 | static_cast<int>(tcb.index); }

  // --- state ------------------------------------------------------------------------------------
  void set_state(Tcb& tcb, State next);
  void publish(Tcb& tcb);
  void update_readiness(Tcb& tcb);
  std::uint32_t compute_readiness(const Tcb& tcb) const;
  // The connection is over for the application: error (0 for a clean end), timers off, removed
  // from the table; freed now when orphaned, otherwise when the application closes it.
  void finish(Tcb& tcb, int error);

  // --- input (input.cc) ---------------------------------------------------------------------------
  void input(rte_mbuf* packet, const wire::Ipv4View& ip);
  // `isn`: the ISN to use when a TIME_WAIT entry is recycled (RFC 6191), else chosen by RFC 6528.
  void input_listen(Tcb& listener, Segment& seg, std::optional<Seq> isn = std::nullopt);
  void input_syn_sent(Tcb& tcb, Segment& seg);
  void input_synchronized(Tcb& tcb, Segment& seg);  // every state from SYN_RCVD on
  void input_time_wait(Tcb& tcb, Segment& seg);
  bool acceptable(const Tcb& tcb, const Segment& seg) const;
  void handle_rst(Tcb& tcb, const Segment& seg);
  bool handle_ack(Tcb& tcb, const Segment& seg);  // false: the segment was dropped
  void handle_fin(Tcb& tcb, const Segment& seg);
  void fin_arrived(Tcb& tcb);  // the peer's FIN is next in sequence: take it
  SynNegotiation negotiate_syn(const Segment& seg, std::uint16_t user_mss) const;
  std::uint16_t announced_mss(std::uint16_t user_mss) const;  // mtu - 40, lowered to TCP_MAXSEG
  static std::uint16_t clamp_peer_mss(std::uint16_t offered, std::uint16_t adv_mss);
  void apply_syn_options(Tcb& tcb, const Segment& seg);
  void update_window(Tcb& tcb, const Segment& seg);
  void established(Tcb& tcb);  // SYN_RCVD or SYN_SENT -> ESTABLISHED

  // --- receive (receive.cc) ---------------------------------------------------------------------
  // RFC 7323 5.3 PAWS: true when the segment's timestamp is older than TS.Recent (answered, dropped).
  bool paws_reject(Tcb& tcb, const Segment& seg);
  void handle_payload(Tcb& tcb, Segment& seg);
  // Data arrived: ACK now (out of order, a hole filled, two full segments, quick-ACK mode) or
  // within the delayed-ACK time.
  void ack_received_data(Tcb& tcb, bool now);
  std::uint32_t receive_window(const Tcb& tcb) const;  // what the peer may still send: RCV.ADV - RCV.NXT
  std::uint32_t receive_space(const Tcb& tcb) const;   // free receive buffer
  void data_read(Tcb& tcb, std::size_t bytes);         // the application read: buffer tuning, window update
  static void delack_expired(void* tcb, TimerNode&, Instant);
  void measure_receive_rtt(Tcb& tcb, const Segment& seg);
  void tune_receive_buffer(Tcb& tcb, std::size_t bytes_read);

  // --- transmit (transmit.cc) -------------------------------------------------------------------
  std::uint32_t payload_mss(const Tcb& tcb) const;     // payload bytes per full segment
  std::uint32_t in_flight(const Tcb& tcb) const;       // RFC 6675 pipe, in bytes
  bool send_range(Tcb& tcb, Seq seq, std::uint32_t len, bool retransmission);
  bool retransmit_next(Tcb& tcb);                      // one lost segment, when there is one to resend
  void send_probe(Tcb& tcb);                           // zero-window / keepalive probe: SEQ = SND.UNA - 1
  void update_send_buffer(Tcb& tcb);                   // tcp_wmem auto-tuning from cwnd

  // --- recovery (recovery.cc) -------------------------------------------------------------------
  // An acceptable ACK in a synchronized state: cumulative progress, duplicate ACKs, SACK blocks.
  void ack_data(Tcb& tcb, const Segment& seg, bool window_changed);
  void enter_loss(Tcb& tcb);                           // retransmission timeout
  void tcp_init_transfer(Tcb& tcb);                    // connection established: cwnd, buffers

  // --- output (output.cc) -----------------------------------------------------------------------
  void send_syn(Tcb& tcb);                    // SYN or SYN-ACK, by state
  void send_ack(Tcb& tcb);
  void send_rst_for(const Segment& seg);      // no socket: RFC 9293 3.10.7.1
  void send_rst(Tcb& tcb);                    // abort: RST with snd_nxt
  void send_challenge_ack(Tcb& tcb);
  // Linux __tcp_oow_rate_limited: true when an answer to this segment must be held back.
  bool oow_rate_limited(Tcb& tcb, const Segment& seg);
  void push_data(Tcb& tcb);                   // send what windows and Nagle allow, then a FIN if due
  // One segment of the connection: flags, sequence number, `data_len` bytes of the send queue from
  // `data_offset` (more than one MSS only when the port does TSO), with our ACK, window, timestamps
  // and SACK blocks.
  bool emit(Tcb& tcb, std::uint8_t flags, Seq seq, std::size_t data_offset, std::size_t data_len);
  bool emit_raw(const FourTuple& tuple, std::uint8_t flags, Seq seq, Seq ack, std::uint16_t window,
                const wire::TcpOptions& options, const MbufQueue* data, std::size_t data_offset,
                std::size_t data_len, std::uint16_t tso_segment = 0);
  std::uint32_t ts_now(const Tcb& tcb) const;
  std::uint16_t window_to_announce(Tcb& tcb);

  // --- timers (timers.cc) -----------------------------------------------------------------------
  void arm_rtx(Tcb& tcb);
  // With data outstanding: the tail loss probe when it applies (RFC 8985 7.2), else the RTO.
  void arm_retransmission(Tcb& tcb);
  void on_loss_probe(Tcb& tcb);
  void arm_persist(Tcb& tcb);
  void arm_keepalive(Tcb& tcb);
  void on_rtx_timeout(Tcb& tcb);
  void on_state_timeout(Tcb& tcb);
  void on_persist_timeout(Tcb& tcb);
  void on_keepalive_timeout(Tcb& tcb);
  static void rtx_expired(void* tcb, TimerNode&, Instant);
  static void state_expired(void* tcb, TimerNode&, Instant);
  void enter_time_wait(Tcb& tcb);
  void arm_state_timer(Tcb& tcb, StateTimer kind, Duration after);
  void rtt_sample(Tcb& tcb, Duration sample);
  unsigned retry_limit(const Tcb& tcb) const;

  // --- ports (ports.cc) -------------------------------------------------------------------------
  int bind_port(Tcb& tcb, Ipv4Addr addr, std::uint16_t port);
  int autobind_for_connect(Tcb& tcb, Endpoint remote);
  void unbind(Tcb& tcb);
  void link_port(Tcb& tcb, std::uint16_t port);  // onto the port's list
  bool port_conflict(const Tcb& tcb, Ipv4Addr addr, std::uint16_t port) const;

  // --- half-open records (syn_recv.cc) ----------------------------------------------------------
  // A SYN the listener answers with state: a record, its SYN-ACK, its place on the schedule.
  void open_half(Tcb& listener, Segment& seg, std::optional<Seq> isn);
  void input_half_open(HalfOpen& record, Segment& seg);
  void send_synack(const HalfOpen& record);
  // The record becomes a Tcb in SYN_RCVD (same table entry, same schedule); nullptr when the slab
  // is empty (the record stays).
  Tcb* promote(HalfOpen& record);
  // The one path from negotiated handshake state to a child Tcb in SYN_RCVD, for records and for
  // cookies: hashed, on the listener's port, not yet timed. nullptr when the slab or the table is
  // full (counted).
  // from_record: the record's table entry and its SYN_RCVD count pass to the child; otherwise
  // (a cookie) both are new.
  Tcb* make_child(Tcb& listener, const HalfOpen& handshake, bool from_record);
  // Unhashed, off the listener's SYN queue, back to the pool.
  void drop_half_open(HalfOpen& record);
  void drop_half_opens_of(const Tcb& listener);  // the listener closes: RST each, as for children
  void arm_synack_timer();
  static void synack_expired(void* impl, TimerNode&, Instant now);
  void on_synack_timer(Instant now);
  unsigned synack_retry_limit(const Tcb& listener) const;  // with Linux's pruning of a crowded queue
  TableEntry find(const FourTuple& tuple) const { return TableEntry::of(connections->lookup(tuple)); }
  wire::TcpOptions synack_options(std::uint16_t adv_mss, bool sack_ok, bool ws_ok,
                                  std::optional<wire::TcpTimestamps> timestamps) const;
  static std::uint16_t synack_window(std::uint16_t adv_mss, bool ts_ok);

  // --- listeners (listener.cc) ------------------------------------------------------------------
  void accept_enqueue(Tcb& listener, Tcb& child);
  Tcb* accept_dequeue(Tcb& listener);
  bool accept_queue_full(const Tcb& listener) const;
  // A third ACK met a full accept queue: counted; true when tcp_abort_on_overflow=1 answered it
  // with RST and the entry is to go, false when it stays half-open (marked acked).
  bool third_ack_overflowed(const Segment& seg);
  void child_gone(Tcb& child);  // detach from its listener's queues

  // --- SYN cookies (syncookie_listen.cc) ---------------------------------------------------------
  enum class CookieVerdict : std::uint8_t {
    kNotCookie,  // not checked (cookies off, none sent lately) or failed: the caller resets it
    kConsumed,   // a connection was made from it, or it was dropped (accept queue full, no memory)
  };
  // Answers a SYN without keeping state: SYN-ACK with a cookie ISN (Linux TCP_SYNACK_COOKIE).
  void send_cookie_synack(Tcb& listener, const Segment& seg);
  // An ACK (no SYN, no RST) at a listener without a half-open entry: Linux cookie_v4_check.
  CookieVerdict cookie_ack(Tcb& listener, Segment& seg);

  // --- members ----------------------------------------------------------------------------------
  Params params;
  TimerWheel& timers;
  SegmentSink sink;
  void* sink_context;
  IsnGenerator isn;
  SynCookies cookies;
  std::unique_ptr<ReaderDomain> readers;
  std::unique_ptr<ConnectionTable> connections;  // declared after readers: destroyed first
  std::unique_ptr<Tcb[]> slab;
  SynQueue syn_queue;                            // half-open records of every listener
  TimerNode synack_timer;                        // at the schedule's earliest deadline
  std::uint32_t slab_size = 0;
  std::vector<std::uint32_t> free_list;
  std::vector<std::uint32_t> port_head;          // per port: first Tcb bound to it
  std::vector<std::uint32_t> listener_by_port;   // per port: the listening Tcb, if any
  std::vector<int> ready;                        // sockets whose readiness changed
  std::uint32_t ephemeral_counter = 0;
  CounterSet<TcpStat> stats;
  CounterSet<TcpDrop> drops;
  CounterSet<wire::TcpError> header_errors;
  std::array<Counter, kStateCount * kStateCount> transition_counts;
};

}  // namespace synwave::tcp
