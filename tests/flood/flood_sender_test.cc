// FloodSender on a ring-backed port (rte_eth_from_ring): what the full ring refuses is held and
// goes first next time (kHold), or freed and counted (kDrop); discard() frees what is held.
#include "flood/flood_sender.h"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <string>

namespace synwave::flood {
namespace {

const FrameParams kParams{.src_mac = MacAddr{{0x02, 0, 0x5e, 0, 0x53, 0x12}},
                          .dst_mac = MacAddr{{0x02, 0, 0x5e, 0, 0x53, 0x11}},
                          .dst = Ipv4Addr{0xC6120101},
                          .dst_port = 8080};
const Ipv4Prefix kSources{Ipv4Addr{0xC6130000}, 16};

class FloodSenderTest : public testing::Test {
 protected:
  void SetUp() override {
    static int instance = 0;
    const std::string name = "flood_test_" + std::to_string(instance++);
    // 64 slots, 63 usable: the port's tx ring.
    ring_ = rte_ring_create((name + "_ring").c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(ring_, nullptr);
    const int port = rte_eth_from_ring(ring_);
    ASSERT_GE(port, 0);
    port_ = static_cast<std::uint16_t>(port);
    pool_ = rte_pktmbuf_pool_create((name + "_pool").c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    const rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port_, 1, 1, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port_, 0, 64, SOCKET_ID_ANY, nullptr, pool_), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port_, 0, 64, SOCKET_ID_ANY, nullptr), 0);
    ASSERT_EQ(rte_eth_dev_start(port_), 0);
  }
  void TearDown() override {
    drain();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);  // every frame back
    rte_mempool_free(pool_);
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    rte_ring_free(ring_);
  }
  // The peer takes everything off the ring.
  unsigned drain() {
    rte_mbuf* frames[64];
    const unsigned n = rte_ring_dequeue_burst(ring_, reinterpret_cast<void**>(frames), 64, nullptr);
    rte_pktmbuf_free_bulk(frames, n);
    return n;
  }

  rte_ring* ring_ = nullptr;
  std::uint16_t port_ = 0;
  rte_mempool* pool_ = nullptr;
};

TEST_F(FloodSenderTest, HoldsWhatTheFullRingRefusesAndSendsItFirstNextTime) {
  FloodSender sender(Kind::kSyn, kParams, kSources, 1, pool_, port_, 0, 32);
  EXPECT_EQ(sender.send(100), 63u);  // 32 + 31: the ring is full, one frame held
  EXPECT_EQ(sender.held(), 1u);
  EXPECT_EQ(sender.counts().built, 64u);
  EXPECT_EQ(sender.counts().ring_full, 1u);
  EXPECT_EQ(sender.send(100), 0u);  // still full: nothing new is built while one is held
  EXPECT_EQ(sender.counts().built, 64u);
  EXPECT_EQ(drain(), 63u);
  EXPECT_EQ(sender.send(0), 1u);  // the held frame goes first, even with no new budget
  EXPECT_EQ(sender.held(), 0u);
  EXPECT_EQ(sender.counts().sent, 64u);
  EXPECT_EQ(sender.counts().by_kind[0], 64u);
  EXPECT_EQ(sender.counts().dropped, 0u);
  EXPECT_EQ(sender.send(63), 62u);  // one slot taken: 62 fit, one held again
  sender.discard();
  EXPECT_EQ(sender.counts().unsent, 1u);
}

TEST_F(FloodSenderTest, DropsWhatTheFullRingRefusesWhenAskedTo) {
  FloodSender sender(Kind::kMix, kParams, kSources, 1, pool_, port_, 0, 32, FloodSender::OnFullRing::kDrop);
  EXPECT_EQ(sender.send(100), 63u);
  EXPECT_EQ(sender.held(), 0u);
  EXPECT_EQ(sender.counts().dropped, 1u);
  EXPECT_EQ(sender.counts().built, 64u);
  const SenderCounts& c = sender.counts();
  EXPECT_EQ(c.by_kind[0] + c.by_kind[1] + c.by_kind[2] + c.by_kind[3], 63u);
}

TEST_F(FloodSenderTest, StopsBuildingWhenThePoolIsEmpty) {
  rte_mbuf* all[511];
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool_, all, 511), 0);
  FloodSender sender(Kind::kRst, kParams, kSources, 1, pool_, port_, 0, 32);
  EXPECT_EQ(sender.send(32), 0u);
  EXPECT_EQ(sender.counts().no_mbuf, 1u);
  rte_pktmbuf_free_bulk(all, 511);
  EXPECT_EQ(sender.send(32), 32u);
}

}  // namespace
}  // namespace synwave::flood
