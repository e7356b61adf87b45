#include "ctl/ctl_format.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <map>

namespace synwave::ctl {
namespace {

// Nesting deeper than any telemetry answer: a bound so hostile input cannot exhaust the stack.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::optional<Json> document(std::string* error) {
    Json value;
    skip_space();
    if (!parse_value(value, 0)) return fail(error);
    skip_space();
    if (pos_ != text_.size()) {
      error_ = "unexpected text after the value";
      return fail(error);
    }
    return value;
  }

 private:
  std::optional<Json> fail(std::string* error) const {
    if (error != nullptr) *error = error_ + " at offset " + std::to_string(pos_);
    return std::nullopt;
  }

  bool set_error(const char* what) {
    if (error_.empty()) error_ = what;
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool parse_value(Json& out, int depth) {
    if (depth > kMaxDepth) return set_error("nesting too deep");
    if (pos_ >= text_.size()) return set_error("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == '"') {
      out.kind = Json::Kind::kString;
      return parse_string(out.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(out);
    if (consume("true")) {
      out.kind = Json::Kind::kBool;
      out.boolean = true;
      return true;
    }
    if (consume("false")) {
      out.kind = Json::Kind::kBool;
      return true;
    }
    if (consume("null")) {
      out.kind = Json::Kind::kNull;
      return true;
    }
    return set_error("unexpected character");
  }

  bool parse_object(Json& out, int depth) {
    out.kind = Json::Kind::kObject;
    ++pos_;  // '{'
    skip_space();
    if (consume("}")) return true;
    for (;;) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return set_error("expected a member name");
      std::string key;
      if (!parse_string(key)) return false;
      skip_space();
      if (!consume(":")) return set_error("expected ':'");
      skip_space();
      Json value;
      if (!parse_value(value, depth + 1)) return false;
      out.members.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (consume(",")) continue;
      if (consume("}")) return true;
      return set_error("expected ',' or '}'");
    }
  }

  bool parse_array(Json& out, int depth) {
    out.kind = Json::Kind::kArray;
    ++pos_;  // '['
    skip_space();
    if (consume("]")) return true;
    for (;;) {
      skip_space();
      Json value;
      if (!parse_value(value, depth + 1)) return false;
      out.items.push_back(std::move(value));
      skip_space();
      if (consume(",")) continue;
      if (consume("]")) return true;
      return set_error("expected ',' or ']'");
    }
  }

  bool parse_number(Json& out) {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (text_[pos_] == '-') ++pos_;
    const std::size_t int_start = pos_;
    const std::size_t n = digits();
    if (n == 0) return set_error("expected digits");
    if (n > 1 && text_[int_start] == '0') return set_error("leading zero");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return set_error("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return set_error("expected exponent digits");
    }
    out.kind = Json::Kind::kNumber;
    out.text = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parse_hex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return set_error("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      out <<= 4;
      if (h >= '0' && h <= '9') out |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') out |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') out |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return set_error("bad \\u escape");
    }
    return true;
  }

  bool parse_string(std::string& out) {
    ++pos_;  // '"'
    for (;;) {
      if (pos_ >= text_.size()) return set_error("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return set_error("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return set_error("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!parse_hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a high surrogate: its low half must follow
            std::uint32_t low = 0;
            if (!consume("\\u") || !parse_hex4(low) || low < 0xDC00 || low >= 0xE000)
              return set_error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return set_error("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return set_error("bad escape");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

template <typename T>
std::optional<T> integer_of(const Json& j) {
  if (j.kind != Json::Kind::kNumber) return std::nullopt;
  T value{};
  const char* first = j.text.data();
  const char* last = first + j.text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last) return std::nullopt;
  return value;
}

// name -> count lines of an object of non-negative integers, sorted by name; nullopt if malformed.
std::optional<std::map<std::string, std::uint64_t>> counts_of(const Json& object) {
  if (!object.is_object()) return std::nullopt;
  std::map<std::string, std::uint64_t> counts;
  for (const auto& [name, value] : object.members) {
    const std::optional<std::uint64_t> n = value.as_uint();
    if (!n) return std::nullopt;
    counts[name] += *n;
  }
  return counts;
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// ss prints a port of 0 (a listener's peer, an unbound end) as "*".
std::string ss_endpoint(const std::string& endpoint) {
  if (endpoint.size() >= 2 && endpoint.compare(endpoint.size() - 2, 2, ":0") == 0)
    return endpoint.substr(0, endpoint.size() - 1) + "*";
  return endpoint;
}

// The ss -i members of a connection entry, all of them present: numbers, "sack" and
// "timestamps" 0 or 1, "congestion" a string.
constexpr const char* kInfoNumbers[] = {"srtt_us", "rttvar_us",  "rto_ms",     "mss",
                                        "cwnd",    "ssthresh",   "snd_wscale", "rcv_wscale",
                                        "total_retransmits"};
constexpr const char* kInfoFlags[] = {"sack", "timestamps"};
constexpr const char* kInfoText = "congestion";

bool entry_has_any_info(const Json& entry) {
  for (const char* name : kInfoNumbers)
    if (entry.find(name) != nullptr) return true;
  for (const char* name : kInfoFlags)
    if (entry.find(name) != nullptr) return true;
  return entry.find(kInfoText) != nullptr;
}

// nullopt when any member is missing or malformed; `error` then names the first such member.
std::optional<TcpInfo> tcp_info_of(const Json& entry, std::string* error) {
  auto lacks = [&](const char* name) -> std::optional<TcpInfo> {
    if (error != nullptr) *error = std::string("bad or missing \"") + name + "\"";
    return std::nullopt;
  };
  std::uint64_t numbers[std::size(kInfoNumbers)] = {};
  for (std::size_t i = 0; i < std::size(kInfoNumbers); ++i) {
    const Json* j = entry.find(kInfoNumbers[i]);
    if (j == nullptr || !j->as_uint()) return lacks(kInfoNumbers[i]);
    numbers[i] = *j->as_uint();
  }
  bool flags[std::size(kInfoFlags)] = {};
  for (std::size_t i = 0; i < std::size(kInfoFlags); ++i) {
    const Json* j = entry.find(kInfoFlags[i]);
    if (j == nullptr || !j->as_uint() || *j->as_uint() > 1) return lacks(kInfoFlags[i]);
    flags[i] = *j->as_uint() == 1;
  }
  const Json* congestion = entry.find(kInfoText);
  if (congestion == nullptr || congestion->kind != Json::Kind::kString) return lacks(kInfoText);
  return TcpInfo{.timestamps = flags[1],
                 .sack = flags[0],
                 .congestion = congestion->text,
                 .snd_wscale = numbers[6],
                 .rcv_wscale = numbers[7],
                 .rto_ms = numbers[2],
                 .srtt_us = numbers[0],
                 .rttvar_us = numbers[1],
                 .mss = numbers[3],
                 .cwnd = numbers[4],
                 .ssthresh = numbers[5],
                 .total_retransmits = numbers[8]};
}

// printf's %g of a double, as ss writes its rto and rtt.
std::string g_format(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

// "a.b.c.d" as a number (a in the high byte), for sorting; nullopt unless a dotted quad.
std::optional<std::uint32_t> ipv4_of(const std::string& text) {
  std::uint32_t value = 0;
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part != 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const std::size_t start = pos;
    unsigned octet = 0;
    while (pos < text.size() && pos - start < 3 && text[pos] >= '0' && text[pos] <= '9')
      octet = octet * 10 + static_cast<unsigned>(text[pos++] - '0');
    if (pos == start || octet > 255) return std::nullopt;
    value = (value << 8) | octet;
  }
  if (pos != text.size()) return std::nullopt;
  return value;
}

// "0,1,3"
std::string join_ids(const std::vector<std::uint64_t>& ids) {
  std::string out;
  for (const std::uint64_t id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

const Json* Json::find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [name, value] : members)
    if (name == key) return &value;
  return nullptr;
}

std::optional<std::int64_t> Json::as_int() const { return integer_of<std::int64_t>(*this); }
std::optional<std::uint64_t> Json::as_uint() const { return integer_of<std::uint64_t>(*this); }

std::optional<Json> parse_json(std::string_view text, std::string* error) {
  return Parser(text).document(error);
}

const Json* telemetry_value(const Json& answer, std::string_view command) {
  return answer.find(command);
}

std::string runtime_dir(std::string_view file_prefix, bool root, const char* runtime_directory_env,
                        const char* xdg_runtime_dir_env) {
  std::string base = runtime_directory_env != nullptr && *runtime_directory_env != '\0'
                         ? runtime_directory_env
                         : "/var/run";
  if (!root && xdg_runtime_dir_env != nullptr && *xdg_runtime_dir_env != '\0') base = xdg_runtime_dir_env;
  return base + "/dpdk/" + std::string(file_prefix);
}

std::optional<std::string> format_states(const Json& states) {
  const auto counts = counts_of(states);
  if (!counts) return std::nullopt;
  std::string out;
  for (const auto& [name, n] : *counts)
    if (n != 0) out += name + " " + std::to_string(n) + "\n";
  return out;
}

std::optional<std::string> format_transitions(const Json& transitions) {
  if (!transitions.is_object()) return std::nullopt;
  std::map<std::string, std::uint64_t> counts;
  for (const auto& [key, value] : transitions.members) {
    const std::optional<std::uint64_t> n = value.as_uint();
    if (!n) return std::nullopt;
    std::string name = key;
    if (const std::size_t slash = name.find('/'); slash != std::string::npos) name.replace(slash, 1, "->");
    counts[name] += *n;
  }
  std::string out;
  for (const auto& [name, n] : counts)
    if (n != 0) out += name + " " + std::to_string(n) + "\n";
  return out;
}

std::optional<std::string> format_counters(const Json& counters, bool all) {
  if (!counters.is_object()) return std::nullopt;
  std::string out;
  for (const auto& [name, value] : counters.members) {
    if (!value.as_uint()) return std::nullopt;
    if (all || value.text != "0") out += name + " " + value.text + "\n";
  }
  return out;
}

std::optional<ConnectionsPage> parse_connections_page(const Json& value, std::string* error) {
  auto fail = [&](const std::string& what) -> std::optional<ConnectionsPage> {
    if (error != nullptr) *error = what;
    return std::nullopt;
  };
  if (!value.is_object()) return fail("not an object");
  ConnectionsPage page;
  const Json* total = value.find("total");
  const Json* next = value.find("next");
  if (total == nullptr || !total->as_uint()) return fail("no \"total\"");
  if (next == nullptr || !next->as_uint()) return fail("no \"next\"");
  page.total = *total->as_uint();
  page.next = *next->as_uint();
  for (const auto& [key, entry] : value.members) {
    if (key == "total" || key == "offset" || key == "next") continue;
    if (!entry.is_object()) return fail("entry " + key + " is not an object");
    Connection c;
    auto text = [&](const char* name, std::string& out) {
      const Json* j = entry.find(name);
      if (j == nullptr || j->kind != Json::Kind::kString) return false;
      out = j->text;
      return true;
    };
    auto unsigned_number = [&](const char* name, std::uint64_t& out) {
      const Json* j = entry.find(name);
      if (j == nullptr || !j->as_uint()) return false;
      out = *j->as_uint();
      return true;
    };
    const Json* expires = entry.find("expires_ms");
    if (!text("state", c.state) || !text("local", c.local) || !text("remote", c.remote) ||
        !text("timer", c.timer) || !unsigned_number("recv_q", c.recv_q) ||
        !unsigned_number("send_q", c.send_q) || !unsigned_number("retransmits", c.retransmits) ||
        !unsigned_number("engine", c.engine) || expires == nullptr || !expires->as_int())
      return fail("entry " + key + " lacks a field");
    c.expires_ms = *expires->as_int();
    unsigned_number("app", c.app);  // optional: daemons without the shim have no owners
    if (const Json* pid = entry.find("app_pid"); pid != nullptr && pid->as_int()) c.app_pid = *pid->as_int();
    if (entry_has_any_info(entry)) {
      std::string why;
      c.info = tcp_info_of(entry, &why);
      if (!c.info) return fail("entry " + key + ": " + why);
    }
    page.connections.push_back(std::move(c));
  }
  return page;
}

std::string ss_duration(std::int64_t ms) {
  if (ms <= 0) return "0ms";
  std::int64_t secs = ms / 1000;
  const std::int64_t minutes = secs / 60;
  secs %= 60;
  std::int64_t msecs = ms % 1000;
  std::string out;
  if (minutes != 0) {
    msecs = 0;
    out += std::to_string(minutes) + "min";
    if (minutes > 9) secs = 0;
  }
  if (secs != 0) {
    if (secs > 9) msecs = 0;
    out += std::to_string(secs) + (msecs != 0 ? "." : "sec");
  }
  if (msecs != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%03d", static_cast<int>(msecs));
    out += std::string(buf) + "ms";
  }
  return out;
}

std::string ss_timer(const Connection& c) {
  if (c.timer.empty() || c.timer == "off") return "";
  return "timer:(" + c.timer + "," + ss_duration(c.expires_ms) + "," + std::to_string(c.retransmits) + ")";
}

// Column widths follow the header: State 10, Recv-Q 6, Send-Q 6, Local 19, Peer 17, then Timer.
std::string connections_header() {
  return "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Timer";
}

std::string format_connection(const Connection& c) {
  std::string line = pad(c.state, 10) + " " + pad(std::to_string(c.recv_q), 6) + " " +
                     pad(std::to_string(c.send_q), 6) + " " + pad(ss_endpoint(c.local), 19) + " " +
                     pad(ss_endpoint(c.remote), 17) + " " + ss_timer(c);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (c.app != 0)
    line += " users:((\"" + c.app_name + "\",pid=" + std::to_string(c.app_pid) + ",app=" + std::to_string(c.app) + "))";
  return line;
}

std::vector<std::pair<std::uint64_t, std::string>> app_names(const Json& apps) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  if (!apps.is_object()) return out;
  for (const auto& [key, entry] : apps.members) {
    if (key.rfind("app", 0) != 0 || !entry.is_object()) continue;
    std::uint64_t id = 0;
    try {
      id = std::stoull(key.substr(3));
    } catch (...) {
      continue;
    }
    const Json* name = entry.find("name");
    out.emplace_back(id, name != nullptr && name->kind == Json::Kind::kString ? name->text : "");
  }
  return out;
}

std::optional<std::string> format_apps(const Json& apps) {
  if (!apps.is_object()) return std::nullopt;
  auto number = [](const Json& entry, const char* name) -> std::optional<std::string> {
    const Json* j = entry.find(name);
    if (j == nullptr || !j->as_int()) return std::nullopt;
    return j->text;
  };
  std::string out = "APP  PID      UID    NAME             STATE  SOCKETS  ACCEPTED  BYTES-IN    BYTES-OUT   "
                    "REQUESTS  BAD  OVERFLOWS  WAKEUPS  EXIT-RST  EXIT-FIN\n";
  std::string totals;
  for (const auto& [key, entry] : apps.members) {
    if (key.rfind("app", 0) != 0) {
      if (!entry.as_uint()) return std::nullopt;
      continue;
    }
    if (!entry.is_object()) return std::nullopt;
    const Json* name = entry.find("name");
    const Json* phase = entry.find("phase");
    const char* fields[] = {"pid", "uid", "sockets", "accepted", "bytes_in", "bytes_out", "requests",
                            "bad_requests", "event_overflows", "wakeups", "resets_on_exit", "closed_on_exit", "faulted"};
    std::vector<std::string> v;
    for (const char* f : fields) {
      auto n = number(entry, f);
      if (!n) return std::nullopt;
      v.push_back(*n);
    }
    if (name == nullptr || phase == nullptr) return std::nullopt;
    std::string state = v[12] != "0" ? "fault" : phase->text;
    std::string line = pad(key.substr(3), 4) + " " + pad(v[0], 8) + " " + pad(v[1], 6) + " " + pad(name->text, 16) + " " +
                       pad(state, 6) + " " + pad(v[2], 8) + " " + pad(v[3], 9) + " " + pad(v[4], 11) + " " +
                       pad(v[5], 11) + " " + pad(v[6], 9) + " " + pad(v[7], 4) + " " + pad(v[8], 10) + " " +
                       pad(v[9], 8) + " " + pad(v[10], 9) + " " + v[11];
    out += line + "\n";
  }
  auto total = [&](const char* name) {
    const Json* j = apps.find(name);
    return j != nullptr && j->as_uint() ? j->text : std::string("0");
  };
  out += "attached " + total("attached_total") + " refused " + total("refused_total") + " detached " +
         total("detached_total") + " faults " + total("faults_total") + "\n";
  return out;
}

std::string format_tcp_info(const Connection& c) {
  std::string line = "\t";
  if (!c.info) return line;
  const TcpInfo& i = *c.info;
  // The order and the conditions of iproute2's tcp_stats_print, for the fields synwave has.
  if (i.timestamps) line += " ts";
  if (i.sack) line += " sack";
  if (!i.congestion.empty()) line += " " + i.congestion;
  if (i.snd_wscale != 0 || i.rcv_wscale != 0)
    line += " wscale:" + std::to_string(i.snd_wscale) + "," + std::to_string(i.rcv_wscale);
  // ss hides an RTO of exactly 3 s (tcpi_rto == 3000000 us, the old initial RTO).
  if (i.rto_ms != 0 && i.rto_ms != 3000) line += " rto:" + g_format(static_cast<double>(i.rto_ms));
  if (i.srtt_us != 0)
    line += " rtt:" + g_format(static_cast<double>(i.srtt_us) / 1000) + "/" +
            g_format(static_cast<double>(i.rttvar_us) / 1000);
  if (i.mss != 0) line += " mss:" + std::to_string(i.mss);
  if (i.cwnd != 0) line += " cwnd:" + std::to_string(i.cwnd);
  // ss leaves out tcpi_snd_ssthresh >= 0xFFFF (TCP_INFINITE_SSTHRESH); synwave publishes 0.
  if (i.ssthresh != 0 && i.ssthresh < 0xFFFF) line += " ssthresh:" + std::to_string(i.ssthresh);
  if (c.retransmits != 0 || i.total_retransmits != 0)
    line += " retrans:" + std::to_string(c.retransmits) + "/" + std::to_string(i.total_retransmits);
  return line;
}


std::optional<std::string> format_neigh(const Json& neigh) {
  // The rows: an array's elements, or an object's member values (the daemon keys its rows
  // "e<engine>_<n>": DPDK 22.11 telemetry cannot put dictionaries in an array).
  std::vector<const Json*> items;
  if (neigh.kind == Json::Kind::kArray) {
    for (const Json& row : neigh.items) items.push_back(&row);
  } else if (neigh.is_object()) {
    for (const auto& member : neigh.members) items.push_back(&member.second);
  } else {
    return std::nullopt;
  }
  // (port, address) -> the distinct (MAC, state) seen, each with its engines; engines ascending.
  struct Variant {
    std::string mac;  // empty for INCOMPLETE: an unresolved entry's MAC means nothing
    std::string state;
    std::vector<std::uint64_t> engines;
  };
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::pair<std::string, std::vector<Variant>>> rows;
  for (const Json* item : items) {
    const Json& row = *item;
    if (!row.is_object()) return std::nullopt;
    const Json* engine = row.find("engine");
    const Json* port = row.find("port");
    const Json* ip = row.find("ip");
    const Json* mac = row.find("mac");
    const Json* state = row.find("state");
    const Json* remaining = row.find("remaining_ms");
    if (engine == nullptr || !engine->as_uint() || port == nullptr || !port->as_uint() || ip == nullptr ||
        ip->kind != Json::Kind::kString || mac == nullptr || mac->kind != Json::Kind::kString ||
        state == nullptr || state->kind != Json::Kind::kString || state->text.empty() ||
        remaining == nullptr || !remaining->as_int())
      return std::nullopt;
    const std::optional<std::uint32_t> address = ipv4_of(ip->text);
    if (!address) return std::nullopt;
    auto& [text, variants] = rows[{*port->as_uint(), *address}];
    text = ip->text;
    const std::string lladdr = state->text == "INCOMPLETE" ? std::string() : mac->text;
    auto it = std::find_if(variants.begin(), variants.end(),
                           [&](const Variant& v) { return v.mac == lladdr && v.state == state->text; });
    if (it == variants.end()) it = variants.insert(variants.end(), Variant{lladdr, state->text, {}});
    it->engines.push_back(*engine->as_uint());
  }
  std::string out;
  for (auto& [key, entry] : rows) {
    auto& variants = entry.second;
    for (Variant& v : variants) {
      std::sort(v.engines.begin(), v.engines.end());
      v.engines.erase(std::unique(v.engines.begin(), v.engines.end()), v.engines.end());
    }
    std::stable_sort(variants.begin(), variants.end(),
                     [](const Variant& a, const Variant& b) { return a.engines.front() < b.engines.front(); });
    for (const Variant& v : variants) {
      out += entry.first + " dev port" + std::to_string(key.first);
      if (!v.mac.empty()) out += " lladdr " + v.mac;
      out += " " + v.state + " engines " + join_ids(v.engines) + "\n";
    }
  }
  return out;
}

std::optional<std::string> format_engines(const Json& engines) {
  if (!engines.is_object()) return std::nullopt;
  constexpr const char* kCounts[] = {"rx_packets", "steered_in", "steered_out", "connections", "opens"};
  constexpr std::size_t kCountCount = std::size(kCounts);
  struct Row {
    std::uint64_t id = 0;
    std::string lcore;
    std::optional<double> busy;  // percent; none when the engine has no time counted yet
    std::uint64_t counts[kCountCount] = {};
  };
  std::vector<Row> rows;
  for (const auto& [key, entry] : engines.members) {
    constexpr std::string_view kPrefix = "engine";
    if (key.size() <= kPrefix.size() || key.compare(0, kPrefix.size(), kPrefix) != 0 || !entry.is_object())
      return std::nullopt;
    Row row;
    const char* first = key.data() + kPrefix.size();
    const char* last = key.data() + key.size();
    if (const auto [end, ec] = std::from_chars(first, last, row.id); ec != std::errc() || end != last)
      return std::nullopt;
    const Json* lcore = entry.find("lcore");
    const Json* busy_ns = entry.find("busy_ns");
    const Json* idle_ns = entry.find("idle_ns");
    if (lcore == nullptr || !lcore->as_int() || busy_ns == nullptr || !busy_ns->as_uint() || idle_ns == nullptr ||
        !idle_ns->as_uint())
      return std::nullopt;
    row.lcore = lcore->text;
    const double busy = static_cast<double>(*busy_ns->as_uint());
    const double idle = static_cast<double>(*idle_ns->as_uint());
    if (busy + idle > 0) row.busy = 100.0 * busy / (busy + idle);
    for (std::size_t i = 0; i < kCountCount; ++i) {
      const Json* j = entry.find(kCounts[i]);
      if (j == nullptr || !j->as_uint()) return std::nullopt;
      row.counts[i] = *j->as_uint();
    }
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  if (std::adjacent_find(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id == b.id; }) !=
      rows.end())
    return std::nullopt;  // "engine1" and "engine01"

  auto percent = [](const std::optional<double>& busy) -> std::string {
    if (!busy) return "-";
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%.1f", *busy);
    return buf;
  };
  // Widths: engine 6, lcore 5, busy% 6, rx_packets 12, steered_in 12, steered_out 12,
  // connections 11, then opens.
  auto line = [&](const std::string& engine, const std::string& lcore, const std::string& busy,
                  const std::string (&counts)[kCountCount]) {
    return pad(engine, 6) + " " + pad(lcore, 5) + " " + pad(busy, 6) + " " + pad(counts[0], 12) + " " +
           pad(counts[1], 12) + " " + pad(counts[2], 12) + " " + pad(counts[3], 11) + " " + counts[4] + "\n";
  };
  const std::string header[kCountCount] = {"rx_packets", "steered_in", "steered_out", "connections", "opens"};
  std::string out = line("engine", "lcore", "busy%", header);
  std::uint64_t totals[kCountCount] = {};
  double busy_sum = 0;
  std::size_t busy_engines = 0;
  for (const Row& row : rows) {
    std::string counts[kCountCount];
    for (std::size_t i = 0; i < kCountCount; ++i) {
      counts[i] = std::to_string(row.counts[i]);
      totals[i] += row.counts[i];
    }
    if (row.busy) {
      busy_sum += *row.busy;
      ++busy_engines;
    }
    out += line(std::to_string(row.id), row.lcore, percent(row.busy), counts);
  }
  std::string counts[kCountCount];
  for (std::size_t i = 0; i < kCountCount; ++i) counts[i] = std::to_string(totals[i]);
  const std::optional<double> mean =
      busy_engines == 0 ? std::nullopt : std::optional<double>(busy_sum / static_cast<double>(busy_engines));
  out += line("total", "-", percent(mean), counts);
  return out;
}

}  // namespace synwave::ctl
