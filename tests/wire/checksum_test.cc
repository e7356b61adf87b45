#include "wire/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "packets.h"
#include "wire/bytes.h"

namespace synwave::wire {
namespace {

using testing::from_hex;

// The textbook definition, 16 bits at a time.
std::uint16_t reference_checksum(std::span<const std::uint8_t> b) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < b.size(); i += 2)
    sum += static_cast<std::uint64_t>(b[i]) << 8 | (i + 1 < b.size() ? b[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

TEST(Checksum, Rfc1071Example_SumIsDdf2) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to dd f2.
  const auto bytes = from_hex("0001 f203 f4f5 f6f7");
  EXPECT_EQ(checksum_fold(checksum_partial(bytes)), 0xddf2);
  EXPECT_EQ(internet_checksum(bytes), 0x220d);
}

TEST(Checksum, KnownIpv4Header_MatchesPublishedValue) {
  // The classic worked example: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
  auto header = from_hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
  EXPECT_EQ(internet_checksum(header), 0xb861);
  store_be16(header.data() + 10, 0xb861);
  EXPECT_EQ(internet_checksum(header), 0);
}

TEST(Checksum, EmptyInput_IsFfff) {
  EXPECT_EQ(internet_checksum({}), 0xffff);
}

TEST(Checksum, AnyLengthAndAlignment_MatchesReference) {
  std::mt19937 rng(1071);
  std::vector<std::uint8_t> buffer(300);
  for (auto& b : buffer) b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; len + offset <= buffer.size(); ++len) {
      std::span<const std::uint8_t> piece(buffer.data() + offset, len);
      ASSERT_EQ(internet_checksum(piece), reference_checksum(piece)) << offset << " " << len;
    }
  }
}

TEST(Checksum, AllOnes_DoesNotOverflow) {
  std::vector<std::uint8_t> ones(65536, 0xff);
  EXPECT_EQ(internet_checksum(ones), reference_checksum(ones));
}

TEST(Checksum, ChainedEvenPieces_EqualWhole) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> data(257);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  const std::span<const std::uint8_t> all(data);
  for (std::size_t split = 0; split <= data.size(); split += 2) {
    const std::uint32_t sum =
        checksum_partial(all.subspan(split), checksum_partial(all.first(split)));
    ASSERT_EQ(checksum_finish(sum), internet_checksum(all)) << split;
  }
}

TEST(Checksum, PseudoHeader_MatchesBytes) {
  // src 198.18.0.1, dst 198.19.255.254, proto 6, length 1234 as 12 bytes.
  const auto bytes = from_hex("c612 0001 c613 fffe 0006 04d2");
  EXPECT_EQ(checksum_fold(pseudo_header_sum(testing::ip(198, 18, 0, 1),
                                            testing::ip(198, 19, 255, 254), 6, 1234)),
            checksum_fold(checksum_partial(bytes)));
}

TEST(Checksum, Rfc1624Example_GivesZero) {
  // RFC 1624 section 4: m 0x5555 -> 0x3285 in a header with checksum 0xdd2f.
  EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(Checksum, IncrementalUpdate16_EqualsRecomputation) {
  std::mt19937 rng(1624);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::uint8_t> data(2 * (1 + rng() % 40));
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    const std::uint16_t before = internet_checksum(data);
    const std::size_t word = 2 * (rng() % (data.size() / 2));
    const std::uint16_t old_word = load_be16(data.data() + word);
    const auto new_word = static_cast<std::uint16_t>(rng());
    store_be16(data.data() + word, new_word);
    ASSERT_EQ(checksum_update16(before, old_word, new_word), internet_checksum(data)) << round;
  }
}

TEST(Checksum, IncrementalUpdate_TtlDecrement) {
  // Forwarding: TTL 64 -> 63 in the ping request's header (TTL shares a word with protocol).
  auto header = from_hex(testing::kPingEchoRequest);
  header.resize(20);
  const std::uint16_t checksum = load_be16(header.data() + 10);
  const std::uint16_t old_word = load_be16(header.data() + 8);
  header[8] = 63;
  const std::uint16_t new_word = load_be16(header.data() + 8);
  const std::uint16_t updated = checksum_update16(checksum, old_word, new_word);
  store_be16(header.data() + 10, 0);
  EXPECT_EQ(updated, internet_checksum(header));
}

TEST(Checksum, IncrementalUpdate32_AddressRewrite_EqualsRecomputation) {
  // NAT-style rewrite of the destination address of the captured SYN: the TCP checksum covers it
  // through the pseudo-header.
  auto segment = testing::l4_of(testing::kLinuxSyn);
  const Ipv4Addr src = testing::kLo;
  const Ipv4Addr old_dst = testing::kLo;
  const Ipv4Addr new_dst = testing::ip(198, 19, 7, 9);
  const std::uint16_t checksum = load_be16(segment.data() + 16);
  const std::uint16_t updated = checksum_update32(checksum, old_dst.value, new_dst.value);
  store_be16(segment.data() + 16, 0);
  const auto len = static_cast<std::uint16_t>(segment.size());
  EXPECT_EQ(updated,
            checksum_finish(checksum_partial(segment, pseudo_header_sum(src, new_dst, 6, len))));
}

}  // namespace
}  // namespace synwave::wire
