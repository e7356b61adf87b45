// CPU cost of TCP connection management: one full handshake plus close, both ends counted, on
// two TcpStacks joined in memory (mbufs handed straight from one stack's output to the other's
// input: no NIC, no copies). One core, a small EAL without hugepages.
//
//   build/bench/tcp_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "eal_bench_main.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tcp/tcp_stack.h"
#include "timer/timer_wheel.h"
#include "wire/ipv4.h"

namespace synwave::tcp {
namespace {

rte_mempool* g_pool = nullptr;

struct Wire {
  std::vector<rte_mbuf*> a_to_b, b_to_a;
};

void to_b(void* wire, rte_mbuf* m, Ipv4Addr) { static_cast<Wire*>(wire)->a_to_b.push_back(m); }
void to_a(void* wire, rte_mbuf* m, Ipv4Addr) { static_cast<Wire*>(wire)->b_to_a.push_back(m); }

// Two stacks and a listener on B:80.
struct Pair {
  Pair() {
    Sysctl sysctl;
    TcpStack::Params pa, pb;
    pa.address = *parse_ipv4("198.18.0.1");
    pb.address = *parse_ipv4("198.18.0.2");
    for (TcpStack::Params* p : {&pa, &pb}) {
      p->sysctl = sysctl;
      p->pool = g_pool;
      p->max_sockets = 1 << 17;
      p->isn_secret = {7, 7, 7};
    }
    pa.table_name = "bench_a" + std::to_string(serial);
    pb.table_name = "bench_b" + std::to_string(serial++);
    a = *TcpStack::create(pa, wheel, to_b, &wire);
    b = *TcpStack::create(pb, wheel, to_a, &wire);
    listener = b->socket();
    b->bind(listener, {Ipv4Addr{0}, 80});
    b->listen(listener, 4096);
  }

  static void deliver(std::vector<rte_mbuf*>& queue, TcpStack& to) {
    // Bounded: every delivered segment may answer with a few, and a conversation ends.
    for (std::size_t i = 0; i < queue.size(); ++i) {
      rte_mbuf* m = queue[i];
      auto ip = wire::Ipv4View::parse({rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m)},
                                      wire::ChecksumCheck::kSkip);
      to.input(m, *ip);
    }
    queue.clear();
  }

  void pump() {
    while (!wire.a_to_b.empty() || !wire.b_to_a.empty()) {
      std::vector<rte_mbuf*> ab, ba;
      ab.swap(wire.a_to_b);
      ba.swap(wire.b_to_a);
      deliver(ab, *b);
      deliver(ba, *a);
    }
  }

  TimerWheel wheel{std::chrono::milliseconds(1)};
  Wire wire;
  std::unique_ptr<TcpStack> a, b;
  int listener = -1;
  Instant now{};
  static inline int serial = 0;
};

// connect, three-way handshake, accept, close by the client, close by the server: 7 segments.
void BM_HandshakeAndClose(benchmark::State& state) {
  Pair pair;
  const Endpoint server{*parse_ipv4("198.18.0.2"), 80};
  std::uint64_t done = 0;
  for (auto _ : state) {
    const int c = pair.a->connect(pair.a->socket(), server) == -EINPROGRESS ? 0 : -1;
    (void)c;
    pair.pump();
    int accepted = pair.b->accept(pair.listener);
    // The client socket is the one just connected: find it through readiness.
    int ready[4];
    const std::size_t n = pair.a->take_ready(ready);
    for (std::size_t i = 0; i < n; ++i) pair.a->close(ready[i]);
    pair.pump();
    pair.b->close(accepted);
    pair.pump();
    if (++done % 2048 == 0) {
      // TIME_WAIT entries on the client expire after 60 s of virtual time: 2048 connections per
      // "minute" keeps the ephemeral ports towards the one server from running out (Linux would
      // hit the same wall at ~28k TIME_WAITs per destination).
      pair.now += std::chrono::seconds(61);
      pair.wheel.advance(pair.now);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(done));
  state.counters["connections/s"] = benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HandshakeAndClose)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace synwave::tcp

int main(int argc, char** argv) {
  return synwave::bench::run_with_eal(argc, argv, "tcp_bench", &synwave::tcp::g_pool);
}
