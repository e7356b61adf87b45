// The send side in virtual time: MSS segmentation and the initial window, Nagle (Minshall's
// variant) and TCP_NODELAY, sender silly-window avoidance, zero-window probing, the retransmission
// timer, keepalive and the send buffer. Every segment, instant and counter is asserted; Linux is
// the reference wherever a comment names a Linux function.
//
// The connection under test is the passive one of TransferTest: the handshake completes at 0 ms
// with an RTT sample of 0, so RTO = max(200 ms, SRTT + 4 * RTTVAR) = 200 ms (RFC 6298 2.2 with
// Linux's TCP_RTO_MIN), and the peer offers 502 << 7 = 64256 bytes of window.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "transfer_fixture.h"

namespace synwave::tcp::testing {
namespace {

constexpr std::uint32_t kMss = 1448;  // 1460 less 12 bytes of timestamps (Linux mss_cache)

// Distinct bytes, so a segment carrying the wrong part of the stream shows.
Bytes pattern(std::size_t n, std::size_t from = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((from + i) * 7 + (from + i) / 251);
  return b;
}

class SendTest : public TransferTest {
 protected:
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_retries2 = retries2_;
    return s;
  }

  std::uint32_t una0() const { return server_isn_ + 1; }

  // The TSval of a segment, for the peer's echo.
  static std::uint32_t tsval(const Sent& s) { return s.tcp.options.timestamps ? s.tcp.options.timestamps->val : 0; }

  ConnectionSummary summary(int s) {
    ConnectionSummary out;
    tcp().for_each_published([&](const ConnectionSummary& c) {
      if (c.socket == s) out = c;
    });
    return out;
  }

  // Expects a probe: <SEQ=SND.UNA-1><CTL=ACK>, no data (Linux tcp_xmit_probe_skb).
  void expect_probe(const Sent& p, Instant when) {
    EXPECT_TRUE(p.is(ACK)) << p.describe();
    EXPECT_EQ(p.seq(), una0() - 1) << p.describe();
    EXPECT_TRUE(p.payload.empty());
    EXPECT_EQ(p.when, when) << p.describe();
  }

  unsigned retries2_ = 15;
};

class SendRetries3Test : public SendTest {
 protected:
  SendRetries3Test() { retries2_ = 3; }
};

// --- segmentation, initial window, slow start ------------------------------------------------------

TEST_F(SendTest, Established_LargeSend_FirstFlightIsTenFullSegments) {
  const int s = open_passive();
  const Bytes data = pattern(100000);
  // The send buffer starts at two initial windows (Linux tcp_sndbuf_expand, in payload bytes).
  ASSERT_EQ(tcp().send(s, data), 2 * 10 * static_cast<long>(kMss));
  auto out = sent();
  ASSERT_EQ(out.size(), 10u) << "RFC 6928 / Linux TCP_INIT_CWND: ten segments";
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_TRUE(out[i].is(ACK)) << out[i].describe();
    EXPECT_EQ(out[i].seq(), una0() + i * kMss);
    EXPECT_EQ(out[i].ack(), kPeerIsn + 1);
    EXPECT_EQ(out[i].when, at_ms(0));
    EXPECT_EQ(out[i].payload, Bytes(data.begin() + i * kMss, data.begin() + (i + 1) * kMss));
  }
  EXPECT_EQ(summary(s).cwnd, 10u);
  // One ACK for two segments (a delayed ACK): slow start adds what it acknowledged, so two
  // segments left and four may go (Linux tcp_slow_start: cwnd += acked packets).
  advance_to(at_ms(1));
  peer_acks(una0() + 2 * kMss, 1024, tsval(out[1]));
  auto more = sent();
  ASSERT_EQ(more.size(), 4u);
  for (std::size_t i = 0; i < more.size(); ++i) {
    EXPECT_EQ(more[i].seq(), una0() + (10 + i) * kMss);
    EXPECT_EQ(more[i].payload.size(), kMss);
    EXPECT_EQ(more[i].when, at_ms(1));
  }
  EXPECT_EQ(summary(s).cwnd, 12u);
  // Every segment acknowledged one by one: +1 each, two new segments per ACK.
  advance_to(at_ms(2));
  peer_acks(una0() + 3 * kMss, 1024, tsval(out[2]));
  EXPECT_EQ(sent().size(), 2u);
  EXPECT_EQ(summary(s).cwnd, 13u);
  tcp().close(s);
  sent();
}

// Linux tcp_slow_start adds every packet an ACK acknowledges: a stretch ACK (GRO peers, lost ACKs)
// grows the window by all it covers.
TEST_F(SendTest, SlowStart_StretchAckOfTenSegments_CwndGrowsByTen) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(100000)), 2 * 10 * static_cast<long>(kMss));
  auto out = sent();
  ASSERT_EQ(out.size(), 10u);
  advance_to(at_ms(1));
  peer_acks(una0() + 10 * kMss, 1024, tsval(out[9]));
  EXPECT_EQ(summary(s).cwnd, 20u) << "Linux tcp_slow_start: cwnd += acked packets";
  tcp().close(s);
  sent();
}

TEST_F(SendTest, Established_SendOfSeveralSegments_MssSizedWithPshOnTheLast) {
  const int s = open_passive();
  const Bytes data = pattern(5000);
  ASSERT_EQ(tcp().send(s, data), 5000);
  auto out = sent();
  ASSERT_EQ(out.size(), 4u);
  const std::size_t sizes[] = {kMss, kMss, kMss, 5000 - 3 * kMss};
  std::size_t offset = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i].seq(), una0() + offset);
    EXPECT_EQ(out[i].payload, Bytes(data.begin() + offset, data.begin() + offset + sizes[i]));
    // Linux tcp_push marks the last segment of a write with PSH.
    EXPECT_EQ(out[i].flags(), i == 3 ? (ACK | PSH) : ACK) << out[i].describe();
    offset += sizes[i];
  }
  EXPECT_EQ(tcp().stats().get(TcpStat::kBytesOut), 5000u);
  tcp().close(s);
  sent();
}

// --- Nagle -----------------------------------------------------------------------------------------

TEST_F(SendTest, Nagle_SmallWriteWhileSmallSegmentUnacked_WaitsForTheAck) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(100)), 100);
  Sent first = one_sent();
  EXPECT_TRUE(first.is(ACK | PSH));
  EXPECT_EQ(first.payload.size(), 100u);
  ASSERT_EQ(tcp().send(s, pattern(100, 100)), 100);
  EXPECT_TRUE(sent().empty()) << "Linux tcp_nagle_check: a small segment is already in flight";
  advance_to(at_ms(5));
  EXPECT_TRUE(sent().empty());
  peer_acks(una0() + 100, 1024, tsval(first));
  Sent second = one_sent();
  EXPECT_TRUE(second.is(ACK | PSH));
  EXPECT_EQ(second.seq(), una0() + 100);
  EXPECT_EQ(second.payload, pattern(100, 100));
  EXPECT_EQ(second.when, at_ms(5));
  tcp().close(s);
  sent();
}

TEST_F(SendTest, NoDelay_SmallWriteWhileSmallSegmentUnacked_SentAtOnce) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kNoDelay, 1), 0);
  ASSERT_EQ(tcp().send(s, pattern(100)), 100);
  ASSERT_EQ(tcp().send(s, pattern(100, 100)), 100);
  auto out = sent();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].seq(), una0() + 100);
  EXPECT_EQ(out[1].payload, pattern(100, 100));
  EXPECT_EQ(out[1].when, at_ms(0));
  tcp().close(s);
  sent();
}

// nginx's tcp_nopush turns TCP_NODELAY off around a response and on again after it: what Nagle
// held goes out then, not when the peer's delayed ACK comes.
TEST_F(SendTest, NoDelay_TurnedOnWhileNagleHoldsASegment_SendsItAtOnce) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(100)), 100);
  Sent first = one_sent();
  ASSERT_EQ(tcp().send(s, pattern(100, 100)), 100);
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(3));
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kNoDelay, 1), 0);
  Sent second = one_sent();
  EXPECT_TRUE(second.is(ACK | PSH));
  EXPECT_EQ(second.seq(), una0() + 100);
  EXPECT_EQ(second.payload, pattern(100, 100));
  EXPECT_EQ(second.when, at_ms(3));
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kNoDelay, 1), 0);
  EXPECT_TRUE(sent().empty()) << "nothing held: nothing to send";
  (void)first;
  tcp().close(s);
  sent();
}

// TCP_CORK, as nginx's tcp_nopush uses it: header and body written while corked leave as one
// segment when the cork comes off, even with TCP_NODELAY and nothing in flight; full segments
// are not held.
TEST_F(SendTest, Cork_PartialSegmentsWaitForTheUncork_ThenLeaveAsOne) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kNoDelay, 1), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kCork, 1), 0);
  int corked = 0;
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kCork, &corked), 0);
  EXPECT_EQ(corked, 1);
  ASSERT_EQ(tcp().send(s, pattern(238)), 238);
  ASSERT_EQ(tcp().send(s, pattern(814, 238)), 814);
  EXPECT_TRUE(sent().empty()) << "corked: a partial segment waits";
  advance_to(at_ms(7));
  EXPECT_TRUE(sent().empty());
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kCork, 0), 0);
  Sent both = one_sent();
  EXPECT_TRUE(both.is(ACK | PSH));
  EXPECT_EQ(both.seq(), una0());
  EXPECT_EQ(both.payload, pattern(1052));
  EXPECT_EQ(both.when, at_ms(7));
  peer_acks(una0() + 1052);
  sent();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kCork, 1), 0);
  ASSERT_EQ(tcp().send(s, pattern(kMss + 10, 1052)), static_cast<int>(kMss + 10));
  Sent full = one_sent();
  EXPECT_EQ(full.payload.size(), kMss) << "a full segment is not held by the cork";
  EXPECT_TRUE(sent().empty()) << "the 10-byte tail is";
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kCork, 0), 0);
  Sent tail = one_sent();
  EXPECT_EQ(tail.seq(), una0() + 1052 + kMss);
  EXPECT_EQ(tail.payload.size(), 10u);
  tcp().close(s);
  sent();
}

TEST_F(SendTest, Nagle_FullSegmentsBehindASmallOne_NeverWait) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(100)), 100);
  one_sent();
  ASSERT_EQ(tcp().send(s, pattern(3000, 100)), 3000);
  auto out = sent();
  ASSERT_EQ(out.size(), 2u) << "two full segments go; the 104-byte tail waits for the ACK";
  EXPECT_EQ(out[0].seq(), una0() + 100);
  EXPECT_EQ(out[0].payload.size(), kMss);
  EXPECT_EQ(out[1].seq(), una0() + 100 + kMss);
  EXPECT_EQ(out[1].payload.size(), kMss);
  advance_to(at_ms(3));
  peer_acks(una0() + 100);
  Sent tail = one_sent();
  EXPECT_EQ(tail.seq(), una0() + 100 + 2 * kMss);
  EXPECT_EQ(tail.payload, pattern(104, 100 + 2 * kMss));
  EXPECT_TRUE(tail.is(ACK | PSH));
  tcp().close(s);
  sent();
}

TEST_F(SendTest, Nagle_ShutdownWithASmallSegmentHeld_DataGoesWithTheFin) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(100)), 100);
  one_sent();
  ASSERT_EQ(tcp().send(s, pattern(100, 100)), 100);
  EXPECT_TRUE(sent().empty());
  ASSERT_EQ(tcp().shutdown(s, Shutdown::kWrite), 0);
  // Linux tcp_send_fin: the FIN joins the last unsent segment, and Nagle is off for it
  // (__tcp_push_pending_frames with TCP_NAGLE_OFF).
  Sent fin = one_sent();
  EXPECT_TRUE(fin.is(FIN | PSH | ACK)) << fin.describe();
  EXPECT_EQ(fin.seq(), una0() + 100);
  EXPECT_EQ(fin.payload, pattern(100, 100));
  EXPECT_EQ(tcp().state(s), State::kFinWait1);
  peer_acks(una0() + 201);
  EXPECT_EQ(tcp().state(s), State::kFinWait2);
  tcp().close(s);
}

// --- sender silly-window avoidance and zero windows ------------------------------------------------

TEST_F(SendTest, SmallPeerWindow_DataWaitsThenPersistTimerSendsWhatFits) {
  const int s = open_passive();
  peer_acks(una0(), 4);  // 512 bytes: less than an MSS and less than half the largest window
  ASSERT_EQ(tcp().send(s, pattern(2000)), 2000);
  EXPECT_TRUE(sent().empty()) << "RFC 9293 3.8.6.2.1: no silly segment";
  advance_to(at_ms(199));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(200));
  // Linux tcp_write_wakeup: the persist timer sends what fits in the window.
  Sent part = one_sent();
  EXPECT_EQ(part.seq(), una0());
  EXPECT_EQ(part.payload, pattern(512));
  EXPECT_EQ(part.when, at_ms(200));
  // The window opens: the rest goes at once.
  advance_to(at_ms(201));
  peer_acks(una0() + 512, 1024, tsval(part));
  auto rest = sent();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].seq(), una0() + 512);
  EXPECT_EQ(rest[0].payload.size(), kMss);
  EXPECT_EQ(rest[1].payload.size(), 2000u - 512 - kMss);
  EXPECT_EQ(tcp().stats().get(TcpStat::kWindowProbes), 0u);
  tcp().close(s);
  sent();
}

TEST_F(SendRetries3Test, ZeroWindow_PeerNeverAnswers_ProbesBackOffThenAbortsWithEtimedout) {
  const int s = open_passive();
  peer_acks(una0(), 0);
  ASSERT_EQ(tcp().send(s, pattern(1000)), 1000);
  EXPECT_TRUE(sent().empty());
  // Linux tcp_probe0_when: the RTO, doubled per probe.
  for (const std::int64_t ms : {200, 600, 1400}) {
    advance_to(at_ms(ms - 1));
    EXPECT_TRUE(sent().empty()) << ms;
    advance_to(at_ms(ms));
    expect_probe(one_sent(), at_ms(ms));
  }
  EXPECT_EQ(tcp().stats().get(TcpStat::kWindowProbes), 3u);
  advance_to(at_ms(2999));
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  // Linux tcp_probe_timer: icsk_probes_out reached tcp_retries2: tcp_write_err, no RST.
  advance_to(at_ms(3000));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state(s), State::kClosed);
  EXPECT_EQ(tcp().send(s, pattern(1)), -ETIMEDOUT);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnTimeout), 1u);
  tcp().close(s);
}

TEST_F(SendRetries3Test, ZeroWindow_PeerAnswersEveryProbe_KeepsConnectionAndBacksOffTo120s) {
  const int s = open_passive();
  peer_acks(una0(), 0);
  ASSERT_EQ(tcp().send(s, pattern(1000)), 1000);
  // Linux tcp_ack clears icsk_probes_out (the abort count) but not icsk_backoff: the probes keep
  // doubling (tcp_ack_probe re-arms with tcp_probe0_when) up to TCP_RTO_MAX.
  std::int64_t when = 200, interval = 200;
  for (int probe = 0; probe < 13; ++probe) {
    advance_to(at_ms(when - 1));
    EXPECT_TRUE(sent().empty()) << "probe " << probe;
    advance_to(at_ms(when));
    expect_probe(one_sent(), at_ms(when));
    peer_acks(una0(), 0);  // still closed
    interval = std::min<std::int64_t>(interval * 2, 120000);
    when += interval;
  }
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnTimeout), 0u);
  tcp().close(s);
  sent();
}

TEST_F(SendTest, ZeroWindow_WindowOpens_DataSentAtOnceAndTimed) {
  const int s = open_passive();
  peer_acks(una0(), 0);
  ASSERT_EQ(tcp().send(s, pattern(1000)), 1000);
  advance_to(at_ms(200));
  expect_probe(one_sent(), at_ms(200));
  advance_to(at_ms(250));
  peer_acks(una0(), 1024);
  Sent data = one_sent();
  EXPECT_TRUE(data.is(ACK | PSH));
  EXPECT_EQ(data.seq(), una0());
  EXPECT_EQ(data.payload, pattern(1000));
  EXPECT_EQ(data.when, at_ms(250));
  // From now on the retransmission timer runs, at the RTO (not the probe's back-off).
  advance_to(at_ms(449));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(450));
  Sent again = one_sent();
  EXPECT_EQ(again.seq(), una0());
  EXPECT_EQ(again.payload, pattern(1000));
  tcp().close(s);
  sent();
}

// --- the retransmission timer ----------------------------------------------------------------------

TEST_F(SendRetries3Test, Established_DataNeverAcked_ResentAtRtoDoublingThenEtimedoutWithoutRst) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(1000)), 1000);
  one_sent();
  // First the tail loss probe (one segment out: PTO = 2 SRTT + 200 ms, capped by the RTO, 200 ms),
  // then the RTO from the probe on, doubling (RFC 6298 5.5): 200, 400, 800, 1600 ms. The probe
  // is not a timeout and does not count against tcp_retries2.
  for (const std::int64_t ms : {200, 400, 800, 1600}) {
    advance_to(at_ms(ms - 1));
    EXPECT_TRUE(sent().empty()) << ms;
    advance_to(at_ms(ms));
    Sent r = one_sent();
    EXPECT_TRUE(r.is(ACK | PSH)) << r.describe();
    EXPECT_EQ(r.seq(), una0());
    EXPECT_EQ(r.payload, pattern(1000));
    EXPECT_EQ(r.when, at_ms(ms));
  }
  EXPECT_EQ(tcp().stats().get(TcpStat::kLossProbes), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 3u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kRetransmits), 4u);
  advance_to(at_ms(3199));
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  // Linux tcp_write_timeout -> tcp_write_err: ETIMEDOUT, and no RST (tcp_done only).
  advance_to(at_ms(3200));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(tcp().state(s), State::kClosed);
  int error = 0;
  EXPECT_EQ(tcp().getsockopt(s, SockOpt::kError, &error), 0);
  EXPECT_EQ(error, ETIMEDOUT);
  EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnTimeout), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kResetsSent), 0u);
  tcp().close(s);
}

TEST_F(SendTest, Rto_FlightLost_HeadResentWithCwndOneThenSlowStart) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(20000)), 20000);
  auto flight = sent();
  ASSERT_EQ(flight.size(), 10u);
  // SRTT is ~0 (the handshake took no virtual time): the tail loss probe goes at 2 SRTT + 2 ms
  // with the next new segment (Linux tcp_send_loss_probe), and the RTO runs from there.
  advance_to(at_ms(2));
  Sent probe = one_sent();
  EXPECT_EQ(probe.seq(), una0() + 10 * kMss);
  EXPECT_EQ(tcp().stats().get(TcpStat::kLossProbes), 1u);
  advance_to(at_ms(201));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(202));
  Sent head = one_sent();
  EXPECT_EQ(head.seq(), una0());
  EXPECT_EQ(head.payload.size(), kMss);
  EXPECT_EQ(summary(s).cwnd, 1u);
  EXPECT_EQ(summary(s).ssthresh, 10u * 717 / 1024) << "CUBIC: 0.7 of the window";
  // The ACK of the resent head: cwnd 2, the next two segments go again (Linux CA_Loss).
  advance_to(at_ms(212));
  peer_acks(una0() + kMss, 1024, tsval(head));
  auto next = sent();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].seq(), una0() + kMss);
  EXPECT_EQ(next[1].seq(), una0() + 2 * kMss);
  EXPECT_EQ(summary(s).cwnd, 2u);
  // Karn: the RTT of the resent head (10 ms) was measured from the timestamp it echoed, not from
  // the first transmission (210 ms): SRTT = 7/8 * 0 (the handshake's sample) + 1/8 * 10 ms.
  EXPECT_EQ(summary(s).srtt_us, 1250u) << "RFC 7323 4.1 sample taken by timestamps";
  tcp().close(s);
  sent();
}

TEST_F(SendTest, Rto_AckWithoutTimestampForResentSegment_NoRttSample) {
  const int s = open_passive();
  ASSERT_EQ(tcp().send(s, pattern(1000)), 1000);
  one_sent();
  advance_to(at_ms(200));
  one_sent();
  // An ACK that echoes no timestamp: Karn's rule forbids a sample from the resent segment.
  advance_to(at_ms(500));
  peer_sends(ACK, kPeerIsn + 1, una0() + 1000, {}, {}, 1024);
  EXPECT_EQ(summary(s).srtt_us, 0u) << "no 500 ms sample";
  EXPECT_EQ(summary(s).rto_ms, 400u) << "the backed-off RTO stays until a valid sample";
  tcp().close(s);
  sent();
}

// --- keepalive -------------------------------------------------------------------------------------

TEST_F(SendTest, Keepalive_PeerSilent_ProbesAt10_12_14ThenResetAt16) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepAlive, 1), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepIdle, 10), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepIntvl, 2), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepCnt, 3), 0);
  for (const std::int64_t sec : {10, 12, 14}) {
    advance_to(at_ms(sec * 1000 - 1));
    EXPECT_TRUE(sent().empty()) << sec;
    advance_to(at_s(sec));
    expect_probe(one_sent(), at_s(sec));
  }
  EXPECT_EQ(tcp().stats().get(TcpStat::kKeepaliveProbes), 3u);
  advance_to(at_ms(15999));
  EXPECT_TRUE(sent().empty());
  // Linux tcp_keepalive_timer: tcp_send_active_reset, then tcp_write_err (ETIMEDOUT).
  advance_to(at_s(16));
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST | ACK)) << rst.describe();
  EXPECT_EQ(rst.seq(), una0());
  EXPECT_EQ(rst.ack(), kPeerIsn + 1);
  EXPECT_EQ(tcp().state(s), State::kClosed);
  EXPECT_EQ(tcp().recv(s, std::span<std::uint8_t>(Bytes(4).data(), 4)), -ETIMEDOUT);
  tcp().close(s);
}

TEST_F(SendTest, Keepalive_PeerAnswersAProbe_CountStartsOver) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepAlive, 1), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepIdle, 10), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepIntvl, 2), 0);
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kKeepCnt, 3), 0);
  advance_to(at_s(10));
  expect_probe(one_sent(), at_s(10));
  advance_to(at_s(12));
  expect_probe(one_sent(), at_s(12));
  advance_to(at_ms(12010));
  peer_acks(una0());  // the answer: heard at 12.01 s
  // The next check (14 s) finds the peer heard 1.99 s ago: the next probe is 10 s after the answer.
  advance_to(at_ms(22009));
  EXPECT_TRUE(sent().empty());
  advance_to(at_ms(22010));
  expect_probe(one_sent(), at_ms(22010));
  advance_to(at_ms(24010));
  expect_probe(one_sent(), at_ms(24010));
  advance_to(at_ms(26010));
  expect_probe(one_sent(), at_ms(26010));
  EXPECT_EQ(tcp().state(s), State::kEstablished) << "three unanswered probes since the answer";
  advance_to(at_ms(28010));
  EXPECT_TRUE(one_sent().is(RST | ACK));
  EXPECT_EQ(tcp().state(s), State::kClosed);
  tcp().close(s);
}

// --- send buffer -----------------------------------------------------------------------------------

TEST_F(SendTest, SendBuffer_Full_EagainThenWritableWhenAcksFreeSpace) {
  const int s = open_passive();
  int ready[8];
  while (tcp().take_ready(ready) > 0) {
  }
  const long room = 2 * 10 * kMss;
  ASSERT_EQ(tcp().send(s, pattern(100000)), room);
  EXPECT_EQ(tcp().send(s, pattern(1)), -EAGAIN);
  EXPECT_FALSE(tcp().readiness(s) & kWritable);
  auto out = sent();
  ASSERT_EQ(out.size(), 10u);
  advance_to(at_ms(1));
  for (int i = 1; i <= 5; ++i) peer_acks(una0() + 2 * i * kMss, 1024, tsval(out[2 * i - 1]));  // every second segment
  // Slow start grew cwnd to 20 segments: auto-tuning raised the buffer to 2 * cwnd.
  EXPECT_TRUE(tcp().readiness(s) & kWritable);
  const std::size_t n = tcp().take_ready(ready);
  EXPECT_NE(std::find(ready, ready + n, s), ready + n) << "kWritable reported";
  int sndbuf = 0;
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kSndBuf, &sndbuf), 0);
  EXPECT_EQ(sndbuf, 2 * 20 * static_cast<int>(kMss));
  tcp().close(s);
  sent();
}

TEST_F(SendTest, SendBuffer_SoSndbufSet_NoAutoTuning) {
  const int s = open_passive();
  ASSERT_EQ(tcp().setsockopt(s, SockOpt::kSndBuf, 10000), 0);
  int sndbuf = 0;
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kSndBuf, &sndbuf), 0);
  EXPECT_EQ(sndbuf, 20000) << "doubled, as Linux";
  ASSERT_EQ(tcp().send(s, pattern(100000)), 20000);
  auto out = sent();
  ASSERT_EQ(out.size(), 10u);
  advance_to(at_ms(1));
  peer_acks(una0() + 10 * kMss, 1024, tsval(out[9]));
  ASSERT_EQ(tcp().getsockopt(s, SockOpt::kSndBuf, &sndbuf), 0);
  EXPECT_EQ(sndbuf, 20000);
  EXPECT_EQ(tcp().send(s, pattern(100000)), 10 * static_cast<long>(kMss)) << "only what the ACK freed";
  tcp().close(s);
  sent();
}

}  // namespace
}  // namespace synwave::tcp::testing
