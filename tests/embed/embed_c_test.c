/* The C API from C: synwave_embed.h compiles as C99 and links from a C program. Exit status 0 when
 * every check holds; the first failing check is printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "embed/synwave_embed.h"

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                  \
    }                                                            \
  } while (0)

int main(void) {
  char error[256] = "";
  struct synwave_host_config config;
  memset(&config, 0, sizeof(config));
  config.address = "198.18.0.2";
  config.sysctl_lines = "net.ipv4.tcp_syn_retries = 2\n";
  config.start_ns = 5000000000LL;
  config.error = error;
  config.error_cap = sizeof(error);
  struct synwave_host* host = synwave_host_create_config(&config);
  if (host == NULL) {
    fprintf(stderr, "synwave_host_create_config: %s\n", error);
    return 1;
  }
  CHECK(synwave_host_now_ns(host) == 5000000000LL);

  const unsigned char garbage[8] = {0x45, 0, 0, 8, 0, 0, 0, 0};
  CHECK(synwave_host_inject(host, garbage, sizeof(garbage)) == -EINVAL);
  unsigned char buf[2048];
  CHECK(synwave_host_next_output(host, buf, sizeof(buf)) == 0);

  int s = synwave_socket(host);
  CHECK(s >= 0);
  CHECK(synwave_bind(host, s, NULL, 8080) == 0);
  CHECK(synwave_listen(host, s, 4) == 0);
  CHECK(synwave_state(host, s) == SYNWAVE_TCP_LISTEN);
  CHECK(synwave_set_nonblocking(host, s, 1) == 0);
  CHECK(synwave_accept(host, s, NULL, NULL) == -EAGAIN);
  CHECK(synwave_host_advance_ns(host, 1000000) >= 0);
  CHECK(synwave_host_now_ns(host) == 5001000000LL);
  CHECK(synwave_close(host, s) == 0);
  CHECK(synwave_state(host, s) == -EBADF);
  synwave_host_destroy(host);
  return 0;
}
