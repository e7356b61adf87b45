#include "flood/flood_frames.h"

#include <gtest/gtest.h>

#include <array>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace synwave::flood {
namespace {

const FrameParams kParams{.src_mac = MacAddr{{0x02, 0, 0x5e, 0, 0x53, 0x12}},
                          .dst_mac = MacAddr{{0x02, 0, 0x5e, 0, 0x53, 0x11}},
                          .dst = Ipv4Addr{0xC6120101},  // 198.18.1.1
                          .dst_port = 8080};

// Every kind's frame, with random fields, parses with both checksums verified and carries them.
TEST(FloodFrames, EveryKindParsesWithValidChecksumsAndItsFields) {
  FieldSource source(Ipv4Prefix{Ipv4Addr{0xC6130000}, 16}, 7);
  for (Kind kind : {Kind::kSyn, Kind::kAck, Kind::kRst, Kind::kFin}) {
    const FrameTemplate frame(kind, kParams);
    for (int i = 0; i < 200; ++i) {
      const FrameFields f = source.next();
      std::array<std::uint8_t, FrameTemplate::kMaxFrameLen> buf{};
      ASSERT_EQ(frame.write(buf, f), frame.size());
      const std::span<const std::uint8_t> bytes(buf.data(), frame.size());
      auto ip = wire::Ipv4View::parse(bytes.subspan(wire::kEthernetHeaderLen));
      ASSERT_TRUE(ip.ok()) << kind_name(kind);
      EXPECT_EQ(ip->src(), f.src);
      auto tcp = wire::TcpView::parse(ip->payload(), f.src, kParams.dst);
      ASSERT_TRUE(tcp.ok()) << kind_name(kind) << " " << i;
      EXPECT_EQ(tcp->src_port(), f.src_port);
      EXPECT_EQ(tcp->seq(), f.seq);
      EXPECT_EQ(tcp->flags().syn(), kind == Kind::kSyn);
      EXPECT_EQ(tcp->flags().ack(), kind == Kind::kAck || kind == Kind::kFin);
      if (kind == Kind::kAck || kind == Kind::kFin) {
        EXPECT_EQ(tcp->ack(), f.ack);
      }
      // Sources inside the prefix, neither its network nor its broadcast address.
      EXPECT_EQ(f.src.value >> 16, 0xC613u);
      EXPECT_NE(f.src.value & 0xffff, 0u);
      EXPECT_NE(f.src.value & 0xffff, 0xffffu);
      EXPECT_GE(f.src_port, 1024);
    }
  }
}

}  // namespace
}  // namespace synwave::flood
