// The four-way close, its losses, TIME_WAIT and CLOSE_WAIT, in virtual time
// (behaviour.md, "Four-way close").
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

class CloseTest : public TcpTest {
 protected:
  // An accepted connection; the peer's next sequence number is peer_seq_.
  int established() {
    listener_ = listen();
    const int s = accept_from_peer(listener_);
    peer_seq_ = kPeerIsn + 1;
    our_seq_ = server_isn_ + 1;
    return s;
  }
  int listener_ = -1;
  std::uint32_t peer_seq_ = 0;
  std::uint32_t our_seq_ = 0;
};

TEST_F(CloseTest, Close_SendsFinAndEntersFinWait1) {
  const int s = established();
  EXPECT_EQ(tcp().shutdown(s, Shutdown::kWrite), 0);
  Sent fin = one_sent();
  EXPECT_TRUE(fin.is(FIN | ACK)) << fin.describe();
  EXPECT_EQ(fin.seq(), our_seq_);
  EXPECT_EQ(fin.ack(), peer_seq_);
  EXPECT_EQ(tcp().state(s), State::kFinWait1);
}

TEST_F(CloseTest, PeerAcksFin_FinWait2_ThenPeerFin_TimeWaitFor60s) {
  const int s = established();
  tcp().close(s);
  Sent fin = one_sent();
  peer_sends(ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  EXPECT_TRUE(sent().empty()) << "an ACK is never acknowledged";
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait2)], 1u);
  advance_to(at_s(10));
  peer_sends(FIN | ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.seq(), our_seq_ + 1);
  EXPECT_EQ(ack.ack(), peer_seq_ + 1);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u);
  advance_to(at_ms(69999));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u);
  advance_to(at_s(70));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 0u) << "2MSL = 60 s after entry";
  EXPECT_TRUE(sent().empty());
}

TEST_F(CloseTest, FinWait1_FinAckArrives_GoesStraightToTimeWait) {
  const int s = established();
  tcp().close(s);
  one_sent();
  // One segment acknowledges our FIN and carries the peer's FIN (seed 002).
  peer_sends(FIN | ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.ack(), peer_seq_ + 1);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u);
  EXPECT_EQ(tcp().transitions(State::kFinWait1, State::kFinWait2), 1u);
  EXPECT_EQ(tcp().transitions(State::kFinWait2, State::kTimeWait), 1u);
}

TEST_F(CloseTest, SimultaneousClose_ThroughClosing_ToTimeWait) {
  const int s = established();
  ASSERT_EQ(tcp().shutdown(s, Shutdown::kWrite), 0);
  Sent fin = one_sent();
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  peer_sends(FIN | ACK, peer_seq_, our_seq_, {}, peer_ts());
  EXPECT_EQ(tcp().state(s), State::kClosing);
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.ack(), peer_seq_ + 1);
  // Then the peer's ACK of our FIN.
  peer_sends(ACK, peer_seq_ + 1, our_seq_ + 1, {}, peer_ts());
  EXPECT_EQ(tcp().state(s), State::kTimeWait);
  EXPECT_TRUE(sent().empty());
  tcp().close(s);
}

TEST_F(CloseTest, FinLost_RetransmittedWithBackoffFromMinimumRto) {
  const int s = established();
  tcp().close(s);
  Sent fin = one_sent();
  // The handshake took no virtual time: SRTT 0, so RTO = 200 ms (Linux's floor), doubling.
  std::int64_t t = 0;
  for (std::int64_t rto = 200; rto <= 1600; rto *= 2) {
    t += rto;
    advance_to(at_ms(t - 1));
    EXPECT_TRUE(sent().empty());
    advance_to(at_ms(t));
    Sent again = one_sent();
    EXPECT_TRUE(again.is(FIN | ACK)) << again.describe();
    EXPECT_EQ(again.seq(), fin.seq());
  }
}

TEST_F(CloseTest, OrphanFinNeverAcked_FreedAfterEightRetries) {
  const int s = established();
  tcp().close(s);
  one_sent();
  // tcp_orphan_retries = 0 means 8 retransmissions: 200 ms doubling, then one more RTO of waiting.
  std::int64_t t = 0, rto = 200;
  for (int i = 0; i < 8; ++i, rto *= 2) {
    t += rto;
    advance_to(at_ms(t));
    EXPECT_EQ(sent().size(), 1u) << "retransmission " << i + 1;
  }
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait1)], 1u);
  advance_to(at_ms(t + rto));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait1)], 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnTimeout), 1u);
}

TEST_F(CloseTest, OrphanInFinWait2_FreedAfterTcpFinTimeout) {
  const int s = established();
  tcp().close(s);
  one_sent();
  peer_sends(ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait2)], 1u);
  advance_to(at_ms(59999));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait2)], 1u);
  advance_to(at_s(60));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kFinWait2)], 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kFinWait2Timeouts), 1u);
  EXPECT_TRUE(sent().empty()) << "freed quietly";
}

TEST_F(CloseTest, HalfClosedByShutdown_FinWait2WaitsIndefinitelyAndStillReads) {
  const int s = established();
  ASSERT_EQ(tcp().shutdown(s, Shutdown::kWrite), 0);
  one_sent();
  peer_sends(ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  EXPECT_EQ(tcp().state(s), State::kFinWait2);
  advance_to(at_s(3600));
  EXPECT_EQ(tcp().state(s), State::kFinWait2) << "no timeout while the application holds the socket";
  peer_sends(ACK | PSH, peer_seq_, our_seq_ + 1, {'l', 'a', 't', 'e'}, peer_ts());
  EXPECT_EQ(one_sent().ack(), peer_seq_ + 4);
  std::uint8_t buf[16];
  EXPECT_EQ(tcp().recv(s, buf), 4);
  tcp().close(s);
}

TEST_F(CloseTest, PeerCloses_CloseWaitReadsEofAndLastsUntilClose) {
  const int s = established();
  peer_sends(FIN | ACK, peer_seq_, our_seq_, {}, peer_ts());
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.ack(), peer_seq_ + 1) << "the FIN is acknowledged at once";
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_TRUE(tcp().readiness(s) & kPeerClosed);
  std::uint8_t buf[4];
  EXPECT_EQ(tcp().recv(s, buf), 0) << "end of stream";
  // Half-closed: we may still send.
  EXPECT_EQ(tcp().send(s, Bytes{'o', 'k'}), 2);
  Sent data = one_sent();
  EXPECT_EQ(data.payload, (Bytes{'o', 'k'}));
  EXPECT_EQ(data.seq(), our_seq_);
  peer_sends(ACK, peer_seq_ + 1, our_seq_ + 2, {}, peer_ts());
  advance_to(at_s(7200));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state(s), State::kCloseWait) << "never closed on the application's behalf";
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kCloseWait)], 1u);
  tcp().close(s);
}

TEST_F(CloseTest, CloseWait_Close_LastAckThenClosedOnAck) {
  const int s = established();
  peer_sends(FIN | ACK, peer_seq_, our_seq_, {}, peer_ts());
  one_sent();
  tcp().close(s);
  Sent fin = one_sent();
  EXPECT_TRUE(fin.is(FIN | ACK));
  EXPECT_EQ(fin.seq(), our_seq_);
  EXPECT_EQ(fin.ack(), peer_seq_ + 1);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kLastAck)], 1u);
  peer_sends(ACK, peer_seq_ + 1, our_seq_ + 1, {}, peer_ts());
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kLastAck)], 0u);
  EXPECT_EQ(tcp().transitions(State::kLastAck, State::kClosed), 1u);
}

TEST_F(CloseTest, LastAck_FinLost_Retransmitted) {
  const int s = established();
  peer_sends(FIN | ACK, peer_seq_, our_seq_, {}, peer_ts());
  one_sent();
  tcp().close(s);
  const std::uint32_t fin_seq = one_sent().seq();
  advance_to(at_ms(200));
  Sent again = one_sent();
  EXPECT_TRUE(again.is(FIN | ACK));
  EXPECT_EQ(again.seq(), fin_seq);
}

TEST_F(CloseTest, TimeWait_RetransmittedFin_ReAckedAndTimerRestarted) {
  const int s = established();
  tcp().close(s);
  one_sent();
  peer_sends(FIN | ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  one_sent();
  // Our last ACK was lost: the peer retransmits its FIN 30 s later.
  advance_to(at_s(30));
  peer_sends(FIN | ACK, peer_seq_, our_seq_ + 1, {}, peer_ts());
  Sent reack = one_sent();
  EXPECT_TRUE(reack.is(ACK));
  EXPECT_EQ(reack.ack(), peer_seq_ + 1);
  advance_to(at_s(89));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u) << "restarted at 30 s";
  advance_to(at_s(90));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 0u);
}

TEST_F(CloseTest, CloseWithUnreadData_SendsRst) {
  const int s = established();
  peer_sends(ACK | PSH, peer_seq_, our_seq_, {'x'}, peer_ts());
  one_sent();
  tcp().close(s);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST | ACK)) << rst.describe();
  EXPECT_EQ(rst.seq(), our_seq_);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnClose), 1u);
}

TEST_F(CloseTest, LingerZero_CloseSendsRst) {
  const int s = established();
  tcp().setsockopt(s, SockOpt::kLinger, 0);
  tcp().close(s);
  EXPECT_TRUE(one_sent().is(RST | ACK));
}

TEST_F(CloseTest, DataToOrphan_AnsweredWithRst) {
  const int s = established();
  tcp().close(s);
  one_sent();
  peer_sends(ACK | PSH, peer_seq_, our_seq_ + 1, {'x'}, peer_ts());
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST | ACK)) << rst.describe();
}

}  // namespace
}  // namespace synwave::tcp::testing
