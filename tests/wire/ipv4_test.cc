#include "wire/ipv4.h"

#include <gtest/gtest.h>

#include <vector>

#include "packets.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

namespace synwave::wire {
namespace {

using testing::from_hex;
using testing::ip;
using testing::kLo;

// Recomputes the header checksum after a test edited the header.
void refresh_checksum(std::vector<std::uint8_t>& packet) {
  const std::size_t header_len = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  store_be16(packet.data() + 10, 0);
  store_be16(packet.data() + 10, internet_checksum(std::span(packet).first(header_len)));
}

Ipv4Error error_of(std::span<const std::uint8_t> packet) {
  auto parsed = Ipv4View::parse(packet);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? Ipv4Error::kCount : parsed.error();
}

TEST(Ipv4, PingRequest_ParsesEveryField) {
  const auto packet = from_hex(testing::kPingEchoRequest);
  auto parsed = Ipv4View::parse(packet);
  ASSERT_TRUE(parsed.ok());
  const Ipv4View& v = *parsed;
  EXPECT_EQ(v.version(), 4);
  EXPECT_EQ(v.header_len(), 20u);
  EXPECT_EQ(v.dscp(), 0);
  EXPECT_EQ(v.ecn(), 0);
  EXPECT_EQ(v.total_len(), 84);
  EXPECT_EQ(v.identification(), 0x7f6e);
  EXPECT_TRUE(v.dont_fragment());
  EXPECT_FALSE(v.more_fragments());
  EXPECT_EQ(v.fragment_offset(), 0);
  EXPECT_FALSE(v.is_fragment());
  EXPECT_EQ(v.ttl(), 64);
  EXPECT_EQ(v.protocol(), IpProtocol::kIcmp);
  EXPECT_EQ(v.checksum(), 0x2f14);
  EXPECT_EQ(v.src(), kLo);
  EXPECT_EQ(v.dst(), kLo);
  EXPECT_TRUE(v.options().empty());
  EXPECT_EQ(v.header().size(), 20u);
  EXPECT_EQ(v.payload().size(), 64u);
  EXPECT_EQ(v.payload()[0], 0x08);  // ICMP echo request
  EXPECT_EQ(v.bytes().size(), 84u);
}

TEST(Ipv4, TosByte_SplitsIntoDscpAndEcn) {
  const auto unreachable = from_hex(testing::kLinuxPortUnreachable);  // tos 0xc0
  auto parsed = Ipv4View::parse(unreachable);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dscp(), 48);  // CS6, as Linux marks ICMP errors
  EXPECT_EQ(parsed->ecn(), 0);
  EXPECT_FALSE(parsed->dont_fragment());
}

TEST(Ipv4, EthernetPadding_TrimmedToTotalLength) {
  auto packet = from_hex(testing::kLinuxUdp);  // 39 bytes, padded to 46 in a minimum frame
  packet.resize(46, 0);
  auto parsed = Ipv4View::parse(packet);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->total_len(), 39);
  EXPECT_EQ(parsed->bytes().size(), 39u);
  EXPECT_EQ(parsed->payload().size(), 19u);
  EXPECT_EQ(parsed->protocol(), IpProtocol::kUdp);
}

TEST(Ipv4, TruncatedAtEveryLength_Rejected) {
  const auto packet = from_hex(testing::kLinuxSyn);
  for (std::size_t len = 0; len < kIpv4MinHeaderLen; ++len)
    EXPECT_EQ(error_of(std::span(packet).first(len)), Ipv4Error::kTruncated) << len;
}

TEST(Ipv4, WrongVersion_Rejected) {
  for (std::uint8_t version : {0, 5, 6, 15}) {
    auto packet = from_hex(testing::kLinuxSyn);
    packet[0] = static_cast<std::uint8_t>(version << 4 | 5);
    refresh_checksum(packet);
    EXPECT_EQ(error_of(packet), Ipv4Error::kBadVersion) << int{version};
  }
}

TEST(Ipv4, IhlBelowFive_Rejected) {
  for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto packet = from_hex(testing::kLinuxSyn);
    packet[0] = static_cast<std::uint8_t>(0x40 | ihl);
    EXPECT_EQ(error_of(packet), Ipv4Error::kBadHeaderLength) << int{ihl};
  }
}

TEST(Ipv4, IhlBeyondBuffer_Truncated) {
  auto packet = from_hex(testing::kLinuxSyn);  // 60 bytes
  packet[0] = 0x4f;                            // claims a 60-byte header
  EXPECT_EQ(error_of(std::span(packet).first(59)), Ipv4Error::kTruncated);
  packet.resize(24);
  packet[0] = 0x47;  // 28-byte header in 24 bytes
  EXPECT_EQ(error_of(packet), Ipv4Error::kTruncated);
}

TEST(Ipv4, TotalLengthBeyondBuffer_Rejected) {
  const auto packet = from_hex(testing::kLinuxSyn);  // total length 60
  for (std::size_t len = 20; len < packet.size(); ++len)
    EXPECT_EQ(error_of(std::span(packet).first(len)), Ipv4Error::kBadTotalLength) << len;
}

TEST(Ipv4, TotalLengthBelowHeaderLength_Rejected) {
  for (std::uint16_t total : {0, 1, 19}) {
    auto packet = from_hex(testing::kLinuxSyn);
    store_be16(packet.data() + 2, total);
    refresh_checksum(packet);
    EXPECT_EQ(error_of(packet), Ipv4Error::kBadTotalLength) << total;
  }
}

TEST(Ipv4, BadChecksum_Rejected) {
  auto packet = from_hex(testing::kLinuxSyn);
  packet[10] ^= 0x01;
  EXPECT_EQ(error_of(packet), Ipv4Error::kBadChecksum);
  EXPECT_TRUE(Ipv4View::parse(packet, ChecksumCheck::kSkip).ok());  // NIC-verified path
}

TEST(Ipv4, CorruptedHeaderByte_FailsChecksum) {
  const auto good = from_hex(testing::kLinuxSyn);
  for (std::size_t i : {1u, 4u, 5u, 8u, 9u, 12u, 15u, 16u, 19u}) {
    auto packet = good;
    packet[i] ^= 0x10;
    EXPECT_EQ(error_of(packet), Ipv4Error::kBadChecksum) << i;
  }
}

TEST(Ipv4, MoreFragmentsFlag_IsFragment) {
  auto packet = from_hex(testing::kLinuxSyn);
  store_be16(packet.data() + 6, 0x2000);  // MF, offset 0: a first fragment
  refresh_checksum(packet);
  EXPECT_EQ(error_of(packet), Ipv4Error::kFragment);
  auto accepted = Ipv4View::parse(packet, ChecksumCheck::kVerify, FragmentPolicy::kAccept);
  ASSERT_TRUE(accepted.ok());
  EXPECT_TRUE(accepted->is_fragment());
  EXPECT_TRUE(accepted->more_fragments());
  EXPECT_EQ(accepted->fragment_offset(), 0);
}

TEST(Ipv4, NonZeroOffset_IsFragment) {
  auto packet = from_hex(testing::kLinuxSyn);
  store_be16(packet.data() + 6, 0x00b9);  // last fragment at 185 * 8 = 1480
  refresh_checksum(packet);
  EXPECT_EQ(error_of(packet), Ipv4Error::kFragment);
  auto accepted = Ipv4View::parse(packet, ChecksumCheck::kVerify, FragmentPolicy::kAccept);
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->more_fragments());
  EXPECT_EQ(accepted->fragment_offset(), 1480);
}

TEST(Ipv4, FragmentWithBadChecksum_CountsAsBadChecksum) {
  auto packet = from_hex(testing::kLinuxSyn);
  store_be16(packet.data() + 6, 0x2000);  // checksum not refreshed
  EXPECT_EQ(error_of(packet), Ipv4Error::kBadChecksum);
}

TEST(Ipv4, Options_ExposedAsBytes) {
  // The ping request with a Router Alert option (94 04 00 00): IHL 6.
  const auto plain = from_hex(testing::kPingEchoRequest);
  std::vector<std::uint8_t> packet(plain.begin(), plain.begin() + 20);
  for (std::uint8_t b : {0x94, 0x04, 0x00, 0x00}) packet.push_back(b);
  packet.insert(packet.end(), plain.begin() + 20, plain.end());
  packet[0] = 0x46;
  store_be16(packet.data() + 2, static_cast<std::uint16_t>(packet.size()));
  refresh_checksum(packet);
  auto parsed = Ipv4View::parse(packet);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header_len(), 24u);
  ASSERT_EQ(parsed->options().size(), 4u);
  EXPECT_EQ(parsed->options()[0], 0x94);
  EXPECT_EQ(parsed->payload().size(), 64u);
  EXPECT_EQ(parsed->payload()[0], 0x08);
}

TEST(Ipv4, Build_MatchesLinuxHeadersByteForByte) {
  const auto request = from_hex(testing::kPingEchoRequest);
  Ipv4Repr repr{kLo, kLo, IpProtocol::kIcmp, 64, 64, 0, 0x7f6e, true};
  std::vector<std::uint8_t> out(20);
  Built built = repr.emit(out);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, 20u);
  EXPECT_EQ(out, std::vector(request.begin(), request.begin() + 20));

  // The kernel's reply: new id, DF clear.
  const auto reply = from_hex(testing::kPingEchoReply);
  repr.identification = 0x7f6f;
  repr.dont_fragment = false;
  ASSERT_TRUE(repr.emit(out).ok());
  EXPECT_EQ(out, std::vector(reply.begin(), reply.begin() + 20));
}

TEST(Ipv4, Build_ThenParse_RoundTrips) {
  const Ipv4Repr repr{
      ip(198, 18, 0, 1), ip(198, 19, 0, 200), IpProtocol::kUdp, 1000, 1, 0xb8, 4242, false};
  std::vector<std::uint8_t> out(20 + 1000, 0);
  ASSERT_TRUE(repr.emit(out).ok());
  auto parsed = Ipv4View::parse(out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(Ipv4Repr::from(*parsed), repr);
  EXPECT_EQ(parsed->dscp(), 46);  // EF
}

TEST(Ipv4, Build_Offload_LeavesChecksumZero) {
  const Ipv4Repr repr{kLo, kLo, IpProtocol::kTcp, 0};
  std::vector<std::uint8_t> out(20);
  ASSERT_TRUE(repr.emit(out, ChecksumFill::kOffload).ok());
  EXPECT_EQ(load_be16(out.data() + 10), 0);
}

TEST(Ipv4, Build_Errors) {
  Ipv4Repr repr{kLo, kLo, IpProtocol::kTcp, 0};
  std::vector<std::uint8_t> out(19);
  EXPECT_EQ(repr.emit(out).error(), BuildError::kBufferTooSmall);
  out.resize(20);
  repr.payload_len = 65516;
  EXPECT_EQ(repr.emit(out).error(), BuildError::kTooLong);
  repr.payload_len = 65515;
  EXPECT_TRUE(repr.emit(out).ok());
}

TEST(Ipv4, ErrorNames_AreStable) {
  EXPECT_EQ(error_name(Ipv4Error::kTruncated), "truncated");
  EXPECT_EQ(error_name(Ipv4Error::kBadVersion), "bad_version");
  EXPECT_EQ(error_name(Ipv4Error::kBadHeaderLength), "bad_header_length");
  EXPECT_EQ(error_name(Ipv4Error::kBadTotalLength), "bad_total_length");
  EXPECT_EQ(error_name(Ipv4Error::kBadChecksum), "bad_checksum");
  EXPECT_EQ(error_name(Ipv4Error::kFragment), "fragment");
}

}  // namespace
}  // namespace synwave::wire
