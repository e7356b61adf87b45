// synwave-ctl's pure part: a small JSON reader for DPDK telemetry answers, and the text it prints
// (netstat-style state counts, an ss -tan -o style connection listing, counters).
//
// Standard C++ only, no DPDK: the client runs wherever the daemon's socket can be reached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace synwave::ctl {

// One JSON value. Objects keep their members in document order; numbers keep their text.
struct Json {
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;                                    // a string's value, a number's text
  std::vector<Json> items;                             // an array's elements
  std::vector<std::pair<std::string, Json>> members;   // an object's members

  bool is_null() const { return kind == Kind::kNull; }
  bool is_object() const { return kind == Kind::kObject; }
  // The member named `key` of an object (the first, if repeated); nullptr if absent or no object.
  const Json* find(std::string_view key) const;
  // A number that is an integer in range; nullopt otherwise (fractions, exponents, strings).
  std::optional<std::int64_t> as_int() const;
  std::optional<std::uint64_t> as_uint() const;
};

// Parses one JSON document (RFC 8259; surrounding whitespace allowed, nothing after it).
// On malformed input returns nullopt and, when `error` is given, says what and where.
std::optional<Json> parse_json(std::string_view text, std::string* error = nullptr);

// A telemetry answer is {"<command>": value}: the value, or nullptr when the answer names
// another command. The value is null when the daemon refused the command.
const Json* telemetry_value(const Json& answer, std::string_view command);

// The DPDK runtime directory of an instance, as dpdk-telemetry.py finds it: $RUNTIME_DIRECTORY
// or /var/run for root, $XDG_RUNTIME_DIR (when set) for other users; then "dpdk/<prefix>".
std::string runtime_dir(std::string_view file_prefix, bool root, const char* runtime_directory_env,
                        const char* xdg_runtime_dir_env);

// --- what synwave-ctl prints -------------------------------------------------------------------

// "NAME count" per non-zero state, sorted by name: seed 000's
// netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}' (in a stable order).
// nullopt when `states` is not an object of counts.
std::optional<std::string> format_states(const Json& states);

// "FROM->TO count" per transition, sorted by name. Keys arrive as "FROM/TO".
std::optional<std::string> format_transitions(const Json& transitions);

// "name value" per counter, in the answer's order; zeros only when `all`.
std::optional<std::string> format_counters(const Json& counters, bool all);

// One connection of /synwave/tcp/connections.
struct Connection {
  std::string state;   // ss name: "ESTAB", "TIME-WAIT", ...
  std::string local;   // "ip:port"
  std::string remote;  // "ip:port"; port 0 (a listener's peer) prints as "*"
  std::uint64_t recv_q = 0;
  std::uint64_t send_q = 0;
  std::string timer;   // "on", "timewait", "off"
  std::int64_t expires_ms = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t engine = 0;
};

// One page of /synwave/tcp/connections: {"total", "offset", "next", "<index>": {...}, ...}.
struct ConnectionsPage {
  std::uint64_t total = 0;
  std::uint64_t next = 0;
  std::vector<Connection> connections;
};
std::optional<ConnectionsPage> parse_connections_page(const Json& value, std::string* error = nullptr);

// ss's way of printing a timeout in ms (print_ms_timer): "200ms", "1.500ms", "59sec", "2min3sec".
std::string ss_duration(std::int64_t ms);
// ss -o's timer column: "timer:(on,200ms,0)", "timer:(timewait,59sec,0)"; empty when off.
std::string ss_timer(const Connection& c);

// The listing's header and rows, in the columns of `ss -tan -o`.
std::string connections_header();
std::string format_connection(const Connection& c);

}  // namespace synwave::ctl
