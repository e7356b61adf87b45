// Next-hop resolution through the ARP cache, in virtual time.
#include <gtest/gtest.h>

#include "net_fixture.h"

namespace synwave::testing {
namespace {

using wire::EtherType;

class ArpResolutionTest : public NetFixture {
 protected:
  // Parses a sent frame as an ARP request and returns its target address.
  static Ipv4Addr request_target(const Bytes& frame) {
    auto eth = wire::EthernetView::parse(frame);
    EXPECT_TRUE(eth.ok());
    EXPECT_EQ(eth->ethertype(), EtherType::kArp);
    auto arp = wire::ArpView::parse(eth->payload());
    EXPECT_TRUE(arp.ok());
    EXPECT_EQ(arp->op(), wire::ArpOp::kRequest);
    return arp->target_ip();
  }

  void reply_from(const MacAddr& mac, Ipv4Addr ip, Instant now) {
    wire::ArpRepr reply{.op = wire::ArpOp::kReply, .sender_mac = mac, .sender_ip = ip,
                        .target_mac = kStackMac, .target_ip = kStackIp};
    receive(ethernet(kStackMac, mac, EtherType::kArp, arp(reply)), now);
  }
};

TEST_F(ArpResolutionTest, FirstPacketToOnLinkHost_QueuedAndBroadcastRequestSent) {
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, Instant{});
  tx_->flush();
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(request_target(sent[0]), kPeerIp);
  EXPECT_TRUE(wire::EthernetView::parse(sent[0])->dst().is_broadcast());
}

TEST_F(ArpResolutionTest, ReplyArrives_QueuedPacketsSentInOrderToLearnedMac) {
  for (int i = 0; i < 3; ++i) stack_->output_ipv4(ip_packet(kPeerIp, 8 + i), kPeerIp, Instant{});
  tx_->flush();
  ASSERT_EQ(take_sent().size(), 1u);  // one request for three packets
  reply_from(kPeerMac, kPeerIp, instant_from_ns(5'000'000));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto eth = wire::EthernetView::parse(sent[i]);
    EXPECT_EQ(eth->dst(), kPeerMac);
    EXPECT_EQ(eth->src(), kStackMac);
    EXPECT_EQ(eth->ethertype(), EtherType::kIpv4);
    EXPECT_EQ(sent[i].size(), 14u + 20u + 8u + i) << "arrival order kept";
  }
  // Resolved: the next packet goes straight out.
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, instant_from_ns(6'000'000));
  tx_->flush();
  EXPECT_EQ(take_sent().size(), 1u);
}

TEST_F(ArpResolutionTest, OffLinkDestination_ResolvesTheGateway) {
  stack_->output_ipv4(ip_packet(kFarIp), kFarIp, Instant{});
  tx_->flush();
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(request_target(sent[0]), kGatewayIp);
  reply_from(kGatewayMac, kGatewayIp, Instant{});
  sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(wire::EthernetView::parse(sent[0])->dst(), kGatewayMac);
  EXPECT_EQ(wire::Ipv4View::parse(wire::EthernetView::parse(sent[0])->payload())->dst(), kFarIp);
}

TEST_F(ArpResolutionTest, QueueFull_ExtraPacketsDroppedAndCounted) {
  for (int i = 0; i < 6; ++i) stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, Instant{});
  EXPECT_EQ(drops(NetDrop::kArpQueueFull), 2u) << "queue_len is 4";
}

TEST_F(ArpResolutionTest, NoReply_RequestsEverySecondThenGivesUpAfterThree) {
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, Instant{});
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, Instant{});
  tx_->flush();
  ASSERT_EQ(take_sent().size(), 1u);  // request 1 at 0 s

  poll(instant_from_ns(999'999'999));
  EXPECT_TRUE(take_sent().empty()) << "not before 1 s";
  poll(instant_from_ns(1'000'000'000));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);  // request 2 at 1 s
  EXPECT_EQ(request_target(sent[0]), kPeerIp);
  poll(instant_from_ns(2'000'000'000));
  ASSERT_EQ(take_sent().size(), 1u);  // request 3 at 2 s
  EXPECT_EQ(drops(NetDrop::kArpUnresolved), 0u);

  poll(instant_from_ns(2'999'999'999));
  EXPECT_EQ(drops(NetDrop::kArpUnresolved), 0u);
  poll(instant_from_ns(3'000'000'000));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(drops(NetDrop::kArpUnresolved), 2u) << "both waiting packets dropped at 3 s";
  EXPECT_EQ(stack_->arp().size(), 0u);

  // The next packet starts a fresh resolution.
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, instant_from_ns(4'000'000'000));
  tx_->flush();
  EXPECT_EQ(take_sent().size(), 1u);
}

TEST_F(ArpResolutionTest, ReachableTimePassed_StaleEntryUsedAndRefreshedByUnicast) {
  reply_from(kPeerMac, kPeerIp, Instant{});  // unsolicited replies for us are learned
  ASSERT_NE(stack_->arp().find_entry(kPeerIp), nullptr);
  const Instant stale = instant_from_ns(30'000'000'000);  // reachable_ms = 30000
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, stale);
  tx_->flush();
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(request_target(sent[0]), kPeerIp);
  EXPECT_EQ(wire::EthernetView::parse(sent[0])->dst(), kPeerMac) << "a refresh is unicast";
  EXPECT_EQ(wire::EthernetView::parse(sent[1])->ethertype(), EtherType::kIpv4) << "the packet still went";

  // Stale for another whole reachable time without an answer: forgotten, resolved afresh.
  stack_->output_ipv4(ip_packet(kPeerIp), kPeerIp, instant_from_ns(60'000'000'000));
  tx_->flush();
  sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(wire::EthernetView::parse(sent[0])->dst().is_broadcast());
}

TEST_F(ArpResolutionTest, NoGatewayForOffLink_NoRouteCounted) {
  NetStack::Params params = stack_->params();
  params.gateway.reset();
  NetStack no_gateway(params, *tx_);
  no_gateway.output_ipv4(ip_packet(kFarIp), kFarIp, Instant{});
  EXPECT_EQ(no_gateway.drops().get(NetDrop::kNoRoute), 1u);
}

TEST_F(ArpResolutionTest, ManyNeighbours_AllResolvableAndEraseKeepsLookupsWorking) {
  // More resolutions than fit in one probe run, then let half of them fail: the survivors must
  // still be found after backward-shift deletions.
  for (std::uint32_t host = 10; host < 200; ++host) {
    Ipv4Addr ip{kStackIp.value - 2 + host};
    stack_->output_ipv4(ip_packet(ip), ip, Instant{});
  }
  tx_->flush();
  take_sent();
  for (std::uint32_t host = 10; host < 200; host += 2) {
    Ipv4Addr ip{kStackIp.value - 2 + host};
    reply_from(kPeerMac, ip, instant_from_ns(1'000'000));
  }
  EXPECT_EQ(take_sent().size(), 95u);
  for (int second = 1; second <= 3; ++second) poll(instant_from_ns(second * 1'000'000'000LL));
  take_sent();
  EXPECT_EQ(stack_->arp().size(), 95u);
  for (std::uint32_t host = 10; host < 200; ++host) {
    Ipv4Addr ip{kStackIp.value - 2 + host};
    EXPECT_EQ(stack_->arp().find_entry(ip) != nullptr, host % 2 == 0) << host;
  }
}

}  // namespace
}  // namespace synwave::testing
