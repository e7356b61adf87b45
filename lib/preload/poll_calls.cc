// poll, ppoll, select and pselect over kernel and synwave descriptors at once.
//
// Synwave sockets are asked directly (sw_poll_events: readiness is in shared memory); the kernel
// descriptors go to the kernel's poll together with the client library's wake-up eventfd, which
// the daemon writes whenever it published something for this process. Sleeps are cut into
// slices of kWakeSliceMs: another thread's sw_pump may take the wake-up meant for this one, and
// the slice bounds what that costs.
#include <sched.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "preload/preload.h"

#define SYNWAVE_EXPORT extern "C" __attribute__((visibility("default")))

namespace synwave::preload {
namespace {

constexpr int kWakeSliceMs = 5;
using Clock = std::chrono::steady_clock;

bool has_synwave(const pollfd* fds, nfds_t n) {
  for (nfds_t i = 0; i < n; ++i)
    if (handle_of(fds[i].fd) >= 0) return true;
  return false;
}

// timeout_ms: -1 forever. sigmask: ppoll's, or nullptr.
int poll_mixed(pollfd* fds, nfds_t n, int timeout_ms, const sigset_t* sigmask) {
  static thread_local std::vector<pollfd> kernel;
  kernel.resize(n + 1);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  const auto spin_until = Clock::now() + std::chrono::microseconds(busy_poll_us());
  const int wake_fd = sw_wake_fd();
  for (;;) {
    int ready = 0;
    for (nfds_t i = 0; i < n; ++i) {
      const int h = fds[i].fd < 0 ? -1 : handle_of(fds[i].fd);
      kernel[i] = fds[i];
      fds[i].revents = 0;
      if (h < 0) continue;
      kernel[i].fd = -1;  // the kernel skips it
      // epoll's bits are poll's (EPOLLIN == POLLIN, ... EPOLLRDHUP == POLLRDHUP).
      const auto events = static_cast<short>(sw_poll_events(h) & (static_cast<unsigned short>(fds[i].events) | POLLERR | POLLHUP));
      fds[i].revents = events;
      if (events != 0) ++ready;
    }
    kernel[n] = pollfd{wake_fd, POLLIN, 0};
    int wait_ms = 0;
    const bool spinning = Clock::now() < spin_until;
    if (ready == 0 && !spinning && timeout_ms != 0) {
      if (timeout_ms < 0) {
        wait_ms = kWakeSliceMs;
      } else {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, kWakeSliceMs));
      }
    }
    int r;
    if (sigmask != nullptr) {
      const timespec ts{wait_ms / 1000, (wait_ms % 1000) * 1000000L};
      r = libc().ppoll(kernel.data(), n + (wake_fd >= 0 ? 1 : 0), &ts, sigmask);
    } else {
      r = libc().poll(kernel.data(), n + (wake_fd >= 0 ? 1 : 0), wait_ms);
    }
    if (r < 0) return -1;  // EINTR and the like, as the kernel's poll
    for (nfds_t i = 0; i < n; ++i) {
      if (kernel[i].fd < 0 || kernel[i].revents == 0) continue;
      fds[i].revents = kernel[i].revents;
      ++ready;
    }
    if (wake_fd >= 0 && kernel[n].revents != 0) sw_pump();
    if (ready > 0 || timeout_ms == 0) return ready;
    if (spinning) sched_yield();  // an engine sharing this CPU runs meanwhile
    if (timeout_ms > 0 && Clock::now() >= deadline) return 0;
  }
}

int to_ms(const timespec* ts) {
  if (ts == nullptr) return -1;
  const long long ms = static_cast<long long>(ts->tv_sec) * 1000 + (ts->tv_nsec + 999999) / 1000000;
  return static_cast<int>(std::min<long long>(ms, 0x7fffffff));
}

// select over poll_mixed: the sets become pollfds and back (readable: POLLIN, HUP or ERR;
// writable: POLLOUT or ERR; exceptional: POLLPRI), counted as select counts them.
int select_mixed(int nfds, fd_set* r, fd_set* w, fd_set* x, int timeout_ms, const sigset_t* sigmask) {
  static thread_local std::vector<pollfd> fds;
  fds.clear();
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE; ++fd) {
    short events = 0;
    if (r != nullptr && FD_ISSET(fd, r)) events |= POLLIN;
    if (w != nullptr && FD_ISSET(fd, w)) events |= POLLOUT;
    if (x != nullptr && FD_ISSET(fd, x)) events |= POLLPRI;
    if (events != 0) fds.push_back(pollfd{fd, events, 0});
  }
  const int got = poll_mixed(fds.data(), fds.size(), timeout_ms, sigmask);
  if (got < 0) return -1;
  if (r != nullptr) FD_ZERO(r);
  if (w != nullptr) FD_ZERO(w);
  if (x != nullptr) FD_ZERO(x);
  int count = 0;
  for (const pollfd& p : fds) {
    if (p.revents & POLLNVAL) {
      errno = EBADF;
      return -1;
    }
    if (r != nullptr && (p.events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      FD_SET(p.fd, r);
      ++count;
    }
    if (w != nullptr && (p.events & POLLOUT) && (p.revents & (POLLOUT | POLLERR))) {
      FD_SET(p.fd, w);
      ++count;
    }
    if (x != nullptr && (p.events & POLLPRI) && (p.revents & POLLPRI)) {
      FD_SET(p.fd, x);
      ++count;
    }
  }
  return count;
}

bool sets_have_synwave(int nfds, const fd_set* r, const fd_set* w, const fd_set* x) {
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE; ++fd) {
    if (handle_of(fd) < 0) continue;
    if ((r != nullptr && FD_ISSET(fd, r)) || (w != nullptr && FD_ISSET(fd, w)) || (x != nullptr && FD_ISSET(fd, x)))
      return true;
  }
  return false;
}

}  // namespace

unsigned busy_poll_us() {
  static const unsigned us = [] {
    const char* v = std::getenv("SYNWAVE_BUSY_POLL_US");
    return v != nullptr ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0u;
  }();
  return us;
}

int wait_ready(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll_mixed(&p, 1, timeout_ms, nullptr);
}

}  // namespace synwave::preload

using namespace synwave::preload;

// glibc declares poll's array write-only; the program's poll reads it, and so do these.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

SYNWAVE_EXPORT int poll(pollfd* fds, nfds_t n, int timeout_ms) {
  if (!has_synwave(fds, n)) return libc().poll(fds, n, timeout_ms);
  return poll_mixed(fds, n, timeout_ms < 0 ? -1 : timeout_ms, nullptr);
}

SYNWAVE_EXPORT int __poll_chk(pollfd* fds, nfds_t n, int timeout_ms, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __builtin_trap();
  return poll(fds, n, timeout_ms);
}

SYNWAVE_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask) {
  if (!has_synwave(fds, n)) return libc().ppoll(fds, n, timeout, sigmask);
  return poll_mixed(fds, n, to_ms(timeout), sigmask);
}

SYNWAVE_EXPORT int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __builtin_trap();
  return ppoll(fds, n, timeout, sigmask);
}

SYNWAVE_EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* x, timeval* timeout) {
  if (!sets_have_synwave(nfds, r, w, x)) return libc().select(nfds, r, w, x, timeout);
  int ms = -1;
  if (timeout != nullptr) {
    const long long v = static_cast<long long>(timeout->tv_sec) * 1000 + (timeout->tv_usec + 999) / 1000;
    ms = static_cast<int>(std::clamp<long long>(v, 0, 0x7fffffff));
  }
  const auto start = std::chrono::steady_clock::now();
  const int got = select_mixed(nfds, r, w, x, ms, nullptr);
  if (timeout != nullptr) {
    // Linux leaves the time not slept in *timeout.
    const long long slept = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    const long long left = std::max<long long>(0, static_cast<long long>(timeout->tv_sec) * 1000000 + timeout->tv_usec - slept);
    timeout->tv_sec = static_cast<time_t>(left / 1000000);
    timeout->tv_usec = static_cast<suseconds_t>(left % 1000000);
  }
  return got;
}

SYNWAVE_EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* x, const timespec* timeout, const sigset_t* sigmask) {
  if (!sets_have_synwave(nfds, r, w, x)) return libc().pselect(nfds, r, w, x, timeout, sigmask);
  return select_mixed(nfds, r, w, x, to_ms(timeout), sigmask);
}
