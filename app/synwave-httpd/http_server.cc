#include "http_server.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "engine_sockets.h"

namespace synwave::httpd {
namespace {

constexpr std::size_t kScratch = 65536;
constexpr std::uint32_t kMaxOwed = 1024;  // stop reading while this many responses wait to go out

std::string response(std::string_view status, unsigned body, std::string_view connection) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nServer: synwave\r\nContent-Type: text/plain\r\nContent-Length: ";
  r += std::to_string(body);
  r += "\r\n";
  if (!connection.empty()) {
    r += "Connection: ";
    r += connection;
    r += "\r\n";
  }
  r += "\r\n";
  for (unsigned i = 0; i < body; ++i) r += static_cast<char>('a' + i % 26);
  return r;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != b[i]) return false;
  return true;
}

// Whether the comma-separated header value contains `token` (lower case), case-insensitively.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// accept() failures that say nothing about the listener (Linux's accept(2) list): try later.
bool transient_accept_error(int error) {
  switch (error) {
    case EAGAIN: case EINTR: case ECONNABORTED: case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM: case EPERM:
    case EPROTO:
      return true;
    default:
      return false;
  }
}

}  // namespace

Server::Server(const Options& options) : options_(options) {}

void Server::start(std::span<tcp::TcpStack* const> tcp, Instant) {
  engine_sockets_ = std::make_unique<EngineSockets>(*tcp.front());
  start(*engine_sockets_);
}

void Server::start(Sockets& sockets) {
  sockets_ = &sockets;
  const unsigned body = options_.response_size;
  keep_11_ = response("200 OK", body, "");
  keep_10_ = response("200 OK", body, "keep-alive");
  close_ = response("200 OK", body, "close");
  r400_ = response("400 Bad Request", 0, "close");
  r431_ = response("431 Request Header Fields Too Large", 0, "close");
  r501_ = response("501 Not Implemented", 0, "close");
  conns_.assign(std::min<std::size_t>(options_.max_sockets, kSlotMask + 1u), Conn{});
  pool_.assign(static_cast<std::size_t>(options_.parked_buffers) * kMaxHeader, 0);
  free_buffers_.reserve(options_.parked_buffers);
  for (std::int32_t i = static_cast<std::int32_t>(options_.parked_buffers) - 1; i >= 0; --i) free_buffers_.push_back(i);
  retry_.reserve(conns_.size());
  retry_next_.reserve(conns_.size());
  scratch_.assign(kScratch, 0);

  const int s = sockets_->listen(options_.port, options_.backlog);
  if (s < 0) {
    listen_error_ = -s;
    return;
  }
  listener_ = s;
}

void Server::stop() {
  for (Conn& c : conns_)
    if (c.socket >= 0) close_conn(c);
  if (listener_ >= 0) sockets_->close(listener_);
  listener_ = -1;
}

Server::Conn* Server::conn_of(int s) {
  const std::size_t slot = static_cast<std::size_t>(s & kSlotMask);
  if (s < 0 || slot >= conns_.size() || conns_[slot].socket != s) return nullptr;
  return &conns_[slot];
}

void Server::poll(Instant) {
  if (sockets_ == nullptr) return;
  if (!retry_.empty()) {
    retry_next_.swap(retry_);
    for (int s : retry_next_) {
      if (Conn* c = conn_of(s)) {
        c->in_retry = false;
        service(*c);
      }
    }
    retry_next_.clear();
  }
  int ready[256];
  for (std::size_t n; (n = sockets_->take_ready(ready)) > 0;)
    for (std::size_t i = 0; i < n; ++i) on_ready(ready[i]);
}

void Server::on_ready(int s) {
  if (s == listener_) return accept_all();
  if (Conn* c = conn_of(s)) service(*c);
}

void Server::accept_all() {
  int s;
  while ((s = sockets_->accept(listener_)) >= 0) {
    const std::size_t slot = static_cast<std::size_t>(s & kSlotMask);
    if (slot >= conns_.size() || conns_[slot].socket >= 0) {  // attached: an id beyond --max-sockets
      sockets_->abort(s);
      ++counters_.errors;
      continue;
    }
    ++counters_.accepted;
    Conn& c = conns_[slot];
    c = Conn{};
    c.socket = s;
    c.keep = &keep_11_;
    service(c);
  }
  if (!transient_accept_error(-s)) accept_error_ = -s;
}

const std::string& Server::final_response(Final f) const {
  switch (f) {
    case Final::k400: return r400_;
    case Final::k431: return r431_;
    case Final::k501: return r501_;
    default: return close_;
  }
}

void Server::retry_later(Conn& c) {
  if (c.in_retry) return;
  c.in_retry = true;
  retry_.push_back(c.socket);
}

bool Server::park(Conn& c, const std::uint8_t* data, std::size_t len) {
  if (c.parked < 0) {
    if (free_buffers_.empty()) {
      ++counters_.no_buffer;
      return false;
    }
    c.parked = free_buffers_.back();
    free_buffers_.pop_back();
    c.parked_len = 0;
  }
  std::memcpy(buffer(c.parked) + c.parked_len, data, len);
  c.parked_len = static_cast<std::uint16_t>(c.parked_len + len);
  return true;
}

void Server::unpark(Conn& c) {
  if (c.parked >= 0) free_buffers_.push_back(c.parked);
  c.parked = -1;
  c.parked_len = 0;
}

void Server::close_conn(Conn& c) {
  sockets_->close(c.socket);
  unpark(c);
  c.socket = -1;
  ++counters_.closed;
}

// Sends what is owed. False when something is left (blocked) or the connection failed (then
// c.socket is -1).
bool Server::flush(Conn& c) {
  auto send = [&](const std::uint8_t* data, std::size_t len) -> long {
    const long r = sockets_->send(c.socket, std::span<const std::uint8_t>(data, len));
    if (r > 0) {
      counters_.bytes_out += static_cast<std::uint64_t>(r);
    } else if (r == -EAGAIN) {
      ++counters_.send_blocked;  // kWritable comes back when the send queue drains
    } else if (r == -ENOBUFS) {
      ++counters_.send_blocked;
      retry_later(c);
    } else {
      ++counters_.errors;
      close_conn(c);
    }
    return r;
  };
  if (options_.echo) {
    if (c.parked < 0) return true;
    const long r = send(buffer(c.parked), c.parked_len);
    if (r <= 0) return false;
    const std::size_t left = c.parked_len - static_cast<std::size_t>(r);
    if (left == 0) {
      unpark(c);
      return true;
    }
    std::memmove(buffer(c.parked), buffer(c.parked) + r, left);
    c.parked_len = static_cast<std::uint16_t>(left);
    return false;
  }
  while (c.owed > 0) {
    const std::string& resp = *c.keep;
    const std::size_t size = resp.size();
    const std::uint8_t* data = reinterpret_cast<const std::uint8_t*>(resp.data()) + c.offset;
    std::size_t len = size - c.offset;
    if (c.owed > 1 && size <= kScratch / 2) {  // pipelined: one send for several responses
      const std::size_t count = std::min<std::size_t>(c.owed - 1, (kScratch - len) / size);
      std::memcpy(scratch_.data(), data, len);
      for (std::size_t i = 0; i < count; ++i) std::memcpy(scratch_.data() + len + i * size, resp.data(), size);
      len += count * size;
      data = scratch_.data();
    }
    const long r = send(data, len);
    if (r <= 0) return false;
    const std::size_t total = c.offset + static_cast<std::size_t>(r);
    c.owed -= static_cast<std::uint32_t>(total / size);
    counters_.responses += total / size;
    c.offset = static_cast<std::uint32_t>(total % size);
    if (static_cast<std::size_t>(r) < len) return false;
  }
  if (c.final != Final::kNone) {
    const std::string& resp = final_response(c.final);
    if (c.offset >= resp.size()) return true;  // sent already: waiting to close
    const long r = send(reinterpret_cast<const std::uint8_t*>(resp.data()) + c.offset, resp.size() - c.offset);
    if (r <= 0) return false;
    c.offset += static_cast<std::uint32_t>(r);
    if (c.offset < resp.size()) return false;
    if (c.final == Final::kClose) ++counters_.responses;
  }
  return true;
}

void Server::service(Conn& c) {
  bool flushed = flush(c);
  if (c.socket < 0) return;
  if (!flushed && (options_.echo || c.owed >= kMaxOwed || c.final != Final::kNone || c.eof)) return;  // kWritable
  if (c.final == Final::kNone && !c.eof) {
    options_.echo ? read_echo(c) : read_http(c);
    if (c.socket < 0) return;
    flushed = flush(c);
    if (c.socket < 0) return;
  }
  if (flushed && (c.final != Final::kNone || c.eof)) close_conn(c);
}

std::size_t Server::receive(Conn& c, std::size_t limit) {
  const long n = sockets_->recv(c.socket, std::span<std::uint8_t>(scratch_.data(), limit));
  if (n > 0) {
    counters_.bytes_in += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
  if (n == -EAGAIN) return 0;
  if (n < 0) ++counters_.errors;
  c.eof = true;  // end of stream, or an error: the connection closes once flushed
  return 0;
}

void Server::read_echo(Conn& c) {
  while (c.parked < 0) {
    const std::size_t n = receive(c, kMaxHeader);
    if (n == 0) return;
    ++counters_.requests;
    const long r = sockets_->send(c.socket, std::span<const std::uint8_t>(scratch_.data(), n));
    const std::size_t sent = r > 0 ? static_cast<std::size_t>(r) : 0;
    if (r < 0 && r != -EAGAIN && r != -ENOBUFS) {
      ++counters_.errors;
      c.eof = true;
      return;
    }
    if (r == -ENOBUFS) retry_later(c);
    counters_.bytes_out += static_cast<std::uint64_t>(sent);
    ++counters_.responses;
    if (sent < n) {
      ++counters_.send_blocked;
      if (!park(c, scratch_.data() + sent, n - sent)) {
        c.eof = true;
        return;
      }
    }
  }
}

void Server::read_http(Conn& c) {
  while (c.final == Final::kNone && c.owed < kMaxOwed) {
    const std::size_t n = receive(c, kScratch);
    if (n == 0) return;
    const std::uint8_t* p = scratch_.data();
    std::size_t len = n;
    // A partial request is parked: complete it chunk by chunk in its buffer.
    while (c.parked >= 0 && len > 0 && c.final == Final::kNone) {
      const std::size_t k = std::min(len, kMaxHeader - c.parked_len);
      std::memcpy(buffer(c.parked) + c.parked_len, p, k);
      c.parked_len = static_cast<std::uint16_t>(c.parked_len + k);
      p += k;
      len -= k;
      const std::size_t used = parse(c, buffer(c.parked), c.parked_len);
      const std::size_t left = c.parked_len - used;
      if (left == kMaxHeader) c.final = Final::k431;
      if (left == 0) {
        unpark(c);
      } else {
        std::memmove(buffer(c.parked), buffer(c.parked) + used, left);
        c.parked_len = static_cast<std::uint16_t>(left);
      }
    }
    if (c.parked < 0 && len > 0 && c.final == Final::kNone) {
      const std::size_t used = parse(c, p, len);
      const std::size_t left = len - used;
      if (c.final == Final::kNone && left > 0) {
        if (left >= kMaxHeader) {
          c.final = Final::k431;
        } else if (!park(c, p + used, left)) {
          c.eof = true;  // nowhere to keep it: give up on this connection
          return;
        }
      }
    }
    if (c.final != Final::kNone && c.final != Final::kClose) ++counters_.bad_requests;
  }
}

std::size_t Server::parse(Conn& c, const std::uint8_t* data, std::size_t len) {
  std::size_t pos = 0;
  while (pos < len && c.final == Final::kNone) {
    if (c.body_left > 0) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(c.body_left, len - pos));
      c.body_left -= k;
      pos += k;
      continue;
    }
    // Empty lines before a request line are ignored (RFC 9112 2.2).
    if (data[pos] == '\r' || data[pos] == '\n') {
      ++pos;
      continue;
    }
    const std::string_view rest(reinterpret_cast<const char*>(data) + pos, len - pos);
    const std::size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() >= kMaxHeader) c.final = Final::k431;
      return pos;
    }
    if (end + 4 > kMaxHeader) {
      c.final = Final::k431;
      return pos;
    }
    const std::string_view head = rest.substr(0, end);
    pos += end + 4;
    ++counters_.requests;
    // Request line: METHOD SP TARGET SP HTTP/1.x
    const std::size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 || line.size() - sp2 - 1 != 8 ||
        line.substr(sp2 + 1, 7) != "HTTP/1.") {
      c.final = Final::k400;
      return pos;
    }
    const char minor = line.back();
    if (minor != '0' && minor != '1') {
      c.final = Final::k400;
      return pos;
    }
    bool close = false, keep_alive = false;
    std::uint64_t content_length = 0;
    std::string_view headers = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!headers.empty()) {
      const std::size_t next = headers.find("\r\n");
      const std::string_view field = headers.substr(0, next);
      headers = next == std::string_view::npos ? std::string_view() : headers.substr(next + 2);
      const std::size_t colon = field.find(':');
      if (colon == std::string_view::npos) {
        c.final = Final::k400;
        return pos;
      }
      const std::string_view name = field.substr(0, colon);
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      if (iequals(name, "connection")) {
        close = close || has_token(value, "close");
        keep_alive = keep_alive || has_token(value, "keep-alive");
      } else if (iequals(name, "content-length")) {
        if (value.empty() || value.size() > 15) {
          c.final = Final::k400;
          return pos;
        }
        content_length = 0;
        for (char ch : value) {
          if (ch < '0' || ch > '9') {
            c.final = Final::k400;
            return pos;
          }
          content_length = content_length * 10 + static_cast<std::uint64_t>(ch - '0');
        }
      } else if (iequals(name, "transfer-encoding")) {
        c.final = Final::k501;  // chunked request bodies are not supported
        return pos;
      }
    }
    c.body_left = content_length;
    const bool http10 = minor == '0';
    if (close || (http10 && !keep_alive)) {
      c.final = Final::kClose;
      return pos;
    }
    if (c.owed == 0) c.keep = http10 ? &keep_10_ : &keep_11_;  // a response under way keeps its size
    ++c.owed;
  }
  return pos;
}

}  // namespace synwave::httpd
