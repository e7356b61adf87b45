// SYN cookies at a listener, in virtual time (Linux's tcp_conn_request / cookie_v4_check):
// tcp_syncookies 0, 1 and 2, the cookie SYN-ACK byte for byte, the connection a cookie ACK
// rebuilds, refused and expired cookies, and the accept queue's rules (seed 004) with cookies on.
#include <gtest/gtest.h>

#include "tcp/isn.h"
#include "tcp/syncookie.h"
#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

class CookieTestBase : public TcpTest {
 protected:
  static CookieTuple tuple(std::uint16_t peer_port) {
    return CookieTuple{.remote = kPeerIp, .local = kLocalIp, .remote_port = peer_port, .local_port = kPort};
  }
  std::uint32_t expected_cookie(std::uint16_t peer_port, std::uint8_t mss_index, std::uint32_t syn_seq = kPeerIsn) {
    return cookies_.make(tuple(peer_port), Seq(syn_seq), mss_index, wheel_.now()).raw();
  }
  std::uint32_t ts_offset() const { return isn_.ts_offset(kLocalIp, kPeerIp); }
  std::uint32_t now_ms() { return static_cast<std::uint32_t>(to_ms(wheel_.now().time_since_epoch())); }

  // The peer's SYN from `port`; returns the SYN-ACK.
  Sent syn_from(std::uint16_t port, wire::TcpOptions options = linux_syn_options(),
                std::uint32_t seq = kPeerIsn) {
    peer_sends(SYN, seq, 0, {}, options, 64240, port);
    Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    return synack;
  }
  // The third ACK for `synack`, echoing its timestamp when it had one.
  void ack_synack(const Sent& synack, std::uint16_t port, std::uint8_t flags = ACK, const Bytes& data = {},
                  std::uint32_t seq = kPeerIsn + 1) {
    wire::TcpOptions o;
    if (synack.tcp.options.timestamps) o.timestamps = wire::TcpTimestamps{101, synack.tcp.options.timestamps->val};
    peer_sends(flags, seq, synack.seq() + 1, data, o, 502, port);
  }
  std::optional<ConnectionSummary> summary_of(std::uint16_t peer_port) {
    std::optional<ConnectionSummary> found;
    tcp().for_each_published([&](const ConnectionSummary& c) {
      if (c.remote.port == peer_port && c.state != State::kListen) found = c;
    });
    return found;
  }
  std::uint64_t stat(TcpStat s) { return tcp().stats().get(s); }
  std::uint64_t drop(TcpDrop d) { return tcp().drops().get(d); }
  std::uint64_t count(State s) { return tcp().state_counts()[static_cast<int>(s)]; }

  SynCookies cookies_{kTestSecret};
  IsnGenerator isn_{kTestSecret};
};

template <unsigned kMode, unsigned kSynBacklog = 1024>
class CookieModeTest : public CookieTestBase {
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_syncookies = kMode;
    s.tcp_max_syn_backlog = kSynBacklog;
    return s;
  }
};

using AlwaysCookiesTest = CookieModeTest<2>;
using CookiesWhenFullTest = CookieModeTest<1, 2>;
using NoCookiesTest = CookieModeTest<0, 2>;

// --- tcp_syncookies=2: every SYN ---------------------------------------------------------------

TEST_F(AlwaysCookiesTest, Listen_Syn_AnsweredWithCookieAndNoHalfOpenEntry) {
  listen();
  advance_to(at_ms(5000));
  const Sent synack = syn_from(kPeerPort);
  EXPECT_EQ(synack.seq(), expected_cookie(kPeerPort, 3)) << "MSS 1460: index 3";
  EXPECT_EQ(synack.ack(), kPeerIsn + 1);
  EXPECT_EQ(synack.tcp.window, 65160);
  // Linux's SYN-ACK layout; the TSval carries wscale 7 | SACK (0x17) in its low 6 bits, below the
  // clock: 5000 ms rounds down to 4992, | 0x17 is 5015 > 5000, so one period less: 4951.
  const wire::TcpOptions& o = synack.tcp.options;
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_EQ(o.window_scale, 7);
  ASSERT_TRUE(o.timestamps);
  EXPECT_EQ(o.timestamps->val, 4951u + ts_offset());
  EXPECT_EQ(o.timestamps->ecr, 100u);
  EXPECT_EQ(count(State::kSynReceived), 0u) << "no half-open entry";
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 1u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 1u) << "Linux counts it for tcp_syncookies=2 too";
  EXPECT_EQ(stat(TcpStat::kPassiveOpens), 0u);
  // Nothing to retransmit: the SYN-ACK is not sent again.
  advance_to(at_s(70));
  EXPECT_TRUE(sent().empty());
}

TEST_F(AlwaysCookiesTest, CookieAck_RebuildsConnectionWithOptionsAndOffsets) {
  const int l = listen();
  advance_to(at_ms(5000));
  const Sent synack = syn_from(kPeerPort);
  advance_to(at_ms(5010));
  ack_synack(synack, kPeerPort);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 1u);
  EXPECT_EQ(stat(TcpStat::kPassiveOpens), 1u);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  EXPECT_EQ(tcp().state(s), State::kEstablished);
  const auto c = summary_of(kPeerPort);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mss, 1448u) << "1460 from the cookie, less 12 bytes of timestamps";
  EXPECT_EQ(c->snd_wscale, 7);
  EXPECT_EQ(c->rcv_wscale, 7);
  EXPECT_TRUE(c->sack);
  EXPECT_TRUE(c->timestamps);
  // RTT from the echoed timestamp (Linux tcp_ack_update_rtt): 5010 - 4951 = 59 ms;
  // RTO = 59 + max(4 * 29.5, 200) ms.
  EXPECT_EQ(c->srtt_us, 59000u);
  EXPECT_EQ(c->rto_ms, 259u);
  // Data: sequence numbers follow the cookie ISN, timestamps our clock plus the pair's offset, the
  // peer's TSval echoed, the peer's window scaled by 7 (502 << 7 = 64256 bytes allowed).
  advance_to(at_ms(5020));
  ASSERT_EQ(tcp().send(s, Bytes{'h', 'i'}), 2);
  const Sent data = one_sent();
  EXPECT_EQ(data.seq(), synack.seq() + 1);
  EXPECT_EQ(data.ack(), kPeerIsn + 1);
  EXPECT_EQ(data.payload, (Bytes{'h', 'i'}));
  ASSERT_TRUE(data.tcp.options.timestamps);
  EXPECT_EQ(data.tcp.options.timestamps->val, 5020u + ts_offset());
  EXPECT_EQ(data.tcp.options.timestamps->ecr, 101u);
  EXPECT_EQ(data.tcp.window, 131072 >> 7) << "our window, scaled by the 7 we announced";
}

TEST_F(AlwaysCookiesTest, NoTimestamps_SynAckOffersNeitherWscaleNorSack_ConnectionHasNeither) {
  const int l = listen();
  wire::TcpOptions syn;
  syn.mss = 1300;
  syn.sack_permitted = true;
  syn.window_scale = 7;
  const Sent synack = syn_from(kPeerPort, syn);
  EXPECT_EQ(synack.seq(), expected_cookie(kPeerPort, 1));
  const wire::TcpOptions& o = synack.tcp.options;
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_FALSE(o.window_scale);
  EXPECT_FALSE(o.timestamps);
  EXPECT_EQ(synack.tcp.window, 64240);
  ack_synack(synack, kPeerPort);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  const auto c = summary_of(kPeerPort);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mss, 1300u);
  EXPECT_EQ(c->snd_wscale, 0);
  EXPECT_EQ(c->rcv_wscale, 0);
  EXPECT_FALSE(c->sack);
  EXPECT_FALSE(c->timestamps);
  EXPECT_EQ(c->rto_ms, 3000u) << "no RTT sample: RFC 6298 5.7's 3 s (Linux TCP_TIMEOUT_FALLBACK)";
  ASSERT_EQ(tcp().send(s, Bytes{'x'}), 1);
  const Sent data = one_sent();
  EXPECT_FALSE(data.tcp.options.timestamps);
  EXPECT_EQ(data.tcp.window, 65535) << "unscaled: 128 KiB of buffer, capped at 65535";
}

TEST_F(AlwaysCookiesTest, EachMssIndex_EncodedAndRebuiltFromTheTable) {
  const int l = listen();
  struct Case {
    std::uint16_t syn_mss;
    std::uint8_t index;
    std::uint16_t rebuilt;
  };
  const Case cases[] = {{536, 0, 536},   {1000, 0, 536},  {1300, 1, 1300}, {1400, 1, 1300},
                        {1440, 2, 1440}, {1452, 2, 1440}, {1460, 3, 1460}, {8960, 3, 1460}};
  std::uint16_t port = kPeerPort;
  for (const Case& k : cases) {
    wire::TcpOptions syn = linux_syn_options();
    syn.mss = k.syn_mss;
    const Sent synack = syn_from(port, syn);
    EXPECT_EQ(synack.seq(), expected_cookie(port, k.index)) << k.syn_mss;
    EXPECT_EQ(synack.tcp.options.mss, 1460) << "we announce our own MSS";
    ack_synack(synack, port);
    const int s = tcp().accept(l);
    ASSERT_GE(s, 0) << k.syn_mss;
    const auto c = summary_of(port);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->mss, k.rebuilt - 12u) << k.syn_mss;
    ++port;
  }
  // A SYN without an MSS option counts as 536 (index 0).
  wire::TcpOptions no_mss = linux_syn_options();
  no_mss.mss.reset();
  EXPECT_EQ(syn_from(port, no_mss).seq(), expected_cookie(port, 0));
}

TEST_F(AlwaysCookiesTest, WscaleAndSackBits_CarriedInTsvalAndRebuilt) {
  const int l = listen();
  struct Case {
    std::optional<std::uint8_t> syn_wscale;
    bool sack;
    std::uint32_t low_bits;  // of the SYN-ACK's TSval, less the offset
    std::uint8_t rebuilt_wscale;
  };
  const Case cases[] = {{std::nullopt, false, 0x0f, 0}, {std::nullopt, true, 0x1f, 0}, {0, false, 0x00, 0},
                        {0, true, 0x10, 0},             {9, true, 0x19, 9},             {14, false, 0x0e, 14},
                        {20, true, 0x1e, 14}};
  std::uint16_t port = kPeerPort;
  advance_to(at_ms(700'000));
  for (const Case& k : cases) {
    wire::TcpOptions syn = linux_syn_options();
    syn.window_scale = k.syn_wscale;
    syn.sack_permitted = k.sack;
    const Sent synack = syn_from(port, syn);
    ASSERT_TRUE(synack.tcp.options.timestamps);
    const std::uint32_t raw = synack.tcp.options.timestamps->val - ts_offset();
    EXPECT_EQ(raw & 0x3f, k.low_bits) << port;
    EXPECT_LE(raw, now_ms());
    EXPECT_GT(raw, now_ms() - 64);
    EXPECT_EQ(synack.tcp.options.window_scale.has_value(), k.syn_wscale.has_value());
    EXPECT_EQ(synack.tcp.options.sack_permitted, k.sack);
    ack_synack(synack, port);
    ASSERT_GE(tcp().accept(l), 0);
    const auto c = summary_of(port);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->snd_wscale, k.rebuilt_wscale) << port;
    EXPECT_EQ(c->rcv_wscale, k.syn_wscale ? 7 : 0) << port;
    EXPECT_EQ(c->sack, k.sack) << port;
    ++port;
  }
}

TEST_F(AlwaysCookiesTest, ThirdAckLost_FirstDataSegmentCompletesAndIsDelivered) {
  const int l = listen();
  advance_to(at_ms(1000));
  const Sent synack = syn_from(kPeerPort);
  // The third ACK is lost; the client, ESTABLISHED, sends its request.
  advance_to(at_ms(1050));
  ack_synack(synack, kPeerPort, ACK | PSH, Bytes{'h', 'e', 'l', 'l', 'o'});
  const Sent ack = one_sent();
  EXPECT_TRUE(ack.is(ACK)) << ack.describe();
  EXPECT_EQ(ack.seq(), synack.seq() + 1);
  EXPECT_EQ(ack.ack(), kPeerIsn + 6) << "the data is acknowledged";
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 1u);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  std::uint8_t buf[16];
  ASSERT_EQ(tcp().recv(s, buf), 5);
  EXPECT_EQ(Bytes(buf, buf + 5), (Bytes{'h', 'e', 'l', 'l', 'o'}));
}

TEST_F(AlwaysCookiesTest, ForgedAck_RefusedWithRstAndCounted) {
  listen();
  const Sent synack = syn_from(kPeerPort);
  // Wrong cookie on the right 4-tuple: Linux's cookie_v4_check fails, LISTEN answers the ACK
  // with a RST (tcp_v4_do_rcv -> tcp_rcv_state_process returns 1 -> tcp_v4_send_reset).
  const std::uint32_t forged = synack.seq() + 1 + 0x1000;
  peer_sends(ACK, kPeerIsn + 1, forged, {}, {}, 502, kPeerPort);
  Sent rst = one_sent();
  EXPECT_TRUE(rst.is(RST)) << rst.describe();
  EXPECT_EQ(rst.seq(), forged);
  // A blind ACK from a port that never sent a SYN.
  peer_sends(ACK, 777, 0x12345678, {}, {}, 502, kPeerPort + 1);
  EXPECT_TRUE(one_sent().is(RST));
  EXPECT_EQ(stat(TcpStat::kSyncookiesFailed), 2u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 0u);
  EXPECT_EQ(drop(TcpDrop::kNoSocket), 2u);
  EXPECT_EQ(count(State::kEstablished), 0u);
}

TEST_F(AlwaysCookiesTest, CookieAge_PreviousCounterAccepted_TwoBackRefusedAsReplay) {
  const int l = listen();
  advance_to(at_ms(1000));  // counter 0
  const Sent a = syn_from(kPeerPort);
  advance_to(at_ms(59'000));  // counter 0
  const Sent b = syn_from(kPeerPort + 1);
  // At 119.999 s the counter is 1: a cookie from counter 0 is one back, still good (119 s old).
  advance_to(at_ms(119'999));
  ack_synack(a, kPeerPort);
  EXPECT_TRUE(sent().empty());
  EXPECT_GE(tcp().accept(l), 0);
  // At 120 s the counter is 2: B's cookie, only 61 s old, is two back and refused (Linux
  // MAX_SYNCOOKIE_AGE = 2, "diff >= 2"); the ACK, replayed or late, meets a RST.
  advance_to(at_ms(120'000));
  ack_synack(b, kPeerPort + 1);
  EXPECT_TRUE(one_sent().is(RST));
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 1u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesFailed), 1u);
  EXPECT_EQ(tcp().accept(l), -EAGAIN);
}

TEST_F(AlwaysCookiesTest, NoCookieSentForTwoMinutes_AckNotCheckedButReset) {
  listen();
  advance_to(at_ms(1000));
  const Sent a = syn_from(kPeerPort);
  // Linux tcp_synq_no_recent_overflow: 120 s after the last cookie went out, ACKs are no longer
  // checked as cookies (and not counted as failed): plain LISTEN, RST.
  advance_to(at_ms(121'001));
  ack_synack(a, kPeerPort);
  EXPECT_TRUE(one_sent().is(RST));
  EXPECT_EQ(stat(TcpStat::kSyncookiesFailed), 0u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 0u);
}

// Seed 004 with cookies: the accept queue bounds them as it bounds half-open entries.
TEST_F(AlwaysCookiesTest, AcceptQueueFull_SynDropped_CookieAckDropped_LaterDataCompletes) {
  const int l = listen(/*backlog=*/0);  // room for one connection
  ack_synack(syn_from(kPeerPort), kPeerPort);
  EXPECT_EQ(count(State::kEstablished), 1u);
  // Queue full: B's SYN is dropped silently, cookie or not.
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 1);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(stat(TcpStat::kListenOverflows), 1u);
  EXPECT_EQ(drop(TcpDrop::kListenDrops), 1u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 1u);
  // Room: B's retransmitted SYN gets its cookie; C then fills the queue before B's ACK arrives.
  ASSERT_GE(tcp().accept(l), 0);
  const Sent b = syn_from(kPeerPort + 1);
  ack_synack(syn_from(kPeerPort + 2), kPeerPort + 2);
  ack_synack(b, kPeerPort + 1);
  // Linux: the cookie is good (SyncookiesRecv) but no child can be made (ListenOverflows,
  // ListenDrops); the ACK is dropped without a RST and nothing is kept.
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(stat(TcpStat::kSyncookiesRecv), 3u);
  EXPECT_EQ(stat(TcpStat::kListenOverflows), 2u);
  EXPECT_EQ(drop(TcpDrop::kListenDrops), 2u);
  EXPECT_FALSE(summary_of(kPeerPort + 1));
  // The client believes it is connected and sends its request once there is room: the cookie in
  // its ACK field makes the connection now, with the data.
  ASSERT_GE(tcp().accept(l), 0);
  ack_synack(b, kPeerPort + 1, ACK | PSH, Bytes{'G', 'E', 'T'});
  const Sent ack = one_sent();
  EXPECT_EQ(ack.ack(), kPeerIsn + 4);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  std::uint8_t buf[8];
  EXPECT_EQ(tcp().recv(s, buf), 3);
}

// --- tcp_syncookies=1: cookies once the SYN queue is full (tcp_max_syn_backlog = 2 here) --------

TEST_F(CookiesWhenFullTest, SynQueueFull_NextSynGetsCookie_LegitClientCompletesOnFirstSyn) {
  const int l = listen();
  advance_to(at_ms(2000));
  const Sent first = syn_from(kPeerPort);
  syn_from(kPeerPort + 1);
  EXPECT_EQ(first.seq(), isn_.next(kLocalIp, kPort, kPeerIp, kPeerPort, wheel_.now()).raw()) << "an RFC 6528 ISN";
  EXPECT_EQ(count(State::kSynReceived), 2u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 0u);
  // The queue is full: the next SYN, from a client that is real, gets a cookie...
  const Sent legit = syn_from(kPeerPort + 2);
  EXPECT_EQ(legit.seq(), expected_cookie(kPeerPort + 2, 3));
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 1u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 1u);
  EXPECT_EQ(count(State::kSynReceived), 2u);
  // ... and its first ACK completes the handshake.
  ack_synack(legit, kPeerPort + 2);
  const int s = tcp().accept(l);
  ASSERT_GE(s, 0);
  EXPECT_EQ(tcp().remote_endpoint(s)->port, kPeerPort + 2);
  // A half-open entry completes: room again, so the next SYN is queued normally.
  ack_synack(first, kPeerPort);
  EXPECT_EQ(count(State::kSynReceived), 1u);
  const Sent queued = syn_from(kPeerPort + 3);
  EXPECT_EQ(queued.seq(), isn_.next(kLocalIp, kPort, kPeerIp, kPeerPort + 3, wheel_.now()).raw());
  EXPECT_EQ(count(State::kSynReceived), 2u);
  EXPECT_EQ(syn_from(kPeerPort + 4).seq(), expected_cookie(kPeerPort + 4, 3));
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 2u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDrop), 0u);
  EXPECT_EQ(drop(TcpDrop::kListenDrops), 0u);
}

TEST_F(CookiesWhenFullTest, SpoofedFlood_LegitClientStillCompletes_HalfOpenEntriesOnlyTheQueue) {
  const int l = listen();
  for (std::uint16_t i = 0; i < 100; ++i) syn_from(static_cast<std::uint16_t>(20000 + i));  // never answered
  EXPECT_EQ(count(State::kSynReceived), 2u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 98u);
  const Sent legit = syn_from(kPeerPort);
  ack_synack(legit, kPeerPort);
  EXPECT_GE(tcp().accept(l), 0);
  // Only the two queued entries retransmit their SYN-ACKs.
  advance_to(at_s(1));
  EXPECT_EQ(sent().size(), 2u);
}

// --- tcp_syncookies=0: the SYN queue's limit drops ----------------------------------------------

TEST_F(NoCookiesTest, SynQueueFull_SynDroppedAndCounted) {
  listen();
  const Sent first = syn_from(kPeerPort);
  syn_from(kPeerPort + 1);
  peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, kPeerPort + 2);
  EXPECT_TRUE(sent().empty()) << "dropped silently";
  EXPECT_EQ(stat(TcpStat::kReqQFullDrop), 1u);
  EXPECT_EQ(drop(TcpDrop::kListenDrops), 1u);
  EXPECT_EQ(stat(TcpStat::kReqQFullDoCookies), 0u);
  EXPECT_EQ(stat(TcpStat::kSyncookiesSent), 0u);
  EXPECT_EQ(count(State::kSynReceived), 2u);
  // An ACK without state is never taken for a cookie.
  peer_sends(ACK, kPeerIsn + 1, first.seq() + 1, {}, {}, 502, kPeerPort + 2);
  EXPECT_TRUE(one_sent().is(RST));
  EXPECT_EQ(stat(TcpStat::kSyncookiesFailed), 0u);
}

}  // namespace
}  // namespace synwave::tcp::testing
