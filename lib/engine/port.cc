#include "engine/port.h"

#include <rte_ethdev.h>
#include <rte_errno.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace synwave {
namespace {

// A Toeplitz key made of one repeated 16-bit pattern hashes (a, b) and (b, a) alike, so both
// directions of a connection land on the same queue (Woo and Park, "Scalable TCP session
// monitoring with symmetric receive-side scaling").
constexpr std::uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

absl::Status dpdk_error(const PortConfig& config, const char* call, int ret) {
  return absl::InternalError(absl::StrCat("port ", config.index, " (", config.device, "): ", call,
                                          " failed: ", rte_strerror(ret < 0 ? -ret : ret)));
}

}  // namespace

absl::StatusOr<PortInfo> start_port(const PortConfig& config, std::span<rte_mempool* const> pools) {
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
    return absl::InvalidArgumentError(
        absl::StrCat("port ", config.index, " (", config.device, "): ", info.queues,
                     " engines need as many queues, the port offers ", dev_info.max_rx_queues));

  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof conf);
  conf.rxmode.mtu = config.mtu;
  if (info.queues > 1 && dev_info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = const_cast<std::uint8_t*>(kSymmetricRssKey);
    conf.rx_adv_conf.rss_conf.rss_key_len = sizeof kSymmetricRssKey;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & dev_info.flow_type_rss_offloads;
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

  if (config.mac) {
    rte_ether_addr mac;
    std::memcpy(mac.addr_bytes, config.mac->bytes.data(), 6);
    if (int ret = rte_eth_dev_default_mac_addr_set(port, &mac); ret != 0) {
      if (ret == -ENOTSUP)
        return absl::InvalidArgumentError(absl::StrCat(
            "port ", config.index, " (", config.device, "): this driver cannot change its MAC; remove "
            "'mac' and give it in the devargs instead where the driver supports it (net_memif, net_tap: "
            "mac=02:...)"));
      return dpdk_error(config, "rte_eth_dev_default_mac_addr_set", ret);
    }
  }
  rte_ether_addr mac;
  if (int ret = rte_eth_macaddr_get(port, &mac); ret != 0)
    return dpdk_error(config, "rte_eth_macaddr_get", ret);
  std::memcpy(info.mac.bytes.data(), mac.addr_bytes, 6);

  if (int ret = rte_eth_dev_start(port); ret != 0) return dpdk_error(config, "rte_eth_dev_start", ret);
  std::uint16_t mtu = 0;
  info.mtu = rte_eth_dev_get_mtu(port, &mtu) == 0 ? mtu : config.mtu;
  return info;
}

void stop_port(const PortInfo& port) {
  rte_eth_dev_stop(port.port_id);
  rte_eth_dev_close(port.port_id);
}

}  // namespace synwave
