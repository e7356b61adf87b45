// How a configuration becomes rte_eal_init arguments.
#include "engine/eal.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace synwave {
namespace {

Config tap_config() {
  Config config;
  config.source = "test.conf";
  config.eal.lcores = {1};
  config.eal.file_prefix = "sw1";
  PortConfig port;
  port.device = "net_tap0";
  port.devargs = "iface=sw0";
  port.ipv4 = *parse_ipv4("198.18.0.2");
  config.ports.push_back(port);
  return config;
}

bool has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

TEST(EalArgs, NoHugepagesFree_RunsWithNoHugeAndNoSharedConfig) {
  auto args = build_eal_args(tap_config(), HostFacts{.hugepages_free = 0, .cpu_count = 2});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(*args, (std::vector<std::string>{"synwave", "-l", "0,1", "--main-lcore=0", "--file-prefix=sw1",
                                             "--no-huge", "--no-shconf", "-m", "512",
                                             "--vdev=net_tap0,iface=sw0", "--no-pci"}));
}

TEST(EalArgs, HugepagesFreeAndAuto_UsesThem) {
  auto args = build_eal_args(tap_config(), HostFacts{.hugepages_free = 512, .cpu_count = 2});
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(has(*args, "--no-huge"));
  EXPECT_FALSE(has(*args, "-m"));
}

TEST(EalArgs, InMemoryWithoutHugepages_RefusedWithReason) {
  Config config = tap_config();
  config.eal.in_memory = true;
  auto args = build_eal_args(config, HostFacts{.hugepages_free = 0, .cpu_count = 2});
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find("--in-memory does not combine with --no-huge"), std::string::npos);
}

TEST(EalArgs, InMemoryWithHugepages_Passed) {
  Config config = tap_config();
  config.eal.in_memory = true;
  auto args = build_eal_args(config, HostFacts{.hugepages_free = 16, .cpu_count = 2});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(has(*args, "--in-memory"));
}

TEST(EalArgs, HugepagesOnButNoneFree_Refused) {
  Config config = tap_config();
  config.eal.hugepages = EalConfig::Hugepages::kOn;
  EXPECT_FALSE(build_eal_args(config, HostFacts{.hugepages_free = 0, .cpu_count = 2}).ok());
}

TEST(EalArgs, PciPort_AllowListedAndPciBusKept) {
  Config config = tap_config();
  config.ports[0].device = "0000:03:00.0";
  config.ports[0].devargs = "";
  auto args = build_eal_args(config, HostFacts{.hugepages_free = 1024, .cpu_count = 4});
  ASSERT_TRUE(args.ok());
  auto a = std::find(args->begin(), args->end(), "-a");
  ASSERT_NE(a, args->end());
  EXPECT_EQ(*(a + 1), "0000:03:00.0");
  EXPECT_FALSE(has(*args, "--no-pci"));
}

TEST(EalArgs, ExtraArgsComeLast) {
  Config config = tap_config();
  config.eal.extra_args = {"--log-level=lib.eal:debug"};
  auto args = build_eal_args(config, HostFacts{.hugepages_free = 0, .cpu_count = 2});
  EXPECT_EQ(args->back(), "--log-level=lib.eal:debug");
}

TEST(MainLcore, LowestCoreWithoutEngine) {
  EalConfig eal;
  eal.lcores = {0, 1, 3};
  EXPECT_EQ(choose_main_lcore(eal, 4), 2u);
}

TEST(MainLcore, EveryCoreRunsAnEngine_FirstEngineCoreSharesTheMainThread) {
  EalConfig eal;
  eal.lcores = {0, 1};
  EXPECT_EQ(choose_main_lcore(eal, 2), 0u);
  auto config = tap_config();
  config.eal.lcores = {0, 1};
  auto args = build_eal_args(config, HostFacts{.hugepages_free = 0, .cpu_count = 2});
  EXPECT_EQ((*args)[2], "0,1");
  EXPECT_EQ((*args)[3], "--main-lcore=0");
}

}  // namespace
}  // namespace synwave
