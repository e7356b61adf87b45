// RST processing and RFC 5961's challenge ACKs on synchronized connections.
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

class RstTest : public TcpTest {
 protected:
  int established() {
    const int l = listen();
    const int s = accept_from_peer(l);
    peer_seq_ = kPeerIsn + 1;
    our_seq_ = server_isn_ + 1;
    return s;
  }
  std::uint32_t peer_seq_ = 0, our_seq_ = 0;
};

TEST_F(RstTest, Established_RstAtRcvNxt_ResetsWithEconnreset) {
  const int s = established();
  peer_sends(RST, peer_seq_, 0);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state(s), State::kClosed);
  std::uint8_t buf[4];
  EXPECT_EQ(tcp().recv(s, buf), -ECONNRESET);
  EXPECT_EQ(tcp().send(s, Bytes{1}), -EPIPE);
  EXPECT_EQ(tcp().stats().get(TcpStat::kEstablishedResets), 1u);
  tcp().close(s);
}

TEST_F(RstTest, Established_InWindowRstNotExact_ChallengeAck) {
  const int s = established();
  peer_sends(RST, peer_seq_ + 100, 0);
  Sent challenge = one_sent();
  EXPECT_TRUE(challenge.is(ACK));
  EXPECT_EQ(challenge.seq(), our_seq_);
  EXPECT_EQ(challenge.ack(), peer_seq_);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(tcp().stats().get(TcpStat::kChallengeAcks), 1u);
  tcp().close(s);
}

TEST_F(RstTest, Established_RstOutsideWindow_SilentlyDropped) {
  const int s = established();
  peer_sends(RST, peer_seq_ + 10'000'000, 0);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kRstOutOfWindow), 1u);
  tcp().close(s);
}

TEST_F(RstTest, Established_SynInWindow_ChallengeAck) {
  const int s = established();
  peer_sends(SYN, peer_seq_ + 5, 0, {}, linux_syn_options());
  Sent challenge = one_sent();
  EXPECT_TRUE(challenge.is(ACK));
  EXPECT_EQ(challenge.ack(), peer_seq_);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  tcp().close(s);
}

TEST_F(RstTest, Established_OutOfWindowData_AnsweredWithAck) {
  const int s = established();
  peer_sends(ACK, peer_seq_ - 5000, our_seq_, {'o', 'l', 'd'}, peer_ts());
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.ack(), peer_seq_);
  tcp().close(s);
}

TEST_F(RstTest, Established_AckOfUnsentData_AckedAndDropped) {
  const int s = established();
  peer_sends(ACK | PSH, peer_seq_, our_seq_ + 1000, {'x'}, peer_ts());
  Sent ack = one_sent();
  EXPECT_EQ(ack.ack(), peer_seq_) << "the data was not taken";
  EXPECT_EQ(tcp().drops().get(TcpDrop::kBadAck), 1u);
  tcp().close(s);
}

TEST_F(RstTest, SynReceived_Rst_EntryRemovedListenerStays) {
  const int l = listen();
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options());
  one_sent();
  peer_sends(RST, kPeerIsn + 1, 0);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 0u);
  EXPECT_EQ(tcp().state(l), State::kListen);
}

TEST_F(RstTest, BogusRstFlood_ChallengeAcksRateLimitedTo1Per500ms) {
  const int s = established();
  peer_sends(RST, peer_seq_ + 100, 0);
  EXPECT_EQ(sent().size(), 1u);
  for (int i = 0; i < 10; ++i) peer_sends(RST, peer_seq_ + 200 + i, 0);
  peer_sends(SYN, peer_seq_ + 7, 0, {}, linux_syn_options());
  EXPECT_TRUE(sent().empty()) << "held back: one answer per 500 ms per connection";
  EXPECT_EQ(tcp().stats().get(TcpStat::kAcksSkipped), 11u);
  advance_to(at_ms(499));
  peer_sends(RST, peer_seq_ + 300, 0);
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(500));
  peer_sends(RST, peer_seq_ + 300, 0);
  EXPECT_EQ(one_sent().ack(), peer_seq_) << "answered again after 500 ms (Linux tcp_invalid_ratelimit)";
  // Data is always acknowledged, limit or not.
  peer_sends(ACK | PSH, peer_seq_ - 5000, our_seq_, {'o', 'l', 'd'}, peer_ts());
  EXPECT_EQ(one_sent().ack(), peer_seq_);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  tcp().close(s);
}

}  // namespace
}  // namespace synwave::tcp::testing
