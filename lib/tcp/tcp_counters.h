// The TCP layer's counters. Names follow Linux's SNMP/netstat MIB where one exists
// (ActiveOpens, PassiveOpens, ListenOverflows, ...), in snake_case.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synwave::tcp {

enum class TcpStat : std::uint8_t {
  kSegmentsIn,         // InSegs
  kSegmentsOut,        // OutSegs
  kRetransmits,        // RetransSegs: SYN, SYN-ACK, FIN and data retransmissions
  kActiveOpens,        // connect() sent a SYN
  kPassiveOpens,       // a listener answered a SYN
  kAttemptFails,       // a connect() or a half-open entry failed
  kEstablishedResets,  // EstabResets: reset from ESTABLISHED or CLOSE_WAIT
  kResetsSent,         // OutRsts
  kResetsReceived,     // accepted RSTs
  kChallengeAcks,      // TCPChallengeACK (RFC 5961)
  kAcksSkipped,        // TCPACKSkipped*: answers to suspicious segments held back by the rate limit
  kListenOverflows,    // ListenOverflows: a SYN, third ACK or cookie ACK met a full accept queue
  kAbortOnTimeout,     // TCPAbortOnTimeout: retries exhausted
  kAbortOnClose,       // TCPAbortOnClose: close() with unread data, answered with RST
  kAbortOnLinger,      // TCPAbortOnLinger: close() with SO_LINGER 0
  kAbortOnData,        // TCPAbortOnData: new data for a socket the application closed
  kFinWait2Timeouts,   // orphans freed by tcp_fin_timeout
  kTimeWaitRecycled,   // TIME_WAIT entries taken over by a new SYN (RFC 6191) or tw_reuse
  kBytesIn,            // payload bytes delivered in order
  kBytesOut,           // payload bytes sent for the first time
  kBytesRetransmitted, // payload bytes sent again
  kTimeouts,           // TCPTimeouts: retransmission timer expiries with data or FIN outstanding
  kFastRetransmits,    // TCPFastRetrans: segments resent by fast retransmit / SACK recovery
  kSackRecoveries,     // TCPSackRecovery: fast recoveries driven by SACK (RFC 6675)
  kRenoRecoveries,     // TCPRenoRecovery: fast recoveries without SACK (NewReno, RFC 6582)
  kDelayedAcks,        // DelayedACKs: ACKs sent by the delayed-ACK timer
  kOfoQueued,          // TCPOFOQueue: segments kept out of order
  kDsacksSent,         // TCPDSACKOldSent: duplicates reported with D-SACK (RFC 2883)
  kDsacksReceived,     // TCPDSACKRecv
  kWindowProbes,       // TCPWinProbe: zero-window probes sent
  kKeepaliveProbes,    // TCPKeepAlive: keepalive probes sent
  kWindowUpdates,      // window-update ACKs sent after the application read
  kLossProbes,         // TCPLossProbes: tail loss probes sent (RFC 8985 TLP)
  kLossProbeRecoveries,// TCPLossProbeRecovery: a probe repaired a lost tail
  kLostRetransmits,    // TCPLostRetransmit: a retransmission found lost by SACK
  kSyncookiesSent,     // SyncookiesSent: SYN-ACKs whose ISN is a SYN cookie
  kSyncookiesRecv,     // SyncookiesRecv: ACKs without state that carried a valid cookie
  kSyncookiesFailed,   // SyncookiesFailed: ACKs without state, checked as a cookie, that failed
  kReqQFullDoCookies,  // TCPReqQFullDoCookies: SYN queue full (or tcp_syncookies=2): a cookie instead
  kReqQFullDrop,       // TCPReqQFullDrop: SYN queue full and tcp_syncookies=0: SYN dropped
  kHalfOpenExhausted,  // every half-open record of the stack was taken: the SYN was answered as
                       // with a full SYN queue (also counted there)
  kConnectOtherEngine, // connect() from an explicitly bound port whose replies another engine
                       // receives (several engines on one port): -EADDRNOTAVAIL
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(TcpStat::kCount)> kTcpStatNames = {
    "tcp_segments_in",      "tcp_segments_out",   "tcp_retransmits",        "tcp_active_opens",
    "tcp_passive_opens",    "tcp_attempt_fails",  "tcp_established_resets", "tcp_resets_sent",
    "tcp_resets_received",  "tcp_challenge_acks", "tcp_acks_skipped", "tcp_listen_overflows",   "tcp_abort_on_timeout",
    "tcp_abort_on_close",   "tcp_abort_on_linger", "tcp_abort_on_data", "tcp_fin_wait2_timeouts", "tcp_time_wait_recycled",
    "tcp_bytes_in",         "tcp_bytes_out",      "tcp_bytes_retransmitted", "tcp_timeouts",
    "tcp_fast_retransmits", "tcp_sack_recoveries", "tcp_reno_recoveries",  "tcp_delayed_acks",
    "tcp_ofo_queued",       "tcp_dsacks_sent",    "tcp_dsacks_received",    "tcp_window_probes",
    "tcp_keepalive_probes", "tcp_window_updates", "tcp_loss_probes",     "tcp_loss_probe_recoveries",
    "tcp_lost_retransmits", "tcp_syncookies_sent", "tcp_syncookies_recv", "tcp_syncookies_failed",
    "tcp_req_q_full_do_cookies", "tcp_req_q_full_drop", "tcp_half_open_exhausted",
    "tcp_connect_other_engine"};

// Segments not used, one reason each.
enum class TcpDrop : std::uint8_t {
  kBadOptions,         // malformed TCP options
  kNoSocket,           // no connection and no listener: answered with RST
  kListenDrops,        // ListenDrops: SYN queue (tcp_max_syn_backlog, no cookies) or accept queue full
  kOutOfWindow,        // unacceptable segment (RFC 9293 3.10.7.4 first check), answered with ACK
  kBadAck,             // ACK of something not yet sent (answered with ACK) or in SYN_RCVD (RST)
  kOldAck,             // ACK below SND.UNA - MAX.SND.WND (RFC 5961 5.2: challenge ACK)
  kRstOutOfWindow,     // RST whose sequence number is outside the window
  kSynInWindow,        // SYN on a synchronized connection (RFC 5961 4.2: challenge ACK)
  kNoAck,              // segment without ACK where one is required
  kFullAcceptQueue,    // third ACK met a full accept queue (Linux keeps the half-open entry)
  kNoBuffer,           // the mempool or the socket slab was empty
  kUnexpectedSyn,      // SYN to a socket in a state that does not take one
  kSynFin,             // SYN with FIN to a listener (Linux discards it)
  kPaws,               // PAWSEstab: timestamp older than TS.Recent (RFC 7323 5.3), answered with ACK
  kOfoFull,            // TCPOFODrop: the out-of-order queue was full
  kBeyondWindow,       // TCPZeroWindowDrop: payload beyond the window we announced (trimmed)
  kDuplicateData,      // data entirely received before (answered with ACK / D-SACK)
  kInvalidSack,        // TCPSACKDiscard: SACK blocks outside SND.UNA..SND.NXT
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(TcpDrop::kCount)> kTcpDropNames = {
    "bad_options",   "no_socket", "listen_drops",       "out_of_window", "bad_ack", "old_ack", "rst_out_of_window",
    "syn_in_window", "no_ack",    "full_accept_queue",  "no_buffer",     "unexpected_syn", "syn_fin",
    "paws",          "ofo_full",  "beyond_window",      "duplicate_data", "invalid_sack"};

}  // namespace synwave::tcp
