// The configuration parser: defaults, every key, every error with its exact message, the sysctl
// name forms, and every file shipped in config/ (SYNWAVE_CONFIG_DIR, set by meson).
#include "config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace synwave {
namespace {

// The smallest file that parses: one port with its two required keys.
constexpr const char* kPort0 =
    "[port.0]\n"
    "device = net_tap0\n"
    "ipv4 = 198.18.0.2/24\n";

Config parse_ok(const std::string& text) {
  auto config = parse_config(text, "t.conf");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : Config{};
}

// The message of the error `text` must produce (InvalidArgument).
std::string error_of(const std::string& text) {
  auto config = parse_config(text, "t.conf");
  if (config.ok()) return "(parsed without error)";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

void expect_default_eal(const EalConfig& eal) {
  EalConfig d;
  EXPECT_EQ(eal.lcores, std::vector<unsigned>{1});  // the file format's default
  EXPECT_EQ(eal.hugepages, d.hugepages);
  EXPECT_EQ(eal.memory_mb, d.memory_mb);
  EXPECT_EQ(eal.file_prefix, d.file_prefix);
  EXPECT_EQ(eal.in_memory, d.in_memory);
  EXPECT_EQ(eal.extra_args, d.extra_args);
}

void expect_default_engine(const EngineConfig& e) {
  EngineConfig d;
  EXPECT_EQ(e.burst_size, d.burst_size);
  EXPECT_EQ(e.mbufs_per_engine, d.mbufs_per_engine);
  EXPECT_EQ(e.mempool_cache, d.mempool_cache);
  EXPECT_EQ(e.idle_sleep_us, d.idle_sleep_us);
  EXPECT_EQ(e.max_sockets, d.max_sockets);
  EXPECT_EQ(e.max_half_open, 0u) << "0: as many as max_sockets";
}

void expect_default_arp(const ArpConfig& a) {
  ArpConfig d;
  EXPECT_EQ(a.entries, d.entries);
  EXPECT_EQ(a.reachable_ms, d.reachable_ms);
  EXPECT_EQ(a.retrans_ms, d.retrans_ms);
  EXPECT_EQ(a.max_retries, d.max_retries);
  EXPECT_EQ(a.queue_len, d.queue_len);
  EXPECT_EQ(a.gratuitous, d.gratuitous);
}

void expect_default_sysctl(const Sysctl& s) {
  // Linux's defaults, written out rather than copied from Sysctl{}, so a changed default shows.
  EXPECT_EQ(s.tcp_syn_retries, 5u);
  EXPECT_EQ(s.tcp_synack_retries, 5u);
  EXPECT_EQ(s.tcp_orphan_retries, 0u);
  EXPECT_EQ(s.tcp_retries2, 15u);
  EXPECT_EQ(s.tcp_fin_timeout, 60u);
  EXPECT_EQ(s.tcp_timewait_len, 60u);
  EXPECT_EQ(s.tcp_max_syn_backlog, 1024u);
  EXPECT_EQ(s.somaxconn, 4096u);
  EXPECT_FALSE(s.tcp_abort_on_overflow);
  EXPECT_EQ(s.tcp_syncookies, 1u);
  EXPECT_EQ(s.tcp_tw_reuse, 2u);
  EXPECT_EQ(s.ip_local_port_range_low, 32768u);
  EXPECT_EQ(s.ip_local_port_range_high, 60999u);
  EXPECT_EQ(s.tcp_keepalive_time, 7200u);
  EXPECT_EQ(s.tcp_keepalive_intvl, 75u);
  EXPECT_EQ(s.tcp_keepalive_probes, 9u);
  EXPECT_TRUE(s.tcp_timestamps);
  EXPECT_TRUE(s.tcp_sack);
  EXPECT_TRUE(s.tcp_window_scaling);
  EXPECT_EQ(s.ip_default_ttl, 64u);
  EXPECT_EQ(s.tcp_rmem, (std::array<unsigned, 3>{4096, 131072, 6291456}));
  EXPECT_EQ(s.tcp_wmem, (std::array<unsigned, 3>{4096, 16384, 4194304}));
  EXPECT_EQ(s.tcp_congestion_control, "cubic");
  EXPECT_EQ(s.tcp_invalid_ratelimit, 500u);
  EXPECT_TRUE(s.tcp_slow_start_after_idle);
  EXPECT_EQ(s.tcp_reordering, 3u);
}

void expect_default_impairment(const ImpairmentConfig& i) {
  EXPECT_EQ(i.loss_percent, 0.0);
  EXPECT_EQ(i.duplicate_percent, 0.0);
  EXPECT_EQ(i.reorder_percent, 0.0);
  EXPECT_EQ(i.delay_us, 0u);
  EXPECT_EQ(i.seed, 1u);
  EXPECT_EQ(i.direction, ImpairmentConfig::Direction::kBoth);
  EXPECT_FALSE(i.enabled());
}

void expect_default_shim(const ShimConfig& s) {
  // The defaults written out, so a changed default shows.
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.directory, "");
  EXPECT_EQ(s.mode, 0660u);
  EXPECT_TRUE(s.allow_uids.empty());
  EXPECT_TRUE(s.allow_gids.empty());
  EXPECT_EQ(s.max_apps, 64u);
  EXPECT_EQ(s.max_sockets_per_app, 4096u);
  EXPECT_EQ(s.buffer_bytes, 65536u);
  EXPECT_EQ(s.max_memory_mb_per_app, 1024u);
  EXPECT_EQ(s.requests_per_poll, 64u);
}

void expect_default_port_tunables(const PortConfig& p) {
  PortConfig d;
  EXPECT_EQ(p.mtu, d.mtu);
  EXPECT_EQ(p.rx_descriptors, d.rx_descriptors);
  EXPECT_EQ(p.tx_descriptors, d.tx_descriptors);
}

// ---- defaults ----

TEST(Config, EmptySections_GiveDefaults) {
  Config c =
      parse_ok(std::string("[eal]\n[engine]\n[arp]\n[sysctl]\n[impairment]\n[shim]\n") + kPort0);
  EXPECT_EQ(c.source, "t.conf");
  expect_default_impairment(c.impairment);
  expect_default_shim(c.shim);
  expect_default_eal(c.eal);
  expect_default_engine(c.engine);
  expect_default_arp(c.arp);
  expect_default_sysctl(c.sysctl);
  ASSERT_EQ(c.ports.size(), 1u);
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(p.index, 0u);
  EXPECT_EQ(p.device, "net_tap0");
  EXPECT_EQ(p.devargs, "");
  EXPECT_FALSE(p.mac.has_value());
  EXPECT_EQ(p.ipv4, *parse_ipv4("198.18.0.2"));
  EXPECT_EQ(p.prefix_len, 24u);
  EXPECT_FALSE(p.gateway.has_value());
  expect_default_port_tunables(p);
}

TEST(Config, OnlyAPort_GivesDefaults) {
  Config c = parse_ok(kPort0);
  expect_default_impairment(c.impairment);
  expect_default_shim(c.shim);
  expect_default_eal(c.eal);
  expect_default_engine(c.engine);
  expect_default_arp(c.arp);
  expect_default_sysctl(c.sysctl);
}

// ---- every key ----

TEST(Config, EveryKey_Parsed) {
  Config c = parse_ok(
      "[eal]\n"
      "lcores = 2-3,5\n"
      "hugepages = on\n"
      "memory_mb = 1024\n"
      "file_prefix = sw-test_1\n"
      "in_memory = yes\n"
      "extra_args = --log-level=lib.eal:debug   --no-telemetry\n"
      "[port.0]\n"
      "device = 0000:03:00.0\n"
      "devargs = rxq_pkt_len=2048,txq_inline=1\n"
      "mac = 02:00:5E:00:53:01\n"
      "ipv4 = 198.18.4.2/22\n"
      "gateway = 198.18.7.254\n"
      "mtu = 9000\n"
      "rx_descriptors = 4096\n"
      "tx_descriptors = 2048\n"
      "[engine]\n"
      "burst_size = 64\n"
      "mbufs_per_engine = 16383\n"
      "mempool_cache = 512\n"
      "idle_sleep_us = 20\n"
      "max_half_open = 4096\n"
      "[arp]\n"
      "entries = 4096\n"
      "reachable_ms = 15000\n"
      "retrans_ms = 500\n"
      "max_retries = 5\n"
      "queue_len = 32\n"
      "gratuitous = false\n"
      "[sysctl]\n"
      "net.ipv4.tcp_syn_retries = 6\n"
      "net.ipv4.tcp_synack_retries = 2\n"
      "net.ipv4.tcp_orphan_retries = 3\n"
      "net.ipv4.tcp_retries2 = 8\n"
      "net.ipv4.tcp_fin_timeout = 30\n"
      "synwave.tcp_timewait_len = 5\n"
      "net.ipv4.tcp_max_syn_backlog = 4096\n"
      "net.core.somaxconn = 128\n"
      "net.ipv4.tcp_abort_on_overflow = 1\n"
      "net.ipv4.tcp_syncookies = 2\n"
      "net.ipv4.tcp_tw_reuse = 0\n"
      "net.ipv4.ip_local_port_range = 1024\t65535\n"
      "net.ipv4.tcp_keepalive_time = 600\n"
      "net.ipv4.tcp_keepalive_intvl = 10\n"
      "net.ipv4.tcp_keepalive_probes = 4\n"
      "net.ipv4.tcp_timestamps = 0\n"
      "net.ipv4.tcp_sack = 0\n"
      "net.ipv4.tcp_window_scaling = 0\n"
      "net.ipv4.ip_default_ttl = 128\n"
      "net.ipv4.tcp_rmem = 8192 262144 16777216\n"
      "net.ipv4.tcp_wmem = 4096\t65536   8388608\n"
      "net.ipv4.tcp_congestion_control = reno\n"
      "net.ipv4.tcp_invalid_ratelimit = 0\n"
      "net.ipv4.tcp_slow_start_after_idle = 0\n"
      "net.ipv4.tcp_reordering = 10\n"
      "[impairment]\n"
      "loss_percent = 2.5\n"
      "duplicate_percent = 1\n"
      "reorder_percent = 0.25\n"
      "delay_us = 5000\n"
      "seed = 18446744073709551615\n"
      "direction = rx\n"
      "[shim]\n"
      "enabled = no\n"
      "directory = /run/sw-apps\n"
      "mode = 0600\n"
      "allow_uids = 1000, 1001\n"
      "allow_gids = 100\n"
      "max_apps = 8\n"
      "max_sockets_per_app = 1024\n"
      "buffer_bytes = 262144\n"
      "max_memory_mb_per_app = 512\n"
      "requests_per_poll = 128\n");
  EXPECT_EQ(c.eal.lcores, (std::vector<unsigned>{2, 3, 5}));
  EXPECT_EQ(c.eal.hugepages, EalConfig::Hugepages::kOn);
  EXPECT_EQ(c.eal.memory_mb, 1024u);
  EXPECT_EQ(c.eal.file_prefix, "sw-test_1");
  EXPECT_TRUE(c.eal.in_memory);
  EXPECT_EQ(c.eal.extra_args,
            (std::vector<std::string>{"--log-level=lib.eal:debug", "--no-telemetry"}));

  ASSERT_EQ(c.ports.size(), 1u);
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(p.device, "0000:03:00.0");
  EXPECT_EQ(p.devargs, "rxq_pkt_len=2048,txq_inline=1");
  ASSERT_TRUE(p.mac.has_value());
  EXPECT_EQ(format_mac(*p.mac), "02:00:5e:00:53:01");
  EXPECT_EQ(format_ipv4(p.ipv4), "198.18.4.2");
  EXPECT_EQ(p.prefix_len, 22u);
  ASSERT_TRUE(p.gateway.has_value());
  EXPECT_EQ(format_ipv4(*p.gateway), "198.18.7.254");
  EXPECT_EQ(p.mtu, 9000u);
  EXPECT_EQ(p.rx_descriptors, 4096u);
  EXPECT_EQ(p.tx_descriptors, 2048u);

  EXPECT_EQ(c.engine.burst_size, 64u);
  EXPECT_EQ(c.engine.mbufs_per_engine, 16383u);
  EXPECT_EQ(c.engine.mempool_cache, 512u);
  EXPECT_EQ(c.engine.idle_sleep_us, 20u);
  EXPECT_EQ(c.engine.max_half_open, 4096u);

  EXPECT_EQ(c.arp.entries, 4096u);
  EXPECT_EQ(c.arp.reachable_ms, 15000u);
  EXPECT_EQ(c.arp.retrans_ms, 500u);
  EXPECT_EQ(c.arp.max_retries, 5u);
  EXPECT_EQ(c.arp.queue_len, 32u);
  EXPECT_FALSE(c.arp.gratuitous);

  const Sysctl& s = c.sysctl;
  EXPECT_EQ(s.tcp_syn_retries, 6u);
  EXPECT_EQ(s.tcp_synack_retries, 2u);
  EXPECT_EQ(s.tcp_orphan_retries, 3u);
  EXPECT_EQ(s.tcp_retries2, 8u);
  EXPECT_EQ(s.tcp_fin_timeout, 30u);
  EXPECT_EQ(s.tcp_timewait_len, 5u);
  EXPECT_EQ(s.tcp_max_syn_backlog, 4096u);
  EXPECT_EQ(s.somaxconn, 128u);
  EXPECT_TRUE(s.tcp_abort_on_overflow);
  EXPECT_EQ(s.tcp_syncookies, 2u);
  EXPECT_EQ(s.tcp_tw_reuse, 0u);
  EXPECT_EQ(s.ip_local_port_range_low, 1024u);
  EXPECT_EQ(s.ip_local_port_range_high, 65535u);
  EXPECT_EQ(s.tcp_keepalive_time, 600u);
  EXPECT_EQ(s.tcp_keepalive_intvl, 10u);
  EXPECT_EQ(s.tcp_keepalive_probes, 4u);
  EXPECT_FALSE(s.tcp_timestamps);
  EXPECT_FALSE(s.tcp_sack);
  EXPECT_FALSE(s.tcp_window_scaling);
  EXPECT_EQ(s.ip_default_ttl, 128u);
  EXPECT_EQ(s.tcp_rmem, (std::array<unsigned, 3>{8192, 262144, 16777216}));
  EXPECT_EQ(s.tcp_wmem, (std::array<unsigned, 3>{4096, 65536, 8388608}));
  EXPECT_EQ(s.tcp_congestion_control, "reno");
  EXPECT_EQ(s.tcp_invalid_ratelimit, 0u);
  EXPECT_FALSE(s.tcp_slow_start_after_idle);
  EXPECT_EQ(s.tcp_reordering, 10u);

  const ImpairmentConfig& i = c.impairment;
  EXPECT_DOUBLE_EQ(i.loss_percent, 2.5);
  EXPECT_DOUBLE_EQ(i.duplicate_percent, 1.0);
  EXPECT_DOUBLE_EQ(i.reorder_percent, 0.25);
  EXPECT_EQ(i.delay_us, 5000u);
  EXPECT_EQ(i.seed, 18446744073709551615ull);
  EXPECT_EQ(i.direction, ImpairmentConfig::Direction::kRx);
  EXPECT_TRUE(i.enabled());

  const ShimConfig& sh = c.shim;
  EXPECT_FALSE(sh.enabled);
  EXPECT_EQ(sh.directory, "/run/sw-apps");
  EXPECT_EQ(sh.mode, 0600u);
  EXPECT_EQ(sh.allow_uids, (std::vector<unsigned>{1000, 1001}));
  EXPECT_EQ(sh.allow_gids, std::vector<unsigned>{100});
  EXPECT_EQ(sh.max_apps, 8u);
  EXPECT_EQ(sh.max_sockets_per_app, 1024u);
  EXPECT_EQ(sh.buffer_bytes, 262144u);
  EXPECT_EQ(sh.max_memory_mb_per_app, 512u);
  EXPECT_EQ(sh.requests_per_poll, 128u);
}

TEST(Config, HugepagesWords_Parsed) {
  EXPECT_EQ(parse_ok(std::string("[eal]\nhugepages = auto\n") + kPort0).eal.hugepages,
            EalConfig::Hugepages::kAuto);
  EXPECT_EQ(parse_ok(std::string("[eal]\nhugepages = off\n") + kPort0).eal.hugepages,
            EalConfig::Hugepages::kOff);
}

TEST(Config, BooleanWords_Parsed) {
  for (const char* yes : {"true", "yes", "on", "1", "True", "YES"}) {
    EXPECT_TRUE(parse_ok(std::string("[eal]\nin_memory = ") + yes + "\n" + kPort0).eal.in_memory)
        << yes;
  }
  for (const char* no : {"false", "no", "off", "0", "False"}) {
    EXPECT_FALSE(parse_ok(std::string("[arp]\ngratuitous = ") + no + "\n" + kPort0).arp.gratuitous)
        << no;
  }
}

TEST(Config, LcoreLists_Parsed) {
  auto lcores = [](const std::string& list) {
    return parse_ok("[eal]\nlcores = " + list + "\n" + kPort0).eal.lcores;
  };
  EXPECT_EQ(lcores("1"), std::vector<unsigned>{1});
  EXPECT_EQ(lcores("1-3"), (std::vector<unsigned>{1, 2, 3}));
  EXPECT_EQ(lcores("0,2"), (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(lcores("6, 0-1"), (std::vector<unsigned>{0, 1, 6}));
  EXPECT_EQ(lcores("4-4"), std::vector<unsigned>{4});
  EXPECT_EQ(lcores("127"), std::vector<unsigned>{127});
}

TEST(Config, EmptyDevargsAndExtraArgs_Allowed) {
  Config c = parse_ok(std::string("[eal]\nextra_args =\n") + kPort0 + "devargs =\n");
  EXPECT_TRUE(c.eal.extra_args.empty());
  EXPECT_EQ(c.ports[0].devargs, "");
}

TEST(Config, ShortPciAddress_Accepted) {
  Config c = parse_ok("[port.0]\ndevice = 03:00.1\nipv4 = 198.18.0.2/24\n");
  EXPECT_EQ(c.ports[0].device, "03:00.1");
}

TEST(Config, PrefixLengths31And32_Accepted) {
  EXPECT_EQ(parse_ok("[port.0]\ndevice = net_null0\nipv4 = 198.18.0.0/31\n").ports[0].prefix_len,
            31u);
  EXPECT_EQ(parse_ok("[port.0]\ndevice = net_null0\nipv4 = 198.18.0.7/32\n").ports[0].prefix_len,
            32u);
}

// ---- layout: comments, whitespace, order ----

TEST(Config, CommentsBlankLinesAndWhitespace_Ignored) {
  Config c = parse_ok(
      "# a comment\n"
      "\n"
      "   ; a sysctl.conf-style comment\n"
      "[eal]   # after a header\n"
      "\tmemory_mb\t=\t256   # after a value\n"
      "in_memory = true \r\n"
      "[port.0]\n"
      "device=net_tap0\n"
      "devargs = iface=a#b\n"  // '#' not after whitespace belongs to the value
      "ipv4=198.18.0.2/24 #\n"
      "  [ engine ]  \n"
      "burst_size = 16    \n");
  EXPECT_EQ(c.eal.memory_mb, 256u);
  EXPECT_EQ(c.ports[0].devargs, "iface=a#b");
  EXPECT_TRUE(c.eal.in_memory);
  EXPECT_EQ(c.engine.burst_size, 16u);
}

TEST(Config, TextAfterValue_IsAnError) {
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 512 MB\n"),
            "t.conf:2: [eal] memory_mb: '512 MB' is not a number");
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 512#MB\n"),
            "t.conf:2: [eal] memory_mb: '512#MB' is not a number");
  EXPECT_EQ(error_of("[eal]\nin_memory = true false\n"),
            "t.conf:2: [eal] in_memory: 'true false' is not a boolean (true/false, yes/no, on/off, "
            "1/0)");
  EXPECT_EQ(error_of("[eal]\nfile_prefix = a b\n"),
            "t.conf:2: [eal] file_prefix: 'a b' is not a file prefix (letters, digits, '_', '-', "
            "'.'; not starting with '.')");
  EXPECT_EQ(error_of(std::string(kPort0) + "devargs = iface=a iface=b\n"),
            "t.conf:4: [port.0] devargs: 'iface=a iface=b' contains whitespace (devargs are "
            "key=value pairs joined by ',')");
  EXPECT_EQ(error_of("[port.0]\ndevice = net_tap0 net_tap1\n"),
            "t.conf:2: [port.0] device: 'net_tap0 net_tap1' is neither a vdev name (net_tap0, "
            "net_memif0, net_ring0, net_null0) nor a PCI address (0000:03:00.0)");
  EXPECT_EQ(error_of("[eal]junk\n"), "t.conf:1: malformed section header '[eal]junk'");
}

TEST(Config, PortsInAnyOrder_ReturnedSortedByIndex) {
  Config c = parse_ok(
      "[port.2]\ndevice = net_ring2\nipv4 = 198.18.2.1/24\n"
      "[port.0]\ndevice = net_ring0\nipv4 = 198.18.0.1/24\n"
      "[port.1]\ndevice = net_ring1\nipv4 = 198.18.1.1/24\n");
  ASSERT_EQ(c.ports.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(c.ports[i].index, i);
    EXPECT_EQ(c.ports[i].device, "net_ring" + std::to_string(i));
  }
}

TEST(Config, SectionsInAnyOrder_Parsed) {
  Config c = parse_ok(std::string("[sysctl]\ntcp_sack = 0\n") + kPort0 + "[eal]\nlcores = 3\n");
  EXPECT_FALSE(c.sysctl.tcp_sack);
  EXPECT_EQ(c.eal.lcores, std::vector<unsigned>{3});
}

// ---- structural errors ----

TEST(Config, UnknownSection_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "\n[tcp]\n"),
            "t.conf:5: unknown section [tcp] (sections: [eal], [port.N], [engine], [arp], "
            "[sysctl], [impairment], [shim], [flood])");
  EXPECT_EQ(error_of("[port]\n"),
            "t.conf:1: unknown section [port] (sections: [eal], [port.N], [engine], [arp], "
            "[sysctl], [impairment], [shim], [flood])");
}

TEST(Config, MalformedHeader_NamesLine) {
  EXPECT_EQ(error_of("\n[eal\n"), "t.conf:2: malformed section header '[eal'");
}

TEST(Config, BadPortIndex_NamesLine) {
  EXPECT_EQ(error_of("[port.x]\n"), "t.conf:1: [port.x]: the port index 'x' is not a number");
  EXPECT_EQ(error_of("[port.]\n"), "t.conf:1: [port.]: the port index is missing");
  EXPECT_EQ(error_of("[port.01]\n"), "t.conf:1: [port.01]: the port index '01' is not a number");
  EXPECT_EQ(error_of("[port.32]\n"),
            "t.conf:1: [port.32]: the port index 32 is out of range 0..31 (RTE_MAX_ETHPORTS)");
}

TEST(Config, PortSteering_LcoresSteeringAndKey) {
  Config c = parse_ok("[eal]\nlcores = 1-4\n" + std::string(kPort0) +
                      "lcores = 2-3\nsteering = software\n"
                      "rss_key = 6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa\n");
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(p.lcores, (std::vector<unsigned>{2, 3}));
  EXPECT_EQ(p.steering, PortConfig::Steering::kSoftware);
  ASSERT_TRUE(p.rss_key.has_value());
  EXPECT_EQ((*p.rss_key)[0], 0x6d);
  EXPECT_EQ((*p.rss_key)[39], 0xfa);
  EXPECT_EQ(p.line, 3u);
  Config d = parse_ok(std::string(kPort0) + "steering = hardware\nrss_key = symmetric\n");
  EXPECT_TRUE(d.ports[0].lcores.empty()) << "every engine serves the port";
  EXPECT_EQ(d.ports[0].steering, PortConfig::Steering::kHardware);
  EXPECT_FALSE(d.ports[0].rss_key.has_value());
  EXPECT_EQ(parse_ok(kPort0).ports[0].steering, PortConfig::Steering::kAuto);
}

TEST(Config, PortSteering_BadValues_NameTheLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "steering = rss\n"),
            "t.conf:4: [port.0] steering: 'rss' is not auto, hardware or software");
  EXPECT_EQ(error_of(std::string(kPort0) + "rss_key = 6d5a\n"),
            "t.conf:4: [port.0] rss_key: '6d5a' is neither 'symmetric' nor 80 hex digits (a 40-byte Toeplitz key)");
  EXPECT_EQ(error_of(std::string(kPort0) + "rss_key = " + std::string(78, '0') + "zz\n"),
            "t.conf:4: [port.0] rss_key: '" + std::string(78, '0') +
                "zz' is neither 'symmetric' nor 80 hex digits (a 40-byte Toeplitz key)");
  // A port's lcores must run engines; [eal] may come after the port.
  EXPECT_EQ(error_of(std::string(kPort0) + "lcores = 1-2\n[eal]\nlcores = 1\n"),
            "t.conf:4: [port.0] lcores: lcore 2 runs no engine ([eal] lcores has 1); a port is served by engines only");
}

TEST(Config, UnknownKey_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nlcores = 1\nhuge_pages = on\n"),
            "t.conf:3: [eal] unknown key 'huge_pages'");
  EXPECT_EQ(error_of(std::string(kPort0) + "netmask = 255.255.255.0\n"),
            "t.conf:4: [port.0] unknown key 'netmask'");
  EXPECT_EQ(error_of("[engine]\nburst = 32\n"), "t.conf:2: [engine] unknown key 'burst'");
  EXPECT_EQ(error_of("[arp]\nsize = 32\n"), "t.conf:2: [arp] unknown key 'size'");
  EXPECT_EQ(error_of("[impairment]\nloss = 1\n"), "t.conf:2: [impairment] unknown key 'loss'");
  EXPECT_EQ(error_of("[shim]\nsocket = /run/x.sock\n"), "t.conf:2: [shim] unknown key 'socket'");
}

TEST(Config, KeysAreCaseSensitive) {
  EXPECT_EQ(error_of("[eal]\nMemory_MB = 512\n"), "t.conf:2: [eal] unknown key 'Memory_MB'");
  EXPECT_EQ(error_of("[EAL]\n"),
            "t.conf:1: unknown section [EAL] (sections: [eal], [port.N], [engine], [arp], "
            "[sysctl], [impairment], [shim], [flood])");
  EXPECT_EQ(error_of("[sysctl]\nNET.IPV4.TCP_SACK = 1\n"),
            "t.conf:2: [sysctl] unknown key 'NET.IPV4.TCP_SACK' (supported keys: "
            "docs/configuration.md)");
}

TEST(Config, DuplicateKey_NamesBothLines) {
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 1\n# again\nmemory_mb = 2\n"),
            "t.conf:4: [eal] duplicate key 'memory_mb' (already set on line 2)");
  EXPECT_EQ(error_of(std::string(kPort0) + "device = net_tap1\n"),
            "t.conf:4: [port.0] duplicate key 'device' (already set on line 2)");
}

TEST(Config, DuplicateSection_NamesBothLines) {
  EXPECT_EQ(error_of(std::string("[eal]\n") + kPort0 + "[eal]\n"),
            "t.conf:5: duplicate section [eal] (first on line 1)");
  EXPECT_EQ(error_of(std::string(kPort0) + kPort0),
            "t.conf:4: duplicate section [port.0] (first on line 1)");
}

TEST(Config, LineWithoutEquals_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nin_memory\n"),
            "t.conf:2: expected 'key = value' or a [section] header, got 'in_memory'");
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_sack: 1\n"),
            "t.conf:2: expected 'key = value' or a [section] header, got 'net.ipv4.tcp_sack: 1'");
}

TEST(Config, MissingKeyBeforeEquals_NamesLine) {
  EXPECT_EQ(error_of("[eal]\n = 5\n"), "t.conf:2: missing key before '=' in '= 5'");
}

TEST(Config, KeyBeforeAnySection_NamesLine) {
  EXPECT_EQ(error_of("# header\nlcores = 1\n"),
            "t.conf:2: 'lcores' is set before any [section] header");
}

TEST(Config, EmptyValue_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nmemory_mb =\n"), "t.conf:2: [eal] memory_mb: no value");
  EXPECT_EQ(error_of("[eal]\nlcores =   # none\n"), "t.conf:2: [eal] lcores: no value");
  EXPECT_EQ(error_of("[port.0]\ndevice =\n"), "t.conf:2: [port.0] device: no value");
  EXPECT_EQ(error_of("[sysctl]\ntcp_sack =\n"), "t.conf:2: [sysctl] tcp_sack: no value");
}

TEST(Config, NoPortSection_NamesLastLine) {
  EXPECT_EQ(error_of("[eal]\nlcores = 1\n"),
            "t.conf:2: no [port.N] section: at least one port is required");
  EXPECT_EQ(error_of("[eal]\nlcores = 1"),
            "t.conf:2: no [port.N] section: at least one port is required");
  EXPECT_EQ(error_of(""), "t.conf:1: no [port.N] section: at least one port is required");
}

TEST(Config, PortIndicesNotDense_NamesHeaderLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "[port.2]\ndevice = net_tap2\nipv4 = 198.18.2.2/24\n"),
            "t.conf:4: [port.2]: port indices must be dense from 0, but [port.1] is missing");
  EXPECT_EQ(error_of("[port.1]\ndevice = net_tap1\nipv4 = 198.18.1.2/24\n"),
            "t.conf:1: [port.1]: port indices must be dense from 0, but [port.0] is missing");
}

TEST(Config, MissingRequiredKey_NamesHeaderLine) {
  EXPECT_EQ(error_of("[eal]\n\n[port.0]  # the first port\nipv4 = 198.18.0.2/24\n[engine]\n"),
            "t.conf:3: [port.0] missing required key 'device'");
  EXPECT_EQ(error_of("[port.0]\ndevice = net_tap0\nmtu = 1500\n"),
            "t.conf:1: [port.0] missing required key 'ipv4'");
}

TEST(Config, DeviceUsedTwice_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "[port.1]\ndevice = net_tap0\n"),
            "t.conf:5: [port.1] device: 'net_tap0' is already used by [port.0]");
}

// ---- [eal] values ----

TEST(Config, LcoresMalformed_NamesLine) {
  for (const char* bad : {"1-", "-1", "a", "1,,2", "1-2-3", "1;2", "1 2", ",1", "1.5"}) {
    EXPECT_EQ(error_of(std::string("[eal]\nlcores = ") + bad + "\n"),
              std::string("t.conf:2: [eal] lcores: '") + bad +
                  "' is not an lcore list (write e.g. 1, 1-3 or 0,2)")
        << bad;
  }
  EXPECT_EQ(error_of("[eal]\nlcores = 3-1\n"),
            "t.conf:2: [eal] lcores: '3-1' is not an lcore list: the range 3-1 runs backwards");
  EXPECT_EQ(error_of("[eal]\nlcores = 1,128\n"),
            "t.conf:2: [eal] lcores: lcore 128 is out of range 0..127 (RTE_MAX_LCORE) in '1,128'");
}

TEST(Config, LcoresDuplicate_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nlcores = 1-3,2\n"),
            "t.conf:2: [eal] lcores: lcore 2 is listed twice in '1-3,2'");
  EXPECT_EQ(error_of("[eal]\nlcores = 0,0\n"),
            "t.conf:2: [eal] lcores: lcore 0 is listed twice in '0,0'");
}

TEST(Config, BadHugepages_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nhugepages = yes\n"),
            "t.conf:2: [eal] hugepages: 'yes' is not auto, on or off");
}

TEST(Config, InMemoryWithoutHugepages_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nhugepages = off\nin_memory = true\n"),
            "t.conf:3: [eal] in_memory: true needs hugepages, but hugepages = off (DPDK's "
            "--in-memory does not combine with --no-huge)");
  EXPECT_EQ(error_of("[eal]\nin_memory = 1\nhugepages = off\n"),
            "t.conf:2: [eal] in_memory: true needs hugepages, but hugepages = off (DPDK's "
            "--in-memory does not combine with --no-huge)");
  // auto and on are fine with in_memory.
  EXPECT_TRUE(
      parse_ok(std::string("[eal]\nhugepages = auto\nin_memory = true\n") + kPort0).eal.in_memory);
}

TEST(Config, BadFilePrefix_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nfile_prefix = ../x\n"),
            "t.conf:2: [eal] file_prefix: '../x' is not a file prefix (letters, digits, '_', '-', "
            "'.'; not starting with '.')");
}

TEST(Config, NumberOutOfRange_NamesLine) {
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 99999999999999999999999\n"),
            "t.conf:2: [eal] memory_mb: 99999999999999999999999 is out of range 0..1048576");
  EXPECT_EQ(error_of("[eal]\nmemory_mb = -1\n"), "t.conf:2: [eal] memory_mb: '-1' is not a number");
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 0x10\n"),
            "t.conf:2: [eal] memory_mb: '0x10' is not a number");
  EXPECT_EQ(error_of("[eal]\nmemory_mb = 010\n"),
            "t.conf:2: [eal] memory_mb: '010' is not a number");
}

// ---- [port.N] values ----

TEST(Config, BadIpv4_NamesLine) {
  auto with_ipv4 = [](const std::string& v) {
    return error_of("[port.0]\ndevice = net_tap0\nipv4 = " + v + "\n");
  };
  EXPECT_EQ(with_ipv4("198.18.0.300/24"),
            "t.conf:3: [port.0] ipv4: '198.18.0.300/24' is not an IPv4 address/prefix");
  EXPECT_EQ(with_ipv4("198.18.0.2/33"),
            "t.conf:3: [port.0] ipv4: '198.18.0.2/33' is not an IPv4 address/prefix");
  EXPECT_EQ(with_ipv4("198.18.0.2/"),
            "t.conf:3: [port.0] ipv4: '198.18.0.2/' is not an IPv4 address/prefix");
  EXPECT_EQ(with_ipv4("198.18.0.2"),
            "t.conf:3: [port.0] ipv4: '198.18.0.2' is not an IPv4 address/prefix (the /prefix is "
            "missing, e.g. 198.18.0.2/24)");
  EXPECT_EQ(with_ipv4("224.0.0.1/24"),
            "t.conf:3: [port.0] ipv4: '224.0.0.1/24' is a multicast address");
  EXPECT_EQ(with_ipv4("127.0.0.1/8"),
            "t.conf:3: [port.0] ipv4: '127.0.0.1/8' is a loopback address");
  EXPECT_EQ(with_ipv4("0.0.0.0/0"),
            "t.conf:3: [port.0] ipv4: '0.0.0.0/0' is in 0.0.0.0/8 ('this network')");
  EXPECT_EQ(with_ipv4("198.18.0.0/24"),
            "t.conf:3: [port.0] ipv4: '198.18.0.0/24' is the network address of its prefix");
  EXPECT_EQ(with_ipv4("198.18.0.255/24"),
            "t.conf:3: [port.0] ipv4: '198.18.0.255/24' is the broadcast address of its prefix");
}

TEST(Config, GatewayOutsidePrefix_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "gateway = 198.18.1.1\n"),
            "t.conf:4: [port.0] gateway: 198.18.1.1 is outside 198.18.0.2/24");
  // The gateway may come before the address: the check runs when the section ends.
  EXPECT_EQ(error_of("[port.0]\ngateway = 10.0.0.1\ndevice = net_tap0\nipv4 = 198.18.0.2/24\n"
                     "[engine]\n"),
            "t.conf:2: [port.0] gateway: 10.0.0.1 is outside 198.18.0.2/24");
}

TEST(Config, GatewayIsOwnAddress_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "gateway = 198.18.0.2\n"),
            "t.conf:4: [port.0] gateway: 198.18.0.2 is the port's own address");
}

TEST(Config, BadGateway_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "gateway = 198.18.0.1/24\n"),
            "t.conf:4: [port.0] gateway: '198.18.0.1/24' is not an IPv4 address");
}

TEST(Config, BadMac_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "mac = 02:00:5e:00:53\n"),
            "t.conf:4: [port.0] mac: '02:00:5e:00:53' is not a MAC address");
  EXPECT_EQ(error_of(std::string(kPort0) + "mac = 01:00:5e:00:00:01\n"),
            "t.conf:4: [port.0] mac: '01:00:5e:00:00:01' is a multicast address");
  EXPECT_EQ(error_of(std::string(kPort0) + "mac = 00:00:00:00:00:00\n"),
            "t.conf:4: [port.0] mac: '00:00:00:00:00:00' is the zero address");
}

TEST(Config, BadDevice_NamesLine) {
  for (const char* bad :
       {"eth0", "net_", "0000:03:20.0", "0000:03:00.8", "03:00", "net_tap0,x=1"}) {
    EXPECT_EQ(error_of(std::string("[port.0]\ndevice = ") + bad + "\n"),
              std::string("t.conf:2: [port.0] device: '") + bad +
                  "' is neither a vdev name (net_tap0, net_memif0, net_ring0, net_null0) nor a "
                  "PCI address (0000:03:00.0)")
        << bad;
  }
}

TEST(Config, PortNumbersOutOfRange_NamesLine) {
  EXPECT_EQ(error_of(std::string(kPort0) + "mtu = 67\n"),
            "t.conf:4: [port.0] mtu: 67 is out of range 68..65535 (RTE_ETHER_MIN_MTU..65535)");
  EXPECT_EQ(error_of(std::string(kPort0) + "rx_descriptors = 0\n"),
            "t.conf:4: [port.0] rx_descriptors: 0 is out of range 1..65535");
  EXPECT_EQ(error_of(std::string(kPort0) + "tx_descriptors = 65536\n"),
            "t.conf:4: [port.0] tx_descriptors: 65536 is out of range 1..65535");
}

// ---- [engine] and [arp] values ----

TEST(Config, BurstSizeOutOfRange_NamesLine) {
  EXPECT_EQ(error_of("[engine]\nburst_size = 0\n"),
            "t.conf:2: [engine] burst_size: 0 is out of range 1..512");
  EXPECT_EQ(error_of("[engine]\nburst_size = 513\n"),
            "t.conf:2: [engine] burst_size: 513 is out of range 1..512");
  EXPECT_EQ(error_of("[engine]\nmax_half_open = 1048577\n"),
            "t.conf:2: [engine] max_half_open: 1048577 is out of range 0..1048576");
  EXPECT_EQ(parse_ok(std::string("[engine]\nburst_size = 512\n") + kPort0).engine.burst_size, 512u);
}

TEST(Config, MempoolCacheAbove512_NamesLine) {
  EXPECT_EQ(error_of("[engine]\nmbufs_per_engine = 65535\nmempool_cache = 513\n"),
            "t.conf:3: [engine] mempool_cache: 513 is out of range 0..512 "
            "(RTE_MEMPOOL_CACHE_MAX_SIZE)");
}

TEST(Config, MempoolCacheAboveMbufsOverOnePointFive_NamesLine) {
  EXPECT_EQ(error_of("[engine]\nmempool_cache = 256\nmbufs_per_engine = 383\n"),
            "t.conf:2: [engine] mempool_cache: 256 is larger than mbufs_per_engine / 1.5 "
            "(mbufs_per_engine = 383; DPDK needs cache * 1.5 <= n)");
  // Exactly 1.5 times the cache is enough, as in rte_mempool_create.
  Config c =
      parse_ok(std::string("[engine]\nmempool_cache = 256\nmbufs_per_engine = 384\n") + kPort0);
  EXPECT_EQ(c.engine.mbufs_per_engine, 384u);
  // With the default cache, the line to blame is mbufs_per_engine's.
  EXPECT_EQ(error_of("[engine]\nburst_size = 8\nmbufs_per_engine = 300\n"),
            "t.conf:3: [engine] mbufs_per_engine: 300 is below mempool_cache * 1.5 = 384 (DPDK "
            "needs cache * 1.5 <= n)");
  // No cache at all needs no minimum.
  EXPECT_EQ(parse_ok(std::string("[engine]\nmempool_cache = 0\nmbufs_per_engine = 1\n") + kPort0)
                .engine.mempool_cache,
            0u);
}

TEST(Config, ArpEntriesNotPowerOfTwo_NamesLine) {
  EXPECT_EQ(error_of("[arp]\nentries = 1000\n"),
            "t.conf:2: [arp] entries: 1000 is not a power of two");
  EXPECT_EQ(error_of("[arp]\nentries = 0\n"),
            "t.conf:2: [arp] entries: 0 is out of range 1..1048576");
  EXPECT_EQ(parse_ok(std::string("[arp]\nentries = 1\n") + kPort0).arp.entries, 1u);
}

TEST(Config, ArpNumbersOutOfRange_NamesLine) {
  EXPECT_EQ(error_of("[arp]\nretrans_ms = 0\n"),
            "t.conf:2: [arp] retrans_ms: 0 is out of range 1..2147483647");
  EXPECT_EQ(error_of("[arp]\nmax_retries = 0\n"),
            "t.conf:2: [arp] max_retries: 0 is out of range 1..255");
  EXPECT_EQ(
      error_of("[arp]\ngratuitous = maybe\n"),
      "t.conf:2: [arp] gratuitous: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
}

// ---- [sysctl] ----

TEST(Config, SysctlNameForms_AllAccepted) {
  for (const char* key :
       {"net.ipv4.tcp_syn_retries", "net/ipv4/tcp_syn_retries", "tcp_syn_retries"}) {
    Config c = parse_ok(std::string("[sysctl]\n") + key + " = 3\n" + kPort0);
    EXPECT_EQ(c.sysctl.tcp_syn_retries, 3u) << key;
  }
  for (const char* key : {"net.core.somaxconn", "net/core/somaxconn", "somaxconn"}) {
    EXPECT_EQ(parse_ok(std::string("[sysctl]\n") + key + " = 77\n" + kPort0).sysctl.somaxconn, 77u)
        << key;
  }
  for (const char* key :
       {"synwave.tcp_timewait_len", "synwave/tcp_timewait_len", "tcp_timewait_len"}) {
    EXPECT_EQ(parse_ok(std::string("[sysctl]\n") + key + " = 2\n" + kPort0).sysctl.tcp_timewait_len,
              2u)
        << key;
  }
}

TEST(Config, SysctlConfLines_PasteAsTheyAre) {
  // As in /etc/sysctl.conf: no spaces around '=', ';' and '#' comment lines.
  Config c = parse_ok(std::string(kPort0) +
                      "[sysctl]\n"
                      "; from /etc/sysctl.conf\n"
                      "net.ipv4.tcp_fin_timeout=15\n"
                      "# net.ipv4.tcp_tw_reuse=1\n"
                      "net.ipv4.ip_local_port_range = 10000    65000\n");
  EXPECT_EQ(c.sysctl.tcp_fin_timeout, 15u);
  EXPECT_EQ(c.sysctl.tcp_tw_reuse, 2u);
  EXPECT_EQ(c.sysctl.ip_local_port_range_low, 10000u);
  EXPECT_EQ(c.sysctl.ip_local_port_range_high, 65000u);
}

TEST(Config, SysctlSameKeyTwoForms_IsADuplicate) {
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_sack = 1\nnet/ipv4/tcp_sack = 0\n"),
            "t.conf:3: [sysctl] duplicate key 'net/ipv4/tcp_sack' (already set on line 2)");
  EXPECT_EQ(error_of("[sysctl]\ntcp_sack = 1\nnet.ipv4.tcp_sack = 0\n"),
            "t.conf:3: [sysctl] duplicate key 'net.ipv4.tcp_sack' (already set on line 2)");
}

TEST(Config, SysctlUnknownOrWrongPrefix_NamesLine) {
  for (const char* bad :
       {"net.ipv4.tcp_retries1", "vm.swappiness", "net.ipv6.tcp_sack", "ipv4.tcp_sack",
        "net.core.tcp_sack", "net.ipv4.somaxconn", "synwave.tcp_sack"}) {
    EXPECT_EQ(error_of(std::string("[sysctl]\n") + bad + " = 1\n"),
              std::string("t.conf:2: [sysctl] unknown key '") + bad +
                  "' (supported keys: docs/configuration.md)")
        << bad;
  }
}

// Each Linux range at both ends: the last value accepted and the first refused.
TEST(Config, SysctlLinuxRanges_Enforced) {
  struct Case {
    const char* key;
    const char* bad;
    const char* good;
    const char* why;
  };
  const Case cases[] = {
      {"net.ipv4.tcp_syn_retries", "0", "1", "0 is out of range 1..127 (Linux: 1..MAX_TCP_SYNCNT)"},
      {"net.ipv4.tcp_syn_retries", "128", "127",
       "128 is out of range 1..127 (Linux: 1..MAX_TCP_SYNCNT)"},
      {"net.ipv4.tcp_synack_retries", "256", "255", "256 is out of range 0..255 (Linux: u8)"},
      {"net.ipv4.tcp_orphan_retries", "256", "255", "256 is out of range 0..255 (Linux: u8)"},
      {"net.ipv4.tcp_retries2", "256", "255", "256 is out of range 0..255 (Linux: u8)"},
      {"net.ipv4.tcp_fin_timeout", "0", "1",
       "0 is out of range 1..2147483 (seconds; Linux: at most INT_MAX/HZ)"},
      {"net.ipv4.tcp_fin_timeout", "2147484", "2147483",
       "2147484 is out of range 1..2147483 (seconds; Linux: at most INT_MAX/HZ)"},
      {"synwave.tcp_timewait_len", "0", "1", "0 is out of range 1..2147483 (seconds)"},
      {"net.ipv4.tcp_max_syn_backlog", "2147483648", "2147483647",
       "2147483648 is out of range 0..2147483647 (Linux: int)"},
      {"net.core.somaxconn", "2147483648", "0",
       "2147483648 is out of range 0..2147483647 (Linux: 0..INT_MAX)"},
      {"net.ipv4.tcp_syncookies", "3", "2",
       "3 is out of range 0..2 (0: never, 1: on overflow, 2: always)"},
      {"net.ipv4.tcp_tw_reuse", "3", "2", "3 is out of range 0..2 (Linux: 0..2)"},
      {"net.ipv4.tcp_keepalive_time", "0", "2147483",
       "0 is out of range 1..2147483 (seconds; Linux: at most INT_MAX/HZ)"},
      {"net.ipv4.tcp_keepalive_intvl", "0", "1",
       "0 is out of range 1..2147483 (seconds; Linux: at most INT_MAX/HZ)"},
      {"net.ipv4.tcp_keepalive_probes", "256", "0", "256 is out of range 0..255 (Linux: u8)"},
      {"net.ipv4.ip_default_ttl", "0", "1", "0 is out of range 1..255 (Linux: 1..255)"},
      {"net.ipv4.ip_default_ttl", "256", "255", "256 is out of range 1..255 (Linux: 1..255)"},
      {"net.ipv4.tcp_timestamps", "2", "1",
       "'2' is not a boolean (true/false, yes/no, on/off, 1/0)"},
      {"net.ipv4.tcp_sack", "2", "0", "'2' is not a boolean (true/false, yes/no, on/off, 1/0)"},
      {"net.ipv4.tcp_window_scaling", "2", "1",
       "'2' is not a boolean (true/false, yes/no, on/off, 1/0)"},
      {"net.ipv4.tcp_abort_on_overflow", "2", "1",
       "'2' is not a boolean (true/false, yes/no, on/off, 1/0)"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(error_of(std::string("[sysctl]\n") + c.key + " = " + c.bad + "\n"),
              std::string("t.conf:2: [sysctl] ") + c.key + ": " + c.why);
    EXPECT_TRUE(
        parse_config(std::string("[sysctl]\n") + c.key + " = " + c.good + "\n" + kPort0, "t.conf")
            .ok())
        << c.key << " = " << c.good;
  }
}

TEST(Config, SysctlPortRange_Checked) {
  auto range_error = [](const std::string& v) {
    return error_of("[sysctl]\nnet.ipv4.ip_local_port_range = " + v + "\n");
  };
  EXPECT_EQ(range_error("60999 32768"),
            "t.conf:2: [sysctl] net.ipv4.ip_local_port_range: '60999 32768': the high end 32768 is "
            "below the low end 60999");
  EXPECT_EQ(range_error("0 60999"),
            "t.conf:2: [sysctl] net.ipv4.ip_local_port_range: 0 is out of range 1..65535 (Linux: "
            "1..65535)");
  EXPECT_EQ(range_error("32768 65536"),
            "t.conf:2: [sysctl] net.ipv4.ip_local_port_range: 65536 is out of range 1..65535 "
            "(Linux: 1..65535)");
  EXPECT_EQ(range_error("32768"),
            "t.conf:2: [sysctl] net.ipv4.ip_local_port_range: '32768' is not a port range (two "
            "numbers: low high)");
  EXPECT_EQ(range_error("1 2 3"),
            "t.conf:2: [sysctl] net.ipv4.ip_local_port_range: '1 2 3' is not a port range (two "
            "numbers: low high)");
  // Linux refuses only high < low: a range of one port is allowed.
  Config c = parse_ok(std::string("[sysctl]\nip_local_port_range = 40000 40000\n") + kPort0);
  EXPECT_EQ(c.sysctl.ip_local_port_range_low, 40000u);
  EXPECT_EQ(c.sysctl.ip_local_port_range_high, 40000u);
}

TEST(Config, SysctlSocketBuffers_Checked) {
  auto mem_error = [](const std::string& key, const std::string& v) {
    return error_of("[sysctl]\n" + key + " = " + v + "\n");
  };
  for (const char* key : {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}) {
    std::string head = std::string("t.conf:2: [sysctl] ") + key + ": ";
    EXPECT_EQ(mem_error(key, "4096 131072"),
              head + "'4096 131072' is not three numbers (min default max, in bytes)");
    EXPECT_EQ(mem_error(key, "1 2 3 4"),
              head + "'1 2 3 4' is not three numbers (min default max, in bytes)");
    EXPECT_EQ(mem_error(key, "0 131072 6291456"),
              head + "0 is out of range 1..2147483647 (Linux: 1..INT_MAX)");
    EXPECT_EQ(mem_error(key, "4096 131072 2147483648"),
              head + "2147483648 is out of range 1..2147483647 (Linux: 1..INT_MAX)");
    EXPECT_EQ(mem_error(key, "4096 4k 6291456"), head + "'4k' is not a number");
    EXPECT_EQ(mem_error(key, "8192 4096 6291456"),
              head + "'8192 4096 6291456': the default 4096 is below the min 8192");
    EXPECT_EQ(mem_error(key, "4096 131072 65536"),
              head + "'4096 131072 65536': the max 65536 is below the default 131072");
    EXPECT_EQ(mem_error(key, ""), head + "no value");
  }
  // Equal ends and the extremes are fine; the short and slash forms work.
  Config c = parse_ok(std::string("[sysctl]\ntcp_rmem = 1 1 2147483647\n") +
                      "net/ipv4/tcp_wmem=7 7 7\n" + kPort0);
  EXPECT_EQ(c.sysctl.tcp_rmem, (std::array<unsigned, 3>{1, 1, 2147483647}));
  EXPECT_EQ(c.sysctl.tcp_wmem, (std::array<unsigned, 3>{7, 7, 7}));
}

TEST(Config, SysctlCongestionControl_OnlyKnownNames) {
  EXPECT_EQ(parse_ok(std::string("[sysctl]\ntcp_congestion_control = reno\n") + kPort0)
                .sysctl.tcp_congestion_control,
            "reno");
  EXPECT_EQ(parse_ok(std::string("[sysctl]\nnet.ipv4.tcp_congestion_control=cubic\n") + kPort0)
                .sysctl.tcp_congestion_control,
            "cubic");
  for (const char* bad : {"bbr", "Cubic", "cubic reno"}) {
    EXPECT_EQ(error_of(std::string("[sysctl]\nnet.ipv4.tcp_congestion_control = ") + bad + "\n"),
              std::string("t.conf:2: [sysctl] net.ipv4.tcp_congestion_control: '") + bad +
                  "' is not a supported congestion control (cubic, reno)")
        << bad;
  }
}

TEST(Config, SysctlNewTunables_Ranges) {
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_invalid_ratelimit = 2147483648\n"),
            "t.conf:2: [sysctl] net.ipv4.tcp_invalid_ratelimit: 2147483648 is out of range "
            "0..2147483647 (ms; Linux: int)");
  EXPECT_EQ(parse_ok(std::string("[sysctl]\ntcp_invalid_ratelimit = 2147483647\n") + kPort0)
                .sysctl.tcp_invalid_ratelimit,
            2147483647u);
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_reordering = 0\n"),
            "t.conf:2: [sysctl] net.ipv4.tcp_reordering: 0 is out of range 1..300 (synwave: "
            "1..tcp_max_reordering)");
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_reordering = 301\n"),
            "t.conf:2: [sysctl] net.ipv4.tcp_reordering: 301 is out of range 1..300 (synwave: "
            "1..tcp_max_reordering)");
  EXPECT_EQ(parse_ok(std::string("[sysctl]\ntcp_reordering = 300\n") + kPort0).sysctl.tcp_reordering,
            300u);
  EXPECT_EQ(error_of("[sysctl]\nnet.ipv4.tcp_slow_start_after_idle = 2\n"),
            "t.conf:2: [sysctl] net.ipv4.tcp_slow_start_after_idle: '2' is not a boolean "
            "(true/false, yes/no, on/off, 1/0)");
  EXPECT_FALSE(parse_ok(std::string("[sysctl]\ntcp_slow_start_after_idle = off\n") + kPort0)
                   .sysctl.tcp_slow_start_after_idle);
}

// ---- [impairment] ----

TEST(Config, Impairment_ValuesParsed) {
  Config c = parse_ok(std::string(kPort0) +
                      "[impairment]\nloss_percent = 30\nduplicate_percent = 100.0\n"
                      "reorder_percent = 0.001\ndelay_us = 1000000\nseed = 0\ndirection = tx\n");
  EXPECT_DOUBLE_EQ(c.impairment.loss_percent, 30.0);
  EXPECT_DOUBLE_EQ(c.impairment.duplicate_percent, 100.0);
  EXPECT_DOUBLE_EQ(c.impairment.reorder_percent, 0.001);
  EXPECT_EQ(c.impairment.delay_us, 1000000u);
  EXPECT_EQ(c.impairment.seed, 0u);
  EXPECT_EQ(c.impairment.direction, ImpairmentConfig::Direction::kTx);
  EXPECT_EQ(parse_ok(std::string(kPort0) + "[impairment]\ndirection = both\n").impairment.direction,
            ImpairmentConfig::Direction::kBoth);
  // Only a delay turns it on as well; zero rates leave it off.
  EXPECT_TRUE(parse_ok(std::string(kPort0) + "[impairment]\ndelay_us = 1\n").impairment.enabled());
  EXPECT_FALSE(parse_ok(std::string(kPort0) + "[impairment]\nloss_percent = 0.0\nseed = 7\n")
                   .impairment.enabled());
}

TEST(Config, Impairment_BadValues_NameLine) {
  auto imp_error = [](const std::string& line) {
    return error_of(std::string(kPort0) + "[impairment]\n" + line + "\n");
  };
  for (const char* key : {"loss_percent", "duplicate_percent", "reorder_percent"}) {
    std::string head = std::string("t.conf:5: [impairment] ") + key + ": ";
    EXPECT_EQ(imp_error(std::string(key) + " = 100.5"),
              head + "100.5 is out of range 0..100 (percent)");
    for (const char* bad : {"-1", "1e2", ".5", "5.", "05", "30%", "1.2.3", "nan"}) {
      EXPECT_EQ(imp_error(std::string(key) + " = " + bad),
                head + "'" + bad + "' is not a decimal number (e.g. 30 or 0.5)")
          << bad;
    }
    EXPECT_EQ(imp_error(std::string(key) + " ="), head + "no value");
  }
  EXPECT_EQ(imp_error("delay_us = 1000001"),
            "t.conf:5: [impairment] delay_us: 1000001 is out of range 0..1000000");
  EXPECT_EQ(imp_error("seed = 18446744073709551616"),
            "t.conf:5: [impairment] seed: 18446744073709551616 is out of range "
            "0..18446744073709551615");
  EXPECT_EQ(imp_error("seed = -1"), "t.conf:5: [impairment] seed: '-1' is not a number");
  EXPECT_EQ(imp_error("direction = in"),
            "t.conf:5: [impairment] direction: 'in' is not both, rx or tx");
  EXPECT_EQ(imp_error("direction ="), "t.conf:5: [impairment] direction: no value");
  EXPECT_EQ(error_of(std::string(kPort0) + "[impairment]\nloss_percent = 1\nloss_percent = 2\n"),
            "t.conf:6: [impairment] duplicate key 'loss_percent' (already set on line 5)");
}

// ---- [flood] ----

FloodConfig flood_ok(const std::string& lines) {
  return parse_ok(std::string(kPort0) + "[flood]\n" + lines).flood;
}

std::string flood_error(const std::string& line) {
  return error_of(std::string(kPort0) + "[flood]\n" + line + "\n");
}

TEST(Config, Flood_DefaultsToTheBenchmarkingRange) {
  const FloodConfig f = parse_ok(kPort0).flood;
  ASSERT_EQ(f.allowed_destinations.size(), 1u);
  EXPECT_EQ(format_ipv4_prefix(f.allowed_destinations[0]), "198.18.0.0/15");
  EXPECT_EQ(format_ipv4_prefix(f.source_prefix), "198.19.0.0/16");
}

TEST(Config, Flood_ValuesParsed) {
  const FloodConfig f = flood_ok("allowed_destinations = 198.18.1.0/24, 10.99.0.0/16\nsource_prefix = 198.19.128.0/17\n");
  ASSERT_EQ(f.allowed_destinations.size(), 2u);
  EXPECT_EQ(format_ipv4_prefix(f.allowed_destinations[0]), "198.18.1.0/24");
  EXPECT_EQ(format_ipv4_prefix(f.allowed_destinations[1]), "10.99.0.0/16");
  EXPECT_EQ(format_ipv4_prefix(f.source_prefix), "198.19.128.0/17");
  EXPECT_EQ(format_ipv4_prefix(flood_ok("allowed_destinations = 198.18.0.1/32\n").allowed_destinations[0]),
            "198.18.0.1/32");
}

TEST(Config, Flood_ErrorsNameTheValue) {
  EXPECT_EQ(flood_error("allowed_destinations = 198.18.0.1/15"),
            "t.conf:5: [flood] allowed_destinations: '198.18.0.1/15' has host bits set (the network is "
            "198.18.0.0/15)");
  EXPECT_EQ(flood_error("allowed_destinations = 198.18.0.0/15,"),
            "t.conf:5: [flood] allowed_destinations: no value");
  EXPECT_EQ(flood_error("allowed_destinations = 198.18.0.0"),
            "t.conf:5: [flood] allowed_destinations: '198.18.0.0' is not an IPv4 network (A.B.C.D/N)");
  EXPECT_EQ(flood_error("source_prefix = 198.19.0.0/40"),
            "t.conf:5: [flood] source_prefix: '198.19.0.0/40': the prefix length 40 is out of range 0..32");
  EXPECT_EQ(flood_error("targets = 198.18.0.0/15"), "t.conf:5: [flood] unknown key 'targets'");
}

// ---- [shim] ----

// The error of `line` as the fifth line of a file (after the port and the [shim] header).
std::string shim_error(const std::string& line) {
  return error_of(std::string(kPort0) + "[shim]\n" + line + "\n");
}

ShimConfig shim_ok(const std::string& lines) {
  return parse_ok(std::string(kPort0) + "[shim]\n" + lines).shim;
}

TEST(Config, Shim_ValuesParsed) {
  EXPECT_FALSE(shim_ok("enabled = false\n").enabled);
  EXPECT_FALSE(shim_ok("enabled = off\n").enabled);
  EXPECT_TRUE(shim_ok("enabled = yes\n").enabled);
  EXPECT_EQ(shim_ok("directory = /tmp/synwave apps\n").directory, "/tmp/synwave apps");
  EXPECT_EQ(shim_ok("directory =\n").directory, "");  // the default
  EXPECT_EQ(shim_ok("max_apps = 1\n").max_apps, 1u);
  EXPECT_EQ(shim_ok("max_apps = 1024\n").max_apps, 1024u);
  EXPECT_EQ(shim_ok("max_sockets_per_app = 16\n").max_sockets_per_app, 16u);
  EXPECT_EQ(shim_ok("requests_per_poll = 1\n").requests_per_poll, 1u);
  EXPECT_EQ(shim_ok("requests_per_poll = 4096\n").requests_per_poll, 4096u);
  EXPECT_EQ(shim_ok("max_memory_mb_per_app = 1048576\n").max_memory_mb_per_app, 1048576u);
  EXPECT_EQ(shim_ok("buffer_bytes = 4096\n").buffer_bytes, 4096u);
  // The largest buffers with the fewest sockets: 16 * 2 * 16 MiB = 512 MiB.
  ShimConfig big =
      shim_ok("buffer_bytes = 16777216\nmax_sockets_per_app = 16\nmax_memory_mb_per_app = 512\n");
  EXPECT_EQ(big.buffer_bytes, 16777216u);
  EXPECT_EQ(big.max_sockets_per_app, 16u);
}

TEST(Config, Shim_ModeIsOctal) {
  EXPECT_EQ(shim_ok("mode = 0660\n").mode, 0660u);
  EXPECT_EQ(shim_ok("mode = 660\n").mode, 0660u);
  EXPECT_EQ(shim_ok("mode = 0777\n").mode, 0777u);
  EXPECT_EQ(shim_ok("mode = 0\n").mode, 0u);
  EXPECT_EQ(shim_ok("mode = 00600\n").mode, 0600u);
  EXPECT_EQ(shim_ok("mode = 17\n").mode, 017u);
  for (const char* bad :
       {"0680", "0669", "rw-rw----", "0x1b6", "-0660", "+660", "06 60", "0o660"}) {
    EXPECT_EQ(shim_error(std::string("mode = ") + bad),
              std::string("t.conf:5: [shim] mode: '") + bad +
                  "' is not an octal file mode (digits 0-7, e.g. 0660)")
        << bad;
  }
  EXPECT_EQ(shim_error("mode = 01000"), "t.conf:5: [shim] mode: 01000 is out of range 0..0777");
  EXPECT_EQ(shim_error("mode = 4755"), "t.conf:5: [shim] mode: 4755 is out of range 0..0777");
  EXPECT_EQ(shim_error("mode = 77777777777777777777777"),
            "t.conf:5: [shim] mode: 77777777777777777777777 is out of range 0..0777");
  EXPECT_EQ(shim_error("mode ="), "t.conf:5: [shim] mode: no value");
}

TEST(Config, Shim_IdLists) {
  EXPECT_EQ(shim_ok("allow_uids = 1000\n").allow_uids, std::vector<unsigned>{1000});
  EXPECT_EQ(shim_ok("allow_uids = 1001,1000 ,\t0\n").allow_uids,
            (std::vector<unsigned>{1001, 1000, 0}));
  EXPECT_EQ(shim_ok("allow_gids = 4294967294, 27\n").allow_gids,
            (std::vector<unsigned>{4294967294u, 27}));
  EXPECT_TRUE(shim_ok("allow_uids =\nallow_gids =\n").allow_uids.empty());
  for (const char* what : {"uid", "gid"}) {
    std::string key = std::string("allow_") + what + "s";
    std::string head = "t.conf:5: [shim] " + key + ": ";
    for (const char* bad : {"1000,", ",1000", "1000,,1001", "1000 1001", "1000;1001", "-1", "abc",
                            "0100", "1e3", "1000-1002"}) {
      EXPECT_EQ(shim_error(key + " = " + bad),
                head + "'" + bad + "' is not a " + what + " list (write e.g. 1000 or 1000, 1001)")
          << bad;
    }
    EXPECT_EQ(shim_error(key + " = 1000, 4294967295"),
              head + what + " 4294967295 is out of range 0..4294967294 ((" + what +
                  "_t) -1 means none) in '1000, 4294967295'");
    EXPECT_EQ(shim_error(key + " = 1000, 1001, 1000"),
              head + what + " 1000 is listed twice in '1000, 1001, 1000'");
  }
}

TEST(Config, Shim_NumbersOutOfRange_NameLine) {
  EXPECT_EQ(shim_error("enabled = maybe"),
            "t.conf:5: [shim] enabled: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
  EXPECT_EQ(shim_error("enabled ="), "t.conf:5: [shim] enabled: no value");
  EXPECT_EQ(shim_error("max_apps = 0"), "t.conf:5: [shim] max_apps: 0 is out of range 1..1024");
  EXPECT_EQ(shim_error("max_apps = 1025"),
            "t.conf:5: [shim] max_apps: 1025 is out of range 1..1024");
  EXPECT_EQ(shim_error("max_sockets_per_app = 15"),
            "t.conf:5: [shim] max_sockets_per_app: 15 is out of range 16..1048576");
  EXPECT_EQ(shim_error("max_sockets_per_app = 1048577"),
            "t.conf:5: [shim] max_sockets_per_app: 1048577 is out of range 16..1048576");
  EXPECT_EQ(shim_error("max_memory_mb_per_app = 0"),
            "t.conf:5: [shim] max_memory_mb_per_app: 0 is out of range 1..1048576");
  EXPECT_EQ(shim_error("max_memory_mb_per_app = 1048577"),
            "t.conf:5: [shim] max_memory_mb_per_app: 1048577 is out of range 1..1048576");
  EXPECT_EQ(shim_error("requests_per_poll = 0"),
            "t.conf:5: [shim] requests_per_poll: 0 is out of range 1..4096");
  EXPECT_EQ(shim_error("requests_per_poll = 4097"),
            "t.conf:5: [shim] requests_per_poll: 4097 is out of range 1..4096");
  EXPECT_EQ(shim_error("max_apps = 064"), "t.conf:5: [shim] max_apps: '064' is not a number");
  EXPECT_EQ(shim_error("max_apps = 64 apps"),
            "t.conf:5: [shim] max_apps: '64 apps' is not a number");
  EXPECT_EQ(error_of(std::string(kPort0) + "[shim]\nmax_apps = 1\nmax_apps = 2\n"),
            "t.conf:6: [shim] duplicate key 'max_apps' (already set on line 5)");
}

TEST(Config, Shim_BufferBytes_PowerOfTwoInRange) {
  EXPECT_EQ(shim_error("buffer_bytes = 65535"),
            "t.conf:5: [shim] buffer_bytes: 65535 is not a power of two");
  EXPECT_EQ(shim_error("buffer_bytes = 100000"),
            "t.conf:5: [shim] buffer_bytes: 100000 is not a power of two");
  EXPECT_EQ(shim_error("buffer_bytes = 2048"),
            "t.conf:5: [shim] buffer_bytes: 2048 is out of range 4096..16777216");
  EXPECT_EQ(shim_error("buffer_bytes = 33554432"),
            "t.conf:5: [shim] buffer_bytes: 33554432 is out of range 4096..16777216");
  EXPECT_EQ(shim_error("buffer_bytes = 64k"),
            "t.conf:5: [shim] buffer_bytes: '64k' is not a number");
  for (unsigned bytes = 4096; bytes <= 16777216; bytes *= 2) {
    EXPECT_EQ(shim_ok("max_sockets_per_app = 16\nbuffer_bytes = " + std::to_string(bytes) + "\n")
                  .buffer_bytes,
              bytes);
  }
}

TEST(Config, Shim_Directory_Checked) {
  EXPECT_EQ(shim_error("directory = run/synwave"),
            "t.conf:5: [shim] directory: 'run/synwave' is not an absolute path");
  EXPECT_EQ(shim_error("directory = ~/synwave"),
            "t.conf:5: [shim] directory: '~/synwave' is not an absolute path");
  // <directory>/shim.sock must fit sockaddr_un's sun_path (108 bytes with the NUL): 97 bytes of
  // directory at most.
  std::string longest = "/" + std::string(96, 'd');
  EXPECT_EQ(shim_ok("directory = " + longest + "\n").directory, longest);
  std::string too_long = longest + "d";
  EXPECT_EQ(shim_error("directory = " + too_long),
            "t.conf:5: [shim] directory: '" + too_long + "' is too long: the socket path " +
                too_long + "/shim.sock has 108 bytes, more than 107 (sockaddr_un)");
}

TEST(Config, Shim_BuffersMustFitTheRegion) {
  // 4096 sockets * 2 * 65536 bytes = 512 MiB: exactly the limit is fine.
  EXPECT_EQ(shim_ok("max_memory_mb_per_app = 512\n").max_memory_mb_per_app, 512u);
  // The limit is blamed when it is set, wherever it stands.
  EXPECT_EQ(shim_error("max_memory_mb_per_app = 511"),
            "t.conf:5: [shim] max_memory_mb_per_app: max_sockets_per_app * 2 * buffer_bytes = "
            "4096 * 2 * 65536 = 536870912 bytes is more than max_memory_mb_per_app = 511 MiB "
            "(535822336 bytes)");
  EXPECT_EQ(error_of(std::string(kPort0) +
                     "[shim]\nmax_memory_mb_per_app = 64\nmax_sockets_per_app = 1024\n"
                     "buffer_bytes = 65536\n[engine]\n"),
            "t.conf:5: [shim] max_memory_mb_per_app: max_sockets_per_app * 2 * buffer_bytes = "
            "1024 * 2 * 65536 = 134217728 bytes is more than max_memory_mb_per_app = 64 MiB "
            "(67108864 bytes)");
  // With the default limit, the later of the two factors.
  EXPECT_EQ(error_of(std::string(kPort0) + "[shim]\nmax_sockets_per_app = 8192\n"
                                           "buffer_bytes = 131072\n"),
            "t.conf:6: [shim] buffer_bytes: max_sockets_per_app * 2 * buffer_bytes = 8192 * 2 * "
            "131072 = 2147483648 bytes is more than max_memory_mb_per_app = 1024 MiB (1073741824 "
            "bytes)");
  EXPECT_EQ(error_of(std::string(kPort0) + "[shim]\nbuffer_bytes = 131072\n"
                                           "# then\nmax_sockets_per_app = 8192\n"),
            "t.conf:7: [shim] max_sockets_per_app: max_sockets_per_app * 2 * buffer_bytes = 8192 "
            "* 2 * 131072 = 2147483648 bytes is more than max_memory_mb_per_app = 1024 MiB "
            "(1073741824 bytes)");
  EXPECT_EQ(shim_error("buffer_bytes = 262144"),
            "t.conf:5: [shim] buffer_bytes: max_sockets_per_app * 2 * buffer_bytes = 4096 * 2 * "
            "262144 = 2147483648 bytes is more than max_memory_mb_per_app = 1024 MiB (1073741824 "
            "bytes)");
  // The extremes do not overflow: 2^20 sockets * 2 * 2^24 bytes = 2^45 bytes = 2^25 MiB.
  EXPECT_EQ(shim_error("max_sockets_per_app = 1048576\nbuffer_bytes = 16777216\n"
                       "max_memory_mb_per_app = 1048576"),
            "t.conf:7: [shim] max_memory_mb_per_app: max_sockets_per_app * 2 * buffer_bytes = "
            "1048576 * 2 * 16777216 = 35184372088832 bytes is more than max_memory_mb_per_app = "
            "1048576 MiB (1099511627776 bytes)");
  // Checked even with the shim off: the section is still a configuration.
  EXPECT_EQ(shim_error("enabled = false\nmax_memory_mb_per_app = 1"),
            "t.conf:6: [shim] max_memory_mb_per_app: max_sockets_per_app * 2 * buffer_bytes = "
            "4096 * 2 * 65536 = 536870912 bytes is more than max_memory_mb_per_app = 1 MiB "
            "(1048576 bytes)");
}

TEST(Config, ShimDirectory_DefaultAndOverride) {
  Config c = parse_ok(kPort0);
  EXPECT_EQ(shim_directory(c), "/run/synwave/synwave");
  c = parse_ok(std::string("[eal]\nfile_prefix = sw-b\n") + kPort0);
  EXPECT_EQ(shim_directory(c), "/run/synwave/sw-b");
  c = parse_ok(std::string("[eal]\nfile_prefix = sw-b\n") + kPort0 +
               "[shim]\ndirectory = /var/lib/synwave\n");
  EXPECT_EQ(c.shim.directory, "/var/lib/synwave");
  EXPECT_EQ(shim_directory(c), "/var/lib/synwave");
  // An explicitly empty directory is the default.
  c = parse_ok(std::string(kPort0) + "[shim]\ndirectory =\n");
  EXPECT_EQ(shim_directory(c), "/run/synwave/synwave");
  // A Config built in code.
  Config code;
  code.eal.file_prefix = "x";
  EXPECT_EQ(shim_directory(code), "/run/synwave/x");
}

TEST(Config, ShimDefaultSocketPath_MustFitWithTheFilePrefix) {
  // /run/synwave/<prefix>/shim.sock: 23 bytes besides the prefix, 107 at most.
  std::string longest(84, 'p');
  EXPECT_EQ(parse_ok("[eal]\nfile_prefix = " + longest + "\n" + kPort0).eal.file_prefix, longest);
  std::string too_long(85, 'p');
  EXPECT_EQ(error_of("[eal]\nfile_prefix = " + too_long + "\n" + kPort0),
            "t.conf:2: [eal] file_prefix: '" + too_long +
                "' is too long for the shim: the socket path /run/synwave/" + too_long +
                "/shim.sock has 108 bytes, more than 107 (sockaddr_un); shorten it, set [shim] "
                "directory, or set [shim] enabled = false");
  // Either way out works.
  EXPECT_EQ(
      parse_ok("[eal]\nfile_prefix = " + too_long + "\n" + kPort0 + "[shim]\ndirectory = /run/sw\n")
          .shim.directory,
      "/run/sw");
  EXPECT_FALSE(
      parse_ok("[eal]\nfile_prefix = " + too_long + "\n" + kPort0 + "[shim]\nenabled = 0\n")
          .shim.enabled);
}

// ---- files ----

std::string config_dir() {
  const char* dir = std::getenv("SYNWAVE_CONFIG_DIR");
  return dir ? dir : "";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Config, ShippedExamples_AllParse) {
  ASSERT_FALSE(config_dir().empty()) << "SYNWAVE_CONFIG_DIR is not set (meson sets it)";
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(config_dir())) {
    std::string name = entry.path().filename().string();
    found.insert(name);
    auto config = load_config(entry.path().string());
    EXPECT_TRUE(config.ok()) << name << ": " << config.status();
  }
  for (const char* name : {"net_tap.conf", "net_memif_server.conf", "net_memif_client.conf",
                           "pci.conf", "synwave.conf.example"}) {
    EXPECT_EQ(found.count(name), 1u) << name;
  }
}

TEST(Config, NetTapExample_IsTheDefaultSetup) {
  auto c = load_config(config_dir() + "/net_tap.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->eal.lcores, std::vector<unsigned>{1});
  EXPECT_EQ(c->eal.hugepages, EalConfig::Hugepages::kAuto);
  ASSERT_EQ(c->ports.size(), 1u);
  EXPECT_EQ(c->ports[0].device, "net_tap0");
  EXPECT_EQ(c->ports[0].devargs, "iface=synwave0");
  EXPECT_EQ(format_ipv4(c->ports[0].ipv4), "198.18.0.2");
  EXPECT_EQ(c->ports[0].prefix_len, 24u);
  ASSERT_TRUE(c->ports[0].gateway.has_value());
  EXPECT_EQ(format_ipv4(*c->ports[0].gateway), "198.18.0.1");
  EXPECT_EQ(c->engine.idle_sleep_us, 20u);
}

TEST(Config, MemifExamples_RunSideBySide) {
  auto server = load_config(config_dir() + "/net_memif_server.conf");
  auto client = load_config(config_dir() + "/net_memif_client.conf");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(server->ports[0].devargs, "role=server,socket=/run/synwave/memif.sock,mac=02:00:5e:00:53:11");
  EXPECT_EQ(client->ports[0].devargs, "role=client,socket=/run/synwave/memif.sock,mac=02:00:5e:00:53:12");
  EXPECT_EQ(format_ipv4(server->ports[0].ipv4), "198.18.1.1");
  EXPECT_EQ(format_ipv4(client->ports[0].ipv4), "198.18.1.2");
  EXPECT_TRUE(same_subnet(server->ports[0].ipv4, client->ports[0].ipv4, 24));
  EXPECT_NE(server->eal.file_prefix, client->eal.file_prefix);
  EXPECT_NE(server->eal.lcores, client->eal.lcores);
  // memif cannot change its MAC after start: the MACs are devargs, not `mac` keys.
  EXPECT_FALSE(server->ports[0].mac.has_value());
  EXPECT_FALSE(client->ports[0].mac.has_value());
}

TEST(Config, PciExample_UsesHugepagesAndBusyPolls) {
  auto c = load_config(config_dir() + "/pci.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ports[0].device, "0000:03:00.0");
  EXPECT_EQ(c->eal.hugepages, EalConfig::Hugepages::kOn);
  EXPECT_EQ(c->engine.idle_sleep_us, 0u);
}

TEST(Config, FullExample_ListsEveryKeyWithItsDefault) {
  std::string path = config_dir() + "/synwave.conf.example";
  auto c = load_config(path);
  ASSERT_TRUE(c.ok()) << c.status();
  expect_default_eal(c->eal);
  expect_default_engine(c->engine);
  expect_default_arp(c->arp);
  expect_default_sysctl(c->sysctl);
  expect_default_impairment(c->impairment);
  expect_default_shim(c->shim);
  ASSERT_EQ(c->ports.size(), 1u);
  expect_default_port_tunables(c->ports[0]);
  std::string text = read_text(path);
  for (const char* key : {"lcores =",
                          "hugepages =",
                          "memory_mb =",
                          "file_prefix =",
                          "in_memory =",
                          "extra_args =",
                          "device =",
                          "devargs =",
                          "# mac =",
                          "ipv4 =",
                          "# gateway =",
                          "mtu =",
                          "rx_descriptors =",
                          "tx_descriptors =",
                          "# lcores = 1-2",
                          "steering =",
                          "rss_key =",
                          "burst_size =",
                          "mbufs_per_engine =",
                          "mempool_cache =",
                          "idle_sleep_us =",
                          "entries =",
                          "reachable_ms =",
                          "retrans_ms =",
                          "max_retries =",
                          "queue_len =",
                          "gratuitous =",
                          "net.ipv4.tcp_syn_retries =",
                          "net.ipv4.tcp_synack_retries =",
                          "net.ipv4.tcp_orphan_retries =",
                          "net.ipv4.tcp_retries2 =",
                          "net.ipv4.tcp_fin_timeout =",
                          "synwave.tcp_timewait_len =",
                          "net.ipv4.tcp_max_syn_backlog =",
                          "net.core.somaxconn =",
                          "net.ipv4.tcp_abort_on_overflow =",
                          "net.ipv4.tcp_syncookies =",
                          "net.ipv4.tcp_tw_reuse =",
                          "net.ipv4.ip_local_port_range =",
                          "net.ipv4.tcp_keepalive_time =",
                          "net.ipv4.tcp_keepalive_intvl =",
                          "net.ipv4.tcp_keepalive_probes =",
                          "net.ipv4.tcp_timestamps =",
                          "net.ipv4.tcp_sack =",
                          "net.ipv4.tcp_window_scaling =",
                          "net.ipv4.ip_default_ttl =",
                          "net.ipv4.tcp_rmem =",
                          "net.ipv4.tcp_wmem =",
                          "net.ipv4.tcp_congestion_control =",
                          "net.ipv4.tcp_invalid_ratelimit =",
                          "net.ipv4.tcp_slow_start_after_idle =",
                          "net.ipv4.tcp_reordering =",
                          "# loss_percent =",
                          "# duplicate_percent =",
                          "# reorder_percent =",
                          "# delay_us =",
                          "# seed =",
                          "# direction =",
                          "[shim]",
                          "# enabled =",
                          "# directory =",
                          "# mode =",
                          "# allow_uids =",
                          "# allow_gids =",
                          "# max_apps =",
                          "# max_sockets_per_app =",
                          "# buffer_bytes =",
                          "# max_memory_mb_per_app =",
                          "# requests_per_poll ="}) {
    EXPECT_NE(text.find(std::string("\n") + key), std::string::npos) << key;
  }
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "config_test_" + std::to_string(::getpid()) + ".conf";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(ConfigFile, Load_UsesThePathAsSource) {
  write(kPort0);
  auto c = load_config(path_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->source, path_);
}

TEST_F(ConfigFile, LoadError_NamesPathAndLine) {
  write(std::string(kPort0) + "gateway = 198.18.9.1\n");
  auto c = load_config(path_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            path_ + ":4: [port.0] gateway: 198.18.9.1 is outside 198.18.0.2/24");
}

TEST_F(ConfigFile, Missing_IsNotFoundNamingPath) {
  auto c = load_config(path_ + ".absent");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find(path_ + ".absent"), absl::string_view::npos) << c.status();
}

TEST_F(ConfigFile, Unreadable_IsPermissionDeniedNamingPath) {
  write(kPort0);
  ASSERT_EQ(::chmod(path_.c_str(), 0), 0);
  std::string path = path_;
  // Root reads any file; a write-only sysctl file refuses reading even to root.
  if (::access(path.c_str(), R_OK) == 0) path = "/proc/sys/vm/drop_caches";
  if (::access(path.c_str(), R_OK) == 0) GTEST_SKIP() << "no unreadable file available";
  auto c = load_config(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(c.status().message().find(path), absl::string_view::npos) << c.status();
}

}  // namespace
}  // namespace synwave
