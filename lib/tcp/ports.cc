// Local ports: Linux's bind() conflict rules (SO_REUSEADDR, TIME_WAIT), bind to port 0, and the
// ephemeral port of a connect() without bind(). Control path: loops here are bounded by the
// number of sockets on one port or by the size of ip_local_port_range.
#include <cerrno>

#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {
namespace {

bool addresses_overlap(Ipv4Addr a, Ipv4Addr b) { return a.value == 0 || b.value == 0 || a == b; }

}  // namespace

// Linux inet_bind_conflict(): another socket on the port conflicts unless both have SO_REUSEADDR
// and the other is not listening. TIME_WAIT entries count, with the SO_REUSEADDR they had, which is
// why a restarted server binds at once only when it (and its predecessor) set SO_REUSEADDR.
bool TcpStack::Impl::port_conflict(const Tcb& t, Ipv4Addr addr, std::uint16_t port) const {
  for (std::uint32_t i = port_head[port]; i != kNoIndex; i = slab[i].next_on_port) {
    const Tcb& other = slab[i];
    if (&other == &t || !addresses_overlap(addr, other.tuple.local)) continue;
    if (t.reuse_addr && other.reuse_addr && other.state != State::kListen) continue;
    return true;
  }
  return false;
}

int TcpStack::Impl::bind_port(Tcb& t, Ipv4Addr addr, std::uint16_t port) {
  if (port == 0) {
    // bind(port 0): a port nobody uses. Linux prefers odd ports here, leaving even ones to connect().
    const unsigned low = params.sysctl.ip_local_port_range_low;
    const unsigned high = params.sysctl.ip_local_port_range_high;
    const unsigned size = high - low + 1;
    const unsigned start = ephemeral_counter++ % size;
    for (int parity = 1; parity >= 0 && port == 0; --parity) {
      for (unsigned i = 0; i < size; ++i) {
        const unsigned candidate = low + (start + i) % size;
        if ((candidate & 1u) != static_cast<unsigned>(parity)) continue;
        if (port_head[candidate] == kNoIndex) {
          port = static_cast<std::uint16_t>(candidate);
          break;
        }
      }
    }
    if (port == 0) return -EADDRINUSE;
  } else if (port_conflict(t, addr, port)) {
    return -EADDRINUSE;
  }
  t.tuple.local = addr;
  link_port(t, port);
  return 0;
}

void TcpStack::Impl::link_port(Tcb& t, std::uint16_t port) {
  t.tuple.local_port = port;
  t.prev_on_port = kNoIndex;
  t.next_on_port = port_head[port];
  if (t.next_on_port != kNoIndex) slab[t.next_on_port].prev_on_port = t.index;
  port_head[port] = t.index;
  t.listed_on_port = true;
  t.bound = true;
}

void TcpStack::Impl::unbind(Tcb& t) {
  if (!t.listed_on_port) return;
  if (t.prev_on_port != kNoIndex) slab[t.prev_on_port].next_on_port = t.next_on_port;
  else port_head[t.tuple.local_port] = t.next_on_port;
  if (t.next_on_port != kNoIndex) slab[t.next_on_port].prev_on_port = t.prev_on_port;
  t.next_on_port = t.prev_on_port = kNoIndex;
  t.listed_on_port = false;
  t.bound = false;
}

// Linux __inet_hash_connect(): a port shared only by other connect()s, whose 4-tuple is free.
// A 4-tuple held by TIME_WAIT is free only under tcp_tw_reuse=1 with timestamps and a last
// timestamp at least a second old (tcp_twsk_unique); tcp_tw_reuse=2 means loopback only, which
// never applies to a DPDK port.
int TcpStack::Impl::autobind_for_connect(Tcb& t, Endpoint remote) {
  auto tuple_free = [&](std::uint16_t port) {
    const FourTuple tuple{.local = params.address, .remote = remote.addr, .local_port = port,
                          .remote_port = remote.port};
    const TableEntry entry = find(tuple);
    if (entry.half_open != nullptr) return false;  // a peer's SYN holds the 4-tuple
    Tcb* other = entry.tcb;
    if (other == nullptr) return true;
    if (other->state == State::kTimeWait && other->orphan && params.sysctl.tcp_tw_reuse == 1 && other->ts_ok &&
        timers.now() - other->ts_recent_stamp >= std::chrono::seconds(1)) {
      stats.inc(TcpStat::kTimeWaitRecycled);
      release(*other);
      return true;
    }
    return false;
  };
  // With several engines on the port, a port is usable only when the reply to it reaches us.
  auto reply_comes_here = [&](std::uint16_t port) {
    const auto& affinity = params.affinity;
    if (affinity.receives == nullptr) return true;
    const FourTuple tuple{.local = params.address, .remote = remote.addr, .local_port = port,
                          .remote_port = remote.port};
    return affinity.receives(affinity.context, tuple);
  };
  if (t.bound) {
    if (t.tuple.local.value == 0) t.tuple.local = params.address;
    if (!reply_comes_here(t.tuple.local_port)) {
      stats.inc(TcpStat::kConnectOtherEngine);
      return -EADDRNOTAVAIL;
    }
    return tuple_free(t.tuple.local_port) ? 0 : -EADDRNOTAVAIL;
  }
  const unsigned low = params.sysctl.ip_local_port_range_low;
  const unsigned high = params.sysctl.ip_local_port_range_high;
  const unsigned size = high - low + 1;
  // A per-destination starting point (RFC 6056 algorithm 3 in spirit). After a success the offset
  // moves past every port this search looked at (Linux's table_perturb += i + 2), so the next
  // search starts where free ports are, instead of re-probing the ones just taken.
  const unsigned start = (remote.addr.value * 2654435761u ^ remote.port * 40503u) + ephemeral_counter;
  for (unsigned parity = 0; parity <= 1; ++parity) {
    for (unsigned j = 0; j < (size + 1) / 2; ++j) {
      const unsigned candidate = low + ((start + 2 * j) % size & ~1u) + parity;
      if (candidate > high) continue;
      const auto port = static_cast<std::uint16_t>(candidate);
      if (!reply_comes_here(port)) continue;
      bool shared_by_connects_only = true;
      for (std::uint32_t k = port_head[port]; k != kNoIndex; k = slab[k].next_on_port)
        if (!slab[k].autobound) shared_by_connects_only = false;
      if (!shared_by_connects_only || !tuple_free(port)) continue;
      ephemeral_counter += 2 * j + 2;
      t.tuple.local = params.address;
      link_port(t, port);
      t.autobound = true;
      return 0;
    }
  }
  return -EADDRNOTAVAIL;  // Linux: every ephemeral port is in use towards this destination
}

}  // namespace synwave::tcp
