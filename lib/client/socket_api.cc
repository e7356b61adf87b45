// The C socket API of synwave_client.h over the shared region (client.h).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "client/client.h"
#include "client/synwave_client.h"

using synwave::client::Client;
using synwave::client::fail;
using synwave::client::Kind;
using synwave::client::Socket;
namespace shim = synwave::shim;

namespace {

Client& client() { return Client::get(); }

// The socket behind handle `s`, or nullptr with errno set (EBADF, or the attach error).
Socket* lookup(int s) {
  if (int r = client().ensure_attached(); r < 0) {
    errno = -r;
    return nullptr;
  }
  Socket* sock = client().socket(s);
  if (sock == nullptr) errno = EBADF;
  return sock;
}

shim::SocketShared& shared(int s) { return client().region().socket(static_cast<std::uint32_t>(s)); }

std::uint32_t capacity() { return client().region().g.buffer_bytes; }

bool local_address(std::uint32_t addr) {
  if (addr == 0) return true;
  const shim::RegionHeader& h = client().region().header();
  for (std::uint32_t a : h.local_addresses)
    if (a == addr) return true;
  return false;
}

int store_sockaddr(std::uint32_t addr, std::uint16_t port, sockaddr* out, socklen_t* len) {
  if (out == nullptr || len == nullptr) return 0;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = addr;
  in.sin_port = htons(port);
  std::memcpy(out, &in, std::min<std::size_t>(*len, sizeof in));
  *len = sizeof in;
  return 0;
}

int read_sockaddr(const sockaddr* addr, socklen_t len, std::uint32_t& ip, std::uint16_t& port) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return EINVAL;
  if (addr->sa_family != AF_INET) return EAFNOSUPPORT;
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof in);
  ip = in.sin_addr.s_addr;
  port = ntohs(in.sin_port);
  return 0;
}

// The engine's pending error, once (SO_ERROR semantics).
int take_error(int s, Socket& sock) {
  const std::uint32_t flags = shared(s).flags.load(std::memory_order_acquire);
  if (!(flags & shim::kFlagError) || sock.error_consumed) return 0;
  sock.error_consumed = true;
  return static_cast<int>(shared(s).error.load(std::memory_order_relaxed));
}

// Records an option for the engine to apply when the socket opens, or sends it to the
// engine(s) that hold it now.
int set_option(int s, Socket& sock, shim::Option option, int value) {
  if (sock.kind == Kind::kCreated) {
    shim::SocketShared& sh = shared(s);
    for (std::uint32_t i = 0; i < sh.option_count; ++i) {
      if (sh.options[i].option == static_cast<std::uint32_t>(option)) {
        sh.options[i].value = value;
        return 0;
      }
    }
    if (sh.option_count == shim::kMaxOptions) return fail(ENOMEM);
    sh.options[sh.option_count++] = {static_cast<std::uint32_t>(option), value};
    return 0;
  }
  shim::Request req;
  req.op = shim::Op::kSetOption;
  req.socket = static_cast<std::uint32_t>(s);
  req.args[0] = static_cast<std::int64_t>(option);
  req.args[1] = value;
  const std::int64_t r = sock.kind == Kind::kListener ? client().call_all(req) : client().call(sock.engine, req, true);
  return r < 0 ? fail(static_cast<int>(-r)) : 0;
}

int get_option(int s, Socket& sock, shim::Option option, int fallback, int& value) {
  if (sock.kind == Kind::kCreated) {
    const shim::SocketShared& sh = shared(s);
    value = fallback;
    for (std::uint32_t i = 0; i < sh.option_count; ++i)
      if (sh.options[i].option == static_cast<std::uint32_t>(option)) value = sh.options[i].value;
    return 0;
  }
  shim::Request req;
  req.op = shim::Op::kGetOption;
  req.socket = static_cast<std::uint32_t>(s);
  req.args[0] = static_cast<std::int64_t>(option);
  std::int64_t values[5] = {};
  const std::int64_t r = client().call(sock.kind == Kind::kListener ? 0 : sock.engine, req, true, values);
  if (r < 0) return fail(static_cast<int>(-r));
  value = static_cast<int>(values[0]);
  return 0;
}

bool connected(int s, const Socket& sock) {
  return sock.accepted || (shared(s).flags.load(std::memory_order_acquire) & shim::kFlagConnected);
}

// Linux raises SIGPIPE on a write to a closed connection unless MSG_NOSIGNAL.
ssize_t broken_pipe(int flags) {
  if (!(flags & MSG_NOSIGNAL)) ::raise(SIGPIPE);
  return fail(EPIPE);
}

ssize_t do_send(int s, const iovec* iov, int iovcnt, int flags) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (sock->kind != Kind::kConnection) return fail(sock->kind == Kind::kListener ? ENOTCONN : ENOTCONN);
  std::size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  if (total == 0) return 0;
  std::lock_guard lock(sock->tx_mutex);
  const bool nonblocking = sock->nonblocking || (flags & MSG_DONTWAIT);
  shim::SocketShared& sh = shared(s);
  std::uint8_t* ring = client().region().tx_bytes(static_cast<std::uint32_t>(s));
  const std::uint32_t cap = capacity();
  std::size_t done = 0;
  int vi = 0;
  std::size_t voff = 0;
  while (done < total) {
    if (client().daemon_down()) return done > 0 ? static_cast<ssize_t>(done) : broken_pipe(flags);
    const std::uint32_t f = sh.flags.load(std::memory_order_acquire);
    if (int e = take_error(s, *sock); e != 0) {
      if (done > 0) {
        sock->error_consumed = false;  // reported by the next call
        return static_cast<ssize_t>(done);
      }
      return fail(e);
    }
    if (sock->shut_write || (f & (shim::kFlagClosed | shim::kFlagWriteShut)))
      return done > 0 ? static_cast<ssize_t>(done) : broken_pipe(flags);
    if (!connected(s, *sock)) {
      if (nonblocking) return done > 0 ? static_cast<ssize_t>(done) : fail(EAGAIN);
      if (sock->closed.load(std::memory_order_acquire)) return fail(EBADF);
      if (client().wait(-1) == -EINTR && done == 0) return fail(EINTR);
      continue;
    }
    // Acquire pairs with the engine's store of tx_tail: the room it freed is ours again.
    const std::uint32_t tail = sh.tx_tail.value.load(std::memory_order_seq_cst);
    const std::uint32_t used = sock->tx_head - tail;
    if (used > cap) return fail(EPROTO);
    std::uint32_t room = cap - used;
    if (room == 0) {
      // Full: ask for an event when the engine makes room (Dekker with its tx_tail store and
      // its swap of tx_wanted), and look once more.
      sh.tx_wanted.store(1, std::memory_order_seq_cst);
      if (sh.tx_tail.value.load(std::memory_order_seq_cst) != tail) continue;
      if (nonblocking) return done > 0 ? static_cast<ssize_t>(done) : fail(EAGAIN);
      if (sock->closed.load(std::memory_order_acquire)) return fail(EBADF);
      if (client().wait(-1) == -EINTR) return done > 0 ? static_cast<ssize_t>(done) : fail(EINTR);
      continue;
    }
    std::uint32_t copied = 0;
    while (room > 0 && vi < iovcnt) {
      const std::size_t left = iov[vi].iov_len - voff;
      const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(left, room));
      shim::ring_write(ring, cap, sock->tx_head + copied, static_cast<const std::uint8_t*>(iov[vi].iov_base) + voff, n);
      copied += n;
      room -= n;
      voff += n;
      if (voff == iov[vi].iov_len) {
        ++vi;
        voff = 0;
      }
    }
    sock->tx_head += copied;
    done += copied;
    // seq_cst: paired with the engine's doorbell clear and tx_head load (ring_doorbell).
    sh.tx_head.value.store(sock->tx_head, std::memory_order_seq_cst);
    client().ring_doorbell(s, *sock);
    if (nonblocking) break;
  }
  return static_cast<ssize_t>(done);
}

ssize_t do_recv(int s, const iovec* iov, int iovcnt, int flags) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (sock->kind != Kind::kConnection) return fail(sock->kind == Kind::kListener ? ENOTCONN : ENOTCONN);
  std::size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  std::lock_guard lock(sock->rx_mutex);
  const bool nonblocking = sock->nonblocking || (flags & MSG_DONTWAIT);
  shim::SocketShared& sh = shared(s);
  const std::uint8_t* ring = client().region().rx_bytes(static_cast<std::uint32_t>(s));
  const std::uint32_t cap = capacity();
  for (;;) {
    // Flags first, then head: the engine publishes the bytes before the end of stream.
    const std::uint32_t f = sh.flags.load(std::memory_order_acquire);
    const std::uint32_t head = sh.rx_head.value.load(std::memory_order_acquire);
    const std::uint32_t available = head - sock->rx_tail;
    if (available > cap) return fail(EPROTO);
    if (available > 0) {
      if (total == 0) return 0;
      std::uint32_t copied = 0;
      for (int i = 0; i < iovcnt && copied < available; ++i) {
        const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(iov[i].iov_len, available - copied));
        shim::ring_read(ring, cap, sock->rx_tail + copied, iov[i].iov_base, n);
        copied += n;
      }
      if (flags & MSG_PEEK) return copied;
      sock->rx_tail += copied;
      // seq_cst: Dekker with the engine, which sets rx_wanted and then loads rx_tail.
      sh.rx_tail.value.store(sock->rx_tail, std::memory_order_seq_cst);
      if (sh.rx_wanted.exchange(0, std::memory_order_seq_cst) != 0) {
        shim::Request req;
        req.op = shim::Op::kReceiveSpace;
        req.socket = static_cast<std::uint32_t>(s);
        client().call(sock->engine, req, false);
      }
      return copied;
    }
    if (int e = take_error(s, *sock); e != 0) return fail(e);
    if (sock->shut_read || (f & (shim::kFlagPeerClosed | shim::kFlagClosed))) return 0;
    if (client().daemon_down()) return fail(ECONNRESET);
    if (nonblocking) return fail(EAGAIN);
    if (sock->closed.load(std::memory_order_acquire)) return fail(EBADF);
    if (client().wait(-1) == -EINTR) return fail(EINTR);
  }
}

}  // namespace

extern "C" {

int sw_attach(const char* prefix) {
  const int r = client().attach(prefix);
  return r < 0 ? fail(-r) : 0;
}

void sw_detach(void) { client().detach(); }

const char* sw_last_error(void) { return client().last_error().c_str(); }

int sw_socket(int domain, int type, int protocol) {
  if (domain != AF_INET) return fail(EAFNOSUPPORT);
  if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return fail(EPROTONOSUPPORT);
  if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
  if (int r = client().ensure_attached(); r < 0) return fail(-r);
  if (client().daemon_down()) return fail(ENETDOWN);
  const int s = client().allocate_socket();
  if (s < 0) return fail(-s);
  Socket& sock = client().at(s);
  sock.nonblocking = (type & SOCK_NONBLOCK) != 0;
  sock.cloexec = (type & SOCK_CLOEXEC) != 0;
  return s;
}

int sw_bind(int s, const sockaddr* addr, socklen_t len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  std::uint32_t ip;
  std::uint16_t port;
  if (int e = read_sockaddr(addr, len, ip, port); e != 0) return fail(e);
  if (sock->kind != Kind::kCreated || sock->bound) return fail(EINVAL);
  if (!local_address(ip)) return fail(EADDRNOTAVAIL);
  sock->bound = true;
  sock->bind_addr = ip;
  sock->bind_port = port;
  sock->local_addr = ip;
  sock->local_port = port;
  return 0;
}

int sw_listen(int s, int backlog) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (sock->kind == Kind::kListener) return 0;
  if (sock->kind != Kind::kCreated || sock->connect_started) return fail(EINVAL);
  if (client().daemon_down()) return fail(ENETDOWN);
  if (sock->reuseport && sock->bind_port != 0) {
    // SO_REUSEPORT on a port this process listens on already with SO_REUSEPORT (nginx's
    // `listen ... reuseport`: one listener per worker): this socket becomes another holder of
    // the same TCP listener on every engine, with an accept ring of its own; the engines deal
    // connections round-robin to the holders that accept, as Linux deals them to a reuseport
    // group. (Another process's listener on the port stays EADDRINUSE.)
    for (std::uint32_t other = 0; other < client().region().g.sockets; ++other) {
      Socket* peer = client().socket(static_cast<int>(other));
      if (peer == nullptr || peer == sock || peer->kind != Kind::kListener || !peer->reuseport ||
          peer->bind_port != sock->bind_port || peer->bind_addr != sock->bind_addr)
        continue;
      shim::Request share;
      share.op = shim::Op::kShare;
      share.socket = static_cast<std::uint32_t>(s);
      share.args[0] = client().app_id();
      share.args[1] = other;
      const std::int64_t r = client().call_all(share);
      sock->kind = Kind::kListener;
      if (r < 0) {
        sw_close(s);
        return fail(static_cast<int>(-r));
      }
      sock->local_addr = sock->bind_addr;
      sock->local_port = sock->bind_port;
      return 0;
    }
  }
  shim::Request req;
  req.op = shim::Op::kListen;
  req.socket = static_cast<std::uint32_t>(s);
  req.args[0] = sock->bind_addr;
  req.args[1] = sock->bind_port;
  req.args[2] = backlog;
  std::int64_t per_engine[shim::kMaxEngines] = {};
  const std::int64_t r = client().call_all(req, per_engine);
  sock->kind = Kind::kListener;
  if (r < 0) {
    // Some engine refused (EADDRINUSE, ...): take the others' listeners back down.
    sw_close(s);
    // The handle stays the application's until it closes it, as in Linux: give it a fresh
    // unopened socket under the same number is not possible once released, so report and
    // leave it closed (EBADF on later use).
    return fail(static_cast<int>(-r));
  }
  const shim::SocketShared& sh = shared(s);
  sock->local_addr = sock->bind_addr;
  sock->local_port = sh.local_port;
  return 0;
}

int sw_accept4(int s, sockaddr* addr, socklen_t* len, int flags) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (sock->kind != Kind::kListener) return fail(EINVAL);
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return fail(EINVAL);
  client().start_accepting(s, *sock);
  std::lock_guard lock(sock->rx_mutex);
  shim::SocketShared& sh = shared(s);
  const std::uint32_t engines = client().engines();
  const std::uint32_t cap = client().region().accept_capacity();
  for (;;) {
    if (client().daemon_down()) return fail(ENETDOWN);
    for (std::uint32_t k = 0; k < engines; ++k) {
      const std::uint32_t e = (sock->accept_next_engine + k) % engines;
      // Acquire pairs with the engine's release store: the entries before head are written.
      const std::uint32_t head = sh.accept_head[e].load(std::memory_order_acquire);
      const std::uint32_t queued = head - sock->accept_tail[e];
      if (queued == 0) continue;
      if (queued > cap) return fail(EPROTO);
      const int child = client().allocate_socket();
      if (child < 0) return fail(-child);  // EMFILE: the connection stays queued, as in Linux
      shim::AcceptEntry entry;
      std::memcpy(&entry, client().region().accept_entries(static_cast<std::uint32_t>(s), e) +
                              (sock->accept_tail[e] & (cap - 1)), sizeof entry);
      ++sock->accept_tail[e];
      sh.accept_tail[e].store(sock->accept_tail[e], std::memory_order_seq_cst);
      sock->accept_next_engine = e + 1;
      Socket& c = client().at(child);
      c.kind = Kind::kConnection;
      c.accepted = true;
      c.engine = e;
      c.nonblocking = (flags & SOCK_NONBLOCK) != 0;
      c.cloexec = (flags & SOCK_CLOEXEC) != 0;
      c.local_addr = entry.local_addr;
      c.local_port = sock->local_port;
      c.remote_addr = entry.remote_addr;
      c.remote_port = entry.remote_port;
      shim::Request adopt;
      adopt.op = shim::Op::kAdopt;
      adopt.socket = static_cast<std::uint32_t>(child);
      adopt.args[0] = entry.connection;
      client().call(e, adopt, false);
      // The engine stopped at a full ring and waits to hear that there is room.
      if (sh.rx_wanted.exchange(0, std::memory_order_seq_cst) != 0) {
        shim::Request room;
        room.op = shim::Op::kReceiveSpace;
        room.socket = static_cast<std::uint32_t>(s);
        for (std::uint32_t other = 0; other < engines; ++other) client().call(other, room, false);
      }
      store_sockaddr(c.remote_addr, c.remote_port, addr, len);
      return child;
    }
    if (sock->nonblocking) return fail(EAGAIN);
    if (sock->closed.load(std::memory_order_acquire)) return fail(EBADF);
    if (client().wait(-1) == -EINTR) return fail(EINTR);
  }
}

int sw_accept(int s, sockaddr* addr, socklen_t* len) { return sw_accept4(s, addr, len, 0); }

int sw_connect(int s, const sockaddr* addr, socklen_t len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  std::uint32_t ip;
  std::uint16_t port;
  if (int e = read_sockaddr(addr, len, ip, port); e != 0) return fail(e);
  if (sock->kind == Kind::kListener) return fail(EISCONN);
  if (sock->kind == Kind::kConnection) {
    if (connected(s, *sock)) return fail(EISCONN);
    if (int e = take_error(s, *sock); e != 0) return fail(e);
    if (sock->nonblocking) return fail(EALREADY);
  } else {
    if (client().daemon_down()) return fail(ENETDOWN);
    static std::atomic<std::uint32_t> next_engine{0};
    sock->engine = next_engine.fetch_add(1, std::memory_order_relaxed) % client().engines();
    shim::Request req;
    req.op = shim::Op::kConnect;
    req.socket = static_cast<std::uint32_t>(s);
    req.args[0] = ip;
    req.args[1] = port;
    req.args[2] = sock->bind_addr;
    req.args[3] = sock->bind_port;
    sock->connect_started = true;
    std::int64_t r = client().call(sock->engine, req, true);
    // From an explicitly bound port, only the engine that receives the replies may connect (the
    // others refuse with EADDRNOTAVAIL): try each engine once.
    for (std::uint32_t tried = 1; r == -EADDRNOTAVAIL && sock->bind_port != 0 && tried < client().engines(); ++tried) {
      sock->engine = (sock->engine + 1) % client().engines();
      r = client().call(sock->engine, req, true);
    }
    if (r < 0 && r != -EINPROGRESS) {
      sock->connect_started = false;
      return fail(static_cast<int>(-r));
    }
    sock->kind = Kind::kConnection;
    sock->remote_addr = ip;
    sock->remote_port = port;
    const shim::SocketShared& sh = shared(s);
    sock->local_addr = sh.local_addr;
    sock->local_port = sh.local_port;
    if (sock->nonblocking) return fail(EINPROGRESS);
  }
  shim::SocketShared& sh = shared(s);
  for (;;) {
    const std::uint32_t f = sh.flags.load(std::memory_order_acquire);
    if (f & shim::kFlagConnected) {
      sock->local_addr = sh.local_addr;
      sock->local_port = sh.local_port;
      return 0;
    }
    if (int e = take_error(s, *sock); e != 0) return fail(e);
    if (f & shim::kFlagClosed) return fail(ECONNREFUSED);
    if (client().daemon_down()) return fail(ENETDOWN);
    if (sock->closed.load(std::memory_order_acquire)) return fail(EBADF);
    if (client().wait(-1) == -EINTR) return fail(EINTR);
  }
}

ssize_t sw_read(int s, void* buf, size_t len) {
  iovec v{buf, len};
  return do_recv(s, &v, 1, 0);
}

ssize_t sw_write(int s, const void* buf, size_t len) {
  iovec v{const_cast<void*>(buf), len};
  return do_send(s, &v, 1, 0);
}

ssize_t sw_readv(int s, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  return do_recv(s, iov, iovcnt, 0);
}

ssize_t sw_writev(int s, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  return do_send(s, iov, iovcnt, 0);
}

ssize_t sw_recv(int s, void* buf, size_t len, int flags) {
  iovec v{buf, len};
  return do_recv(s, &v, 1, flags);
}

ssize_t sw_send(int s, const void* buf, size_t len, int flags) {
  iovec v{const_cast<void*>(buf), len};
  return do_send(s, &v, 1, flags);
}

int sw_shutdown(int s, int how) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (how < SHUT_RD || how > SHUT_RDWR) return fail(EINVAL);
  if (sock->kind != Kind::kConnection) return fail(ENOTCONN);
  if (how != SHUT_WR) sock->shut_read = true;
  if (how != SHUT_RD) sock->shut_write = true;
  shim::Request req;
  req.op = shim::Op::kShutdown;
  req.socket = static_cast<std::uint32_t>(s);
  req.args[0] = how;
  const std::int64_t r = client().call(sock->engine, req, true);
  return r < 0 ? fail(static_cast<int>(-r)) : 0;
}

int sw_close(int s) {
  // A forked child's inherited handle: forgotten here, the parent's socket untouched.
  if (client().close_inherited(s)) return 0;
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  for (int ep : std::vector<int>(sock->epolls)) {
    if (synwave::client::Epoll* e = client().epoll(ep)) {
      std::lock_guard lock(e->mutex);
      if (synwave::client::Interest* i = e->find(s)) *i = synwave::client::Interest{};
      std::erase(e->ready, s);
    }
  }
  sock->epolls.clear();
  const Kind kind = sock->kind;
  if (kind == Kind::kCreated) {
    client().free_socket(s);
    return 0;
  }
  // Not under the socket's mutexes: another thread may be blocked in a call on it (it returns
  // EBADF once it wakes, as the release below wakes it).
  sock->releases_owed = kind == Kind::kListener ? client().engines() : 1;
  sock->closed.store(true, std::memory_order_release);
  sock->kind = Kind::kClosing;
  if (client().daemon_down()) return 0;  // nothing to tell; the slot is not reused
  shim::Request req;
  req.op = shim::Op::kClose;
  req.socket = static_cast<std::uint32_t>(s);
  if (kind == Kind::kListener) {
    for (std::uint32_t e = 0; e < client().engines(); ++e) client().call(e, req, false);
  } else {
    client().call(sock->engine, req, false);
  }
  return 0;
}

int sw_setsockopt(int s, int level, int name, const void* value, socklen_t len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (value == nullptr) return fail(EFAULT);
  int v = 0;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    if (len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
    linger l;
    std::memcpy(&l, value, sizeof l);
    return set_option(s, *sock, shim::Option::kLinger, l.l_onoff && l.l_linger == 0 ? 0 : 1);
  }
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    const std::string algo(static_cast<const char*>(value), strnlen(static_cast<const char*>(value), len));
    if (algo == "cubic") return set_option(s, *sock, shim::Option::kCongestion, shim::kCongestionCubic);
    if (algo == "reno") return set_option(s, *sock, shim::Option::kCongestion, shim::kCongestionReno);
    return fail(ENOENT);
  }
  if (len < static_cast<socklen_t>(sizeof(int))) return fail(EINVAL);
  std::memcpy(&v, value, sizeof v);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: return set_option(s, *sock, shim::Option::kReuseAddr, v);
      case SO_REUSEPORT: sock->reuseport = v != 0; return 0;  // see sw_listen
      case SO_KEEPALIVE: return set_option(s, *sock, shim::Option::kKeepAlive, v);
      case SO_SNDBUF: return set_option(s, *sock, shim::Option::kSndBuf, v);
      case SO_RCVBUF: return set_option(s, *sock, shim::Option::kRcvBuf, v);
      default: return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return set_option(s, *sock, shim::Option::kNoDelay, v);
      case TCP_CORK: return set_option(s, *sock, shim::Option::kCork, v);
      case TCP_MAXSEG: return set_option(s, *sock, shim::Option::kMaxSeg, v);
      case TCP_KEEPIDLE: return set_option(s, *sock, shim::Option::kKeepIdle, v);
      case TCP_KEEPINTVL: return set_option(s, *sock, shim::Option::kKeepIntvl, v);
      case TCP_KEEPCNT: return set_option(s, *sock, shim::Option::kKeepCnt, v);
      default: return fail(ENOPROTOOPT);
    }
  }
  return fail(ENOPROTOOPT);
}

int sw_getsockopt(int s, int level, int name, void* value, socklen_t* len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (value == nullptr || len == nullptr) return fail(EFAULT);
  auto give = [&](int v) {
    if (*len < static_cast<socklen_t>(sizeof(int))) return fail(EINVAL);
    std::memcpy(value, &v, sizeof v);
    *len = sizeof v;
    return 0;
  };
  int v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: return give(take_error(s, *sock));
      case SO_TYPE: return give(SOCK_STREAM);
      case SO_ACCEPTCONN: return give(sock->kind == Kind::kListener);
      case SO_REUSEPORT: return give(sock->reuseport);
      case SO_LINGER: {
        if (*len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
        if (get_option(s, *sock, shim::Option::kLinger, -1, v) < 0) return -1;
        linger l{v == 0 ? 1 : 0, 0};
        std::memcpy(value, &l, sizeof l);
        *len = sizeof l;
        return 0;
      }
      case SO_REUSEADDR: return get_option(s, *sock, shim::Option::kReuseAddr, 0, v) < 0 ? -1 : give(v);
      case SO_KEEPALIVE: return get_option(s, *sock, shim::Option::kKeepAlive, 0, v) < 0 ? -1 : give(v);
      case SO_SNDBUF: return get_option(s, *sock, shim::Option::kSndBuf, 16384, v) < 0 ? -1 : give(v);
      case SO_RCVBUF: return get_option(s, *sock, shim::Option::kRcvBuf, 131072, v) < 0 ? -1 : give(v);
      default: return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return get_option(s, *sock, shim::Option::kNoDelay, 0, v) < 0 ? -1 : give(v);
      case TCP_CORK: return get_option(s, *sock, shim::Option::kCork, 0, v) < 0 ? -1 : give(v);
      case TCP_MAXSEG: return get_option(s, *sock, shim::Option::kMaxSeg, 536, v) < 0 ? -1 : give(v);
      case TCP_KEEPIDLE: return get_option(s, *sock, shim::Option::kKeepIdle, 7200, v) < 0 ? -1 : give(v);
      case TCP_KEEPINTVL: return get_option(s, *sock, shim::Option::kKeepIntvl, 75, v) < 0 ? -1 : give(v);
      case TCP_KEEPCNT: return get_option(s, *sock, shim::Option::kKeepCnt, 9, v) < 0 ? -1 : give(v);
      case TCP_CONGESTION: {
        if (get_option(s, *sock, shim::Option::kCongestion, shim::kCongestionCubic, v) < 0) return -1;
        const char* name_text = v == shim::kCongestionReno ? "reno" : "cubic";
        const socklen_t n = std::min<socklen_t>(*len, static_cast<socklen_t>(std::strlen(name_text) + 1));
        std::memcpy(value, name_text, n);
        *len = n;
        return 0;
      }
      default: return fail(ENOPROTOOPT);
    }
  }
  return fail(ENOPROTOOPT);
}

int sw_getsockname(int s, sockaddr* addr, socklen_t* len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (addr == nullptr || len == nullptr) return fail(EFAULT);
  if (sock->kind == Kind::kConnection && sock->local_port == 0) {
    const shim::SocketShared& sh = shared(s);
    if (shared(s).flags.load(std::memory_order_acquire) & shim::kFlagConnected) {
      sock->local_addr = sh.local_addr;
      sock->local_port = sh.local_port;
    }
  }
  return store_sockaddr(sock->local_addr, sock->local_port, addr, len);
}

int sw_getpeername(int s, sockaddr* addr, socklen_t* len) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (addr == nullptr || len == nullptr) return fail(EFAULT);
  if (sock->kind != Kind::kConnection || !connected(s, *sock)) return fail(ENOTCONN);
  return store_sockaddr(sock->remote_addr, sock->remote_port, addr, len);
}

int sw_fcntl(int s, int cmd, int arg) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  switch (cmd) {
    case F_GETFL: return O_RDWR | (sock->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL: sock->nonblocking = (arg & O_NONBLOCK) != 0; return 0;
    case F_GETFD: return sock->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: sock->cloexec = (arg & FD_CLOEXEC) != 0; return 0;
    default: return fail(EINVAL);
  }
}

int sw_ioctl(int s, unsigned long request, void* arg) {
  Socket* sock = lookup(s);
  if (sock == nullptr) return -1;
  if (arg == nullptr) return fail(EFAULT);
  if (request == FIONBIO) {
    int on;
    std::memcpy(&on, arg, sizeof on);
    sock->nonblocking = on != 0;
    return 0;
  }
  if (request == FIONREAD) {
    if (sock->kind == Kind::kListener) return fail(EINVAL);
    int n = 0;
    if (sock->kind == Kind::kConnection)
      n = static_cast<int>(shared(s).rx_head.value.load(std::memory_order_acquire) - sock->rx_tail);
    std::memcpy(arg, &n, sizeof n);
    return 0;
  }
  return fail(ENOTTY);
}

uint32_t sw_poll_events(int s) {
  if (!client().attached()) client().attach_if_inherited();  // a forked child's listeners
  Socket* sock = client().socket(s);
  if (sock == nullptr) return EPOLLERR | EPOLLHUP;
  const shim::SocketShared& sh = shared(s);
  const bool down = client().daemon_down();
  if (sock->kind == Kind::kListener) {
    client().start_accepting(s, *sock);  // a poll loop accepts when it sees EPOLLIN
    for (std::uint32_t e = 0; e < client().engines(); ++e)
      if (sh.accept_head[e].load(std::memory_order_acquire) != sock->accept_tail[e]) return EPOLLIN;
    return down ? EPOLLHUP | EPOLLERR : 0;
  }
  if (sock->kind == Kind::kCreated) return EPOLLOUT | EPOLLHUP;  // as Linux for an unconnected socket
  const std::uint32_t f = sh.flags.load(std::memory_order_acquire);
  std::uint32_t events = 0;
  const std::uint32_t readable = sh.rx_head.value.load(std::memory_order_acquire) - sock->rx_tail;
  const bool error = (f & shim::kFlagError) && !sock->error_consumed;
  if (readable > 0 || (f & (shim::kFlagPeerClosed | shim::kFlagClosed)) || error || sock->shut_read) events |= EPOLLIN | EPOLLRDNORM;
  if (f & shim::kFlagPeerClosed) events |= EPOLLRDHUP;
  if (error) events |= EPOLLERR;
  if ((f & shim::kFlagClosed) || down || (sock->shut_write && (f & shim::kFlagPeerClosed))) events |= EPOLLHUP;
  if (connected(s, *sock)) {
    const std::uint32_t used = sock->tx_head - sh.tx_tail.value.load(std::memory_order_acquire);
    if (used < capacity() || (f & shim::kFlagClosed) || error) events |= EPOLLOUT | EPOLLWRNORM;
  } else if (error || (f & shim::kFlagClosed)) {
    events |= EPOLLOUT;
  }
  if (down) events |= EPOLLIN | EPOLLERR;
  return events;
}

ssize_t sw_sendmsg(int s, const msghdr* msg, int flags) {
  if (msg == nullptr) return fail(EFAULT);
  if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
  return do_send(s, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
}

ssize_t sw_recvmsg(int s, msghdr* msg, int flags) {
  if (msg == nullptr) return fail(EFAULT);
  if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
  const ssize_t n = do_recv(s, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
  if (n >= 0) {
    msg->msg_namelen = 0;
    msg->msg_controllen = 0;
    msg->msg_flags = 0;
  }
  return n;
}

}  // extern "C"
