#include "wire/udp.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "packets.h"
#include "wire/bytes.h"

namespace synwave::wire {
namespace {

using testing::ip;
using testing::kLo;
using testing::l4_of;

UdpError error_of(std::span<const std::uint8_t> datagram) {
  auto parsed = UdpView::parse(datagram, kLo, kLo);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? UdpError::kCount : parsed.error();
}

TEST(Udp, LinuxDatagram_ParsesEveryField) {
  const auto datagram = l4_of(testing::kLinuxUdp);
  auto parsed = UdpView::parse(datagram, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->src_port(), 59204);
  EXPECT_EQ(parsed->dst_port(), 9999);
  EXPECT_EQ(parsed->length(), 19);
  EXPECT_EQ(parsed->checksum(), 0xd760);
  EXPECT_TRUE(parsed->has_checksum());
  const auto payload = parsed->payload();
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()),
            "synwave udp");
}

TEST(Udp, Build_MatchesLinuxDatagramByteForByte) {
  const auto expected = l4_of(testing::kLinuxUdp);
  std::vector<std::uint8_t> datagram(expected.size(), 0);
  std::copy(expected.begin() + 8, expected.end(), datagram.begin() + 8);  // payload in place
  Built built = UdpRepr{59204, 9999}.emit(datagram, kLo, kLo);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, 19u);
  EXPECT_EQ(datagram, expected);
}

TEST(Udp, BuildOffload_WritesLinuxPartialChecksum) {
  // Linux's loopback left the folded pseudo-header sum, 0x8c4b, for the "NIC" to finish.
  std::vector<std::uint8_t> datagram = l4_of(testing::kLinuxUdp);
  ASSERT_TRUE((UdpRepr{59204, 9999}.emit(datagram, kLo, kLo, ChecksumFill::kOffload).ok()));
  EXPECT_EQ(load_be16(datagram.data() + 6), 0x8c4b);
}

TEST(Udp, ZeroChecksum_MeansNone) {
  auto datagram = l4_of(testing::kLinuxUdp);
  store_be16(datagram.data() + 6, 0);
  auto parsed = UdpView::parse(datagram, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_checksum());
}

TEST(Udp, ComputedZeroChecksum_SentAsFfff) {
  // Choose the payload word so that the checksum computes to zero: the wire must carry 0xffff.
  std::vector<std::uint8_t> datagram(10, 0);
  const UdpRepr repr{1, 2};
  ASSERT_TRUE(repr.emit(datagram, kLo, kLo).ok());
  const std::uint16_t c = load_be16(datagram.data() + 6);
  store_be16(datagram.data() + 8, static_cast<std::uint16_t>(c));  // sum now 0xffff -> checksum 0
  ASSERT_TRUE(repr.emit(datagram, kLo, kLo).ok());
  EXPECT_EQ(load_be16(datagram.data() + 6), 0xffff);
  EXPECT_TRUE(UdpView::parse(datagram, kLo, kLo).ok());
}

TEST(Udp, TruncatedAtEveryLength_Rejected) {
  const auto datagram = l4_of(testing::kLinuxUdp);
  for (std::size_t len = 0; len < kUdpHeaderLen; ++len)
    EXPECT_EQ(error_of(std::span(datagram).first(len)), UdpError::kTruncated) << len;
}

TEST(Udp, LengthBeyondIpPayload_Rejected) {
  const auto datagram = l4_of(testing::kLinuxUdp);
  for (std::size_t len = kUdpHeaderLen; len < datagram.size(); ++len)
    EXPECT_EQ(error_of(std::span(datagram).first(len)), UdpError::kBadLength) << len;
}

TEST(Udp, LengthBelowHeader_Rejected) {
  for (std::uint16_t length : {0, 1, 7}) {
    auto datagram = l4_of(testing::kLinuxUdp);
    store_be16(datagram.data() + 4, length);
    EXPECT_EQ(error_of(datagram), UdpError::kBadLength) << length;
  }
}

TEST(Udp, LengthShorterThanIpPayload_Trimmed) {
  auto datagram = l4_of(testing::kLinuxUdp);
  datagram.push_back(0xaa);  // a stray byte after the datagram inside the IPv4 payload
  auto parsed = UdpView::parse(datagram, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->payload().size(), 11u);
}

TEST(Udp, BadChecksum_Rejected) {
  auto datagram = l4_of(testing::kLinuxUdp);
  datagram[10] ^= 0x20;
  EXPECT_EQ(error_of(datagram), UdpError::kBadChecksum);
  EXPECT_TRUE(UdpView::parse(datagram, kLo, kLo, ChecksumCheck::kSkip).ok());
  // The pseudo-header counts: the right bytes from another address fail too.
  const auto good = l4_of(testing::kLinuxUdp);
  EXPECT_FALSE(UdpView::parse(good, ip(198, 18, 0, 2), kLo).ok());
}

TEST(Udp, Build_ThenParse_RoundTrips) {
  std::vector<std::uint8_t> datagram(8 + 333, 0x5a);
  const UdpRepr repr{53, 40000};
  ASSERT_TRUE(repr.emit(datagram, ip(198, 18, 0, 1), ip(198, 19, 1, 1)).ok());
  auto parsed = UdpView::parse(datagram, ip(198, 18, 0, 1), ip(198, 19, 1, 1));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(UdpRepr::from(*parsed), repr);
  EXPECT_EQ(parsed->payload().size(), 333u);
}

TEST(Udp, Build_Errors) {
  std::vector<std::uint8_t> small(7);
  EXPECT_EQ(UdpRepr{}.emit(small, kLo, kLo).error(), BuildError::kBufferTooSmall);
  std::vector<std::uint8_t> huge(65536);
  EXPECT_EQ(UdpRepr{}.emit(huge, kLo, kLo).error(), BuildError::kTooLong);
  EXPECT_EQ(error_name(UdpError::kBadLength), "bad_length");
}

}  // namespace
}  // namespace synwave::wire
