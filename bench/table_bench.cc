// Connection-table microbenchmarks at 1M entries: lookup hit, lookup miss, bulk lookup of 32,
// insert + erase, and the raw hash, each with CRC32-C and with jhash.
//
// The table holds 1,000,000 connections in a 2^20-entry table (95% of its key slots), its memory
// is ~100 MB, far beyond the caches: these figures include the cache (and, without hugepages, TLB)
// misses a loaded engine would see. Keys are computed, not loaded, and visited in a scattered
// order (a large prime stride), so the timed loops touch only the table.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "table/connection_table.h"

namespace synwave {
namespace {

using HashFunction = ConnectionTable::HashFunction;

constexpr std::uint32_t kEntries = 1'000'000;
constexpr std::uint32_t kCapacity = 1u << 20;
constexpr std::uint32_t kStride = 611'953;  // prime: visits every index, far apart

FourTuple tuple(std::uint32_t i) {
  return FourTuple{Ipv4Addr{0xC6120001}, Ipv4Addr{0xC6130000 + (i >> 16)}, 443,
                   static_cast<std::uint16_t>(i & 0xffff)};
}

std::uint32_t advance(std::uint32_t i) {
  i += kStride;
  return i >= kEntries ? i - kEntries : i;
}

struct Fixture {
  std::unique_ptr<ReaderDomain> readers;
  std::unique_ptr<ConnectionTable> table;
};

std::array<Fixture, 2>& fixtures() {
  static std::array<Fixture, 2> all;
  return all;
}

// Built once per hash function on first use, shared by every benchmark and repetition.
Fixture& fixture(HashFunction hash) {
  Fixture& f = fixtures()[static_cast<int>(hash)];
  if (f.table == nullptr) {
    const bool crc = hash == HashFunction::kCrc32;
    f.readers = std::move(ReaderDomain::create(crc ? "bench_crc" : "bench_jhash", 4).value());
    f.table = std::move(ConnectionTable::create({.name = crc ? "bench_crc" : "bench_jhash",
                                                 .capacity = kCapacity,
                                                 .readers = f.readers.get(),
                                                 .hash = hash})
                            .value());
    for (std::uint32_t i = 0; i < kEntries; ++i) {
      if (f.table->insert(tuple(i), reinterpret_cast<void*>(std::uintptr_t{i} + 1)) !=
          TableResult::kOk) {
        std::fprintf(stderr, "populating the table failed at %u\n", i);
        std::abort();
      }
    }
  }
  return f;
}

void release_fixtures() {
  for (Fixture& f : fixtures()) {
    f.table.reset();
    f.readers.reset();
  }
}

template <HashFunction kHash>
void BM_Hash(benchmark::State& state) {
  ConnectionTable& table = *fixture(kHash).table;
  std::uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.hash(tuple(i)));
    i = advance(i);
  }
}

template <HashFunction kHash>
void BM_LookupHit(benchmark::State& state) {
  ConnectionTable& table = *fixture(kHash).table;
  std::uint32_t i = 0;
  for (auto _ : state) {
    void* value = table.lookup(tuple(i));
    benchmark::DoNotOptimize(value);
    i = advance(i);
  }
}

template <HashFunction kHash>
void BM_LookupMiss(benchmark::State& state) {
  ConnectionTable& table = *fixture(kHash).table;
  std::uint32_t i = 0;
  for (auto _ : state) {
    FourTuple key = tuple(i);
    key.local_port = 8443;  // same remote ends, a port nothing listens on
    void* value = table.lookup(key);
    benchmark::DoNotOptimize(value);
    i = advance(i);
  }
}

// One receive burst of 32 packets of 32 different connections: per-burst time; the items/s
// counter gives keys per second.
template <HashFunction kHash>
void BM_LookupBulk32(benchmark::State& state) {
  ConnectionTable& table = *fixture(kHash).table;
  std::array<FourTuple, 32> keys;
  std::array<const FourTuple*, 32> key_ptrs;
  std::array<void*, 32> values;
  for (std::size_t k = 0; k < keys.size(); ++k) key_ptrs[k] = &keys[k];
  std::uint32_t i = 0;
  for (auto _ : state) {
    for (auto& key : keys) {
      key = tuple(i);
      i = advance(i);
    }
    benchmark::DoNotOptimize(table.lookup_bulk(key_ptrs.data(), 32, values.data()));
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 32);
}

// A connection opens and closes: insert a new key, erase it (its slot goes through the RCU defer
// queue; no reader is registered, so reclamation never waits).
template <HashFunction kHash>
void BM_InsertErase(benchmark::State& state) {
  ConnectionTable& table = *fixture(kHash).table;
  std::uint32_t i = 0;
  for (auto _ : state) {
    const FourTuple key = tuple(kEntries + (i & 0xffff));
    if (table.insert(key, &i) != TableResult::kOk || table.erase(key) != TableResult::kOk) {
      state.SkipWithError("insert/erase failed");
      break;
    }
    ++i;
  }
}

BENCHMARK_TEMPLATE(BM_Hash, HashFunction::kCrc32)->Name("hash/crc");
BENCHMARK_TEMPLATE(BM_Hash, HashFunction::kJhash)->Name("hash/jhash");
BENCHMARK_TEMPLATE(BM_LookupHit, HashFunction::kCrc32)->Name("lookup_hit/crc");
BENCHMARK_TEMPLATE(BM_LookupHit, HashFunction::kJhash)->Name("lookup_hit/jhash");
BENCHMARK_TEMPLATE(BM_LookupMiss, HashFunction::kCrc32)->Name("lookup_miss/crc");
BENCHMARK_TEMPLATE(BM_LookupMiss, HashFunction::kJhash)->Name("lookup_miss/jhash");
BENCHMARK_TEMPLATE(BM_LookupBulk32, HashFunction::kCrc32)->Name("lookup_bulk32/crc");
BENCHMARK_TEMPLATE(BM_LookupBulk32, HashFunction::kJhash)->Name("lookup_bulk32/jhash");
BENCHMARK_TEMPLATE(BM_InsertErase, HashFunction::kCrc32)->Name("insert_erase/crc");
BENCHMARK_TEMPLATE(BM_InsertErase, HashFunction::kJhash)->Name("insert_erase/jhash");

}  // namespace
}  // namespace synwave

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string prefix = "table_bench_" + std::to_string(getpid());
  std::vector<std::string> args = {"table_bench", "--no-huge", "--no-shconf",   "-m",
                                   "1024",        "--no-pci",  "--file-prefix", prefix,
                                   "-l",          "0",         "--log-level",   "*:error"};
  std::vector<char*> eal_argv;
  for (auto& arg : args) eal_argv.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  synwave::release_fixtures();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
