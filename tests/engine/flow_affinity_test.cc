// Flow affinity: the software Toeplitz hash against the Microsoft RSS specification's vectors,
// the symmetric key, software steering's reading of frames, and the active-open port choice
// that sends every reply to the opening engine's queue.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <vector>

#include "../tcp/tcp_fixture.h"
#include "engine/flow_steering.h"
#include "engine/rss_table.h"
#include "wire/bytes.h"

namespace synwave {
namespace {

using tcp::testing::kLocalIp;
using tcp::testing::kPeerIp;
using tcp::testing::StackHarness;
using tcp::testing::test_pool;

// The key of the Microsoft RSS specification ("Verifying the RSS Hash Calculation").
constexpr RssKey kMicrosoftKey = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                                  0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                                  0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

struct Vector {
  const char* destination;
  std::uint16_t destination_port;
  const char* source;
  std::uint16_t source_port;
  std::uint32_t ipv4_only;
  std::uint32_t ipv4_tcp;
};

constexpr Vector kMicrosoftVectors[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};

RssTable table(const RssKey& key, unsigned queues) {
  auto t = RssTable::create(key, RssTable::round_robin_reta(queues));
  EXPECT_TRUE(t.ok());
  return *std::move(t);
}

TEST(RssTable, MatchesTheMicrosoftVectors) {
  const RssTable rss = table(kMicrosoftKey, 1);
  for (const Vector& v : kMicrosoftVectors) {
    const Ipv4Addr src = *parse_ipv4(v.source), dst = *parse_ipv4(v.destination);
    EXPECT_EQ(rss.hash(src, dst), v.ipv4_only) << v.source << " -> " << v.destination;
    EXPECT_EQ(rss.hash(src, dst, v.source_port, v.destination_port), v.ipv4_tcp) << v.source << " -> " << v.destination;
    EXPECT_EQ(rss.reference_hash(src, dst, v.source_port, v.destination_port), v.ipv4_tcp);
  }
}

TEST(RssTable, TablesAgreeWithDpdksSoftRss) {
  for (const RssKey& key : {kMicrosoftKey, kSymmetricRssKey}) {
    const RssTable rss = table(key, 2);
    std::uint32_t x = 777;
    auto next = [&] { return x = x * 1664525u + 1013904223u; };
    for (int i = 0; i < 10000; ++i) {
      const Ipv4Addr a{next()}, b{next()};
      const auto pa = static_cast<std::uint16_t>(next() >> 16), pb = static_cast<std::uint16_t>(next() >> 16);
      ASSERT_EQ(rss.hash(a, b, pa, pb), rss.reference_hash(a, b, pa, pb));
    }
  }
}

TEST(RssTable, SymmetricKeyHashesBothDirectionsAlike) {
  const RssTable rss = table(kSymmetricRssKey, 4);
  std::uint32_t x = 12345;
  auto next = [&] { return x = x * 1664525u + 1013904223u; };
  for (int i = 0; i < 10000; ++i) {
    const Ipv4Addr a{next()}, b{next()};
    const auto pa = static_cast<std::uint16_t>(next() >> 16), pb = static_cast<std::uint16_t>(next() >> 16);
    ASSERT_EQ(rss.hash(a, b, pa, pb), rss.hash(b, a, pb, pa));
  }
}

TEST(RssTable, RefusesARetaWhoseSizeIsNotAPowerOfTwo) {
  EXPECT_EQ(RssTable::create(kSymmetricRssKey, std::vector<std::uint16_t>(100)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RssTable::create(kSymmetricRssKey, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RssTable, RoundRobinRetaSpreadsOverEveryQueue) {
  const auto reta = RssTable::round_robin_reta(3, 128);
  ASSERT_EQ(reta.size(), 128u);
  for (std::size_t i = 0; i < reta.size(); ++i) EXPECT_EQ(reta[i], i % 3);
}

// An Ethernet + IPv4 + TCP/UDP frame in an mbuf.
rte_mbuf* frame(std::uint16_t ethertype, std::uint8_t protocol, Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport,
                std::uint16_t dport, std::uint16_t fragment = 0) {
  rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
  std::uint8_t* b = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, 14 + 20 + 20));
  std::memset(b, 0, 54);
  wire::store_be16(b + 12, ethertype);
  std::uint8_t* ip = b + 14;
  ip[0] = 0x45;
  wire::store_be16(ip + 6, fragment);
  ip[9] = protocol;
  wire::store_be32(ip + 12, src.value);
  wire::store_be32(ip + 16, dst.value);
  wire::store_be16(ip + 20, sport);
  wire::store_be16(ip + 22, dport);
  return m;
}

TEST(FlowSteering, ATcpOrUdpFrameBelongsToItsHashBucket) {
  const RssTable rss = table(kSymmetricRssKey, 4);
  std::set<std::uint16_t> seen;
  for (std::uint16_t port = 40000; port < 40064; ++port) {
    for (std::uint8_t protocol : {6, 17}) {
      rte_mbuf* m = frame(0x0800, protocol, kPeerIp, kLocalIp, port, 80);
      const std::uint16_t queue = owning_queue(m, rss);
      EXPECT_EQ(queue, rss.queue_of(kPeerIp, kLocalIp, port, 80));
      seen.insert(queue);
      rte_pktmbuf_free(m);
    }
  }
  EXPECT_EQ(seen.size(), 4u) << "64 source ports reach every one of 4 queues";
}

TEST(FlowSteering, WhatHasNoFlowStaysWhereItArrived) {
  const RssTable rss = table(kSymmetricRssKey, 4);
  struct Case {
    const char* what;
    rte_mbuf* m;
  } cases[] = {
      {"ARP", frame(0x0806, 0, kPeerIp, kLocalIp, 1, 2)},
      {"ICMP", frame(0x0800, 1, kPeerIp, kLocalIp, 1, 2)},
      {"a first fragment (MF)", frame(0x0800, 6, kPeerIp, kLocalIp, 1, 2, 0x2000)},
      {"a later fragment", frame(0x0800, 6, kPeerIp, kLocalIp, 1, 2, 0x0010)},
      {"IPv6", frame(0x86dd, 6, kPeerIp, kLocalIp, 1, 2)},
  };
  for (Case& c : cases) {
    EXPECT_EQ(owning_queue(c.m, rss), kAnyQueue) << c.what;
    rte_pktmbuf_free(c.m);
  }
  rte_mbuf* truncated = frame(0x0800, 6, kPeerIp, kLocalIp, 1, 2);
  rte_pktmbuf_trim(truncated, 54 - 14 - 20);  // the IPv4 header only: no ports to read
  EXPECT_EQ(owning_queue(truncated, rss), kAnyQueue);
  rte_pktmbuf_free(truncated);
}

// What an engine gives its TCP layer: the reply to `tuple` arrives on `queue`.
struct QueueAffinity {
  const RssTable* rss;
  std::uint16_t queue;
  static bool receives(const void* self, const FourTuple& t) {
    const auto* a = static_cast<const QueueAffinity*>(self);
    return a->rss->queue_of(t.remote, t.local, t.remote_port, t.local_port) == a->queue;
  }
};

class ActiveOpenPortChoice : public ::testing::TestWithParam<unsigned> {};

TEST_P(ActiveOpenPortChoice, EveryEnginesRepliesHashToItsOwnQueue) {
  const unsigned queues = GetParam();
  const RssTable rss = table(kSymmetricRssKey, queues);
  const tcp::Endpoint server{kPeerIp, 80};
  std::set<std::uint16_t> ports_of_all_engines;
  for (std::uint16_t queue = 0; queue < queues; ++queue) {
    TimerWheel wheel(std::chrono::milliseconds(1));
    QueueAffinity affinity{&rss, queue};
    StackHarness stack(kLocalIp, Sysctl{}, wheel, "affinity_" + std::to_string(queues) + "_" + std::to_string(queue),
                       1024, 0, {.receives = &QueueAffinity::receives, .context = &affinity});
    for (int i = 0; i < 200; ++i) {
      const int s = stack->socket();
      ASSERT_GE(s, 0);
      ASSERT_EQ(stack->connect(s, server), -EINPROGRESS);
    }
    const auto syns = stack.take();
    ASSERT_EQ(syns.size(), 200u);
    for (const auto& syn : syns) {
      const std::uint16_t port = syn.tcp.src_port;
      // The SYN-ACK comes from the server to this port: it must land on this engine's queue.
      EXPECT_EQ(rss.queue_of(kPeerIp, kLocalIp, 80, port), queue) << "port " << port;
      EXPECT_TRUE(ports_of_all_engines.insert(port).second) << "port " << port << " chosen twice";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Queues, ActiveOpenPortChoice, ::testing::Values(2u, 3u, 4u, 8u));

TEST(ActiveOpenPortChoice, ABoundPortWhoseRepliesGoElsewhereIsRefused) {
  const RssTable rss = table(kSymmetricRssKey, 2);
  const tcp::Endpoint server{kPeerIp, 80};
  std::uint16_t here = 0, elsewhere = 0;
  for (std::uint16_t p = 50000; here == 0 || elsewhere == 0; ++p)
    (rss.queue_of(kPeerIp, kLocalIp, 80, p) == 0 ? here : elsewhere) = p;
  TimerWheel wheel(std::chrono::milliseconds(1));
  QueueAffinity affinity{&rss, 0};
  StackHarness stack(kLocalIp, Sysctl{}, wheel, "affinity_bound", 64, 0,
                     {.receives = &QueueAffinity::receives, .context = &affinity});
  const int wrong = stack->socket();
  ASSERT_EQ(stack->bind(wrong, {kLocalIp, elsewhere}), 0);
  EXPECT_EQ(stack->connect(wrong, server), -EADDRNOTAVAIL);
  EXPECT_EQ(stack->stats().get(tcp::TcpStat::kConnectOtherEngine), 1u);
  EXPECT_EQ(stack.pending(), 0u) << "no SYN for a reply this engine would never see";
  const int right = stack->socket();
  ASSERT_EQ(stack->bind(right, {kLocalIp, here}), 0);
  EXPECT_EQ(stack->connect(right, server), -EINPROGRESS);
  EXPECT_EQ(stack.take().size(), 1u);
  stack->close(wrong);
  stack->close(right);
}

}  // namespace
}  // namespace synwave
