// The network layer against exact frames: ARP, ICMP echo, IPv4 validation, drops and leaks.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "net_fixture.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

namespace synwave::testing {
namespace {

using wire::EtherType;
using wire::IpProtocol;

class NetStackTest : public NetFixture {};

TEST_F(NetStackTest, Start_GratuitousArp_AnnouncesOwnAddress) {
  stack_->start(Instant{});
  tx_->flush();
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  auto eth = wire::EthernetView::parse(sent[0]);
  ASSERT_TRUE(eth.ok());
  EXPECT_TRUE(eth->dst().is_broadcast());
  EXPECT_EQ(eth->src(), kStackMac);
  EXPECT_EQ(eth->ethertype(), EtherType::kArp);
  EXPECT_EQ(sent[0].size(), 60u) << "padded to the Ethernet minimum";
  auto arp = wire::ArpView::parse(eth->payload());
  ASSERT_TRUE(arp.ok());
  EXPECT_EQ(arp->op(), wire::ArpOp::kRequest);
  EXPECT_EQ(arp->sender_ip(), kStackIp);
  EXPECT_EQ(arp->target_ip(), kStackIp);
  EXPECT_EQ(arp->sender_mac(), kStackMac);
  EXPECT_TRUE(arp->target_mac().is_zero());
  EXPECT_EQ(stack_->stats().get(NetStat::kArpGratuitousOut), 1u);
}

TEST_F(NetStackTest, ArpRequestForUs_AnsweredWithReplyFromOurMac) {
  receive(ethernet(MacAddr::broadcast(), kPeerMac, EtherType::kArp,
                   arp(wire::ArpRepr::request(kPeerMac, kPeerIp, kStackIp))));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  auto eth = wire::EthernetView::parse(sent[0]);
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->src(), kStackMac);
  auto reply = wire::ArpView::parse(eth->payload());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->op(), wire::ArpOp::kReply);
  EXPECT_EQ(reply->sender_mac(), kStackMac);
  EXPECT_EQ(reply->sender_ip(), kStackIp);
  EXPECT_EQ(reply->target_mac(), kPeerMac);
  EXPECT_EQ(reply->target_ip(), kPeerIp);
  // RFC 826: the requester was learned on the way.
  ASSERT_NE(stack_->arp().find_entry(kPeerIp), nullptr);
  EXPECT_EQ(stack_->arp().find_entry(kPeerIp)->mac, kPeerMac);
}

TEST_F(NetStackTest, ArpRequestForOtherHost_DroppedAndNotLearned) {
  receive(ethernet(MacAddr::broadcast(), kPeerMac, EtherType::kArp,
                   arp(wire::ArpRepr::request(kPeerMac, kPeerIp, *parse_ipv4("198.18.0.77")))));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(drops(NetDrop::kArpNotForUs), 1u);
  EXPECT_EQ(stack_->arp().find_entry(kPeerIp), nullptr);
}

TEST_F(NetStackTest, ArpClaimingOurAddress_CountedAsConflict) {
  receive(ethernet(MacAddr::broadcast(), kPeerMac, EtherType::kArp,
                   arp(wire::ArpRepr::request(kPeerMac, kStackIp, kStackIp))));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(drops(NetDrop::kArpAddressConflict), 1u);
}

TEST_F(NetStackTest, EchoRequest_RepliedInPlaceWithSwappedAddresses) {
  const Bytes data = {'s', 'y', 'n', 'w', 'a', 'v', 'e', 0, 1, 2, 3};
  const Bytes request = echo_request(0x1234, 7, data);
  receive(ethernet(kStackMac, kPeerMac, EtherType::kIpv4, ipv4(kPeerIp, kStackIp, IpProtocol::kIcmp, request, 17)));
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  auto eth = wire::EthernetView::parse(sent[0]);
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->src(), kStackMac);
  auto ip = wire::Ipv4View::parse(eth->payload());  // verifies the header checksum
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src(), kStackIp);
  EXPECT_EQ(ip->dst(), kPeerIp);
  EXPECT_EQ(ip->ttl(), 64) << "a reply starts with ip_default_ttl, not the request's TTL";
  EXPECT_EQ(ip->protocol(), IpProtocol::kIcmp);
  auto icmp = wire::IcmpView::parse(ip->payload());  // verifies the ICMP checksum
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), wire::IcmpType::kEchoReply);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 7);
  EXPECT_EQ(Bytes(icmp->data().begin(), icmp->data().end()), data);
  EXPECT_EQ(stack_->stats().get(NetStat::kIcmpEchoRepliesOut), 1u);
}

TEST_F(NetStackTest, EchoRequestWithEthernetPadding_ReplyCarriesNoPadding) {
  Bytes frame = ethernet(kStackMac, kPeerMac, EtherType::kIpv4,
                         ipv4(kPeerIp, kStackIp, IpProtocol::kIcmp, echo_request(1, 1, {})));
  frame.resize(60, 0);  // 14 + 28 bytes padded to the minimum frame
  receive(frame);
  auto sent = take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].size(), 14u + 20u + 8u);
}

TEST_F(NetStackTest, EchoToSubnetBroadcast_NotAnswered) {
  receive(ethernet(MacAddr::broadcast(), kPeerMac, EtherType::kIpv4,
                   ipv4(kPeerIp, *parse_ipv4("198.18.0.255"), IpProtocol::kIcmp, echo_request(1, 1, {}))));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(drops(NetDrop::kIcmpBroadcastEcho), 1u);
}

TEST_F(NetStackTest, EchoWithBadIcmpChecksum_DroppedAndCounted) {
  Bytes request = echo_request(1, 1, {1, 2, 3, 4});
  request[2] ^= 0xff;
  receive(ethernet(kStackMac, kPeerMac, EtherType::kIpv4, ipv4(kPeerIp, kStackIp, IpProtocol::kIcmp, request)));
  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(stack_->icmp_errors().get(wire::IcmpError::kBadChecksum), 1u);
}

TEST_F(NetStackTest, MalformedIpv4_EachReasonCounted) {
  const Bytes good = ipv4(kPeerIp, kStackIp, IpProtocol::kIcmp, echo_request(1, 1, {}));
  auto send_ip = [&](Bytes packet) { receive(ethernet(kStackMac, kPeerMac, EtherType::kIpv4, packet)); };
  Bytes bad_checksum = good;
  bad_checksum[10] ^= 0x01;
  send_ip(bad_checksum);
  Bytes bad_version = good;
  bad_version[0] = 0x65;
  send_ip(bad_version);
  Bytes short_ihl = good;
  short_ihl[0] = 0x44;
  send_ip(short_ihl);
  send_ip(Bytes(good.begin(), good.begin() + 19));
  Bytes fragment = good;
  fragment[6] = 0x20;  // MF, DF clear: recompute the checksum so only the fragment is wrong
  wire::store_be16(fragment.data() + 10, 0);
  wire::store_be16(fragment.data() + 10, wire::internet_checksum({fragment.data(), 20}));
  send_ip(fragment);
  send_ip(ipv4(kPeerIp, kStackIp, IpProtocol::kIcmp, echo_request(1, 1, {}), 0));
  send_ip(ipv4(*parse_ipv4("224.0.0.1"), kStackIp, IpProtocol::kIcmp, echo_request(1, 1, {})));
  send_ip(ipv4(kPeerIp, *parse_ipv4("198.18.0.9"), IpProtocol::kIcmp, echo_request(1, 1, {})));
  send_ip(ipv4(kPeerIp, kStackIp, static_cast<IpProtocol>(47), {0, 0, 0, 0}));

  EXPECT_TRUE(take_sent().empty());
  EXPECT_EQ(stack_->ipv4_errors().get(wire::Ipv4Error::kBadChecksum), 1u);
  EXPECT_EQ(stack_->ipv4_errors().get(wire::Ipv4Error::kBadVersion), 1u);
  EXPECT_EQ(stack_->ipv4_errors().get(wire::Ipv4Error::kBadHeaderLength), 1u);
  EXPECT_EQ(stack_->ipv4_errors().get(wire::Ipv4Error::kTruncated), 1u);
  EXPECT_EQ(stack_->ipv4_errors().get(wire::Ipv4Error::kFragment), 1u);
  EXPECT_EQ(drops(NetDrop::kIpv4TtlZero), 1u);
  EXPECT_EQ(drops(NetDrop::kIpv4InvalidSource), 1u);
  EXPECT_EQ(drops(NetDrop::kIpv4NotForUs), 1u);
  EXPECT_EQ(drops(NetDrop::kIpv4UnsupportedProtocol), 1u);
  EXPECT_EQ(stack_->stats().get(NetStat::kIcmpEchoRepliesOut), 0u);
}

TEST_F(NetStackTest, MalformedEthernet_Counted) {
  receive(Bytes(10, 0xff));
  receive(ethernet(*parse_mac("02:00:00:00:00:99"), kPeerMac, EtherType::kIpv4, Bytes(46, 0)));
  receive(ethernet(kStackMac, kPeerMac, EtherType::kIpv6, Bytes(46, 0)));
  receive(ethernet(kStackMac, kPeerMac, EtherType::kVlan, {0x00, 0x07, 0x08, 0x00, 0x45}));
  EXPECT_EQ(stack_->eth_errors().get(wire::EthernetError::kTruncated), 1u);
  EXPECT_EQ(drops(NetDrop::kEthNotForUs), 1u);
  EXPECT_EQ(drops(NetDrop::kEthUnsupportedType), 1u);
  EXPECT_EQ(drops(NetDrop::kEthVlanTagged), 1u);
  EXPECT_EQ(stack_->stats().get(NetStat::kRxFrames), 4u);
}

TEST_F(NetStackTest, ChainedMbuf_DroppedAsNotContiguous) {
  rte_mbuf* head = rte_pktmbuf_alloc(pool_);
  rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
  rte_pktmbuf_append(head, 14);
  rte_pktmbuf_append(tail, 20);
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  stack_->input(head, Instant{});
  EXPECT_EQ(drops(NetDrop::kNotContiguous), 1u);
}

TEST_F(NetStackTest, EveryCounterHasAUniqueName) {
  std::set<std::string> names;
  std::size_t count = 0;
  stack_->for_each_counter([&](const std::string& name, std::uint64_t) {
    names.insert(name);
    ++count;
  });
  EXPECT_EQ(names.size(), count);
  EXPECT_TRUE(names.count("drop_ipv4_bad_checksum"));
  EXPECT_TRUE(names.count("drop_arp_unresolved"));
}

}  // namespace
}  // namespace synwave::testing
