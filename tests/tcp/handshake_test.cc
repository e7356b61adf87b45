// The three-way handshake and its failures, in virtual time (behaviour.md, "Three-way handshake").
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

using HandshakeTest = TcpTest;

TEST_F(HandshakeTest, Connect_SynCarriesLinuxOptionsAndWindow) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  EXPECT_EQ(tcp().state(s), State::kSynSent);
  Sent syn = one_sent();
  EXPECT_TRUE(syn.is(SYN)) << syn.describe();
  EXPECT_EQ(syn.ack(), 0u);
  EXPECT_EQ(syn.tcp.window, 64240) << "65535 rounded down to a multiple of the MSS";
  EXPECT_EQ(syn.tcp.dst_port, 9000);
  EXPECT_GE(syn.tcp.src_port, 32768);
  EXPECT_LE(syn.tcp.src_port, 60999);
  EXPECT_EQ(syn.tcp.src_port % 2, 0) << "connect() prefers even ports, as Linux does";
  EXPECT_EQ(syn.ttl, 64);
  ASSERT_TRUE(syn.tcp.options.mss);
  EXPECT_EQ(*syn.tcp.options.mss, 1460);
  EXPECT_TRUE(syn.tcp.options.sack_permitted);
  ASSERT_TRUE(syn.tcp.options.timestamps);
  EXPECT_EQ(syn.tcp.options.timestamps->ecr, 0u);
  ASSERT_TRUE(syn.tcp.options.window_scale);
  EXPECT_EQ(*syn.tcp.options.window_scale, 7);
  // Byte for byte: mss, sackOK, TS, nop, wscale.
  const Bytes& d = syn.datagram;
  const Bytes expected_kinds = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  ASSERT_GE(d.size(), 20u + 40u);
  EXPECT_EQ(Bytes(d.begin() + 40, d.begin() + 48), expected_kinds);
  EXPECT_EQ(Bytes(d.begin() + 56, d.begin() + 60), (Bytes{1, 3, 3, 7}));
  tcp().close(s);
}

TEST_F(HandshakeTest, Connect_PeerCompletes_EstablishedAndConnectedEdge) {
  const int s = connect_to_peer();
  EXPECT_TRUE(tcp().readiness(s) & kConnected);
  EXPECT_TRUE(tcp().readiness(s) & kWritable);
  int error = -1;
  EXPECT_EQ(tcp().getsockopt(s, SockOpt::kError, &error), 0);
  EXPECT_EQ(error, 0);
  EXPECT_EQ(tcp().transitions(State::kSynSent, State::kEstablished), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kActiveOpens), 1u);
  tcp().close(s);
}

TEST_F(HandshakeTest, SynSent_NoAnswer_RetransmitsAt1_3_7_15_31_ThenEtimedoutAt63) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  const std::uint32_t isn = one_sent().seq();
  for (int second : {1, 3, 7, 15, 31}) {
    advance_to(at_ms(second * 1000 - 1));
    EXPECT_TRUE(sent().empty()) << "nothing before " << second << " s";
    advance_to(at_s(second));
    Sent again = one_sent();
    EXPECT_TRUE(again.is(SYN));
    EXPECT_EQ(again.seq(), isn) << "a retransmitted SYN keeps its ISN";
    EXPECT_EQ(again.when, at_s(second));
  }
  advance_to(at_ms(62999));
  EXPECT_EQ(tcp().state(s), State::kSynSent);
  advance_to(at_s(63));
  EXPECT_TRUE(sent().empty()) << "no sixth retransmission: tcp_syn_retries = 5";
  int error = 0;
  EXPECT_EQ(tcp().getsockopt(s, SockOpt::kError, &error), 0);
  EXPECT_EQ(error, ETIMEDOUT);
  EXPECT_EQ(tcp().state(s), State::kClosed);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAttemptFails), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kRetransmits), 5u);
  tcp().close(s);
}

TEST_F(HandshakeTest, Listen_SynWithTimestamps_SynAckMirrorsLinux) {
  listen();
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(4242), 64240);
  Sent synack = one_sent();
  EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
  EXPECT_EQ(synack.ack(), kPeerIsn + 1) << "ack = x + 1";
  EXPECT_EQ(synack.tcp.window, 65160) << "65535 rounded to 1448-byte segments (MSS less timestamps)";
  ASSERT_TRUE(synack.tcp.options.timestamps);
  EXPECT_EQ(synack.tcp.options.timestamps->ecr, 4242u) << "echoes the SYN's TSval";
  EXPECT_EQ(*synack.tcp.options.mss, 1460);
  EXPECT_EQ(*synack.tcp.options.window_scale, 7);
  EXPECT_TRUE(synack.tcp.options.sack_permitted);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 1u);
}

TEST_F(HandshakeTest, Listen_SynWithoutOptions_SynAckLeavesThemOut) {
  listen();
  wire::TcpOptions only_mss;
  only_mss.mss = 1400;
  peer_sends(SYN, kPeerIsn, 0, {}, only_mss);
  Sent synack = one_sent();
  EXPECT_EQ(*synack.tcp.options.mss, 1460);
  EXPECT_FALSE(synack.tcp.options.timestamps);
  EXPECT_FALSE(synack.tcp.options.window_scale);
  EXPECT_FALSE(synack.tcp.options.sack_permitted);
  EXPECT_EQ(synack.tcp.window, 65535 / 1460 * 1460);
}

TEST_F(HandshakeTest, Listen_SackAndWscaleWithoutTimestamps_LinuxNopLayout) {
  listen();
  wire::TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.window_scale = 7;
  peer_sends(SYN, kPeerIsn, 0, {}, o);
  Sent synack = one_sent();
  // <mss 1460, nop, nop, sackOK, nop, wscale 7>
  const Bytes& d = synack.datagram;
  ASSERT_EQ(d.size(), 20u + 20u + 12u);
  EXPECT_EQ(Bytes(d.begin() + 40, d.end()), (Bytes{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}));
}

TEST_F(HandshakeTest, ThirdAck_MovesToEstablishedAndAcceptQueue) {
  const int l = listen();
  EXPECT_EQ(tcp().accept(l), -EAGAIN);
  const int s = accept_from_peer(l);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(tcp().remote_endpoint(s)->port, kPeerPort);
  EXPECT_EQ(tcp().local_endpoint(s)->addr, kLocalIp);
  EXPECT_EQ(tcp().stats().get(TcpStat::kPassiveOpens), 1u);
  EXPECT_EQ(tcp().accept(l), -EAGAIN);
}

TEST_F(HandshakeTest, SynAckLost_ServerRetransmitsAt1_3_7_15_31_AndDropsEntryAt63) {
  listen();
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options());
  const std::uint32_t isn = one_sent().seq();
  for (int second : {1, 3, 7, 15, 31}) {
    advance_to(at_s(second));
    Sent again = one_sent();
    EXPECT_TRUE(again.is(SYN | ACK));
    EXPECT_EQ(again.seq(), isn);
    EXPECT_EQ(again.ack(), kPeerIsn + 1);
    EXPECT_EQ(again.when, at_s(second));
  }
  advance_to(at_s(63));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 0u) << "half-open entry dropped";
  // The client's late ACK now meets no entry: RST.
  peer_sends(ACK, kPeerIsn + 1, isn + 1);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST)) << rst.describe();
  EXPECT_EQ(rst.seq(), isn + 1);
}

TEST_F(HandshakeTest, SynAckLost_ClientSynRetransmission_AnsweredWithSameSynAck) {
  listen();
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options());
  const std::uint32_t isn = one_sent().seq();
  // The SYN-ACK was lost; the client's own timer resends the SYN at 1 s, before ours fires.
  advance_to(at_ms(999));
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options());
  Sent synack = one_sent();
  EXPECT_TRUE(synack.is(SYN | ACK));
  EXPECT_EQ(synack.seq(), isn);
  EXPECT_EQ(synack.ack(), kPeerIsn + 1);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kSynReceived)], 1u) << "still one entry";
}

TEST_F(HandshakeTest, ThirdAckLost_DataSegmentCompletesHandshake) {
  const int l = listen();
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options());
  const std::uint32_t isn = one_sent().seq();
  // The ACK is lost; the client, ESTABLISHED, sends data carrying the same acknowledgment.
  peer_sends(ACK | PSH, kPeerIsn + 1, isn + 1, {'h', 'i'}, peer_ts(), 502);
  Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK));
  EXPECT_EQ(ack.ack(), kPeerIsn + 3);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  std::uint8_t buf[8];
  EXPECT_EQ(tcp().recv(s, buf), 2);
  EXPECT_EQ(buf[0], 'h');
}

TEST_F(HandshakeTest, ClosedPort_SynAnsweredWithRstAckSeq0AckXPlus1Window0) {
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort, 9999);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST | ACK)) << rst.describe();
  EXPECT_EQ(rst.seq(), 0u);
  EXPECT_EQ(rst.ack(), kPeerIsn + 1);
  EXPECT_EQ(rst.tcp.window, 0);
  EXPECT_EQ(rst.tcp.src_port, 9999);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kNoSocket), 1u);
}

TEST_F(HandshakeTest, ClosedPort_AckAnsweredWithRstSeqEqualsAck) {
  peer_sends(ACK, 5000, 777777, {}, {}, 100, kPeerPort, 9999);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST));
  EXPECT_EQ(rst.seq(), 777777u);
}

TEST_F(HandshakeTest, RstNeverAnswered) {
  peer_sends(RST, 5000, 0, {}, {}, 0, kPeerPort, 9999);
  EXPECT_TRUE(sent().empty());
}

TEST_F(HandshakeTest, Connect_RstAck_Econnrefused) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  peer_sends(RST | ACK, 0, syn.seq() + 1, {}, {}, 0, 9000, syn.tcp.src_port);
  EXPECT_EQ(tcp().state(s), State::kClosed);
  EXPECT_TRUE(tcp().readiness(s) & kError);
  int error = 0;
  tcp().getsockopt(s, SockOpt::kError, &error);
  EXPECT_EQ(error, ECONNREFUSED);
  EXPECT_TRUE(sent().empty());
  tcp().close(s);
}

TEST_F(HandshakeTest, SynSent_RstWithoutAck_Ignored) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  peer_sends(RST, 0, 0, {}, {}, 0, 9000, syn.tcp.src_port);
  EXPECT_EQ(tcp().state(s), State::kSynSent);
  tcp().close(s);
}

TEST_F(HandshakeTest, SynSent_AckOfWrongSeq_AnsweredWithRst) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  peer_sends(SYN | ACK, kPeerIsn, syn.seq() + 7, {}, {}, 100, 9000, syn.tcp.src_port);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST));
  EXPECT_EQ(rst.seq(), syn.seq() + 7);
  EXPECT_EQ(tcp().state(s), State::kSynSent);
  tcp().close(s);
}

TEST_F(HandshakeTest, SimultaneousOpen_SynReceivedThenEstablished) {
  const int s = tcp().socket();
  ASSERT_EQ(tcp().bind(s, {Ipv4Addr{0}, 7000}), 0);
  ASSERT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
  Sent syn = one_sent();
  // The peer's SYN crosses ours.
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, 9000, 7000);
  EXPECT_EQ(tcp().state(s), State::kSynReceived);
  Sent synack = one_sent();
  EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
  EXPECT_EQ(synack.seq(), syn.seq()) << "the same ISS";
  EXPECT_EQ(synack.ack(), kPeerIsn + 1);
  // The peer, also in SYN_RCVD, answers with its SYN-ACK.
  peer_sends(SYN | ACK, kPeerIsn, syn.seq() + 1, {}, linux_syn_options(), 64240, 9000, 7000);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_TRUE(tcp().readiness(s) & kConnected);
  EXPECT_EQ(tcp().transitions(State::kSynSent, State::kSynReceived), 1u);
  EXPECT_EQ(tcp().transitions(State::kSynReceived, State::kEstablished), 1u);
  sent();
  tcp().close(s);
  sent();
}

TEST_F(HandshakeTest, IsnDiffersPerTupleAndIsDeterministicUnderTest) {
  const int a = tcp().socket();
  const int b = tcp().socket();
  ASSERT_EQ(tcp().connect(a, {kPeerIp, 9000}), -EINPROGRESS);
  ASSERT_EQ(tcp().connect(b, {kPeerIp, 9001}), -EINPROGRESS);
  auto syns = sent();
  ASSERT_EQ(syns.size(), 2u);
  EXPECT_NE(syns[0].seq(), syns[1].seq());
  EXPECT_NE(syns[0].tcp.src_port, syns[1].tcp.src_port);
  tcp().close(a);
  tcp().close(b);
}

}  // namespace
}  // namespace synwave::tcp::testing
