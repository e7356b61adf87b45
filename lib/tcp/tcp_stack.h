// The TCP layer of one engine on one local address: connections, listeners, their timers, and a
// BSD-socket-shaped API for the applications that run on the engine.
//
// It does no I/O and reads no clock. Segments come in through input() with the IPv4 header they
// arrived under; segments go out through the SegmentSink as IPv4 packets in mbufs; time is the
// TimerWheel's now(), which the owner advances (the engine once per loop iteration, a test harness
// whenever it likes). Everything here runs on the owning engine's thread; only the counters and the
// published connection list (for_each_published) may be read from other threads.
//
// Errors follow Linux: calls return a value >= 0 on success and -errno on failure (-EAGAIN,
// -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -EADDRINUSE, -EADDRNOTAVAIL, -ENOTCONN, -EPIPE, -EBADF,
// -EINVAL, -EISCONN, -EALREADY, -EINPROGRESS, -EOPNOTSUPP, -EMFILE).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "base/addr.h"
#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "table/keys.h"
#include "tcp/state.h"
#include "tcp/tcp_counters.h"
#include "timer/timer_wheel.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace synwave::tcp {

struct Endpoint {
  Ipv4Addr addr;
  std::uint16_t port = 0;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Readiness, as a bit mask (the meanings of epoll's EPOLLIN / EPOLLOUT / EPOLLRDHUP / EPOLLHUP /
// EPOLLERR, with connect and accept completion named).
enum Readiness : std::uint32_t {
  kReadable = 1u << 0,     // recv() would not block: data, end of stream, or an error
  kWritable = 1u << 1,     // send() would not block
  kConnected = 1u << 2,    // an active open has completed (stays set; the socket is writable)
  kAcceptReady = 1u << 3,  // a listener has a connection to accept()
  kPeerClosed = 1u << 4,   // the peer's FIN arrived (EPOLLRDHUP)
  kClosed = 1u << 5,       // the connection is over: both directions closed, reset or timed out
  kError = 1u << 6,        // SO_ERROR is set (getsockopt(kError) reads and clears it)
};

enum class SockOpt : std::uint8_t {
  kReuseAddr,   // SO_REUSEADDR: bind() despite TIME_WAIT connections on the port (Linux rules)
  kLinger,      // SO_LINGER with l_onoff=1, l_linger=0 when value == 0: close() sends RST
  kError,       // SO_ERROR (get only): the pending error as a positive errno, then cleared
  kNoDelay,     // TCP_NODELAY: Nagle off
  kKeepAlive,   // SO_KEEPALIVE: probe an idle connection (tcp_keepalive_* or the three below)
  kMaxSeg,      // TCP_MAXSEG: the MSS we announce (before connect/listen)
  kSndBuf,      // SO_SNDBUF: bytes; stored doubled as Linux does, clamped to tcp_wmem's max; stops auto-tuning
  kRcvBuf,      // SO_RCVBUF: bytes; doubled, clamped to tcp_rmem's max (before connect/listen for the scale)
  kKeepIdle,    // TCP_KEEPIDLE: seconds idle before the first probe (1..32767)
  kKeepIntvl,   // TCP_KEEPINTVL: seconds between probes (1..32767)
  kKeepCnt,     // TCP_KEEPCNT: unanswered probes before the connection is reset (1..127)
  kCongestion,  // TCP_CONGESTION: a CongestionAlgorithm value (congestion.h), before the connection starts
  kCork,        // TCP_CORK: hold partial segments (even with TCP_NODELAY); clearing it sends them
};

enum class Shutdown : std::uint8_t { kRead, kWrite, kBoth };  // SHUT_RD, SHUT_WR, SHUT_RDWR

// Where a segment goes: an IPv4 packet (header and TCP checksum complete) starting at the mbuf's
// data, with headroom for the link header. The sink owns the mbuf.
using SegmentSink = void (*)(void* context, rte_mbuf* packet, Ipv4Addr destination);

// One connection as other threads may see it (see for_each_published).
struct ConnectionSummary {
  int socket = -1;
  State state = State::kClosed;
  Endpoint local;
  Endpoint remote;
  const char* timer = "off";     // the pending timer's name as ss -o prints it: "on", "keepalive", "timewait", ...
  std::int64_t timer_deadline_ns = 0;  // Instant of expiry, when a timer is pending
  std::uint32_t send_queue = 0;  // bytes not yet acknowledged (ss Send-Q); listeners: backlog
  std::uint32_t recv_queue = 0;  // bytes not yet read (ss Recv-Q); listeners: accept queue length
  std::uint8_t retransmits = 0;
  // ss -i
  std::uint32_t srtt_us = 0, rttvar_us = 0, rto_ms = 0, mss = 0, cwnd = 0, ssthresh = 0;  // cwnd/ssthresh in segments
  std::uint32_t total_retransmits = 0;
  const char* congestion = "cubic";  // the algorithm's Linux name
  std::uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool sack = false, timestamps = false;
};

class TcpStack {
 public:
  struct Params {
    Ipv4Addr address;                // the local address; bind() to it or to 0.0.0.0
    Sysctl sysctl;                   // Linux tunables (config [sysctl])
    unsigned mtu = 1500;             // the MSS we announce is mtu - 40
    unsigned max_sockets = 65536;    // listeners and connections (control blocks) together
    // Half-open (SYN_RCVD) records of all listeners together, 64 bytes each; 0: max_sockets. When
    // all are taken a SYN is answered as when its listener's SYN queue is full (cookie or drop).
    unsigned max_half_open = 0;
    rte_mempool* pool = nullptr;     // segments this layer builds come from here
    std::array<std::uint8_t, 16> isn_secret{};  // RFC 6528 key; a random draw in production
    std::string table_name = "tcp";  // unique per process: names the DPDK hash table
    bool tx_checksum_offload = false;  // leave IPv4/TCP checksums to the NIC (RTE_MBUF_F_TX_*_CKSUM)
    bool tso = false;                  // hand the NIC segments up to 64 KiB (RTE_MBUF_F_TX_TCP_SEG)
    // When engines share a port, which connections' packets reach this stack (RSS or software
    // steering decides by 4-tuple). connect() then picks only ephemeral ports whose replies come
    // here, and refuses an explicitly bound port whose replies would not (-EADDRNOTAVAIL, counted
    // in tcp_connect_other_engine). Null `receives`: one engine, every tuple comes here.
    struct FlowAffinity {
      bool (*receives)(const void* context, const FourTuple& tuple) = nullptr;
      const void* context = nullptr;
    } affinity;
  };

  // Errors: the connection table could not be created (memory, duplicate name).
  static absl::StatusOr<std::unique_ptr<TcpStack>> create(const Params& params, TimerWheel& timers,
                                                          SegmentSink sink, void* sink_context);
  ~TcpStack();
  TcpStack(const TcpStack&) = delete;
  TcpStack& operator=(const TcpStack&) = delete;

  // --- The data path -------------------------------------------------------------------------

  // Takes ownership of a received IPv4 datagram carrying TCP: `packet`'s data starts at the IPv4
  // header `ip` describes (already validated, addressed to us). Processes it to the end.
  void input(rte_mbuf* packet, const wire::Ipv4View& ip);

  // --- The socket API (engine thread only) ----------------------------------------------------

  // Socket ids are (generation << 20) | slot, with slot < Params::max_sockets: applications may
  // index per-connection arrays by slot_of(id) and keep the whole id to detect reuse.
  static constexpr std::uint32_t slot_of(int s) { return static_cast<std::uint32_t>(s) & 0xfffff; }

  int socket();                                          // a fresh CLOSED socket, or -EMFILE
  int bind(int s, Endpoint local);                       // port 0 picks an ephemeral port
  int listen(int s, int backlog);                        // accept queue: min(backlog, somaxconn) + 1 (Linux)
  int accept(int s, Endpoint* peer = nullptr);           // a new socket, or -EAGAIN
  int connect(int s, Endpoint remote);                   // -EINPROGRESS: wait for kConnected or kError
  long send(int s, std::span<const std::uint8_t> data);  // bytes queued, -EAGAIN, -EPIPE, -ENOTCONN
  long recv(int s, std::span<std::uint8_t> buffer);      // bytes read, 0 at end of stream, -EAGAIN
  int shutdown(int s, Shutdown how);
  int close(int s);                                      // the socket id is invalid afterwards
  int setsockopt(int s, SockOpt option, int value);
  int getsockopt(int s, SockOpt option, int* value);

  std::uint32_t readiness(int s) const;  // Readiness bits now; 0 for an invalid socket
  std::optional<State> state(int s) const;
  std::optional<Endpoint> local_endpoint(int s) const;
  std::optional<Endpoint> remote_endpoint(int s) const;

  // Sockets whose readiness changed since the last call, each once, in the order they changed.
  // Appends up to `out.size()` ids; returns how many.
  std::size_t take_ready(std::span<int> out);

  // --- Observability ---------------------------------------------------------------------------

  // Readable from any thread.
  const CounterSet<TcpStat>& stats() const;
  const CounterSet<TcpDrop>& drops() const;
  const CounterSet<wire::TcpError>& header_errors() const;
  // Connections per state, from the transition counters (any thread).
  std::array<std::uint64_t, kStateCount> state_counts() const;
  std::uint64_t transitions(State from, State to) const;
  // Every open socket's summary; from any thread (a consistent snapshot of each entry).
  template <typename Fn>
  void for_each_published(Fn&& fn) const;

  const Params& params() const;
  TimerWheel& timers();

  class Impl;

 private:
  explicit TcpStack(std::unique_ptr<Impl> impl);
  bool read_published(std::size_t index, ConnectionSummary& out) const;
  std::size_t published_capacity() const;
  std::unique_ptr<Impl> impl_;
};

template <typename Fn>
void TcpStack::for_each_published(Fn&& fn) const {
  ConnectionSummary summary;
  for (std::size_t i = 0, n = published_capacity(); i < n; ++i)
    if (read_published(i, summary)) fn(summary);
}

}  // namespace synwave::tcp
