// synwave-ctl's pure part: a small JSON reader for DPDK telemetry answers, and the text it prints
// (netstat-style state counts, an ss -tan -o style connection listing with ss -i's details,
// counters, an ip neigh style neighbour table, per-engine load).
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

// What ss -i shows of a connection (Linux's struct tcp_info), as /synwave/tcp/connections
// publishes it. Zero means "not known yet" for every number, as in tcp_info.
struct TcpInfo {
  bool timestamps = false;          // RFC 7323 timestamps negotiated ("ts")
  bool sack = false;                // SACK permitted both ways ("sack")
  std::string congestion;           // the algorithm's Linux name, "cubic" or "reno"
  std::uint64_t snd_wscale = 0;     // the peer's window scale (what we shift its windows by)
  std::uint64_t rcv_wscale = 0;     // ours; both 0 when window scaling is off
  std::uint64_t rto_ms = 0;         // retransmission timeout
  std::uint64_t srtt_us = 0;        // smoothed RTT; 0 before the first sample
  std::uint64_t rttvar_us = 0;      // its mean deviation
  std::uint64_t mss = 0;            // the sending MSS, bytes
  std::uint64_t cwnd = 0;           // congestion window, segments
  std::uint64_t ssthresh = 0;       // slow-start threshold, segments; 0 while not set
  std::uint64_t total_retransmits = 0;  // segments retransmitted over the connection's life
};

// One connection of /synwave/tcp/connections.
struct Connection {
  std::string state;   // ss name: "ESTAB", "TIME-WAIT", ...
  std::string local;   // "ip:port"
  std::string remote;  // "ip:port"; port 0 (a listener's peer) prints as "*"
  std::uint64_t recv_q = 0;
  std::uint64_t send_q = 0;
  std::string timer;   // "on", "timewait", "off"
  std::int64_t expires_ms = 0;
  std::uint64_t retransmits = 0;  // retransmissions of the current segment (timer backoff)
  std::uint64_t engine = 0;
  std::optional<TcpInfo> info;     // absent when the daemon publishes no ss -i fields
  // The attached application (docs/shim.md) that owns it: 0 for none (in-engine, or an orphan
  // finishing its close). `app_name` is filled in from /synwave/apps by the caller.
  std::uint64_t app = 0;
  std::int64_t app_pid = 0;
  std::string app_name;
};

// One page of /synwave/tcp/connections: {"total", "offset", "next", "<index>": {...}, ...}.
// An entry's ss -i fields ("srtt_us", ..., "timestamps") are optional as a group: all or none.
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

// The listing's header and rows, in the columns of `ss -tan -o`; a connection an application
// owns ends like ss -p's: ` users:(("synwave-httpd",pid=4242,app=1))`.
std::string connections_header();
std::string format_connection(const Connection& c);

// ss -i's second line for a connection, as iproute2's tcp_stats_print writes the fields we have
// (ss -tino: options shown): a tab, then " ts", " sack", " <congestion>", " wscale:S,R",
// " rto:%g" (ms; left out at 0 and at 3000, as ss does), " rtt:%g/%g" (ms), " mss:%d",
// " cwnd:%u", " ssthresh:%d" (left out while unset), " retrans:%u/%u" (current / total), each
// only when set. "wscale" shows when either scale is non-zero: a connection that negotiated
// scaling with both shifts 0 cannot be told from one that did not. "\t" when `c` has no info.
//   "\t ts sack cubic wscale:7,7 rto:204 rtt:0.031/0.015 mss:1448 cwnd:10 ssthresh:7 retrans:0/5"
std::string format_tcp_info(const Connection& c);

// /synwave/apps: the applications attached through the shim, as a table (one line each, after a
// header) followed by the totals line "attached N refused N detached N faults N". nullopt when
// `apps` is not that shape.
std::optional<std::string> format_apps(const Json& apps);
// The applications' names by id, from /synwave/apps ("app<id>" entries).
std::vector<std::pair<std::uint64_t, std::string>> app_names(const Json& apps);

// /synwave/neigh (an array of {"engine", "port", "ip", "mac", "state", "remaining_ms"}, one per
// engine and neighbour: every engine keeps its own copy) like `ip neigh`, one line per port and
// address with the engines that hold it:
//   "198.18.0.1 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0,1"
//   "198.18.0.9 dev port0 INCOMPLETE engines 0"   (no lladdr while unresolved, as ip neigh)
// Engines that disagree (another MAC, another state) get a line per distinct (MAC, state), in the
// order of their lowest engine. Sorted by port, then address numerically; "" for no neighbours.
// The rows may come as an object's member values, whatever their keys, as the daemon publishes
// them ({"e0_0": {...}, "e1_0": {...}}: DPDK 22.11's telemetry arrays cannot hold dictionaries).
// nullopt when `neigh` is not that shape (an address that is no dotted quad included).
std::optional<std::string> format_neigh(const Json& neigh);

// /synwave/engines ({"engine<id>": {"lcore", "busy_ns", "idle_ns", "rx_packets", "steered_in",
// "steered_out", "connections", "opens", ...}}) as a table: a header, one row per engine in id
// order, then a "total" row summing the counts. busy% = 100 * busy_ns / (busy_ns + idle_ns) with
// one decimal, "-" when both are 0; the total's is the mean of the engines' that have one.
//   "engine lcore busy%  rx_packets   steered_in   steered_out  connections opens"
// nullopt when `engines` is not that shape.
std::optional<std::string> format_engines(const Json& engines);

}  // namespace synwave::ctl
