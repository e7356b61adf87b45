#include "base/addr.h"

#include <gtest/gtest.h>

namespace synwave {
namespace {

TEST(Ipv4Text, ParsesDottedQuad) {
  EXPECT_EQ(parse_ipv4("198.18.0.1"), Ipv4Addr{0xC6120001});
  EXPECT_EQ(parse_ipv4("0.0.0.0"), Ipv4Addr{0});
  EXPECT_EQ(parse_ipv4("255.255.255.255"), Ipv4Addr{0xffffffff});
}

TEST(Ipv4Text, RejectsMalformed) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d",
                          "1..2.3", "1.2.3.", "-1.2.3.4", "1.2.3.4/24"}) {
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
  }
}

TEST(Ipv4Text, FormatsRoundTrip) {
  EXPECT_EQ(format_ipv4(*parse_ipv4("198.19.255.254")), "198.19.255.254");
}

TEST(MacText, ParsesAndFormats) {
  auto mac = parse_mac("02:00:5E:00:53:0a");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(format_mac(*mac), "02:00:5e:00:53:0a");
  EXPECT_FALSE(parse_mac("02:00:5e:00:53").has_value());
  EXPECT_FALSE(parse_mac("02-00-5e-00-53-0a").has_value());
  EXPECT_FALSE(parse_mac("02:00:5e:00:53:0g").has_value());
}

TEST(MacKind, BroadcastAndMulticast) {
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(parse_mac("01:00:5e:00:00:01")->is_multicast());
  EXPECT_FALSE(parse_mac("02:00:5e:00:00:01")->is_multicast());
}

TEST(Subnet, PrefixMatching) {
  EXPECT_TRUE(same_subnet(*parse_ipv4("198.18.0.1"), *parse_ipv4("198.18.0.200"), 24));
  EXPECT_FALSE(same_subnet(*parse_ipv4("198.18.0.1"), *parse_ipv4("198.18.1.1"), 24));
  EXPECT_TRUE(same_subnet(*parse_ipv4("198.18.0.1"), *parse_ipv4("198.19.1.1"), 15));
  EXPECT_TRUE(same_subnet(*parse_ipv4("1.2.3.4"), *parse_ipv4("5.6.7.8"), 0));
}

TEST(Ipv4PrefixText, ParsesNetworkAndLength) {
  auto p = parse_ipv4_prefix("198.18.0.0/15");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->network, *parse_ipv4("198.18.0.0"));
  EXPECT_EQ(p->length, 15u);
  EXPECT_EQ(p->size(), 131072u);
  EXPECT_EQ(format_ipv4_prefix(*p), "198.18.0.0/15");
  EXPECT_EQ(parse_ipv4_prefix("0.0.0.0/0")->size(), std::uint64_t{1} << 32);
  EXPECT_EQ(parse_ipv4_prefix("198.18.0.1/32")->size(), 1u);
}

TEST(Ipv4PrefixText, RejectsHostBitsAndMalformed) {
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.1/15").has_value());  // host bits set
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0").has_value());
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/33").has_value());
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/015").has_value());
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/").has_value());
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0/16").has_value());
}

TEST(Ipv4PrefixContains, BoundariesOfTheBenchmarkingRange) {
  const Ipv4Prefix bench = *parse_ipv4_prefix("198.18.0.0/15");
  EXPECT_TRUE(bench.contains(*parse_ipv4("198.18.0.0")));
  EXPECT_TRUE(bench.contains(*parse_ipv4("198.19.255.255")));
  EXPECT_FALSE(bench.contains(*parse_ipv4("198.17.255.255")));
  EXPECT_FALSE(bench.contains(*parse_ipv4("198.20.0.0")));
  EXPECT_TRUE(parse_ipv4_prefix("0.0.0.0/0")->contains(*parse_ipv4("8.8.8.8")));
}

}  // namespace
}  // namespace synwave
