// One message with descriptors attached (SCM_RIGHTS) over a Unix socket: how an application
// hands the daemon its eventfd and the daemon hands back the region's memfd. Header-only and
// DPDK-free: the client library uses it too.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace synwave::shim {

// Sends `len` bytes with `fd` attached (none when fd < 0). Returns sendmsg's result.
inline ssize_t send_with_fd(int socket, const void* data, std::size_t len, int fd, int flags) {
  iovec iov{const_cast<void*>(data), len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return ::sendmsg(socket, &msg, flags);
}

// Receives up to `len` bytes and the descriptors that came with them: up to `max_fds` into
// `fds` (CLOEXEC), `*fd_count` of them; any beyond `max_fds` are closed. Returns recvmsg's result.
inline ssize_t receive_with_fds(int socket, void* data, std::size_t len, int* fds, int max_fds, int* fd_count,
                                int flags) {
  iovec iov{data, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t got = ::recvmsg(socket, &msg, flags | MSG_CMSG_CLOEXEC);
  *fd_count = 0;
  if (got < 0) return got;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t k = 0; k < count; ++k) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
      if (*fd_count < max_fds) fds[(*fd_count)++] = fd;
      else ::close(fd);
    }
  }
  return got;
}

}  // namespace synwave::shim
