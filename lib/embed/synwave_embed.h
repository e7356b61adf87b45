/* synwave's embedding interface in C: one TCP engine inside the caller's process, without a NIC.
 *
 * For script-driven conformance tools (packetdrill-style) and other harnesses written in any
 * language with a C FFI. It wraps synwave::embed::Host (embed/host.h); docs/embedding.md explains
 * the model and gives a complete example.
 *
 *   - Packets: the harness injects IPv4 datagrams (no link header) and reads the IPv4 datagrams the
 *     stack sent, one at a time, in order.
 *   - Time is virtual: it starts at 0 (or the configured start) and moves only when the harness
 *     advances it; the timers due by then fire during that call.
 *   - Sockets: a BSD-shaped API. Every call returns a value >= 0 on success and -errno (Linux
 *     values: -EAGAIN, -ECONNREFUSED, ...) on failure. Sockets are blocking by default.
 *
 * Thread-safety: every function may be called from any thread; calls on one host are serialised by
 * the host's mutex. A blocking call waits for ANOTHER thread to inject a datagram, advance time or
 * make a socket call; synwave_interrupt() and synwave_host_destroy() make it return -EINTR.
 */
#ifndef SYNWAVE_EMBED_H
#define SYNWAVE_EMBED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An engine. Opaque. */
struct synwave_host;

/* Socket options for synwave_setsockopt / synwave_getsockopt. */
enum {
  SYNWAVE_SO_REUSEADDR = 1,  /* 0/1 */
  SYNWAVE_SO_LINGER = 2,     /* set 0: close() sends RST (SO_LINGER {1, 0}); other values: off */
  SYNWAVE_SO_ERROR = 3,      /* get only: the pending error as a positive errno, then cleared */
  SYNWAVE_TCP_NODELAY = 4,   /* 0/1 */
  SYNWAVE_SO_KEEPALIVE = 5,  /* 0/1 */
  SYNWAVE_TCP_MAXSEG = 6,    /* the MSS announced (before connect/listen) */
  SYNWAVE_SO_RCVTIMEO_MS = 7, /* set only: recv/accept timeout in VIRTUAL milliseconds, 0 = none */
  SYNWAVE_SO_SNDTIMEO_MS = 8  /* set only: send/connect timeout in VIRTUAL milliseconds, 0 = none */
};

/* synwave_shutdown's `how`: Linux's SHUT_RD, SHUT_WR, SHUT_RDWR. */
enum { SYNWAVE_SHUT_RD = 0, SYNWAVE_SHUT_WR = 1, SYNWAVE_SHUT_RDWR = 2 };

/* synwave_readiness bits (EPOLLIN / EPOLLOUT / ... meanings, see tcp/tcp_stack.h). */
enum {
  SYNWAVE_READABLE = 1 << 0,
  SYNWAVE_WRITABLE = 1 << 1,
  SYNWAVE_CONNECTED = 1 << 2,
  SYNWAVE_ACCEPT_READY = 1 << 3,
  SYNWAVE_PEER_CLOSED = 1 << 4,
  SYNWAVE_CLOSED = 1 << 5,
  SYNWAVE_ERROR = 1 << 6
};

/* synwave_state's results: Linux's TCP_* state numbers (what tcp_info.tcpi_state holds). */
enum {
  SYNWAVE_TCP_ESTABLISHED = 1,
  SYNWAVE_TCP_SYN_SENT = 2,
  SYNWAVE_TCP_SYN_RECV = 3,
  SYNWAVE_TCP_FIN_WAIT1 = 4,
  SYNWAVE_TCP_FIN_WAIT2 = 5,
  SYNWAVE_TCP_TIME_WAIT = 6,
  SYNWAVE_TCP_CLOSE = 7,
  SYNWAVE_TCP_CLOSE_WAIT = 8,
  SYNWAVE_TCP_LAST_ACK = 9,
  SYNWAVE_TCP_LISTEN = 10,
  SYNWAVE_TCP_CLOSING = 11
};

/* Every setting of a host; zero fields take their defaults. */
struct synwave_host_config {
  const char* address;      /* required: the local IPv4 address, "198.18.0.2" */
  const char* sysctl_lines; /* optional: "net.ipv4.tcp_syn_retries=3\n..." (sysctl.conf syntax) */
  unsigned mtu;             /* 0: 1500 */
  int64_t start_ns;         /* the initial virtual time (>= 0) */
  int64_t tick_ns;          /* the timer resolution; 0: 1 ms */
  const uint8_t* isn_secret; /* 16 bytes; NULL: a fixed default (deterministic ISNs) */
  char* error;              /* optional: why creation failed, NUL-terminated, truncated to fit */
  size_t error_cap;
};

/* --- Hosts ------------------------------------------------------------------------------------ */

/* A host on `address` with Linux's sysctl defaults overridden by `sysctl_lines` (may be NULL).
 * The first host of a process starts DPDK's EAL (no hugepages, no devices) unless the process
 * already did. NULL on failure (bad address, bad sysctl line, no memory). */
struct synwave_host* synwave_host_create(const char* address, const char* sysctl_lines);
/* The same with every setting; NULL on failure, with the reason in config->error. */
struct synwave_host* synwave_host_create_config(const struct synwave_host_config* config);
/* Calls blocked on the host return -EINTR; once they have, frees it. NULL is ignored. */
void synwave_host_destroy(struct synwave_host* host);

/* --- Packets ---------------------------------------------------------------------------------- */

/* Hands an IPv4 datagram to the stack, which processes it to the end (its answers are queued for
 * synwave_host_next_output when this returns). 0: delivered to TCP. Dropped (and counted):
 * -EINVAL not a valid IPv4 datagram (checksum, length, fragment), -EPROTONOSUPPORT not TCP,
 * -EADDRNOTAVAIL not addressed to the host, -EMSGSIZE larger than the host's buffers (2048 bytes
 * or the MTU), -ENOBUFS no buffer left. */
int synwave_host_inject(struct synwave_host* host, const void* buf, size_t len);
/* Copies the oldest datagram the stack sent into buf and removes it: its length; 0 when none is
 * waiting; -EMSGSIZE (nothing removed) when cap is too small. */
long synwave_host_next_output(struct synwave_host* host, void* buf, size_t cap);
/* Waits up to timeout_ms of REAL time for output (for a datagram sent by a call in another
 * thread, such as a blocking connect's SYN): 1 when output is waiting, 0 on timeout. */
int synwave_host_wait_output(struct synwave_host* host, int timeout_ms);

/* --- Virtual time ----------------------------------------------------------------------------- */

int64_t synwave_host_now_ns(const struct synwave_host* host);
/* Moves time forward by ns (>= 0), firing the timers due; their segments are then output. Returns
 * the number of timers fired, or -EINVAL for ns < 0. */
long synwave_host_advance_ns(struct synwave_host* host, int64_t ns);
/* Moves time to the instant ns (an earlier instant leaves time where it is); as above. */
long synwave_host_advance_to_ns(struct synwave_host* host, int64_t ns);
/* When the next timer fires, in ns; -1 when no timer is pending. */
int64_t synwave_host_next_timer_ns(const struct synwave_host* host);

/* --- Sockets ---------------------------------------------------------------------------------- */

int synwave_socket(struct synwave_host* host);
/* address NULL or "0.0.0.0": any (the host's address); port 0: an ephemeral port. */
int synwave_bind(struct synwave_host* host, int s, const char* address, uint16_t port);
int synwave_listen(struct synwave_host* host, int s, int backlog);
/* A new socket. peer_address (16 bytes: "255.255.255.255" and NUL) and peer_port may be NULL. */
int synwave_accept(struct synwave_host* host, int s, char* peer_address, uint16_t* peer_port);
/* Blocking: 0 once established, else -ECONNREFUSED, -ETIMEDOUT, ...; non-blocking: -EINPROGRESS. */
int synwave_connect(struct synwave_host* host, int s, const char* address, uint16_t port);
long synwave_send(struct synwave_host* host, int s, const void* buf, size_t len);
long synwave_recv(struct synwave_host* host, int s, void* buf, size_t len);
int synwave_shutdown(struct synwave_host* host, int s, int how);
int synwave_close(struct synwave_host* host, int s);
int synwave_setsockopt(struct synwave_host* host, int s, int option, int value);
int synwave_getsockopt(struct synwave_host* host, int s, int option, int* value);
/* Like fcntl(s, F_SETFL, O_NONBLOCK) when nonblocking != 0. 0 or -EBADF. */
int synwave_set_nonblocking(struct synwave_host* host, int s, int nonblocking);
/* SYNWAVE_READABLE | ... ; 0 for an invalid socket. */
uint32_t synwave_readiness(struct synwave_host* host, int s);
/* SYNWAVE_TCP_*, or -EBADF. */
int synwave_state(struct synwave_host* host, int s);
/* getsockname / getpeername: address (16 bytes) and port; 0, -EBADF, or -ENOTCONN. */
int synwave_getsockname(struct synwave_host* host, int s, char* address, uint16_t* port);
int synwave_getpeername(struct synwave_host* host, int s, char* address, uint16_t* port);
/* Every call blocked on the host right now returns -EINTR. */
void synwave_interrupt(struct synwave_host* host);

#ifdef __cplusplus
}
#endif

#endif /* SYNWAVE_EMBED_H */
