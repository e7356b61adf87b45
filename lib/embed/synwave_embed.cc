// The C API over synwave::embed::Host: argument conversion only, no behaviour of its own.
#include "embed/synwave_embed.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/addr.h"
#include "config/config.h"
#include "embed/host.h"

struct synwave_host {
  std::unique_ptr<synwave::embed::Host> impl;
};

namespace {

using synwave::Duration;
using synwave::Instant;
using synwave::Ipv4Addr;
using synwave::embed::Host;
using synwave::embed::InjectResult;
namespace tcp = synwave::tcp;

constexpr char kSysctlSource[] = "sysctl_lines";

constexpr bool same_bit(int c_bit, tcp::Readiness bit) {
  return static_cast<std::uint32_t>(c_bit) == static_cast<std::uint32_t>(bit);
}
static_assert(same_bit(SYNWAVE_READABLE, tcp::kReadable) &&
                  same_bit(SYNWAVE_WRITABLE, tcp::kWritable) &&
                  same_bit(SYNWAVE_CONNECTED, tcp::kConnected) &&
                  same_bit(SYNWAVE_ACCEPT_READY, tcp::kAcceptReady) &&
                  same_bit(SYNWAVE_PEER_CLOSED, tcp::kPeerClosed) &&
                  same_bit(SYNWAVE_CLOSED, tcp::kClosed) && same_bit(SYNWAVE_ERROR, tcp::kError),
              "synwave_readiness returns TcpStack's bits as they are");

void report(const synwave_host_config& config, absl::string_view message) {
  if (config.error == nullptr || config.error_cap == 0) return;
  const std::size_t n = std::min(message.size(), config.error_cap - 1);
  std::memcpy(config.error, message.data(), n);
  config.error[n] = '\0';
}

// Reads sysctl.conf-style lines with the configuration parser: they become the [sysctl] section
// of a configuration whose one port is a placeholder. Messages name the caller's own line numbers.
absl::StatusOr<synwave::Sysctl> parse_sysctl_lines(absl::string_view lines) {
  const std::string text =
      absl::StrCat("[sysctl]\n", lines, "\n[port.0]\ndevice = net_null0\nipv4 = 198.18.0.2/24\n");
  absl::StatusOr<synwave::Config> config = synwave::parse_config(text, kSysctlSource);
  if (config.ok()) return config->sysctl;
  // "sysctl_lines:<n>: reason", where line n of `text` is line n - 1 of `lines`.
  absl::string_view message = config.status().message();
  const std::string prefix = absl::StrCat(kSysctlSource, ":");
  if (absl::StartsWith(message, prefix)) {
    absl::string_view rest = message.substr(prefix.size());
    const std::size_t colon = rest.find(':');
    unsigned line = 0;
    if (colon != absl::string_view::npos && absl::SimpleAtoi(rest.substr(0, colon), &line) &&
        line > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(kSysctlSource, ":", line - 1, rest.substr(colon)));
    }
  }
  return config.status();
}

std::optional<tcp::SockOpt> tcp_option(int option) {
  switch (option) {
    case SYNWAVE_SO_REUSEADDR: return tcp::SockOpt::kReuseAddr;
    case SYNWAVE_SO_LINGER: return tcp::SockOpt::kLinger;
    case SYNWAVE_SO_ERROR: return tcp::SockOpt::kError;
    case SYNWAVE_TCP_NODELAY: return tcp::SockOpt::kNoDelay;
    case SYNWAVE_SO_KEEPALIVE: return tcp::SockOpt::kKeepAlive;
    case SYNWAVE_TCP_MAXSEG: return tcp::SockOpt::kMaxSeg;
    default: return std::nullopt;
  }
}

int linux_state(tcp::State s) {
  switch (s) {
    case tcp::State::kEstablished: return SYNWAVE_TCP_ESTABLISHED;
    case tcp::State::kSynSent: return SYNWAVE_TCP_SYN_SENT;
    case tcp::State::kSynReceived: return SYNWAVE_TCP_SYN_RECV;
    case tcp::State::kFinWait1: return SYNWAVE_TCP_FIN_WAIT1;
    case tcp::State::kFinWait2: return SYNWAVE_TCP_FIN_WAIT2;
    case tcp::State::kTimeWait: return SYNWAVE_TCP_TIME_WAIT;
    case tcp::State::kCloseWait: return SYNWAVE_TCP_CLOSE_WAIT;
    case tcp::State::kLastAck: return SYNWAVE_TCP_LAST_ACK;
    case tcp::State::kListen: return SYNWAVE_TCP_LISTEN;
    case tcp::State::kClosing: return SYNWAVE_TCP_CLOSING;
    case tcp::State::kClosed:
    case tcp::State::kCount: break;
  }
  return SYNWAVE_TCP_CLOSE;
}

// "198.18.0.1" (NULL counts as 0.0.0.0) -> address.
std::optional<Ipv4Addr> address_of(const char* text) {
  if (text == nullptr) return Ipv4Addr{};
  return synwave::parse_ipv4(text);
}

int write_endpoint(const std::optional<tcp::Endpoint>& endpoint, char* address,
                   std::uint16_t* port) {
  if (!endpoint) return -ENOTCONN;
  if (address != nullptr) {
    const std::string text = synwave::format_ipv4(endpoint->addr);
    std::memcpy(address, text.c_str(), text.size() + 1);  // at most 16 bytes
  }
  if (port != nullptr) *port = endpoint->port;
  return 0;
}

}  // namespace

extern "C" {

synwave_host* synwave_host_create(const char* address, const char* sysctl_lines) {
  synwave_host_config config{};
  config.address = address;
  config.sysctl_lines = sysctl_lines;
  return synwave_host_create_config(&config);
}

synwave_host* synwave_host_create_config(const synwave_host_config* config) {
  if (config == nullptr) return nullptr;
  Host::Options options;
  std::optional<Ipv4Addr> address =
      config->address != nullptr ? synwave::parse_ipv4(config->address) : std::nullopt;
  if (!address) {
    report(*config, "address: not an IPv4 address");
    return nullptr;
  }
  options.address = *address;
  if (config->sysctl_lines != nullptr) {
    absl::StatusOr<synwave::Sysctl> sysctl = parse_sysctl_lines(config->sysctl_lines);
    if (!sysctl.ok()) {
      report(*config, sysctl.status().message());
      return nullptr;
    }
    options.sysctl = *sysctl;
  }
  if (config->mtu != 0) options.mtu = config->mtu;
  if (config->start_ns < 0) {
    report(*config, "start_ns: negative");
    return nullptr;
  }
  options.start = synwave::instant_from_ns(config->start_ns);
  if (config->tick_ns < 0) {
    report(*config, "tick_ns: negative");
    return nullptr;
  }
  if (config->tick_ns != 0) options.tick = Duration(config->tick_ns);
  if (config->isn_secret != nullptr)
    std::copy_n(config->isn_secret, options.isn_secret.size(), options.isn_secret.begin());

  absl::StatusOr<std::unique_ptr<Host>> host = Host::create(options);
  if (!host.ok()) {
    report(*config, host.status().message());
    return nullptr;
  }
  return new synwave_host{std::move(*host)};
}

void synwave_host_destroy(synwave_host* host) { delete host; }

int synwave_host_inject(synwave_host* host, const void* buf, size_t len) {
  if (buf == nullptr && len != 0) return -EFAULT;
  const auto* bytes = static_cast<const std::uint8_t*>(buf);
  switch (host->impl->inject({bytes, len})) {
    case InjectResult::kDelivered: return 0;
    case InjectResult::kMalformed: return -EINVAL;
    case InjectResult::kNotTcp: return -EPROTONOSUPPORT;
    case InjectResult::kNotForUs: return -EADDRNOTAVAIL;
    case InjectResult::kTooBig: return -EMSGSIZE;
    case InjectResult::kNoBuffer:
    case InjectResult::kCount: break;
  }
  return -ENOBUFS;
}

long synwave_host_next_output(synwave_host* host, void* buf, size_t cap) {
  if (buf == nullptr && cap != 0) return -EFAULT;
  return host->impl->next_output({static_cast<std::uint8_t*>(buf), cap});
}

int synwave_host_wait_output(synwave_host* host, int timeout_ms) {
  return host->impl->wait_for_output(std::chrono::milliseconds(std::max(timeout_ms, 0))) ? 1 : 0;
}

int64_t synwave_host_now_ns(const synwave_host* host) { return synwave::to_ns(host->impl->now()); }

long synwave_host_advance_ns(synwave_host* host, int64_t ns) {
  if (ns < 0) return -EINVAL;
  return static_cast<long>(host->impl->advance_by(Duration(ns)));
}

long synwave_host_advance_to_ns(synwave_host* host, int64_t ns) {
  if (ns < 0) return -EINVAL;
  return static_cast<long>(host->impl->advance_to(synwave::instant_from_ns(ns)));
}

int64_t synwave_host_next_timer_ns(const synwave_host* host) {
  const std::optional<Instant> next = host->impl->next_timer();
  return next ? synwave::to_ns(*next) : -1;
}

int synwave_socket(synwave_host* host) { return host->impl->socket(); }

int synwave_bind(synwave_host* host, int s, const char* address, uint16_t port) {
  const std::optional<Ipv4Addr> addr = address_of(address);
  if (!addr) return -EINVAL;
  return host->impl->bind(s, tcp::Endpoint{*addr, port});
}

int synwave_listen(synwave_host* host, int s, int backlog) { return host->impl->listen(s, backlog); }

int synwave_accept(synwave_host* host, int s, char* peer_address, uint16_t* peer_port) {
  tcp::Endpoint peer;
  const int r = host->impl->accept(s, &peer);
  if (r >= 0) write_endpoint(peer, peer_address, peer_port);
  return r;
}

int synwave_connect(synwave_host* host, int s, const char* address, uint16_t port) {
  const std::optional<Ipv4Addr> addr = address_of(address);
  if (!addr) return -EINVAL;
  return host->impl->connect(s, tcp::Endpoint{*addr, port});
}

long synwave_send(synwave_host* host, int s, const void* buf, size_t len) {
  if (buf == nullptr && len != 0) return -EFAULT;
  return host->impl->send(s, {static_cast<const std::uint8_t*>(buf), len});
}

long synwave_recv(synwave_host* host, int s, void* buf, size_t len) {
  if (buf == nullptr && len != 0) return -EFAULT;
  return host->impl->recv(s, {static_cast<std::uint8_t*>(buf), len});
}

int synwave_shutdown(synwave_host* host, int s, int how) {
  switch (how) {
    case SYNWAVE_SHUT_RD: return host->impl->shutdown(s, tcp::Shutdown::kRead);
    case SYNWAVE_SHUT_WR: return host->impl->shutdown(s, tcp::Shutdown::kWrite);
    case SYNWAVE_SHUT_RDWR: return host->impl->shutdown(s, tcp::Shutdown::kBoth);
    default: return -EINVAL;
  }
}

int synwave_close(synwave_host* host, int s) { return host->impl->close(s); }

int synwave_setsockopt(synwave_host* host, int s, int option, int value) {
  switch (option) {
    case SYNWAVE_SO_RCVTIMEO_MS:
      return host->impl->set_recv_timeout(s, std::chrono::milliseconds(value));
    case SYNWAVE_SO_SNDTIMEO_MS:
      return host->impl->set_send_timeout(s, std::chrono::milliseconds(value));
    default: break;
  }
  const std::optional<tcp::SockOpt> opt = tcp_option(option);
  if (!opt) return -ENOPROTOOPT;
  return host->impl->setsockopt(s, *opt, value);
}

int synwave_getsockopt(synwave_host* host, int s, int option, int* value) {
  if (value == nullptr) return -EFAULT;
  const std::optional<tcp::SockOpt> opt = tcp_option(option);
  if (!opt) return -ENOPROTOOPT;
  return host->impl->getsockopt(s, *opt, value);
}

int synwave_set_nonblocking(synwave_host* host, int s, int nonblocking) {
  return host->impl->set_nonblocking(s, nonblocking != 0);
}

uint32_t synwave_readiness(synwave_host* host, int s) { return host->impl->readiness(s); }

int synwave_state(synwave_host* host, int s) {
  const std::optional<tcp::State> state = host->impl->state(s);
  return state ? linux_state(*state) : -EBADF;
}

int synwave_getsockname(synwave_host* host, int s, char* address, uint16_t* port) {
  if (!host->impl->state(s)) return -EBADF;
  const std::optional<tcp::Endpoint> local = host->impl->local_endpoint(s);
  return write_endpoint(local ? local : tcp::Endpoint{}, address, port);
}

int synwave_getpeername(synwave_host* host, int s, char* address, uint16_t* port) {
  if (!host->impl->state(s)) return -EBADF;
  return write_endpoint(host->impl->remote_endpoint(s), address, port);
}

void synwave_interrupt(synwave_host* host) { host->impl->interrupt(); }

}  // extern "C"
