// Listeners, backlogs and ports: accept-queue overflow (seed 004), tcp_abort_on_overflow,
// SO_REUSEADDR across TIME_WAIT, bind rules, ephemeral ports and TIME_WAIT recycling.
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

using ListenerTest = TcpTest;

// The third ACK of a connection from `port`; returns the server ISN it acknowledges.
struct HalfOpen {
  std::uint32_t server_isn;
};

TEST_F(ListenerTest, Backlog_AcceptQueueHoldsBacklogPlusOne) {
  const int l = listen(/*backlog=*/2);
  for (std::uint16_t i = 0; i < 3; ++i) accept_from_peer_no_accept(l, kPeerPort + i);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kEstablished)], 3u);
  // A fourth SYN meets a full queue: dropped silently, no SYN-ACK, no RST.
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 3);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().stats().get(TcpStat::kListenOverflows), 1u);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kListenDrops), 1u);
  EXPECT_GE(tcp().accept(l), 0);
  // Room again: the client's retransmitted SYN gets through.
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 3);
  EXPECT_TRUE(one_sent().is(SYN | ACK));
}

TEST_F(ListenerTest, BacklogAboveSomaxconn_Capped) {
  Sysctl s;
  s.somaxconn = 1;
  // (the fixture's sysctl is the default; check the rule through a stack of its own)
  StackHarness small(kLocalIp, s, wheel_, "tcp_somaxconn");
  const int l = small->socket();
  ASSERT_EQ(small->bind(l, {Ipv4Addr{0}, kPort}), 0);
  ASSERT_EQ(small->listen(l, 1000), 0);
  ConnectionSummary summary;
  int backlog = -1;
  small->for_each_published([&](const ConnectionSummary& c) {
    if (c.state == State::kListen) {
      summary = c;
      backlog = static_cast<int>(c.send_queue);
    }
  });
  EXPECT_EQ(backlog, 1) << "ss shows the effective backlog in Send-Q";
  small->close(l);
}

TEST_F(ListenerTest, ThirdAckWhileAcceptQueueFull_DroppedSynAckRetransmittedThenDataMeetsRst) {
  const int l = listen(/*backlog=*/0);  // room for exactly one connection
  accept_from_peer_no_accept(l, kPeerPort);
  // Second client: its SYN arrives while the queue is full -> dropped. Let the first one be
  // accepted... no: keep the queue full, and admit the SYN by making room only for the SYN.
  // Linux admits SYNs while the queue is not full, so fill the queue after the SYN-ACK:
  ASSERT_GE(tcp().accept(l), 0);
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 1);
  const std::uint32_t isn = one_sent().seq();
  accept_from_peer_no_accept(l, kPeerPort + 2);  // fills the queue
  // The second client's third ACK: the queue is full, Linux drops it.
  peer_sends(ACK, kPeerIsn + 1, isn + 1, {}, peer_ts(), 502, kPeerPort + 1);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().drops().get(TcpDrop::kFullAcceptQueue), 1u);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 1u) << "still half-open";
  // The SYN-ACK keeps being retransmitted: 1, 3, 7, 15, 31 s.
  for (int second : {1, 3, 7, 15, 31}) {
    advance_to(at_s(second));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u) << second;
    EXPECT_TRUE(out[0].is(SYN | ACK));
    EXPECT_EQ(out[0].tcp.dst_port, kPeerPort + 1);
  }
  advance_to(at_s(63));
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 0u) << "finally discarded";
  // The client believes it is ESTABLISHED and sends data: RST.
  peer_sends(ACK | PSH, kPeerIsn + 1, isn + 1, {'G', 'E', 'T'}, peer_ts(), 502, kPeerPort + 1);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST)) << rst.describe();
  EXPECT_EQ(rst.seq(), isn + 1);
}

TEST_F(ListenerTest, ThirdAckWhileFull_RoomLater_RetransmittedSynAckCompletesIt) {
  const int l = listen(/*backlog=*/0);
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 1);
  const std::uint32_t isn = one_sent().seq();
  accept_from_peer_no_accept(l, kPeerPort);
  peer_sends(ACK, kPeerIsn + 1, isn + 1, {}, peer_ts(), 502, kPeerPort + 1);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kFullAcceptQueue), 1u);
  ASSERT_GE(tcp().accept(l), 0);  // room now
  advance_to(at_s(1));
  EXPECT_TRUE(one_sent().is(SYN | ACK));
  // The client answers the duplicate SYN-ACK with its ACK again.
  peer_sends(ACK, kPeerIsn + 1, isn + 1, {}, peer_ts(), 502, kPeerPort + 1);
  EXPECT_GE(tcp().accept(l), 0);
}

class AbortOnOverflowTest : public TcpTest {
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_abort_on_overflow = true;
    return s;
  }
};

TEST_F(AbortOnOverflowTest, ThirdAckWhileFull_AnsweredWithRst) {
  const int l = listen(/*backlog=*/0);
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 1);
  const std::uint32_t isn = one_sent().seq();
  accept_from_peer_no_accept(l, kPeerPort);
  peer_sends(ACK, kPeerIsn + 1, isn + 1, {}, peer_ts(), 502, kPeerPort + 1);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST));
  EXPECT_EQ(rst.seq(), isn + 1);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 0u);
}

TEST_F(ListenerTest, Bind_SamePortTwice_Eaddrinuse) {
  const int a = tcp().socket();
  const int b = tcp().socket();
  ASSERT_EQ(tcp().bind(a, {Ipv4Addr{0}, 5000}), 0);
  EXPECT_EQ(tcp().bind(b, {Ipv4Addr{0}, 5000}), -EADDRINUSE);
  EXPECT_EQ(tcp().bind(b, {*parse_ipv4("198.18.9.9"), 5001}), -EADDRNOTAVAIL);
  tcp().close(a);
  EXPECT_EQ(tcp().bind(b, {Ipv4Addr{0}, 5000}), 0) << "free again once closed";
  tcp().close(b);
}

TEST_F(ListenerTest, BindPortZero_PicksOddEphemeralPort) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().bind(s, {Ipv4Addr{0}, 0}), 0);
  const auto local = tcp().local_endpoint(s);
  EXPECT_GE(local->port, 32768);
  EXPECT_LE(local->port, 60999);
  EXPECT_EQ(local->port % 2, 1);
  tcp().close(s);
}

// Seed 003's restart story: a server with connections in TIME_WAIT restarts on its port.
class ReuseAddrTest : public TcpTest {
 protected:
  void leave_time_wait(bool reuse) {
    const int l = listen(128, reuse);
    const int s = accept_from_peer(l);
    tcp().close(s);  // active close by the server
    one_sent();
    peer_sends(FIN | ACK, kPeerIsn + 1, server_isn_ + 2, {}, peer_ts());
    one_sent();
    ASSERT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u);
    tcp().close(l);  // the server process "exits"
  }
};

TEST_F(ReuseAddrTest, RestartWithSoReuseAddr_BindsDespiteTimeWait) {
  leave_time_wait(/*reuse=*/true);
  const int again = tcp().socket();
  ASSERT_EQ(tcp().setsockopt(again, SockOpt::kReuseAddr, 1), 0);
  EXPECT_EQ(tcp().bind(again, {Ipv4Addr{0}, kPort}), 0);
  EXPECT_EQ(tcp().listen(again, 128), 0);
  tcp().close(again);
}

TEST_F(ReuseAddrTest, RestartWithoutSoReuseAddr_Eaddrinuse) {
  leave_time_wait(/*reuse=*/false);
  const int again = tcp().socket();
  EXPECT_EQ(tcp().bind(again, {Ipv4Addr{0}, kPort}), -EADDRINUSE);
  advance_to(at_s(60));
  EXPECT_EQ(tcp().bind(again, {Ipv4Addr{0}, kPort}), 0) << "free once TIME_WAIT is over";
  tcp().close(again);
}

TEST_F(ReuseAddrTest, TimeWait_NewSynWithHigherSeq_RecycledWithIsnAboveOld) {
  const int l = listen(128, true);
  const int s = accept_from_peer(l);
  tcp().close(s);
  one_sent();
  peer_sends(FIN | ACK, kPeerIsn + 1, server_isn_ + 2, {}, peer_ts());
  one_sent();
  // The same client port connects again, with a higher sequence number (RFC 6191).
  peer_sends(SYN, kPeerIsn + 100000, 0, {}, linux_syn_options(500));
  Sent synack = one_sent();
  EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
  EXPECT_EQ(synack.ack(), kPeerIsn + 100001);
  EXPECT_EQ(synack.seq(), server_isn_ + 2 + 65535 + 2) << "ISN = old snd_nxt + 65535 + 2 (Linux)";
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeWaitRecycled), 1u);
}

TEST_F(ReuseAddrTest, TimeWait_OldSyn_AnsweredWithAck) {
  const int l = listen(128, true);
  const int s = accept_from_peer(l);
  tcp().close(s);
  one_sent();
  peer_sends(FIN | ACK, kPeerIsn + 1, server_isn_ + 2, {}, peer_ts());
  one_sent();
  wire::TcpOptions old_ts = linux_syn_options(50);
  peer_sends(SYN, kPeerIsn - 10, 0, {}, old_ts);
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK)) << ack.describe();
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kTimeWait)], 1u);
}

TEST_F(ListenerTest, ConnectWithoutBind_DistinctEphemeralPortsPerConnection) {
  std::set<std::uint16_t> ports;
  std::vector<int> sockets;
  for (int i = 0; i < 50; ++i) {
    const int s = tcp().socket();
    ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
    sockets.push_back(s);
  }
  for (const Sent& syn : sent()) ports.insert(syn.tcp.src_port);
  EXPECT_EQ(ports.size(), 50u);
  for (int s : sockets) tcp().close(s);
}

TEST_F(ListenerTest, ConnectFromBoundPort_UsesIt) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().bind(s, {Ipv4Addr{0}, 6000}), 0);
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  EXPECT_EQ(one_sent().tcp.src_port, 6000);
  EXPECT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EALREADY);
  tcp().close(s);
}

TEST_F(ListenerTest, BadCalls_LinuxErrnos) {
  EXPECT_EQ(tcp().listen(12345, 1), -EBADF);
  const int s = tcp().socket();
  std::uint8_t buf[4];
  EXPECT_EQ(tcp().recv(s, buf), -ENOTCONN);
  EXPECT_EQ(tcp().send(s, Bytes{1}), -ENOTCONN);
  EXPECT_EQ(tcp().shutdown(s, Shutdown::kWrite), -ENOTCONN);
  EXPECT_EQ(tcp().accept(s), -EINVAL);
  EXPECT_EQ(tcp().close(s), 0);
  EXPECT_EQ(tcp().close(s), -EBADF) << "a closed id is gone";
}

}  // namespace
}  // namespace synwave::tcp::testing
