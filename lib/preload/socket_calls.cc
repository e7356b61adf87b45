// socket, bind, listen, accept, connect, close, shutdown, options, names, fcntl, ioctl and dup:
// synwave's for its own descriptors (AF_INET TCP sockets), the C library's for every other.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "preload/preload.h"

#define SYNWAVE_EXPORT extern "C" __attribute__((visibility("default")))

namespace synwave::preload {

namespace {

bool is_tcp4(int domain, int type, int protocol) {
  return domain == AF_INET && (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
         (protocol == 0 || protocol == IPPROTO_TCP);
}

bool loopback(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) || addr->sa_family != AF_INET) return false;
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof in);
  return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
}

// Options Linux takes that change nothing synwave does: accepted, as a program expects, and
// reported back as set (docs/preload.md).
bool accepted_without_effect(int level, int name) {
  switch (level) {
    case SOL_SOCKET:
      return name == SO_PRIORITY || name == SO_RCVLOWAT || name == SO_SNDLOWAT || name == SO_OOBINLINE ||
             name == SO_DONTROUTE || name == SO_BROADCAST;
    case IPPROTO_IP: return name == IP_TOS || name == IP_TTL || name == IP_RECVERR;
    case IPPROTO_TCP:
      return name == TCP_DEFER_ACCEPT || name == TCP_QUICKACK || name == TCP_FASTOPEN ||
             name == TCP_USER_TIMEOUT || name == TCP_NOTSENT_LOWAT || name == TCP_WINDOW_CLAMP;
    default: return false;
  }
}

int timeval_ms(const void* value, socklen_t len) {
  if (len < static_cast<socklen_t>(sizeof(timeval))) return -1;
  timeval tv;
  std::memcpy(&tv, value, sizeof tv);
  if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -1;
  const long long ms = static_cast<long long>(tv.tv_sec) * 1000 + (tv.tv_usec + 999) / 1000;
  return static_cast<int>(std::min<long long>(ms, 0x7fffffff));
}

// The last reference to a handle went: close the synwave socket (errors are the socket's own).
void close_handle(int h) { (void)sw_close(h); }

// TCP_INFO from what the client library knows: the state and the fields every reader looks at.
int tcp_info_of(int h, void* value, socklen_t* len) {
  tcp_info info{};
  int state = 0;
  socklen_t n = sizeof state;
  sw_getsockopt(h, SOL_SOCKET, SO_ACCEPTCONN, &state, &n);
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  const bool connected = sw_getpeername(h, reinterpret_cast<sockaddr*>(&peer), &plen) == 0;
  const uint32_t events = sw_poll_events(h);
  if (state) info.tcpi_state = TCP_LISTEN;
  else if (connected && (events & EPOLLHUP)) info.tcpi_state = TCP_CLOSE;
  else if (connected && (events & EPOLLRDHUP)) info.tcpi_state = TCP_CLOSE_WAIT;
  else if (connected) info.tcpi_state = TCP_ESTABLISHED;
  else info.tcpi_state = TCP_CLOSE;
  int mss = 0;
  n = sizeof mss;
  if (sw_getsockopt(h, IPPROTO_TCP, TCP_MAXSEG, &mss, &n) == 0) info.tcpi_snd_mss = info.tcpi_rcv_mss = mss;
  info.tcpi_rto = 200000;  // Linux's initial RTO in microseconds: what a reader sees before any RTT sample
  const socklen_t give = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof info));
  std::memcpy(value, &info, give);
  *len = give;
  return 0;
}

}  // namespace

bool fall_back_to_kernel(int attach_errno) {
  static std::atomic<bool> told{false};
  const char* fallback = std::getenv("SYNWAVE_FALLBACK");
  const bool to_kernel = fallback != nullptr && std::strcmp(fallback, "kernel") == 0;
  if (!told.exchange(true)) {
    std::fprintf(stderr, "%s%s\n", sw_last_error(),
                 to_kernel ? " (SYNWAVE_FALLBACK=kernel: this program's sockets use the Linux kernel)" : "");
  }
  errno = attach_errno == ENOENT ? ENETDOWN : attach_errno;
  return to_kernel;
}

void record_option(int handle, int level, int name, const void* value, socklen_t len) {
  if (len > static_cast<socklen_t>(sizeof(RecordedOption::value))) return;
  HandleState& st = table().handle(handle);
  RecordedOption* slot = nullptr;
  for (unsigned i = 0; i < st.option_count; ++i)
    if (st.options[i].level == level && st.options[i].name == name) slot = &st.options[i];
  if (slot == nullptr) {
    if (st.option_count == std::size(st.options)) return;
    slot = &st.options[st.option_count++];
  }
  slot->level = level;
  slot->name = name;
  slot->len = len;
  std::memcpy(slot->value, value, len);
}

int hand_over_to_kernel(int fd, int handle) {
  const bool nonblocking = (sw_fcntl(handle, F_GETFL, 0) & O_NONBLOCK) != 0;
  const int k = libc().socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (k < 0) return -1;
  const HandleState& st = table().handle(handle);
  for (unsigned i = 0; i < st.option_count; ++i)
    (void)libc().setsockopt(k, st.options[i].level, st.options[i].name, st.options[i].value, st.options[i].len);
  const bool cloexec = table().cloexec(fd);
  if (libc().dup3(k, fd, cloexec ? O_CLOEXEC : 0) < 0) {
    const int e = errno;
    libc().close(k);
    errno = e;
    return -1;
  }
  libc().close(k);
  if (const int last = table().forget(fd); last >= 0) close_handle(last);
  return 0;
}

}  // namespace synwave::preload

using namespace synwave::preload;

SYNWAVE_EXPORT int socket(int domain, int type, int protocol) {
  if (!is_tcp4(domain, type, protocol)) return libc().socket(domain, type, protocol);
  const int h = sw_socket(domain, type, protocol);
  if (h < 0) {
    if (sw_last_error()[0] != '\0' && fall_back_to_kernel(errno)) return libc().socket(domain, type, protocol);
    return -1;
  }
  const int fd = table().reserve(h, (type & SOCK_CLOEXEC) != 0);
  if (fd < 0) {
    const int e = errno;
    sw_close(h);
    errno = e;
  }
  return fd;
}

SYNWAVE_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().bind(fd, addr, len);
  if (sw_bind(h, addr, len) == 0) return 0;
  // An address synwave does not own (127.0.0.1, a kernel interface's): the kernel's socket.
  if (errno == EADDRNOTAVAIL && hand_over_to_kernel(fd, h) == 0) return libc().bind(fd, addr, len);
  return -1;
}

SYNWAVE_EXPORT int listen(int fd, int backlog) {
  const int h = handle_of(fd);
  return h < 0 ? libc().listen(fd, backlog) : sw_listen(h, backlog);
}

SYNWAVE_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  const int h = handle_of(fd);
  if (h < 0) return libc().accept4(fd, addr, len, flags);
  const int c = sw_accept4(h, addr, len, flags);
  if (c < 0) return -1;
  const int cfd = table().reserve(c, (flags & SOCK_CLOEXEC) != 0);
  if (cfd < 0) {
    const int e = errno;
    sw_close(c);
    errno = e;
  }
  return cfd;
}

SYNWAVE_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (handle_of(fd) < 0) return libc().accept(fd, addr, len);
  return accept4(fd, addr, len, 0);
}

SYNWAVE_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().connect(fd, addr, len);
  if (loopback(addr, len)) {
    if (hand_over_to_kernel(fd, h) < 0) return -1;
    return libc().connect(fd, addr, len);
  }
  return sw_connect(h, addr, len);
}

SYNWAVE_EXPORT int shutdown(int fd, int how) {
  const int h = handle_of(fd);
  return h < 0 ? libc().shutdown(fd, how) : sw_shutdown(h, how);
}

SYNWAVE_EXPORT int close(int fd) {
  if (table().placeholder(fd)) return 0;  // ours, not the program's: it never had this number
  if (handle_of(fd) >= 0) {
    const int last = table().forget(fd);
    libc().close(fd);
    if (last >= 0) close_handle(last);
    return 0;
  }
  if (const int ep = table().epoll(fd); ep >= 0) {
    table().clear(fd);
    sw_epoll_close(ep);
  }
  return libc().close(fd);
}

SYNWAVE_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  // The synwave sockets in the range first (their numbers stay reserved until the kernel's
  // close below), then the kernel's; the placeholder is kept by closing around it.
  const unsigned end = std::min<unsigned>(last, kMaxFds - 1);
  for (unsigned fd = first; fd <= end && fd >= first; ++fd) {
    const int n = static_cast<int>(fd);
    if (handle_of(n) >= 0) {
      if (flags & CLOSE_RANGE_CLOEXEC) table().set_cloexec(n, true);
      else if (const int h = table().forget(n); h >= 0) close_handle(h);
    } else if (const int ep = table().epoll(n); ep >= 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
      table().clear(n);
      sw_epoll_close(ep);
    }
  }
  if (libc().close_range == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  for (unsigned fd = first; fd <= end && fd >= first; ++fd) {
    if (table().placeholder(static_cast<int>(fd))) {
      int r = 0;
      if (fd > first) r = libc().close_range(first, fd - 1, flags);
      if (r == 0 && fd < last) r = libc().close_range(fd + 1, last, flags);
      return r;
    }
  }
  return libc().close_range(first, last, flags);
}

SYNWAVE_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().setsockopt(fd, level, name, value, len);
  if (value == nullptr) {
    errno = EFAULT;
    return -1;
  }
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    const int ms = timeval_ms(value, len);
    if (ms < 0) {
      errno = ms == -1 && len < static_cast<socklen_t>(sizeof(timeval)) ? EINVAL : EDOM;
      return -1;
    }
    (name == SO_RCVTIMEO ? table().handle(h).recv_timeout_ms : table().handle(h).send_timeout_ms) = ms;
    return 0;
  }
  record_option(h, level, name, value, len);
  if (sw_setsockopt(h, level, name, value, len) == 0) return 0;
  if (errno == ENOPROTOOPT && accepted_without_effect(level, name)) return 0;
  return -1;
}

SYNWAVE_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().getsockopt(fd, level, name, value, len);
  if (value == nullptr || len == nullptr) {
    errno = EFAULT;
    return -1;
  }
  auto give_int = [&](int v) {
    if (*len < static_cast<socklen_t>(sizeof(int))) {
      errno = EINVAL;
      return -1;
    }
    std::memcpy(value, &v, sizeof v);
    *len = sizeof v;
    return 0;
  };
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_DOMAIN: return give_int(AF_INET);
      case SO_PROTOCOL: return give_int(IPPROTO_TCP);
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        const int ms = name == SO_RCVTIMEO ? table().handle(h).recv_timeout_ms : table().handle(h).send_timeout_ms;
        timeval tv{ms / 1000, (ms % 1000) * 1000};
        const socklen_t n = std::min<socklen_t>(*len, static_cast<socklen_t>(sizeof tv));
        std::memcpy(value, &tv, n);
        *len = n;
        return 0;
      }
      default: break;
    }
  }
  if (level == IPPROTO_TCP && name == TCP_INFO) return tcp_info_of(h, value, len);
  if (sw_getsockopt(h, level, name, value, len) == 0) return 0;
  if (errno == ENOPROTOOPT && accepted_without_effect(level, name)) {
    // What the program set, or 0.
    const HandleState& st = table().handle(h);
    for (unsigned i = 0; i < st.option_count; ++i) {
      if (st.options[i].level == level && st.options[i].name == name) {
        const socklen_t n = std::min(*len, st.options[i].len);
        std::memcpy(value, st.options[i].value, n);
        *len = n;
        return 0;
      }
    }
    return give_int(0);
  }
  return -1;
}

SYNWAVE_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  const int h = handle_of(fd);
  return h < 0 ? libc().getsockname(fd, addr, len) : sw_getsockname(h, addr, len);
}

SYNWAVE_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  const int h = handle_of(fd);
  return h < 0 ? libc().getpeername(fd, addr, len) : sw_getpeername(h, addr, len);
}

namespace {

int fcntl_common(int fd, int cmd, void* arg) {
  const int h = handle_of(fd);
  if (h < 0) return libc().fcntl(fd, cmd, arg);
  const int value = static_cast<int>(reinterpret_cast<long>(arg));
  switch (cmd) {
    case F_GETFL:
    case F_SETFL: return sw_fcntl(h, cmd, value);
    case F_GETFD: return table().cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD: table().set_cloexec(fd, (value & FD_CLOEXEC) != 0); return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int last = -1;
      return table().duplicate(fd, value, -1, cmd == F_DUPFD_CLOEXEC, &last);
    }
    default: return libc().fcntl(fd, cmd, arg);  // F_SETOWN and the like: the placeholder answers
  }
}

}  // namespace

SYNWAVE_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg);
}

SYNWAVE_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg);
}

SYNWAVE_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  const int h = handle_of(fd);
  if (h >= 0 && (request == FIONBIO || request == FIONREAD)) return sw_ioctl(h, request, arg);
  return libc().ioctl(fd, request, arg);
}

SYNWAVE_EXPORT int dup(int fd) {
  if (handle_of(fd) < 0) return libc().dup(fd);
  int last = -1;
  return table().duplicate(fd, 0, -1, false, &last);
}

namespace {

int dup_onto(int from, int to, int flags) {
  if (table().placeholder(to)) {
    errno = EBUSY;  // the number is in use by the library itself
    return -1;
  }
  if (handle_of(from) >= 0) {
    int last = -1;
    const int r = table().duplicate(from, 0, to, (flags & O_CLOEXEC) != 0, &last);
    if (last >= 0) close_handle(last);
    return r;
  }
  const int replaced = handle_of(to);
  const int replaced_epoll = table().epoll(to);
  const int r = libc().dup3(from, to, flags);
  if (r < 0) return r;
  if (replaced >= 0) {
    if (const int last = table().forget(to); last >= 0) close_handle(last);
  } else if (replaced_epoll >= 0) {
    table().clear(to);
    sw_epoll_close(replaced_epoll);
  }
  return r;
}

}  // namespace

SYNWAVE_EXPORT int dup2(int from, int to) {
  if (from == to) {
    if (handle_of(from) >= 0) return to;
    return libc().dup2(from, to);
  }
  return dup_onto(from, to, 0);
}

SYNWAVE_EXPORT int dup3(int from, int to, int flags) {
  if (from == to) {
    errno = EINVAL;
    return -1;
  }
  return dup_onto(from, to, flags);
}
