// The embedding interface's mechanics: datagrams in and out as bytes, virtual time, blocking calls
// woken from another thread, the C API. TCP behaviour itself is tested in tests/tcp.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "embed/host.h"
#include "embed/synwave_embed.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace synwave::embed {
namespace {

using Bytes = std::vector<std::uint8_t>;
using wire::TcpFlags;

const Ipv4Addr kHostIp = *parse_ipv4("198.18.0.2");
const Ipv4Addr kPeerIp = *parse_ipv4("198.18.0.1");
constexpr std::uint16_t kPort = 8080;
constexpr std::uint16_t kPeerPort = 40000;
constexpr std::uint32_t kPeerIsn = 1000;
// Real-time bound on anything a test waits for from another thread.
constexpr auto kRealTimeout = std::chrono::seconds(10);

// A TCP segment from `src` to `dst` in an IPv4 datagram, built with the wire builders.
Bytes datagram(const wire::TcpRepr& tcp, Ipv4Addr src = kPeerIp, Ipv4Addr dst = kHostIp,
               std::span<const std::uint8_t> payload = {}) {
  const std::size_t tcp_len = tcp.header_len() + payload.size();
  Bytes out(wire::Ipv4Repr::header_len() + tcp_len);
  std::span<std::uint8_t> segment = std::span(out).subspan(wire::Ipv4Repr::header_len());
  std::copy(payload.begin(), payload.end(), segment.begin() + static_cast<long>(tcp.header_len()));
  const wire::Ipv4Repr ip{.src = src, .dst = dst, .protocol = wire::IpProtocol::kTcp,
                          .payload_len = tcp_len};
  EXPECT_TRUE(ip.emit(out).ok());
  EXPECT_TRUE(tcp.emit(segment, src, dst).ok());
  return out;
}

Bytes syn(std::uint16_t src_port = kPeerPort, std::uint32_t isn = kPeerIsn,
          std::uint16_t dst_port = kPort) {
  wire::TcpRepr tcp{.src_port = src_port, .dst_port = dst_port, .seq = isn,
                    .flags = TcpFlags{TcpFlags::kSyn}, .window = 65535};
  tcp.options.mss = 1460;
  return datagram(tcp);
}

Bytes bare_ack(std::uint16_t src_port, std::uint32_t seq, std::uint32_t ack,
               std::uint16_t dst_port = kPort) {
  return datagram(wire::TcpRepr{.src_port = src_port, .dst_port = dst_port, .seq = seq, .ack = ack,
                                .flags = TcpFlags{TcpFlags::kAck}, .window = 65535});
}

// An output datagram taken apart.
struct Segment {
  wire::Ipv4Repr ip;
  wire::TcpRepr tcp;
};

Segment parse(const Bytes& bytes) {
  auto ip = wire::Ipv4View::parse(bytes);
  EXPECT_TRUE(ip.ok());
  if (!ip.ok()) return {};
  EXPECT_EQ(ip->protocol(), wire::IpProtocol::kTcp);
  auto tcp = wire::TcpView::parse(ip->payload(), ip->src(), ip->dst());
  EXPECT_TRUE(tcp.ok());
  if (!tcp.ok()) return {};
  return Segment{wire::Ipv4Repr::from(*ip),
                 wire::TcpRepr::from(*tcp, wire::parse_tcp_options_lenient(tcp->options()))};
}

class EmbedTest : public ::testing::Test {
 protected:
  static constexpr Instant kStart = Instant{} + std::chrono::seconds(1000);

  void SetUp() override {
    auto created = Host::create(Host::Options{.address = kHostIp, .start = kStart});
    ASSERT_TRUE(created.ok()) << created.status();
    host_ = std::move(*created);
  }

  // A listener on kPort; non-blocking unless asked, so that a broken stack fails the test instead
  // of hanging it.
  int listener(bool blocking = false) {
    const int s = host_->socket();
    EXPECT_GE(s, 0);
    EXPECT_EQ(host_->bind(s, tcp::Endpoint{Ipv4Addr{}, kPort}), 0);
    EXPECT_EQ(host_->listen(s, 16), 0);
    if (!blocking) {
      EXPECT_EQ(host_->set_nonblocking(s, true), 0);
    }
    return s;
  }

  // Injects a SYN, expects exactly one SYN-ACK and returns it.
  Segment syn_ack_for(std::uint16_t peer_port) {
    EXPECT_EQ(host_->inject(syn(peer_port)), InjectResult::kDelivered);
    std::vector<Bytes> out = host_->take_output();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Segment{} : parse(out.front());
  }

  // A whole passive handshake from peer_port; returns the SYN-ACK.
  Segment handshake(std::uint16_t peer_port) {
    Segment synack = syn_ack_for(peer_port);
    EXPECT_EQ(host_->inject(bare_ack(peer_port, kPeerIsn + 1, synack.tcp.seq + 1)),
              InjectResult::kDelivered);
    return synack;
  }

  // Waits (real time) until `n` calls are blocked inside the Host.
  bool wait_blocked(std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + kRealTimeout;
    while (host_->blocked_calls() < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // The result of a call running on another thread; interrupts the Host if it never returns.
  template <typename T>
  T finish(std::future<T>& call) {
    if (call.wait_for(kRealTimeout) != std::future_status::ready) {
      ADD_FAILURE() << "the blocked call did not return; interrupting it";
      host_->interrupt();
    }
    return call.get();
  }

  std::unique_ptr<Host> host_;
};

TEST_F(EmbedTest, Create_StartsAtTheGivenInstant_NothingPending) {
  EXPECT_EQ(host_->now(), kStart);
  EXPECT_TRUE(host_->take_output().empty());
  EXPECT_EQ(host_->next_output(), std::nullopt);
}

TEST_F(EmbedTest, Create_BadMtu_InvalidArgument) {
  auto host = Host::create(Host::Options{.address = kHostIp, .mtu = 20});
  EXPECT_EQ(host.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EmbedTest, Inject_NotForTcp_CountedAndDropped) {
  Bytes good = syn();
  Bytes truncated(good.begin(), good.begin() + 10);
  Bytes bad_checksum = good;
  bad_checksum[10] ^= 0xff;
  Bytes udp = good;
  udp[9] = 17;
  udp[10] = udp[11] = 0;
  const wire::Ipv4Repr udp_ip{.src = kPeerIp, .dst = kHostIp, .protocol = wire::IpProtocol::kUdp,
                              .payload_len = good.size() - 20};
  ASSERT_TRUE(udp_ip.emit(udp).ok());
  wire::TcpRepr tcp{.src_port = kPeerPort, .dst_port = kPort, .seq = kPeerIsn,
                    .flags = TcpFlags{TcpFlags::kSyn}};
  Bytes elsewhere = datagram(tcp, kPeerIp, *parse_ipv4("198.18.0.3"));
  Bytes huge(4000, 0);

  EXPECT_EQ(host_->inject(truncated), InjectResult::kMalformed);
  EXPECT_EQ(host_->inject(bad_checksum), InjectResult::kMalformed);
  EXPECT_EQ(host_->inject({}), InjectResult::kMalformed);
  EXPECT_EQ(host_->inject(udp), InjectResult::kNotTcp);
  EXPECT_EQ(host_->inject(elsewhere), InjectResult::kNotForUs);
  EXPECT_EQ(host_->inject(huge), InjectResult::kTooBig);

  const auto& counters = host_->inject_counters();
  EXPECT_EQ(counters.get(InjectResult::kMalformed), 3u);
  EXPECT_EQ(counters.get(InjectResult::kNotTcp), 1u);
  EXPECT_EQ(counters.get(InjectResult::kNotForUs), 1u);
  EXPECT_EQ(counters.get(InjectResult::kTooBig), 1u);
  EXPECT_EQ(counters.get(InjectResult::kDelivered), 0u);
  EXPECT_TRUE(host_->take_output().empty());
  EXPECT_EQ(host_->mbufs_in_use(), 0u) << "dropped datagrams must give their mbuf back";
}

TEST_F(EmbedTest, Listen_SynInjected_ExactlyOneSynAckOut) {
  listener();
  ASSERT_EQ(host_->inject(syn()), InjectResult::kDelivered);
  std::vector<Bytes> out = host_->take_output();
  ASSERT_EQ(out.size(), 1u);
  const Segment synack = parse(out.front());
  EXPECT_EQ(synack.ip.src, kHostIp);
  EXPECT_EQ(synack.ip.dst, kPeerIp);
  EXPECT_EQ(synack.tcp.src_port, kPort);
  EXPECT_EQ(synack.tcp.dst_port, kPeerPort);
  EXPECT_EQ(synack.tcp.flags.bits, TcpFlags::kSyn | TcpFlags::kAck)
      << wire::format_tcp_flags(synack.tcp.flags);
  EXPECT_EQ(synack.tcp.ack, kPeerIsn + 1);
  EXPECT_TRUE(host_->take_output().empty()) << "take_output empties the queue";
}

TEST_F(EmbedTest, Listen_HandshakeInjected_AcceptReturnsSocket) {
  const int s = listener();
  EXPECT_EQ(host_->accept(s), -EAGAIN);
  handshake(kPeerPort);
  EXPECT_TRUE(host_->readiness(s) & tcp::kAcceptReady);
  tcp::Endpoint peer;
  const int c = host_->accept(s, &peer);
  ASSERT_GE(c, 0);
  EXPECT_EQ(peer, (tcp::Endpoint{kPeerIp, kPeerPort}));
  EXPECT_EQ(host_->state(c), tcp::State::kEstablished);
  EXPECT_EQ(host_->local_endpoint(c), (tcp::Endpoint{kHostIp, kPort}));
  EXPECT_TRUE(host_->take_output().empty()) << "a bare third ACK is not answered";
}

TEST_F(EmbedTest, SynAck_NotAcked_RetransmittedAtExactlyOneSecond) {
  listener();
  const Segment first = syn_ack_for(kPeerPort);
  ASSERT_TRUE(host_->next_timer().has_value());
  host_->advance_to(kStart + std::chrono::milliseconds(999));
  EXPECT_TRUE(host_->take_output().empty()) << "nothing before the initial RTO of 1 s";
  host_->advance_to(kStart + std::chrono::seconds(1));
  EXPECT_EQ(host_->now(), kStart + std::chrono::seconds(1));
  std::vector<Bytes> out = host_->take_output();
  ASSERT_EQ(out.size(), 1u);
  const Segment again = parse(out.front());
  EXPECT_EQ(again.tcp.flags.bits, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(again.tcp.seq, first.tcp.seq);
  EXPECT_EQ(again.tcp.ack, kPeerIsn + 1);
}

TEST_F(EmbedTest, SameOptions_TwoHosts_SameBytes) {
  listener();
  ASSERT_EQ(host_->inject(syn()), InjectResult::kDelivered);
  std::vector<Bytes> first = host_->take_output();

  auto other = Host::create(Host::Options{.address = kHostIp, .start = kStart});
  ASSERT_TRUE(other.ok()) << other.status();
  const int s = (*other)->socket();
  ASSERT_EQ((*other)->bind(s, tcp::Endpoint{Ipv4Addr{}, kPort}), 0);
  ASSERT_EQ((*other)->listen(s, 16), 0);
  ASSERT_EQ((*other)->inject(syn()), InjectResult::kDelivered);
  EXPECT_EQ((*other)->take_output(), first) << "the fixed ISN secret makes runs reproducible";
}

TEST_F(EmbedTest, BlockingAccept_HandshakeFromMainThread_Returns) {
  const int s = listener(/*blocking=*/true);
  tcp::Endpoint peer;
  std::future<int> accepted = std::async(std::launch::async, [&] { return host_->accept(s, &peer); });
  ASSERT_TRUE(wait_blocked(1));
  handshake(kPeerPort + 1);
  const int c = finish(accepted);
  ASSERT_GE(c, 0);
  EXPECT_EQ(peer.port, kPeerPort + 1);
  EXPECT_EQ(host_->blocked_calls(), 0u);
}

TEST_F(EmbedTest, BlockingAccept_Interrupted_ReturnsEintr) {
  const int s = listener(/*blocking=*/true);
  std::future<int> accepted = std::async(std::launch::async, [&] { return host_->accept(s); });
  ASSERT_TRUE(wait_blocked(1));
  host_->interrupt();
  EXPECT_EQ(finish(accepted), -EINTR);
}

TEST_F(EmbedTest, BlockingAccept_HostDestroyed_ReturnsEintr) {
  const int s = listener(/*blocking=*/true);
  Host* host = host_.get();
  std::future<int> accepted = std::async(std::launch::async, [=] { return host->accept(s); });
  ASSERT_TRUE(wait_blocked(1));
  host_.reset();  // waits for the blocked accept to leave
  ASSERT_EQ(accepted.wait_for(kRealTimeout), std::future_status::ready);
  EXPECT_EQ(accepted.get(), -EINTR);
}

TEST_F(EmbedTest, BlockingAccept_RecvTimeoutInVirtualTime_ReturnsEagain) {
  const int s = listener(/*blocking=*/true);
  ASSERT_EQ(host_->set_recv_timeout(s, std::chrono::milliseconds(100)), 0);
  std::future<int> accepted = std::async(std::launch::async, [&] { return host_->accept(s); });
  ASSERT_TRUE(wait_blocked(1));
  host_->advance_by(std::chrono::milliseconds(99));
  EXPECT_EQ(accepted.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "virtual time has not reached the timeout yet";
  host_->advance_by(std::chrono::milliseconds(1));
  EXPECT_EQ(finish(accepted), -EAGAIN);
}

TEST_F(EmbedTest, BlockingConnect_SynAckInjected_ReturnsZero) {
  const int s = host_->socket();
  ASSERT_GE(s, 0);
  std::future<int> connected = std::async(std::launch::async, [&] {
    return host_->connect(s, tcp::Endpoint{kPeerIp, 80});
  });
  ASSERT_TRUE(host_->wait_for_output(kRealTimeout)) << "the SYN";
  std::vector<Bytes> out = host_->take_output();
  ASSERT_EQ(out.size(), 1u);
  const Segment syn_out = parse(out.front());
  ASSERT_EQ(syn_out.tcp.flags.bits, TcpFlags::kSyn);
  EXPECT_EQ(syn_out.tcp.dst_port, 80);

  wire::TcpRepr synack{.src_port = 80, .dst_port = syn_out.tcp.src_port, .seq = 5000,
                       .ack = syn_out.tcp.seq + 1,
                       .flags = TcpFlags{TcpFlags::kSyn | TcpFlags::kAck}, .window = 65535};
  synack.options.mss = 1460;
  ASSERT_EQ(host_->inject(datagram(synack)), InjectResult::kDelivered);
  EXPECT_EQ(finish(connected), 0);
  EXPECT_EQ(host_->state(s), tcp::State::kEstablished);
}

TEST_F(EmbedTest, BlockingConnect_RstInjected_ReturnsEconnrefused) {
  const int s = host_->socket();
  ASSERT_GE(s, 0);
  std::future<int> connected = std::async(std::launch::async, [&] {
    return host_->connect(s, tcp::Endpoint{kPeerIp, 81});
  });
  ASSERT_TRUE(host_->wait_for_output(kRealTimeout));
  const Segment syn_out = parse(host_->take_output().front());
  ASSERT_EQ(host_->inject(datagram(wire::TcpRepr{
                .src_port = 81, .dst_port = syn_out.tcp.src_port, .seq = 0,
                .ack = syn_out.tcp.seq + 1, .flags = TcpFlags{TcpFlags::kRst | TcpFlags::kAck}})),
            InjectResult::kDelivered);
  EXPECT_EQ(finish(connected), -ECONNREFUSED);
}

TEST_F(EmbedTest, NonBlockingConnect_ReturnsEinprogress) {
  const int s = host_->socket();
  ASSERT_GE(s, 0);
  ASSERT_EQ(host_->set_nonblocking(s, true), 0);
  EXPECT_EQ(host_->connect(s, tcp::Endpoint{kPeerIp, 80}), -EINPROGRESS);
  EXPECT_EQ(host_->take_output().size(), 1u);
  EXPECT_EQ(host_->set_nonblocking(12345, true), -EBADF);
}

// ---- the C API ----------------------------------------------------------------------------------

TEST(EmbedCApi, Create_BadSysctlLine_NullWithTheCallersLineNumber) {
  char error[256] = {};
  synwave_host_config config{};
  config.address = "198.18.0.2";
  config.sysctl_lines = "net.ipv4.tcp_sack=1\nnet.ipv4.tcp_syn_retries=200\n";
  config.error = error;
  config.error_cap = sizeof(error);
  EXPECT_EQ(synwave_host_create_config(&config), nullptr);
  EXPECT_NE(std::string(error).find("sysctl_lines:2:"), std::string::npos) << error;
  EXPECT_NE(std::string(error).find("tcp_syn_retries"), std::string::npos) << error;

  EXPECT_EQ(synwave_host_create("198.18.0.300", nullptr), nullptr);
}

TEST(EmbedCApi, ListenInjectSyn_NextOutputIsTheSynAck) {
  synwave_host* host = synwave_host_create("198.18.0.2", "net.ipv4.tcp_synack_retries=2\n");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(synwave_host_now_ns(host), 0);
  EXPECT_EQ(synwave_host_next_timer_ns(host), -1);

  const int s = synwave_socket(host);
  ASSERT_GE(s, 0);
  EXPECT_EQ(synwave_bind(host, s, "0.0.0.0", kPort), 0);
  EXPECT_EQ(synwave_listen(host, s, 8), 0);
  EXPECT_EQ(synwave_state(host, s), SYNWAVE_TCP_LISTEN);
  EXPECT_EQ(synwave_set_nonblocking(host, s, 1), 0);
  EXPECT_EQ(synwave_accept(host, s, nullptr, nullptr), -EAGAIN);

  const Bytes in = syn();
  EXPECT_EQ(synwave_host_inject(host, in.data(), in.size()), 0);
  EXPECT_EQ(synwave_host_inject(host, in.data(), 10), -EINVAL);

  std::uint8_t small[20];
  EXPECT_EQ(synwave_host_next_output(host, small, sizeof(small)), -EMSGSIZE);
  std::uint8_t buf[2048];
  const long len = synwave_host_next_output(host, buf, sizeof(buf));
  ASSERT_GT(len, 40);
  const Segment synack = parse(Bytes(buf, buf + len));
  EXPECT_EQ(synack.tcp.flags.bits, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(synack.tcp.ack, kPeerIsn + 1);
  EXPECT_EQ(synwave_host_next_output(host, buf, sizeof(buf)), 0);

  // The SYN-ACK retransmission timer, in virtual time.
  const std::int64_t next = synwave_host_next_timer_ns(host);
  EXPECT_EQ(next, 1'000'000'000);
  EXPECT_GE(synwave_host_advance_ns(host, next), 1);
  EXPECT_EQ(synwave_host_now_ns(host), next);
  EXPECT_GT(synwave_host_next_output(host, buf, sizeof(buf)), 0);

  // The third ACK completes the handshake.
  const Bytes ack = bare_ack(kPeerPort, kPeerIsn + 1, synack.tcp.seq + 1);
  EXPECT_EQ(synwave_host_inject(host, ack.data(), ack.size()), 0);
  EXPECT_TRUE(synwave_readiness(host, s) & SYNWAVE_ACCEPT_READY);
  char peer[16];
  std::uint16_t peer_port = 0;
  const int c = synwave_accept(host, s, peer, &peer_port);
  ASSERT_GE(c, 0);
  EXPECT_STREQ(peer, "198.18.0.1");
  EXPECT_EQ(peer_port, kPeerPort);
  EXPECT_EQ(synwave_state(host, c), SYNWAVE_TCP_ESTABLISHED);
  char local[16];
  std::uint16_t local_port = 0;
  EXPECT_EQ(synwave_getsockname(host, c, local, &local_port), 0);
  EXPECT_STREQ(local, "198.18.0.2");
  EXPECT_EQ(local_port, kPort);
  EXPECT_EQ(synwave_setsockopt(host, c, 999, 1), -ENOPROTOOPT);
  EXPECT_EQ(synwave_close(host, c), 0);
  EXPECT_EQ(synwave_close(host, s), 0);
  synwave_host_destroy(host);
}

}  // namespace
}  // namespace synwave::embed
