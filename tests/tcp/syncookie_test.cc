// The SYN cookie codec (tcp/syncookie.h) on its own: Linux's layout, MSS table, counter ages and
// the timestamp bits, with exact values.
#include "tcp/syncookie.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>

namespace synwave::tcp {

void PrintTo(Seq s, std::ostream* os) { *os << "Seq(" << s.raw() << ")"; }

namespace {

constexpr std::array<std::uint8_t, 16> kSecret = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                                  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
constexpr CookieTuple kTuple{.remote = Ipv4Addr{0xC6120001},  // 198.18.0.1, the client
                             .local = Ipv4Addr{0xC6120002},   // 198.18.0.2, us
                             .remote_port = 40000,
                             .local_port = 8080};
constexpr Seq kSynSeq{1000000};

Instant at_s(std::int64_t s) { return instant_from_ns(s * 1'000'000'000); }

class SynCookieTest : public ::testing::Test {
 protected:
  SynCookies cookies_{kSecret};
};

TEST_F(SynCookieTest, KnownAnswer_LinuxLayoutOverDerivedKeys) {
  // Computed independently (a Python SipHash-2-4, checked against the paper's vector, of the same
  // key derivation and message):
  // H0 = SipHash(k0, c6120001 c6120002 9c401f90 00000000), H1 = SipHash(k1, ... 00000000),
  // cookie = H0 + 1000000 + (0 << 24) + ((H1 + 3) mod 2^24).
  EXPECT_EQ(cookies_.make(kTuple, kSynSeq, 3, 0u), Seq(0x0d86f539u));
  EXPECT_EQ(cookies_.check(kTuple, Seq(0x0d86f539u), kSynSeq, 0u), 1460);
}

TEST_F(SynCookieTest, Counter_SixtySecondPeriods) {
  EXPECT_EQ(SynCookies::counter(at_s(0)), 0u);
  EXPECT_EQ(SynCookies::counter(at_s(59)), 0u);
  EXPECT_EQ(SynCookies::counter(at_s(60)), 1u);
  EXPECT_EQ(SynCookies::counter(at_s(3600)), 60u);
  EXPECT_EQ(SynCookies::counter(instant_from_ns(-1)), 0xffffffffu) << "floor below the epoch";
}

TEST_F(SynCookieTest, MssIndex_LargestTableEntryNotAbove) {
  EXPECT_EQ(SynCookies::mss_index(0), 0);
  EXPECT_EQ(SynCookies::mss_index(536), 0);
  EXPECT_EQ(SynCookies::mss_index(1299), 0);
  EXPECT_EQ(SynCookies::mss_index(1300), 1);
  EXPECT_EQ(SynCookies::mss_index(1439), 1);
  EXPECT_EQ(SynCookies::mss_index(1440), 2);
  EXPECT_EQ(SynCookies::mss_index(1459), 2);
  EXPECT_EQ(SynCookies::mss_index(1460), 3);
  EXPECT_EQ(SynCookies::mss_index(9000), 3);
}

TEST_F(SynCookieTest, RoundTrip_EachMssIndex) {
  for (std::uint8_t i = 0; i < 4; ++i) {
    const Seq cookie = cookies_.make(kTuple, kSynSeq, i, at_s(30));
    EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(30)), SynCookies::kMssTable[i]) << int{i};
  }
}

TEST_F(SynCookieTest, Age_CurrentAndPreviousCounterAccepted_TwoBackRefused) {
  // Linux MAX_SYNCOOKIE_AGE = 2: check_tcp_syn_cookie refuses diff >= 2, so a cookie lives through
  // the rest of its minute and the whole next one.
  const Seq cookie = cookies_.make(kTuple, kSynSeq, 2, at_s(59));  // counter 0
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(0)), 1440);
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(60)), 1440) << "one counter back";
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(119)), 1440) << "one counter back";
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(120)), std::nullopt) << "two back: expired";
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq, at_s(180)), std::nullopt) << "three back";
  // A cookie from the future (counter ahead of ours) is refused as well (diff wraps to 255).
  EXPECT_EQ(cookies_.check(kTuple, cookies_.make(kTuple, kSynSeq, 2, 1u), kSynSeq, 0u), std::nullopt);
}

TEST_F(SynCookieTest, Forged_WrongCookieTupleOrSeqRefused) {
  const Seq cookie = cookies_.make(kTuple, kSynSeq, 3, 7u);
  ASSERT_EQ(cookies_.check(kTuple, cookie, kSynSeq, 7u), 1460);
  EXPECT_EQ(cookies_.check(kTuple, cookie + 0x1000u, kSynSeq, 7u), std::nullopt);
  EXPECT_EQ(cookies_.check(kTuple, Seq(0x12345678), kSynSeq, 7u), std::nullopt);
  EXPECT_EQ(cookies_.check(kTuple, cookie, kSynSeq + 0x1000u, 7u), std::nullopt) << "another SYN";
  CookieTuple other = kTuple;
  other.remote_port = 40001;
  EXPECT_EQ(cookies_.check(other, cookie, kSynSeq, 7u), std::nullopt) << "another port";
  other = kTuple;
  other.remote = Ipv4Addr{0xC6120003};
  EXPECT_EQ(cookies_.check(other, cookie, kSynSeq, 7u), std::nullopt) << "another address";
  // Another secret (another run of the stack) refuses it too.
  SynCookies other_secret(std::array<std::uint8_t, 16>{1});
  EXPECT_EQ(other_secret.check(kTuple, cookie, kSynSeq, 7u), std::nullopt);
}

TEST_F(SynCookieTest, Timestamp_OptionsInLowSixBitsNeverAboveNow) {
  // Linux cookie_init_timestamp: the clock's high bits, then the options; one period less when
  // that would be ahead of the clock.
  const CookieTsOptions ws7_sack{.wscale_ok = true, .snd_wscale = 7, .sack_ok = true};
  EXPECT_EQ(SynCookies::init_timestamp(1'000'000, ws7_sack), 1'000'000u - 1'000'000u % 64u - 64u + 0x17u)
      << "1000000 % 64 = 0 < 0x17: one period back";
  EXPECT_EQ(SynCookies::init_timestamp(0x1000 + 0x3f, ws7_sack), 0x1017u);
  EXPECT_EQ(SynCookies::init_timestamp(0x1000 + 0x17, ws7_sack), 0x1017u) << "equal to now is fine";
  EXPECT_EQ(SynCookies::init_timestamp(0x1000 + 0x16, ws7_sack), 0x0fd7u);
  const CookieTsOptions none{};
  EXPECT_EQ(SynCookies::init_timestamp(0x1000 + 0x3f, none), 0x100fu) << "0xf: no window scaling";
}

TEST_F(SynCookieTest, Timestamp_EveryWscaleAndSackDecodes) {
  for (int ws = -1; ws <= 14; ++ws) {
    for (bool sack : {false, true}) {
      const CookieTsOptions in{.wscale_ok = ws >= 0, .snd_wscale = static_cast<std::uint8_t>(ws >= 0 ? ws : 0),
                               .sack_ok = sack};
      const std::uint32_t ts = SynCookies::init_timestamp(123'456'789, in);
      EXPECT_LE(ts, 123'456'789u);
      EXPECT_GT(ts, 123'456'789u - 128u);
      EXPECT_EQ(SynCookies::decode_timestamp(ts), in) << "wscale " << ws << " sack " << sack;
    }
  }
  EXPECT_TRUE(SynCookies::decode_timestamp(SynCookies::kTsOptEcn | 0xf).ecn_ok);
}

}  // namespace
}  // namespace synwave::tcp
