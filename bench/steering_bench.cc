// What several engines on one port cost per packet (issue 12): software steering's reading and
// hashing of a received frame, the Toeplitz hash alone, and the hand-over of frames to another
// engine's ring. One core, a small EAL without hugepages.
//
//   build-release/bench/steering_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
//   BM_ToeplitzHash       RssTable::hash of an IPv4 4-tuple (12 byte-indexed table lookups),
//                         1024 different tuples in turn.
//   BM_ToeplitzSoftRss    the same with DPDK's rte_softrss_be (one step per set input bit).
//   BM_OwningQueue        owning_queue() on received Ethernet/IPv4/TCP frames in mbufs: the
//                         header reads plus the hash and the RETA lookup; what every frame of a
//                         software-steered port pays, whether it stays or is handed over.
//   BM_RingHandover       rte_ring_mp_enqueue_burst of 32 frames into an engine's steering ring
//                         and rte_ring_sc_dequeue_burst of them, per frame. On one core: the
//                         cross-core cache-line transfers of a real hand-over are not in it.
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <benchmark/benchmark.h>

#include <vector>

#include "eal_bench_main.h"
#include "engine/flow_steering.h"
#include "engine/rss_table.h"
#include "wire/bytes.h"

namespace synwave {
namespace {

rte_mempool* g_pool = nullptr;
constexpr unsigned kTuples = 1024;

RssTable symmetric_table(unsigned queues) { return *RssTable::create(kSymmetricRssKey, RssTable::round_robin_reta(queues)); }

void BM_ToeplitzHash(benchmark::State& state) {
  const RssTable rss = symmetric_table(2);
  std::uint32_t sum = 0, i = 0;
  for (auto _ : state) {
    const std::uint32_t n = i++ & (kTuples - 1);
    sum += rss.hash(Ipv4Addr{0xC6120001u + n}, Ipv4Addr{0xC6120002u}, static_cast<std::uint16_t>(32768 + n), 80);
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_ToeplitzHash);

void BM_ToeplitzSoftRss(benchmark::State& state) {
  const RssTable rss = symmetric_table(2);
  std::uint32_t sum = 0, i = 0;
  for (auto _ : state) {
    const std::uint32_t n = i++ & (kTuples - 1);
    sum += rss.reference_hash(Ipv4Addr{0xC6120001u + n}, Ipv4Addr{0xC6120002u}, static_cast<std::uint16_t>(32768 + n), 80);
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_ToeplitzSoftRss);

std::vector<rte_mbuf*> tcp_frames() {
  std::vector<rte_mbuf*> frames;
  for (unsigned n = 0; n < kTuples; ++n) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    auto* b = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, 14 + 20 + 20));
    std::memset(b, 0, 54);
    wire::store_be16(b + 12, 0x0800);
    b[14] = 0x45;
    b[14 + 9] = 6;
    wire::store_be32(b + 14 + 12, 0xC6120001u + n);
    wire::store_be32(b + 14 + 16, 0xC6120002u);
    wire::store_be16(b + 34, static_cast<std::uint16_t>(32768 + n));
    wire::store_be16(b + 36, 80);
    frames.push_back(m);
  }
  return frames;
}

void BM_OwningQueue(benchmark::State& state) {
  const RssTable rss = symmetric_table(static_cast<unsigned>(state.range(0)));
  std::vector<rte_mbuf*> frames = tcp_frames();
  unsigned sum = 0, i = 0;
  for (auto _ : state) sum += owning_queue(frames[i++ & (kTuples - 1)], rss);
  benchmark::DoNotOptimize(sum);
  rte_pktmbuf_free_bulk(frames.data(), static_cast<unsigned>(frames.size()));
}
BENCHMARK(BM_OwningQueue)->Arg(2)->Arg(8);

void BM_RingHandover(benchmark::State& state) {
  rte_ring* ring = rte_ring_create("bench_steer", 4096, SOCKET_ID_ANY, RING_F_SC_DEQ | RING_F_EXACT_SZ);
  std::vector<rte_mbuf*> frames = tcp_frames();
  rte_mbuf* out[32];
  unsigned at = 0;
  for (auto _ : state) {
    rte_mbuf** burst = &frames[at];
    at = (at + 32) & (kTuples - 1);
    rte_ring_mp_enqueue_burst(ring, reinterpret_cast<void* const*>(burst), 32, nullptr);
    benchmark::DoNotOptimize(rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(out), 32, nullptr));
  }
  state.SetItemsProcessed(state.iterations() * 32);
  rte_pktmbuf_free_bulk(frames.data(), static_cast<unsigned>(frames.size()));
  rte_ring_free(ring);
}
BENCHMARK(BM_RingHandover);

}  // namespace
}  // namespace synwave

int main(int argc, char** argv) { return synwave::bench::run_with_eal(argc, argv, "steering_bench", &synwave::g_pool); }
