// Half-open connections as compact records (syn_queue.h, syn_recv.cc), in virtual time: a SYN
// costs a record, not a control block; the records' SYN-ACK schedule runs on one timer; the
// record becomes a Tcb when the handshake completes, or when a segment needs the full state
// machine, and keeps its schedule; running out of records is a full SYN queue.
#include <gtest/gtest.h>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

// Four control blocks in all (the listener and three more), 64 half-open records.
class HalfOpenTest : public TcpTest {
 protected:
  unsigned max_sockets() const override { return 4; }
  unsigned max_half_open() const override { return 64; }

  Sent syn_from(std::uint16_t port, std::uint32_t seq = kPeerIsn) {
    peer_sends(SYN, seq, 0, {}, linux_syn_options(), 64240, port);
    Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    return synack;
  }
  void ack_synack(const Sent& synack, std::uint16_t port, std::uint8_t flags = ACK, const Bytes& data = {}) {
    wire::TcpOptions o;
    o.timestamps = wire::TcpTimestamps{101, synack.tcp.options.timestamps->val};
    peer_sends(flags, kPeerIsn + 1, synack.seq() + 1, data, o, 502, port);
  }
  std::uint64_t stat(TcpStat s) { return tcp().stats().get(s); }
  std::uint64_t drop(TcpDrop d) { return tcp().drops().get(d); }
  std::uint64_t half_open() { return tcp().state_counts()[static_cast<int>(State::kSynReceived)]; }
};

template <unsigned kMode>
class ExhaustedRecordsTest : public HalfOpenTest {
  unsigned max_half_open() const override { return 2; }
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_syncookies = kMode;
    return s;
  }
};
using ExhaustedCookiesTest = ExhaustedRecordsTest<1>;
using ExhaustedNoCookiesTest = ExhaustedRecordsTest<0>;

TEST_F(HalfOpenTest, SixtyFourSyns_FourControlBlocks_EveryOneAnsweredAndHeld) {
  listen();
  for (std::uint16_t i = 0; i < 64; ++i) syn_from(static_cast<std::uint16_t>(kPeerPort + i));
  EXPECT_EQ(half_open(), 64u);
  EXPECT_EQ(stat(TcpStat::kPassiveOpens), 64u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 0u) << "records, not cookies";
  // Not one control block went to them: the three left are still there for sockets.
  for (int i = 0; i < 3; ++i) EXPECT_GE(tcp().socket(), 0) << i;
  EXPECT_EQ(tcp().socket(), -EMFILE);
}

TEST_F(HalfOpenTest, ThirdAck_RecordBecomesConnection_AcceptedWithSynOptions) {
  const int l = listen();
  const Sent synack = syn_from(kPeerPort);
  advance_to(at_ms(20));
  ack_synack(synack, kPeerPort);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(half_open(), 0u);
  EXPECT_EQ(tcp().transitions(State::kSynReceived, State::kEstablished), 1u);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  // What the SYN negotiated lives on: window scale 7 both ways, SACK, timestamps, MSS 1460, and
  // the round trip timed from the SYN-ACK (20 ms).
  std::optional<ConnectionSummary> c;
  tcp().for_each_published([&](const ConnectionSummary& x) {
    if (x.remote.port == kPeerPort) c = x;
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(c->snd_wscale, 7);
  EXPECT_EQ(c->rcv_wscale, 7);
  EXPECT_TRUE(c->sack);
  EXPECT_TRUE(c->timestamps);
  EXPECT_EQ(c->mss, 1448u) << "1460 less the timestamp option";
  EXPECT_EQ(c->srtt_us, 20000u);
  // Data flows with the window scale: 502 << 7 bytes of window.
  const Bytes hello = {'h', 'i'};
  EXPECT_EQ(tcp().send(s, hello), 2);
  const Sent data = one_sent();
  EXPECT_EQ(data.seq(), synack.seq() + 1);
  EXPECT_EQ(data.ack(), kPeerIsn + 1);
  EXPECT_EQ(data.payload, hello);
}

TEST_F(HalfOpenTest, TwoRecordsHalfASecondApart_EachOnItsOwnSchedule_DroppedAt63) {
  listen();
  const std::uint32_t isn_a = syn_from(kPeerPort).seq();
  advance_to(at_ms(500));
  const std::uint32_t isn_b = syn_from(kPeerPort + 1).seq();
  for (int second : {1, 3, 7, 15, 31}) {
    advance_to(at_s(second));
    Sent a = one_sent();
    EXPECT_TRUE(a.is(SYN | ACK));
    EXPECT_EQ(a.seq(), isn_a);
    EXPECT_EQ(a.tcp.dst_port, kPeerPort);
    EXPECT_EQ(a.when, at_s(second));
    advance_to(at_ms(second * 1000 + 500));
    Sent b = one_sent();
    EXPECT_EQ(b.seq(), isn_b);
    EXPECT_EQ(b.tcp.dst_port, kPeerPort + 1);
    EXPECT_EQ(b.when, at_ms(second * 1000 + 500));
  }
  EXPECT_EQ(stat(TcpStat::kRetransmits), 10u);
  advance_to(at_ms(62999));
  EXPECT_EQ(half_open(), 2u);
  advance_to(at_s(63));
  EXPECT_EQ(half_open(), 1u) << "the first goes at 63 s";
  advance_to(at_ms(63500));
  EXPECT_EQ(half_open(), 0u) << "the second at 63.5 s";
  EXPECT_TRUE(sent().empty()) << "silently";
  EXPECT_EQ(stat(TcpStat::kAttemptFails), 2u);
}

TEST_F(HalfOpenTest, AckAfterRetransmission_ConnectionKeepsNoSampleAndNoMoreSynAcks) {
  const int l = listen();
  const Sent synack = syn_from(kPeerPort);
  advance_to(at_s(1));
  EXPECT_TRUE(one_sent().is(SYN | ACK));
  advance_to(at_ms(1030));
  ack_synack(synack, kPeerPort);
  ASSERT_GE(tcp().accept(l), 0);
  advance_to(at_s(70));
  EXPECT_TRUE(sent().empty()) << "the schedule ended with the record";
  std::optional<ConnectionSummary> c;
  tcp().for_each_published([&](const ConnectionSummary& x) {
    if (x.remote.port == kPeerPort) c = x;
  });
  ASSERT_TRUE(c);
  EXPECT_EQ(c->srtt_us, 0u) << "Karn: the ACK may answer either SYN-ACK";
  EXPECT_EQ(c->rto_ms, 3000u) << "RFC 6298 5.7: 3 s after a retransmitted handshake";
}

TEST_F(HalfOpenTest, DataWithTheThirdAck_Delivered) {
  const int l = listen();
  const Sent synack = syn_from(kPeerPort);
  const Bytes request = {'G', 'E', 'T'};
  ack_synack(synack, kPeerPort, ACK | PSH, request);
  const Sent ack = one_sent();  // quick-ACK of the first data
  EXPECT_EQ(ack.ack(), kPeerIsn + 1 + 3);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  Bytes got(8);
  EXPECT_EQ(tcp().recv(s, got), 3);
  got.resize(3);
  EXPECT_EQ(got, request);
}

TEST_F(HalfOpenTest, Rst_ExactRemovesRecord_OutsideWindowIgnored) {
  listen();
  const Sent a = syn_from(kPeerPort);
  const Sent b = syn_from(kPeerPort + 1);
  (void)a;
  (void)b;
  peer_sends(RST, kPeerIsn + 1 + 1000000, 0, {}, {}, 0, kPeerPort);
  EXPECT_EQ(half_open(), 2u);
  EXPECT_EQ(drop(TcpDrop::kRstOutOfWindow), 1u);
  peer_sends(RST, kPeerIsn + 1, 0, {}, {}, 0, kPeerPort);
  EXPECT_EQ(half_open(), 1u);
  EXPECT_TRUE(sent().empty());
  advance_to(at_s(1));
  const Sent again = one_sent();
  EXPECT_EQ(again.tcp.dst_port, kPeerPort + 1) << "only the other record is retransmitted";
}

TEST_F(HalfOpenTest, RstInWindowNotExact_ChallengeAck) {
  listen();
  const Sent synack = syn_from(kPeerPort);
  peer_sends(RST, kPeerIsn + 10, 0, {}, {}, 0, kPeerPort);
  const Sent challenge = one_sent();
  EXPECT_TRUE(challenge.is(ACK)) << challenge.describe();
  EXPECT_EQ(challenge.seq(), synack.seq() + 1);
  EXPECT_EQ(challenge.ack(), kPeerIsn + 1);
  EXPECT_EQ(half_open(), 1u);
  EXPECT_EQ(stat(TcpStat::kChallengeAcks), 1u);
}

TEST_F(HalfOpenTest, PromotedBeforeCompletion_KeepsTheRecordsSchedule) {
  // An in-window RST that is not exact needs the Tcb (challenge ACK, rate limit): the entry
  // becomes one, still half-open, and its next SYN-ACK goes at the record's instant.
  listen();
  const Sent synack = syn_from(kPeerPort);
  advance_to(at_s(1));
  EXPECT_TRUE(one_sent().is(SYN | ACK));
  advance_to(at_ms(1500));
  peer_sends(RST, kPeerIsn + 10, 0, {}, {}, 0, kPeerPort);
  EXPECT_TRUE(one_sent().is(ACK));
  advance_to(at_ms(2999));
  EXPECT_TRUE(sent().empty());
  advance_to(at_s(3));
  const Sent again = one_sent();
  EXPECT_TRUE(again.is(SYN | ACK));
  EXPECT_EQ(again.seq(), synack.seq());
  EXPECT_EQ(again.when, at_s(3));
  for (int second : {7, 15, 31}) {
    advance_to(at_s(second));
    EXPECT_EQ(one_sent().when, at_s(second));
  }
  advance_to(at_s(63));
  EXPECT_EQ(half_open(), 0u);
}

TEST_F(HalfOpenTest, ListenerClosed_EveryRecordResetAndFreed) {
  const int l = listen();
  std::vector<Sent> synacks;
  for (std::uint16_t i = 0; i < 3; ++i) synacks.push_back(syn_from(static_cast<std::uint16_t>(kPeerPort + i)));
  EXPECT_EQ(tcp().close(l), 0);
  const auto rsts = sent();
  ASSERT_EQ(rsts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(rsts[i].is(RST | ACK)) << rsts[i].describe();
    EXPECT_EQ(rsts[i].tcp.dst_port, kPeerPort + i);
    EXPECT_EQ(rsts[i].seq(), synacks[i].seq() + 1);
    EXPECT_EQ(rsts[i].ack(), kPeerIsn + 1);
  }
  EXPECT_EQ(half_open(), 0u);
  advance_to(at_s(5));
  EXPECT_TRUE(sent().empty()) << "no retransmission for records that are gone";
}

TEST_F(HalfOpenTest, NoControlBlockForTheThirdAck_DroppedRecordKept_RetriedLaterCompletes) {
  const int l = listen();
  int filler[3];
  for (int& f : filler) f = tcp().socket();
  const Sent synack = syn_from(kPeerPort);
  ack_synack(synack, kPeerPort);
  EXPECT_EQ(drop(TcpDrop::kNoBuffer), 1u);
  EXPECT_EQ(half_open(), 1u) << "the record waits";
  EXPECT_EQ(tcp().close(filler[0]), 0);
  ack_synack(synack, kPeerPort);  // as the client does when the SYN-ACK is retransmitted
  EXPECT_GE(tcp().accept(l), 0);
  EXPECT_EQ(half_open(), 0u);
}

// Linux's reqsk_timer_handler prunes a SYN queue more than half full: old entries lose retries.
class CrowdedQueueTest : public HalfOpenTest {
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_max_syn_backlog = 16;
    return s;
  }
};

TEST_F(CrowdedQueueTest, MoreThanHalfFull_OldEntriesPrunedAt7sUntilHalfIsFree) {
  listen();
  for (std::uint16_t i = 0; i < 16; ++i) syn_from(static_cast<std::uint16_t>(kPeerPort + i));
  advance_to(at_s(1));
  EXPECT_EQ(sent().size(), 16u) << "the first retransmission for all";
  advance_to(at_s(3));
  EXPECT_EQ(sent().size(), 16u) << "no young entries left: the limit is 2 retries, not yet reached";
  advance_to(at_ms(6999));
  EXPECT_EQ(half_open(), 16u);
  // At 7 s each entry has had its 2 retries: dropped while the queue is more than half full (9 of
  // 16 and up); from 8 on, the rest keep Linux's full schedule.
  advance_to(at_s(7));
  EXPECT_EQ(half_open(), 8u);
  EXPECT_EQ(stat(TcpStat::kAttemptFails), 8u);
  EXPECT_EQ(sent().size(), 8u) << "the other 8 retransmitted";
  advance_to(at_ms(62999));
  EXPECT_EQ(half_open(), 8u);
  advance_to(at_s(63));
  EXPECT_EQ(half_open(), 0u);
}

TEST_F(CrowdedQueueTest, HalfFull_NotCrowded_FullRetriesTo63s) {
  listen();
  for (std::uint16_t i = 0; i < 8; ++i) syn_from(static_cast<std::uint16_t>(kPeerPort + i));
  advance_to(at_s(31));
  EXPECT_EQ(sent().size(), 8u * 5);
  advance_to(at_ms(62999));
  EXPECT_EQ(half_open(), 8u) << "8 of 16 is not more than half";
  advance_to(at_s(63));
  EXPECT_EQ(half_open(), 0u);
}

TEST_F(CrowdedQueueTest, YoungEntriesKeepTheirRetries_TheOldOnesArePruned) {
  // 12 entries of a flood at 0 s, 3 newer ones at 2.5 s. At 7 s the old ones are due with 2
  // retries behind them: pruning drops old ones until the queue is half full (8), none of the
  // young, whose turn (9.5 s) comes when the queue is no longer crowded.
  listen();
  for (std::uint16_t i = 0; i < 12; ++i) syn_from(static_cast<std::uint16_t>(kPeerPort + i));
  advance_to(at_ms(2500));
  sent();
  for (std::uint16_t i = 12; i < 15; ++i) syn_from(static_cast<std::uint16_t>(kPeerPort + i));
  advance_to(at_ms(6999));
  sent();
  EXPECT_EQ(half_open(), 15u);
  advance_to(at_s(7));
  EXPECT_EQ(half_open(), 8u);
  EXPECT_EQ(sent().size(), 5u) << "5 old ones retransmitted, 7 dropped";
  advance_to(at_ms(9500));  // the young ones' third retransmission (2.5 + 1 + 2 + 4 s)
  const auto young = sent();
  ASSERT_EQ(young.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(young[i].tcp.dst_port, kPeerPort + 12 + i);
}

TEST_F(ExhaustedCookiesTest, AllRecordsTaken_NextSynGetsACookie) {
  listen();
  syn_from(kPeerPort);
  syn_from(kPeerPort + 1);
  const Sent third = syn_from(kPeerPort + 2);
  EXPECT_EQ(stat(TcpStat::kHalfOpenExhausted), 1u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 1u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 1u);
  EXPECT_EQ(half_open(), 2u);
  // The cookie completes a connection like any other.
  ack_synack(third, kPeerPort + 2);
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 1u);
  EXPECT_EQ(tcp().state_counts()[static_cast<int>(State::kEstablished)], 1u);
}

TEST_F(ExhaustedNoCookiesTest, AllRecordsTaken_NextSynDropped) {
  listen();
  syn_from(kPeerPort);
  syn_from(kPeerPort + 1);
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 2);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(stat(TcpStat::kHalfOpenExhausted), 1u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDrop), 1u);
  EXPECT_EQ(drop(TcpDrop::kListenDrops), 1u);
  EXPECT_EQ(half_open(), 2u);
}

}  // namespace
}  // namespace synwave::tcp::testing
