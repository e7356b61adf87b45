// Reliable transfer in virtual time: the stack sends and receives bulk data against a peer the
// test plays, and every mechanism's segments and instants are asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "transfer_fixture.h"

namespace synwave::tcp::testing {
namespace {

TEST_F(TransferTest, Established_BulkSendOnCleanLink_NeverWaitsForATimer) {
  const int s = open_passive();
  const Duration took = pump_send(s, 4 << 20);
  // 4 MiB at a 1 ms RTT: slow start from 10 segments reaches the peer's 128 KiB window within a few
  // RTTs; then one window per RTT. Anything near an RTO (200 ms) would be a stall.
  EXPECT_LT(took, milliseconds(100));
  EXPECT_EQ(tcp().stats().get(TcpStat::kRetransmits), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  tcp().close(s);
}

}  // namespace
}  // namespace synwave::tcp::testing

namespace synwave::tcp::testing {
namespace {

class ReceiveTuningTest : public TransferTest {
 public:
  // The peer fills every window it is offered, once per 10 ms round trip, echoing our
  // timestamps; the application reads everything at once. Returns the largest window announced.
  std::uint32_t fill_windows(int s, int rounds) {
    std::uint32_t seq = kPeerIsn + 1;
    std::uint32_t edge = seq + 64240;
    std::uint32_t ecr = 0;
    std::uint32_t largest = 0;
    std::vector<std::uint8_t> sink(1 << 20);
    auto take_acks = [&] {
      for (const Sent& a : sent()) {
        const std::uint32_t window = std::uint32_t{a.tcp.window} << 7;
        const std::uint32_t right = a.ack() + window;
        if (static_cast<std::int32_t>(right - edge) > 0) edge = right;
        largest = std::max(largest, window);
        if (a.tcp.options.timestamps) ecr = a.tcp.options.timestamps->val;
      }
    };
    for (int round = 1; round <= rounds; ++round) {
      // One window's worth per round trip, at most 4000 segments (bounded).
      for (int segments = 0; segments < 4000 && static_cast<std::int32_t>(edge - seq) > 0; ++segments) {
        const std::uint32_t n = std::min<std::uint32_t>(edge - seq, 1448);
        wire::TcpOptions o;
        o.timestamps = wire::TcpTimestamps{static_cast<std::uint32_t>(1000 + round), ecr};
        peer_sends(ACK, seq, server_isn_ + 1, Bytes(n, 'r'), o);
        seq += n;
        while (tcp().recv(s, sink) > 0) {
        }
        take_acks();
      }
      advance_to(wheel_.now() + milliseconds(10));
      take_acks();  // delayed ACKs carry the latest window
    }
    return largest;
  }
};

TEST_F(ReceiveTuningTest, Established_ApplicationKeepsUp_BufferGrowsBeyondTcpRmemDefault) {
  const int s = open_passive();
  const std::uint32_t largest = fill_windows(s, 12);
  int buffer = 0;
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kRcvBuf, &buffer), 0);
  // Linux tcp_rcv_space_adjust: twice what was read per round trip plus headroom, up to
  // tcp_rmem[2] (6 MiB).
  EXPECT_GT(buffer, 131072);
  EXPECT_LE(buffer, 6291456);
  EXPECT_GT(largest, 131072u) << "the announced window followed the buffer";
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTuningTest, Established_SoRcvbufSet_BufferStaysWhereTheApplicationPutIt) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kRcvBuf, 65536), 0);
  fill_windows(s, 12);
  int buffer = 0;
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kRcvBuf, &buffer), 0);
  EXPECT_EQ(buffer, 131072) << "doubled, as Linux does, and locked";
  tcp().close(s);
  sent();
}

}  // namespace
}  // namespace synwave::tcp::testing
