// synwave-ctl: reads a running synwave through its DPDK telemetry socket and prints what it finds
// the way netstat, ss and ip would: the connections per state, every connection (with ss -i's
// details on request), the counters, the neighbours, the engines' load.
//
//   synwave-ctl [-f PREFIX] states | conns [-i] | ss [-i] | transitions | apps | counters [--all] |
//               neigh | engines | raw CMD[,PARAMS]
//
// It speaks the telemetry protocol itself (SOCK_SEQPACKET at <runtime dir>/dpdk_telemetry.v2: a
// JSON greeting, then one request "cmd,params" and one JSON answer at a time); no DPDK, no Python.
#include <getopt.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ctl/ctl_format.h"

namespace {

using synwave::ctl::Json;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kPageLimit = 200;

constexpr const char* kUsage =
    "Usage: synwave-ctl [-f PREFIX] COMMAND\n"
    "Reads a running synwave through its DPDK telemetry socket.\n"
    "\n"
    "Commands:\n"
    "  states             connections per state, one 'NAME count' line each (as seed 000's\n"
    "                     netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}')\n"
    "  conns, ss [-i]     every connection, like ss -tan -o (-i: and ss -i's second line)\n"
    "  transitions        TCP state transitions, 'FROM->TO count'\n"
    "  apps               applications attached through the shim: pid, uid, name, sockets, bytes,\n"
    "                     requests, refused requests, event overflows, wake-ups, sockets reset or\n"
    "                     closed when it exited (docs/shim.md)\n"
    "  counters [--all]   every non-zero counter, 'name value' (--all: zeros too)\n"
    "  neigh              the neighbour (ARP) table, like ip neigh: one line per port and address\n"
    "                     with the engines that hold it, e.g.\n"
    "                     '198.18.0.1 dev port0 lladdr 02:00:00:00:00:01 REACHABLE engines 0,1'\n"
    "  engines            per-engine load: lcore, busy%, packets received, packets steered in and\n"
    "                     out, connections, opens; then a total row\n"
    "  raw CMD[,PARAMS]   one telemetry command's JSON answer, e.g. raw /synwave/info\n"
    "\n"
    "Options:\n"
    "  -f, --file-prefix PREFIX   the instance's eal.file_prefix (default: synwave)\n"
    "  -a, --all                  counters: print zero counters too\n"
    "  -i, --info                 conns: each connection's TCP details, as ss -tino prints them\n"
    "                             (ts, sack, algorithm, wscale, rto, rtt, mss, cwnd, ssthresh,\n"
    "                             retrans)\n"
    "  -h, --help                 this text\n"
    "\n"
    "Exit status: 0 done, 1 no such daemon or it refused the command, 2 bad usage.\n";

[[noreturn]] void die(const std::string& message, int status = kExitError) {
  std::fprintf(stderr, "synwave-ctl: %s\n", message.c_str());
  std::exit(status);
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "synwave-ctl: %s\nTry 'synwave-ctl --help'.\n", message.c_str());
  std::exit(kExitUsage);
}

// One connection to the daemon's telemetry socket.
class Telemetry {
 public:
  // Connects and reads the greeting; exits with a clear message when no daemon answers.
  Telemetry(const std::string& prefix, const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        die("no synwave running with file prefix '" + prefix + "' (no " + path + ")");
      die("cannot reach " + path + ": " + std::strerror(errno));
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) die("socket path too long: " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd_ < 0) die(std::string("socket: ") + std::strerror(errno));
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      const int e = errno;
      if (e == ECONNREFUSED)
        die("no synwave running with file prefix '" + prefix + "' (" + path + ": " + std::strerror(e) + ")");
      die("cannot connect to " + path + ": " + std::strerror(e));
    }
    const std::string greeting = receive("the greeting");
    const std::optional<Json> info = synwave::ctl::parse_json(greeting);
    if (info) {
      const Json* max = info->find("max_output_len");
      if (max != nullptr && max->as_uint()) buffer_size_ = std::max<std::size_t>(buffer_size_, *max->as_uint() + 1);
    }
  }
  ~Telemetry() { ::close(fd_); }
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  // Sends "command[,params]" and returns the answer's text.
  std::string request(const std::string& line) {
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) < 0)
      die("sending '" + line + "': " + std::strerror(errno));
    return receive("the answer to '" + line + "'");
  }

  // The value of `command`'s answer, parsed; exits when the daemon refused the command.
  Json query(const std::string& command, const std::string& params = "") {
    const std::string text = request(params.empty() ? command : command + "," + params);
    std::string error;
    const std::optional<Json> answer = synwave::ctl::parse_json(text, &error);
    if (!answer) die("unreadable answer to " + command + ": " + error);
    const Json* value = synwave::ctl::telemetry_value(*answer, command);
    if (value == nullptr) die("unexpected answer to " + command + ": " + text);
    if (value->is_null())
      die("the daemon refused " + command + " (not a synwave with this command, or shutting down)");
    return *value;
  }

 private:
  std::string receive(const std::string& what) {
    std::vector<char> buffer(buffer_size_);
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) die("no answer within 5 s while waiting for " + what);
      die("receiving " + what + ": " + std::strerror(errno));
    }
    if (n == 0) die("the daemon closed the telemetry connection before " + what + " (too many clients?)");
    return std::string(buffer.data(), static_cast<std::size_t>(n));
  }

  int fd_ = -1;
  std::size_t buffer_size_ = 1 << 16;
};

void print(const std::optional<std::string>& text, const char* command) {
  if (!text) die(std::string("unexpected answer shape from ") + command);
  std::fputs(text->c_str(), stdout);
}

int run_conns(Telemetry& telemetry, bool info) {
  std::vector<synwave::ctl::Connection> all;
  std::uint64_t offset = 0;
  // The set changes while we page: stop at the total, or when a page makes no progress.
  for (int pages = 0; pages < 100000; ++pages) {
    const Json value = telemetry.query("/synwave/tcp/connections",
                                       std::to_string(offset) + "," + std::to_string(kPageLimit));
    std::string error;
    auto page = synwave::ctl::parse_connections_page(value, &error);
    if (!page) die("unexpected answer from /synwave/tcp/connections: " + error);
    for (auto& c : page->connections) all.push_back(std::move(c));
    if (page->next >= page->total || page->next <= offset) break;
    offset = page->next;
  }
  // Owners' names: one look at the attached applications (absent on an older daemon).
  const std::string apps_text = telemetry.request("/synwave/apps");
  if (auto answer = synwave::ctl::parse_json(apps_text)) {
    if (const Json* apps = synwave::ctl::telemetry_value(*answer, "/synwave/apps"); apps != nullptr) {
      const auto names = synwave::ctl::app_names(*apps);
      for (auto& c : all)
        for (const auto& [id, name] : names)
          if (id == c.app) c.app_name = name;
    }
  }
  std::printf("%s\n", synwave::ctl::connections_header().c_str());
  for (const auto& c : all) {
    std::printf("%s\n", synwave::ctl::format_connection(c).c_str());
    if (info) std::printf("%s\n", synwave::ctl::format_tcp_info(c).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string prefix = "synwave";
  bool all = false;
  bool info = false;
  static const option kOptions[] = {{"file-prefix", required_argument, nullptr, 'f'},
                                    {"all", no_argument, nullptr, 'a'},
                                    {"info", no_argument, nullptr, 'i'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  opterr = 0;
  for (int opt; (opt = getopt_long(argc, argv, "f:aih", kOptions, nullptr)) != -1;) {
    switch (opt) {
      case 'f':
        prefix = optarg;
        break;
      case 'a':
        all = true;
        break;
      case 'i':
        info = true;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      default:
        if (optopt != 0 && optopt == 'f') usage_error("option -f needs a file prefix");
        usage_error("unknown option '" + std::string(argv[optind - 1]) + "'");
    }
  }
  std::vector<std::string> args(argv + optind, argv + argc);
  if (args.empty()) usage_error("no command given");
  if (prefix.empty() || prefix.find('/') != std::string::npos) usage_error("bad file prefix '" + prefix + "'");
  const std::string command = args[0];
  const bool takes_argument = command == "raw";
  if (command != "states" && command != "conns" && command != "ss" && command != "transitions" &&
      command != "counters" && command != "raw" && command != "apps" && command != "neigh" &&
      command != "engines")
    usage_error("unknown command '" + command + "'");
  if (takes_argument && args.size() != 2) usage_error("raw takes one argument: CMD[,PARAMS]");
  if (!takes_argument && args.size() != 1) usage_error(command + " takes no arguments");
  if (all && command != "counters") usage_error("--all goes with counters");
  if (info && command != "conns" && command != "ss") usage_error("--info goes with conns");

  const std::string path = synwave::ctl::runtime_dir(prefix, ::geteuid() == 0, std::getenv("RUNTIME_DIRECTORY"),
                                                     std::getenv("XDG_RUNTIME_DIR")) +
                           "/dpdk_telemetry.v2";
  Telemetry telemetry(prefix, path);

  if (command == "states") {
    print(synwave::ctl::format_states(telemetry.query("/synwave/tcp/states")), "/synwave/tcp/states");
  } else if (command == "transitions") {
    print(synwave::ctl::format_transitions(telemetry.query("/synwave/tcp/transitions")),
          "/synwave/tcp/transitions");
  } else if (command == "counters") {
    print(synwave::ctl::format_counters(telemetry.query("/synwave/counters"), all), "/synwave/counters");
  } else if (command == "apps") {
    print(synwave::ctl::format_apps(telemetry.query("/synwave/apps")), "/synwave/apps");
  } else if (command == "neigh") {
    print(synwave::ctl::format_neigh(telemetry.query("/synwave/neigh")), "/synwave/neigh");
  } else if (command == "engines") {
    print(synwave::ctl::format_engines(telemetry.query("/synwave/engines")), "/synwave/engines");
  } else if (command == "conns" || command == "ss") {
    return run_conns(telemetry, info);
  } else {  // raw
    const std::string& request = args[1];
    const std::string text = telemetry.request(request);
    std::printf("%s\n", text.c_str());
    const std::optional<Json> answer = synwave::ctl::parse_json(text);
    const Json* value = answer ? synwave::ctl::telemetry_value(*answer, request.substr(0, request.find(','))) : nullptr;
    if (value == nullptr || value->is_null()) return kExitError;
  }
  return 0;
}
