#include "tcp/seq.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <type_traits>

namespace synwave::tcp {

// Readable failure messages (found by ADL).
void PrintTo(Seq s, std::ostream* os) {
  *os << "Seq(" << s.raw() << ")";
}

namespace {

// No implicit conversion in either direction, and constexpr throughout.
static_assert(!std::is_convertible_v<Seq, std::uint32_t>);
static_assert(!std::is_convertible_v<std::uint32_t, Seq>);
static_assert(!std::is_convertible_v<int, Seq>);
static_assert(std::is_constructible_v<Seq, std::uint32_t>);
static_assert(sizeof(Seq) == 4);
static_assert(std::is_trivially_copyable_v<Seq>);
static_assert(Seq(0xFFFFFFF0u) + 0x20u == Seq(0x10));
static_assert(Seq(0xFFFFFFF0u) < Seq(0x10));
static_assert(Seq(0x10) - Seq(0xFFFFFFF0u) == 0x20);
static_assert(seq_in_window(Seq(2), Seq(0xFFFFFFFEu), 8));
static_assert(seq_max(Seq(0xFFFFFFFFu), Seq(0)) == Seq(0));

TEST(Seq, Construction_DefaultIsZero_RawRoundTrips) {
  EXPECT_EQ(Seq().raw(), 0u);
  EXPECT_EQ(Seq(0xDEADBEEFu).raw(), 0xDEADBEEFu);
  EXPECT_EQ(Seq(7), Seq(7));
  EXPECT_NE(Seq(7), Seq(8));
}

TEST(Seq, Add_UnsignedOffset_WrapsModulo2To32) {
  EXPECT_EQ(Seq(100) + 5u, Seq(105));
  EXPECT_EQ(Seq(0xFFFFFFFFu) + 1u, Seq(0));
  EXPECT_EQ(Seq(0xFFFFFFF0u) + 0x20u, Seq(0x10));
  EXPECT_EQ(Seq(5) + 0xFFFFFFFFu, Seq(4));  // + (2^32 - 1) is - 1
  EXPECT_EQ(Seq(0x80000000u) + 0x80000000u, Seq(0));
}

TEST(Seq, AddSubtract_SignedOffset_MovesBothWays) {
  EXPECT_EQ(Seq(100) + std::int32_t{-1}, Seq(99));
  EXPECT_EQ(Seq(0) + std::int32_t{-1}, Seq(0xFFFFFFFFu));
  EXPECT_EQ(Seq(0) - std::int32_t{1}, Seq(0xFFFFFFFFu));
  EXPECT_EQ(Seq(0xFFFFFFFFu) - std::int32_t{-2}, Seq(1));
  EXPECT_EQ(Seq(0x7FFFFFFFu) + INT32_MAX, Seq(0xFFFFFFFEu));
  EXPECT_EQ(Seq(0) + INT32_MIN, Seq(0x80000000u));
  EXPECT_EQ(Seq(0) - INT32_MIN, Seq(0x80000000u));
}

TEST(Seq, Subtract_UnsignedOffset_WrapsBelowZero) {
  EXPECT_EQ(Seq(0x10) - 0x20u, Seq(0xFFFFFFF0u));
  EXPECT_EQ(Seq(0) - 1u, Seq(0xFFFFFFFFu));
  EXPECT_EQ(Seq(10) - 10u, Seq(0));
}

TEST(Seq, CompoundAssignment_MatchesBinaryOperators) {
  Seq s(0xFFFFFFFEu);
  s += 3u;
  EXPECT_EQ(s, Seq(1));
  s -= 2u;
  EXPECT_EQ(s, Seq(0xFFFFFFFFu));
  s += std::int32_t{-0x7FFFFFFF};
  EXPECT_EQ(s, Seq(0x80000000u));
  s -= std::int32_t{-0x80000000LL + 1};
  EXPECT_EQ(s, Seq(0xFFFFFFFFu));
}

TEST(Seq, Difference_IsSignedDistanceAcrossWrap) {
  EXPECT_EQ(Seq(105) - Seq(100), 5);
  EXPECT_EQ(Seq(100) - Seq(105), -5);
  EXPECT_EQ(Seq(0x10) - Seq(0xFFFFFFF0u), 0x20);
  EXPECT_EQ(Seq(0xFFFFFFF0u) - Seq(0x10), -0x20);
  EXPECT_EQ(Seq(0x7FFFFFFFu) - Seq(0), INT32_MAX);
  EXPECT_EQ(Seq(0x80000000u) - Seq(0), INT32_MIN);  // exactly 2^31: the negative end
  EXPECT_EQ(Seq(0) - Seq(0x80000000u), INT32_MIN);
  EXPECT_EQ(Seq(0x80000001u) - Seq(0), -INT32_MAX);  // more than 2^31 ahead reads as behind
  // b + (a - b) == a for any pair.
  for (std::uint32_t a : {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu})
    for (std::uint32_t b : {0u, 5u, 0x80000001u, 0xFFFFFFF0u})
      EXPECT_EQ(Seq(b) + (Seq(a) - Seq(b)), Seq(a));
}

TEST(Seq, ComparisonAcrossWrap_IsModular) {
  EXPECT_TRUE(Seq(0xFFFFFFF0u) < Seq(0x10));
  EXPECT_TRUE(Seq(0xFFFFFFF0u) <= Seq(0x10));
  EXPECT_FALSE(Seq(0xFFFFFFF0u) > Seq(0x10));
  EXPECT_FALSE(Seq(0xFFFFFFF0u) >= Seq(0x10));
  EXPECT_TRUE(Seq(0x10) > Seq(0xFFFFFFF0u));
  EXPECT_TRUE(Seq(0x10) >= Seq(0xFFFFFFF0u));
  EXPECT_FALSE(Seq(0x10) < Seq(0xFFFFFFF0u));
  EXPECT_TRUE(Seq(0xFFFFFFFFu) < Seq(0));
  EXPECT_TRUE(Seq(0) > Seq(0xFFFFFFFFu));
}

TEST(Seq, ComparisonWithoutWrap_IsNumeric) {
  EXPECT_TRUE(Seq(1) < Seq(2));
  EXPECT_FALSE(Seq(2) < Seq(1));
  EXPECT_TRUE(Seq(2) > Seq(1));
  EXPECT_TRUE(Seq(0x7FFFFFFEu) < Seq(0x7FFFFFFFu));
  EXPECT_TRUE(Seq(0x7FFFFFFFu) < Seq(0x80000000u));  // crossing 2^31 is not special
  EXPECT_TRUE(Seq(0x80000000u) > Seq(0x7FFFFFFFu));
}

TEST(Seq, ComparisonOfEqual_OnlyNonStrictHold) {
  for (std::uint32_t v : {0u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_FALSE(Seq(v) < Seq(v));
    EXPECT_FALSE(Seq(v) > Seq(v));
    EXPECT_TRUE(Seq(v) <= Seq(v));
    EXPECT_TRUE(Seq(v) >= Seq(v));
    EXPECT_TRUE(Seq(v) == Seq(v));
  }
}

TEST(Seq, ComparisonAtHalfRing_FollowsSignedDistance) {
  // Up to 2^31 - 1 ahead is "after".
  EXPECT_TRUE(Seq(0) < Seq(0x7FFFFFFFu));
  EXPECT_TRUE(Seq(0xFFFFFFFFu) < Seq(0x7FFFFFFEu));
  // 2^31 + 1 ahead is "before".
  EXPECT_TRUE(Seq(0) > Seq(0x80000001u));
  EXPECT_TRUE(Seq(0x80000001u) < Seq(0));
  // Exactly 2^31 apart the order is undefined (RFC 1982): int32 distance is INT32_MIN both ways,
  // so each is "before" the other, as with Linux's before().
  EXPECT_TRUE(Seq(0) < Seq(0x80000000u));
  EXPECT_TRUE(Seq(0x80000000u) < Seq(0));
  EXPECT_TRUE(Seq(0) > Seq(0x80000000u));
  EXPECT_TRUE(Seq(0x80000000u) > Seq(0));
}

TEST(Seq, ComparisonIsShiftInvariant) {
  // Moving both numbers by the same offset never changes their order.
  for (std::uint32_t shift : {0u, 1u, 0x10u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFF0u, 0xFFFFFFFFu}) {
    const Seq a = Seq(100) + shift;
    const Seq b = Seq(200) + shift;
    EXPECT_TRUE(a < b) << shift;
    EXPECT_TRUE(b > a) << shift;
    EXPECT_FALSE(b < a) << shift;
    EXPECT_EQ(b - a, 100) << shift;
  }
}

TEST(Seq, InWindow_IsHalfOpenInterval) {
  EXPECT_FALSE(seq_in_window(Seq(99), Seq(100), 10));
  EXPECT_TRUE(seq_in_window(Seq(100), Seq(100), 10));
  EXPECT_TRUE(seq_in_window(Seq(109), Seq(100), 10));
  EXPECT_FALSE(seq_in_window(Seq(110), Seq(100), 10));
  EXPECT_TRUE(seq_in_window(Seq(100), Seq(100), 1));
  EXPECT_FALSE(seq_in_window(Seq(101), Seq(100), 1));
}

TEST(Seq, InWindowAcrossWrap_IsModular) {
  const Seq start(0xFFFFFFF8u);
  EXPECT_FALSE(seq_in_window(Seq(0xFFFFFFF7u), start, 16));
  EXPECT_TRUE(seq_in_window(Seq(0xFFFFFFF8u), start, 16));
  EXPECT_TRUE(seq_in_window(Seq(0xFFFFFFFFu), start, 16));
  EXPECT_TRUE(seq_in_window(Seq(0), start, 16));
  EXPECT_TRUE(seq_in_window(Seq(7), start, 16));
  EXPECT_FALSE(seq_in_window(Seq(8), start, 16));
  EXPECT_FALSE(seq_in_window(Seq(0x80000000u), start, 16));
}

TEST(Seq, InWindowZeroLength_IsEmpty) {
  for (std::uint32_t v : {0u, 1u, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_FALSE(seq_in_window(Seq(v), Seq(v), 0));
    EXPECT_FALSE(seq_in_window(Seq(v) + 1u, Seq(v), 0));
    EXPECT_FALSE(seq_in_window(Seq(v) + 0x80000000u, Seq(v), 0));
  }
}

TEST(Seq, InWindow_AgreesWithComparisonsUpToHalfRing) {
  // For 1 <= len <= 2^31, in_window(s, start, len) == (start <= s && s < start + len).
  for (std::uint32_t start : {0u, 0x7FFFFFF0u, 0xFFFFFFF0u})
    for (std::uint32_t len : {1u, 16u, 0x40000000u, 0x80000000u})
      for (std::uint32_t off : {0u, 1u, 15u, 16u, 17u, 0x3FFFFFFFu, 0x40000000u, 0x7FFFFFFFu,
                                0x80000000u, 0x80000001u, 0xFFFFFFFFu}) {
        const Seq s = Seq(start) + off;
        EXPECT_EQ(seq_in_window(s, Seq(start), len), Seq(start) <= s && s < Seq(start) + len)
            << start << " " << len << " " << off;
        EXPECT_EQ(seq_in_window(s, Seq(start), len), off < len);
      }
}

TEST(Seq, MaxMin_UseModularOrder) {
  EXPECT_EQ(seq_max(Seq(1), Seq(2)), Seq(2));
  EXPECT_EQ(seq_max(Seq(2), Seq(1)), Seq(2));
  EXPECT_EQ(seq_min(Seq(1), Seq(2)), Seq(1));
  EXPECT_EQ(seq_min(Seq(2), Seq(1)), Seq(1));
  EXPECT_EQ(seq_max(Seq(0xFFFFFFF0u), Seq(0x10)), Seq(0x10));
  EXPECT_EQ(seq_max(Seq(0x10), Seq(0xFFFFFFF0u)), Seq(0x10));
  EXPECT_EQ(seq_min(Seq(0xFFFFFFF0u), Seq(0x10)), Seq(0xFFFFFFF0u));
  EXPECT_EQ(seq_min(Seq(0x10), Seq(0xFFFFFFF0u)), Seq(0xFFFFFFF0u));
  EXPECT_EQ(seq_max(Seq(5), Seq(5)), Seq(5));
  EXPECT_EQ(seq_min(Seq(5), Seq(5)), Seq(5));
}

}  // namespace
}  // namespace synwave::tcp
