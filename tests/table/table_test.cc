#include <rte_eal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "table/connection_table.h"
#include "table/keys.h"
#include "table/listener_table.h"
#include "table/reader_domain.h"

namespace synwave {
namespace {

// Starts a small EAL once for the whole program: the tables live in DPDK memory.
class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string prefix = "table_test_" + std::to_string(getpid());
    std::vector<std::string> args = {"table_test", "--no-huge",   "--no-shconf", "-m",
                                     "128",        "--no-pci",    "--file-prefix", prefix,
                                     "-l",         "0",           "--log-level", "*:error"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0) << "rte_eal_init failed";
  }
  void TearDown() override { rte_eal_cleanup(); }
};
::testing::Environment* const eal_environment =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);

FourTuple tuple(std::uint32_t i) {
  return FourTuple{Ipv4Addr{0xC6120001}, Ipv4Addr{0xC6130000 + (i >> 16)}, 80,
                   static_cast<std::uint16_t>(i & 0xffff)};
}

void* as_value(std::uintptr_t v) { return reinterpret_cast<void*>(v); }

// A fresh DPDK name per table: names of freed tables may linger while their defer queue drains.
std::string unique_name(const char* base) {
  static int counter = 0;
  return base + std::to_string(counter++);
}

struct Reclaimed {
  std::vector<void*> values;
  static void record(void* ctx, void* value) { static_cast<Reclaimed*>(ctx)->values.push_back(value); }
};

class ConnectionTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto domain = ReaderDomain::create(unique_name("d"), 8);
    ASSERT_TRUE(domain.ok()) << domain.status();
    readers_ = std::move(*domain);
  }

  std::unique_ptr<ConnectionTable> make(std::uint32_t capacity,
                                        ConnectionTable::HashFunction hash =
                                            ConnectionTable::HashFunction::kCrc32) {
    auto table = ConnectionTable::create({.name = unique_name("conn"),
                                          .capacity = capacity,
                                          .readers = readers_.get(),
                                          .hash = hash,
                                          .on_reclaim = &Reclaimed::record,
                                          .reclaim_ctx = &reclaimed_});
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? std::move(*table) : nullptr;
  }

  Reclaimed reclaimed_;
  std::unique_ptr<ReaderDomain> readers_;
};

TEST_F(ConnectionTableTest, Create_BadConfig_IsRejected) {
  EXPECT_EQ(ConnectionTable::create({.name = "", .capacity = 64, .readers = readers_.get()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectionTable::create(
                {.name = "much_too_long_a_name", .capacity = 64, .readers = readers_.get()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectionTable::create({.name = "tiny", .capacity = 4, .readers = readers_.get()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectionTable::create({.name = "noreaders", .capacity = 64}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionTableTest, Create_DuplicateName_IsAlreadyExists) {
  auto first = ConnectionTable::create({.name = "same", .capacity = 64, .readers = readers_.get()});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = ConnectionTable::create({.name = "same", .capacity = 64, .readers = readers_.get()});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
}

TEST_F(ConnectionTableTest, InsertLookupErase) {
  for (auto hash : {ConnectionTable::HashFunction::kCrc32, ConnectionTable::HashFunction::kJhash}) {
    auto table = make(1024, hash);
    ASSERT_NE(table, nullptr);
    for (std::uint32_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk) << i;
    }
    EXPECT_EQ(table->size(), 1000u);
    for (std::uint32_t i = 0; i < 1000; ++i) {
      EXPECT_EQ(table->lookup(tuple(i)), as_value(i + 1));
      EXPECT_EQ(table->lookup_with_hash(tuple(i), table->hash(tuple(i))), as_value(i + 1));
    }
    EXPECT_EQ(table->lookup(tuple(5000)), nullptr);

    EXPECT_EQ(table->erase(tuple(7)), TableResult::kOk);
    EXPECT_EQ(table->lookup(tuple(7)), nullptr);
    EXPECT_EQ(table->erase(tuple(7)), TableResult::kNotFound);
    EXPECT_EQ(table->size(), 999u);
    EXPECT_EQ(table->lookup(tuple(8)), as_value(9));
  }
}

TEST_F(ConnectionTableTest, KeyFieldsAreAllSignificant) {
  auto table = make(64);
  const FourTuple base{Ipv4Addr{1}, Ipv4Addr{2}, 3, 4};
  ASSERT_EQ(table->insert(base, as_value(1)), TableResult::kOk);
  EXPECT_EQ(table->lookup(FourTuple{Ipv4Addr{9}, Ipv4Addr{2}, 3, 4}), nullptr);
  EXPECT_EQ(table->lookup(FourTuple{Ipv4Addr{1}, Ipv4Addr{9}, 3, 4}), nullptr);
  EXPECT_EQ(table->lookup(FourTuple{Ipv4Addr{1}, Ipv4Addr{2}, 9, 4}), nullptr);
  EXPECT_EQ(table->lookup(FourTuple{Ipv4Addr{1}, Ipv4Addr{2}, 3, 9}), nullptr);
  // Swapping local and remote is a different connection.
  EXPECT_EQ(table->lookup(FourTuple{Ipv4Addr{2}, Ipv4Addr{1}, 4, 3}), nullptr);
  EXPECT_EQ(table->lookup(base), as_value(1));
}

TEST_F(ConnectionTableTest, Insert_Duplicate_IsExistsAndKeepsValue) {
  auto table = make(64);
  ASSERT_EQ(table->insert(tuple(1), as_value(10)), TableResult::kOk);
  EXPECT_EQ(table->insert(tuple(1), as_value(20)), TableResult::kExists);
  EXPECT_EQ(table->lookup(tuple(1)), as_value(10));
  EXPECT_EQ(table->size(), 1u);
}

TEST_F(ConnectionTableTest, Replace_PresentKeyNewValueInPlace_AbsentKeyNotAdded) {
  auto table = make(64);
  ASSERT_EQ(table->insert(tuple(1), as_value(10)), TableResult::kOk);
  EXPECT_EQ(table->replace(tuple(1), as_value(20)), TableResult::kOk);
  EXPECT_EQ(table->lookup(tuple(1)), as_value(20));
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(table->replace(tuple(2), as_value(30)), TableResult::kNotFound);
  EXPECT_EQ(table->lookup(tuple(2)), nullptr);
  EXPECT_EQ(table->replace(tuple(1), nullptr), TableResult::kInvalid);
  EXPECT_EQ(table->lookup(tuple(1)), as_value(20));
  EXPECT_EQ(table->size(), 1u);
}

TEST_F(ConnectionTableTest, Insert_NullValue_IsInvalid) {
  auto table = make(64);
  EXPECT_EQ(table->insert(tuple(1), nullptr), TableResult::kInvalid);
  EXPECT_EQ(table->size(), 0u);
}

TEST_F(ConnectionTableTest, Insert_Full_IsFullAtExactlyCapacity) {
  auto table = make(64);
  for (std::uint32_t i = 0; i < 64; ++i) {
    ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk) << i;
  }
  EXPECT_EQ(table->insert(tuple(64), as_value(65)), TableResult::kFull);
  // Nobody reads: an erased slot is reclaimed as soon as the writer needs it.
  EXPECT_EQ(table->erase(tuple(3)), TableResult::kOk);
  EXPECT_EQ(table->insert(tuple(64), as_value(65)), TableResult::kOk);
  EXPECT_EQ(reclaimed_.values, std::vector<void*>{as_value(4)});
  for (std::uint32_t i = 0; i <= 64; ++i) {
    EXPECT_EQ(table->lookup(tuple(i)), i == 3 ? nullptr : as_value(i + 1)) << i;
  }
}

TEST_F(ConnectionTableTest, Erase_OnlineReader_DefersReuseUntilQuiescent) {
  auto table = make(8);
  for (std::uint32_t i = 0; i < 8; ++i) ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk);
  ASSERT_TRUE(readers_->register_reader(0).ok());  // online from here
  void* seen = table->lookup(tuple(2));             // the reader holds tuple 2's value
  ASSERT_EQ(seen, as_value(3));

  ASSERT_EQ(table->erase(tuple(2)), TableResult::kOk);
  EXPECT_EQ(table->lookup(tuple(2)), nullptr);
  // The slot is not reused and the value not released while the reader may still use it.
  EXPECT_EQ(table->insert(tuple(100), as_value(101)), TableResult::kFull);
  EXPECT_TRUE(reclaimed_.values.empty());
  EXPECT_EQ(table->size(), 7u);

  readers_->quiescent(0);  // the reader drops its reference
  EXPECT_EQ(table->insert(tuple(100), as_value(101)), TableResult::kOk);
  EXPECT_EQ(reclaimed_.values, std::vector<void*>{as_value(3)});

  // An offline reader delays nothing.
  readers_->offline(0);
  ASSERT_EQ(table->erase(tuple(4)), TableResult::kOk);
  EXPECT_EQ(table->insert(tuple(200), as_value(201)), TableResult::kOk);
  EXPECT_EQ(reclaimed_.values.back(), as_value(5));
  {
    ReaderDomain::Section section(*readers_, 0);
    EXPECT_EQ(table->lookup(tuple(200)), as_value(201));
  }
  readers_->unregister_reader(0);
}

TEST_F(ConnectionTableTest, Destroy_ReclaimsErasedEntries) {
  auto table = make(64);
  for (std::uint32_t i = 0; i < 10; ++i) ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk);
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_EQ(table->erase(tuple(i)), TableResult::kOk);
  table.reset();
  EXPECT_EQ(std::set<void*>(reclaimed_.values.begin(), reclaimed_.values.end()),
            (std::set<void*>{as_value(1), as_value(2), as_value(3), as_value(4)}));
}

TEST_F(ConnectionTableTest, LookupBulk_ReportsHitMaskAndValues) {
  auto table = make(1024);
  for (std::uint32_t i = 0; i < 500; i += 2) ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk);

  std::array<FourTuple, ConnectionTable::kBulkMax> keys;
  std::array<const FourTuple*, ConnectionTable::kBulkMax> key_ptrs;
  std::array<void*, ConnectionTable::kBulkMax> values;
  for (std::uint32_t i = 0; i < keys.size(); ++i) {
    keys[i] = tuple(i * 3);  // even multiples of 3 are present
    key_ptrs[i] = &keys[i];
  }
  values.fill(as_value(0xdead));
  const std::uint64_t hits = table->lookup_bulk(key_ptrs.data(), 64, values.data());
  for (std::uint32_t i = 0; i < 64; ++i) {
    const bool present = (i * 3) % 2 == 0;
    EXPECT_EQ((hits >> i) & 1, present ? 1u : 0u) << i;
    EXPECT_EQ(values[i], present ? as_value(i * 3 + 1) : nullptr) << i;
  }
  // A short burst, and the limits.
  EXPECT_EQ(table->lookup_bulk(key_ptrs.data(), 3, values.data()), 0b101u);
  EXPECT_EQ(table->lookup_bulk(key_ptrs.data(), 0, values.data()), 0u);
  EXPECT_EQ(table->lookup_bulk(key_ptrs.data(), 65, values.data()), 0u);
}

TEST_F(ConnectionTableTest, Iterate_VisitsEveryLiveEntryOnce) {
  auto table = make(4096);
  for (std::uint32_t i = 0; i < 3000; ++i) ASSERT_EQ(table->insert(tuple(i), as_value(i + 1)), TableResult::kOk);
  for (std::uint32_t i = 0; i < 3000; i += 3) ASSERT_EQ(table->erase(tuple(i)), TableResult::kOk);

  std::vector<int> seen(3000, 0);
  std::uint32_t count = 0;
  table->for_each([&](const FourTuple& key, void* value) {
    const std::uint32_t i = (std::uint32_t{key.remote.value - 0xC6130000} << 16) | key.remote_port;
    ASSERT_LT(i, 3000u);
    EXPECT_EQ(value, as_value(i + 1));
    ++seen[i];
    ++count;
  });
  EXPECT_EQ(count, table->size());
  for (std::uint32_t i = 0; i < 3000; ++i) EXPECT_EQ(seen[i], i % 3 == 0 ? 0 : 1) << i;
}

// One writer churns entries continuously; readers on other threads look up keys that are always
// present and must always find them, and check every churned entry they find is intact (never a
// slot or value reused under them). Runs for about one second.
TEST_F(ConnectionTableTest, Concurrent_ReadersAlwaysFindStableKeysWhileWriterChurns) {
  constexpr std::uint32_t kStable = 256;
  constexpr std::uint32_t kChurnLive = 512;  // churned entries present at a time
  constexpr std::uint32_t kPool = 4096;      // value objects for churned entries
  constexpr std::uint32_t kReaders = 3;

  struct Value {
    std::atomic<std::uint32_t> id{0};    // the tuple index this value belongs to
    std::atomic<bool> in_use{false};     // cleared only by the reclaim callback
  };
  struct Pool {
    std::array<Value, kPool> values;
    std::atomic<std::uint64_t> reclaimed{0};
    // Writer thread only (the reclaim callback runs inside insert/erase).
    static void release(void* ctx, void* p) {
      auto* pool = static_cast<Pool*>(ctx);
      auto* value = static_cast<Value*>(p);
      if (value >= pool->values.data() && value < pool->values.data() + kPool) {
        value->in_use.store(false, std::memory_order_release);
        pool->reclaimed.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  auto pool = std::make_unique<Pool>();
  std::array<Value, kStable> stable_values;

  auto created = ConnectionTable::create({.name = unique_name("conc"),
                                          .capacity = 2048,
                                          .readers = readers_.get(),
                                          .on_reclaim = &Pool::release,
                                          .reclaim_ctx = pool.get()});
  ASSERT_TRUE(created.ok()) << created.status();
  ConnectionTable& table = **created;
  for (std::uint32_t i = 0; i < kStable; ++i) {
    stable_values[i].id = i;
    ASSERT_EQ(table.insert(tuple(i), &stable_values[i]), TableResult::kOk);
  }

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> misses{0}, corrupt{0}, reads{0}, churn_hits{0};
  std::vector<std::thread> readers;
  for (std::uint32_t r = 0; r < kReaders; ++r) {
    ASSERT_TRUE(readers_->register_reader(r).ok());
    readers.emplace_back([&, r] {
      std::uint32_t n = r * 7919;
      std::uint64_t local_reads = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 64; ++k, ++n) {
          const std::uint32_t s = n % kStable;
          auto* v = static_cast<Value*>(table.lookup(tuple(s)));
          if (v == nullptr) {
            misses.fetch_add(1, std::memory_order_relaxed);
          } else if (v->id.load(std::memory_order_relaxed) != s) {
            corrupt.fetch_add(1, std::memory_order_relaxed);
          }
          // A churned key: may or may not be present, but if found must be intact.
          const std::uint32_t c = kStable + (n * 31) % (4 * kChurnLive);
          if (auto* cv = static_cast<Value*>(table.lookup(tuple(c)))) {
            churn_hits.fetch_add(1, std::memory_order_relaxed);
            if (!cv->in_use.load(std::memory_order_acquire) ||
                cv->id.load(std::memory_order_relaxed) != c) {
              corrupt.fetch_add(1, std::memory_order_relaxed);
            }
          }
          local_reads += 2;
        }
        readers_->quiescent(r);  // no reference is kept across batches
      }
      readers_->unregister_reader(r);
      reads.fetch_add(local_reads, std::memory_order_relaxed);
    });
  }

  // The writer: insert churned key `step`, erase key `step - kChurnLive`, over a rolling window of
  // keys, so about kChurnLive churned keys are present at any time. When no value object or table
  // slot has been released yet (readers have not let a grace period pass), retry the same step.
  constexpr std::uint32_t kWindow = 4 * kChurnLive;
  std::vector<Value*> live(kWindow, nullptr);
  std::uint32_t next_free = 0;
  std::uint64_t inserted = 0, waits = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (std::uint64_t step = 0; std::chrono::steady_clock::now() < deadline;) {
    const auto slot = static_cast<std::uint32_t>(step % kWindow);
    const auto old_slot = static_cast<std::uint32_t>((step + kWindow - kChurnLive) % kWindow);
    if (live[old_slot] != nullptr) {
      ASSERT_EQ(table.erase(tuple(kStable + old_slot)), TableResult::kOk);
      live[old_slot] = nullptr;
    }
    Value* v = nullptr;
    for (std::uint32_t tries = 0; tries < kPool && v == nullptr; ++tries, ++next_free) {
      Value& candidate = pool->values[next_free % kPool];
      if (!candidate.in_use.load(std::memory_order_acquire)) v = &candidate;
    }
    if (v == nullptr) {
      ++waits;
      std::this_thread::yield();
      continue;
    }
    v->id.store(kStable + slot, std::memory_order_relaxed);
    v->in_use.store(true, std::memory_order_relaxed);
    const TableResult result = table.insert(tuple(kStable + slot), v);
    if (result == TableResult::kFull) {
      v->in_use.store(false, std::memory_order_relaxed);
      ++waits;
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(result, TableResult::kOk);
    live[slot] = v;
    ++inserted;
    ++step;
  }
  stop.store(true);
  for (auto& t : readers) t.join();

  EXPECT_EQ(misses.load(), 0u);
  EXPECT_EQ(corrupt.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GT(inserted, 10000u);
  EXPECT_GT(pool->reclaimed.load(), 0u);
  EXPECT_EQ(table.size(), kStable + static_cast<std::uint32_t>(
                                        std::count_if(live.begin(), live.end(),
                                                      [](Value* v) { return v != nullptr; })));
  std::printf("[          ] %lu inserts (%lu waits for a grace period), %lu reads, %lu churn hits, "
              "%lu reclaimed\n",
              static_cast<unsigned long>(inserted), static_cast<unsigned long>(waits),
              static_cast<unsigned long>(reads.load()), static_cast<unsigned long>(churn_hits.load()),
              static_cast<unsigned long>(pool->reclaimed.load()));
}

TEST(ListenerTableTest, Lookup_ExactBeforeWildcard) {
  ListenerTable table;
  int any80 = 0, exact80 = 0, any443 = 0;
  const Ipv4Addr a{0xC6120001}, b{0xC6120002};
  ASSERT_EQ(table.insert({Ipv4Addr{0}, 80}, &any80), TableResult::kOk);
  ASSERT_EQ(table.insert({a, 80}, &exact80), TableResult::kOk);
  ASSERT_EQ(table.insert({Ipv4Addr{0}, 443}, &any443), TableResult::kOk);
  EXPECT_EQ(table.lookup(a, 80), &exact80);
  EXPECT_EQ(table.lookup(b, 80), &any80);
  EXPECT_EQ(table.lookup(a, 443), &any443);
  EXPECT_EQ(table.lookup(a, 22), nullptr);
  EXPECT_EQ(table.find({b, 80}), nullptr);
  EXPECT_EQ(table.find({Ipv4Addr{0}, 80}), &any80);
  EXPECT_EQ(table.size(), 3u);

  // Erasing the exact listener falls back to the wildcard; erasing the wildcard leaves the exact.
  EXPECT_EQ(table.erase({a, 80}), TableResult::kOk);
  EXPECT_EQ(table.lookup(a, 80), &any80);
  EXPECT_EQ(table.erase({a, 80}), TableResult::kNotFound);
  ASSERT_EQ(table.insert({a, 80}, &exact80), TableResult::kOk);
  EXPECT_EQ(table.erase({Ipv4Addr{0}, 80}), TableResult::kOk);
  EXPECT_EQ(table.lookup(a, 80), &exact80);
  EXPECT_EQ(table.lookup(b, 80), nullptr);
}

TEST(ListenerTableTest, Insert_DuplicateFullAndNull) {
  ListenerTable table(2);
  int x = 0, y = 0;
  EXPECT_EQ(table.insert({Ipv4Addr{1}, 1}, nullptr), TableResult::kInvalid);
  ASSERT_EQ(table.insert({Ipv4Addr{1}, 1}, &x), TableResult::kOk);
  EXPECT_EQ(table.insert({Ipv4Addr{1}, 1}, &y), TableResult::kExists);
  EXPECT_EQ(table.find({Ipv4Addr{1}, 1}), &x);
  ASSERT_EQ(table.insert({Ipv4Addr{0}, 1}, &y), TableResult::kOk);
  EXPECT_EQ(table.insert({Ipv4Addr{2}, 1}, &y), TableResult::kFull);
  // An erased slot is reused.
  ASSERT_EQ(table.erase({Ipv4Addr{1}, 1}), TableResult::kOk);
  EXPECT_EQ(table.insert({Ipv4Addr{2}, 1}, &x), TableResult::kOk);
  EXPECT_EQ(table.lookup(Ipv4Addr{2}, 1), &x);

  std::set<std::pair<std::uint32_t, std::uint16_t>> listed;
  table.for_each([&](ListenKey key, void*) { listed.insert({key.addr.value, key.port}); });
  EXPECT_EQ(listed, (std::set<std::pair<std::uint32_t, std::uint16_t>>{{0, 1}, {2, 1}}));
}

// Readers never see a listener's value paired with another listener's key while the writer keeps
// replacing listeners in the same slots.
TEST(ListenerTableTest, Concurrent_ReadersSeeConsistentEntries) {
  ListenerTable table(8);
  std::array<std::uint16_t, 65536> ports{};
  for (std::uint32_t i = 0; i < ports.size(); ++i) ports[i] = static_cast<std::uint16_t>(i);
  int stable = 0;
  ASSERT_EQ(table.insert({Ipv4Addr{0}, 9}, &stable), TableResult::kOk);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (table.lookup(Ipv4Addr{7}, 9) != &stable) bad.fetch_add(1);
        table.for_each([&](ListenKey key, void* value) {
          if (key.port != 9 && value != &ports[key.port]) bad.fetch_add(1);
        });
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  for (std::uint16_t port = 100; std::chrono::steady_clock::now() < deadline; ++port) {
    if (port < 100) port = 100;
    ASSERT_EQ(table.insert({Ipv4Addr{1}, port}, &ports[port]), TableResult::kOk);
    ASSERT_EQ(table.erase({Ipv4Addr{1}, port}), TableResult::kOk);
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
}

}  // namespace
}  // namespace synwave
