// The transmission control block: one per socket (listener, connection or half-open entry).
// Private to lib/tcp. Variables are named after RFC 9293 section 3.3.1.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/time.h"
#include "table/keys.h"
#include "tcp/congestion.h"
#include "tcp/mbuf_queue.h"
#include "tcp/reassembly.h"
#include "tcp/sack_scoreboard.h"
#include "tcp/seq.h"
#include "tcp/state.h"
#include "timer/timer_wheel.h"

namespace synwave::tcp {

inline constexpr std::uint32_t kNoIndex = 0xffffffff;
// The largest window our fixed scale of 7 can announce; receive buffers stop there.
inline constexpr std::uint32_t kMaxReceiveBuffer = 65535u << 7;
// The window scale we announce (what Linux announces with its default buffers).
inline constexpr std::uint8_t kOurWindowScale = 7;
inline constexpr std::uint8_t kMaxWindowScale = 14;  // RFC 7323 2.3

// What the state timer is waiting for. (Linux's sk_timer: keepalive, FIN_WAIT_2, TIME_WAIT.)
enum class StateTimer : std::uint8_t { kNone, kTimeWait, kFinWait2, kKeepalive };
// What the retransmission timer does when it fires (Linux's icsk_retransmit_timer: retransmit or
// probe a zero window).
enum class RtxTimer : std::uint8_t { kRetransmit, kPersist, kLossProbe };
// Loss recovery (Linux's congestion-avoidance states, folded): open, fast recovery after duplicate
// ACKs or SACKs (RFC 6675 / RFC 6582), or after a retransmission timeout.
enum class Recovery : std::uint8_t { kOpen, kFast, kLoss };

// Fields other threads read (the connection listing). Written by the engine inside a seqlock:
// `version` is odd while an update is under way. Every field is atomic so a reader never races.
struct Published {
  std::atomic<std::uint32_t> version{0};
  std::atomic<std::uint8_t> state{0};
  std::atomic<std::uint32_t> local_addr{0}, remote_addr{0};
  std::atomic<std::uint16_t> local_port{0}, remote_port{0};
  std::atomic<std::uint8_t> timer{0};  // 0 off, 1 retransmit ("on"), 2 timewait, 3 fin_wait2, 4 persist, 5 keepalive
  std::atomic<std::int64_t> timer_deadline_ns{0};
  std::atomic<std::uint32_t> send_queue{0}, recv_queue{0};
  std::atomic<std::uint8_t> retransmits{0};
  std::atomic<bool> in_use{false};
  // ss -i: smoothed RTT and its variance (us), RTO (ms), congestion window and threshold (segments).
  std::atomic<std::uint32_t> srtt_us{0}, rttvar_us{0}, rto_ms{0}, cwnd{0}, ssthresh{0}, mss{0};
  std::atomic<std::uint32_t> total_retransmits{0};
  std::atomic<std::uint8_t> congestion{0}, snd_wscale{0}, rcv_wscale{0};
  std::atomic<bool> sack{false}, timestamps{false};
};

struct Tcb {
  // --- identity --------------------------------------------------------------------------------
  void* owner = nullptr;         // the TcpStack::Impl, for timer callbacks
  std::uint32_t index = 0;
  std::uint16_t generation = 0;
  bool in_use = false;
  State state = State::kClosed;
  FourTuple tuple;               // local and remote; remote is zero until connected
  bool bound = false;            // on the port list of tuple.local_port
  bool hashed = false;           // in the connection table (has a remote end)
  bool listed_on_port = false;
  bool autobound = false;        // port chosen by connect(): shares ports with other connects
  std::uint32_t next_on_port = kNoIndex;  // doubly linked: unbinding is O(1)
  std::uint32_t prev_on_port = kNoIndex;

  // --- socket options and application state ---------------------------------------------------
  bool reuse_addr = false;
  bool linger_zero = false;
  bool no_delay = false;
  bool cork = false;             // TCP_CORK
  bool keep_alive = false;
  bool orphan = false;           // close() was called: no application owns it any more
  bool read_shutdown = false;    // shutdown(SHUT_RD)
  bool fin_requested = false;    // close() or shutdown(SHUT_WR): send FIN after the queued data
  bool accepted = false;         // a child handed out by accept()
  std::uint16_t user_mss = 0;    // TCP_MAXSEG
  std::uint32_t keepalive_idle_s = 0, keepalive_intvl_s = 0, keepalive_probes = 0;  // 0: the sysctl
  bool snd_buf_locked = false, rcv_buf_locked = false;  // SO_SNDBUF / SO_RCVBUF set: no auto-tuning
  int error = 0;                 // pending SO_ERROR (positive errno)
  int terminal_error = 0;        // what recv/send report once the connection has died

  // --- send sequence space (RFC 9293 3.3.1) ---------------------------------------------------
  Seq iss, snd_una, snd_nxt;
  std::uint32_t snd_wnd = 0;     // the peer's window, scaled
  std::uint32_t max_snd_wnd = 0; // the largest window the peer offered (RFC 5961 5.2)
  Seq snd_wl1, snd_wl2;
  Seq fin_seq;                   // sequence number of our FIN, once sent
  bool fin_sent = false;
  std::uint32_t snd_buf = 16384; // send buffer limit in payload bytes (tcp_wmem, auto-tuned)
  Seq snd_sml;                   // end of the last sub-MSS segment sent (Nagle, Minshall's variant)
  Instant last_send;             // when data last went out (restart after idle)
  CongestionControl cc;
  bool cwnd_limited = false;     // the last transmit stopped at cwnd with data waiting
  // --- loss recovery ---------------------------------------------------------------------------
  Recovery recovery = Recovery::kOpen;
  Seq recovery_point;            // SND.NXT when recovery began: it ends when this is acknowledged
  Seq rxt_next;                  // retransmission cursor: bytes below it were resent in this episode
  std::uint8_t dupacks = 0;      // duplicate ACKs since SND.UNA last moved
  bool rxt_head_due = false;     // fast retransmit of SND.UNA's segment, whatever the pipe
  bool head_rxt_valid = false;   // SND.UNA's segment was resent when SND.NXT was head_rxt_mark
  Seq head_rxt_mark;
  // Below this, un-SACKed data not resent since is lost: it was sent before a retransmission that
  // has arrived (RACK's rule, RFC 8985 6.2, on sequence order instead of send times).
  Seq lost_until;
  bool tlp_pending = false;      // a tail loss probe is out, until SND.UNA reaches tlp_high_seq
  bool tlp_retransmitted = false;// the probe resent old data (no new data could go)
  Seq tlp_high_seq;              // SND.NXT when the probe went (Linux tp->tlp_high_seq)
  SackScoreboard scoreboard;     // what the peer SACKed above SND.UNA
  std::uint32_t total_retransmits = 0;

  // --- receive sequence space ------------------------------------------------------------------
  Seq irs, rcv_nxt;
  std::uint32_t rcv_wnd = 0;     // what we announce, unscaled bytes
  std::uint32_t rcv_buf = 131072;
  Seq rcv_adv;                   // the right edge we announced: it never moves left (RFC 7323 2.4)
  Seq rcv_acked;                 // RCV.NXT in the last ACK sent (delayed ACK counts from here)
  std::uint16_t rcv_mss = 536;   // the largest payload the peer sent (Linux icsk_ack.rcv_mss)
  std::uint8_t quickacks = 0;    // segments still to ACK at once (Linux quick-ACK mode)
  bool data_seen = false;        // the first data segment arrived (starts quick-ACK mode)
  bool ack_pending = false;      // data arrived that no ACK has covered yet
  bool ooo_fin = false;          // a FIN arrived beyond a hole, at ooo_fin_seq
  Seq ooo_fin_seq;
  ReassemblyQueue ooo;           // out-of-order data, in its mbufs
  Instant last_recv;             // when the peer was last heard (keepalive idle time)
  // Receive-buffer auto-tuning (Linux tcp_rcv_space_adjust): bytes the application read in the
  // current round trip, the most it read in one before, when the round began, the receiver's RTT.
  std::uint32_t rcvq_copied = 0, rcvq_space = 0;
  Instant rcvq_time;
  Duration rcv_rtt{0};

  // --- negotiated options ----------------------------------------------------------------------
  std::uint16_t mss = 536;       // the peer's MSS (bytes of payload per segment we send)
  std::uint16_t adv_mss = 1460;  // the MSS we announce
  std::uint8_t snd_wscale = 0;   // the peer's shift: scale its windows by this
  std::uint8_t rcv_wscale = 0;   // our shift: scale our windows down by this
  bool ws_ok = false, sack_ok = false, ts_ok = false;
  std::uint32_t ts_recent = 0;   // the peer's last TSval, echoed in TSecr
  Instant ts_recent_stamp;       // when ts_recent was last updated (TIME_WAIT reuse)
  Instant last_oow_ack;          // when we last answered a suspicious segment (rate limit)
  bool oow_acked = false;
  std::uint32_t ts_offset = 0;   // added to our millisecond clock in TSval

  // --- retransmission --------------------------------------------------------------------------
  TimerNode rtx_timer;
  TimerNode state_timer;
  TimerNode delack_timer;
  StateTimer state_timer_kind = StateTimer::kNone;
  RtxTimer rtx_kind = RtxTimer::kRetransmit;
  std::uint8_t retransmits = 0;  // consecutive timeouts of the current segment
  std::uint8_t probes = 0;       // zero-window or keepalive probes unanswered (icsk_probes_out)
  Duration rto = std::chrono::seconds(1);
  Duration srtt{0}, rttvar{0};
  Instant rtt_start;             // when the segment being timed was first sent
  Seq rtt_seq;                   // it is timed until snd_una passes this
  bool rtt_timing = false;
  bool rtt_measured = false;     // srtt holds at least one sample

  // --- data ------------------------------------------------------------------------------------
  MbufQueue send_queue;          // bytes from snd_una on: sent but unacknowledged, then unsent
  MbufQueue recv_queue;          // in-order bytes not yet read

  // --- listeners and their children -------------------------------------------------------------
  std::uint32_t listener = kNoIndex;      // child: the listener that made it
  std::uint32_t next_in_queue = kNoIndex; // child: link in the listener's accept queue
  bool in_accept_queue = false;
  bool acked_while_full = false;          // the third ACK came while the accept queue was full
  bool in_syn_queue = false;              // child: counted in its listener's syn_queue_len
  // listener only:
  int backlog = 0;
  std::uint32_t syn_queue_len = 0;
  std::uint32_t syn_queue_young = 0;      // half-open records never retransmitted (Linux qlen_young)
  std::uint32_t accept_queue_len = 0;
  std::uint32_t accept_head = kNoIndex, accept_tail = kNoIndex;
  // When the listener last sent a SYN cookie (Linux keeps it in rx_opt.ts_recent_stamp,
  // tcp_synq_overflow): ACKs without state are checked as cookies only for 2 minutes after it.
  bool synq_overflowed = false;
  Instant synq_overflow_stamp;

  // --- readiness --------------------------------------------------------------------------------
  std::uint32_t readiness = 0;   // last computed readiness bits
  bool in_ready_list = false;
  bool connected_edge = false;   // kConnected to report once

  Published published;
};

}  // namespace synwave::tcp
