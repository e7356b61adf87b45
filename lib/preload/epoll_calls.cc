// epoll over kernel and synwave descriptors in one set.
//
// The program's epoll descriptor is a real kernel epoll: kernel descriptors go into it as they
// would without synwave. The first synwave socket added to it pairs it with a synwave epoll
// instance, whose kernel descriptor (sw_epoll_fd: readable whenever the instance may have
// something) joins the kernel set under a marker the program never sees. epoll_wait takes the
// synwave events first, then the kernel's, and sleeps in the kernel's epoll_wait.
#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>

#include "preload/preload.h"

#define SYNWAVE_EXPORT extern "C" __attribute__((visibility("default")))

namespace synwave::preload {
namespace {

constexpr std::uint64_t kMarker = 0x73796e7761766521ull;  // "synwave!": the synwave instance's fd

// The synwave instance paired with kernel epoll `epfd`, made on first use; -1 with errno.
int instance_for(int epfd) {
  if (const int ep = table().epoll(epfd); ep >= 0) return ep;
  const int ep = sw_epoll_create1(0);
  if (ep < 0) return -1;
  const int kfd = sw_epoll_fd(ep);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kMarker;
  if (kfd < 0 || libc().epoll_ctl(epfd, EPOLL_CTL_ADD, kfd, &ev) < 0) {
    const int e = errno;
    sw_epoll_close(ep);
    errno = e;
    return -1;
  }
  table().set_epoll(epfd, ep);
  return ep;
}

// Drops the marker's entries from events[0, n); returns how many are left.
int without_marker(epoll_event* events, int n, bool* saw_marker) {
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kMarker) {
      *saw_marker = true;
      continue;
    }
    events[kept++] = events[i];
  }
  return kept;
}

int wait_mixed(int epfd, int ep, epoll_event* events, int max, int timeout_ms, const sigset_t* sigmask) {
  if (events == nullptr || max <= 0) {
    errno = EINVAL;
    return -1;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  const auto spin_until = Clock::now() + std::chrono::microseconds(busy_poll_us());
  for (;;) {
    int n = sw_epoll_wait(ep, events, max, 0);
    if (n < 0) return -1;
    bool marker = false;
    if (n < max) {
      const int k = libc().epoll_wait(epfd, events + n, max - n, 0);
      if (k > 0) n += without_marker(events + n, k, &marker);
    }
    if (n > 0 || timeout_ms == 0) return n;
    if (Clock::now() < spin_until) {
      sched_yield();  // an engine sharing this CPU runs meanwhile; alone, this returns at once
      continue;
    }
    int wait_ms = -1;
    if (timeout_ms > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return 0;
      wait_ms = static_cast<int>(left);
    }
    // Asleep in the kernel: woken by a kernel descriptor or by the marker (synwave news).
    const int k = sigmask != nullptr ? libc().epoll_pwait(epfd, events, max, wait_ms, sigmask)
                                     : libc().epoll_wait(epfd, events, max, wait_ms);
    if (k < 0) return -1;
    marker = false;
    n = without_marker(events, k, &marker);
    if (n > 0) return n;
    if (k == 0 && timeout_ms > 0) return 0;
  }
}

}  // namespace
}  // namespace synwave::preload

using namespace synwave::preload;

SYNWAVE_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  const int h = handle_of(fd);
  if (h < 0) return libc().epoll_ctl(epfd, op, fd, event);
  if (handle_of(epfd) >= 0) {
    errno = EINVAL;  // a synwave socket is not an epoll instance
    return -1;
  }
  const int ep = instance_for(epfd);
  if (ep < 0) return -1;
  return sw_epoll_ctl(ep, op, h, event);
}

SYNWAVE_EXPORT int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
  const int ep = table().epoll(epfd);
  if (ep < 0) return libc().epoll_wait(epfd, events, max, timeout_ms);
  return wait_mixed(epfd, ep, events, max, timeout_ms, nullptr);
}

SYNWAVE_EXPORT int epoll_pwait(int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* sigmask) {
  const int ep = table().epoll(epfd);
  if (ep < 0) return libc().epoll_pwait(epfd, events, max, timeout_ms, sigmask);
  return wait_mixed(epfd, ep, events, max, timeout_ms, sigmask);
}
