/* preload-tool: a plain C program (no synwave headers, no synwave library) that test_preload_calls.py
 * runs under synwave-run, so every call below goes through libsynwave-preload.so. Each check prints
 * "ok NAME" or "FAIL NAME: why"; the exit code is the number of failures.
 *
 *   preload-tool calls ECHO_HOST ECHO_PORT   the socket calls against a kernel echo server
 *   preload-tool loopback                    a 127.0.0.1 listener and client: handed to the kernel
 *   preload-tool refused HOST PORT           socket() + connect(); prints errno and the message
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(name, cond, ...)                      \
  do {                                              \
    if (cond) {                                     \
      printf("ok %s\n", name);                      \
    } else {                                        \
      printf("FAIL %s: ", name);                    \
      printf(__VA_ARGS__);                          \
      printf(" (errno %d %s)\n", errno, strerror(errno)); \
      ++failures;                                   \
    }                                               \
    fflush(stdout);                                 \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_to(const char* host, int port, int type_flags) {
  int s = socket(AF_INET, SOCK_STREAM | type_flags, 0);
  if (s < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

/* Reads exactly n bytes (blocking socket). */
static int read_all(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char*)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int echo_round(int fd, const char* text) {
  char back[256];
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) return -1;
  if (read_all(fd, back, n) != 0) return -1;
  return memcmp(back, text, n) == 0 ? 0 : -1;
}

static int calls(const char* host, int port) {
  /* --- socket(), the number, the kernel's view of it ---------------------------------------- */
  int s = connect_to(host, port, SOCK_CLOEXEC);
  CHECK("connect", s >= 0, "connect to %s:%d", host, port);
  if (s < 0) return failures;
  struct stat st;
  CHECK("fstat-is-socket", fstat(s, &st) == 0 && S_ISSOCK(st.st_mode), "fstat mode %o", st.st_mode);
  int null_fd = open("/dev/null", O_RDONLY);
  CHECK("number-reserved", null_fd >= 0 && null_fd != s, "open gave %d, socket is %d", null_fd, s);
  CHECK("cloexec-from-socket", fcntl(s, F_GETFD) == FD_CLOEXEC, "F_GETFD %d", fcntl(s, F_GETFD));
  CHECK("setfd", fcntl(s, F_SETFD, 0) == 0 && fcntl(s, F_GETFD) == 0, "F_SETFD 0");
  CHECK("getfl-blocking", (fcntl(s, F_GETFL) & O_NONBLOCK) == 0, "F_GETFL %x", fcntl(s, F_GETFL));

  /* --- bytes ---------------------------------------------------------------------------------- */
  CHECK("write-read", echo_round(s, "hello synwave") == 0, "echo");
  char a1[] = "vec", a2[] = "tor";
  struct iovec out[2] = {{a1, 3}, {a2, 3}};
  char b1[2], b2[4];
  struct iovec in[2] = {{b1, 2}, {b2, 4}};
  ssize_t wv = writev(s, out, 2);
  usleep(50000);
  ssize_t rv = readv(s, in, 2);
  CHECK("writev-readv", wv == 6 && rv == 6 && memcmp(b1, "ve", 2) == 0 && memcmp(b2, "ctor", 4) == 0, "wv %zd rv %zd", wv, rv);
  CHECK("send", send(s, "peek", 4, MSG_NOSIGNAL) == 4, "send");
  usleep(50000);
  int avail = -1;
  CHECK("fionread", ioctl(s, FIONREAD, &avail) == 0 && avail == 4, "FIONREAD %d", avail);
  char p[8] = {0};
  CHECK("recv-peek", recv(s, p, 4, MSG_PEEK) == 4 && memcmp(p, "peek", 4) == 0, "peek");
  struct sockaddr_in from;
  socklen_t from_len = sizeof from;
  memset(p, 0, sizeof p);
  ssize_t rf = recvfrom(s, p, 4, 0, (struct sockaddr*)&from, &from_len);
  CHECK("recvfrom", rf == 4 && memcmp(p, "peek", 4) == 0 && from_len == 0, "rf %zd len %u", rf, from_len);
  struct msghdr m = {0};
  char mb[5] = "msg!";
  struct iovec mv = {mb, 4};
  m.msg_iov = &mv;
  m.msg_iovlen = 1;
  CHECK("sendmsg", sendmsg(s, &m, 0) == 4, "sendmsg");
  memset(mb, 0, sizeof mb);
  m.msg_controllen = 7;
  CHECK("recvmsg", recvmsg(s, &m, 0) == 4 && memcmp(mb, "msg!", 4) == 0 && m.msg_controllen == 0, "recvmsg");

  /* --- non-blocking and timeouts -------------------------------------------------------------- */
  int on = 1;
  CHECK("fionbio", ioctl(s, FIONBIO, &on) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "FIONBIO");
  errno = 0;
  CHECK("eagain", read(s, p, 1) == -1 && errno == EAGAIN, "read on empty non-blocking");
  CHECK("setfl", fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK) == 0 && !(fcntl(s, F_GETFL) & O_NONBLOCK), "F_SETFL");
  struct timeval tv = {0, 200000};
  CHECK("rcvtimeo-set", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
  double t0 = now_ms();
  errno = 0;
  ssize_t r = read(s, p, 1);
  double waited = now_ms() - t0;
  CHECK("rcvtimeo", r == -1 && errno == EAGAIN && waited >= 190 && waited < 1500, "r %zd after %.0f ms", r, waited);
  struct timeval got_tv;
  socklen_t tvlen = sizeof got_tv;
  CHECK("rcvtimeo-get", getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got_tv, &tvlen) == 0 && got_tv.tv_usec == 200000, "get");
  tv.tv_usec = 0;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  /* --- options and names ---------------------------------------------------------------------- */
  int v = -1;
  socklen_t vl = sizeof v;
  CHECK("so-error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &vl) == 0 && v == 0, "SO_ERROR %d", v);
  vl = sizeof v;
  CHECK("so-type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM, "SO_TYPE %d", v);
  vl = sizeof v;
  CHECK("so-domain", getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0 && v == AF_INET, "SO_DOMAIN %d", v);
  on = 1;
  vl = sizeof v;
  CHECK("nodelay", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0 &&
                       getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v == 1, "TCP_NODELAY %d", v);
  struct tcp_info ti;
  socklen_t til = sizeof ti;
  CHECK("tcp-info", getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &til) == 0 && ti.tcpi_state == TCP_ESTABLISHED,
        "state %d", ti.tcpi_state);
  on = 1;
  CHECK("accepted-without-effect", setsockopt(s, IPPROTO_IP, IP_TOS, &on, sizeof on) == 0, "IP_TOS");
  CHECK("unknown-option", setsockopt(s, IPPROTO_TCP, 9999, &on, sizeof on) == -1 && errno == ENOPROTOOPT, "9999");
  struct sockaddr_in me, peer;
  socklen_t ml = sizeof me, pl = sizeof peer;
  CHECK("names", getsockname(s, (struct sockaddr*)&me, &ml) == 0 && getpeername(s, (struct sockaddr*)&peer, &pl) == 0 &&
                     ntohs(peer.sin_port) == port && me.sin_family == AF_INET && ntohs(me.sin_port) != 0, "names");

  /* --- dup family ----------------------------------------------------------------------------- */
  int d = dup(s);
  CHECK("dup", d >= 0 && d != s && fcntl(d, F_GETFD) == 0, "dup %d", d);
  CHECK("dup-shares", write(d, "dupx", 4) == 4 && read_all(s, p, 4) == 0 && memcmp(p, "dupx", 4) == 0, "via dup");
  int fds[2];
  if (pipe(fds) != 0) return ++failures;
  int target = fds[1];
  CHECK("dup2-onto-kernel", dup2(s, target) == target && echo_round(target, "two") == 0, "dup2 onto %d", target);
  int d3 = dup3(s, fds[1], O_CLOEXEC);
  CHECK("dup3-cloexec", d3 == fds[1] && fcntl(d3, F_GETFD) == FD_CLOEXEC, "dup3 %d", d3);
  int high = fcntl(s, F_DUPFD, 100);
  CHECK("f-dupfd", high >= 100 && echo_round(high, "high") == 0, "F_DUPFD %d", high);
  CHECK("close-one-of-several", close(s) == 0 && echo_round(d, "still") == 0, "after closing the first number");
  s = d;
  close(high);
  close(fds[1]);

  /* --- readiness: poll, select, epoll with a pipe beside the socket --------------------------- */
  if (pipe(fds) != 0) return ++failures;
  struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {s, POLLIN, 0}};
  t0 = now_ms();
  int n = poll(pf, 2, 150);
  waited = now_ms() - t0;
  CHECK("poll-timeout", n == 0 && waited >= 140, "n %d after %.0f ms", n, waited);
  write(fds[1], "x", 1);
  n = poll(pf, 2, 1000);
  CHECK("poll-kernel-ready", n == 1 && (pf[0].revents & POLLIN) && pf[1].revents == 0, "n %d rev %x %x", n, pf[0].revents, pf[1].revents);
  read(fds[0], p, 1);
  write(s, "ping", 4);
  n = poll(pf, 2, 2000);
  CHECK("poll-synwave-ready", n == 1 && pf[0].revents == 0 && (pf[1].revents & POLLIN), "n %d rev %x %x", n, pf[0].revents, pf[1].revents);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  FD_SET(s, &rs);
  struct timeval stv = {2, 0};
  n = select((s > fds[0] ? s : fds[0]) + 1, &rs, NULL, NULL, &stv);
  CHECK("select-synwave-ready", n == 1 && FD_ISSET(s, &rs) && !FD_ISSET(fds[0], &rs), "n %d", n);
  read_all(s, p, 4);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1111};
  epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  ev.data.u64 = 2222;
  CHECK("epoll-add", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "add");
  CHECK("epoll-add-twice", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == -1 && errno == EEXIST, "EEXIST");
  struct epoll_event got[4];
  t0 = now_ms();
  n = epoll_wait(ep, got, 4, 120);
  waited = now_ms() - t0;
  CHECK("epoll-timeout", n == 0 && waited >= 110, "n %d after %.0f", n, waited);
  write(s, "ep", 2);
  n = epoll_wait(ep, got, 4, 2000);
  CHECK("epoll-synwave", n == 1 && got[0].data.u64 == 2222 && (got[0].events & EPOLLIN), "n %d data %llu", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  write(fds[1], "k", 1);
  usleep(20000);
  n = epoll_wait(ep, got, 4, 2000);
  int seen_k = 0, seen_s = 0;
  for (int i = 0; i < n; ++i) {
    if (got[i].data.u64 == 1111) seen_k = 1;
    if (got[i].data.u64 == 2222) seen_s = 1;
  }
  CHECK("epoll-both", n == 2 && seen_k && seen_s, "n %d", n);
  read_all(s, p, 2);
  read(fds[0], p, 1);
  CHECK("epoll-del", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) == 0, "del");
  write(s, "zz", 2);
  usleep(100000);
  n = epoll_wait(ep, got, 4, 50);
  CHECK("epoll-after-del", n == 0, "n %d", n);
  read_all(s, p, 2);
  close(ep);

  /* --- sendfile ------------------------------------------------------------------------------- */
  char path[] = "/tmp/preload-tool-XXXXXX";
  int f = mkstemp(path);
  unlink(path);
  static char blob[300000], back[300000];
  for (size_t i = 0; i < sizeof blob; ++i) blob[i] = (char)(i * 7 + i / 251);
  write(f, blob, sizeof blob);
  off_t off = 1000;
  ssize_t sent = sendfile(s, f, &off, 200000);
  int ok = sent == 200000 && off == 201000 && read_all(s, back, 200000) == 0 && memcmp(back, blob + 1000, 200000) == 0;
  CHECK("sendfile-offset", ok, "sent %zd off %lld", sent, (long long)off);
  lseek(f, 5000, SEEK_SET);
  sent = sendfile(s, f, NULL, 100000);
  ok = sent == 100000 && lseek(f, 0, SEEK_CUR) == 105000 && read_all(s, back, 100000) == 0 && memcmp(back, blob + 5000, 100000) == 0;
  CHECK("sendfile-position", ok, "sent %zd pos %lld", sent, (long long)lseek(f, 0, SEEK_CUR));
  close(f);

  /* --- the end of a connection ---------------------------------------------------------------- */
  CHECK("shutdown-wr", shutdown(s, SHUT_WR) == 0, "shutdown");
  ssize_t last = read(s, p, 1);
  CHECK("eof-after-peer-close", last == 0, "read %zd", last);
  int closed_number = s;
  CHECK("close", close(s) == 0, "close");
  errno = 0;
  CHECK("closed-ebadf", write(closed_number, "x", 1) == -1 && errno == EBADF, "write after close");
  int reuse = open("/dev/null", O_RDONLY);
  CHECK("number-back-to-kernel", reuse >= 0 && fcntl(reuse, F_GETFL) >= 0, "open %d", reuse);
  return failures;
}

static int loopback(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int on = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  CHECK("bind-loopback", bind(l, (struct sockaddr*)&a, sizeof a) == 0, "bind 127.0.0.1");
  CHECK("listen-loopback", listen(l, 4) == 0, "listen");
  socklen_t al = sizeof a;
  getsockname(l, (struct sockaddr*)&a, &al);
  int v = 0;
  socklen_t vl = sizeof v;
  CHECK("reuseaddr-replayed", getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v == 1, "SO_REUSEADDR %d", v);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int r = connect(c, (struct sockaddr*)&a, sizeof a);
  CHECK("connect-loopback", r == 0 || errno == EINPROGRESS, "connect");
  CHECK("nonblock-replayed", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0, "O_NONBLOCK");
  int s = accept(l, NULL, NULL);
  struct pollfd p = {c, POLLOUT, 0};
  poll(&p, 1, 1000);
  char buf[4] = {0};
  CHECK("loopback-bytes", s >= 0 && write(c, "loop", 4) == 4 && read_all(s, buf, 4) == 0 && memcmp(buf, "loop", 4) == 0, "bytes");
  close(s);
  close(c);
  close(l);
  return failures;
}

static int refused(const char* host, int port) {
  errno = 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    printf("socket failed errno %d (%s)\n", errno, strerror(errno));
    return 1;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  int r = connect(s, (struct sockaddr*)&a, sizeof a);
  printf("socket ok, connect %d errno %d\n", r, r == 0 ? 0 : errno);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && strcmp(argv[1], "calls") == 0) return calls(argv[2], atoi(argv[3]));
  if (argc == 2 && strcmp(argv[1], "loopback") == 0) return loopback();
  if (argc == 4 && strcmp(argv[1], "refused") == 0) return refused(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: preload-tool calls HOST PORT | loopback | refused HOST PORT\n");
  return 100;
}
