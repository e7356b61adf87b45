#include "wire/arp.h"

#include <gtest/gtest.h>

#include <vector>

#include "packets.h"
#include "wire/ethernet.h"

namespace synwave::wire {
namespace {

using testing::from_hex;
using testing::ip;

// "who-has 198.18.0.2 tell 198.18.0.1" as Linux broadcasts it, with the Ethernet header and the
// 18 bytes of padding up to the 60-byte minimum frame.
constexpr std::string_view kArpRequestFrame =
    "ffff ffff ffff 0200 5e00 5301 0806"
    "0001 0800 0604 0001 0200 5e00 5301 c612 0001 0000 0000 0000 c612 0002"
    "0000 0000 0000 0000 0000 0000 0000 0000 0000";

const MacAddr kMac1{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
const MacAddr kMac2{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02}};

// The 28 ARP bytes of the frame above.
std::vector<std::uint8_t> arp_packet() {
  const auto frame = from_hex(kArpRequestFrame);
  return {frame.begin() + 14, frame.begin() + 14 + kArpLen};
}

TEST(Arp, RequestFrame_ParsesEveryField) {
  const auto frame = from_hex(kArpRequestFrame);
  ASSERT_EQ(frame.size(), 60u);
  auto eth = EthernetView::parse(frame);
  ASSERT_TRUE(eth.ok());
  ASSERT_EQ(eth->ethertype(), EtherType::kArp);
  auto arp = ArpView::parse(eth->payload());
  ASSERT_TRUE(arp.ok());
  EXPECT_EQ(arp->op(), ArpOp::kRequest);
  EXPECT_EQ(arp->sender_mac(), kMac1);
  EXPECT_EQ(arp->sender_ip(), ip(198, 18, 0, 1));
  EXPECT_EQ(arp->target_mac(), MacAddr{});
  EXPECT_EQ(arp->target_ip(), ip(198, 18, 0, 2));
  EXPECT_EQ(arp->bytes().size(), kArpLen);  // padding dropped
}

TEST(Arp, ReplyToRequest_SwapsAddresses) {
  const auto frame = from_hex(kArpRequestFrame);
  auto arp = ArpView::parse(std::span(frame).subspan(14));
  ASSERT_TRUE(arp.ok());
  const ArpRepr reply = ArpRepr::reply_to(ArpRepr::from(*arp), kMac2);
  std::vector<std::uint8_t> out(kArpLen);
  ASSERT_TRUE(reply.emit(out).ok());
  EXPECT_EQ(out, from_hex("0001 0800 0604 0002 0200 5e00 5302 c612 0002 0200 5e00 5301 c612 0001"));
}

TEST(Arp, Request_Build_ExactBytes) {
  const ArpRepr request = ArpRepr::request(kMac1, ip(198, 18, 0, 1), ip(198, 18, 0, 2));
  std::vector<std::uint8_t> out(kArpLen + 4, 0xee);
  Built built = request.emit(out);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, kArpLen);
  EXPECT_EQ(std::vector(out.begin(), out.begin() + kArpLen), arp_packet());
  EXPECT_EQ(out[kArpLen], 0xee);  // nothing written past the packet
}

TEST(Arp, Build_ThenParse_RoundTrips) {
  const ArpRepr repr{ArpOp::kReply, kMac2, ip(198, 18, 0, 2), kMac1, ip(198, 18, 0, 1)};
  std::vector<std::uint8_t> out(kArpLen);
  ASSERT_TRUE(repr.emit(out).ok());
  auto parsed = ArpView::parse(out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ArpRepr::from(*parsed), repr);
}

TEST(Arp, TruncatedAtEveryLength_Rejected) {
  const auto packet = arp_packet();
  for (std::size_t len = 0; len < kArpLen; ++len) {
    auto parsed = ArpView::parse(std::span(packet).first(len));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error(), ArpError::kTruncated);
  }
}

TEST(Arp, ForeignKinds_RejectedWithReason) {
  const auto base = arp_packet();
  struct Case {
    std::size_t offset;
    std::uint8_t value;
    ArpError error;
  } cases[] = {
      {1, 6, ArpError::kBadHardwareType},     // IEEE 802 hardware
      {2, 0x86, ArpError::kBadProtocolType},  // 0x8600
      {4, 8, ArpError::kBadAddressLength},    // hlen 8
      {5, 16, ArpError::kBadAddressLength},   // plen 16 (IPv6-sized)
      {7, 3, ArpError::kBadOperation},        // RARP request
      {7, 0, ArpError::kBadOperation},
  };
  for (const Case& c : cases) {
    auto packet = base;
    packet[c.offset] = c.value;
    auto parsed = ArpView::parse(packet);
    ASSERT_FALSE(parsed.ok()) << c.offset;
    EXPECT_EQ(parsed.error(), c.error) << c.offset;
  }
  EXPECT_EQ(error_name(ArpError::kBadOperation), "bad_operation");
}

}  // namespace
}  // namespace synwave::wire
