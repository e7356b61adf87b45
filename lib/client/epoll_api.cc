// The epoll-shaped readiness API of synwave_client.h (client.h's Epoll).
//
// The engines post "socket S changed" events; whoever drains them (Client::pump) puts S on the
// ready list of every epoll instance watching it. sw_epoll_wait then asks each listed socket
// what it is ready for now: level-triggered entries stay listed while ready, edge-triggered and
// one-shot ones leave once reported, until the next change.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "client/client.h"
#include "client/synwave_client.h"

using synwave::client::Client;
using synwave::client::Epoll;
using synwave::client::fail;
using synwave::client::Interest;

extern "C" {

int sw_epoll_create1(int flags) {
  if ((flags & ~EPOLL_CLOEXEC) != 0) return fail(EINVAL);
  if (int r = Client::get().ensure_attached(); r < 0) return fail(-r);
  const int ep = Client::get().epoll_create();
  return ep < 0 ? fail(-ep) : ep;
}

int sw_epoll_ctl(int ep, int op, int s, epoll_event* event) {
  Client& c = Client::get();
  Epoll* e = c.epoll(ep);
  if (e == nullptr) return fail(EBADF);
  synwave::client::Socket* sock = c.socket(s);
  if (sock == nullptr) return fail(EBADF);
  if (op != EPOLL_CTL_DEL && event == nullptr) return fail(EFAULT);
  bool added = false;
  {
    std::lock_guard lock(e->mutex);
    Interest* it = e->find(s);
    switch (op) {
      case EPOLL_CTL_ADD:
        if (it != nullptr) return fail(EEXIST);
        e->interest[static_cast<std::size_t>(s)] = Interest{s, event->events, event->data, false, false};
        added = true;
        break;
      case EPOLL_CTL_MOD:
        if (it == nullptr) return fail(ENOENT);
        it->events = event->events;
        it->data = event->data;
        it->disabled = false;
        break;
      case EPOLL_CTL_DEL:
        if (it == nullptr) return fail(ENOENT);
        *it = Interest{};
        std::erase(e->ready, s);
        break;
      default: return fail(EINVAL);
    }
  }
  if (added) c.watch(ep, s);
  // A listener watched by an event loop accepts when it is readable: connections may come.
  if (op != EPOLL_CTL_DEL && sock->kind == synwave::client::Kind::kListener) c.start_accepting(s, *sock);
  if (op == EPOLL_CTL_DEL) c.unwatch(ep, s);
  else c.notify(s);  // as the kernel: a socket that is ready already is reported
  return 0;
}

// Reports what the listed sockets are ready for now; returns how many events it wrote.
static int collect(Epoll& e, epoll_event* events, int max) {
  std::lock_guard lock(e.mutex);
  int n = 0;
  std::size_t keep = 0;
  for (std::size_t k = 0; k < e.ready.size(); ++k) {
    const int s = e.ready[k];
    Interest* it = e.find(s);
    if (it == nullptr) continue;
    Interest& i = *it;
    std::uint32_t r = 0;
    if (n < max && !i.disabled) r = sw_poll_events(s) & (i.events | EPOLLERR | EPOLLHUP);
    if (r == 0) {
      if (n >= max) e.ready[keep++] = s;  // not looked at: stays listed
      else i.in_ready = false;
      continue;
    }
    events[n].events = r;
    events[n].data = i.data;
    ++n;
    if (i.events & EPOLLONESHOT) i.disabled = true;
    if (i.events & (EPOLLET | EPOLLONESHOT)) i.in_ready = false;
    else e.ready[keep++] = s;  // level-triggered: stays while ready
  }
  e.ready.resize(keep);
  if (e.ready.empty() && e.signalled) {
    e.signalled = false;
    std::uint64_t count;
    (void)::read(e.event_fd, &count, sizeof count);
  }
  return n;
}

int sw_epoll_wait(int ep, epoll_event* events, int max, int timeout_ms) {
  Client& c = Client::get();
  Epoll* e = c.epoll(ep);
  if (e == nullptr) return fail(EBADF);
  if (events == nullptr || max <= 0) return fail(EINVAL);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    c.pump();
    if (const int n = collect(*e, events, max); n > 0) return n;
    if (timeout_ms == 0) return 0;
    int left = -1;
    if (timeout_ms > 0) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (ms <= 0) return 0;
      left = static_cast<int>(ms);
    }
    if (c.daemon_down()) {
      // Every socket reports HUP/ERR now: report them once more, then keep the caller informed.
      std::lock_guard lock(e->mutex);
      for (Interest& i : e->interest)
        if (i.socket >= 0 && !i.in_ready) {
          i.in_ready = true;
          e->ready.push_back(i.socket);
        }
      if (!e->ready.empty()) continue;
    }
    if (c.wait(left) == -EINTR) return fail(EINTR);
  }
}

int sw_epoll_fd(int ep) {
  Client& c = Client::get();
  Epoll* e = c.epoll(ep);
  if (e == nullptr) return fail(EBADF);
  std::lock_guard lock(e->mutex);
  if (e->kernel_fd < 0) {
    const int kfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (kfd < 0) return -1;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(kfd, EPOLL_CTL_ADD, e->event_fd, &ev);
    if (const int attach = c.event_fd(); attach >= 0) ::epoll_ctl(kfd, EPOLL_CTL_ADD, attach, &ev);
    e->kernel_fd = kfd;
    c.always_wake();
    if (!e->ready.empty() && !e->signalled) {  // ready already: readable at once
      e->signalled = true;
      const std::uint64_t one = 1;
      (void)::write(e->event_fd, &one, sizeof one);
    }
  }
  return e->kernel_fd;
}

int sw_epoll_close(int ep) {
  if (Client::get().epoll(ep) == nullptr) return fail(EBADF);
  Client::get().epoll_close(ep);
  return 0;
}

int sw_wake_fd(void) {
  Client& c = Client::get();
  if (c.ensure_attached() < 0) return -1;
  c.always_wake();
  return c.event_fd();
}

void sw_pump(void) {
  Client& c = Client::get();
  if (c.attached()) c.pump();
}

}  // extern "C"
