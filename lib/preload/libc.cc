// dlsym(RTLD_NEXT) for every call the preload library stands in front of (libc.h).
#include "preload/libc.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace synwave::preload {
namespace {

Libc g_libc{};
std::atomic<bool> g_resolved{false};

template <typename F>
void resolve(F& slot, const char* name, bool required = true) {
  slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (slot == nullptr && required) {
    std::fprintf(stderr, "synwave-preload: the C library has no %s\n", name);
    std::abort();
  }
}

void resolve_all() {
  Libc& l = g_libc;
  resolve(l.socket, "socket");
  resolve(l.bind, "bind");
  resolve(l.listen, "listen");
  resolve(l.accept, "accept");
  resolve(l.accept4, "accept4");
  resolve(l.connect, "connect");
  resolve(l.read, "read");
  resolve(l.write, "write");
  resolve(l.readv, "readv");
  resolve(l.writev, "writev");
  resolve(l.recv, "recv");
  resolve(l.send, "send");
  resolve(l.recvfrom, "recvfrom");
  resolve(l.sendto, "sendto");
  resolve(l.recvmsg, "recvmsg");
  resolve(l.sendmsg, "sendmsg");
  resolve(l.close, "close");
  resolve(l.shutdown, "shutdown");
  resolve(l.setsockopt, "setsockopt");
  resolve(l.getsockopt, "getsockopt");
  resolve(l.getsockname, "getsockname");
  resolve(l.getpeername, "getpeername");
  resolve(l.fcntl, "fcntl");
  resolve(l.ioctl, "ioctl");
  resolve(l.dup, "dup");
  resolve(l.dup2, "dup2");
  resolve(l.dup3, "dup3");
  resolve(l.poll, "poll");
  resolve(l.ppoll, "ppoll");
  resolve(l.select, "select");
  resolve(l.pselect, "pselect");
  resolve(l.epoll_create, "epoll_create");
  resolve(l.epoll_create1, "epoll_create1");
  resolve(l.epoll_ctl, "epoll_ctl");
  resolve(l.epoll_wait, "epoll_wait");
  resolve(l.epoll_pwait, "epoll_pwait");
  resolve(l.sendfile, "sendfile");
  resolve(l.close_range, "close_range", false);  // glibc 2.34 and later
}

}  // namespace

const Libc& libc() {
  if (!g_resolved.load(std::memory_order_acquire)) {
    // Two threads may both resolve: they write the same values.
    resolve_all();
    g_resolved.store(true, std::memory_order_release);
  }
  return g_libc;
}

__attribute__((constructor)) void resolve_at_load() { (void)libc(); }

}  // namespace synwave::preload
