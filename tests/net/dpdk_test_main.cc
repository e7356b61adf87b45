// gtest main for tests that need real mbufs: starts a small EAL without hugepages or devices.
#include <rte_eal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "--file-prefix=synwave_test_" + std::to_string(getpid());
  std::vector<std::string> args = {"synwave_test", "--no-huge", "--no-shconf", "-m", "128", "--no-pci",
                                   "-l", "0", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& arg : args) eal_argv.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  const int result = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return result;
}
