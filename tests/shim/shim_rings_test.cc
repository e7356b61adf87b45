// The shared-memory rings of the shim (lib/shim/shim_rings.h) and the region's layout
// (lib/shim/shim_abi.h): no DPDK, no engine.
#include "shim/shim_rings.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "shim/shim_abi.h"

namespace synwave::shim {
namespace {

using RequestRing = MessageRing<Request, kRingEntries>;
using EventQueue = MessageRing<Event, kEventEntries>;
constexpr std::uint32_t kWrapStart = 0xFFFFFF00u;

Request request_tagged(std::uint64_t tag) {
  Request r;
  r.op = Op::kSend;
  r.socket = static_cast<std::uint32_t>(tag % 7);
  r.tag = tag;
  r.args[0] = static_cast<std::int64_t>(tag * 3);
  return r;
}

// A ring, its producer and its consumer, all starting at `start`.
struct RingPair {
  explicit RingPair(std::uint32_t start = 0) : ring(std::make_unique<RequestRing>()) {
    ring->head.value.store(start);
    ring->tail.value.store(start);
    producer.reset(ring.get(), start);
    consumer.reset(ring.get(), start);
  }
  std::unique_ptr<RequestRing> ring;
  RingProducer<RequestRing> producer;
  RingConsumer<RequestRing> consumer;
};

std::uint32_t available(const RingConsumer<RequestRing>& c) {
  std::uint32_t n = 12345;
  EXPECT_EQ(c.available(n), RingCheck::kOk);
  return n;
}

std::uint32_t room(RingProducer<RequestRing>& p) {
  std::uint32_t n = 12345;
  EXPECT_EQ(p.room(n), RingCheck::kOk);
  return n;
}

// --- message rings -------------------------------------------------------------------------------

TEST(MessageRing, PushPublishTake_FifoOrder) {
  RingPair r;
  for (std::uint64_t tag = 1; tag <= 10; ++tag) ASSERT_TRUE(r.producer.push(request_tagged(tag)));
  r.producer.publish();
  EXPECT_EQ(r.ring->head.value.load(), 10u);
  EXPECT_EQ(available(r.consumer), 10u);
  for (std::uint64_t tag = 1; tag <= 10; ++tag) {
    Request out;
    r.consumer.take(out);
    EXPECT_EQ(out.tag, tag);
    EXPECT_EQ(out.op, Op::kSend);
    EXPECT_EQ(out.socket, tag % 7);
    EXPECT_EQ(out.args[0], static_cast<std::int64_t>(tag * 3));
  }
  EXPECT_EQ(r.consumer.tail(), 10u);
  // take() moves only the private index until release().
  EXPECT_EQ(r.ring->tail.value.load(), 0u);
  r.consumer.release();
  EXPECT_EQ(r.ring->tail.value.load(), 10u);
  EXPECT_EQ(available(r.consumer), 0u);
  EXPECT_EQ(room(r.producer), kRingEntries);
}

TEST(MessageRing, Empty_AvailableZeroAndFullRoom) {
  RingPair r;
  EXPECT_EQ(available(r.consumer), 0u);
  EXPECT_EQ(room(r.producer), kRingEntries);
  EXPECT_EQ(r.producer.head(), 0u);
  EXPECT_EQ(r.consumer.tail(), 0u);
}

TEST(MessageRing, PushWithoutPublish_NotVisibleToConsumer) {
  RingPair r;
  ASSERT_TRUE(r.producer.push(request_tagged(1)));
  ASSERT_TRUE(r.producer.push(request_tagged(2)));
  EXPECT_EQ(r.producer.head(), 2u);
  EXPECT_EQ(r.ring->head.value.load(), 0u);
  EXPECT_EQ(available(r.consumer), 0u);
  r.producer.publish();
  EXPECT_EQ(available(r.consumer), 2u);
}

TEST(MessageRing, Full_PushFailsUntilConsumerReleases) {
  RingPair r;
  for (std::uint32_t i = 0; i < kRingEntries; ++i) ASSERT_TRUE(r.producer.push(request_tagged(i + 1))) << i;
  bool corrupt = false;
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_FALSE(corrupt);
  EXPECT_EQ(r.producer.head(), kRingEntries);
  r.producer.publish();
  EXPECT_EQ(room(r.producer), 0u);
  EXPECT_EQ(available(r.consumer), kRingEntries);

  // Taken but not released: still full for the producer.
  Request out;
  r.consumer.take(out);
  EXPECT_EQ(out.tag, 1u);
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_FALSE(corrupt);
  EXPECT_EQ(room(r.producer), 0u);

  r.consumer.release();
  EXPECT_EQ(room(r.producer), 1u);
  EXPECT_TRUE(r.producer.push(request_tagged(kRingEntries + 1), &corrupt));
  EXPECT_FALSE(corrupt);
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_FALSE(corrupt);
  r.producer.publish();
  // The entry went into the slot the first one left: index 256 & 255 == 0.
  EXPECT_EQ(r.ring->entries[0].tag, kRingEntries + 1u);
  for (std::uint64_t tag = 2; tag <= kRingEntries + 1; ++tag) {
    r.consumer.take(out);
    ASSERT_EQ(out.tag, tag);
  }
  r.consumer.release();
  EXPECT_EQ(available(r.consumer), 0u);
}

TEST(MessageRing, IndicesWrapPastZero_FifoKept) {
  RingPair r(kWrapStart);
  std::uint64_t next_push = 1, next_take = 1;
  // 1000 entries in batches of 100 carry both indices through 0xFFFFFFFF -> 0.
  for (int batch = 0; batch < 10; ++batch) {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(r.producer.push(request_tagged(next_push++)));
    r.producer.publish();
    ASSERT_EQ(available(r.consumer), 100u);
    ASSERT_EQ(room(r.producer), kRingEntries - 100);
    for (int i = 0; i < 100; ++i) {
      Request out;
      r.consumer.take(out);
      ASSERT_EQ(out.tag, next_take++);
    }
    r.consumer.release();
  }
  EXPECT_EQ(r.producer.head(), kWrapStart + 1000u);  // 0x000002E8
  EXPECT_EQ(r.producer.head(), 0x2E8u);
  EXPECT_EQ(r.consumer.tail(), 0x2E8u);
  EXPECT_EQ(r.ring->head.value.load(), 0x2E8u);
  EXPECT_EQ(r.ring->tail.value.load(), 0x2E8u);
}

TEST(MessageRing, FullAcrossWrap_RoomZeroThenOk) {
  // 0x80 entries before the wrap and 0x80 after it: exactly full.
  RingPair r(0xFFFFFF80u);
  for (std::uint32_t i = 0; i < kRingEntries; ++i) ASSERT_TRUE(r.producer.push(request_tagged(i + 1)));
  r.producer.publish();
  EXPECT_EQ(r.ring->head.value.load(), 0x80u);
  EXPECT_EQ(room(r.producer), 0u);
  EXPECT_EQ(available(r.consumer), kRingEntries);
  bool corrupt = false;
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_FALSE(corrupt);
  for (std::uint32_t i = 0; i < kRingEntries; ++i) {
    Request out;
    r.consumer.take(out);
    ASSERT_EQ(out.tag, i + 1u);
  }
  r.consumer.release();
  EXPECT_EQ(r.ring->tail.value.load(), 0x80u);
  EXPECT_EQ(room(r.producer), kRingEntries);
}

TEST(MessageRing, ConsumerTailBeyondProducerHead_RoomCorrupt) {
  RingPair r(kWrapStart);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r.producer.push(request_tagged(i + 1)));
  r.producer.publish();
  // The consumer claims to have read 4 entries of 3.
  r.ring->tail.value.store(kWrapStart + 4);
  std::uint32_t free = 777;
  EXPECT_EQ(r.producer.room(free), RingCheck::kCorrupt);
  EXPECT_EQ(free, 777u);  // untouched
  // Exactly at head is fine; far behind (more than the capacity) is not.
  r.ring->tail.value.store(kWrapStart + 3);
  EXPECT_EQ(r.producer.room(free), RingCheck::kOk);
  EXPECT_EQ(free, kRingEntries);
  r.ring->tail.value.store(kWrapStart + 3 - kRingEntries - 1);
  EXPECT_EQ(r.producer.room(free), RingCheck::kCorrupt);
}

TEST(MessageRing, ProducerHeadMoreThanCapacityAhead_AvailableCorrupt) {
  RingPair r(kWrapStart);
  std::uint32_t n = 777;
  r.ring->head.value.store(kWrapStart + kRingEntries);
  EXPECT_EQ(r.consumer.available(n), RingCheck::kOk);
  EXPECT_EQ(n, kRingEntries);
  r.ring->head.value.store(kWrapStart + kRingEntries + 1);
  n = 777;
  EXPECT_EQ(r.consumer.available(n), RingCheck::kCorrupt);
  EXPECT_EQ(n, 777u);
  r.ring->head.value.store(kWrapStart + 1000);
  EXPECT_EQ(r.consumer.available(n), RingCheck::kCorrupt);
  // Behind the consumer's tail.
  r.ring->head.value.store(kWrapStart - 1);
  EXPECT_EQ(r.consumer.available(n), RingCheck::kCorrupt);
}

TEST(MessageRing, PushOnFullRingWithImpossibleTail_SetsCorrupt) {
  RingPair r;
  for (std::uint32_t i = 0; i < kRingEntries; ++i) ASSERT_TRUE(r.producer.push(request_tagged(i + 1)));
  r.producer.publish();
  r.ring->tail.value.store(kRingEntries + 5);  // beyond head
  bool corrupt = false;
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_TRUE(corrupt);
  EXPECT_EQ(r.producer.head(), kRingEntries);
  // Without a flag to set, push just fails.
  EXPECT_FALSE(r.producer.push(request_tagged(999)));
  // A tail far behind: also impossible.
  r.ring->tail.value.store(0xFFFFFF00u);
  corrupt = false;
  EXPECT_FALSE(r.producer.push(request_tagged(999), &corrupt));
  EXPECT_TRUE(corrupt);
}

TEST(MessageRing, TakeCopiesEntry_LaterOverwriteDoesNotChangeCopy) {
  RingPair r;
  ASSERT_TRUE(r.producer.push(request_tagged(42)));
  r.producer.publish();
  Request out;
  r.consumer.take(out);
  r.ring->entries[0].tag = 666;  // a hostile producer rewrites it after the take
  EXPECT_EQ(out.tag, 42u);
}

TEST(MessageRing, EventRing_WrapsWithLargeCapacity) {
  auto ring = std::make_unique<EventQueue>();
  ring->head.value.store(kWrapStart);
  ring->tail.value.store(kWrapStart);
  RingProducer<EventQueue> p;
  RingConsumer<EventQueue> c;
  p.reset(ring.get(), kWrapStart);
  c.reset(ring.get(), kWrapStart);
  for (std::uint32_t i = 0; i < kEventEntries; ++i) ASSERT_TRUE(p.push(Event{i, EventKind::kChanged}));
  EXPECT_FALSE(p.push(Event{0, EventKind::kReleased}));
  p.publish();
  std::uint32_t n = 0;
  ASSERT_EQ(c.available(n), RingCheck::kOk);
  EXPECT_EQ(n, kEventEntries);
  for (std::uint32_t i = 0; i < kEventEntries; ++i) {
    Event e;
    c.take(e);
    ASSERT_EQ(e.socket, i);
  }
  c.release();
  EXPECT_EQ(ring->tail.value.load(), kWrapStart + kEventEntries);  // 0x00000F00
}

// Two threads: the producer pushes 1,000,000 sequence numbers, the consumer sees them in order.
TEST(MessageRing, TwoThreads_MillionRequestsInOrder) {
  constexpr std::uint64_t kCount = 1'000'000;
  RingPair r(kWrapStart);
  std::atomic<bool> give_up{false};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);

  std::thread producer([&] {
    std::uint64_t next = 0;
    while (next < kCount && !give_up.load(std::memory_order_relaxed)) {
      bool pushed = false;
      for (int i = 0; i < 32 && next < kCount; ++i) {
        Request req;
        req.op = Op::kSend;
        req.tag = next;
        req.args[5] = static_cast<std::int64_t>(~next);
        if (!r.producer.push(req)) break;
        ++next;
        pushed = true;
      }
      r.producer.publish();
      if (!pushed) std::this_thread::yield();
    }
  });

  std::uint64_t expected = 0, mismatches = 0;
  while (expected < kCount) {
    std::uint32_t n = 0;
    if (r.consumer.available(n) != RingCheck::kOk) {
      ADD_FAILURE() << "corrupt ring seen by the consumer at " << expected;
      break;
    }
    if (n == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "stalled at " << expected;
        break;
      }
      std::this_thread::yield();
      continue;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      Request req;
      r.consumer.take(req);
      if (req.tag != expected || req.args[5] != static_cast<std::int64_t>(~expected) || req.op != Op::kSend)
        ++mismatches;
      ++expected;
    }
    r.consumer.release();
  }
  give_up.store(true);
  producer.join();
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(expected, kCount);
  EXPECT_EQ(r.ring->head.value.load(), static_cast<std::uint32_t>(kWrapStart + kCount));
  EXPECT_EQ(r.ring->tail.value.load(), static_cast<std::uint32_t>(kWrapStart + kCount));
}

// --- byte rings ----------------------------------------------------------------------------------

TEST(ByteRing, WriteAcrossWrap_SplitsAtEnd) {
  std::array<std::uint8_t, 16> ring{};
  const std::array<std::uint8_t, 10> src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::uint32_t head = 0xFFFFFFFCu;  // offset 12
  ring_write(ring.data(), 16, head, src.data(), 10);
  const std::array<std::uint8_t, 16> expected = {5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_EQ(ring, expected);

  std::array<std::uint8_t, 10> back{};
  ring_read(ring.data(), 16, head, back.data(), 10);
  EXPECT_EQ(back, src);
  // Continuing past the wrap point (head + 10 == 6).
  ring_write(ring.data(), 16, head + 10, src.data(), 3);
  EXPECT_EQ(ring[6], 1);
  EXPECT_EQ(ring[7], 2);
  EXPECT_EQ(ring[8], 3);
}

TEST(ByteRing, WholeCapacity_FromMiddle) {
  std::array<std::uint8_t, 16> ring{};
  std::array<std::uint8_t, 16> src{};
  std::iota(src.begin(), src.end(), 100);
  ring_write(ring.data(), 16, 5, src.data(), 16);
  EXPECT_EQ(ring[5], 100);
  EXPECT_EQ(ring[15], 110);
  EXPECT_EQ(ring[0], 111);
  EXPECT_EQ(ring[4], 115);
  std::array<std::uint8_t, 16> back{};
  ring_read(ring.data(), 16, 5, back.data(), 16);
  EXPECT_EQ(back, src);
}

TEST(ByteRing, NoWrap_SingleCopy) {
  std::array<std::uint8_t, 16> ring{};
  const std::uint8_t src[4] = {9, 8, 7, 6};
  ring_write(ring.data(), 16, 32 + 2, src, 4);  // offset 2
  const std::array<std::uint8_t, 16> expected = {0, 0, 9, 8, 7, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(ring, expected);
  std::uint8_t back[4] = {};
  ring_read(ring.data(), 16, 2, back, 4);
  EXPECT_EQ(std::memcmp(back, src, 4), 0);
  // Zero bytes touch nothing.
  ring_write(ring.data(), 16, 15, src, 0);
  EXPECT_EQ(ring, expected);
}

TEST(ByteRing, Contiguous_StopsAtWrapPoint) {
  EXPECT_EQ(ring_contiguous(16, 0, 10), 10u);
  EXPECT_EQ(ring_contiguous(16, 0, 16), 16u);
  EXPECT_EQ(ring_contiguous(16, 0, 100), 16u);
  EXPECT_EQ(ring_contiguous(16, 12, 10), 4u);
  EXPECT_EQ(ring_contiguous(16, 12, 3), 3u);
  EXPECT_EQ(ring_contiguous(16, 15, 1), 1u);
  EXPECT_EQ(ring_contiguous(16, 16, 1), 1u);
  EXPECT_EQ(ring_contiguous(16, 0xFFFFFFFCu, 10), 4u);
  EXPECT_EQ(ring_contiguous(16, 0xFFFFFFFFu, 10), 1u);
  EXPECT_EQ(ring_contiguous(4096, 0xFFFFFF00u, 4096), 256u);
  EXPECT_EQ(ring_contiguous(16, 7, 0), 0u);
}

// --- the region's geometry -----------------------------------------------------------------------

struct Shape {
  std::uint32_t engines, channels, sockets, buffer_bytes;
};
constexpr Shape kShapes[] = {
    {1, 1, 16, 4096}, {1, 2, 64, 4096}, {2, 3, 17, 8192}, {4, 4, 1024, 65536}, {3, 16, 100, 4096},
    {16, 16, 4096, 1u << 16}, {16, 1, 16, 4096}, {7, 5, 33, 1u << 24},
};

TEST(Geometry, Offsets_AlignedOrderedAndSized) {
  static_assert(sizeof(RegionHeader) == 4096);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(::testing::Message() << s.engines << "e " << s.channels << "c " << s.sockets << "s " << s.buffer_bytes);
    const Geometry g = geometry(s.engines, s.channels, s.sockets, s.buffer_bytes);
    EXPECT_EQ(g.engines, s.engines);
    EXPECT_EQ(g.channels, s.channels);
    EXPECT_EQ(g.sockets, s.sockets);
    EXPECT_EQ(g.buffer_bytes, s.buffer_bytes);
    for (std::uint64_t off : {g.channels_offset, g.events_offset, g.sockets_offset, g.buffers_offset})
      EXPECT_EQ(off % 4096, 0u) << off;
    EXPECT_EQ(g.channels_offset, 4096u);
    // Each section ends before the next begins.
    EXPECT_GE(g.channels_offset, sizeof(RegionHeader));
    EXPECT_GE(g.events_offset, g.channels_offset + std::uint64_t{s.channels} * s.engines * sizeof(Channel));
    EXPECT_LT(g.events_offset - (g.channels_offset + std::uint64_t{s.channels} * s.engines * sizeof(Channel)), 4096u);
    EXPECT_GE(g.sockets_offset, g.events_offset + std::uint64_t{s.engines} * sizeof(EventRing));
    EXPECT_LT(g.sockets_offset - (g.events_offset + std::uint64_t{s.engines} * sizeof(EventRing)), 4096u);
    EXPECT_GE(g.buffers_offset, g.sockets_offset + std::uint64_t{s.sockets} * sizeof(SocketShared));
    EXPECT_LT(g.buffers_offset - (g.sockets_offset + std::uint64_t{s.sockets} * sizeof(SocketShared)), 4096u);
    EXPECT_EQ(g.size, g.buffers_offset + std::uint64_t{s.sockets} * 2 * s.buffer_bytes);
  }
}

TEST(Geometry, OneEngineTwoChannels_ExactOffsets) {
  const Geometry g = geometry(1, 2, 64, 4096);
  EXPECT_EQ(g.channels_offset, 4096u);
  EXPECT_EQ(g.events_offset, align_up(4096 + 2 * sizeof(Channel), 4096));
  EXPECT_EQ(g.sockets_offset, align_up(g.events_offset + sizeof(EventRing), 4096));
  EXPECT_EQ(g.buffers_offset, align_up(g.sockets_offset + 64 * sizeof(SocketShared), 4096));
  EXPECT_EQ(g.size, g.buffers_offset + 64u * 2 * 4096);
  EXPECT_EQ(sizeof(Channel) % kCacheLine, 0u);
  EXPECT_EQ(sizeof(SocketShared) % kCacheLine, 0u);
}

TEST(Geometry, AlignUp_Values) {
  EXPECT_EQ(align_up(0, 4096), 0u);
  EXPECT_EQ(align_up(1, 4096), 4096u);
  EXPECT_EQ(align_up(4096, 4096), 4096u);
  EXPECT_EQ(align_up(4097, 4096), 8192u);
}

// Every accessor of a RegionView lands inside its own section of the region.
TEST(RegionView, Accessors_InsideTheirSections) {
  for (const Shape& s : {Shape{1, 2, 64, 4096}, Shape{2, 3, 17, 8192}, Shape{3, 16, 20, 4096}}) {
    SCOPED_TRACE(::testing::Message() << s.engines << "e " << s.channels << "c " << s.sockets << "s");
    const Geometry g = geometry(s.engines, s.channels, s.sockets, s.buffer_bytes);
    void* mem = std::aligned_alloc(4096, g.size);
    ASSERT_NE(mem, nullptr);
    RegionView v{static_cast<std::uint8_t*>(mem), g};
    const auto off = [&](const void* p) { return static_cast<std::uint64_t>(static_cast<const std::uint8_t*>(p) - v.base); };

    EXPECT_EQ(off(&v.header()), 0u);
    std::vector<bool> seen(std::size_t{s.channels} * s.engines, false);
    for (std::uint32_t c = 0; c < s.channels; ++c) {
      for (std::uint32_t e = 0; e < s.engines; ++e) {
        const std::uint64_t at = off(&v.channel(c, e));
        EXPECT_GE(at, g.channels_offset);
        EXPECT_LE(at + sizeof(Channel), g.events_offset);
        EXPECT_EQ((at - g.channels_offset) % sizeof(Channel), 0u);
        const std::uint64_t index = (at - g.channels_offset) / sizeof(Channel);
        ASSERT_LT(index, seen.size());
        EXPECT_FALSE(seen[index]) << "channel " << c << " engine " << e << " shares an index";
        seen[index] = true;
      }
    }
    for (std::uint32_t e = 0; e < s.engines; ++e) {
      const std::uint64_t at = off(&v.events(e));
      EXPECT_EQ(at, g.events_offset + e * sizeof(EventRing));
      EXPECT_LE(at + sizeof(EventRing), g.sockets_offset);
    }
    for (std::uint32_t k = 0; k < s.sockets; ++k) {
      const std::uint64_t at = off(&v.socket(k));
      EXPECT_EQ(at, g.sockets_offset + k * sizeof(SocketShared));
      EXPECT_LE(at + sizeof(SocketShared), g.buffers_offset);
      const std::uint64_t rx = off(v.rx_bytes(k)), tx = off(v.tx_bytes(k));
      EXPECT_EQ(rx, g.buffers_offset + std::uint64_t{k} * 2 * s.buffer_bytes);
      EXPECT_EQ(tx, rx + s.buffer_bytes);
      EXPECT_LE(tx + s.buffer_bytes, g.size);
      // Each engine's accept ring of this socket lies in its receive buffer, without overlap.
      const std::uint32_t cap = v.accept_capacity();
      for (std::uint32_t e = 0; e < s.engines; ++e) {
        const std::uint64_t a = off(v.accept_entries(k, e));
        EXPECT_EQ(a, rx + std::uint64_t{e} * cap * sizeof(AcceptEntry));
        EXPECT_LE(a + cap * sizeof(AcceptEntry), rx + s.buffer_bytes);
      }
    }
    std::free(mem);
  }
}

TEST(RegionView, AcceptCapacity_PowerOfTwoAndFits) {
  for (std::uint32_t engines = 1; engines <= kMaxEngines; ++engines) {
    for (std::uint32_t buffer = 4096; buffer <= (1u << 24); buffer <<= 1) {
      RegionView v;
      v.g = geometry(engines, 1, 16, buffer);
      const std::uint32_t cap = v.accept_capacity();
      ASSERT_GT(cap, 0u) << engines << " engines, " << buffer;
      EXPECT_EQ(cap & (cap - 1), 0u) << engines << " engines, " << buffer << ": " << cap;
      EXPECT_LE(std::uint64_t{engines} * cap * sizeof(AcceptEntry), buffer) << engines << " engines";
      // The largest power of two that fits: twice as many would not.
      EXPECT_GT(std::uint64_t{engines} * cap * 2 * sizeof(AcceptEntry), buffer) << engines << " engines";
    }
  }
  RegionView v;
  v.g = geometry(1, 2, 64, 4096);
  EXPECT_EQ(v.accept_capacity(), 256u);
  v.g = geometry(3, 2, 64, 4096);
  EXPECT_EQ(v.accept_capacity(), 64u);  // 4096 / 3 / 16 = 85
  v.g = geometry(16, 2, 64, 4096);
  EXPECT_EQ(v.accept_capacity(), 16u);
}

TEST(Abi, SizesAndLayout) {
  EXPECT_EQ(sizeof(Request), 64u);
  EXPECT_EQ(sizeof(Completion), 64u);
  EXPECT_EQ(sizeof(AcceptEntry), 16u);
  EXPECT_EQ(sizeof(RingIndex), kCacheLine);
  EXPECT_EQ(alignof(SocketShared), kCacheLine);
  EXPECT_EQ(offsetof(RequestRing, tail), kCacheLine);
  EXPECT_EQ(offsetof(RequestRing, entries), 2 * kCacheLine);
}

}  // namespace
}  // namespace synwave::shim
