/* shim-tool: a small application of the client library for the shim's integration tests
 * (test_shim.py). Plain C, to show that synwave_client.h is a C API. Each mode prints what it
 * saw on stdout, one line per fact, flushed at once, with errno values by name (ECONNRESET, ...)
 * so that the tests can assert exact values.
 *
 *   shim-tool echo-client PREFIX IP PORT BYTES  connects to an echo server, sends BYTES of a
 *                                               deterministic pattern while reading the echo
 *                                               back (non-blocking, sw_epoll), checks every byte
 *   shim-tool hold-server PREFIX PORT           listens, accepts, reads nothing, never exits
 *   shim-tool block-accept PREFIX PORT          listens and blocks in sw_accept
 *   shim-tool block-recv PREFIX IP PORT         connects and blocks in sw_recv
 *   shim-tool close-while-blocked PREFIX IP PORT  connects; one thread blocks in sw_recv, the
 *                                               main thread closes the socket under it
 *   shim-tool fork-child PREFIX                 a socket, then fork(): what the child and the
 *                                               parent can do with it
 *   shim-tool fork-workers PREFIX PORT          listens, forks two workers that accept on the
 *                                               inherited listener and answer each connection's
 *                                               line with "worker N: LINE"; the parent never
 *                                               accepts, and closes its copy on SIGUSR1
 *   shim-tool fork-daemon PREFIX PORT           as fork-workers, but as nginx daemonizes: the
 *                                               process that listens forks the master and exits
 *                                               at once; the master (that never made a call)
 *                                               forks the workers
 *   shim-tool fork-close PREFIX PORT            listens, accepts one connection and reads its
 *                                               line, forks a child that closes both inherited
 *                                               handles (as redis's background save does) and
 *                                               exits; then answers that line and serves the
 *                                               listener ("parent: LINE")
 *   shim-tool attach PREFIX                     attaches, nothing more
 *
 * The modes that connect print "connected LOCAL PEER" (IP:PORT each) once connected.
 *
 * Exit status: 0 when the mode did what it should, 1 on an error (with a message), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/synwave_client.h"

static const char* errno_name(int error) {
  const char* name = strerrorname_np(error);
  static char unknown[32];
  if (name != NULL) return name;
  snprintf(unknown, sizeof unknown, "errno%d", error);
  return unknown;
}

static void say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vprintf(format, args);
  va_end(args);
  putchar('\n');
  fflush(stdout);
}

/* Prints "<what>: <errno name> (<text>)" and exits 1. */
static void die_errno(const char* what) {
  const int error = errno;
  say("error: %s: %s (%s)", what, errno_name(error), strerror(error));
  exit(1);
}

static int usage(void) {
  fputs("usage: shim-tool echo-client PREFIX IP PORT BYTES\n"
        "       shim-tool hold-server PREFIX PORT\n"
        "       shim-tool block-accept PREFIX PORT\n"
        "       shim-tool block-recv PREFIX IP PORT\n"
        "       shim-tool close-while-blocked PREFIX IP PORT\n"
        "       shim-tool fork-child PREFIX\n"
        "       shim-tool fork-workers PREFIX PORT\n"
        "       shim-tool fork-daemon PREFIX PORT\n"
        "       shim-tool fork-close PREFIX PORT\n"
        "       shim-tool attach PREFIX\n",
        stderr);
  return 2;
}

static int parse_number(const char* text, unsigned long max, unsigned long* out) {
  char* end = NULL;
  errno = 0;
  const unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max) return -1;
  *out = v;
  return 0;
}

static void attach_or_die(const char* prefix) {
  if (sw_attach(prefix) != 0) {
    const int error = errno;
    say("error: attach: %s %s", errno_name(error), sw_last_error());
    exit(1);
  }
}

static struct sockaddr_in address(const char* ip, unsigned long port) {
  struct sockaddr_in in;
  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  in.sin_port = htons((uint16_t)port);
  if (ip == NULL) {
    in.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, ip, &in.sin_addr) != 1) {
    say("error: bad address %s", ip);
    exit(2);
  }
  return in;
}

static const char* format_address(const struct sockaddr_in* in, char* text, size_t size) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
  snprintf(text, size, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
  return text;
}

/* Connects (blocking) and prints "connected LOCAL PEER" as sw_getsockname/sw_getpeername give them. */
static int connect_to(const char* ip, unsigned long port) {
  const int s = sw_socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die_errno("socket");
  struct sockaddr_in to = address(ip, port);
  if (sw_connect(s, (const struct sockaddr*)&to, sizeof to) != 0) die_errno("connect");
  struct sockaddr_in local, peer;
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  if (sw_getsockname(s, (struct sockaddr*)&local, &local_len) != 0) die_errno("getsockname");
  if (sw_getpeername(s, (struct sockaddr*)&peer, &peer_len) != 0) die_errno("getpeername");
  char local_text[32], peer_text[32];
  say("connected %s %s", format_address(&local, local_text, sizeof local_text),
      format_address(&peer, peer_text, sizeof peer_text));
  return s;
}

static int listen_on(unsigned long port) {
  const int s = sw_socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die_errno("socket");
  const int one = 1;
  if (sw_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die_errno("setsockopt");
  struct sockaddr_in at = address(NULL, port);
  if (sw_bind(s, (const struct sockaddr*)&at, sizeof at) != 0) die_errno("bind");
  if (sw_listen(s, 128) != 0) die_errno("listen");
  return s;
}

/* Byte i of the stream: not periodic at any small power of two, so that a lost, repeated or
 * reordered chunk shows. */
static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 7) ^ (i >> 8) ^ (i >> 16) ^ (i >> 24)); }

/* --- echo-client ------------------------------------------------------------------------------- */

static int echo_client(const char* ip, unsigned long port, uint64_t bytes) {
  const int s = connect_to(ip, port);
  if (sw_fcntl(s, F_SETFL, O_NONBLOCK) != 0) die_errno("fcntl");
  const int ep = sw_epoll_create1(0);
  if (ep < 0) die_errno("epoll_create1");
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLRDHUP | (bytes > 0 ? EPOLLOUT : 0);
  ev.data.fd = s;
  if (sw_epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) != 0) die_errno("epoll_ctl");
  if (bytes == 0 && sw_shutdown(s, SHUT_WR) != 0) die_errno("shutdown");

  static uint8_t out[65536], in[65536];
  uint64_t sent = 0, received = 0;
  int eof = 0;
  while (!eof) {
    struct epoll_event events[4];
    const int n = sw_epoll_wait(ep, events, 4, 10000);
    if (n < 0) {
      if (errno == EINTR) continue;
      die_errno("epoll_wait");
    }
    if (n == 0) {
      say("error: no progress for 10 s: sent=%llu received=%llu", (unsigned long long)sent,
          (unsigned long long)received);
      return 1;
    }
    const uint32_t what = events[0].events;
    if ((what & EPOLLOUT) && sent < bytes) {
      for (;;) {
        const uint64_t left = bytes - sent;
        const size_t chunk = left < sizeof out ? (size_t)left : sizeof out;
        for (size_t k = 0; k < chunk; ++k) out[k] = pattern(sent + k);
        const ssize_t w = sw_send(s, out, chunk, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN) break;
          die_errno("send");
        }
        sent += (uint64_t)w;
        if (sent == bytes) {
          /* Everything is written: only the echo is awaited now, and the server sees our FIN. */
          ev.events = EPOLLIN | EPOLLRDHUP;
          if (sw_epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) != 0) die_errno("epoll_ctl");
          if (sw_shutdown(s, SHUT_WR) != 0) die_errno("shutdown");
          break;
        }
      }
    }
    if (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      for (;;) {
        const ssize_t r = sw_recv(s, in, sizeof in, 0);
        if (r < 0) {
          if (errno == EAGAIN) break;
          die_errno("recv");
        }
        if (r == 0) {
          eof = 1;
          break;
        }
        for (ssize_t k = 0; k < r; ++k) {
          if (received + (uint64_t)k >= sent) {
            say("error: received byte %llu before it was sent (sent=%llu)",
                (unsigned long long)(received + (uint64_t)k), (unsigned long long)sent);
            return 1;
          }
          if (in[k] != pattern(received + (uint64_t)k)) {
            say("error: mismatch at byte %llu: got 0x%02x, expected 0x%02x",
                (unsigned long long)(received + (uint64_t)k), in[k], pattern(received + (uint64_t)k));
            return 1;
          }
        }
        received += (uint64_t)r;
      }
    }
  }
  sw_epoll_close(ep);
  sw_close(s);
  if (sent != bytes || received != bytes) {
    say("error: end of stream early: sent=%llu received=%llu of %llu", (unsigned long long)sent,
        (unsigned long long)received, (unsigned long long)bytes);
    return 1;
  }
  say("ok sent=%llu received=%llu", (unsigned long long)sent, (unsigned long long)received);
  return 0;
}

/* --- the blocking modes -------------------------------------------------------------------------- */

static int hold_server(unsigned long port) {
  const int s = listen_on(port);
  say("listening %lu", port);
  unsigned long count = 0;
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    const int c = sw_accept(s, (struct sockaddr*)&peer, &len);
    if (c < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      say("accept: %s", errno_name(error));
      break;
    }
    char text[32];
    say("accepted %lu %s", ++count, format_address(&peer, text, sizeof text));
  }
  for (;;) pause();  /* keeps whatever it holds until the test kills it */
  return 0;
}

static int block_accept(unsigned long port) {
  const int s = listen_on(port);
  say("blocking");
  for (;;) {
    const int c = sw_accept(s, NULL, NULL);
    if (c >= 0) {
      say("accept: returned %d", c);
      return 1;
    }
    if (errno == EINTR) continue;
    const int error = errno;
    say("accept: %s", errno_name(error));
    return 0;
  }
}

static int block_recv(const char* ip, unsigned long port) {
  const int s = connect_to(ip, port);
  say("blocking");
  char buf[4096];
  for (;;) {
    const ssize_t r = sw_recv(s, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int error = errno;
      say("recv: %s", errno_name(error));
    } else {
      say("recv: %zd", r);
    }
    return 0;
  }
}

static void* recv_thread(void* arg) {
  const int s = *(const int*)arg;
  char buf[64];
  const ssize_t r = sw_recv(s, buf, sizeof buf, 0);
  const int error = errno;
  if (r < 0) say("recv: %s", errno_name(error));
  else say("recv: %zd", r);
  return NULL;
}

/* Linux lets close() return while another thread sits in recv() on the socket; the shim's
 * sw_close must not wait for that thread either, and the thread must not read another socket's
 * bytes if the slot is reused: it returns EBADF. */
static int close_while_blocked(const char* ip, unsigned long port) {
  static int s;
  s = connect_to(ip, port);
  pthread_t thread;
  if (pthread_create(&thread, NULL, recv_thread, &s) != 0) {
    say("pthread_create failed");
    return 1;
  }
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
  say("closing");
  if (sw_close(s) != 0) die_errno("sw_close");
  say("closed");
  pthread_join(thread, NULL);
  return 0;
}

/* After fork() the child must not use its parent's attachment: the inherited handle fails with
 * EBADF and a new socket attaches the child as an application of its own. The parent's socket
 * keeps working. */
static int fork_child(void) {
  const int s = sw_socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die_errno("sw_socket");
  say("parent socket %d", s);
  const pid_t child = fork();
  if (child < 0) die_errno("fork");
  if (child == 0) {
    const int r = sw_fcntl(s, F_GETFL, 0);
    say("child inherited: %s", r < 0 ? errno_name(errno) : "usable");
    const int own = sw_socket(AF_INET, SOCK_STREAM, 0);
    say("child socket: %s", own < 0 ? errno_name(errno) : "ok");
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  const int r = sw_fcntl(s, F_GETFL, 0);
  say("parent after fork: %s", r < 0 ? errno_name(errno) : "ok");
  say("holding");
  for (;;) pause();
}

/* Reads one line (up to a newline or the end of stream) from connection c. */
static ssize_t read_line(int c, char* line, size_t size) {
  size_t got = 0;
  while (got + 1 < size) {
    const ssize_t r = sw_recv(c, line + got, size - 1 - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
    if (memchr(line, '\n', got) != NULL) break;
  }
  line[got] = '\0';
  line[strcspn(line, "\n")] = '\0';
  return (ssize_t)got;
}

/* Answers connection c's line with "WHO: LINE" and closes it. */
static void answer(int c, const char* who, const char* line) {
  char reply[512];
  const int n = snprintf(reply, sizeof reply, "%s: %s\n", who, line);
  if (sw_send(c, reply, (size_t)n, MSG_NOSIGNAL) != n) die_errno("send");
  if (sw_close(c) != 0) die_errno("close");
}

/* Accepts on s forever, answering each connection's line as WHO. */
static void serve(int s, const char* who) {
  unsigned long served = 0;
  for (;;) {
    const int c = sw_accept(s, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      die_errno("accept");
    }
    char line[256];
    if (read_line(c, line, sizeof line) < 0) die_errno("recv");
    answer(c, who, line);
    say("%s served %lu", who, ++served);
  }
}

static volatile sig_atomic_t g_close_requested = 0;
static void request_close(int signum) {
  (void)signum;
  g_close_requested = 1;
}

/* nginx's shape: the master listens and forks workers that accept on the inherited listener (a
 * handle of the same number); the master never accepts. */
static int fork_workers(int s) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = request_close;
  sigaction(SIGUSR1, &action, NULL);
  pid_t workers[2];
  for (int i = 0; i < 2; ++i) {
    workers[i] = fork();
    if (workers[i] < 0) die_errno("fork");
    if (workers[i] == 0) {
      char who[32];
      snprintf(who, sizeof who, "worker %d", i + 1);
      /* The first call attaches this worker and makes the listener its own; polling a listener
       * says that it accepts. */
      const uint32_t events = sw_poll_events(s);
      if (events & (EPOLLERR | EPOLLHUP)) {
        say("error: %s: the inherited listener is not usable (%s)", who, sw_last_error());
        _exit(1);
      }
      int accepting = 0;
      socklen_t len = sizeof accepting;
      if (sw_getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        die_errno("getsockopt SO_ACCEPTCONN");
      say("%s accepting pid %d", who, (int)getpid());
      serve(s, who);
    }
  }
  say("master %d workers %d %d", (int)getpid(), (int)workers[0], (int)workers[1]);
  while (!g_close_requested) pause();
  if (sw_close(s) != 0) die_errno("close");
  say("parent closed");
  for (;;) pause();
}

/* redis's shape: a child forked for a background job closes the inherited listener and
 * connection, which must not affect the parent's. */
static int fork_close(unsigned long port) {
  const int s = listen_on(port);
  say("listening %lu", port);
  const int c = sw_accept(s, NULL, NULL);
  if (c < 0) die_errno("accept");
  char line[256];
  if (read_line(c, line, sizeof line) < 0) die_errno("recv");
  say("parent read %s", line);
  const pid_t child = fork();
  if (child < 0) die_errno("fork");
  if (child == 0) {
    /* Closing what it inherited is all it does with synwave: it never attaches. */
    say("child close listener: %d", sw_close(s));
    const uint32_t events = sw_poll_events(c);
    say("child poll inherited connection: %s", (events & EPOLLHUP) ? "EPOLLHUP" : "usable");
    say("child close connection: %d", sw_close(c));
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  say("child exited %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  answer(c, "parent", line);
  serve(s, "parent");
  return 0;
}

static int attach_only(const char* prefix) {
  if (sw_attach(prefix) != 0) {
    const int error = errno;
    say("refused: errno=%s %s", errno_name(error), sw_last_error());
    return 1;
  }
  say("attached");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const char* mode = argv[1];
  const char* prefix = argv[2];
  unsigned long port = 0, bytes = 0;
  if (strcmp(mode, "attach") == 0 && argc == 3) return attach_only(prefix);
  if (strcmp(mode, "echo-client") == 0 && argc == 6) {
    if (parse_number(argv[4], 65535, &port) != 0 || parse_number(argv[5], 1ul << 40, &bytes) != 0) return usage();
    attach_or_die(prefix);
    return echo_client(argv[3], port, bytes);
  }
  if (strcmp(mode, "hold-server") == 0 && argc == 4) {
    if (parse_number(argv[3], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    return hold_server(port);
  }
  if (strcmp(mode, "block-accept") == 0 && argc == 4) {
    if (parse_number(argv[3], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    return block_accept(port);
  }
  if (strcmp(mode, "block-recv") == 0 && argc == 5) {
    if (parse_number(argv[4], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    return block_recv(argv[3], port);
  }
  if (strcmp(mode, "fork-child") == 0 && argc == 3) {
    attach_or_die(prefix);
    return fork_child();
  }
  if ((strcmp(mode, "fork-workers") == 0 || strcmp(mode, "fork-close") == 0) && argc == 4) {
    if (parse_number(argv[3], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    if (strcmp(mode, "fork-close") == 0) return fork_close(port);
    const int s = listen_on(port);
    say("listening %lu", port);
    return fork_workers(s);
  }
  if (strcmp(mode, "fork-daemon") == 0 && argc == 4) {
    if (parse_number(argv[3], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    const int s = listen_on(port);
    say("listening %lu", port);
    const pid_t master = fork();
    if (master < 0) die_errno("fork");
    if (master != 0) _exit(0);  /* nginx's ngx_daemon(): the listening process goes at once */
    return fork_workers(s);
  }
  if (strcmp(mode, "close-while-blocked") == 0 && argc == 5) {
    if (parse_number(argv[4], 65535, &port) != 0) return usage();
    attach_or_die(prefix);
    return close_while_blocked(argv[3], port);
  }
  return usage();
}
