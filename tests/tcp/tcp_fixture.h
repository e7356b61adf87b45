// Virtual-time fixtures for the TCP layer: a TcpStack whose peer is the test (segments built by
// hand, segments sent captured with the instant they left), and a pair of stacks joined by a link
// that can lose chosen segments. Time moves only when the test says so.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tcp/tcp_stack.h"
#include "timer/timer_wheel.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace synwave::tcp::testing {

using Bytes = std::vector<std::uint8_t>;
using wire::TcpFlags;

inline constexpr std::uint8_t SYN = TcpFlags::kSyn, ACK = TcpFlags::kAck, FIN = TcpFlags::kFin,
                              RST = TcpFlags::kRst, PSH = TcpFlags::kPsh;

inline const Ipv4Addr kLocalIp = *parse_ipv4("198.18.0.2");
inline const Ipv4Addr kPeerIp = *parse_ipv4("198.18.0.1");

// The secret every fixture's stack uses for ISNs, timestamp offsets and SYN cookies.
inline constexpr std::array<std::uint8_t, 16> kTestSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

inline Instant at_ms(std::int64_t ms) { return instant_from_ns(ms * 1'000'000); }
inline Instant at_s(std::int64_t s) { return at_ms(s * 1000); }

// A segment as it went over the wire, decoded.
struct Sent {
  Instant when;
  Ipv4Addr src, dst;
  std::uint8_t ttl = 0;
  wire::TcpRepr tcp;
  Bytes payload;
  Bytes datagram;  // the whole IPv4 datagram, for relaying

  std::uint32_t seq() const { return tcp.seq; }
  std::uint32_t ack() const { return tcp.ack; }
  std::uint8_t flags() const { return tcp.flags.bits; }
  bool is(std::uint8_t f) const { return tcp.flags.bits == f; }
  std::string describe() const {
    return wire::format_tcp_flags(tcp.flags) + " seq " + std::to_string(tcp.seq) + " ack " + std::to_string(tcp.ack) +
           " at " + std::to_string(to_ns(when) / 1'000'000) + " ms";
  }
};

inline Sent decode(const std::uint8_t* p, std::size_t len, Instant when) {
  Sent s;
  s.when = when;
  s.datagram.assign(p, p + len);
  auto ip = wire::Ipv4View::parse({p, len});
  EXPECT_TRUE(ip.ok()) << "the stack sent an invalid IPv4 header";
  if (!ip.ok()) return s;
  s.src = ip->src();
  s.dst = ip->dst();
  s.ttl = ip->ttl();
  auto tcp = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
  EXPECT_TRUE(tcp.ok()) << "the stack sent an invalid TCP segment (checksum?)";
  if (!tcp.ok()) return s;
  auto options = wire::parse_tcp_options(tcp->options());
  EXPECT_TRUE(options.ok()) << "the stack sent malformed options";
  s.tcp = wire::TcpRepr::from(*tcp, options.ok() ? *options : wire::TcpOptions{});
  s.payload.assign(tcp->payload().begin(), tcp->payload().end());
  return s;
}

// The EAL-backed pool every fixture draws from (the EAL is started by dpdk_test_main.cc).
inline rte_mempool* test_pool() {
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("tcp_test_pool", 16383, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

// One stack on a virtual clock; its output is captured.
class StackHarness {
 public:
  StackHarness(Ipv4Addr address, Sysctl sysctl, TimerWheel& wheel, const std::string& name,
               unsigned max_sockets = 256, unsigned max_half_open = 0,
               TcpStack::Params::FlowAffinity affinity = {})
      : wheel_(wheel) {
    TcpStack::Params params;
    params.address = address;
    params.sysctl = sysctl;
    params.pool = test_pool();
    params.max_sockets = max_sockets;
    params.max_half_open = max_half_open;
    params.table_name = name;
    params.isn_secret = kTestSecret;
    params.affinity = affinity;
    auto stack = TcpStack::create(params, wheel, &StackHarness::capture, this);
    EXPECT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  ~StackHarness() { stack_.reset(); }

  TcpStack& operator*() { return *stack_; }
  TcpStack* operator->() { return stack_.get(); }

  // Hands an IPv4 datagram to the stack.
  void deliver(const Bytes& datagram) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(datagram.size())), datagram.data(), datagram.size());
    auto ip = wire::Ipv4View::parse({rte_pktmbuf_mtod(m, const std::uint8_t*), datagram.size()});
    ASSERT_TRUE(ip.ok());
    stack_->input(m, *ip);
  }

  // Segments sent since the last call.
  std::vector<Sent> take() {
    std::vector<Sent> out(sent_.begin(), sent_.end());
    sent_.clear();
    return out;
  }
  std::size_t pending() const { return sent_.size(); }

 private:
  static void capture(void* self, rte_mbuf* m, Ipv4Addr) {
    auto* h = static_cast<StackHarness*>(self);
    h->sent_.push_back(decode(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m), h->wheel_.now()));
    rte_pktmbuf_free(m);
  }

  TimerWheel& wheel_;
  std::unique_ptr<TcpStack> stack_;
  std::deque<Sent> sent_;
};

// A TcpStack at 198.18.0.2 whose peer (198.18.0.1) is the test.
class TcpTest : public ::testing::Test {
 protected:
  static constexpr std::uint16_t kPort = 8080;
  static constexpr std::uint16_t kPeerPort = 40000;
  static constexpr std::uint32_t kPeerIsn = 1000000;

  virtual Sysctl sysctl() const { return Sysctl{}; }
  virtual unsigned max_sockets() const { return 256; }
  virtual unsigned max_half_open() const { return 0; }  // 0: as many as sockets

  void SetUp() override {
    ASSERT_NE(test_pool(), nullptr);
    in_use_before_ = rte_mempool_in_use_count(test_pool());
    stack_ = std::make_unique<StackHarness>(kLocalIp, sysctl(), wheel_, "tcp_" + std::to_string(serial_++),
                                            max_sockets(), max_half_open());
  }

  void TearDown() override {
    stack_.reset();
    // Every mbuf went back: received payload, queued data, segments sent.
    EXPECT_EQ(rte_mempool_in_use_count(test_pool()), in_use_before_) << "mbufs leaked";
  }

  TcpStack& tcp() { return **stack_; }

  void advance_to(Instant t) { wheel_.advance(t); }

  // The peer sends a segment to the stack.
  void peer_sends(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, const Bytes& payload = {},
                  wire::TcpOptions options = {}, std::uint16_t window = 65535, std::uint16_t from_port = kPeerPort,
                  std::uint16_t to_port = kPort) {
    wire::TcpRepr tcp{.src_port = from_port, .dst_port = to_port, .seq = seq, .ack = ack,
                      .flags = TcpFlags{flags}, .window = window, .urgent = 0, .options = options};
    const std::size_t tcp_len = tcp.header_len() + payload.size();
    Bytes datagram(20 + tcp_len);
    std::copy(payload.begin(), payload.end(), datagram.begin() + 20 + tcp.header_len());
    ASSERT_TRUE(tcp.emit({datagram.data() + 20, tcp_len}, kPeerIp, kLocalIp).ok());
    wire::Ipv4Repr ip{.src = kPeerIp, .dst = kLocalIp, .protocol = wire::IpProtocol::kTcp, .payload_len = tcp_len};
    ASSERT_TRUE(ip.emit({datagram.data(), 20}).ok());
    stack_->deliver(datagram);
  }

  // Linux's SYN options: <mss 1460, sackOK, TS val 100 ecr 0, nop, wscale 7>.
  static wire::TcpOptions linux_syn_options(std::uint32_t tsval = 100) {
    wire::TcpOptions o;
    o.mss = 1460;
    o.sack_permitted = true;
    o.timestamps = wire::TcpTimestamps{tsval, 0};
    o.window_scale = 7;
    return o;
  }

  std::vector<Sent> sent() { return stack_->take(); }

  // Expects exactly one segment to have been sent and returns it.
  Sent one_sent() {
    auto s = sent();
    if (s.size() != 1) {
      std::string all;
      for (const auto& x : s) all += "\n  " + x.describe();
      ADD_FAILURE() << "expected one segment, got " << s.size() << ":" << all;
    }
    return s.empty() ? Sent{} : s.front();
  }

  // A listener on kPort with `backlog`.
  int listen(int backlog = 128, bool reuse = false) {
    const int s = tcp().socket();
    EXPECT_GE(s, 0);
    if (reuse) {
      EXPECT_EQ(tcp().setsockopt(s, SockOpt::kReuseAddr, 1), 0);
    }
    EXPECT_EQ(tcp().bind(s, {Ipv4Addr{0}, kPort}), 0);
    EXPECT_EQ(tcp().listen(s, backlog), 0);
    return s;
  }

  // A passive open completed by the peer; returns the accepted socket. The stack's ISN is in
  // server_isn_.
  int accept_from_peer(int listener, std::uint16_t peer_port = kPeerPort) {
    peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, peer_port);
    Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    server_isn_ = synack.seq();
    wire::TcpOptions ts;
    ts.timestamps = wire::TcpTimestamps{101, synack.tcp.options.timestamps ? synack.tcp.options.timestamps->val : 0};
    peer_sends(ACK, kPeerIsn + 1, server_isn_ + 1, {}, ts, 502, peer_port);
    EXPECT_TRUE(sent().empty());
    const int s = tcp().accept(listener);
    EXPECT_GE(s, 0);
    return s;
  }

  // A passive open completed by the peer and left in the accept queue.
  void accept_from_peer_no_accept(int listener, std::uint16_t peer_port) {
    (void)listener;
    peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, peer_port);
    Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    peer_sends(ACK, kPeerIsn + 1, synack.seq() + 1, {}, peer_ts(), 502, peer_port);
    EXPECT_TRUE(sent().empty());
  }

  // An active open to the peer's port 9000 completed by the peer; returns the socket.
  int connect_to_peer() {
    const int s = tcp().socket();
    EXPECT_EQ(tcp().connect(s, {kPeerIp, 9000}), -EINPROGRESS);
    Sent syn = one_sent();
    EXPECT_TRUE(syn.is(SYN));
    client_isn_ = syn.seq();
    client_port_ = syn.tcp.src_port;
    wire::TcpOptions o = linux_syn_options();
    o.timestamps->ecr = syn.tcp.options.timestamps ? syn.tcp.options.timestamps->val : 0;
    peer_sends(SYN | ACK, kPeerIsn, client_isn_ + 1, {}, o, 65160, 9000, client_port_);
    Sent ack = one_sent();
    EXPECT_TRUE(ack.is(ACK)) << ack.describe();
    EXPECT_EQ(tcp().state(s), State::kEstablished);
    return s;
  }

  // Peer segments on an established passive connection carry the timestamps the stack expects.
  wire::TcpOptions peer_ts(std::uint32_t tsval = 200) {
    wire::TcpOptions o;
    o.timestamps = wire::TcpTimestamps{tsval, 0};
    return o;
  }

  TimerWheel wheel_{std::chrono::milliseconds(1)};
  std::unique_ptr<StackHarness> stack_;
  std::uint32_t server_isn_ = 0;
  std::uint32_t client_isn_ = 0;
  std::uint16_t client_port_ = 0;
  unsigned in_use_before_ = 0;
  static inline int serial_ = 0;
};

}  // namespace synwave::tcp::testing
