// Hot-path microbenchmarks (issue 5 item 3): parse, TCP input of an ACK and of a SYN, SYN-ACK
// build, connection-table lookup. One core, a small EAL without hugepages.
//
//   build/bench/hot_path_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// The segments are real ones: the client stack of a pair joined in memory (as in tcp_bench.cc)
// builds the SYN (Linux's <mss,sackOK,TS,nop,wscale>), the handshake's final ACK and a 64-byte
// data segment with timestamps; their bytes are captured once and reused.
//
// What each number includes:
//   BM_Parse*          Ipv4View::parse + TcpView::parse (both checksums verified) +
//                      parse_tcp_options_lenient. No mbuf.
//   BM_CopyBaseline*   mbuf alloc + copy of the datagram + Ipv4View::parse (kSkip) + free: the
//                      cost wrapped around every input benchmark below. Subtract it to get the
//                      cost of TcpStack::input alone.
//   BM_InputAck        baseline work + TcpStack::input of a pure (duplicate) ACK on an ESTABLISHED
//                      connection: same seq/ack/TSval every time, always acceptable, no reply.
//   BM_InputSyn        baseline work (plus patching the source port and checksum) +
//                      TcpStack::input of a SYN to a listener: half-open entry, table insert,
//                      ISN, SYN-ACK build (the sink frees it). Every SYN has a fresh source port.
//                      Half-open entries are released every kSynBatch SYNs, outside timing, by
//                      advancing the timer wheel past the SYN-ACK retries (their retransmissions
//                      are built and freed there too, untimed). kSynBatch (512) is below
//                      tcp_max_syn_backlog (1024), so no SYN is ever dropped: the "listen_drops"
//                      counter proves it (0). RSTs were not used: their input would be timed too.
//   BM_SynAckWireBuild the stack's own SYN-ACK builder is not public API (it is in BM_InputSyn).
//                      This is the same wire work through the public wire API: mbuf alloc,
//                      TcpRepr::emit with <mss,sackOK,TS,nop,wscale> and checksum,
//                      Ipv4Repr::emit, free.
//   BM_TableLookupHit  ConnectionTable::lookup of present keys, 100k entries in a 2^17 table,
//                      scattered order.
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "eal_bench_main.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "table/connection_table.h"
#include "table/reader_domain.h"
#include "tcp/tcp_stack.h"
#include "timer/timer_wheel.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {
namespace {

rte_mempool* g_pool = nullptr;

using Bytes = std::vector<std::uint8_t>;

struct Wire {
  std::vector<rte_mbuf*> a_to_b, b_to_a;
};

void to_b(void* wire, rte_mbuf* m, Ipv4Addr) { static_cast<Wire*>(wire)->a_to_b.push_back(m); }
void to_a(void* wire, rte_mbuf* m, Ipv4Addr) { static_cast<Wire*>(wire)->b_to_a.push_back(m); }

std::uint64_t g_sink_count = 0;
void free_sink(void*, rte_mbuf* m, Ipv4Addr) {
  ++g_sink_count;
  rte_pktmbuf_free(m);
}

int g_serial = 0;

TcpStack::Params params(const char* addr) {
  TcpStack::Params p;
  p.address = *parse_ipv4(addr);
  p.pool = g_pool;
  p.max_sockets = 1 << 17;
  p.isn_secret = {7, 7, 7};
  p.table_name = "hp" + std::to_string(g_serial++);
  return p;
}

wire::Ipv4View parse_mbuf(rte_mbuf* m) {
  return *wire::Ipv4View::parse({rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m)},
                                wire::ChecksumCheck::kSkip);
}

Bytes bytes_of(rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

// Client A (198.18.0.1) and server B (198.18.0.2, listening on 80), one established connection,
// and the captured segments.
struct Pair {
  Pair() {
    a = *TcpStack::create(params("198.18.0.1"), wheel, to_b, &wire);
    b = *TcpStack::create(params("198.18.0.2"), wheel, to_a, &wire);
    listener = b->socket();
    b->bind(listener, {Ipv4Addr{0}, 80});
    b->listen(listener, 4096);
    client = a->socket();
    a->connect(client, {*parse_ipv4("198.18.0.2"), 80});
    syn = bytes_of(wire.a_to_b.at(0));
    deliver(wire.a_to_b, *b);  // SYN
    deliver(wire.b_to_a, *a);  // SYN-ACK
    ack = bytes_of(wire.a_to_b.at(0));
    deliver(wire.a_to_b, *b);  // ACK
    server = b->accept(listener);
    if (server < 0 || b->state(server) != State::kEstablished) {
      std::fprintf(stderr, "handshake failed\n");
      std::abort();
    }
    // The data segment comes from a second connection: the first one's client never sends data,
    // so the captured handshake ACK stays exactly in window (seq == rcv_nxt, ack == snd_nxt).
    const int client2 = a->socket();
    a->connect(client2, {*parse_ipv4("198.18.0.2"), 80});
    pump();
    server2 = b->accept(listener);
    std::uint8_t payload[64] = {};
    a->send(client2, payload);
    data = bytes_of(wire.a_to_b.at(0));
    pump();
  }

  static void deliver(std::vector<rte_mbuf*>& queue, TcpStack& to) {
    std::vector<rte_mbuf*> q;
    q.swap(queue);
    for (rte_mbuf* m : q) to.input(m, parse_mbuf(m));
  }
  void pump() {
    while (!wire.a_to_b.empty() || !wire.b_to_a.empty()) {
      deliver(wire.a_to_b, *b);
      deliver(wire.b_to_a, *a);
    }
  }

  TimerWheel wheel{std::chrono::milliseconds(1)};
  Wire wire;
  std::unique_ptr<TcpStack> a, b;
  int listener = -1, client = -1, server = -1, server2 = -1;
  Bytes syn, ack, data;
};

Pair& pair() {
  static Pair p;
  return p;
}

// --- (1) parse ---------------------------------------------------------------------------------

void parse_segment(benchmark::State& state, const Bytes& pkt) {
  std::uint64_t bad = 0;
  for (auto _ : state) {
    auto ip = wire::Ipv4View::parse(pkt);
    if (!ip.ok()) { ++bad; continue; }
    auto tcp = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
    if (!tcp.ok()) { ++bad; continue; }
    wire::TcpOptions o = wire::parse_tcp_options_lenient(tcp->options());
    benchmark::DoNotOptimize(o);
  }
  if (bad != 0) state.SkipWithError("parse failed");
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseDataTs64(benchmark::State& state) { parse_segment(state, pair().data); }
void BM_ParseSyn4Options(benchmark::State& state) { parse_segment(state, pair().syn); }
BENCHMARK(BM_ParseDataTs64);
BENCHMARK(BM_ParseSyn4Options);

// --- baselines: the per-iteration copy into a fresh mbuf --------------------------------------

rte_mbuf* copy_to_mbuf(const Bytes& pkt) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  if (m == nullptr) [[unlikely]] {
    std::fprintf(stderr, "mbuf pool empty\n");
    std::abort();
  }
  auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(pkt.size())));
  std::memcpy(p, pkt.data(), pkt.size());
  return m;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all 16-bit words in the same (network) byte order.
void patch_src_port(std::uint8_t* ip, std::uint16_t port) {
  std::uint8_t* tcp = ip + (ip[0] & 0x0f) * 4;
  std::uint16_t old_port, csum;
  std::memcpy(&old_port, tcp, 2);
  std::memcpy(&csum, tcp + 16, 2);
  const std::uint16_t new_port = rte_cpu_to_be_16(port);
  std::uint32_t sum = static_cast<std::uint16_t>(~csum) + static_cast<std::uint16_t>(~old_port) + new_port;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  csum = static_cast<std::uint16_t>(~sum);
  std::memcpy(tcp, &new_port, 2);
  std::memcpy(tcp + 16, &csum, 2);
}

std::uint16_t next_port(std::uint32_t& i) {
  const auto port = static_cast<std::uint16_t>(1024 + (i % 64000));
  ++i;
  return port;
}

void BM_CopyBaselineAck(benchmark::State& state) {
  const Bytes& pkt = pair().ack;
  for (auto _ : state) {
    rte_mbuf* m = copy_to_mbuf(pkt);
    auto ip = parse_mbuf(m);
    benchmark::DoNotOptimize(ip);
    rte_pktmbuf_free(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CopyBaselineAck);

void BM_CopyBaselineSyn(benchmark::State& state) {
  const Bytes& pkt = pair().syn;
  std::uint32_t i = 0;
  for (auto _ : state) {
    rte_mbuf* m = copy_to_mbuf(pkt);
    patch_src_port(rte_pktmbuf_mtod(m, std::uint8_t*), next_port(i));
    auto ip = parse_mbuf(m);
    benchmark::DoNotOptimize(ip);
    rte_pktmbuf_free(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CopyBaselineSyn);

// --- (2) input of a pure ACK on ESTABLISHED ---------------------------------------------------

void BM_InputAck(benchmark::State& state) {
  Pair& p = pair();
  const Bytes& pkt = p.ack;
  const std::uint64_t in0 = p.b->stats().get(TcpStat::kSegmentsIn);
  const std::uint64_t drops0 = p.b->drops().total();
  std::uint64_t replies = 0;
  for (auto _ : state) {
    rte_mbuf* m = copy_to_mbuf(pkt);
    p.b->input(m, parse_mbuf(m));
    if (!p.wire.b_to_a.empty()) [[unlikely]] {  // none expected; never let the pool run dry
      replies += p.wire.b_to_a.size();
      for (rte_mbuf* r : p.wire.b_to_a) rte_pktmbuf_free(r);
      p.wire.b_to_a.clear();
    }
  }
  if (p.b->state(p.server) != State::kEstablished) state.SkipWithError("connection left ESTABLISHED");
  state.counters["replies"] = static_cast<double>(replies);
  state.counters["drops"] = static_cast<double>(p.b->drops().total() - drops0);
  state.counters["segs_in"] = static_cast<double>(p.b->stats().get(TcpStat::kSegmentsIn) - in0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InputAck);

// --- (3) input of a SYN to a listener, SYN-ACK included -----------------------------------------

constexpr std::uint32_t kSynBatch = 512;

void BM_InputSyn(benchmark::State& state) {
  TimerWheel wheel{std::chrono::milliseconds(1)};
  Instant now{};
  auto stack = *TcpStack::create(params("198.18.0.2"), wheel, free_sink, nullptr);
  const int listener = stack->socket();
  stack->bind(listener, {Ipv4Addr{0}, 80});
  stack->listen(listener, 4096);
  const Bytes& pkt = pair().syn;
  std::uint32_t port_index = 0, in_batch = 0;
  const std::uint64_t sink0 = g_sink_count;
  std::uint64_t released_out = 0;
  for (auto _ : state) {
    rte_mbuf* m = copy_to_mbuf(pkt);
    patch_src_port(rte_pktmbuf_mtod(m, std::uint8_t*), next_port(port_index));
    stack->input(m, parse_mbuf(m));
    if (++in_batch == kSynBatch) {
      state.PauseTiming();
      const std::uint64_t before = g_sink_count;
      now += std::chrono::seconds(300);  // past 1+2+4+8+16+32 s of SYN-ACK retries
      wheel.advance(now);
      released_out += g_sink_count - before;
      in_batch = 0;
      state.ResumeTiming();
    }
  }
  const std::uint64_t synacks = g_sink_count - sink0 - released_out;
  state.counters["synacks_per_syn"] =
      static_cast<double>(synacks) / static_cast<double>(std::max<std::uint64_t>(1, state.iterations()));
  state.counters["listen_drops"] = static_cast<double>(stack->drops().get(TcpDrop::kListenDrops));
  state.counters["all_drops"] = static_cast<double>(stack->drops().total());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InputSyn);

// --- (4) SYN-ACK wire build through the public wire API -------------------------------------------

void BM_SynAckWireBuild(benchmark::State& state) {
  wire::TcpRepr tcp;
  tcp.src_port = 80;
  tcp.dst_port = 40000;
  tcp.seq = 0x12345678;
  tcp.ack = 0x9abcdef0;
  tcp.flags.bits = wire::TcpFlags::kSyn | wire::TcpFlags::kAck;
  tcp.window = 65160;
  tcp.options.mss = 1460;
  tcp.options.sack_permitted = true;
  tcp.options.timestamps = wire::TcpTimestamps{1000, 2000};
  tcp.options.window_scale = 7;
  wire::Ipv4Repr ip;
  ip.src = *parse_ipv4("198.18.0.2");
  ip.dst = *parse_ipv4("198.18.0.1");
  std::uint64_t bad = 0;
  for (auto _ : state) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    const std::size_t tcp_len = tcp.header_len();
    ip.payload_len = tcp_len;
    auto* p = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m, static_cast<std::uint16_t>(wire::Ipv4Repr::header_len() + tcp_len)));
    if (!tcp.emit({p + wire::Ipv4Repr::header_len(), tcp_len}, ip.src, ip.dst).ok()) ++bad;
    if (!ip.emit({p, wire::Ipv4Repr::header_len() + tcp_len}).ok()) ++bad;
    benchmark::DoNotOptimize(p);
    rte_pktmbuf_free(m);
  }
  if (bad != 0) state.SkipWithError("emit failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SynAckWireBuild);

// --- (5) connection-table lookup hit at 100k entries --------------------------------------------

constexpr std::uint32_t kEntries = 100'000;
constexpr std::uint32_t kStride = 61'231;  // prime, coprime with kEntries: scattered visits

FourTuple table_key(std::uint32_t i) {
  return FourTuple{Ipv4Addr{0xC6120002}, Ipv4Addr{0xC6130000 + (i >> 16)}, 80,
                   static_cast<std::uint16_t>(i & 0xffff)};
}

void BM_TableLookupHit(benchmark::State& state) {
  static std::unique_ptr<ReaderDomain> readers;
  static std::unique_ptr<ConnectionTable> table;
  if (table == nullptr) {
    readers = std::move(ReaderDomain::create("hp_readers", 4).value());
    table = std::move(ConnectionTable::create({.name = "hp_table", .capacity = 1u << 17, .readers = readers.get()})
                          .value());
    for (std::uint32_t i = 0; i < kEntries; ++i)
      if (table->insert(table_key(i), reinterpret_cast<void*>(std::uintptr_t{i} + 1)) != TableResult::kOk) {
        std::fprintf(stderr, "table insert failed at %u\n", i);
        std::abort();
      }
  }
  std::uint32_t i = 0;
  std::uint64_t misses = 0;
  for (auto _ : state) {
    void* v = table->lookup(table_key(i));
    misses += v == nullptr;
    benchmark::DoNotOptimize(v);
    i += kStride;
    if (i >= kEntries) i -= kEntries;
  }
  if (misses != 0) state.SkipWithError("lookup missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TableLookupHit);

}  // namespace
}  // namespace synwave::tcp

int main(int argc, char** argv) {
  return synwave::bench::run_with_eal(argc, argv, "hot_path_bench", &synwave::tcp::g_pool);
}
