// synwave's configuration: what a config file says, as plain values.
//
// The file format is documented in docs/configuration.md; config/ holds examples. Parsing is on
// the control path and reports errors as absl::Status whose message names the file, the line and
// the reason ("synwave.conf:12: [port.0] ipv4: '198.18.0.300/24' is not an IPv4 address").
// Thread-safety: the functions here touch no shared state and may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/addr.h"

namespace synwave {

// [eal]: how DPDK's Environment Abstraction Layer is started.
struct EalConfig {
  // Logical cores that run engines, one engine per lcore ("1", "1-3", "0,2"). The EAL's main
  // lcore is the lowest free core not in this list when there is one, otherwise the first.
  std::vector<unsigned> lcores;
  // "auto": hugepages when the machine has free ones, otherwise --no-huge. "on" / "off" force it.
  enum class Hugepages { kAuto, kOn, kOff } hugepages = Hugepages::kAuto;
  unsigned memory_mb = 512;   // -m when running without hugepages; 0 lets the EAL decide
  std::string file_prefix = "synwave";  // --file-prefix: distinct per instance
  bool in_memory = false;     // --in-memory (only with hugepages; refused with hugepages = off)
  std::vector<std::string> extra_args;  // passed to rte_eal_init verbatim, after ours
};

// [port.N]: one NIC port, with the address the stack owns on it.
struct PortConfig {
  unsigned index = 0;          // N of [port.N]
  // A vdev name ("net_tap0", "net_memif0", "net_ring0", "net_null0") or a PCI address
  // ("0000:03:00.0"). A name starting with "net_" is a virtual device.
  std::string device;
  std::string devargs;         // "iface=sw0" for net_tap, "role=server,socket=/run/x.sock" for memif
  std::optional<MacAddr> mac;  // unset: use the port's own MAC
  Ipv4Addr ipv4;               // the stack's address on this port
  unsigned prefix_len = 24;    // from "198.18.0.2/24"
  std::optional<Ipv4Addr> gateway;
  unsigned mtu = 1500;
  unsigned rx_descriptors = 1024;
  unsigned tx_descriptors = 1024;
  // The lcores whose engines serve this port, one rx/tx queue pair each (VPP's corelist-workers
  // for one interface); empty: every engine. A subset of [eal] lcores.
  std::vector<unsigned> lcores;
  // How each flow reaches the one engine that owns it when several serve the port:
  //   hardware  the NIC's RSS, Toeplitz under rss_key (a real NIC);
  //   software  engines hash each frame as a NIC would and pass other engines' frames to them
  //             over rte_ring (memif, ring, null and tap, whose queues spread by the kernel's hash);
  //   auto      hardware when the driver offers Toeplitz RSS over TCP/IPv4, else software.
  enum class Steering : std::uint8_t { kAuto, kHardware, kSoftware } steering = Steering::kAuto;
  // The Toeplitz key: unset, the symmetric key (0x6d5a repeated), which hashes both directions
  // of a flow alike.
  std::optional<std::array<std::uint8_t, 40>> rss_key;
  unsigned line = 0;  // the [port.N] header's line, for errors found when the port starts
};

// [engine]: the per-core loop.
struct EngineConfig {
  unsigned burst_size = 32;         // packets per rx/tx burst (1..512)
  unsigned mbufs_per_engine = 8191;  // mempool size for each engine's port queue
  unsigned mempool_cache = 256;      // per-lcore mempool cache (<= RTE_MEMPOOL_CACHE_MAX_SIZE)
  // Microseconds to sleep after an empty poll. 0 busy-polls (real NICs); a small value keeps a
  // virtual NIC on a shared development machine from eating a whole core.
  unsigned idle_sleep_us = 0;
  // TCP sockets per engine and port (listeners, connections and TIME_WAIT entries).
  // Preallocated control blocks: about 1 KiB each.
  unsigned max_sockets = 65536;
  // Half-open (SYN_RCVD) entries per engine and port, all listeners together: 64-byte records
  // preallocated at start. 0: as many as max_sockets. When they run out a SYN is answered as with
  // a full SYN queue (a cookie, or dropped with tcp_syncookies=0).
  unsigned max_half_open = 0;
};

// [arp]
struct ArpConfig {
  unsigned entries = 1024;           // cache size per engine (power of two)
  unsigned reachable_ms = 30000;     // how long a resolved entry is trusted (Linux base_reachable_time)
  unsigned retrans_ms = 1000;        // interval between requests while resolving
  unsigned max_retries = 3;          // requests before giving up (Linux mcast_solicit)
  unsigned queue_len = 16;           // packets queued per unresolved next hop (then counted drops)
  bool gratuitous = true;            // announce the address at start
};

// [sysctl]: TCP/IP tunables under their Linux names and with Linux defaults.
struct Sysctl {
  unsigned tcp_syn_retries = 5;
  unsigned tcp_synack_retries = 5;
  unsigned tcp_orphan_retries = 0;   // 0 means 8, as in Linux
  unsigned tcp_retries2 = 15;
  unsigned tcp_fin_timeout = 60;     // seconds
  unsigned tcp_timewait_len = 60;    // seconds; synwave.tcp_timewait_len (Linux: compile-time)
  unsigned tcp_max_syn_backlog = 1024;
  unsigned somaxconn = 4096;
  bool tcp_abort_on_overflow = false;
  unsigned tcp_syncookies = 1;       // 0, 1 or 2
  unsigned tcp_tw_reuse = 2;         // 0, 1 or 2
  unsigned ip_local_port_range_low = 32768;
  unsigned ip_local_port_range_high = 60999;
  unsigned tcp_keepalive_time = 7200;   // seconds
  unsigned tcp_keepalive_intvl = 75;    // seconds
  unsigned tcp_keepalive_probes = 9;
  bool tcp_timestamps = true;
  bool tcp_sack = true;
  bool tcp_window_scaling = true;
  unsigned ip_default_ttl = 64;
  // Socket buffers: min, default, max bytes (Linux net.ipv4.tcp_rmem / tcp_wmem, "4096 131072 6291456").
  std::array<unsigned, 3> tcp_rmem = {4096, 131072, 6291456};
  std::array<unsigned, 3> tcp_wmem = {4096, 16384, 4194304};
  std::string tcp_congestion_control = "cubic";  // "cubic" or "reno"
  unsigned tcp_invalid_ratelimit = 500;          // ms between answers to invalid segments
  bool tcp_slow_start_after_idle = true;
  unsigned tcp_reordering = 3;                   // initial duplicate-ACK threshold
};

// [impairment]: a seeded lossy link inside the engine, for testing against real peers where the
// kernel has no netem. Off unless a rate or delay is set. Applied per direction.
struct ImpairmentConfig {
  double loss_percent = 0;       // each frame dropped with this probability
  double duplicate_percent = 0;  // each frame sent twice
  double reorder_percent = 0;    // held back and sent after the next frame(s)
  unsigned delay_us = 0;         // every frame delayed by this much
  std::uint64_t seed = 1;
  enum class Direction { kBoth, kRx, kTx } direction = Direction::kBoth;
  bool enabled() const { return loss_percent > 0 || duplicate_percent > 0 || reorder_percent > 0 || delay_us > 0; }
};

// [shim]: application processes attached over shared memory (docs/shim.md).
struct ShimConfig {
  bool enabled = true;  // the daemon listens for applications
  // "" means /run/synwave/<eal.file_prefix> (shim_directory()); the attach socket is
  // <directory>/shim.sock.
  std::string directory;
  unsigned mode = 0660;  // file mode of the attach socket (octal in the file, e.g. "0660"; 0..0777)
  // Besides root and the daemon's own uid: uids allowed to attach ("1000, 1001").
  std::vector<unsigned> allow_uids;
  std::vector<unsigned> allow_gids;     // gids whose members (primary gid of the peer) may attach
  unsigned max_apps = 64;               // applications attached at once (1..1024)
  unsigned max_sockets_per_app = 4096;  // sockets of one application (16..1048576)
  // Receive ring and send ring per socket, each (power of two, 4096..16777216).
  unsigned buffer_bytes = 65536;
  // An application's shared region may not exceed this (1..1048576), and must hold
  // max_sockets_per_app * 2 * buffer_bytes.
  unsigned max_memory_mb_per_app = 1024;
  // Requests an engine takes from one application ring per iteration (1..4096).
  unsigned requests_per_poll = 64;
};

// [flood]: what synwave-flood may aim at and where its spoofed sources come from
// (docs/benchmarking.md, "Floods"). Read by synwave-flood and by synwave-loadgen --flood-rate.
struct FloodConfig {
  // Prefixes a flood's destination must fall in; any other target is refused before the EAL
  // starts. The default is the benchmarking range of RFC 2544, 198.18.0.0/15.
  std::vector<Ipv4Prefix> allowed_destinations = {Ipv4Prefix{Ipv4Addr{0xC6120000}, 15}};
  // Spoofed source addresses are drawn from here unless --source-prefix says otherwise: the
  // upper half of the benchmarking range, 198.19.0.0/16, apart from the example configurations'
  // own subnets (198.18.0-2.0/24), so no spoofed SYN carries the address of a real host.
  Ipv4Prefix source_prefix{Ipv4Addr{0xC6130000}, 16};
};

struct Config {
  std::string source;           // the file it came from, for messages
  EalConfig eal;
  std::vector<PortConfig> ports;  // sorted by index; at least one
  EngineConfig engine;
  ArpConfig arp;
  Sysctl sysctl;
  ImpairmentConfig impairment;
  ShimConfig shim;
  FloodConfig flood;
};

// Parses a configuration from text. `source_name` appears in error messages.
absl::StatusOr<Config> parse_config(std::string_view text, std::string_view source_name);
// Reads and parses a file. Errors: NotFound / PermissionDenied for the file, InvalidArgument for
// its content.
absl::StatusOr<Config> load_config(const std::string& path);

// The directory of the shim's attach socket: [shim] directory, or "/run/synwave/" +
// eal.file_prefix when it is empty.
std::string shim_directory(const Config& config);

}  // namespace synwave
