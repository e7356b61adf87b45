// The configuration file parser: one pass over the lines, each value checked where it stands, each
// section checked as a whole when it ends, the file checked as a whole at its end. The first
// problem stops parsing with "<source>:<line>: <what>". docs/configuration.md describes the format.
#include "config/config.h"

#include <fcntl.h>
#include <rte_config.h>  // RTE_MAX_LCORE, RTE_MAX_ETHPORTS, RTE_MEMPOOL_CACHE_MAX_SIZE (macros only)
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace synwave {
namespace {

// Debian's abseil has its own string_view; the public interface speaks std::string_view.
absl::string_view to_absl(std::string_view text) {
  return {text.data(), text.size()};
}
std::string_view to_std(absl::string_view text) {
  return {text.data(), text.size()};
}

// ---- limits, each with where it comes from ----

constexpr std::uint64_t kIntMax = INT_MAX;
// Linux reads second-valued sysctls with proc_dointvec_jiffies, which refuses more than INT_MAX/HZ
// seconds; HZ = 1000 gives the smallest such bound.
constexpr std::uint64_t kLinuxSecondsMax = INT_MAX / 1000;
constexpr std::uint64_t kU8Max = 255;  // sysctls Linux stores in a u8 (proc_dou8vec_minmax)
constexpr unsigned kMaxBurst = 512;
constexpr std::uint64_t kMaxArpEntries = 1u << 20;
constexpr std::uint64_t kMaxFileBytes = 1u << 20;
// The shim's attach socket: <directory>/shim.sock, by default under /run/synwave/<file prefix>.
// Its path must fit sockaddr_un's sun_path with the terminating NUL.
constexpr absl::string_view kShimRunDirectory = "/run/synwave/";
constexpr absl::string_view kShimSocketName = "/shim.sock";
constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
// uid_t and gid_t are 32 bits; (uid_t) -1 and (gid_t) -1 mean "no id" (setreuid, chown).
constexpr std::uint64_t kMaxId = UINT32_MAX - 1;
constexpr std::uint64_t kMiB = 1u << 20;

// ---- value parsers: they return the value or why it is refused (InvalidArgument) ----

absl::Status refuse(std::string what) {
  return absl::InvalidArgumentError(std::move(what));
}
std::string quoted(absl::string_view text) {
  return absl::StrCat("'", text, "'");
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

absl::string_view trim(absl::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// A decimal number: digits only (no sign, no spaces, no leading zero, which Linux would read as
// octal), within lo..hi. `limit` names where the range comes from.
absl::StatusOr<std::uint64_t> parse_number(absl::string_view text, std::uint64_t lo,
                                           std::uint64_t hi, absl::string_view limit = {}) {
  if (text.empty()) return refuse("no value");
  bool digits = std::all_of(text.begin(), text.end(), is_digit);
  if (!digits || (text.size() > 1 && text[0] == '0')) {
    return refuse(absl::StrCat(quoted(text), " is not a number"));
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < lo || value > hi) {
    return refuse(absl::StrCat(text, " is out of range ", lo, "..", hi,
                               limit.empty() ? "" : absl::StrCat(" (", limit, ")")));
  }
  return value;
}

absl::StatusOr<bool> parse_bool(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  std::string word = absl::AsciiStrToLower(text);
  for (const char* yes : {"true", "yes", "on", "1"}) {
    if (word == yes) return true;
  }
  for (const char* no : {"false", "no", "off", "0"}) {
    if (word == no) return false;
  }
  return refuse(absl::StrCat(quoted(text), " is not a boolean (true/false, yes/no, on/off, 1/0)"));
}

// "1", "1-3", "0,2", "0,2-4": ascending, without duplicates.
absl::StatusOr<std::vector<unsigned>> parse_lcores(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  std::string malformed =
      absl::StrCat(quoted(text), " is not an lcore list (write e.g. 1, 1-3 or 0,2)");
  std::vector<unsigned> lcores;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = trim(item);
    std::vector<absl::string_view> ends = absl::StrSplit(item, '-');
    if (ends.size() > 2) return refuse(malformed);
    std::uint64_t bounds[2] = {0, 0};
    for (std::size_t i = 0; i < ends.size(); ++i) {
      if (ends[i].empty() || !std::all_of(ends[i].begin(), ends[i].end(), is_digit)) {
        return refuse(malformed);
      }
      auto n = parse_number(ends[i], 0, RTE_MAX_LCORE - 1, "RTE_MAX_LCORE");
      if (!n.ok()) {
        return refuse(absl::StrCat("lcore ", n.status().message(), " in ", quoted(text)));
      }
      bounds[i] = *n;
    }
    if (ends.size() == 1) bounds[1] = bounds[0];
    if (bounds[1] < bounds[0]) {
      return refuse(
          absl::StrCat(quoted(text), " is not an lcore list: the range ", item, " runs backwards"));
    }
    for (auto lcore = bounds[0]; lcore <= bounds[1]; ++lcore) {
      if (std::find(lcores.begin(), lcores.end(), lcore) != lcores.end()) {
        return refuse(absl::StrCat("lcore ", lcore, " is listed twice in ", quoted(text)));
      }
      lcores.push_back(static_cast<unsigned>(lcore));
    }
  }
  std::sort(lcores.begin(), lcores.end());
  return lcores;
}

// File prefixes name files under /var/run/dpdk/ and /dev/hugepages/: keep them plain.
absl::Status check_file_prefix(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  if (!plain || text[0] == '.') {
    return refuse(absl::StrCat(quoted(text),
                               " is not a file prefix (letters, digits, '_', '-', '.'; not "
                               "starting with '.')"));
  }
  return absl::OkStatus();
}

// A file mode in octal: "0660", "660", "0". Digits 0-7 only, any leading zeros, at most 0777.
absl::StatusOr<unsigned> parse_mode(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; })) {
    return refuse(absl::StrCat(quoted(text), " is not an octal file mode (digits 0-7, e.g. 0660)"));
  }
  unsigned mode = 0;
  for (char c : text) {
    mode = mode * 8 + static_cast<unsigned>(c - '0');
    if (mode > 0777) return refuse(absl::StrCat(text, " is out of range 0..0777"));
  }
  return mode;
}

// "1000", "1000, 1001": user or group ids (`what` is "uid" or "gid"), without duplicates, in the
// order given. An empty value is an empty list.
absl::StatusOr<std::vector<unsigned>> parse_ids(absl::string_view text, absl::string_view what) {
  std::vector<unsigned> ids;
  if (text.empty()) return ids;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = trim(item);
    if (item.empty() || !std::all_of(item.begin(), item.end(), is_digit) ||
        (item.size() > 1 && item[0] == '0')) {
      return refuse(
          absl::StrCat(quoted(text), " is not a ", what, " list (write e.g. 1000 or 1000, 1001)"));
    }
    auto n = parse_number(item, 0, kMaxId, absl::StrCat("(", what, "_t) -1 means none"));
    if (!n.ok()) {
      return refuse(absl::StrCat(what, " ", n.status().message(), " in ", quoted(text)));
    }
    if (std::find(ids.begin(), ids.end(), *n) != ids.end()) {
      return refuse(absl::StrCat(what, " ", *n, " is listed twice in ", quoted(text)));
    }
    ids.push_back(static_cast<unsigned>(*n));
  }
  return ids;
}

// "0000:03:00.0" or "03:00.0": domain (4 hex digits), bus, device (00..1f), function (0..7).
bool is_pci_address(absl::string_view text) {
  if (text.size() == 12) {
    if (text[4] != ':') return false;
    for (int i = 0; i < 4; ++i) {
      if (!is_hex(text[i])) return false;
    }
    text.remove_prefix(5);
  }
  if (text.size() != 7 || text[2] != ':' || text[5] != '.') return false;
  if (!is_hex(text[0]) || !is_hex(text[1]) || !is_hex(text[3]) || !is_hex(text[4])) return false;
  if (text[3] > '1') return false;  // device numbers stop at 0x1f
  return text[6] >= '0' && text[6] <= '7';
}

// "net_tap0", "net_memif1": the vdev naming rule, "net_" then a driver name and an instance.
bool is_vdev_name(absl::string_view text) {
  if (!absl::StartsWith(text, "net_") || text.size() == 4) return false;
  return std::all_of(text.begin() + 4, text.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// An address the stack may own: not 0.0.0.0/8, loopback, multicast or reserved (240/4).
absl::Status check_unicast(Ipv4Addr addr, absl::string_view text) {
  unsigned first = addr.value >> 24;
  const char* what = first == 0     ? "in 0.0.0.0/8 ('this network')"
                     : first == 127 ? "a loopback address"
                     : first >= 240 ? "a reserved or broadcast address"
                     : first >= 224 ? "a multicast address"
                                    : nullptr;
  if (what) return refuse(absl::StrCat(quoted(text), " is ", what));
  return absl::OkStatus();
}

struct AddrPrefix {
  Ipv4Addr addr;
  unsigned prefix_len;
};

absl::StatusOr<AddrPrefix> parse_addr_prefix(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  std::string malformed = absl::StrCat(quoted(text), " is not an IPv4 address/prefix");
  std::size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return refuse(absl::StrCat(malformed, " (the /prefix is missing, e.g. ", text, "/24)"));
  }
  auto addr = parse_ipv4(to_std(text.substr(0, slash)));
  auto prefix = parse_number(text.substr(slash + 1), 0, 32);
  if (!addr || !prefix.ok()) return refuse(malformed);
  auto len = static_cast<unsigned>(*prefix);
  if (auto st = check_unicast(*addr, text); !st.ok()) return st;
  // /31 (RFC 3021) and /32 have no network or broadcast address.
  if (len <= 30) {
    std::uint32_t host = addr->value & ~netmask(len);
    if (host == 0) {
      return refuse(absl::StrCat(quoted(text), " is the network address of its prefix"));
    }
    if (host == ~netmask(len)) {
      return refuse(absl::StrCat(quoted(text), " is the broadcast address of its prefix"));
    }
  }
  return AddrPrefix{*addr, len};
}

// ---- [sysctl]: the keys under their Linux names ----

struct SysctlKey {
  absl::string_view name;  // as `sysctl -a` prints it
  // kTriple: "min default max" (tcp_rmem, tcp_wmem) into `triple`; kCongestion: a congestion
  // control name into Sysctl::tcp_congestion_control.
  enum class Type { kNumber, kBool, kPortRange, kTriple, kCongestion } type;
  unsigned Sysctl::*number;
  bool Sysctl::*flag;
  std::uint64_t lo, hi;
  absl::string_view limit;  // where the range comes from, for messages
  std::array<unsigned, 3> Sysctl::*triple = nullptr;
};

// The congestion controls synwave implements (net.ipv4.tcp_congestion_control).
constexpr absl::string_view kCongestionControls[] = {"cubic", "reno"};

using SysType = SysctlKey::Type;
constexpr SysctlKey kSysctlKeys[] = {
    {"net.ipv4.tcp_syn_retries", SysType::kNumber, &Sysctl::tcp_syn_retries, nullptr, 1, 127,
     "Linux: 1..MAX_TCP_SYNCNT"},
    {"net.ipv4.tcp_synack_retries", SysType::kNumber, &Sysctl::tcp_synack_retries, nullptr, 0,
     kU8Max, "Linux: u8"},
    {"net.ipv4.tcp_orphan_retries", SysType::kNumber, &Sysctl::tcp_orphan_retries, nullptr, 0,
     kU8Max, "Linux: u8"},
    {"net.ipv4.tcp_retries2", SysType::kNumber, &Sysctl::tcp_retries2, nullptr, 0, kU8Max,
     "Linux: u8"},
    {"net.ipv4.tcp_fin_timeout", SysType::kNumber, &Sysctl::tcp_fin_timeout, nullptr, 1,
     kLinuxSecondsMax, "seconds; Linux: at most INT_MAX/HZ"},
    {"synwave.tcp_timewait_len", SysType::kNumber, &Sysctl::tcp_timewait_len, nullptr, 1,
     kLinuxSecondsMax, "seconds"},
    {"net.ipv4.tcp_max_syn_backlog", SysType::kNumber, &Sysctl::tcp_max_syn_backlog, nullptr, 0,
     kIntMax, "Linux: int"},
    {"net.core.somaxconn", SysType::kNumber, &Sysctl::somaxconn, nullptr, 0, kIntMax,
     "Linux: 0..INT_MAX"},
    {"net.ipv4.tcp_abort_on_overflow", SysType::kBool, nullptr, &Sysctl::tcp_abort_on_overflow, 0,
     1, ""},
    {"net.ipv4.tcp_syncookies", SysType::kNumber, &Sysctl::tcp_syncookies, nullptr, 0, 2,
     "0: never, 1: on overflow, 2: always"},
    {"net.ipv4.tcp_tw_reuse", SysType::kNumber, &Sysctl::tcp_tw_reuse, nullptr, 0, 2,
     "Linux: 0..2"},
    {"net.ipv4.ip_local_port_range", SysType::kPortRange, nullptr, nullptr, 1, 65535,
     "Linux: 1..65535"},
    {"net.ipv4.tcp_keepalive_time", SysType::kNumber, &Sysctl::tcp_keepalive_time, nullptr, 1,
     kLinuxSecondsMax, "seconds; Linux: at most INT_MAX/HZ"},
    {"net.ipv4.tcp_keepalive_intvl", SysType::kNumber, &Sysctl::tcp_keepalive_intvl, nullptr, 1,
     kLinuxSecondsMax, "seconds; Linux: at most INT_MAX/HZ"},
    {"net.ipv4.tcp_keepalive_probes", SysType::kNumber, &Sysctl::tcp_keepalive_probes, nullptr, 0,
     kU8Max, "Linux: u8"},
    {"net.ipv4.tcp_timestamps", SysType::kBool, nullptr, &Sysctl::tcp_timestamps, 0, 1, ""},
    {"net.ipv4.tcp_sack", SysType::kBool, nullptr, &Sysctl::tcp_sack, 0, 1, ""},
    {"net.ipv4.tcp_window_scaling", SysType::kBool, nullptr, &Sysctl::tcp_window_scaling, 0, 1, ""},
    {"net.ipv4.ip_default_ttl", SysType::kNumber, &Sysctl::ip_default_ttl, nullptr, 1, 255,
     "Linux: 1..255"},
    {"net.ipv4.tcp_rmem", SysType::kTriple, nullptr, nullptr, 1, kIntMax, "Linux: 1..INT_MAX",
     &Sysctl::tcp_rmem},
    {"net.ipv4.tcp_wmem", SysType::kTriple, nullptr, nullptr, 1, kIntMax, "Linux: 1..INT_MAX",
     &Sysctl::tcp_wmem},
    {"net.ipv4.tcp_congestion_control", SysType::kCongestion, nullptr, nullptr, 0, 0, ""},
    {"net.ipv4.tcp_invalid_ratelimit", SysType::kNumber, &Sysctl::tcp_invalid_ratelimit, nullptr,
     0, kIntMax, "ms; Linux: int"},
    {"net.ipv4.tcp_slow_start_after_idle", SysType::kBool, nullptr,
     &Sysctl::tcp_slow_start_after_idle, 0, 1, ""},
    // Linux takes any int and caps the threshold at tcp_max_reordering (default 300).
    {"net.ipv4.tcp_reordering", SysType::kNumber, &Sysctl::tcp_reordering, nullptr, 1, 300,
     "synwave: 1..tcp_max_reordering"},
};

// The full name ("net.ipv4.tcp_syn_retries"), the slash form ("net/ipv4/tcp_syn_retries") or the
// short form ("tcp_syn_retries").
const SysctlKey* find_sysctl(absl::string_view key) {
  std::string dotted = absl::StrReplaceAll(key, {{"/", "."}});
  for (const SysctlKey& k : kSysctlKeys) {
    if (dotted == k.name) return &k;
    if (key.find_first_of("./") == absl::string_view::npos &&
        key == k.name.substr(k.name.rfind('.') + 1)) {
      return &k;
    }
  }
  return nullptr;
}

absl::Status set_sysctl(Sysctl& sysctl, const SysctlKey& key, absl::string_view value) {
  switch (key.type) {
    case SysType::kNumber: {
      auto n = parse_number(value, key.lo, key.hi, key.limit);
      if (!n.ok()) return n.status();
      sysctl.*key.number = static_cast<unsigned>(*n);
      return absl::OkStatus();
    }
    case SysType::kBool: {
      auto b = parse_bool(value);
      if (!b.ok()) return b.status();
      sysctl.*key.flag = *b;
      return absl::OkStatus();
    }
    case SysType::kPortRange: {
      if (value.empty()) return refuse("no value");
      std::vector<absl::string_view> ends =
          absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (ends.size() != 2) {
        return refuse(absl::StrCat(quoted(value), " is not a port range (two numbers: low high)"));
      }
      auto low = parse_number(ends[0], key.lo, key.hi, key.limit);
      if (!low.ok()) return low.status();
      auto high = parse_number(ends[1], key.lo, key.hi, key.limit);
      if (!high.ok()) return high.status();
      if (*high < *low) {
        return refuse(
            absl::StrCat(quoted(value), ": the high end ", *high, " is below the low end ", *low));
      }
      sysctl.ip_local_port_range_low = static_cast<unsigned>(*low);
      sysctl.ip_local_port_range_high = static_cast<unsigned>(*high);
      return absl::OkStatus();
    }
    case SysType::kTriple: {
      if (value.empty()) return refuse("no value");
      std::vector<absl::string_view> parts =
          absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (parts.size() != 3) {
        return refuse(
            absl::StrCat(quoted(value), " is not three numbers (min default max, in bytes)"));
      }
      std::array<unsigned, 3> bytes{};
      for (std::size_t i = 0; i < 3; ++i) {
        auto n = parse_number(parts[i], key.lo, key.hi, key.limit);
        if (!n.ok()) return n.status();
        bytes[i] = static_cast<unsigned>(*n);
      }
      if (bytes[1] < bytes[0]) {
        return refuse(absl::StrCat(quoted(value), ": the default ", bytes[1],
                                   " is below the min ", bytes[0]));
      }
      if (bytes[2] < bytes[1]) {
        return refuse(absl::StrCat(quoted(value), ": the max ", bytes[2],
                                   " is below the default ", bytes[1]));
      }
      sysctl.*key.triple = bytes;
      return absl::OkStatus();
    }
    case SysType::kCongestion: {
      if (value.empty()) return refuse("no value");
      for (absl::string_view name : kCongestionControls) {
        if (value == name) {
          sysctl.tcp_congestion_control = std::string(name);
          return absl::OkStatus();
        }
      }
      return refuse(absl::StrCat(quoted(value),
                                 " is not a supported congestion control (cubic, reno)"));
    }
  }
  return absl::InternalError("unhandled sysctl type");
}

// ---- the parser ----

class Parser {
 public:
  explicit Parser(absl::string_view source) { config_.source = std::string(source); }

  absl::StatusOr<Config> run(absl::string_view text);

 private:
  enum class Kind { kEal, kPort, kEngine, kArp, kSysctl, kImpairment, kShim, kFlood };
  // The section being read.
  struct Section {
    Kind kind;
    std::string label;  // "[port.0]"
    unsigned header_line;
    std::map<std::string, unsigned, std::less<>> keys;  // canonical key -> line it was set on
    PortConfig port;                                    // kPort only
  };

  absl::Status fail(unsigned line, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(config_.source, ":", line, ": ", what));
  }
  absl::Status open(absl::string_view header, unsigned line);
  absl::Status close();
  absl::Status set(absl::string_view key, absl::string_view value, unsigned line);
  // Each returns NotFound for a key the section does not have, InvalidArgument with the reason
  // for a bad value.
  absl::Status set_eal(absl::string_view key, absl::string_view value);
  absl::Status set_port(absl::string_view key, absl::string_view value);
  absl::Status set_engine(absl::string_view key, absl::string_view value);
  absl::Status set_arp(absl::string_view key, absl::string_view value);
  absl::Status set_impairment(absl::string_view key, absl::string_view value);
  absl::Status set_shim(absl::string_view key, absl::string_view value);
  absl::Status set_flood(absl::string_view key, absl::string_view value);
  // The line `key` was set on in the open section, or 0.
  unsigned line_of(absl::string_view key) const {
    auto it = section_->keys.find(key);
    return it == section_->keys.end() ? 0 : it->second;
  }

  Config config_;
  std::optional<Section> section_;
  std::map<std::string, unsigned> headers_;                    // section label -> header line
  std::map<unsigned, std::pair<PortConfig, unsigned>> ports_;  // index -> (port, header line)
  std::map<unsigned, unsigned> port_lcores_lines_;              // index -> line of its lcores key
  bool lcores_set_ = false;
  unsigned file_prefix_line_ = 0;  // the line [eal] file_prefix was set on, or 0
};

absl::Status assign(unsigned& out, absl::string_view value, std::uint64_t lo, std::uint64_t hi,
                    absl::string_view limit = {}) {
  auto n = parse_number(value, lo, hi, limit);
  if (!n.ok()) return n.status();
  out = static_cast<unsigned>(*n);
  return absl::OkStatus();
}

// A percentage: "30", "0.5", "100.0" (digits, optionally a point and more digits), 0..100.
absl::Status assign_percent(double& out, absl::string_view value) {
  if (value.empty()) return refuse("no value");
  std::size_t point = value.find('.');
  absl::string_view whole = value.substr(0, point);
  absl::string_view fraction =
      point == absl::string_view::npos ? absl::string_view() : value.substr(point + 1);
  bool well_formed = !whole.empty() && std::all_of(whole.begin(), whole.end(), is_digit) &&
                     (whole.size() == 1 || whole[0] != '0') &&
                     (point == absl::string_view::npos ||
                      (!fraction.empty() && std::all_of(fraction.begin(), fraction.end(), is_digit)));
  if (!well_formed) {
    return refuse(absl::StrCat(quoted(value), " is not a decimal number (e.g. 30 or 0.5)"));
  }
  double percent = std::strtod(std::string(value).c_str(), nullptr);
  if (!(percent >= 0 && percent <= 100)) {
    return refuse(absl::StrCat(value, " is out of range 0..100 (percent)"));
  }
  out = percent;
  return absl::OkStatus();
}

absl::Status assign(bool& out, absl::string_view value) {
  auto b = parse_bool(value);
  if (!b.ok()) return b.status();
  out = *b;
  return absl::OkStatus();
}

absl::Status Parser::set_eal(absl::string_view key, absl::string_view value) {
  EalConfig& eal = config_.eal;
  if (key == "lcores") {
    auto lcores = parse_lcores(value);
    if (!lcores.ok()) return lcores.status();
    eal.lcores = *std::move(lcores);
    lcores_set_ = true;
    return absl::OkStatus();
  }
  if (key == "hugepages") {
    if (value == "auto") {
      eal.hugepages = EalConfig::Hugepages::kAuto;
    } else if (value == "on") {
      eal.hugepages = EalConfig::Hugepages::kOn;
    } else if (value == "off") {
      eal.hugepages = EalConfig::Hugepages::kOff;
    } else {
      return refuse(value.empty() ? "no value"
                                  : absl::StrCat(quoted(value), " is not auto, on or off"));
    }
    return absl::OkStatus();
  }
  if (key == "memory_mb") return assign(eal.memory_mb, value, 0, 1u << 20);
  if (key == "file_prefix") {
    if (auto st = check_file_prefix(value); !st.ok()) return st;
    eal.file_prefix = std::string(value);
    return absl::OkStatus();
  }
  if (key == "in_memory") return assign(eal.in_memory, value);
  if (key == "extra_args") {
    std::vector<std::string> args =
        absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    eal.extra_args = std::move(args);
    return absl::OkStatus();
  }
  return absl::NotFoundError(key);
}

absl::Status Parser::set_port(absl::string_view key, absl::string_view value) {
  PortConfig& port = section_->port;
  if (key == "device") {
    if (value.empty()) return refuse("no value");
    if (!is_vdev_name(value) && !is_pci_address(value)) {
      return refuse(absl::StrCat(quoted(value),
                                 " is neither a vdev name (net_tap0, net_memif0, net_ring0, "
                                 "net_null0) nor a PCI address (0000:03:00.0)"));
    }
    for (const auto& [index, other] : ports_) {
      if (other.first.device == value) {
        return refuse(absl::StrCat(quoted(value), " is already used by [port.", index, "]"));
      }
    }
    port.device = std::string(value);
    return absl::OkStatus();
  }
  if (key == "devargs") {
    if (std::any_of(value.begin(), value.end(), is_space)) {
      return refuse(absl::StrCat(
          quoted(value), " contains whitespace (devargs are key=value pairs joined by ',')"));
    }
    port.devargs = std::string(value);
    return absl::OkStatus();
  }
  if (key == "mac") {
    if (value.empty()) return refuse("no value");
    auto mac = parse_mac(to_std(value));
    if (!mac) return refuse(absl::StrCat(quoted(value), " is not a MAC address"));
    if (mac->is_multicast()) return refuse(absl::StrCat(quoted(value), " is a multicast address"));
    if (mac->is_zero()) return refuse(absl::StrCat(quoted(value), " is the zero address"));
    port.mac = *mac;
    return absl::OkStatus();
  }
  if (key == "ipv4") {
    auto ap = parse_addr_prefix(value);
    if (!ap.ok()) return ap.status();
    port.ipv4 = ap->addr;
    port.prefix_len = ap->prefix_len;
    return absl::OkStatus();
  }
  if (key == "gateway") {
    if (value.empty()) return refuse("no value");
    auto gw = parse_ipv4(to_std(value));
    if (!gw) return refuse(absl::StrCat(quoted(value), " is not an IPv4 address"));
    if (auto st = check_unicast(*gw, value); !st.ok()) return st;
    port.gateway = *gw;  // checked against ipv4 when the section ends
    return absl::OkStatus();
  }
  // RTE_ETHER_MIN_MTU is 68; the device refuses what it cannot carry.
  if (key == "mtu") return assign(port.mtu, value, 68, 65535, "RTE_ETHER_MIN_MTU..65535");
  // rte_eth_{rx,tx}_queue_setup take a uint16_t; the driver may round up.
  if (key == "rx_descriptors") return assign(port.rx_descriptors, value, 1, 65535);
  if (key == "tx_descriptors") return assign(port.tx_descriptors, value, 1, 65535);
  if (key == "lcores") {
    auto lcores = parse_lcores(value);
    if (!lcores.ok()) return lcores.status();
    port.lcores = *std::move(lcores);
    return absl::OkStatus();  // checked against [eal] lcores once the file is read
  }
  if (key == "steering") {
    if (value == "auto") port.steering = PortConfig::Steering::kAuto;
    else if (value == "hardware") port.steering = PortConfig::Steering::kHardware;
    else if (value == "software") port.steering = PortConfig::Steering::kSoftware;
    else return refuse(absl::StrCat(quoted(value), " is not auto, hardware or software"));
    return absl::OkStatus();
  }
  if (key == "rss_key") {
    if (value == "symmetric") {
      port.rss_key.reset();
      return absl::OkStatus();
    }
    std::array<std::uint8_t, 40> key_bytes;
    bool hex = value.size() == 2 * key_bytes.size();
    for (std::size_t i = 0; hex && i < key_bytes.size(); ++i) {
      auto [end, ec] = std::from_chars(value.data() + 2 * i, value.data() + 2 * i + 2, key_bytes[i], 16);
      hex = ec == std::errc() && end == value.data() + 2 * i + 2;
    }
    if (!hex)
      return refuse(absl::StrCat(quoted(value), " is neither 'symmetric' nor 80 hex digits (a 40-byte Toeplitz key)"));
    port.rss_key = key_bytes;
    return absl::OkStatus();
  }
  return absl::NotFoundError(key);
}

absl::Status Parser::set_engine(absl::string_view key, absl::string_view value) {
  EngineConfig& engine = config_.engine;
  if (key == "burst_size") return assign(engine.burst_size, value, 1, kMaxBurst);
  if (key == "mbufs_per_engine") return assign(engine.mbufs_per_engine, value, 1, UINT_MAX);
  if (key == "mempool_cache") {
    return assign(engine.mempool_cache, value, 0, RTE_MEMPOOL_CACHE_MAX_SIZE,
                  "RTE_MEMPOOL_CACHE_MAX_SIZE");
  }
  if (key == "idle_sleep_us") return assign(engine.idle_sleep_us, value, 0, 1000000);
  if (key == "max_sockets") return assign(engine.max_sockets, value, 16, 1u << 20);
  if (key == "max_half_open") return assign(engine.max_half_open, value, 0, 1u << 20);
  return absl::NotFoundError(key);
}

absl::Status Parser::set_arp(absl::string_view key, absl::string_view value) {
  ArpConfig& arp = config_.arp;
  if (key == "entries") {
    if (auto st = assign(arp.entries, value, 1, kMaxArpEntries); !st.ok()) return st;
    if ((arp.entries & (arp.entries - 1)) != 0) {
      return refuse(absl::StrCat(value, " is not a power of two"));
    }
    return absl::OkStatus();
  }
  if (key == "reachable_ms") return assign(arp.reachable_ms, value, 1, kIntMax);
  if (key == "retrans_ms") return assign(arp.retrans_ms, value, 1, kIntMax);
  if (key == "max_retries") return assign(arp.max_retries, value, 1, 255);
  if (key == "queue_len") return assign(arp.queue_len, value, 0, 65535);
  if (key == "gratuitous") return assign(arp.gratuitous, value);
  return absl::NotFoundError(key);
}

absl::Status Parser::set_impairment(absl::string_view key, absl::string_view value) {
  ImpairmentConfig& imp = config_.impairment;
  if (key == "loss_percent") return assign_percent(imp.loss_percent, value);
  if (key == "duplicate_percent") return assign_percent(imp.duplicate_percent, value);
  if (key == "reorder_percent") return assign_percent(imp.reorder_percent, value);
  if (key == "delay_us") return assign(imp.delay_us, value, 0, 1000000);
  if (key == "seed") {
    auto n = parse_number(value, 0, UINT64_MAX);
    if (!n.ok()) return n.status();
    imp.seed = *n;
    return absl::OkStatus();
  }
  if (key == "direction") {
    if (value == "both") {
      imp.direction = ImpairmentConfig::Direction::kBoth;
    } else if (value == "rx") {
      imp.direction = ImpairmentConfig::Direction::kRx;
    } else if (value == "tx") {
      imp.direction = ImpairmentConfig::Direction::kTx;
    } else {
      return refuse(value.empty() ? "no value"
                                  : absl::StrCat(quoted(value), " is not both, rx or tx"));
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError(key);
}

absl::Status Parser::set_shim(absl::string_view key, absl::string_view value) {
  ShimConfig& shim = config_.shim;
  if (key == "enabled") return assign(shim.enabled, value);
  if (key == "directory") {
    // Empty: the default, /run/synwave/<file prefix>.
    if (!value.empty() && value[0] != '/') {
      return refuse(absl::StrCat(quoted(value), " is not an absolute path"));
    }
    if (value.size() + kShimSocketName.size() > kMaxSocketPath) {
      return refuse(absl::StrCat(quoted(value), " is too long: the socket path ", value,
                                 kShimSocketName, " has ", value.size() + kShimSocketName.size(),
                                 " bytes, more than ", kMaxSocketPath, " (sockaddr_un)"));
    }
    shim.directory = std::string(value);
    return absl::OkStatus();
  }
  if (key == "mode") {
    auto mode = parse_mode(value);
    if (!mode.ok()) return mode.status();
    shim.mode = *mode;
    return absl::OkStatus();
  }
  if (key == "allow_uids" || key == "allow_gids") {
    auto ids = parse_ids(value, key == "allow_uids" ? "uid" : "gid");
    if (!ids.ok()) return ids.status();
    (key == "allow_uids" ? shim.allow_uids : shim.allow_gids) = *std::move(ids);
    return absl::OkStatus();
  }
  if (key == "max_apps") return assign(shim.max_apps, value, 1, 1024);
  if (key == "max_sockets_per_app") return assign(shim.max_sockets_per_app, value, 16, 1u << 20);
  if (key == "buffer_bytes") {
    if (auto st = assign(shim.buffer_bytes, value, 4096, 1u << 24); !st.ok()) return st;
    if ((shim.buffer_bytes & (shim.buffer_bytes - 1)) != 0) {
      return refuse(absl::StrCat(value, " is not a power of two"));
    }
    return absl::OkStatus();
  }
  if (key == "max_memory_mb_per_app") return assign(shim.max_memory_mb_per_app, value, 1, 1u << 20);
  if (key == "requests_per_poll") return assign(shim.requests_per_poll, value, 1, 4096);
  return absl::NotFoundError(key);
}

// "198.18.0.0/15": a network written as its network address.
absl::StatusOr<Ipv4Prefix> parse_network(absl::string_view text) {
  if (text.empty()) return refuse("no value");
  const std::size_t slash = text.find('/');
  auto addr = parse_ipv4(to_std(text.substr(0, slash)));
  if (slash == absl::string_view::npos || !addr) {
    return refuse(absl::StrCat(quoted(text), " is not an IPv4 network (A.B.C.D/N)"));
  }
  auto length = parse_number(text.substr(slash + 1), 0, 32);
  if (!length.ok()) return refuse(absl::StrCat(quoted(text), ": the prefix length ", length.status().message()));
  const auto len = static_cast<unsigned>(*length);
  const Ipv4Prefix network{Ipv4Addr{addr->value & netmask(len)}, len};
  if (network.network != *addr) {
    return refuse(absl::StrCat(quoted(text), " has host bits set (the network is ",
                               format_ipv4_prefix(network), ")"));
  }
  return network;
}

absl::Status Parser::set_flood(absl::string_view key, absl::string_view value) {
  FloodConfig& flood = config_.flood;
  if (key == "allowed_destinations") {
    std::vector<Ipv4Prefix> prefixes;
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      auto prefix = parse_network(trim(item));
      if (!prefix.ok()) return prefix.status();
      prefixes.push_back(*prefix);
    }
    flood.allowed_destinations = std::move(prefixes);
    return absl::OkStatus();
  }
  if (key == "source_prefix") {
    auto prefix = parse_network(value);
    if (!prefix.ok()) return prefix.status();
    flood.source_prefix = *prefix;
    return absl::OkStatus();
  }
  return absl::NotFoundError(key);
}

absl::Status Parser::open(absl::string_view header, unsigned line) {
  if (header.size() < 2 || header.back() != ']') {
    return fail(line, absl::StrCat("malformed section header ", quoted(header)));
  }
  absl::string_view name = trim(header.substr(1, header.size() - 2));
  Section section{Kind::kEal, absl::StrCat("[", name, "]"), line, {}, {}};
  if (name == "eal") {
    section.kind = Kind::kEal;
  } else if (name == "engine") {
    section.kind = Kind::kEngine;
  } else if (name == "arp") {
    section.kind = Kind::kArp;
  } else if (name == "sysctl") {
    section.kind = Kind::kSysctl;
  } else if (name == "impairment") {
    section.kind = Kind::kImpairment;
  } else if (name == "shim") {
    section.kind = Kind::kShim;
  } else if (name == "flood") {
    section.kind = Kind::kFlood;
  } else if (absl::StartsWith(name, "port.")) {
    section.kind = Kind::kPort;
    absl::string_view index_text = name.substr(5);
    auto index = parse_number(index_text, 0, RTE_MAX_ETHPORTS - 1, "RTE_MAX_ETHPORTS");
    if (!index.ok()) {
      return fail(line, absl::StrCat(section.label, ": the port index ",
                                     index_text.empty() ? "is missing" : index.status().message()));
    }
    section.port.index = static_cast<unsigned>(*index);
  } else {
    return fail(line, absl::StrCat("unknown section ", section.label,
                                   " (sections: [eal], [port.N], [engine], [arp], [sysctl], "
                                   "[impairment], [shim], [flood])"));
  }
  if (auto it = headers_.find(section.label); it != headers_.end()) {
    return fail(line, absl::StrCat("duplicate section ", section.label, " (first on line ",
                                   it->second, ")"));
  }
  headers_.emplace(section.label, line);
  section_ = std::move(section);
  return absl::OkStatus();
}

absl::Status Parser::close() {
  if (!section_) return absl::OkStatus();
  Section& s = *section_;
  if (s.kind == Kind::kEal) {
    if (config_.eal.in_memory && config_.eal.hugepages == EalConfig::Hugepages::kOff) {
      return fail(line_of("in_memory"),
                  "[eal] in_memory: true needs hugepages, but hugepages = off (DPDK's "
                  "--in-memory does not combine with --no-huge)");
    }
    // Checked against the shim's socket path at the end of the file.
    file_prefix_line_ = line_of("file_prefix");
  } else if (s.kind == Kind::kPort) {
    for (const char* required : {"device", "ipv4"}) {
      if (line_of(required) == 0) {
        return fail(s.header_line, absl::StrCat(s.label, " missing required key '", required, "'"));
      }
    }
    if (s.port.gateway) {
      std::string own = absl::StrCat(format_ipv4(s.port.ipv4), "/", s.port.prefix_len);
      if (!same_subnet(*s.port.gateway, s.port.ipv4, s.port.prefix_len)) {
        return fail(
            line_of("gateway"),
            absl::StrCat(s.label, " gateway: ", format_ipv4(*s.port.gateway), " is outside ", own));
      }
      if (*s.port.gateway == s.port.ipv4) {
        return fail(line_of("gateway"),
                    absl::StrCat(s.label, " gateway: ", format_ipv4(*s.port.gateway),
                                 " is the port's own address"));
      }
    }
    s.port.line = s.header_line;
    if (!s.port.lcores.empty()) port_lcores_lines_[s.port.index] = line_of("lcores");
    ports_.emplace(s.port.index, std::make_pair(s.port, s.header_line));
  } else if (s.kind == Kind::kEngine) {
    // rte_mempool_create refuses cache_size * 1.5 > n (CALC_CACHE_FLUSHTHRESH).
    const EngineConfig& e = config_.engine;
    std::uint64_t needed = std::uint64_t{e.mempool_cache} * 3 / 2;
    if (needed > e.mbufs_per_engine) {
      if (unsigned line = line_of("mempool_cache"); line != 0) {
        return fail(line, absl::StrCat("[engine] mempool_cache: ", e.mempool_cache,
                                       " is larger than mbufs_per_engine / 1.5 (mbufs_per_engine "
                                       "= ",
                                       e.mbufs_per_engine, "; DPDK needs cache * 1.5 <= n)"));
      }
      return fail(line_of("mbufs_per_engine"),
                  absl::StrCat("[engine] mbufs_per_engine: ", e.mbufs_per_engine,
                               " is below mempool_cache * 1.5 = ", needed,
                               " (DPDK needs cache * 1.5 <= n)"));
    }
  } else if (s.kind == Kind::kShim) {
    // Every socket of an application has a receive and a send ring in its region.
    const ShimConfig& sh = config_.shim;
    std::uint64_t buffers = std::uint64_t{sh.max_sockets_per_app} * 2 * sh.buffer_bytes;
    std::uint64_t limit = std::uint64_t{sh.max_memory_mb_per_app} * kMiB;
    if (buffers > limit) {
      // Blame the limit when it was set, otherwise the later of the two factors.
      const char* key = "max_memory_mb_per_app";
      unsigned line = line_of(key);
      if (line == 0) {
        unsigned sockets_line = line_of("max_sockets_per_app");
        unsigned buffer_line = line_of("buffer_bytes");
        key = sockets_line > buffer_line ? "max_sockets_per_app" : "buffer_bytes";
        line = std::max(sockets_line, buffer_line);
      }
      return fail(line, absl::StrCat("[shim] ", key, ": max_sockets_per_app * 2 * buffer_bytes = ",
                                     sh.max_sockets_per_app, " * 2 * ", sh.buffer_bytes, " = ",
                                     buffers, " bytes is more than max_memory_mb_per_app = ",
                                     sh.max_memory_mb_per_app, " MiB (", limit, " bytes)"));
    }
  }
  section_.reset();
  return absl::OkStatus();
}

absl::Status Parser::set(absl::string_view key, absl::string_view value, unsigned line) {
  Section& s = *section_;
  std::string canonical(key);
  const SysctlKey* sysctl = nullptr;
  if (s.kind == Kind::kSysctl) {
    sysctl = find_sysctl(key);
    if (!sysctl) {
      return fail(line, absl::StrCat("[sysctl] unknown key '", key,
                                     "' (supported keys: docs/configuration.md)"));
    }
    canonical = std::string(sysctl->name);
  }
  if (auto it = s.keys.find(canonical); it != s.keys.end()) {
    return fail(line, absl::StrCat(s.label, " duplicate key '", key, "' (already set on line ",
                                   it->second, ")"));
  }
  absl::Status st;
  switch (s.kind) {
    case Kind::kEal:
      st = set_eal(key, value);
      break;
    case Kind::kPort:
      st = set_port(key, value);
      break;
    case Kind::kEngine:
      st = set_engine(key, value);
      break;
    case Kind::kArp:
      st = set_arp(key, value);
      break;
    case Kind::kSysctl:
      st = set_sysctl(config_.sysctl, *sysctl, value);
      break;
    case Kind::kImpairment:
      st = set_impairment(key, value);
      break;
    case Kind::kShim:
      st = set_shim(key, value);
      break;
    case Kind::kFlood:
      st = set_flood(key, value);
      break;
  }
  if (absl::IsNotFound(st)) return fail(line, absl::StrCat(s.label, " unknown key '", key, "'"));
  if (!st.ok()) return fail(line, absl::StrCat(s.label, " ", key, ": ", st.message()));
  s.keys.emplace(std::move(canonical), line);
  return absl::OkStatus();
}

// A line without its comment and surrounding whitespace. A comment starts at a '#' at the start of
// the line or after whitespace; a line starting with ';' is a comment too (as in sysctl.conf).
absl::string_view strip_comment(absl::string_view line) {
  line = trim(line);
  if (!line.empty() && (line[0] == '#' || line[0] == ';')) return {};
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '#' && is_space(line[i - 1])) return trim(line.substr(0, i));
  }
  return line;
}

absl::StatusOr<Config> Parser::run(absl::string_view text) {
  unsigned line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = strip_comment(raw);
    if (line.empty()) continue;
    if (line[0] == '[') {
      if (auto st = close(); !st.ok()) return st;
      if (auto st = open(line, line_no); !st.ok()) return st;
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return fail(line_no,
                  absl::StrCat("expected 'key = value' or a [section] header, got ", quoted(line)));
    }
    absl::string_view key = trim(line.substr(0, eq));
    absl::string_view value = trim(line.substr(eq + 1));
    if (key.empty()) return fail(line_no, absl::StrCat("missing key before '=' in ", quoted(line)));
    if (!section_) {
      return fail(line_no, absl::StrCat("'", key, "' is set before any [section] header"));
    }
    if (auto st = set(key, value, line_no); !st.ok()) return st;
  }
  if (auto st = close(); !st.ok()) return st;

  // The last line of the file, for errors about the file as a whole.
  unsigned last_line = std::max(1u, text.empty() || text.back() == '\n' ? line_no - 1 : line_no);
  if (ports_.empty()) {
    return fail(last_line, "no [port.N] section: at least one port is required");
  }
  unsigned expected = 0;
  for (auto& [index, port_line] : ports_) {
    if (index != expected) {
      return fail(port_line.second,
                  absl::StrCat("[port.", index, "]: port indices must be dense from 0, but [port.",
                               expected, "] is missing"));
    }
    config_.ports.push_back(std::move(port_line.first));
    ++expected;
  }
  if (!lcores_set_) config_.eal.lcores = {1};
  for (const PortConfig& port : config_.ports) {
    for (unsigned lcore : port.lcores) {
      const auto& engines = config_.eal.lcores;
      if (std::find(engines.begin(), engines.end(), lcore) == engines.end())
        return fail(port_lcores_lines_[port.index],
                    absl::StrCat("[port.", port.index, "] lcores: lcore ", lcore,
                                 " runs no engine ([eal] lcores has ", absl::StrJoin(engines, ","),
                                 "); a port is served by engines only"));
    }
  }
  // The default socket directory depends on the file prefix: the socket path must still fit.
  if (config_.shim.enabled && config_.shim.directory.empty()) {
    std::string path = absl::StrCat(shim_directory(config_), kShimSocketName);
    if (path.size() > kMaxSocketPath) {
      return fail(file_prefix_line_,
                  absl::StrCat("[eal] file_prefix: ", quoted(config_.eal.file_prefix),
                               " is too long for the shim: the socket path ", path, " has ",
                               path.size(), " bytes, more than ", kMaxSocketPath,
                               " (sockaddr_un); shorten it, set [shim] directory, or set [shim] "
                               "enabled = false"));
    }
  }
  return std::move(config_);
}

}  // namespace

absl::StatusOr<Config> parse_config(std::string_view text, std::string_view source_name) {
  return Parser(to_absl(source_name)).run(to_absl(text));
}

std::string shim_directory(const Config& config) {
  if (!config.shim.directory.empty()) return config.shim.directory;
  return absl::StrCat(kShimRunDirectory, config.eal.file_prefix);
}

absl::StatusOr<Config> load_config(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", kMaxFileBytes, " bytes, not a configuration file"));
    }
  }
  ::close(fd);
  return parse_config(text, path);
}

}  // namespace synwave
