#include "tcp/isn.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <set>

namespace synwave::tcp {

void PrintTo(Seq s, std::ostream* os) {
  *os << "Seq(" << s.raw() << ")";
}

namespace {

constexpr std::array<std::uint8_t, 16> kSecret = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                                  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
constexpr Ipv4Addr kLocal{0xC6120001};   // 198.18.0.1
constexpr Ipv4Addr kRemote{0xC6120002};  // 198.18.0.2
constexpr std::uint16_t kLocalPort = 80;
constexpr std::uint16_t kRemotePort = 40000;

class IsnTest : public ::testing::Test {
 protected:
  Seq isn_at(std::int64_t ns) const {
    return gen_.next(kLocal, kLocalPort, kRemote, kRemotePort, instant_from_ns(ns));
  }
  IsnGenerator gen_{kSecret};
};

TEST_F(IsnTest, KnownAnswer_MatchesSipHashOfTupleInNetworkOrder) {
  // Low 32 bits of SipHash-2-4(key 00..0f, c6 12 00 01 c6 12 00 02 00 50 9c 40) =
  // 0x344b09bef1808851 (computed independently with `openssl mac ... SIPHASH`), plus M = 0.
  EXPECT_EQ(isn_at(0), Seq(0xf1808851u));
  // ... and M = ns / 64 on top of it.
  EXPECT_EQ(isn_at(64'000), Seq(0xf1808851u) + 1000u);
}

TEST_F(IsnTest, SameInputs_SameIsn) {
  EXPECT_EQ(isn_at(123'456'789), isn_at(123'456'789));
  IsnGenerator copy{kSecret};
  EXPECT_EQ(copy.next(kLocal, kLocalPort, kRemote, kRemotePort, instant_from_ns(5'000)),
            isn_at(5'000));
}

TEST_F(IsnTest, WithinOneTick_IsnUnchanged) {
  EXPECT_EQ(isn_at(0), isn_at(1));
  EXPECT_EQ(isn_at(0), isn_at(63));
  EXPECT_EQ(isn_at(64), isn_at(127));
  EXPECT_EQ(IsnGenerator::kClockTick, 64ns);
}

TEST_F(IsnTest, EachTick_AddsOne) {
  const Seq base = isn_at(0);
  EXPECT_EQ(isn_at(64), base + 1u);
  EXPECT_EQ(isn_at(128), base + 2u);
  EXPECT_EQ(isn_at(64 * 1000 + 63), base + 1000u);
  EXPECT_EQ(isn_at(1'000'000'000), base + 15'625'000u);  // one second = 15.625 M ticks
  EXPECT_EQ(isn_at(64) - isn_at(0), 1);
}

TEST_F(IsnTest, Clock_WrapsAfter2To32Ticks) {
  const std::int64_t period = std::int64_t{64} << 32;  // ~274.9 s
  EXPECT_EQ(isn_at(period), isn_at(0));
  EXPECT_EQ(isn_at(period - 64), isn_at(0) - 1u);
  EXPECT_EQ(isn_at(3 * period + 640), isn_at(640));
}

TEST_F(IsnTest, LaterConnection_IsnIsAfterEarlierOne) {
  // Within half a clock period, a later incarnation of a 4-tuple starts ahead in sequence space.
  const Seq early = isn_at(10'000'000'000);  // 10 s
  const Seq late = isn_at(10'000'000'000 + 1'000'000'000);
  EXPECT_TRUE(early < late);
  EXPECT_EQ(late - early, 15'625'000);
}

TEST_F(IsnTest, EachTupleElement_ChangesIsn) {
  const Seq base = isn_at(0);
  const Instant t0 = instant_from_ns(0);
  const Seq other_local =
      gen_.next(Ipv4Addr{kLocal.value + 1}, kLocalPort, kRemote, kRemotePort, t0);
  const Seq other_lport = gen_.next(kLocal, kLocalPort + 1, kRemote, kRemotePort, t0);
  const Seq other_remote =
      gen_.next(kLocal, kLocalPort, Ipv4Addr{kRemote.value + 1}, kRemotePort, t0);
  const Seq other_rport = gen_.next(kLocal, kLocalPort, kRemote, kRemotePort + 1, t0);
  const Seq swapped = gen_.next(kRemote, kRemotePort, kLocal, kLocalPort, t0);
  const Seq ports_swapped = gen_.next(kLocal, kRemotePort, kRemote, kLocalPort, t0);
  const std::set<std::uint32_t> all = {base.raw(),         other_local.raw(), other_lport.raw(),
                                       other_remote.raw(), other_rport.raw(), swapped.raw(),
                                       ports_swapped.raw()};
  EXPECT_EQ(all.size(), 7u);
}

TEST_F(IsnTest, ConsecutivePorts_SpreadOverSequenceSpace) {
  // F is a PRF, not a counter: ephemeral ports one apart do not give neighbouring ISNs.
  const Instant t0 = instant_from_ns(0);
  std::set<std::uint32_t> seen;
  for (std::uint16_t port = 32768; port < 32768 + 256; ++port) {
    const Seq a = gen_.next(kLocal, port, kRemote, kRemotePort, t0);
    const Seq b = gen_.next(kLocal, static_cast<std::uint16_t>(port + 1), kRemote, kRemotePort, t0);
    const std::int32_t d = b - a;
    EXPECT_GT(d > 0 ? d : -static_cast<std::int64_t>(d), 1 << 16) << port;
    seen.insert(a.raw());
  }
  EXPECT_EQ(seen.size(), 256u);
}

TEST_F(IsnTest, DifferentSecrets_DifferentIsn) {
  std::array<std::uint8_t, 16> other = kSecret;
  other[15] ^= 0x01;
  const IsnGenerator gen2{other};
  const Instant t = instant_from_ns(777);
  EXPECT_NE(gen2.next(kLocal, kLocalPort, kRemote, kRemotePort, t),
            gen_.next(kLocal, kLocalPort, kRemote, kRemotePort, t));
  other = kSecret;
  other[0] ^= 0x80;
  const IsnGenerator gen3{other};
  EXPECT_NE(gen3.next(kLocal, kLocalPort, kRemote, kRemotePort, t),
            gen_.next(kLocal, kLocalPort, kRemote, kRemotePort, t));
}

TEST_F(IsnTest, TsOffset_KnownAnswer) {
  // ts key = SipHash(secret, "synwave-tcp-ts-key-0") | SipHash(secret, "synwave-tcp-ts-key-1")
  // = b1cf4851681853b3 bcf0086e63b84991 (bytes); SipHash(ts key, c6 12 00 01 c6 12 00 02) =
  // 0xd50c36bce66ed0f5, all computed independently with openssl.
  EXPECT_EQ(gen_.ts_offset(kLocal, kRemote), 0xe66ed0f5u);
}

TEST_F(IsnTest, TsOffset_StablePerAddressPairAndKeyedSeparately) {
  EXPECT_EQ(gen_.ts_offset(kLocal, kRemote), gen_.ts_offset(kLocal, kRemote));
  EXPECT_NE(gen_.ts_offset(kLocal, kRemote), gen_.ts_offset(kRemote, kLocal));
  EXPECT_NE(gen_.ts_offset(kLocal, kRemote), gen_.ts_offset(kLocal, Ipv4Addr{kRemote.value + 1}));
  EXPECT_NE(gen_.ts_offset(kLocal, kRemote), gen_.ts_offset(Ipv4Addr{kLocal.value + 1}, kRemote));
  std::array<std::uint8_t, 16> other = kSecret;
  other[7] ^= 0x10;
  EXPECT_NE(IsnGenerator{other}.ts_offset(kLocal, kRemote), gen_.ts_offset(kLocal, kRemote));
  // Not the ISN key: the ts offset is not SipHash(secret, local | remote).
  const std::array<std::uint8_t, 8> msg = {0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02};
  EXPECT_NE(gen_.ts_offset(kLocal, kRemote),
            static_cast<std::uint32_t>(siphash24(SipHashKey::from_bytes(kSecret), msg)));
}

}  // namespace
}  // namespace synwave::tcp
