#include "client_sockets.h"

#include <netinet/in.h>

#include <cerrno>

#include "client/synwave_client.h"

namespace synwave::httpd {

ClientSockets::~ClientSockets() {
  if (ep_ >= 0) sw_epoll_close(ep_);
}

int ClientSockets::watch(int s) {
  epoll_event event{};
  event.events = kEvents;
  event.data.fd = s;
  return sw_epoll_ctl(ep_, EPOLL_CTL_ADD, s, &event) == 0 ? 0 : -errno;
}

int ClientSockets::listen(std::uint16_t port, int backlog) {
  if (ep_ < 0 && (ep_ = sw_epoll_create1(0)) < 0) return -errno;
  const int s = sw_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s < 0) return -errno;
  const int one = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  int r = sw_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 ? 0 : -errno;
  if (r == 0 && sw_bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) r = -errno;
  if (r == 0 && sw_listen(s, backlog) != 0) r = -errno;
  if (r == 0) r = watch(s);
  if (r < 0) {
    sw_close(s);
    return r;
  }
  listener_ = s;
  return s;
}

int ClientSockets::accept(int listener) {
  for (;;) {
    const int s = sw_accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
    if (s < 0) return -errno;
    if (watch(s) == 0) return s;
    abort(s);  // nothing would ever report it ready: drop it, try the next one
  }
}

long ClientSockets::send(int s, std::span<const std::uint8_t> data) {
  const ssize_t r = sw_send(s, data.data(), data.size(), MSG_NOSIGNAL);
  return r >= 0 ? static_cast<long>(r) : -errno;
}

long ClientSockets::recv(int s, std::span<std::uint8_t> buffer) {
  const ssize_t r = sw_recv(s, buffer.data(), buffer.size(), 0);
  return r >= 0 ? static_cast<long>(r) : -errno;
}

int ClientSockets::close(int s) {
  // Out of the epoll instance first, whether or not close() would do it: a handle is reused, and
  // a stale entry would make the next socket's EPOLL_CTL_ADD fail (EEXIST).
  if (ep_ >= 0) sw_epoll_ctl(ep_, EPOLL_CTL_DEL, s, nullptr);
  if (s == listener_) listener_ = -1;
  return sw_close(s) == 0 ? 0 : -errno;
}

int ClientSockets::abort(int s) {
  const linger l{1, 0};
  sw_setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  return close(s);
}

void ClientSockets::fetch(int timeout_ms) {
  count_ = next_ = 0;
  fetched_ = true;
  if (ep_ < 0) return;
  const int n = sw_epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n < 0) {
    if (errno != EINTR) error_ = errno;
    return;
  }
  count_ = static_cast<std::size_t>(n);
  // Idle: ask the listener anyway. A daemon that went away may change no readiness, and the
  // server only learns of it from accept()'s error (ENETDOWN); a healthy one says EAGAIN.
  if (n == 0 && timeout_ms > 0 && listener_ >= 0) {
    events_[0].data.fd = listener_;
    count_ = 1;
  }
}

void ClientSockets::wait(int timeout_ms) {
  if (next_ < count_) return;  // the last batch is not all taken yet
  fetch(timeout_ms);
}

std::size_t ClientSockets::take_ready(std::span<int> out) {
  if (next_ == count_) {
    if (fetched_) {  // the round's batch is all taken
      fetched_ = false;
      count_ = next_ = 0;
      return 0;
    }
    fetch(0);
    if (count_ == 0) {
      fetched_ = false;
      return 0;
    }
  }
  std::size_t n = 0;
  while (n < out.size() && next_ < count_) out[n++] = events_[next_++].data.fd;
  return n;
}

}  // namespace synwave::httpd
