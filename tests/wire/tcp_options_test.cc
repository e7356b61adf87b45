#include "wire/tcp_options.h"

#include <gtest/gtest.h>

#include <vector>

#include "packets.h"

namespace synwave::wire {
namespace {

using testing::from_hex;

std::vector<std::uint8_t> write(const TcpOptions& o) {
  std::vector<std::uint8_t> out(kTcpMaxOptionsLen, 0xee);
  Built built = write_tcp_options(o, out);
  EXPECT_TRUE(built.ok());
  if (!built.ok()) return {};
  EXPECT_EQ(*built, tcp_options_len(o));
  EXPECT_EQ(*built % 4, 0u);
  out.resize(*built);
  return out;
}

TcpOptionError error_of(std::string_view hex) {
  const auto bytes = from_hex(hex);
  auto parsed = parse_tcp_options(bytes);
  EXPECT_FALSE(parsed.ok()) << hex;
  return parsed.ok() ? TcpOptionError::kCount : parsed.error();
}

TcpOptions syn_options(std::uint32_t ecr) {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = TcpTimestamps{0x11223344, ecr};
  o.window_scale = 7;
  return o;
}

// --- Linux layouts, byte for byte ------------------------------------------------------------

TEST(TcpOptionsLayout, Syn_IsMssSackOkTsNopWscale) {
  // <mss 1460,sackOK,TS val 0x11223344 ecr 0,nop,wscale 7>, as in seed 004's capture.
  EXPECT_EQ(write(syn_options(0)), from_hex("0204 05b4 0402 080a 1122 3344 0000 0000 0103 0307"));
}

TEST(TcpOptionsLayout, SynAckToTimestampedSyn_CarriesEcr) {
  EXPECT_EQ(write(syn_options(0xaabbccdd)),
            from_hex("0204 05b4 0402 080a 1122 3344 aabb ccdd 0103 0307"));
}

TEST(TcpOptionsLayout, SynAckToSynWithoutTimestamps_IsTwelveBytes) {
  TcpOptions o = syn_options(0);
  o.timestamps.reset();
  // <mss 1460,nop,nop,sackOK,nop,wscale 7>
  EXPECT_EQ(write(o), from_hex("0204 05b4 0101 0402 0103 0307"));
}

TEST(TcpOptionsLayout, PeerWithoutSackOrWscale_LeavesThemOut) {
  TcpOptions o = syn_options(5);
  o.sack_permitted = false;
  EXPECT_EQ(write(o), from_hex("0204 05b4 0101 080a 1122 3344 0000 0005 0103 0307"));
  o.window_scale.reset();
  EXPECT_EQ(write(o), from_hex("0204 05b4 0101 080a 1122 3344 0000 0005"));
  o.timestamps.reset();
  EXPECT_EQ(write(o), from_hex("0204 05b4"));
  o.window_scale = 14;
  EXPECT_EQ(write(o), from_hex("0204 05b4 0103 030e"));
  EXPECT_TRUE(write(TcpOptions{}).empty());
}

TEST(TcpOptionsLayout, Established_IsNopNopTimestamps) {
  TcpOptions o;
  o.timestamps = TcpTimestamps{0x01020304, 0x05060708};
  EXPECT_EQ(write(o), from_hex("0101 080a 0102 0304 0506 0708"));
}

TEST(TcpOptionsLayout, SackBlocks_FollowTimestamps) {
  TcpOptions o;
  o.timestamps = TcpTimestamps{1, 2};
  o.add_sack({0x1000, 0x2000});
  o.add_sack({0x3000, 0x4000});
  EXPECT_EQ(write(o), from_hex("0101 080a 0000 0001 0000 0002"
                               "0101 0512 0000 1000 0000 2000 0000 3000 0000 4000"));
}

TEST(TcpOptionsLayout, SackBlocksWithoutTimestamps_FourFit) {
  TcpOptions o;
  for (std::uint32_t i = 0; i < 4; ++i) o.add_sack({i, i + 1});
  EXPECT_FALSE(o.add_sack({9, 10}));
  const auto bytes = write(o);
  ASSERT_EQ(bytes.size(), 36u);
  EXPECT_EQ(std::vector(bytes.begin(), bytes.begin() + 4), from_hex("0101 0522"));
  EXPECT_EQ(max_sack_blocks(false), 4u);
  EXPECT_EQ(max_sack_blocks(true), 3u);
}

TEST(TcpOptionsLayout, TooManySackBlocksWithTimestamps_Refused) {
  TcpOptions o;
  o.timestamps = TcpTimestamps{1, 2};
  for (std::uint32_t i = 0; i < 4; ++i) o.add_sack({i, i + 1});
  EXPECT_EQ(tcp_options_len(o), 48u);
  std::vector<std::uint8_t> out(64);
  EXPECT_EQ(write_tcp_options(o, out).error(), BuildError::kOptionsTooLong);
}

TEST(TcpOptionsLayout, SmallBuffer_Refused) {
  std::vector<std::uint8_t> out(19);
  EXPECT_EQ(write_tcp_options(syn_options(0), out).error(), BuildError::kBufferTooSmall);
}

TEST(TcpOptionsLayout, EveryCombination_RoundTrips) {
  for (int mask = 0; mask < 64; ++mask) {
    TcpOptions o;
    if (mask & 1) o.mss = 536;
    if (mask & 2) o.sack_permitted = true;
    if (mask & 4) o.timestamps = TcpTimestamps{0xdeadbeef, 0xfeedface};
    if (mask & 8) o.window_scale = 3;
    const std::size_t sacks = (mask >> 4) & 3;
    for (std::uint32_t i = 0; i < sacks; ++i) o.add_sack({i * 100, i * 100 + 50});
    if (tcp_options_len(o) > kTcpMaxOptionsLen) {
      std::vector<std::uint8_t> out(64);
      EXPECT_EQ(write_tcp_options(o, out).error(), BuildError::kOptionsTooLong) << mask;
      continue;
    }
    const auto bytes = write(o);
    auto parsed = parse_tcp_options(bytes);
    ASSERT_TRUE(parsed.ok()) << mask;
    EXPECT_EQ(*parsed, o) << mask;
  }
}

// --- Parsing -----------------------------------------------------------------------------------

TEST(TcpOptionsParse, LinuxSyn_EveryField) {
  auto parsed = parse_tcp_options(from_hex("0204 ffd7 0402 080a 8aa0 c255 0000 0000 0103 030a"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->mss, 65495);
  EXPECT_TRUE(parsed->sack_permitted);
  ASSERT_TRUE(parsed->timestamps.has_value());
  EXPECT_EQ(parsed->timestamps->val, 2325791317u);
  EXPECT_EQ(parsed->timestamps->ecr, 0u);
  EXPECT_EQ(parsed->window_scale, 10);
  EXPECT_EQ(parsed->sack_count, 0);
}

TEST(TcpOptionsParse, SackBlocks_Read) {
  auto parsed = parse_tcp_options(from_hex("0101 0512 0000 1000 0000 2000 0000 3000 0000 4000"));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->sacks().size(), 2u);
  EXPECT_EQ(parsed->sacks()[1], (SackBlock{0x3000, 0x4000}));
}

TEST(TcpOptionsParse, EmptyAndPadding_Accepted) {
  EXPECT_EQ(*parse_tcp_options({}), TcpOptions{});
  EXPECT_EQ(*parse_tcp_options(from_hex("0101 0101")), TcpOptions{});
}

TEST(TcpOptionsParse, EndOfList_StopsParsing) {
  // MSS, EOL, then garbage that would be malformed.
  auto parsed = parse_tcp_options(from_hex("0204 05b4 0002 0103"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->mss, 1460);
  EXPECT_FALSE(parsed->window_scale.has_value());
}

TEST(TcpOptionsParse, UnknownKind_SkippedByLength) {
  // MPTCP (30, len 4), TFO cookie (34, len 10), then wscale.
  auto parsed = parse_tcp_options(from_hex("1e04 0000 220a 0102 0304 0506 0708 0103 0305"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->window_scale, 5);
}

TEST(TcpOptionsParse, WindowScaleAbove14_KeptRaw) {
  auto parsed = parse_tcp_options(from_hex("0103 030f"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->window_scale, 15);  // clamping to kTcpMaxWindowScale is the TCP layer's job
}

TEST(TcpOptionsParse, Duplicate_LastWins) {
  auto parsed = parse_tcp_options(from_hex("0204 05b4 0204 0218"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->mss, 536);
}

TEST(TcpOptionsParse, MissingLengthByte_Rejected) {
  EXPECT_EQ(error_of("02"), TcpOptionError::kMissingLength);
  EXPECT_EQ(error_of("0101 01 08"), TcpOptionError::kMissingLength);
  EXPECT_EQ(error_of("0204 05b4 1e"), TcpOptionError::kMissingLength);
}

TEST(TcpOptionsParse, LengthBelowTwo_Rejected) {
  EXPECT_EQ(error_of("0200 0000"), TcpOptionError::kLengthTooShort);
  EXPECT_EQ(error_of("0801 0000"), TcpOptionError::kLengthTooShort);
  EXPECT_EQ(error_of("1e00"), TcpOptionError::kLengthTooShort);
}

TEST(TcpOptionsParse, LengthPastEnd_Rejected) {
  EXPECT_EQ(error_of("0204 05"), TcpOptionError::kPastEnd);
  EXPECT_EQ(error_of("080a 0000 0001 0000 00"), TcpOptionError::kPastEnd);
  EXPECT_EQ(error_of("0101 1eff 0000"), TcpOptionError::kPastEnd);
  EXPECT_EQ(error_of("0103 04"), TcpOptionError::kPastEnd);
}

TEST(TcpOptionsParse, KnownKindWithWrongLength_Rejected) {
  for (std::string_view hex :
       {"0203 0500", "0205 05b4 00", "0302 0000", "0304 0700", "0403 0000", "0408 0000 0000 0000",
        "0802 0000", "080c 0000 0000 0000 0000 0000", "0502 0000", "050b 0000 0000 0000 0000 00",
        "0509 0000 0000 0000 0000"}) {
    EXPECT_EQ(error_of(hex), TcpOptionError::kWrongLength) << hex;
  }
}

TEST(TcpOptionsParse, MoreSackBlocksThanFit_Rejected) {
  // Five blocks (length 42): only possible in a span longer than a real header allows.
  std::vector<std::uint8_t> bytes = {5, 42};
  bytes.resize(42, 0);
  EXPECT_EQ(parse_tcp_options(bytes).error(), TcpOptionError::kTooManySackBlocks);
  std::optional<TcpOptionError> error;
  const TcpOptions lenient = parse_tcp_options_lenient(bytes, &error);
  EXPECT_EQ(error, TcpOptionError::kTooManySackBlocks);
  EXPECT_EQ(lenient.sack_count, 4);
}

TEST(TcpOptionsParse, Lenient_SkipsWrongLengthLikeLinux) {
  // A 3-byte MSS is ignored and parsing goes on to the window scale.
  const auto bytes = from_hex("0203 05 0103 0307 00");
  std::optional<TcpOptionError> error;
  const TcpOptions o = parse_tcp_options_lenient(bytes, &error);
  EXPECT_EQ(error, TcpOptionError::kWrongLength);
  EXPECT_FALSE(o.mss.has_value());
  EXPECT_EQ(o.window_scale, 7);
}

TEST(TcpOptionsParse, Lenient_KeepsOptionsBeforeBrokenOne) {
  const auto bytes = from_hex("0204 05b4 0402 080a 0000");
  std::optional<TcpOptionError> error;
  const TcpOptions o = parse_tcp_options_lenient(bytes, &error);
  EXPECT_EQ(error, TcpOptionError::kPastEnd);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_FALSE(o.timestamps.has_value());
  const TcpOptions clean = parse_tcp_options_lenient(from_hex("0101 0402"), &error);
  EXPECT_FALSE(error.has_value());
  EXPECT_TRUE(clean.sack_permitted);
}

TEST(TcpOptionsParse, EveryShortInput_NeverReadsOutOfBounds) {
  // All inputs of up to 3 bytes from interesting values; the sanitizer build checks the reads.
  const std::uint8_t values[] = {0, 1, 2, 3, 4, 5, 8, 10, 30, 255};
  for (std::uint8_t a : values)
    for (std::uint8_t b : values)
      for (std::uint8_t c : values) {
        const std::vector<std::uint8_t> bytes = {a, b, c};
        for (std::size_t len = 0; len <= 3; ++len) {
          (void)parse_tcp_options(std::span(bytes).first(len));
          (void)parse_tcp_options_lenient(std::span(bytes).first(len));
        }
      }
}

TEST(TcpOptionsParse, ErrorNames_AreStable) {
  EXPECT_EQ(error_name(TcpOptionError::kMissingLength), "option_missing_length");
  EXPECT_EQ(error_name(TcpOptionError::kLengthTooShort), "option_length_too_short");
  EXPECT_EQ(error_name(TcpOptionError::kPastEnd), "option_past_end");
  EXPECT_EQ(error_name(TcpOptionError::kWrongLength), "option_wrong_length");
  EXPECT_EQ(error_name(TcpOptionError::kTooManySackBlocks), "too_many_sack_blocks");
}

}  // namespace
}  // namespace synwave::wire
