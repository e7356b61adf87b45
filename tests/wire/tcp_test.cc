#include "wire/tcp.h"

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

TcpError error_of(std::span<const std::uint8_t> segment) {
  auto parsed = TcpView::parse(segment, kLo, kLo);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? TcpError::kCount : parsed.error();
}

TcpOptions linux_syn_options() {
  TcpOptions o;
  o.mss = 65495;
  o.sack_permitted = true;
  o.timestamps = TcpTimestamps{2325791317u, 0};
  o.window_scale = 10;
  return o;
}

// Builds `repr` with `payload` into a fresh segment.
std::vector<std::uint8_t> build(const TcpRepr& repr, std::string_view payload = {},
                                ChecksumFill fill = ChecksumFill::kCompute) {
  std::vector<std::uint8_t> segment(repr.header_len() + payload.size());
  std::copy(payload.begin(), payload.end(),
            segment.begin() + static_cast<std::ptrdiff_t>(repr.header_len()));
  Built built = repr.emit(segment, kLo, kLo, fill);
  EXPECT_TRUE(built.ok());
  return segment;
}

TEST(Tcp, LinuxSyn_ParsesEveryField) {
  const auto segment = l4_of(testing::kLinuxSyn);
  auto parsed = TcpView::parse(segment, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  const TcpView& t = *parsed;
  EXPECT_EQ(t.src_port(), 55504);
  EXPECT_EQ(t.dst_port(), 8080);
  EXPECT_EQ(t.seq(), 3555965065u);
  EXPECT_EQ(t.ack(), 0u);
  EXPECT_EQ(t.data_offset(), 10);
  EXPECT_EQ(t.header_len(), 40u);
  EXPECT_EQ(t.flags(), TcpFlags{TcpFlags::kSyn});
  EXPECT_EQ(format_tcp_flags(t.flags()), "S");
  EXPECT_EQ(t.window(), 65495);
  EXPECT_EQ(t.checksum(), 0xf005);
  EXPECT_EQ(t.urgent(), 0);
  EXPECT_EQ(t.options().size(), 20u);
  EXPECT_TRUE(t.payload().empty());
  EXPECT_EQ(t.seq_len(), 1u);
  auto options = parse_tcp_options(t.options());
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(*options, linux_syn_options());
}

TEST(Tcp, LinuxSynAck_ParsesEveryField) {
  const auto segment = l4_of(testing::kLinuxSynAck);
  auto parsed = TcpView::parse(segment, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->src_port(), 8080);
  EXPECT_EQ(parsed->dst_port(), 55504);
  EXPECT_EQ(parsed->seq(), 746442316u);
  EXPECT_EQ(parsed->ack(), 3555965066u);
  EXPECT_EQ(format_tcp_flags(parsed->flags()), "S.");
  EXPECT_TRUE(parsed->flags().has(TcpFlags::kSyn | TcpFlags::kAck));
  EXPECT_EQ(parsed->window(), 65483);
  auto options = parse_tcp_options(parsed->options());
  ASSERT_TRUE(options.ok());
  ASSERT_TRUE(options->timestamps.has_value());
  EXPECT_EQ(options->timestamps->val, 4001972397u);
  EXPECT_EQ(options->timestamps->ecr, 2325791317u);
}

TEST(Tcp, LinuxDataSegment_ExposesPayload) {
  const auto segment = l4_of(testing::kLinuxPsh);
  auto parsed = TcpView::parse(segment, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(format_tcp_flags(parsed->flags()), "P.");
  EXPECT_EQ(parsed->seq(), 3555965066u);
  EXPECT_EQ(parsed->ack(), 746442317u);
  EXPECT_EQ(parsed->window(), 64);
  EXPECT_EQ(parsed->header_len(), 32u);
  const auto payload = parsed->payload();
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()),
            "hello");
  EXPECT_EQ(parsed->seq_len(), 5u);
}

TEST(Tcp, EcnSetupFlags_Parsed) {
  const auto syn_bytes = l4_of(testing::kLinuxSynNoTs);
  auto syn = TcpView::parse(syn_bytes, kLo, kLo);
  ASSERT_TRUE(syn.ok());
  EXPECT_TRUE(syn->flags().syn() && syn->flags().ece() && syn->flags().cwr());
  EXPECT_FALSE(syn->flags().ack());
  EXPECT_EQ(format_tcp_flags(syn->flags()), "SEW");
  const auto synack_bytes = l4_of(testing::kLinuxSynAckNoTs);
  auto synack = TcpView::parse(synack_bytes, kLo, kLo);
  ASSERT_TRUE(synack.ok());
  EXPECT_EQ(format_tcp_flags(synack->flags()), "S.E");
}

TEST(Tcp, EachFlagBit_HasItsAccessor) {
  EXPECT_TRUE(TcpFlags{TcpFlags::kFin}.fin());
  EXPECT_TRUE(TcpFlags{TcpFlags::kSyn}.syn());
  EXPECT_TRUE(TcpFlags{TcpFlags::kRst}.rst());
  EXPECT_TRUE(TcpFlags{TcpFlags::kPsh}.psh());
  EXPECT_TRUE(TcpFlags{TcpFlags::kAck}.ack());
  EXPECT_TRUE(TcpFlags{TcpFlags::kUrg}.urg());
  EXPECT_TRUE(TcpFlags{TcpFlags::kEce}.ece());
  EXPECT_TRUE(TcpFlags{TcpFlags::kCwr}.cwr());
  EXPECT_FALSE(TcpFlags{0x7f}.cwr());
  EXPECT_EQ(format_tcp_flags(TcpFlags{0xff}), "FSRP.UEW");
  EXPECT_EQ(format_tcp_flags(TcpFlags{}), "none");
}

TEST(Tcp, Build_MatchesLinuxSynByteForByte) {
  TcpRepr syn{55504, 8080, 3555965065u, 0, TcpFlags{TcpFlags::kSyn}, 65495, 0, linux_syn_options()};
  EXPECT_EQ(build(syn), l4_of(testing::kLinuxSyn));
  // With offload the checksum field holds what Linux left on loopback.
  EXPECT_EQ(load_be16(build(syn, {}, ChecksumFill::kOffload).data() + 16), 0x8c55);
}

TEST(Tcp, Build_MatchesLinuxSynAckByteForByte) {
  TcpOptions o = linux_syn_options();
  o.timestamps = TcpTimestamps{4001972397u, 2325791317u};
  const TcpRepr synack{
      8080, 55504, 746442316u, 3555965066u, TcpFlags{TcpFlags::kSyn | TcpFlags::kAck}, 65483, 0, o};
  EXPECT_EQ(build(synack), l4_of(testing::kLinuxSynAck));
}

TEST(Tcp, Build_MatchesLinuxDataSegmentByteForByte) {
  TcpOptions o;
  o.timestamps = TcpTimestamps{2325791317u, 4001972397u};
  const TcpRepr psh{
      55504, 8080, 3555965066u, 746442317u, TcpFlags{TcpFlags::kPsh | TcpFlags::kAck}, 64, 0, o};
  EXPECT_EQ(build(psh, "hello"), l4_of(testing::kLinuxPsh));
  EXPECT_EQ(load_be16(build(psh, "hello", ChecksumFill::kOffload).data() + 16), 0x8c52);
}

TEST(Tcp, Build_MatchesLinuxNoTimestampHandshake) {
  TcpOptions o;
  o.mss = 65495;
  o.sack_permitted = true;
  o.window_scale = 10;
  const TcpRepr syn{52386,
                    8080,
                    3782528095u,
                    0,
                    TcpFlags{TcpFlags::kSyn | TcpFlags::kEce | TcpFlags::kCwr},
                    65495,
                    0,
                    o};
  EXPECT_EQ(build(syn), l4_of(testing::kLinuxSynNoTs));
  const TcpRepr synack{8080,
                       52386,
                       1379971504u,
                       3782528096u,
                       TcpFlags{TcpFlags::kSyn | TcpFlags::kAck | TcpFlags::kEce},
                       65495,
                       0,
                       o};
  EXPECT_EQ(build(synack), l4_of(testing::kLinuxSynAckNoTs));
}

TEST(Tcp, Build_ThenParse_RoundTrips) {
  TcpOptions o;
  o.timestamps = TcpTimestamps{1, 2};
  o.add_sack({1000, 2000});
  o.add_sack({3000, 4000});
  o.add_sack({0xfffffff0u, 0x10});
  const TcpRepr repr{
      443, 51000, 0xfffffffeu, 12345, TcpFlags{TcpFlags::kAck | TcpFlags::kUrg}, 1024, 7, o};
  const auto segment = build(repr, "some payload, odd length");
  EXPECT_EQ(repr.header_len(), 20u + 12u + 28u);
  auto parsed = TcpView::parse(segment, kLo, kLo);
  ASSERT_TRUE(parsed.ok());
  auto options = parse_tcp_options(parsed->options());
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(TcpRepr::from(*parsed, *options), repr);
  EXPECT_EQ(parsed->payload().size(), 24u);
}

TEST(Tcp, TruncatedAtEveryLength_Rejected) {
  const auto segment = l4_of(testing::kLinuxSyn);
  for (std::size_t len = 0; len < kTcpMinHeaderLen; ++len)
    EXPECT_EQ(error_of(std::span(segment).first(len)), TcpError::kTruncated) << len;
  // Header with options: cut anywhere inside the options.
  for (std::size_t len = kTcpMinHeaderLen; len < 40; ++len)
    EXPECT_EQ(error_of(std::span(segment).first(len)), TcpError::kTruncated) << len;
}

TEST(Tcp, DataOffsetBelowFive_Rejected) {
  for (std::uint8_t offset = 0; offset < 5; ++offset) {
    auto segment = l4_of(testing::kLinuxSyn);
    segment[12] = static_cast<std::uint8_t>(offset << 4);
    EXPECT_EQ(error_of(segment), TcpError::kBadDataOffset) << int{offset};
  }
}

TEST(Tcp, DataOffsetBeyondSegment_Truncated) {
  auto segment = l4_of(testing::kLinuxSyn);  // 40 bytes
  segment[12] = 0xb0;                        // 44-byte header
  EXPECT_EQ(error_of(segment), TcpError::kTruncated);
  segment[12] = 0xf0;
  EXPECT_EQ(error_of(segment), TcpError::kTruncated);
}

TEST(Tcp, BadChecksum_Rejected) {
  auto segment = l4_of(testing::kLinuxPsh);
  segment.back() ^= 0x01;  // a payload byte
  EXPECT_EQ(error_of(segment), TcpError::kBadChecksum);
  EXPECT_TRUE(TcpView::parse(segment, kLo, kLo, ChecksumCheck::kSkip).ok());
}

TEST(Tcp, WrongPseudoHeader_FailsChecksum) {
  const auto segment = l4_of(testing::kLinuxSyn);
  EXPECT_FALSE(TcpView::parse(segment, kLo, ip(198, 18, 0, 2)).ok());
  EXPECT_FALSE(TcpView::parse(std::span(segment).first(39), kLo, kLo).ok());
}

TEST(Tcp, Build_Errors) {
  TcpRepr repr;
  std::vector<std::uint8_t> small(19);
  EXPECT_EQ(repr.emit(small, kLo, kLo).error(), BuildError::kBufferTooSmall);
  repr.options.timestamps = TcpTimestamps{1, 2};
  for (int i = 0; i < 4; ++i) repr.options.add_sack({1, 2});
  std::vector<std::uint8_t> big(100);
  EXPECT_EQ(repr.emit(big, kLo, kLo).error(), BuildError::kOptionsTooLong);
  std::vector<std::uint8_t> huge(65516);
  EXPECT_EQ(TcpRepr{}.emit(huge, kLo, kLo).error(), BuildError::kTooLong);
}

TEST(Tcp, ErrorNames_AreStable) {
  EXPECT_EQ(error_name(TcpError::kTruncated), "truncated");
  EXPECT_EQ(error_name(TcpError::kBadDataOffset), "bad_data_offset");
  EXPECT_EQ(error_name(TcpError::kBadChecksum), "bad_checksum");
}

}  // namespace
}  // namespace synwave::wire
