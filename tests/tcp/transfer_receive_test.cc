// The receive side of reliable transfer in virtual time: in-order delivery, Linux's quick-ACK mode
// and delayed ACK, the out-of-order queue with SACK and D-SACK blocks (RFC 2018, RFC 2883), FIN
// beyond a hole, trimming to the window we announced, zero windows and window updates with
// receiver-side silly-window avoidance, window scaling, PAWS and TS.Recent (RFC 7323), sequence
// numbers wrapping at 2^32, the out-of-order queue's bound, and a seeded randomized stream.
//
// The peer is the test. Where a number is Linux's rather than an RFC's, the comment says so.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "transfer_fixture.h"

namespace synwave::tcp::testing {
namespace {

using Blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

class ReceiveTest : public TransferTest {
 protected:
  static constexpr std::uint32_t kP = kPeerIsn + 1;  // the peer's first data byte
  static constexpr std::uint32_t kFull = 1448;       // a full segment: MSS 1460 less timestamps

  // The bytes of the test stream from `offset` on.
  static Bytes pattern(std::size_t offset, std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t x = offset + i;
      b[i] = static_cast<std::uint8_t>(x * 7 + (x >> 8) + (x >> 16));
    }
    return b;
  }

  // The peer sends `n` bytes of the stream at stream offset `off` (sequence kP + off), with a
  // fresh TSval unless one is given.
  void data(std::uint32_t off, std::uint32_t n, std::uint8_t flags = ACK, std::optional<std::uint32_t> tsval = {}) {
    send_at(kP + off, pattern(off, n), flags, tsval);
  }
  void send_at(std::uint32_t seq, const Bytes& payload, std::uint8_t flags = ACK,
               std::optional<std::uint32_t> tsval = {}, std::uint16_t port = kPeerPort) {
    wire::TcpOptions o;
    o.timestamps = wire::TcpTimestamps{tsval ? *tsval : ++tsval_, 0};
    peer_sends(flags, seq, server_isn_ + 1, payload, o, 1024, port);
  }

  static Blocks sacks(const Sent& s) {
    Blocks b;
    for (const auto& x : s.tcp.options.sacks()) b.emplace_back(x.left, x.right);
    return b;
  }

  // Expects one pure ACK for `ack` with `blocks`, sent now; returns it.
  Sent expect_ack(std::uint32_t ack, const Blocks& blocks = {}) {
    Sent a = one_sent();
    EXPECT_TRUE(a.is(ACK)) << a.describe();
    EXPECT_EQ(a.ack(), ack) << a.describe();
    EXPECT_TRUE(a.payload.empty());
    EXPECT_EQ(sacks(a), blocks) << a.describe();
    EXPECT_EQ(a.when, wheel_.now());
    return a;
  }

  Bytes read_all(int s) {
    Bytes out;
    Bytes buf(65536);
    for (;;) {
      const long n = tcp().recv(s, buf);
      if (n <= 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + n);
    }
    return out;
  }

  // A passive open from `port` whose peer starts at `isn` (accept_from_peer with a chosen ISN).
  int open_with_isn(int listener, std::uint32_t isn, std::uint16_t port = kPeerPort) {
    peer_sends(SYN, isn, 0, {}, linux_syn_options(), 64240, port);
    Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    EXPECT_EQ(synack.ack(), isn + 1);
    EXPECT_EQ(synack.tcp.window, 65160) << "65535 rounded down to 1448-byte segments";
    server_isn_ = synack.seq();
    wire::TcpOptions ts;
    ts.timestamps = wire::TcpTimestamps{101, synack.tcp.options.timestamps->val};
    peer_sends(ACK, isn + 1, server_isn_ + 1, {}, ts, 502, port);
    EXPECT_TRUE(sent().empty());
    return tcp().accept(listener);
  }

  // Sixteen full segments in order: Linux's quick-ACK mode is over afterwards (see
  // QuickAckThenDelayedAck). Returns the stream offset reached. The data is read.
  std::uint32_t leave_quickack_mode(int s) {
    for (std::uint32_t i = 0; i < 16; ++i) {
      data(i * kFull, kFull);
      expect_ack(kP + (i + 1) * kFull);
    }
    EXPECT_EQ(read_all(s), pattern(0, 16 * kFull));
    sent();  // a window update, if any
    return 16 * kFull;
  }

  std::uint32_t tsval_ = 1000;  // the peer's timestamp clock
};

// --- in-order data, quick ACKs, delayed ACKs ------------------------------------------------------

TEST_F(ReceiveTest, Established_InOrderData_QuickAcksThenOneAckPerTwoSegments) {
  const int s = open_passive();
  // Linux tcp_incr_quickack on the first data: rcv_wnd / (2 * rcv_mss) = 65160 / 2896 = 22 quick
  // ACKs, capped at TCP_MAX_QUICKACKS = 16. Each of the first 16 segments is ACKed at once.
  for (std::uint32_t i = 0; i < 16; ++i) {
    data(i * kFull, kFull);
    const Sent a = expect_ack(kP + (i + 1) * kFull);
    if (i == 0) {
      // The right edge jumps to the whole buffer: (131072 - 1448) >> 7 = 1012.
      EXPECT_EQ(a.tcp.window, 1012);
    } else {
      // The edge stays (the free space grows by less than an MSS past it): it never moves left,
      // and the field shows what is left of it, rounded down to the scale.
      const std::uint32_t edge = kP + kFull + 1012 * 128;
      EXPECT_EQ(a.tcp.window, (edge - a.ack()) >> 7) << i;
    }
    ASSERT_TRUE(a.tcp.options.timestamps);
    EXPECT_EQ(a.tcp.options.timestamps->ecr, tsval_) << "RFC 7323: the segment's TSval echoed";
  }
  // Quick-ACK mode over: one segment waits for the delayed-ACK timer, 40 ms (Linux TCP_DELACK_MIN).
  data(16 * kFull, kFull);
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(39));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(40));
  expect_ack(kP + 17 * kFull);
  EXPECT_EQ(tcp().stats().get(TcpStat::kDelayedAcks), 1u);
  // Two full segments: ACKed at once, on the second (Linux __tcp_ack_snd_check: more than one
  // rcv_mss unacknowledged).
  advance_to(at_ms(50));
  data(17 * kFull, kFull);
  EXPECT_TRUE(sent().empty());
  data(18 * kFull, kFull);
  expect_ack(kP + 19 * kFull);
  advance_to(at_ms(100));
  EXPECT_TRUE(sent().empty()) << "the timer was cancelled by the ACK";
  EXPECT_EQ(tcp().stats().get(TcpStat::kDelayedAcks), 1u);
  EXPECT_EQ(read_all(s), pattern(0, 19 * kFull));
  EXPECT_EQ(tcp().stats().get(TcpStat::kBytesIn), 19u * kFull);
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_OurDataCarriesTheAck_DelayedAckTimerCancelled) {
  const int s = open_passive();
  const std::uint32_t off = leave_quickack_mode(s);
  advance_to(at_ms(100));
  data(off, 100);
  EXPECT_TRUE(sent().empty()) << "delayed";
  advance_to(at_ms(120));
  ASSERT_EQ(tcp().send(s, Bytes{'o', 'k'}), 2);
  Sent reply = one_sent();
  EXPECT_TRUE(reply.is(ACK | PSH) || reply.is(ACK)) << reply.describe();
  EXPECT_EQ(reply.payload, (Bytes{'o', 'k'}));
  EXPECT_EQ(reply.ack(), kP + off + 100) << "piggy-backed";
  EXPECT_EQ(reply.when, at_ms(120));
  // The peer ACKs our data before our retransmission timer; nothing more is sent, no delayed ACK.
  advance_to(at_ms(125));
  send_at(kP + off + 100, {}, ACK);
  advance_to(at_ms(200));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().stats().get(TcpStat::kDelayedAcks), 0u);
  EXPECT_EQ(read_all(s), pattern(off, 100));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_AfterHandshake_WindowIsFreeSpaceScaledBy7) {
  const int s = open_passive();
  data(0, 1000);
  // The peer offered wscale 7 and we answered 7 (Linux with the default 128 KiB buffer):
  // (131072 - 1000) >> 7 = 1016.
  EXPECT_EQ(expect_ack(kP + 1000).tcp.window, 1016);
  EXPECT_EQ(read_all(s).size(), 1000u);
  tcp().close(s);
  sent();
}

// --- loss, reordering, duplication -----------------------------------------------------------

TEST_F(ReceiveTest, Established_FirstSegmentLost_SackedThenDeliveredInOrder) {
  const int s = open_passive();
  for (std::uint32_t i = 1; i < 5; ++i) {
    data(i * 1000, 1000);
    expect_ack(kP, {{kP + 1000, kP + (i + 1) * 1000}});  // a duplicate ACK, at once
  }
  std::uint8_t one[1];
  EXPECT_EQ(tcp().recv(s, one), -EAGAIN) << "nothing in order yet";
  EXPECT_EQ(tcp().stats().get(TcpStat::kOfoQueued), 4u);
  data(0, 1000);  // the retransmission fills the hole: everything ACKed at once, no SACK left
  expect_ack(kP + 5000);
  EXPECT_EQ(read_all(s), pattern(0, 5000));
  EXPECT_EQ(tcp().stats().get(TcpStat::kBytesIn), 5000u);
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_MiddleSegmentLost_DuplicateAcksWithSackThenCumulativeAck) {
  const int s = open_passive();
  data(0, 1000);
  expect_ack(kP + 1000);
  data(1000, 1000);
  expect_ack(kP + 2000);
  data(3000, 1000);
  expect_ack(kP + 2000, {{kP + 3000, kP + 4000}});
  data(4000, 1000);
  expect_ack(kP + 2000, {{kP + 3000, kP + 5000}});
  data(2000, 1000);
  expect_ack(kP + 5000);
  EXPECT_EQ(read_all(s), pattern(0, 5000));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_LastSegmentLost_RetransmissionAckedAtOnce) {
  const int s = open_passive();
  for (std::uint32_t i = 0; i < 4; ++i) {
    data(i * 1000, 1000);
    expect_ack(kP + (i + 1) * 1000);
  }
  // The fifth was lost: the receiver cannot tell; the peer's RTO (or tail loss probe) resends it.
  advance_to(at_ms(300));
  EXPECT_TRUE(sent().empty());
  data(4000, 1000);
  expect_ack(kP + 5000);
  EXPECT_EQ(read_all(s), pattern(0, 5000));
  EXPECT_EQ(tcp().drops().get(TcpDrop::kDuplicateData), 0u);
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_SegmentsPermuted_EachAnsweredWithSackAndDeliveredInOrder) {
  const int s = open_passive();
  data(2000, 1000);  // segment 3
  expect_ack(kP, {{kP + 2000, kP + 3000}});
  data(0, 1000);  // segment 1: in order, but a hole remains: ACK at once, SACK still shown
  expect_ack(kP + 1000, {{kP + 2000, kP + 3000}});
  data(3000, 1000);  // segment 4 joins 3
  expect_ack(kP + 1000, {{kP + 2000, kP + 4000}});
  data(1000, 1000);  // segment 2 fills the hole
  expect_ack(kP + 4000);
  data(4000, 1000);
  expect_ack(kP + 5000);
  EXPECT_EQ(read_all(s), pattern(0, 5000));
  EXPECT_EQ(tcp().stats().get(TcpStat::kOfoQueued), 2u);
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_SeveralHoles_ThreeSackBlocksMostRecentFirst) {
  const int s = open_passive();
  // Segments 2, 4, 6, 8 of ten 1000-byte segments (segment k is [kP + (k-1)*1000, kP + k*1000)).
  auto seg = [](std::uint32_t k) { return std::pair{kP + (k - 1) * 1000, kP + k * 1000}; };
  data(1000, 1000);
  expect_ack(kP, {seg(2)});
  data(3000, 1000);
  expect_ack(kP, {seg(4), seg(2)});
  data(5000, 1000);
  expect_ack(kP, {seg(6), seg(4), seg(2)});
  data(7000, 1000);
  // Timestamps leave room for three blocks (RFC 2018: 40 - 12 bytes): the oldest is left out.
  expect_ack(kP, {seg(8), seg(6), seg(4)});
  data(4000, 1000);  // segment 5 joins 4 and 6: that block first, then 8, then 2
  expect_ack(kP, {{seg(4).first, seg(6).second}, seg(8), seg(2)});
  data(0, 1000);  // segment 1: ACK moves to the end of 2
  expect_ack(kP + 2000, {{seg(4).first, seg(6).second}, seg(8)});
  data(2000, 1000);  // segment 3
  expect_ack(kP + 6000, {seg(8)});
  data(6000, 1000);  // segment 7
  expect_ack(kP + 8000);
  data(8000, 1000);
  expect_ack(kP + 9000);
  data(9000, 1000);
  expect_ack(kP + 10000);
  EXPECT_EQ(read_all(s), pattern(0, 10000));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_DuplicatesAndOverlaps_DsackFirstAndNothingDeliveredTwice) {
  const int s = open_passive();
  data(0, 1000);
  expect_ack(kP + 1000);
  // A duplicate of held out-of-order data: the D-SACK block, then the SACK block holding it
  // (RFC 2883 4.1.2).
  data(2000, 1000);
  expect_ack(kP + 1000, {{kP + 2000, kP + 3000}});
  data(2000, 1000);
  expect_ack(kP + 1000, {{kP + 2000, kP + 3000}, {kP + 2000, kP + 3000}});
  EXPECT_EQ(tcp().drops().get(TcpDrop::kDuplicateData), 1u);
  // The D-SACK is reported once.
  data(4000, 500);
  expect_ack(kP + 1000, {{kP + 4000, kP + 4500}, {kP + 2000, kP + 3000}});
  // Partial overlap with delivered data: the old part is trimmed and reported as D-SACK (Linux
  // tcp_data_queue, "partial packet"), the new part fills the hole.
  data(500, 1500);
  expect_ack(kP + 3000, {{kP + 500, kP + 1000}, {kP + 4000, kP + 4500}});
  // Overlapping delivered data at the front and held data inside: only the new bytes are taken.
  data(2900, 1700);
  expect_ack(kP + 4600, {{kP + 2900, kP + 3000}});
  EXPECT_EQ(tcp().stats().get(TcpStat::kDsacksSent), 3u);
  EXPECT_EQ(read_all(s), pattern(0, 4600));
  EXPECT_EQ(tcp().stats().get(TcpStat::kBytesIn), 4600u);
  tcp().close(s);
  sent();
}

// A segment wholly below RCV.NXT (a spurious retransmission) fails the acceptability test; Linux
// (tcp_validate_incoming -> tcp_send_dupack) still answers it with a D-SACK for it.
TEST_F(ReceiveTest, Established_ExactDuplicateOfDeliveredData_AnsweredWithDsack) {
  const int s = open_passive();
  data(0, 1000);
  expect_ack(kP + 1000);
  data(0, 1000);
  expect_ack(kP + 1000, {{kP, kP + 1000}});  // RFC 2883 4.1.1
  EXPECT_EQ(tcp().drops().get(TcpDrop::kDuplicateData), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kDsacksSent), 1u);
  // The same after the FIN: data and FIN again.
  data(1000, 1000, ACK | FIN);
  expect_ack(kP + 2001);
  data(1000, 1000, ACK | FIN);
  expect_ack(kP + 2001, {{kP + 1000, kP + 2000}});
  EXPECT_EQ(read_all(s), pattern(0, 2000));
  tcp().close(s);
  sent();
}

// --- FIN beyond a hole -----------------------------------------------------------------------

TEST_F(ReceiveTest, Established_FinBeyondHole_CloseWaitOnlyWhenHoleFills) {
  const int s = open_passive();
  data(1000, 1000, ACK | FIN);
  expect_ack(kP, {{kP + 1000, kP + 2000}});
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_FALSE(tcp().readiness(s) & kPeerClosed);
  std::uint8_t one[1];
  EXPECT_EQ(tcp().recv(s, one), -EAGAIN);
  data(0, 1000);
  expect_ack(kP + 2001);  // data and the FIN, one ACK
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_EQ(read_all(s), pattern(0, 2000));
  EXPECT_EQ(tcp().recv(s, one), 0) << "end of stream";
  tcp().close(s);
  Sent fin = one_sent();
  EXPECT_TRUE(fin.is(FIN | ACK)) << fin.describe();
  EXPECT_EQ(tcp().state(s), std::nullopt);
}

TEST_F(ReceiveTest, Established_BareFinBeyondHole_CloseWaitWhenHoleFills) {
  const int s = open_passive();
  send_at(kP + 1000, {}, ACK | FIN);
  expect_ack(kP);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  data(0, 1000);
  expect_ack(kP + 1001);
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_EQ(read_all(s), pattern(0, 1000));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_FinBeyondHole_RetransmissionCoveringAllWithFin_OneAck) {
  const int s = open_passive();
  data(900, 1000, ACK | FIN);
  expect_ack(kP, {{kP + 900, kP + 1900}});
  // The peer's timeout resends everything, collapsed into one segment with the FIN (Linux
  // tcp_retrans_try_collapse): one ACK answers it, as Linux sends.
  data(0, 1900, ACK | FIN);
  expect_ack(kP + 1901);
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_EQ(read_all(s), pattern(0, 1900));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, CloseWait_DataAndFinRetransmitted_OneAck) {
  const int s = open_passive();
  data(0, 1000, ACK | FIN);
  expect_ack(kP + 1001);
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  // Our ACK was lost: the peer resends data and FIN. One ACK answers (the D-SACK Linux adds is
  // Established_ExactDuplicateOfDeliveredData_AnsweredWithDsack's subject).
  data(0, 1000, ACK | FIN);
  Sent a = one_sent();
  EXPECT_EQ(a.ack(), kP + 1001);
  data(0, 1000);
  a = one_sent();
  EXPECT_EQ(a.ack(), kP + 1001);
  EXPECT_EQ(read_all(s), pattern(0, 1000));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_DuplicateDataWithNewFin_OneAck) {
  const int s = open_passive();
  data(0, 1000);
  expect_ack(kP + 1000);
  // Our ACK was lost and the peer then closed: it resends the data with its FIN. One ACK answers
  // data and FIN, with the D-SACK (Linux takes the FIN from the partially old segment).
  data(0, 1000, ACK | FIN);
  expect_ack(kP + 1001, {{kP, kP + 1000}});
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_EQ(read_all(s), pattern(0, 1000));
  tcp().close(s);
  sent();
}

// --- windows ---------------------------------------------------------------------------------

TEST_F(ReceiveTest, Established_DataBeyondRightEdge_Trimmed) {
  const int s = open_passive();
  // The SYN-ACK offered 65160 bytes (unscaled): a segment straddling that edge keeps only what
  // fits, out of order (Linux TCPZeroWindowDrop-like trimming, RFC 9293 3.10.7.4).
  data(65160 - 100, 1000, ACK | FIN);
  Sent a = expect_ack(kP, {{kP + 65060, kP + 65160}});
  EXPECT_EQ(tcp().drops().get(TcpDrop::kBeyondWindow), 1u);
  // That ACK moved the edge to the free space: (131072 - 100) >> 7 = 1023 units.
  EXPECT_EQ(a.tcp.window, 1023);
  // A segment wholly beyond the new edge is unacceptable: ACKed, dropped.
  data(1023 * 128, 10);
  expect_ack(kP, {{kP + 65060, kP + 65160}});
  EXPECT_EQ(tcp().drops().get(TcpDrop::kOutOfWindow), 1u);
  // The FIN went with the trimmed tail: filling the hole does not close the connection.
  for (std::uint32_t off = 0; off < 65060; off += kFull) {
    data(off, std::min(kFull, 65060 - off));
    sent();
  }
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(read_all(s), pattern(0, 65160));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_ApplicationDoesNotRead_WindowClosesProbesAnsweredUpdateAfterRead) {
  const int s = open_passive();
  std::uint32_t off = 0;
  std::uint32_t edge = 65160;  // stream offset of the right edge the peer knows
  Sent last;
  for (int round = 0; round < 400 && off < edge; ++round) {
    // The peer fills what it is offered, the last segment overshooting by up to a segment.
    data(off, kFull);
    const std::uint32_t taken = std::min(kFull, edge - off);
    off += taken;
    auto out = sent();
    if (out.empty()) {
      advance_to(wheel_.now() + milliseconds(40));
      out = sent();
    }
    ASSERT_EQ(out.size(), 1u);
    last = out[0];
    ASSERT_EQ(last.ack(), kP + off) << "an overshoot is trimmed to the edge, the rest not taken";
    edge = std::max(edge, last.ack() - kP + (std::uint32_t{last.tcp.window} << 7));
  }
  EXPECT_EQ(last.tcp.window, 0) << "the buffer is full";
  EXPECT_EQ(tcp().drops().get(TcpDrop::kBeyondWindow), 1u);
  EXPECT_GT(off, 131072u - 128);
  EXPECT_LE(off, 131072u);
  // Zero-window probes. Linux's: an old sequence number, no data; answered with window 0.
  advance_to(wheel_.now() + milliseconds(200));
  send_at(kP + off - 1, {});
  Sent probe_ack = expect_ack(kP + off);
  EXPECT_EQ(probe_ack.tcp.window, 0);
  // A one-byte probe at RCV.NXT: not taken, answered (data is always answered) with window 0.
  advance_to(wheel_.now() + milliseconds(200));
  data(off, 1);
  EXPECT_EQ(expect_ack(kP + off).tcp.window, 0);
  // Receiver silly-window avoidance: reading less than min(buffer / 2, MSS) = 1460 bytes sends
  // no update (Linux __tcp_select_window: free space below one rcv_mss offers 0).
  Bytes buf(1000);
  ASSERT_EQ(tcp().recv(s, buf), 1000);
  EXPECT_EQ(buf, pattern(0, 1000));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().stats().get(TcpStat::kWindowUpdates), 0u);
  // A delayed ACK or probe answered now would still say 0.
  advance_to(wheel_.now() + milliseconds(600));
  send_at(kP + off - 1, {});
  EXPECT_EQ(expect_ack(kP + off).tcp.window, 0);
  // Reading more frees enough: the window update goes at once (Linux __tcp_cleanup_rbuf).
  ASSERT_EQ(tcp().recv(s, buf), 1000);
  Sent update = expect_ack(kP + off);
  const std::uint32_t free_space = 131072 - off + 2000;
  EXPECT_EQ(update.tcp.window, free_space >> 7);
  EXPECT_EQ(tcp().stats().get(TcpStat::kWindowUpdates), 1u);
  Bytes rest = read_all(s);
  EXPECT_EQ(rest, pattern(2000, off - 2000));
  tcp().close(s);
  sent();
}

// --- timestamps ------------------------------------------------------------------------------

TEST_F(ReceiveTest, Established_OlderTsval_PawsDropsAndAnswersRateLimitedForPureAcks) {
  const int s = open_passive();
  data(0, 100, ACK, 5000);
  EXPECT_EQ(expect_ack(kP + 100).tcp.options.timestamps->ecr, 5000u);
  // RFC 7323 5.3: a TSval older than TS.Recent: dropped, answered with an ACK.
  data(100, 100, ACK, 4000);
  Sent a = expect_ack(kP + 100);
  EXPECT_EQ(a.tcp.options.timestamps->ecr, 5000u);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 1u);
  // A pure ACK too old: answered once per 500 ms (Linux tcp_oow_rate_limited with
  // tcp_invalid_ratelimit); data segments are always answered.
  send_at(kP + 100, {}, ACK, 4000);
  expect_ack(kP + 100);
  send_at(kP + 100, {}, ACK, 4000);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().stats().get(TcpStat::kAcksSkipped), 1u);
  data(100, 100, ACK, 4000);
  expect_ack(kP + 100);
  advance_to(at_ms(500));
  send_at(kP + 100, {}, ACK, 4000);
  expect_ack(kP + 100);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 5u);
  // Nothing of the rejected data was taken.
  EXPECT_EQ(read_all(s), pattern(0, 100));
  data(100, 100, ACK, 6000);
  EXPECT_EQ(expect_ack(kP + 200).tcp.options.timestamps->ecr, 6000u);
  EXPECT_EQ(read_all(s), pattern(100, 100));
  tcp().close(s);
  sent();
}

// Linux tcp_oow_rate_limited exempts every segment that occupies sequence space (a FIN too) unless
// it has SYN: a second PAWS-rejected FIN within 500 ms is still answered.
TEST_F(ReceiveTest, Established_PawsRejectedFin_AlwaysAnswered) {
  const int s = open_passive();
  data(0, 100, ACK, 5000);
  expect_ack(kP + 100);
  send_at(kP + 100, {}, ACK | FIN, 4000);
  expect_ack(kP + 100);
  send_at(kP + 100, {}, ACK | FIN, 4000);
  expect_ack(kP + 100);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 2u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAcksSkipped), 0u);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(read_all(s), pattern(0, 100));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_DisorderedDuplicateAck_NotRejectedByPaws) {
  const int s = open_passive();
  data(0, 100, ACK, 5000);
  expect_ack(kP + 100);
  // Linux tcp_disordered_ack: a pure duplicate ACK at RCV.NXT that changes no window, with a
  // TSval older by less than the RTO, was merely reordered: it passes PAWS (and says nothing).
  // (The first duplicate ACK moves SND.WL1 to RCV.NXT; the reordered one then updates nothing.)
  send_at(kP + 100, {}, ACK, 5000);
  EXPECT_TRUE(sent().empty());
  send_at(kP + 100, {}, ACK, 4990);  // 10 ms older, RTO 200 ms
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 0u);
  // Older by more than the RTO: rejected, answered.
  send_at(kP + 100, {}, ACK, 4700);
  expect_ack(kP + 100);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 1u);
  // Linux TCP_PAWS_WINDOW: data one tick older than TS.Recent is still taken.
  data(100, 100, ACK, 4999);
  expect_ack(kP + 200);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kPaws), 1u);
  EXPECT_EQ(read_all(s), pattern(0, 200));
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_DelayedAndOutOfOrderData_TsRecentOnlyFromLastAckSent) {
  const int s = open_passive();
  const std::uint32_t off = leave_quickack_mode(s);
  // RFC 7323 4.3: a delayed ACK echoes the earliest unacknowledged segment's TSval.
  data(off, kFull, ACK, 7000);
  EXPECT_TRUE(sent().empty());
  data(off + kFull, kFull, ACK, 7001);
  EXPECT_EQ(expect_ack(kP + off + 2 * kFull).tcp.options.timestamps->ecr, 7000u);
  // Out of order: its TSval is not taken (it starts after the last ACK sent).
  const std::uint32_t o2 = off + 2 * kFull;
  data(o2 + 100, 100, ACK, 7005);
  EXPECT_EQ(expect_ack(kP + o2, {{kP + o2 + 100, kP + o2 + 200}}).tcp.options.timestamps->ecr, 7000u)
      << "7001 was not taken either: it started after the last ACK sent (Linux: after rcv_wup)";
  data(o2, 100, ACK, 7004);
  EXPECT_EQ(expect_ack(kP + o2 + 200).tcp.options.timestamps->ecr, 7004u);
  EXPECT_EQ(read_all(s), pattern(off, 2 * kFull + 200));
  tcp().close(s);
  sent();
}

// --- sequence numbers wrapping ---------------------------------------------------------------

TEST_F(ReceiveTest, Established_PeerSequenceWrapsAt2To32_DataAndSackExact) {
  const int l = listen();
  constexpr std::uint32_t kIsn = 0xfffff000u;
  const int s = open_with_isn(l, kIsn);
  ASSERT_GE(s, 0);
  const std::uint32_t p = kIsn + 1;
  auto at = [&](std::uint32_t off, std::uint32_t n, std::uint8_t flags = ACK) {
    send_at(p + off, pattern(off, n), flags);
  };
  // 0xfffff001 + 4095 = 2^32: the third segment crosses the wrap.
  at(0, kFull);
  expect_ack(p + kFull);
  at(2 * kFull, kFull);
  expect_ack(p + kFull, {{p + 2 * kFull, p + 3 * kFull}});
  EXPECT_LT(p + 3 * kFull, p) << "the block's end wrapped";
  at(3 * kFull, kFull);
  expect_ack(p + kFull, {{p + 2 * kFull, p + 4 * kFull}});
  at(5 * kFull, kFull, ACK | FIN);
  expect_ack(p + kFull, {{p + 5 * kFull, p + 6 * kFull}, {p + 2 * kFull, p + 4 * kFull}});
  at(kFull, kFull);
  expect_ack(p + 4 * kFull, {{p + 5 * kFull, p + 6 * kFull}});
  at(4 * kFull, kFull);
  expect_ack(p + 6 * kFull + 1);
  EXPECT_EQ(tcp().state(s), State::kCloseWait);
  EXPECT_EQ(read_all(s), pattern(0, 6 * kFull));
  tcp().close(s);
  sent();
}

// --- bounds ----------------------------------------------------------------------------------

TEST_F(ReceiveTest, Established_ManyTinyOutOfOrderSegments_QueueBoundedThenAllDelivered) {
  const int s = open_passive();
  const unsigned base = rte_mempool_in_use_count(test_pool());
  // 200 one-byte segments, each beyond its own hole. The queue holds max(16, 131072 / 1024) = 128
  // segments; the rest are refused (Linux TCPOFODrop), each still answered.
  for (std::uint32_t i = 1; i <= 200; ++i) {
    data(2 * i, 1);
    Sent a = one_sent();
    EXPECT_EQ(a.ack(), kP);
    EXPECT_FALSE(sacks(a).empty());
  }
  EXPECT_EQ(tcp().stats().get(TcpStat::kOfoQueued), 128u);
  EXPECT_EQ(tcp().drops().get(TcpDrop::kOfoFull), 72u);
  EXPECT_EQ(rte_mempool_in_use_count(test_pool()), base + 128);
  // The peer resends everything in order, one byte a segment.
  for (std::uint32_t off = 0; off <= 400; ++off) {
    data(off, 1);
    sent();
  }
  advance_to(at_ms(100));
  sent();
  Bytes got = read_all(s);
  EXPECT_EQ(got, pattern(0, 401));
  EXPECT_EQ(rte_mempool_in_use_count(test_pool()), base);
  tcp().close(s);
  sent();
}

TEST_F(ReceiveTest, Established_ManyTinyInOrderSegments_CompactedIntoFewBuffers) {
  const int s = open_passive();
  const unsigned base = rte_mempool_in_use_count(test_pool());
  for (std::uint32_t off = 0; off < 5000; ++off) {
    data(off, 1);
    sent();
  }
  // 5000 bytes in one-byte segments held in about three 2 KiB buffers, not 5000.
  EXPECT_LE(rte_mempool_in_use_count(test_pool()), base + 4);
  advance_to(at_ms(100));
  sent();
  EXPECT_EQ(read_all(s), pattern(0, 5000));
  tcp().close(s);
  sent();
}

// --- a seeded randomized stream --------------------------------------------------------------

TEST_F(ReceiveTest, Established_RandomSizesReorderDuplicationOverlapLoss_StreamDeliveredExactly) {
  const int l = listen();
  constexpr std::uint32_t kTotal = 200 * 1024;
  for (std::uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto port = static_cast<std::uint16_t>(20000 + seed);
    const std::uint32_t isn = seed % 4 == 0 ? 0xffffffffu - static_cast<std::uint32_t>(rng() % 100000) : rng();
    const int s = open_with_isn(l, isn, port);
    ASSERT_GE(s, 0);
    const std::uint32_t p = isn + 1;
    Bytes stream(kTotal);
    for (auto& b : stream) b = static_cast<std::uint8_t>(rng());
    std::uint32_t ts = 1000;
    auto send_piece = [&](std::uint32_t off, std::uint32_t len) {
      const bool fin = off + len == kTotal;
      wire::TcpOptions o;
      o.timestamps = wire::TcpTimestamps{ts, 0};
      peer_sends(static_cast<std::uint8_t>(ACK | (fin ? FIN : 0)), p + off, server_isn_ + 1,
                 Bytes(stream.begin() + off, stream.begin() + off + len), o, 1024, port);
    };
    std::uint32_t acked = 0;     // stream offset cumulatively ACKed (kTotal + 1: the FIN too)
    std::uint32_t edge = 65160;  // the right edge, as a stream offset
    std::uint32_t next = 0;      // the peer's next new byte
    Bytes got;
    for (int round = 0; round < 20000 && acked != kTotal + 1; ++round) {
      struct Piece {
        std::uint32_t off, len;
      };
      std::vector<Piece> batch;
      const std::uint32_t limit = std::min(edge, kTotal);
      for (int n = static_cast<int>(rng() % 8); n > 0 && next < limit; --n) {
        const std::uint32_t len = std::min<std::uint32_t>(1 + rng() % kFull, limit - next);
        batch.push_back({next, len});
        next += len;
      }
      for (int n = static_cast<int>(rng() % 3); n > 0 && next > acked; --n) {
        // A duplicate or an overlap: anywhere the peer has sent and not seen ACKed.
        const std::uint32_t off = acked + rng() % (next - acked);
        batch.push_back({off, std::min<std::uint32_t>(1 + rng() % kFull, next - off)});
      }
      if (next > acked && acked < kTotal && rng() % 3 == 0) {
        batch.push_back({acked, std::min<std::uint32_t>(1 + rng() % kFull, next - acked)});  // the hole's head
      }
      if (batch.empty()) {
        // Nothing new may go: a window probe (one byte at the next new byte, or the FIN again).
        if (next < kTotal) batch.push_back({next, 1});
        else if (acked < kTotal + 1) batch.push_back({kTotal - 1, 1});
      }
      std::shuffle(batch.begin(), batch.end(), rng);
      for (const Piece& piece : batch) {
        if (rng() % 10 == 0) continue;  // lost
        send_piece(piece.off, piece.len);
        if (rng() % 8 == 0) send_piece(piece.off, piece.len);  // duplicated by the network
      }
      ++ts;
      auto acks = sent();
      for (const Sent& a : acks) {
        ASSERT_TRUE(a.is(ACK)) << a.describe();
        const std::uint32_t ack = a.ack() - p;
        ASSERT_LE(ack, kTotal + 1);
        acked = std::max(acked, ack);
        edge = std::max(edge, ack + (std::uint32_t{a.tcp.window} << 7));
      }
      if (rng() % 2 == 0) {
        Bytes buf(1 + rng() % 65536);
        const long n = tcp().recv(s, buf);
        if (n > 0) got.insert(got.end(), buf.begin(), buf.begin() + n);
        for (const Sent& a : sent()) edge = std::max(edge, a.ack() - p + (std::uint32_t{a.tcp.window} << 7));
      }
      advance_to(wheel_.now() + milliseconds(acks.empty() ? 41 : 1));
    }
    ASSERT_EQ(acked, kTotal + 1) << "the final ACK covers the stream and the FIN";
    Bytes rest = read_all(s);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got.size(), stream.size());
    ASSERT_TRUE(got == stream) << "the bytes delivered differ from the stream";
    EXPECT_EQ(tcp().state(s), State::kCloseWait);
    tcp().close(s);
    Sent fin = one_sent();
    ASSERT_TRUE(fin.is(FIN | ACK)) << fin.describe();
    wire::TcpOptions o;
    o.timestamps = wire::TcpTimestamps{ts, 0};
    peer_sends(ACK, p + kTotal + 1, fin.seq() + 1, {}, o, 1024, port);
    EXPECT_EQ(tcp().state(s), std::nullopt);
    EXPECT_TRUE(sent().empty());
  }
}

}  // namespace
}  // namespace synwave::tcp::testing
