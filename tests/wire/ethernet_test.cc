#include "wire/ethernet.h"

#include <gtest/gtest.h>

#include <vector>

#include "packets.h"

namespace synwave::wire {
namespace {

using testing::from_hex;

const MacAddr kDst{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
const MacAddr kSrc{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02}};

TEST(Ethernet, Ipv4Frame_ParsesEveryField) {
  const auto frame = from_hex("0200 5e00 5301 0200 5e00 5302 0800 4500 0014");
  auto parsed = EthernetView::parse(frame);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dst(), kDst);
  EXPECT_EQ(parsed->src(), kSrc);
  EXPECT_EQ(parsed->ethertype(), EtherType::kIpv4);
  EXPECT_FALSE(parsed->has_vlan());
  EXPECT_EQ(parsed->vlan_id(), 0);  // safe without a tag
  EXPECT_EQ(parsed->vlan_priority(), 0);
  EXPECT_EQ(parsed->header_len(), 14u);
  EXPECT_EQ(parsed->payload().size(), 4u);
  EXPECT_EQ(parsed->payload()[0], 0x45);
}

TEST(Ethernet, VlanTaggedFrame_ExposesIdAndInnerType) {
  // 802.1Q tag: PCP 5, VLAN 100 (0xa064), inner ARP.
  const auto frame = from_hex("ffff ffff ffff 0200 5e00 5302 8100 a064 0806 0001");
  auto parsed = EthernetView::parse(frame);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->dst().is_broadcast());
  EXPECT_TRUE(parsed->has_vlan());
  EXPECT_EQ(parsed->vlan_id(), 100);
  EXPECT_EQ(parsed->vlan_priority(), 5);
  EXPECT_EQ(parsed->ethertype(), EtherType::kArp);
  EXPECT_EQ(parsed->header_len(), 18u);
  EXPECT_EQ(parsed->payload().size(), 2u);
}

TEST(Ethernet, TruncatedAtEveryLength_Rejected) {
  const auto frame = from_hex("0200 5e00 5301 0200 5e00 5302 0800");
  for (std::size_t len = 0; len < frame.size(); ++len) {
    auto parsed = EthernetView::parse(std::span(frame).first(len));
    ASSERT_FALSE(parsed.ok()) << len;
    EXPECT_EQ(parsed.error(), EthernetError::kTruncated);
  }
  EXPECT_TRUE(EthernetView::parse(frame).ok());  // 14 bytes, empty payload
}

TEST(Ethernet, TruncatedVlanTag_Rejected) {
  const auto frame = from_hex("0200 5e00 5301 0200 5e00 5302 8100 0064 08");
  for (std::size_t len = 14; len <= frame.size(); ++len) {
    auto parsed = EthernetView::parse(std::span(frame).first(len));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error(), EthernetError::kTruncated);
  }
}

TEST(Ethernet, StackedVlan_Rejected) {
  const auto qinq = from_hex("0200 5e00 5301 0200 5e00 5302 88a8 0064 8100 0065 0800");
  EXPECT_EQ(EthernetView::parse(qinq).error(), EthernetError::kStackedVlan);
  const auto double_tag = from_hex("0200 5e00 5301 0200 5e00 5302 8100 0064 8100 0065 0800");
  EXPECT_EQ(EthernetView::parse(double_tag).error(), EthernetError::kStackedVlan);
}

TEST(Ethernet, Build_ThenParse_RoundTrips) {
  for (std::optional<std::uint16_t> vlan :
       {std::optional<std::uint16_t>{}, std::optional<std::uint16_t>{4094}}) {
    const EthernetRepr repr{kDst, kSrc, EtherType::kArp, vlan};
    std::vector<std::uint8_t> out(repr.header_len());
    Built built = repr.emit(out);
    ASSERT_TRUE(built.ok());
    EXPECT_EQ(*built, repr.header_len());
    auto parsed = EthernetView::parse(out);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(EthernetRepr::from(*parsed), repr);
  }
}

TEST(Ethernet, Build_ExactBytes) {
  const EthernetRepr repr{kDst, kSrc, EtherType::kIpv4, 100};
  std::vector<std::uint8_t> out(18);
  ASSERT_TRUE(repr.emit(out).ok());
  EXPECT_EQ(out, from_hex("0200 5e00 5301 0200 5e00 5302 8100 0064 0800"));
}

TEST(Ethernet, BuildIntoSmallBuffer_Fails) {
  const EthernetRepr repr{kDst, kSrc, EtherType::kIpv4, std::nullopt};
  std::vector<std::uint8_t> out(13);
  Built built = repr.emit(out);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error(), BuildError::kBufferTooSmall);
}

TEST(Ethernet, ErrorNames_AreStable) {
  EXPECT_EQ(error_name(EthernetError::kTruncated), "truncated");
  EXPECT_EQ(error_name(EthernetError::kStackedVlan), "stacked_vlan");
  EXPECT_EQ(error_name(BuildError::kBufferTooSmall), "buffer_too_small");
}

}  // namespace
}  // namespace synwave::wire
