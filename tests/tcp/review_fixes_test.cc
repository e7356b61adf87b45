// Behaviours pinned down after review: hostile MSS values, timestamp echo, window updates,
// old data to an orphan, shutdown before the handshake completes, RFC 5961's ACK check,
// SYN+FIN to a listener, readiness of accepted sockets, zero-length calls.
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

class ReviewFixesTest : public TcpTest {
 protected:
  // An accepted connection whose peer announced `options` in its SYN.
  int accept_with(const wire::TcpOptions& options, std::uint16_t window = 65535) {
    const int l = listen();
    peer_sends(SYN, kPeerIsn, 0, {}, options, window);
    server_isn_ = one_sent().seq();
    peer_sends(ACK, kPeerIsn + 1, server_isn_ + 1, {}, options.timestamps ? peer_ts() : wire::TcpOptions{}, window);
    return tcp().accept(l);
  }
};

TEST_F(ReviewFixesTest, PeerMssOfOne_ClampedSoSegmentsStayUseful) {
  wire::TcpOptions o = linux_syn_options();
  o.mss = 1;
  o.window_scale.reset();
  const int s = accept_with(o);
  ASSERT_GE(s, 0);
  ASSERT_EQ(tcp().send(s, Bytes(300, 'x')), 300);
  auto segments = sent();
  ASSERT_EQ(segments.size(), 4u) << "88-byte MSS less 12 bytes of timestamps: 76 + 76 + 76 + 72";
  EXPECT_EQ(segments[0].payload.size(), 76u);
  EXPECT_EQ(segments[3].payload.size(), 72u);
}

TEST_F(ReviewFixesTest, PeerMssOfZero_Ignored) {
  wire::TcpOptions o;
  o.mss = 0;
  const int s = accept_with(o);
  ASSERT_GE(s, 0);
  ASSERT_EQ(tcp().send(s, Bytes(1000, 'x')), 1000);
  auto segments = sent();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].payload.size(), 536u) << "RFC 9293's default MSS";
}

TEST_F(ReviewFixesTest, Timestamps_EchoTheLatestTsval) {
  const int l = listen();
  const int s = accept_from_peer(l);
  wire::TcpOptions ts;
  ts.timestamps = wire::TcpTimestamps{555, 0};
  peer_sends(ACK | PSH, kPeerIsn + 1, server_isn_ + 1, {'a'}, ts);
  Sent ack = one_sent();
  ASSERT_TRUE(ack.tcp.options.timestamps);
  EXPECT_EQ(ack.tcp.options.timestamps->ecr, 555u);
  tcp().close(s);
  sent();
}

TEST_F(ReviewFixesTest, ReadingAClosedWindow_SendsWindowUpdate) {
  const int l = listen();
  const int s = accept_from_peer(l);
  std::uint32_t seq = kPeerIsn + 1;
  std::uint32_t edge = seq + 64240;  // the SYN-ACK's window
  Sent last;
  // The peer fills every window it is offered until the 128 KiB buffer is full.
  for (int round = 0; round < 400 && edge != seq; ++round) {
    const std::uint32_t n = std::min<std::uint32_t>(edge - seq, 1448);
    peer_sends(ACK, seq, server_isn_ + 1, Bytes(n, 'd'), peer_ts());
    seq += n;
    auto out = sent();
    ASSERT_LE(out.size(), 1u) << "an ACK per segment (quick ACKs) or per second segment (delayed ACK)";
    if (out.empty() && edge == seq) {
      advance_to(wheel_.now() + std::chrono::milliseconds(40));  // the delayed ACK
      out = sent();
    }
    if (!out.empty()) {
      last = out[0];
      edge = last.ack() + (std::uint32_t{last.tcp.window} << 7);
    }
  }
  const std::uint32_t received = seq - (kPeerIsn + 1);
  EXPECT_EQ(last.ack(), seq);
  EXPECT_EQ(last.tcp.window, 0) << "the 128 KiB buffer is full";
  EXPECT_GT(received, 131072u - 128) << "within one unit of window scale of the buffer";
  EXPECT_LE(received, 131072u);
  std::vector<std::uint8_t> buf(131072);
  EXPECT_EQ(tcp().recv(s, buf), static_cast<long>(received));
  Sent update = one_sent();
  EXPECT_TRUE(update.is(ACK));
  EXPECT_EQ(update.ack(), seq);
  EXPECT_EQ(update.tcp.window, 131072 >> 7) << "the whole buffer again, scaled by 7";
  tcp().close(s);
  sent();
}

TEST_F(ReviewFixesTest, OrphanInFinWait1_RetransmittedOldData_AckedNotReset) {
  const int l = listen();
  const int s = accept_from_peer(l);
  peer_sends(ACK | PSH, kPeerIsn + 1, server_isn_ + 1, {'h', 'i'}, peer_ts());
  one_sent();
  std::uint8_t buf[4];
  ASSERT_EQ(tcp().recv(s, buf), 2);
  tcp().close(s);
  EXPECT_TRUE(one_sent().is(FIN | ACK));
  // Our ACK of "hi" was lost: the peer sends it again.
  peer_sends(ACK | PSH, kPeerIsn + 1, server_isn_ + 1, {'h', 'i'}, peer_ts());
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK)) << ack.describe();
  EXPECT_EQ(ack.ack(), kPeerIsn + 3);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnData), 0u);
  // New data, though, resets: nobody will read it.
  peer_sends(ACK | PSH, kPeerIsn + 3, server_isn_ + 1, {'!'}, peer_ts());
  EXPECT_TRUE(one_sent().is(RST | ACK));
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnData), 1u);
}

TEST_F(ReviewFixesTest, ShutdownWriteDuringSynSent_FinFollowsTheHandshake) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  ASSERT_EQ(tcp().shutdown(s, Shutdown::kWrite), 0);
  EXPECT_TRUE(sent().empty());
  peer_sends(SYN | ACK, kPeerIsn, syn.seq() + 1, {}, {}, 65535, 9000, syn.tcp.src_port);
  auto out = sent();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].is(ACK));
  EXPECT_TRUE(out[1].is(FIN | ACK));
  EXPECT_EQ(out[1].seq(), syn.seq() + 1);
  EXPECT_EQ(tcp().state(s), State::kFinWait1);
  tcp().close(s);
}

TEST_F(ReviewFixesTest, AckOlderThanAnyWindow_ChallengeAckAndDropped) {
  const int l = listen();
  const int s = accept_from_peer(l);
  peer_sends(ACK | PSH, kPeerIsn + 1, server_isn_ + 1 - 200000, {'x'}, peer_ts());
  Sent challenge = one_sent();
  EXPECT_TRUE(challenge.is(ACK));
  EXPECT_EQ(challenge.ack(), kPeerIsn + 1) << "the data was not taken";
  EXPECT_EQ(tcp().drops().get(TcpDrop::kOldAck), 1u);
  tcp().close(s);
  sent();
}

TEST_F(ReviewFixesTest, SynFinToListener_Dropped) {
  listen();
  peer_sends(SYN | FIN, kPeerIsn, 0, {}, linux_syn_options());
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().drops().get(TcpDrop::kSynFin), 1u);
}

TEST_F(ReviewFixesTest, DataBeforeAccept_AcceptedSocketReportedReadable) {
  const int l = listen();
  accept_from_peer_no_accept(l, kPeerPort);
  peer_sends(ACK | PSH, kPeerIsn + 1, 0, {}, {});  // ignored: wrong ack
  sent();
  int ready[8];
  while (tcp().take_ready(ready) > 0) {
  }
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  const std::size_t n = tcp().take_ready(ready);
  EXPECT_NE(std::find(ready, ready + n, s), ready + n) << "the accepted socket is reported";
  EXPECT_TRUE(tcp().readiness(s) & kWritable);
  tcp().close(s);
}

TEST_F(ReviewFixesTest, ZeroLengthSendAndRecv_ReturnZero) {
  const int l = listen();
  const int s = accept_from_peer(l);
  EXPECT_EQ(tcp().send(s, std::span<const std::uint8_t>{}), 0);
  peer_sends(ACK | PSH, kPeerIsn + 1, server_isn_ + 1, {'a'}, peer_ts());
  one_sent();
  EXPECT_EQ(tcp().recv(s, std::span<std::uint8_t>{}), 0);
  std::uint8_t buf[2];
  EXPECT_EQ(tcp().recv(s, buf), 1);
  tcp().close(s);
  sent();
}

TEST_F(ReviewFixesTest, RetransmittedHandshake_DataStartsWithRto3s) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  advance_to(at_s(1));
  one_sent();  // the SYN again
  peer_sends(SYN | ACK, kPeerIsn, syn.seq() + 1, {}, {}, 65535, 9000, syn.tcp.src_port);
  one_sent();
  ASSERT_EQ(tcp().send(s, Bytes{'x'}), 1);
  one_sent();
  advance_to(at_ms(1000 + 2999));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(1000 + 3000));
  EXPECT_EQ(one_sent().payload, Bytes{'x'}) << "RFC 6298 5.7: RTO 3 s after a retransmitted SYN";
  tcp().close(s);
  sent();
}

}  // namespace
}  // namespace synwave::tcp::testing
