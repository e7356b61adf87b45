// read, write and their relatives, and sendfile: synwave's for its own descriptors.
//
// SO_RCVTIMEO / SO_SNDTIMEO on a blocking synwave socket: wait (wait_ready) up to the timeout,
// then try without blocking (EAGAIN when still nothing), as Linux reports a timed-out call.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "preload/preload.h"

#define SYNWAVE_EXPORT extern "C" __attribute__((visibility("default")))

namespace synwave::preload {
namespace {

bool blocking(int h) { return (sw_fcntl(h, F_GETFL, 0) & O_NONBLOCK) == 0; }

ssize_t receive(int fd, int h, msghdr& msg, int flags) {
  const int timeout = table().handle(h).recv_timeout_ms;
  if (timeout > 0 && !(flags & MSG_DONTWAIT) && blocking(h)) {
    const int r = wait_ready(fd, POLLIN, timeout);
    if (r < 0) return -1;
    if (r == 0) {
      errno = EAGAIN;
      return -1;
    }
    flags |= MSG_DONTWAIT;
  }
  return sw_recvmsg(h, &msg, flags);
}

ssize_t transmit(int fd, int h, const msghdr& msg, int flags) {
  const int timeout = table().handle(h).send_timeout_ms;
  if (timeout > 0 && !(flags & MSG_DONTWAIT) && blocking(h)) {
    const int r = wait_ready(fd, POLLOUT, timeout);
    if (r < 0) return -1;
    if (r == 0) {
      errno = EAGAIN;
      return -1;
    }
    flags |= MSG_DONTWAIT;
  }
  return sw_sendmsg(h, &msg, flags);
}

msghdr one_buffer(iovec& v) {
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  return m;
}

msghdr buffers(const iovec* iov, int count) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<std::size_t>(count < 0 ? 0 : count);
  return m;
}

}  // namespace
}  // namespace synwave::preload

using namespace synwave::preload;

SYNWAVE_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().read(fd, buf, len);
  iovec v{buf, len};
  msghdr m = one_buffer(v);
  return receive(fd, h, m, 0);
}

SYNWAVE_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) __builtin_trap();  // what glibc's fortified read does (__chk_fail)
  return read(fd, buf, len);
}

SYNWAVE_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  const int h = handle_of(fd);
  if (h < 0) return libc().write(fd, buf, len);
  iovec v{const_cast<void*>(buf), len};
  return transmit(fd, h, one_buffer(v), 0);
}

SYNWAVE_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  const int h = handle_of(fd);
  if (h < 0) return libc().readv(fd, iov, count);
  if (count < 0 || count > IOV_MAX) {
    errno = EINVAL;
    return -1;
  }
  msghdr m = buffers(iov, count);
  return receive(fd, h, m, 0);
}

SYNWAVE_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  const int h = handle_of(fd);
  if (h < 0) return libc().writev(fd, iov, count);
  if (count < 0 || count > IOV_MAX) {
    errno = EINVAL;
    return -1;
  }
  return transmit(fd, h, buffers(iov, count), 0);
}

SYNWAVE_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  const int h = handle_of(fd);
  if (h < 0) return libc().recv(fd, buf, len, flags);
  iovec v{buf, len};
  msghdr m = one_buffer(v);
  return receive(fd, h, m, flags);
}

SYNWAVE_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) __builtin_trap();
  return recv(fd, buf, len, flags);
}

SYNWAVE_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  const int h = handle_of(fd);
  if (h < 0) return libc().send(fd, buf, len, flags);
  iovec v{const_cast<void*>(buf), len};
  return transmit(fd, h, one_buffer(v), flags);
}

// A TCP socket has no source address to report: *addrlen comes back 0 (Linux does the same).
SYNWAVE_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* addr, socklen_t* addrlen) {
  const int h = handle_of(fd);
  if (h < 0) return libc().recvfrom(fd, buf, len, flags, addr, addrlen);
  iovec v{buf, len};
  msghdr m = one_buffer(v);
  const ssize_t n = receive(fd, h, m, flags);
  if (n >= 0 && addr != nullptr && addrlen != nullptr) *addrlen = 0;
  return n;
}

SYNWAVE_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags, sockaddr* addr,
                                      socklen_t* addrlen) {
  if (len > buflen) __builtin_trap();
  return recvfrom(fd, buf, len, flags, addr, addrlen);
}

// The destination of a connected TCP socket's sendto is ignored, as Linux ignores it.
SYNWAVE_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* addr, socklen_t addrlen) {
  const int h = handle_of(fd);
  if (h < 0) return libc().sendto(fd, buf, len, flags, addr, addrlen);
  iovec v{const_cast<void*>(buf), len};
  return transmit(fd, h, one_buffer(v), flags);
}

SYNWAVE_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  const int h = handle_of(fd);
  if (h < 0) return libc().recvmsg(fd, msg, flags);
  if (msg == nullptr) {
    errno = EFAULT;
    return -1;
  }
  return receive(fd, h, *msg, flags);
}

SYNWAVE_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  const int h = handle_of(fd);
  if (h < 0) return libc().sendmsg(fd, msg, flags);
  if (msg == nullptr) {
    errno = EFAULT;
    return -1;
  }
  return transmit(fd, h, *msg, flags);
}

// sendfile to a synwave socket: the file's bytes are read (pread) and written to the socket's
// send ring, 64 KiB at a time. The file offset (or *offset) advances by what the socket took,
// as with Linux's sendfile; a non-blocking socket takes what fits and returns.
SYNWAVE_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  const int h = handle_of(out_fd);
  if (h < 0) {
    if (handle_of(in_fd) >= 0) {
      errno = EINVAL;  // Linux needs a file it can map as the source; a socket is not one
      return -1;
    }
    return libc().sendfile(out_fd, in_fd, offset, count);
  }
  if (handle_of(in_fd) >= 0) {
    errno = EINVAL;
    return -1;
  }
  off_t position = offset != nullptr ? *offset : lseek(in_fd, 0, SEEK_CUR);
  if (position < 0) return -1;
  static thread_local unsigned char chunk[64 * 1024];
  size_t done = 0;
  while (done < count) {
    const size_t want = std::min(count - done, sizeof chunk);
    const ssize_t got = pread(in_fd, chunk, want, position);
    if (got < 0) {
      if (done > 0) break;
      return -1;
    }
    if (got == 0) break;  // end of file
    iovec v{chunk, static_cast<size_t>(got)};
    const ssize_t sent = transmit(out_fd, h, one_buffer(v), 0);
    if (sent < 0) {
      if (done > 0) break;
      return -1;
    }
    done += static_cast<size_t>(sent);
    position += sent;
    if (sent < got) break;  // the socket is full (non-blocking)
  }
  if (offset != nullptr) *offset = position;
  else if (lseek(in_fd, position, SEEK_SET) < 0) return -1;
  return static_cast<ssize_t>(done);
}

SYNWAVE_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) {
  static_assert(sizeof(off64_t) == sizeof(off_t));
  return sendfile(out_fd, in_fd, reinterpret_cast<off_t*>(offset), count);
}
