/* synwave's client library: BSD-socket-shaped TCP sockets for a process of its own, served by a
 * running synwave daemon through shared memory (docs/shim.md).
 *
 * The process links libsynwave-client (pkg-config synwave-client) and nothing of DPDK: no EAL,
 * no hugepages. The first call attaches to the daemon whose EAL file prefix is $SYNWAVE_PREFIX
 * (default "synwave"), or the one given to sw_attach().
 *
 * Every name starts with sw_ ("synwave socket"): sw_socket, sw_accept4, sw_epoll_wait, ...
 * (synwave_* names belong to the in-process embedding API, lib/embed).
 *
 * Conventions, as the libc calls they mirror: -1 with errno on failure (Linux errno values).
 * Socket handles are small non-negative integers of the library's own (not kernel descriptors);
 * epoll handles come with a real descriptor (sw_epoll_fd) that an application can put into
 * its own poll/epoll loop.
 *
 * Thread-safety: every call may be made from any thread at any time, including several threads
 * on one socket (as with kernel sockets; reads or writes interleave as they would there). Each
 * thread gets a request channel of its own while channels last (SYNWAVE_CHANNELS, default 4),
 * then threads share channels. Not async-signal-safe.
 *
 * fork(): the parent keeps its attachment and its sockets unchanged. In the child every handle
 * keeps its number. An inherited listener stays a listener of the same port: the child's first
 * call (any call but sw_close of an inherited handle) attaches it as an application of the
 * parent's family and makes it one more holder of the same listener, on every engine; new
 * connections go round-robin to the holders that accept (they have called sw_accept4, added the
 * listener to an epoll instance, or asked sw_poll_events about it), so a parent that never
 * accepts gets none. sw_close of an inherited listener closes only the caller's copy; the
 * listener closes with its last holder (or the exit of the last process holding it). Inherited
 * connections and unopened sockets cannot be used in the child: sw_close returns 0 and leaves
 * the parent's socket alone, every other call fails with EBADF; inherited epoll handles fail
 * with EBADF. A child that only closes what it inherited never attaches. A child forked again
 * passes its listeners on the same way (docs/shim.md, "fork()").
 *
 * Blocking calls sleep on an eventfd the daemon signals; SYNWAVE_BUSY_POLL_US spins that many
 * microseconds before sleeping (lower latency, a busy core). When the daemon stops, blocked calls
 * return: reads and writes fail with ECONNRESET / EPIPE, new sockets with ENETDOWN.
 */
#ifndef SYNWAVE_CLIENT_H
#define SYNWAVE_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Attaches to the daemon with EAL file prefix `prefix` (NULL: $SYNWAVE_PREFIX, else "synwave").
 * Idempotent once attached. Errors: ENOENT (no daemon: nothing listens at
 * /run/synwave/<prefix>/shim.sock), EACCES (this uid/gid is not allowed), EMFILE (the daemon's
 * application limit), EPROTO (another ABI version), ENOMEM. A message naming the prefix and the
 * reason is kept for sw_last_error(). */
int sw_attach(const char* prefix);
/* Closes every socket (as exit would) and unmaps. Other threads must not be inside a call. */
void sw_detach(void);
/* The reason for the last failed attach, or "". */
const char* sw_last_error(void);

/* AF_INET, SOCK_STREAM (| SOCK_NONBLOCK | SOCK_CLOEXEC), protocol 0 or IPPROTO_TCP.
 * Errors: EAFNOSUPPORT, EPROTONOSUPPORT, EINVAL, EMFILE (the application's socket limit),
 * ENETDOWN (the daemon stopped), the attach errors. */
int sw_socket(int domain, int type, int protocol);
/* Recorded; conflicts (EADDRINUSE) are reported by listen() or connect(). EADDRNOTAVAIL for an
 * address the daemon does not own, EINVAL when already bound. */
int sw_bind(int s, const struct sockaddr* addr, socklen_t len);
/* Listens on every engine of the daemon. */
int sw_listen(int s, int backlog);
/* flags: SOCK_NONBLOCK, SOCK_CLOEXEC. Blocks unless the listener is non-blocking (EAGAIN).
 * Connections are handed to a listener's process from its first accept (or epoll interest, or
 * sw_poll_events) on; until then they wait in the daemon's accept queue (the backlog). */
int sw_accept4(int s, struct sockaddr* addr, socklen_t* len, int flags);
int sw_accept(int s, struct sockaddr* addr, socklen_t* len);
/* Blocking: waits for the handshake; non-blocking: EINPROGRESS, then writable (or SO_ERROR). */
int sw_connect(int s, const struct sockaddr* addr, socklen_t len);

ssize_t sw_read(int s, void* buf, size_t len);
ssize_t sw_write(int s, const void* buf, size_t len);
ssize_t sw_readv(int s, const struct iovec* iov, int iovcnt);
ssize_t sw_writev(int s, const struct iovec* iov, int iovcnt);
/* flags: MSG_DONTWAIT, MSG_PEEK (recv), MSG_NOSIGNAL (send: never raises SIGPIPE; without it
 * a send on a closed connection raises SIGPIPE as Linux does). */
ssize_t sw_recv(int s, void* buf, size_t len, int flags);
ssize_t sw_send(int s, const void* buf, size_t len, int flags);

int sw_shutdown(int s, int how);
/* Unsent bytes are still sent, then FIN; unread received bytes make it an RST (Linux). */
int sw_close(int s);

/* SOL_SOCKET: SO_REUSEADDR, SO_REUSEPORT (a listen() on an address:port this
 * process already listens on with SO_REUSEPORT joins that listener with an accept queue of its own:
 * connections are dealt round-robin to the ones that accept), SO_KEEPALIVE, SO_LINGER,
 * SO_SNDBUF, SO_RCVBUF, SO_ERROR (get), SO_TYPE (get), SO_ACCEPTCONN (get);
 * IPPROTO_TCP: TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
 * TCP_CONGESTION ("cubic", "reno"). Others: ENOPROTOOPT. */
int sw_setsockopt(int s, int level, int name, const void* value, socklen_t len);
int sw_getsockopt(int s, int level, int name, void* value, socklen_t* len);
int sw_getsockname(int s, struct sockaddr* addr, socklen_t* len);
int sw_getpeername(int s, struct sockaddr* addr, socklen_t* len);
/* F_GETFL / F_SETFL (O_NONBLOCK) and F_GETFD / F_SETFD (FD_CLOEXEC). */
int sw_fcntl(int s, int cmd, int arg);
/* FIONREAD: bytes readable now. FIONBIO. */
int sw_ioctl(int s, unsigned long request, void* arg);

/* Readiness as epoll gives it (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR), level- or
 * edge-triggered (EPOLLET), EPOLLONESHOT. Handles are per process. */
int sw_epoll_create1(int flags);
int sw_epoll_ctl(int ep, int op, int s, struct epoll_event* event);
/* timeout_ms as epoll_wait: -1 forever, 0 no wait. EINTR when a signal arrives while sleeping. */
int sw_epoll_wait(int ep, struct epoll_event* events, int max, int timeout_ms);
/* A kernel descriptor that polls readable whenever sw_epoll_wait(ep, ..., 0) may return
 * something; put it into the application's own poll/epoll/select loop. */
int sw_epoll_fd(int ep);
int sw_epoll_close(int ep);

/* Readiness of one socket now, as epoll event bits (for poll()-shaped loops). Asking about a
 * listener marks it as accepting (see fork() above). */
uint32_t sw_poll_events(int s);

/* sendmsg / recvmsg for a TCP socket: msg_iov and flags as sw_send / sw_recv; msg_name is
 * ignored (stream sockets), no ancillary data (msg_controllen and msg_namelen come back 0). */
ssize_t sw_sendmsg(int s, const struct msghdr* msg, int flags);
ssize_t sw_recvmsg(int s, struct msghdr* msg, int flags);

/* A kernel descriptor (the attachment's eventfd) that becomes readable whenever the daemon
 * published anything for this process, for poll()/select()-shaped loops that wait on kernel
 * and synwave descriptors at once (asks the daemon to write it on every publication). After it
 * polled readable, sw_pump() resets it and takes the daemon's news in. -1 when not attached. */
int sw_wake_fd(void);
void sw_pump(void);

#ifdef __cplusplus
}
#endif

#endif /* SYNWAVE_CLIENT_H */
