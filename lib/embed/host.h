// One synwave TCP engine running inside a test harness's own process, without a NIC.
//
// A Host owns a mempool, a TimerWheel and a TcpStack on one local IPv4 address. The harness:
//   - hands it IPv4 datagrams as plain bytes (inject) and collects the datagrams it sends
//     (take_output / next_output), in order;
//   - owns the clock: time is virtual, starts at Options::start and only moves when the harness
//     calls advance_to / advance_by; the timers due by then (retransmissions, TIME_WAIT, ...) fire
//     during that call, so a 63-second SYN give-up costs microseconds;
//   - uses the BSD-socket-shaped API of tcp::TcpStack, with Linux's -errno values, plus blocking
//     calls: sockets are blocking by default (as in Linux) and set_nonblocking() is O_NONBLOCK.
//
// The project's own virtual-time tests use it; script-driven conformance tools (packetdrill-style)
// drive the stack through it alone, usually through the C API in embed/synwave_embed.h.
// docs/embedding.md has the whole story and an example.
//
// Threading. Every method may be called from any thread: all of them take one internal mutex, so
// the TCP layer still sees one caller at a time. A blocking call (accept, connect, send, recv on a
// blocking socket) that cannot complete releases the mutex and waits until another thread changes
// something (inject, advance_*, another socket call), then tries again. A blocking call therefore
// needs a second thread that drives packets and time, as packetdrill's syscall threads do; called
// from the only thread, it waits forever (or until its virtual-time timeout, which that thread
// cannot move either). interrupt() makes every call blocked at that moment return -EINTR;
// destroying the Host does the same and waits for those calls to return (do not start new calls
// while it is being destroyed).
//
// DPDK. The first Host of a process starts the EAL if nobody has (no hugepages, no devices, no
// shared files: --no-huge --no-shconf -m 256 --no-pci -l 0 --no-telemetry, file prefix
// synwave_embed_<pid>); a process that already started its own EAL keeps it. The calling thread's
// CPU affinity is restored after rte_eal_init (which pins it to lcore 0).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "base/addr.h"
#include "base/counter.h"
#include "base/time.h"
#include "config/config.h"
#include "tcp/state.h"
#include "tcp/tcp_stack.h"
#include "timer/timer_wheel.h"

struct rte_mempool;

namespace synwave::embed {

// What inject() did with a datagram. Everything but kDelivered is counted and dropped.
enum class InjectResult : std::uint8_t {
  kDelivered,  // a valid IPv4 datagram carrying TCP, addressed to us: handed to TcpStack::input
  kMalformed,  // Ipv4View::parse refused it (truncated, bad checksum, fragment, ...)
  kNotTcp,     // a valid datagram of another protocol
  kNotForUs,   // destination is not Options::address
  kTooBig,     // larger than one mbuf of this Host can hold (see Options::mtu)
  kNoBuffer,   // the mempool is empty (mbufs are leaking, or Options::mbufs is too small)
  kCount
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(InjectResult::kCount)>
    kInjectResultNames = {"delivered", "malformed", "not_tcp", "not_for_us", "too_big", "no_buffer"};

constexpr std::string_view inject_result_name(InjectResult r) {
  return kInjectResultNames[static_cast<std::size_t>(r)];
}

// The ISN secret a Host uses unless told otherwise: fixed, so that runs are reproducible.
inline constexpr std::array<std::uint8_t, 16> kDefaultIsnSecret = {
    's', 'y', 'n', 'w', 'a', 'v', 'e', '-', 'e', 'm', 'b', 'e', 'd', '-', '0', '1'};

class Host {
 public:
  struct Options {
    Ipv4Addr address;        // the local address; datagrams to other addresses are not delivered
    Sysctl sysctl;           // Linux tunables, Linux defaults
    unsigned mtu = 1500;     // 68..9000; the MSS announced is mtu - 40
    std::array<std::uint8_t, 16> isn_secret = kDefaultIsnSecret;
    Duration tick = std::chrono::milliseconds(1);  // the timer wheel's resolution
    Instant start = Instant{};                     // now() before the first advance
    unsigned max_sockets = 4096;
    unsigned mbufs = 8191;   // mempool size: the bound on packets queued inside the stack
  };

  // Starts the EAL if needed, then builds the Host. Errors: InvalidArgument for options out of
  // range, Internal when the EAL, the mempool or the TCP layer cannot be created.
  static absl::StatusOr<std::unique_ptr<Host>> create(const Options& options);
  // Makes calls blocked in other threads return -EINTR, waits for them, then frees everything.
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // --- Packets -----------------------------------------------------------------------------------

  // Copies `datagram` (an IPv4 header and its payload, no link header) into an mbuf and, when it is
  // a valid TCP datagram addressed to us, hands it to the TCP layer, which processes it to the end
  // (its answers are in the output queue when this returns). Wakes blocked calls.
  InjectResult inject(std::span<const std::uint8_t> datagram);
  // Every IPv4 datagram the stack sent since the last take_output / next_output, oldest first.
  std::vector<std::vector<std::uint8_t>> take_output();
  // The oldest datagram not yet taken, if any.
  std::optional<std::vector<std::uint8_t>> next_output();
  // Copies the oldest datagram into `buffer` and removes it: its length; 0 when there is none;
  // -EMSGSIZE (the datagram stays queued) when `buffer` is too small.
  long next_output(std::span<std::uint8_t> buffer);
  // Waits, in real time, until the output queue is not empty: for a harness whose other thread is
  // inside a call that sends (a blocking connect's SYN). True when output is waiting.
  bool wait_for_output(std::chrono::nanoseconds real_timeout);
  // Datagrams seen by inject(), per outcome. Readable from any thread without the mutex.
  const CounterSet<InjectResult>& inject_counters() const { return inject_counters_; }

  // --- Virtual time ------------------------------------------------------------------------------

  Instant now() const;
  // Moves time forward to `t` (an earlier instant counts as now()), firing every timer due by then
  // in deadline order; segments they send are in the output queue afterwards. Wakes blocked calls.
  // Returns the number of timers that fired.
  std::size_t advance_to(Instant t);
  std::size_t advance_by(Duration d);  // advance_to(now() + d); d < 0 counts as 0
  // The instant the next timer fires (a tick boundary), or nullopt when none is pending.
  std::optional<Instant> next_timer() const;

  // --- The socket API (TcpStack's, see tcp/tcp_stack.h; -errno on failure) ----------------------

  int socket();
  int bind(int s, tcp::Endpoint local);
  int listen(int s, int backlog);
  // Blocking: waits for kAcceptReady. The new socket is blocking; it inherits the timeouts.
  int accept(int s, tcp::Endpoint* peer = nullptr);
  // Blocking: waits until the handshake is over; 0 once ESTABLISHED, else the error SO_ERROR held
  // (-ECONNREFUSED, -ETIMEDOUT, ...). After a send timeout: -EINPROGRESS (the attempt goes on).
  int connect(int s, tcp::Endpoint remote);
  // Blocking: waits until every byte is queued (returns data.size()); a timeout or interruption
  // after some bytes were queued returns their count.
  long send(int s, std::span<const std::uint8_t> data);
  // Blocking: waits until at least one byte, end of stream or an error is there.
  long recv(int s, std::span<std::uint8_t> buffer);
  int shutdown(int s, tcp::Shutdown how);
  int close(int s);
  int setsockopt(int s, tcp::SockOpt option, int value);
  int getsockopt(int s, tcp::SockOpt option, int* value);
  std::uint32_t readiness(int s) const;  // tcp::Readiness bits; 0 for an invalid socket
  std::optional<tcp::State> state(int s) const;
  std::optional<tcp::Endpoint> local_endpoint(int s) const;
  std::optional<tcp::Endpoint> remote_endpoint(int s) const;
  std::size_t take_ready(std::span<int> out);

  // Like fcntl(O_NONBLOCK): a non-blocking call returns -EAGAIN (-EINPROGRESS from connect)
  // instead of waiting. 0, or -EBADF.
  int set_nonblocking(int s, bool nonblocking);
  // Like SO_RCVTIMEO (recv, accept) and SO_SNDTIMEO (send, connect), in VIRTUAL time: a blocked
  // call gives up (-EAGAIN; connect: -EINPROGRESS) once the clock has moved `timeout` past the
  // instant it started waiting. Zero (the default) waits forever. 0, -EBADF, or -EINVAL (< 0).
  int set_recv_timeout(int s, Duration timeout);
  int set_send_timeout(int s, Duration timeout);
  // Every call blocked right now returns -EINTR (calls made afterwards block normally).
  void interrupt();
  // Calls blocked right now (a harness can wait for its syscall thread to be parked).
  std::size_t blocked_calls() const;

  // --- For the project's own tests ---------------------------------------------------------------

  // Runs fn(TcpStack&) under the mutex (counters, state counts, anything the API above lacks).
  // fn must not call back into this Host.
  template <typename Fn>
  decltype(auto) with_stack(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(*stack_);
  }
  // Mbufs of this Host's pool in use (queued in the stack): 0 when nothing is held.
  unsigned mbufs_in_use() const;
  const Options& options() const { return options_; }

 private:
  // What the socket API keeps besides TcpStack: the file-status flag and the timeouts.
  struct SocketMode {
    bool nonblocking = false;
    Duration recv_timeout{0};
    Duration send_timeout{0};
  };

  explicit Host(const Options& options);
  static void on_segment(void* context, rte_mbuf* packet, Ipv4Addr destination);
  // Something another blocked call may be waiting for happened: wake them all. Mutex held.
  void changed();
  SocketMode mode(int s) const;
  // Calls `attempt` until it returns something other than `would_block`, waiting for a change
  // between attempts. -EINTR when interrupted or destroyed; `would_block` after `timeout`.
  template <typename Attempt>
  long block(std::unique_lock<std::mutex>& lock, Duration timeout, long would_block,
             Attempt&& attempt);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_cv_;
  std::uint64_t changes_ = 0;     // bumped by changed()
  std::uint64_t interrupts_ = 0;  // bumped by interrupt()
  std::size_t blocked_ = 0;       // calls inside block() waiting
  bool closing_ = false;          // the destructor has started

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<TimerWheel> timers_;   // outlives stack_: its timers live in the stack
  std::unique_ptr<tcp::TcpStack> stack_;
  std::deque<std::vector<std::uint8_t>> output_;
  std::unordered_map<int, SocketMode> modes_;  // sockets whose mode differs from the default
  CounterSet<InjectResult> inject_counters_;
};

}  // namespace synwave::embed
