#include "engine/port.h"

#include <rte_ethdev.h>
#include <rte_errno.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace synwave {
namespace {

absl::Status dpdk_error(const PortConfig& config, const char* call, int ret) {
  return absl::InternalError(absl::StrCat("port ", config.index, " (", config.device, "): ", call,
                                          " failed: ", rte_strerror(ret < 0 ? -ret : ret)));
}

// "<source>:<line>: [port.N] (<device>): <what>", for a configuration the port cannot carry.
absl::Status config_error(const PortConfig& config, const std::string& source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", config.line, ": [port.", config.index, "] (",
                                                 config.device, "): ", what));
}

// What the NIC must hash for our flows: TCP and UDP over IPv4 by 4-tuple (and the addresses of
// anything else).
constexpr std::uint64_t kWantedRssTypes = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;

// net_tap advertises RSS, but without rte_flow rules compiled to eBPF its queues are filled by the
// kernel's own flow hash (tun's automatic queue selection): not Toeplitz, so not predictable.
bool hashes_by_toeplitz(const rte_eth_dev_info& dev_info) {
  const std::string driver = dev_info.driver_name ? dev_info.driver_name : "";
  return (dev_info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0 && driver != "net_tap";
}

// Sets the RETA to round-robin over the queues (so we know it), or reads the one the NIC has.
absl::StatusOr<std::vector<std::uint16_t>> program_reta(const PortConfig& config, std::uint16_t port,
                                                         unsigned reta_size, unsigned queues) {
  if (reta_size == 0 || reta_size % RTE_ETH_RETA_GROUP_SIZE != 0)
    return absl::FailedPreconditionError(absl::StrCat("port ", config.index, " (", config.device,
                                                      "): the driver reports an RSS redirection table of ", reta_size,
                                                      " entries; set steering = software"));
  std::vector<rte_eth_rss_reta_entry64> groups(reta_size / RTE_ETH_RETA_GROUP_SIZE);
  for (unsigned i = 0; i < reta_size; ++i) {
    groups[i / RTE_ETH_RETA_GROUP_SIZE].mask = ~0ull;
    groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<std::uint16_t>(i % queues);
  }
  if (rte_eth_dev_rss_reta_update(port, groups.data(), static_cast<std::uint16_t>(reta_size)) != 0) {
    for (auto& group : groups) group.mask = ~0ull;
    if (int ret = rte_eth_dev_rss_reta_query(port, groups.data(), static_cast<std::uint16_t>(reta_size)); ret != 0)
      return dpdk_error(config, "rte_eth_dev_rss_reta_query", ret);
  }
  std::vector<std::uint16_t> reta(reta_size);
  for (unsigned i = 0; i < reta_size; ++i) reta[i] = groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  return reta;
}

}  // namespace

const char* steering_name(Steering steering) {
  switch (steering) {
    case Steering::kNone: return "none";
    case Steering::kHardware: return "hardware";
    case Steering::kSoftware: return "software";
  }
  return "?";
}

namespace {

}  // namespace

absl::StatusOr<PortInfo> start_port(const PortConfig& config, const std::string& source,
                                    std::span<rte_mempool* const> pools) {
  PortInfo info;
  info.name = config.device;
  info.queues = static_cast<unsigned>(pools.size());
  if (rte_eth_dev_get_port_by_name(config.device.c_str(), &info.port_id) != 0)
    return absl::NotFoundError(absl::StrCat("port ", config.index, ": no DPDK device named '",
                                            config.device, "' (was it probed? check the PMD name "
                                            "and, for a PCI NIC, dpdk-devbind.py --status)"));
  const std::uint16_t port = info.port_id;

  rte_eth_dev_info dev_info;
  if (int ret = rte_eth_dev_info_get(port, &dev_info); ret != 0)
    return dpdk_error(config, "rte_eth_dev_info_get", ret);
  info.driver = dev_info.driver_name ? dev_info.driver_name : "";
  if (info.queues > dev_info.max_rx_queues || info.queues > dev_info.max_tx_queues)
    return config_error(config, source,
                        absl::StrCat(info.queues, " engines serve it and need a queue pair each; the ", info.driver,
                                     " driver offers ", std::min(dev_info.max_rx_queues, dev_info.max_tx_queues),
                                     " (fewer [eal] lcores, or [port.", config.index, "] lcores = a subset)"));

  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof conf);
  conf.rxmode.mtu = config.mtu;
  const RssKey key = config.rss_key ? RssKey(*config.rss_key) : kSymmetricRssKey;
  // The NIC's key may be longer than the 16 bytes an IPv4 4-tuple uses (i40e takes 52): repeat ours.
  std::vector<std::uint8_t> nic_key(std::max<unsigned>(dev_info.hash_key_size, kRssKeyBytes));
  for (std::size_t i = 0; i < nic_key.size(); ++i) nic_key[i] = key[i % kRssKeyBytes];
  if (info.queues > 1) {
    using Wanted = PortConfig::Steering;
    const bool can_hash = hashes_by_toeplitz(dev_info);
    if (config.steering == Wanted::kHardware && !can_hash)
      return config_error(config, source,
                          absl::StrCat("steering = hardware, but the ", info.driver,
                                       " driver has no Toeplitz RSS over TCP/IPv4; use steering = software (or auto)"));
    info.steering = config.steering == Wanted::kSoftware || !can_hash ? Steering::kSoftware : Steering::kHardware;
  }
  if (info.steering == Steering::kHardware) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = nic_key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<std::uint8_t>(nic_key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = kWantedRssTypes & dev_info.flow_type_rss_offloads;
    info.offloads.rss = true;
  }
  const std::uint64_t tx_capa = dev_info.tx_offload_capa;
  auto want_tx = [&](std::uint64_t flag, bool& have) {
    if (tx_capa & flag) {
      conf.txmode.offloads |= flag;
      have = true;
    }
  };
  want_tx(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, info.offloads.ipv4_checksum);
  want_tx(RTE_ETH_TX_OFFLOAD_TCP_CKSUM, info.offloads.tcp_checksum);
  want_tx(RTE_ETH_TX_OFFLOAD_UDP_CKSUM, info.offloads.udp_checksum);
  want_tx(RTE_ETH_TX_OFFLOAD_TCP_TSO, info.offloads.tcp_tso);

  if (int ret = rte_eth_dev_configure(port, info.queues, info.queues, &conf); ret != 0)
    return dpdk_error(config, "rte_eth_dev_configure", ret);

  std::uint16_t rx_desc = static_cast<std::uint16_t>(config.rx_descriptors);
  std::uint16_t tx_desc = static_cast<std::uint16_t>(config.tx_descriptors);
  if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc); ret != 0)
    return dpdk_error(config, "rte_eth_dev_adjust_nb_rx_tx_desc", ret);

  const int socket = rte_eth_dev_socket_id(port);
  for (unsigned q = 0; q < info.queues; ++q) {
    if (int ret = rte_eth_rx_queue_setup(port, static_cast<std::uint16_t>(q), rx_desc,
                                         static_cast<unsigned>(socket), nullptr, pools[q]);
        ret != 0)
      return dpdk_error(config, "rte_eth_rx_queue_setup", ret);
    rte_eth_txconf txconf = dev_info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int ret = rte_eth_tx_queue_setup(port, static_cast<std::uint16_t>(q), tx_desc,
                                         static_cast<unsigned>(socket), &txconf);
        ret != 0)
      return dpdk_error(config, "rte_eth_tx_queue_setup", ret);
  }

  // Software pipes (net_ring, net_null) filter nothing and have no address of their own (the ring
  // PMD reports 00:00:00:00:00:00): there the configured MAC is simply the one the stack uses.
  const bool software_pipe = info.driver == "net_ring" || info.driver == "net_null";
  bool mac_in_software = false;
  if (config.mac) {
    rte_ether_addr mac;
    std::memcpy(mac.addr_bytes, config.mac->bytes.data(), 6);
    if (int ret = rte_eth_dev_default_mac_addr_set(port, &mac); ret != 0) {
      if (ret == -ENOTSUP && software_pipe) {
        mac_in_software = true;
      } else if (ret == -ENOTSUP) {
        return absl::InvalidArgumentError(absl::StrCat(
            "port ", config.index, " (", config.device, "): this driver cannot change its MAC; remove "
            "'mac' and give it in the devargs instead where the driver supports it (net_memif, net_tap: "
            "mac=02:...)"));
      } else {
        return dpdk_error(config, "rte_eth_dev_default_mac_addr_set", ret);
      }
    }
  }
  if (mac_in_software) {
    info.mac = *config.mac;
  } else {
    rte_ether_addr mac;
    if (int ret = rte_eth_macaddr_get(port, &mac); ret != 0)
      return dpdk_error(config, "rte_eth_macaddr_get", ret);
    std::memcpy(info.mac.bytes.data(), mac.addr_bytes, 6);
  }

  if (int ret = rte_eth_dev_start(port); ret != 0) return dpdk_error(config, "rte_eth_dev_start", ret);
  std::uint16_t mtu = 0;
  info.mtu = rte_eth_dev_get_mtu(port, &mtu) == 0 ? mtu : config.mtu;

  if (info.steering != Steering::kNone) {
    std::vector<std::uint16_t> reta;
    if (info.steering == Steering::kHardware) {
      auto nic_reta = program_reta(config, port, dev_info.reta_size, info.queues);
      if (!nic_reta.ok()) return nic_reta.status();
      reta = *std::move(nic_reta);
    } else {
      reta = RssTable::round_robin_reta(info.queues);
    }
    auto table = RssTable::create(key, std::move(reta));
    if (!table.ok()) return table.status();
    info.rss = std::make_shared<const RssTable>(*std::move(table));
  }
  return info;
}

void stop_port(const PortInfo& port) {
  rte_eth_dev_stop(port.port_id);
  rte_eth_dev_close(port.port_id);
}

}  // namespace synwave
