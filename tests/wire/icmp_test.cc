#include "wire/icmp.h"

#include <gtest/gtest.h>

#include <vector>

#include "packets.h"

namespace synwave::wire {
namespace {

using testing::l4_of;

TEST(Icmp, PingEchoRequest_ParsesEveryField) {
  const auto message = l4_of(testing::kPingEchoRequest);
  auto parsed = IcmpView::parse(message);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->type(), IcmpType::kEchoRequest);
  EXPECT_EQ(parsed->code(), 0);
  EXPECT_TRUE(parsed->is_echo_request());
  EXPECT_EQ(parsed->checksum(), 0xe431);
  EXPECT_EQ(parsed->echo_id(), 8536);
  EXPECT_EQ(parsed->echo_seq(), 1);
  EXPECT_EQ(parsed->rest_of_header(), 0x21580001u);
  ASSERT_EQ(parsed->data().size(), 56u);
  EXPECT_EQ(parsed->data()[16], 0x10);  // ping's pattern after the timeval
  EXPECT_EQ(parsed->data()[55], 0x37);
}

TEST(Icmp, EchoReply_MatchesLinuxReplyByteForByte) {
  const auto request = l4_of(testing::kPingEchoRequest);
  auto parsed = IcmpView::parse(request);
  ASSERT_TRUE(parsed.ok());
  std::vector<std::uint8_t> out(100, 0xee);
  Built built = build_echo_reply(*parsed, out);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(*built, request.size());
  out.resize(*built);
  EXPECT_EQ(out, l4_of(testing::kPingEchoReply));
}

TEST(Icmp, EchoReply_InPlace_MatchesLinuxReply) {
  auto message = l4_of(testing::kPingEchoRequest);
  auto parsed = IcmpView::parse(message);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(build_echo_reply(*parsed, message).ok());
  EXPECT_EQ(message, l4_of(testing::kPingEchoReply));
}

TEST(Icmp, EchoReply_SmallBuffer_Fails) {
  const auto request = l4_of(testing::kPingEchoRequest);
  auto parsed = IcmpView::parse(request);
  ASSERT_TRUE(parsed.ok());
  std::vector<std::uint8_t> out(request.size() - 1);
  EXPECT_EQ(build_echo_reply(*parsed, out).error(), BuildError::kBufferTooSmall);
}

TEST(Icmp, PortUnreachable_ParsesAndRebuildsByteForByte) {
  const auto message = l4_of(testing::kLinuxPortUnreachable);
  auto parsed = IcmpView::parse(message);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->type(), IcmpType::kDestUnreachable);
  EXPECT_EQ(parsed->code(), static_cast<std::uint8_t>(IcmpUnreachable::kPort));
  EXPECT_EQ(parsed->rest_of_header(), 0u);
  EXPECT_EQ(parsed->data().size(), 39u);  // the whole offending datagram
  EXPECT_EQ(parsed->data()[0], 0x45);

  std::vector<std::uint8_t> out(200);
  Built built =
      build_icmp_error(IcmpType::kDestUnreachable,
                       static_cast<std::uint8_t>(IcmpUnreachable::kPort), 0, parsed->data(), out);
  ASSERT_TRUE(built.ok());
  out.resize(*built);
  EXPECT_EQ(out, message);
}

TEST(Icmp, EchoRepr_BuildThenParse_RoundTrips) {
  std::vector<std::uint8_t> message(8 + 5, 0);
  for (std::size_t i = 8; i < message.size(); ++i)
    message[i] = static_cast<std::uint8_t>(i);  // odd length
  const IcmpRepr repr = IcmpRepr::echo(IcmpType::kEchoRequest, 0xbeef, 0x1234);
  Built built = repr.emit(message);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(*built, 13u);
  auto parsed = IcmpView::parse(message);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(IcmpRepr::from(*parsed), repr);
  EXPECT_EQ(parsed->echo_id(), 0xbeef);
  EXPECT_EQ(parsed->echo_seq(), 0x1234);
  EXPECT_EQ(parsed->data().size(), 5u);
}

TEST(Icmp, TruncatedAtEveryLength_Rejected) {
  const auto message = l4_of(testing::kPingEchoRequest);
  for (std::size_t len = 0; len < kIcmpHeaderLen; ++len) {
    auto parsed = IcmpView::parse(std::span(message).first(len));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error(), IcmpError::kTruncated) << len;
  }
}

TEST(Icmp, BadChecksum_Rejected) {
  auto message = l4_of(testing::kPingEchoRequest);
  message.back() ^= 0x01;  // the checksum covers the payload too
  auto parsed = IcmpView::parse(message);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error(), IcmpError::kBadChecksum);
  EXPECT_TRUE(IcmpView::parse(message, ChecksumCheck::kSkip).ok());
  EXPECT_EQ(error_name(IcmpError::kBadChecksum), "bad_checksum");
}

TEST(Icmp, EmitIntoShortMessage_Fails) {
  std::vector<std::uint8_t> message(7);
  EXPECT_EQ(IcmpRepr{}.emit(message).error(), BuildError::kBufferTooSmall);
}

}  // namespace
}  // namespace synwave::wire
