// Robustness: seeded random and mutated buffers through every parser (a libFuzzer-style loop run
// as a normal test). Meant for the sanitizer build, where any out-of-bounds read aborts. Every
// input lives in an exactly sized heap block so that ASan sees a one-byte overread.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "packets.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"
#include "wire/udp.h"

namespace synwave::wire {
namespace {

using testing::from_hex;

// How often each parser accepted an input: proof that the loop reaches every layer.
struct Reached {
  std::uint64_t ethernet = 0, arp = 0, ipv4 = 0, tcp = 0, udp = 0, icmp = 0, options = 0;
};

// Touches every accessor so that a bad offset would be read.
std::uint64_t touch(const TcpView& t) {
  std::uint64_t h = t.src_port() + t.dst_port() + t.seq() + t.ack() + t.flags().bits + t.window() +
                    t.checksum() + t.urgent() + t.seq_len();
  for (std::uint8_t b : t.options()) h += b;
  for (std::uint8_t b : t.payload()) h += b;
  return h;
}

std::uint64_t check_options(std::span<const std::uint8_t> bytes, Reached& reached) {
  std::uint64_t h = 0;
  auto strict = parse_tcp_options(bytes);
  const TcpOptions lenient = parse_tcp_options_lenient(bytes);
  if (strict.ok()) {
    ++reached.options;
    // Whatever parses must survive a write and a re-parse unchanged (when it fits in 40 bytes).
    EXPECT_EQ(*strict, lenient);
    std::uint8_t out[kTcpMaxOptionsLen];
    Built built = write_tcp_options(*strict, out);
    if (built.ok()) {
      auto again = parse_tcp_options(std::span<const std::uint8_t>(out, *built));
      EXPECT_TRUE(again.ok());
      if (again.ok()) {
        EXPECT_EQ(*again, *strict);
      }
    }
    h += strict->sack_count;
  }
  for (const SackBlock& s : lenient.sacks()) h += s.left ^ s.right;
  return h;
}

// Runs one L4 payload through every L4 parser, with and without checksum verification.
std::uint64_t check_l4(std::span<const std::uint8_t> l4, Ipv4Addr src, Ipv4Addr dst,
                       Reached& reached) {
  std::uint64_t h = 0;
  for (ChecksumCheck check : {ChecksumCheck::kVerify, ChecksumCheck::kSkip}) {
    if (auto t = TcpView::parse(l4, src, dst, check); t.ok()) {
      reached.tcp += check == ChecksumCheck::kVerify;
      h += touch(*t);
      h += check_options(t->options(), reached);
    }
    if (auto u = UdpView::parse(l4, src, dst, check); u.ok()) {
      reached.udp += check == ChecksumCheck::kVerify;
      h += u->src_port() + u->dst_port() + u->length() + u->checksum();
      for (std::uint8_t b : u->payload()) h += b;
    }
    if (auto i = IcmpView::parse(l4, check); i.ok()) {
      reached.icmp += check == ChecksumCheck::kVerify;
      h += i->echo_id() + i->echo_seq() + i->code() + i->rest_of_header();
      for (std::uint8_t b : i->data()) h += b;
      std::vector<std::uint8_t> reply(i->bytes().size());
      Built built = build_echo_reply(*i, reply);
      EXPECT_TRUE(built.ok());
      EXPECT_TRUE(IcmpView::parse(reply).ok());
    }
  }
  return h;
}

std::uint64_t check_ipv4(std::span<const std::uint8_t> packet, Reached& reached) {
  std::uint64_t h = 0;
  for (ChecksumCheck check : {ChecksumCheck::kVerify, ChecksumCheck::kSkip}) {
    auto v = Ipv4View::parse(packet, check, FragmentPolicy::kAccept);
    if (!v.ok()) continue;
    reached.ipv4 += check == ChecksumCheck::kVerify;
    h += v->ttl() + v->identification() + v->fragment_offset() + v->src().value + v->dst().value;
    for (std::uint8_t b : v->options()) h += b;
    h += check_l4(v->payload(), v->src(), v->dst(), reached);
  }
  return h;
}

std::uint64_t check_frame(std::span<const std::uint8_t> frame, Reached& reached) {
  std::uint64_t h = 0;
  if (auto e = EthernetView::parse(frame); e.ok()) {
    ++reached.ethernet;
    h += e->vlan_id() * e->has_vlan() + static_cast<std::uint16_t>(e->ethertype());
    if (auto a = ArpView::parse(e->payload()); a.ok()) {
      ++reached.arp;
      h += a->sender_ip().value + a->target_ip().value + a->sender_mac().bytes[5];
    }
    h += check_ipv4(e->payload(), reached);
  }
  // Also straight into each parser, whatever the first bytes say.
  if (auto a = ArpView::parse(frame); a.ok()) h += static_cast<std::uint16_t>(a->op());
  h += check_ipv4(frame, reached);
  h += check_l4(frame, testing::kLo, testing::kLo, reached);
  h += check_options(frame, reached);
  return h;
}

std::vector<std::vector<std::uint8_t>> seeds() {
  std::vector<std::vector<std::uint8_t>> out;
  const auto eth = from_hex("0200 5e00 5301 0200 5e00 5302 0800");
  const auto vlan = from_hex("0200 5e00 5301 0200 5e00 5302 8100 0064 0800");
  for (std::string_view p :
       {testing::kLinuxSyn, testing::kLinuxSynAck, testing::kLinuxPsh, testing::kLinuxSynNoTs,
        testing::kLinuxUdp, testing::kLinuxPortUnreachable, testing::kPingEchoRequest}) {
    const auto ip_packet = from_hex(p);
    out.push_back(ip_packet);
    for (const auto* header : {&eth, &vlan}) {
      std::vector<std::uint8_t> frame = *header;
      frame.insert(frame.end(), ip_packet.begin(), ip_packet.end());
      out.push_back(frame);
    }
    out.push_back(testing::l4_of(p));
  }
  out.push_back(
      from_hex("ffff ffff ffff 0200 5e00 5301 0806 0001 0800 0604 0001 0200 5e00 5301"
               "c612 0001 0000 0000 0000 c612 0002"));
  out.push_back(from_hex("0204 05b4 0402 080a 1122 3344 0000 0000 0103 0307"));
  out.push_back(
      from_hex("0101 080a 0000 0001 0000 0002 0101 051a 0000 1000 0000 2000 0000 3000"
               "0000 4000 0000 5000 0000 6000"));
  return out;
}

// Applies one to four random edits of the kinds libFuzzer uses.
void mutate(std::vector<std::uint8_t>& data, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!data.empty())
          data[rng() % data.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (!data.empty()) data[rng() % data.size()] = static_cast<std::uint8_t>(rng());
        break;
      case 2:  // interesting byte (lengths, kinds, version/IHL nibbles)
        if (!data.empty()) {
          static constexpr std::uint8_t kInteresting[] = {
              0, 1, 2, 3, 4, 5, 8, 10, 0x0f, 0x40, 0x45, 0x4f, 0x50, 0x7f, 0x80, 0xf0, 0xff};
          data[rng() % data.size()] = kInteresting[rng() % std::size(kInteresting)];
        }
        break;
      case 3:  // truncate
        data.resize(data.empty() ? 0 : rng() % data.size());
        break;
      case 4:  // extend with random bytes
        for (unsigned n = rng() % 16; n > 0; --n) data.push_back(static_cast<std::uint8_t>(rng()));
        break;
      default:  // overwrite a 16-bit field with an edge value
        if (data.size() >= 2) {
          static constexpr std::uint16_t kEdges[] = {0,  1,  7,  8,      19,    20,
                                                     39, 40, 60, 0x7fff, 0xffff};
          const std::size_t at = rng() % (data.size() - 1);
          const std::uint16_t v = kEdges[rng() % std::size(kEdges)];
          data[at] = static_cast<std::uint8_t>(v >> 8);
          data[at + 1] = static_cast<std::uint8_t>(v);
        }
        break;
    }
  }
}

// Copies into an exactly sized allocation, so any overread is outside the block.
std::uint64_t run_exact(const std::vector<std::uint8_t>& data, Reached& reached) {
  std::unique_ptr<std::uint8_t[]> block(new std::uint8_t[data.size() + (data.empty() ? 1 : 0)]);
  if (!data.empty()) std::memcpy(block.get(), data.data(), data.size());
  return check_frame(std::span<const std::uint8_t>(block.get(), data.size()), reached);
}

TEST(WireFuzz, MutatedRealPackets_NeverCrash) {
  std::mt19937 rng(20240601);
  const auto corpus = seeds();
  std::uint64_t sink = 0;
  Reached reached;
  for (int i = 0; i < 200000; ++i) {
    std::vector<std::uint8_t> data = corpus[rng() % corpus.size()];
    mutate(data, rng);
    sink += run_exact(data, reached);
  }
  EXPECT_NE(sink, 0u);
  // Valid checksums survive many mutations (truncation of padding, edits of bytes the checksums
  // do not cover, compensating edits are rare): each layer must still be reached often.
  EXPECT_GT(reached.ethernet, 10000u);
  EXPECT_GT(reached.arp, 1000u);
  EXPECT_GT(reached.ipv4, 1000u);
  EXPECT_GT(reached.tcp, 1000u);
  EXPECT_GT(reached.udp, 100u);
  EXPECT_GT(reached.icmp, 100u);
  EXPECT_GT(reached.options, 10000u);
  std::printf("reached: eth %lu arp %lu ipv4 %lu tcp %lu udp %lu icmp %lu options %lu\n",
              reached.ethernet, reached.arp, reached.ipv4, reached.tcp, reached.udp, reached.icmp,
              reached.options);
}

TEST(WireFuzz, RandomBuffers_NeverCrash) {
  std::mt19937 rng(42);
  std::uint64_t sink = 0;
  Reached reached;
  for (int i = 0; i < 100000; ++i) {
    std::vector<std::uint8_t> data(rng() % 96);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    // Bias towards reaching deeper: often look like IPv4 or carry a plausible data offset.
    if (data.size() > 12 && rng() % 2) data[0] = static_cast<std::uint8_t>(0x45 + rng() % 11);
    if (data.size() > 12 && rng() % 2) data[12] = static_cast<std::uint8_t>((5 + rng() % 11) << 4);
    sink += run_exact(data, reached);
  }
  EXPECT_NE(sink, 0u);
}

}  // namespace
}  // namespace synwave::wire
