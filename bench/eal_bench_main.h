// The main() of benchmarks that need real mbufs: a small EAL (no hugepages, no devices, a file
// prefix of its own so runs never collide), one mbuf pool, then Google Benchmark.
#pragma once

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

namespace synwave::bench {

inline int run_with_eal(int argc, char** argv, const std::string& name, rte_mempool** pool) {
  const std::string prefix = "--file-prefix=" + name + "_" + std::to_string(getpid());
  std::vector<std::string> args = {name, "--no-huge", "--no-shconf", "-m", "1024", "--no-pci",
                                   "-l", "0", prefix, "--log-level=*:error"};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "%s: rte_eal_init failed\n", name.c_str());
    return 1;
  }
  *pool = rte_pktmbuf_pool_create((name + "_pool").c_str(), 65535, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  if (*pool == nullptr) {
    std::fprintf(stderr, "%s: no mbuf pool\n", name.c_str());
    return 1;
  }
  ::benchmark::Initialize(&argc, argv);
  ::benchmark::RunSpecifiedBenchmarks();
  ::benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}

}  // namespace synwave::bench
