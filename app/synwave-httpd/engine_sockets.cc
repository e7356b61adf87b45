#include "engine_sockets.h"

namespace synwave::httpd {

// The slab's ids are (generation << 20) | slot: the server's table index is the slot.
static_assert(kSlotMask == static_cast<int>(tcp::TcpStack::slot_of(-1)));

int EngineSockets::listen(std::uint16_t port, int backlog) {
  const int s = tcp_.socket();
  if (s < 0) return s;
  int r = tcp_.setsockopt(s, tcp::SockOpt::kReuseAddr, 1);
  if (r == 0) r = tcp_.bind(s, {Ipv4Addr{0}, port});
  if (r == 0) r = tcp_.listen(s, backlog);
  if (r < 0) {
    tcp_.close(s);
    return r;
  }
  return s;
}

int EngineSockets::abort(int s) {
  tcp_.setsockopt(s, tcp::SockOpt::kLinger, 0);
  return tcp_.close(s);
}

}  // namespace synwave::httpd
