// Loss recovery in virtual time: fast retransmit and SACK recovery (RFC 6675), NewReno without
// SACK (RFC 6582), recovery by the RTO, CUBIC against Reno, sequence wrap, and a seeded lossy
// link. The peer is a model of a Linux receiver: it ACKs every segment at once (quick-ACK mode,
// and always for out-of-order data), with SACK blocks for what it holds above RCV.NXT, the block
// of the latest segment first (RFC 2018 section 4). The link delays every segment by 1 ms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <random>

#include "tcp/isn.h"
#include "transfer_fixture.h"

namespace synwave::tcp::testing {
namespace {

constexpr std::uint32_t kMss = 1448;

std::uint8_t byte_at(std::size_t i) { return static_cast<std::uint8_t>(i * 13 + i / 509); }

// The receiving end of the connection, as Linux behaves: cumulative ACK plus up to three SACK
// blocks (with timestamps), most recent first.
class PeerReceiver {
 public:
  PeerReceiver(std::uint32_t base, std::size_t total) : base_(base), data_(total), have_(total) {}

  // Takes a segment; returns false for one beyond the stream.
  void receive(const Sent& seg) {
    if (seg.payload.empty()) return;
    const std::uint32_t off = seg.seq() - base_;
    for (std::size_t i = 0; i < seg.payload.size(); ++i) {
      const std::size_t o = off + i;
      if (o >= data_.size()) break;
      data_[o] = seg.payload[i];
      have_[o] = true;
    }
    while (nxt_ < have_.size() && have_[nxt_]) ++nxt_;
    recent_.erase(std::remove(recent_.begin(), recent_.end(), off), recent_.end());
    if (off > nxt_) recent_.insert(recent_.begin(), off);
  }

  std::uint32_t ack() const { return base_ + static_cast<std::uint32_t>(nxt_); }

  // SACK blocks: the ranges above RCV.NXT, the one holding the latest segment first.
  std::vector<wire::SackBlock> sacks() const {
    std::vector<wire::SackBlock> out;
    for (const std::uint32_t off : recent_) {
      if (off < nxt_ || !have_[off]) continue;
      std::size_t a = off, b = off;
      while (a > nxt_ && have_[a - 1]) --a;
      while (b < have_.size() && have_[b]) ++b;
      const wire::SackBlock blk{base_ + static_cast<std::uint32_t>(a), base_ + static_cast<std::uint32_t>(b)};
      if (std::none_of(out.begin(), out.end(), [&](const wire::SackBlock& x) { return x.left == blk.left; }))
        out.push_back(blk);
      if (out.size() == 3) break;
    }
    return out;
  }

  bool complete() const { return nxt_ == data_.size(); }
  const Bytes& data() const { return data_; }

 private:
  std::uint32_t base_;
  Bytes data_;
  std::vector<bool> have_;
  std::size_t nxt_ = 0;
  std::vector<std::uint32_t> recent_;  // offsets of out-of-order segments, latest first
};

struct Transmission {
  Instant when;
  std::uint32_t offset;  // from the first byte of data
  std::uint32_t len;
  bool again;            // this range was sent before
};

struct AckRecord {
  std::uint32_t ack;
  std::uint32_t cwnd, ssthresh;  // segments, after the ACK
};

class RecoveryTest : public TransferTest {
 protected:
  Sysctl sysctl() const override {
    Sysctl s;
    s.tcp_congestion_control = congestion_;
    return s;
  }

  ConnectionSummary summary(int s) {
    ConnectionSummary out;
    tcp().for_each_published([&](const ConnectionSummary& c) {
      if (c.socket == s) out = c;
    });
    return out;
  }

  // A passive connection whose peer did not offer SACK.
  int open_passive_without_sack() {
    const int l = listen();
    wire::TcpOptions o = linux_syn_options();
    o.sack_permitted = false;
    peer_sends(SYN, kPeerIsn, 0, {}, o, 64240);
    Sent synack = one_sent();
    server_isn_ = synack.seq();
    wire::TcpOptions ts;
    ts.timestamps = wire::TcpTimestamps{101, synack.tcp.options.timestamps->val};
    peer_sends(ACK, kPeerIsn + 1, server_isn_ + 1, {}, ts, 502);
    return tcp().accept(l);
  }

  // Sends `total` bytes through a 1 ms link; `drop(offset, len, again)` says which data segments
  // the link loses. Stops when everything is acknowledged or at `limit`.
  template <typename Drop>
  void run(int s, std::size_t total, Drop drop, Instant limit) {
    const std::uint32_t base = server_isn_ + 1;
    peer_ = std::make_unique<PeerReceiver>(base, total);
    Bytes stream(total);
    for (std::size_t i = 0; i < total; ++i) stream[i] = byte_at(i);
    std::size_t queued = 0;
    std::map<std::uint32_t, int> sent_before;
    std::uint32_t acked = base;
    while (wheel_.now() < limit) {
      while (queued < total) {
        const long n = tcp().send(s, std::span(stream).subspan(queued, std::min<std::size_t>(total - queued, 65536)));
        if (n <= 0) break;
        queued += static_cast<std::size_t>(n);
      }
      auto out = sent();
      for (const Sent& seg : out) {
        if (seg.payload.empty()) continue;
        const std::uint32_t off = seg.seq() - base;
        const bool again = sent_before[off]++ > 0;
        trace_.push_back({seg.when, off, static_cast<std::uint32_t>(seg.payload.size()), again});
      }
      if (acked == base + total) break;
      // Nothing in flight: jump to the next timer.
      if (out.empty()) {
        advance_to(wheel_.now() + milliseconds(1));
        continue;
      }
      advance_to(wheel_.now() + milliseconds(1));
      for (const Sent& seg : out) {
        if (seg.payload.empty()) continue;
        const std::uint32_t off = seg.seq() - base;
        if (drop(off, static_cast<std::uint32_t>(seg.payload.size()), trace_again(seg.when, off))) continue;
        peer_->receive(seg);
        wire::TcpOptions o;
        o.timestamps = wire::TcpTimestamps{300, seg.tcp.options.timestamps ? seg.tcp.options.timestamps->val : 0};
        for (const auto& b : peer_->sacks()) o.add_sack(b);
        peer_sends(ACK, kPeerIsn + 1, peer_->ack(), {}, o, 1024);
        acked = peer_->ack();
        const ConnectionSummary c = summary(s);
        acks_.push_back({peer_->ack(), c.cwnd, c.ssthresh});
      }
    }
    EXPECT_TRUE(peer_->complete()) << "stalled at " << acked - base << " of " << total;
    EXPECT_EQ(peer_->data(), stream) << "byte-exact";
  }

  bool trace_again(Instant when, std::uint32_t off) const {
    for (auto it = trace_.rbegin(); it != trace_.rend(); ++it)
      if (it->offset == off && it->when == when) return it->again;
    return false;
  }

  std::vector<Transmission> retransmissions() const {
    std::vector<Transmission> r;
    for (const auto& t : trace_)
      if (t.again) r.push_back(t);
    return r;
  }

  // The first transmission of data at or beyond `offset`, after `from`.
  bool new_data_between(Instant from, Instant to) const {
    return std::any_of(trace_.begin(), trace_.end(), [&](const Transmission& t) { return !t.again && t.when >= from && t.when <= to; });
  }

  std::string congestion_ = "cubic";
  std::unique_ptr<PeerReceiver> peer_;
  std::vector<Transmission> trace_;
  std::vector<AckRecord> acks_;
};

class RecoveryRenoTest : public RecoveryTest {
 protected:
  RecoveryRenoTest() { congestion_ = "reno"; }
};

auto drop_first_transmission_of(std::vector<std::uint32_t> segments) {
  return [segments](std::uint32_t off, std::uint32_t, bool again) {
    return !again && std::find(segments.begin(), segments.end(), off / kMss) != segments.end() && off % kMss == 0;
  };
}

// The cwnd and ssthresh in force once the ACK reaching `point` came in.
AckRecord at_ack(const std::vector<AckRecord>& acks, std::uint32_t point) {
  for (const auto& a : acks)
    if (static_cast<std::int32_t>(a.ack - point) >= 0) return a;
  return {};
}

TEST_F(RecoveryTest, Sack_FirstSegmentOfFlightLost_FastRetransmitAfterThreeDupAcks) {
  const int s = open_passive();
  run(s, 40 * kMss, drop_first_transmission_of({0}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, 0u);
  EXPECT_EQ(r[0].len, kMss);
  // Sent at 0 ms; the peer's third duplicate ACK (SACK S1-S3) comes at 1 ms: resent at once.
  EXPECT_EQ(r[0].when, at_ms(1));
  EXPECT_EQ(tcp().stats().get(TcpStat::kFastRetransmits), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kSackRecoveries), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  EXPECT_TRUE(new_data_between(at_ms(1), at_ms(1))) << "new data flows within pipe during recovery";
  // Two segments went out on the first two duplicate ACKs (pipe below cwnd), so recovery ends when
  // 12 segments are acknowledged. CUBIC: ssthresh = 10 * 717/1024 segments, cwnd = ssthresh.
  const AckRecord end = at_ack(acks_, server_isn_ + 1 + 12 * kMss);
  EXPECT_EQ(end.ssthresh, 7u);
  EXPECT_EQ(end.cwnd, 7u);
  tcp().close(s);
  sent();
}

TEST_F(RecoveryRenoTest, Sack_FirstSegmentLost_RenoHalvesTheWindow) {
  const int s = open_passive();
  run(s, 40 * kMss, drop_first_transmission_of({0}), at_s(10));
  ASSERT_EQ(retransmissions().size(), 1u);
  const AckRecord end = at_ack(acks_, server_isn_ + 1 + 12 * kMss);
  EXPECT_EQ(end.ssthresh, 5u) << "Reno: half of 10 segments";
  EXPECT_EQ(end.cwnd, 5u);
  tcp().close(s);
  sent();
}

TEST_F(RecoveryTest, Sack_MiddleSegmentLost_OnlyItResent) {
  const int s = open_passive();
  run(s, 40 * kMss, drop_first_transmission_of({5}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, 5 * kMss);
  EXPECT_EQ(r[0].when, at_ms(1));
  EXPECT_EQ(tcp().stats().get(TcpStat::kSackRecoveries), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  tcp().close(s);
  sent();
}

TEST_F(RecoveryTest, LastSegmentLost_NoDupAcks_RecoveredByTailLossProbe) {
  const int s = open_passive();
  run(s, 10 * kMss, drop_first_transmission_of({9}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, 9 * kMss);
  // The last ACK (1 ms) leaves one segment out: Linux's probe timeout is 2 SRTT + 200 ms (the
  // peer may be delaying its ACK), capped by the RTO = SRTT + max(4 * RTTVAR, 200 ms) =
  // 0.125 + 200 ms: due at 201.125 ms, the 202 ms tick. The probe resends the last segment; its
  // ACK (no D-SACK) shows a real loss was repaired.
  EXPECT_EQ(r[0].when, at_ms(202));
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kLossProbes), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kLossProbeRecoveries), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kFastRetransmits), 0u);
  tcp().close(s);
  sent();
}

TEST_F(RecoveryTest, Sack_SeveralHolesInOneWindow_EachResentOnceInOrder) {
  const int s = open_passive();
  run(s, 60 * kMss, drop_first_transmission_of({2, 5, 7}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].offset, 2 * kMss);
  EXPECT_EQ(r[1].offset, 5 * kMss);
  EXPECT_EQ(r[2].offset, 7 * kMss);
  EXPECT_EQ(tcp().stats().get(TcpStat::kSackRecoveries), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kBytesRetransmitted), 3u * kMss) << "nothing SACKed sent again";
  tcp().close(s);
  sent();
}

TEST_F(RecoveryTest, NewReno_TwoLosses_PartialAckResendsTheNextHoleAtOnce) {
  const int s = open_passive_without_sack();
  ASSERT_GE(s, 0);
  run(s, 40 * kMss, drop_first_transmission_of({2, 5}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].offset, 2 * kMss);
  EXPECT_EQ(r[0].when, at_ms(1)) << "third duplicate ACK (for segment 6)";
  EXPECT_EQ(r[1].offset, 5 * kMss);
  EXPECT_EQ(r[1].when, at_ms(2)) << "the partial ACK for the resent segment 2";
  EXPECT_EQ(tcp().stats().get(TcpStat::kRenoRecoveries), 1u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kSackRecoveries), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  tcp().close(s);
  sent();
}

TEST_F(RecoveryTest, DuplicateAcksBelowDupthresh_NoRetransmission) {
  const int s = open_passive();
  const Bytes data(10 * kMss, 'd');
  ASSERT_EQ(tcp().send(s, data), static_cast<long>(data.size()));
  ASSERT_EQ(sent().size(), 10u);
  advance_to(at_ms(1));
  const std::uint32_t una = server_isn_ + 1;
  peer_acks(una + kMss, 502);
  sent();
  // The same ACK three times more (duplicated by the network). With SACK on, an ACK that SACKs
  // nothing new is no duplicate ACK (RFC 6675 section 2; Linux counts SACKed segments, not ACKs).
  peer_acks(una + kMss, 502);
  peer_acks(una + kMss, 502);
  peer_acks(una + kMss, 502);
  EXPECT_TRUE(sent().empty());
  // Reordering: segment 3 before segment 2 (one SACKed duplicate), then the rest in order.
  wire::TcpOptions o;
  o.timestamps = wire::TcpTimestamps{300, 0};
  o.add_sack({una + 2 * kMss, una + 3 * kMss});
  peer_sends(ACK, kPeerIsn + 1, una + kMss, {}, o, 502);
  peer_acks(una + 10 * kMss, 502);
  sent();
  EXPECT_EQ(tcp().stats().get(TcpStat::kRetransmits), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kSackRecoveries), 0u);
  tcp().close(s);
  sent();
}

// Our ISN is F(4-tuple) + now / 64 ns (isn.h): starting the connection at the right instant puts
// SND.UNA just below 2^32, so the flight (and a loss in it) straddles the wrap.
TEST_F(RecoveryTest, Sack_LossAcrossSequenceWrap_Recovered) {
  const IsnGenerator isn(std::array<std::uint8_t, 16>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  const std::uint32_t f = isn.next(kLocalIp, kPort, kPeerIp, kPeerPort, Instant{}).raw();
  const std::uint32_t target = 0u - 20000u;  // between 20000 and 4375 bytes before the wrap
  const std::uint64_t ms = ((target - f) + 15624u) / 15625u;  // 15625 ticks of 64 ns per ms
  advance_to(at_ms(static_cast<std::int64_t>(ms)));
  const int s = open_passive();
  const std::uint32_t una = server_isn_ + 1;
  ASSERT_GT(una, 0u - 20001u) << "SND.UNA " << una;
  ASSERT_LT(una, 0u - 4000u) << "SND.UNA " << una;
  const std::uint32_t wrap_segment = (0u - una) / kMss;
  run(s, 40 * kMss, drop_first_transmission_of({wrap_segment, wrap_segment + 1}), wheel_.now() + std::chrono::seconds(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].offset, wrap_segment * kMss);
  EXPECT_EQ(r[1].offset, (wrap_segment + 1) * kMss);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  tcp().close(s);
  sent();
}

// 100 seeds: every data segment (first sent or resent) lost with probability 5%, ACKs never.
TEST_F(RecoveryTest, RandomLoss5Percent_100Seeds_ByteExactWithoutLongStalls) {
  for (std::uint32_t seed = 1; seed <= 100; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TearDown();
    SetUp();
    trace_.clear();
    acks_.clear();
    const int s = open_passive();
    std::mt19937 rng(seed);
    std::bernoulli_distribution lose(0.05);
    const Instant start = wheel_.now();
    run(s, 300 * kMss, [&](std::uint32_t, std::uint32_t, bool) { return lose(rng); }, start + std::chrono::seconds(120));
    // No stall longer than a few RTOs: the longest silence between two data segments stays
    // below 200 + 400 + 800 ms (a retransmission lost twice).
    Duration worst{0};
    for (std::size_t k = 1; k < trace_.size(); ++k) worst = std::max(worst, trace_[k].when - trace_[k - 1].when);
    EXPECT_LT(worst, milliseconds(1500)) << "a silence of " << worst.count() / 1'000'000 << " ms";
    EXPECT_EQ(tcp().stats().get(TcpStat::kAbortOnTimeout), 0u);
    tcp().close(s);
    sent();
  }
}

}  // namespace
}  // namespace synwave::tcp::testing

namespace synwave::tcp::testing {
namespace {

TEST_F(RecoveryTest, Sack_HoleWithTooFewSacksAbove_ResentOnThePartialAckOfTheHead) {
  // Segments 0 and 7 of a 10-segment transfer are lost. SACKs of 1..6 start recovery and resend
  // segment 0; its ACK is partial (up to 7), and only 8 and 9 are SACKed above 7: RFC 6675's
  // IsLost() says no, and no new data is left to send. But 7 was first sent before the resent 0,
  // which has arrived: 7 is lost (RACK's rule) and goes at once instead of after an RTO.
  const int s = open_passive();
  run(s, 10 * kMss, drop_first_transmission_of({0, 7}), at_s(10));
  const auto r = retransmissions();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].offset, 0u);
  EXPECT_EQ(r[1].offset, 7 * kMss);
  EXPECT_LE(r[1].when, at_ms(3)) << "on the partial ACK, not at an RTO";
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kLossProbes), 0u);
  tcp().close(s);
  sent();
}

}  // namespace
}  // namespace synwave::tcp::testing
