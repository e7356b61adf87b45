// Two synwave TCP stacks talking over a simulated link that loses, duplicates, delays and reorders
// datagrams, in virtual time, for many random seeds. Each run moves a stream each way at once and
// closes both ends; the bytes must arrive exactly, both ends must see the end of the stream, and
// every mbuf must come back. A failing seed is printed and can be replayed alone
// (SYNWAVE_SIM_SEED=N). For experiments: SYNWAVE_SIM_LOSS=0.1 (a fixed loss rate each way, 50 us
// delay, instead of the seed's profile), SYNWAVE_SIM_BYTES=N (per direction), SYNWAVE_SIM_VERBOSE=1
// (both stacks' recovery counters and the virtual time taken).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {
namespace {

using std::chrono::milliseconds;

constexpr Ipv4Addr kClientIp{0xc6120001};  // 198.18.0.1
constexpr Ipv4Addr kServerIp{0xc6120002};  // 198.18.0.2
constexpr std::uint16_t kServerPort = 5001;

struct LinkProfile {
  double loss = 0, duplicate = 0, reorder = 0;
  Duration delay{milliseconds(5)};
  std::string describe() const {
    return "loss " + std::to_string(loss) + " dup " + std::to_string(duplicate) + " reorder " +
           std::to_string(reorder) + " delay " + std::to_string(to_ms(delay)) + " ms";
  }
};

// Byte i of a stream: position-dependent, so a lost, duplicated or misplaced byte shows.
std::uint8_t pattern(std::uint64_t stream, std::size_t i) {
  std::uint64_t x = (i / 8 + 1) * 0x9e3779b97f4a7c15ull ^ stream;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return static_cast<std::uint8_t>(x >> (8 * (i % 8)));
}

// One end: a socket that sends its stream, reads and checks the other's, then closes.
struct Endpoint {
  StackHarness* stack = nullptr;
  int socket = -1;
  std::uint64_t out_stream = 0, in_stream = 0;
  std::size_t to_send = 0, sent = 0, received = 0;
  std::size_t first_mismatch = SIZE_MAX;
  bool shut = false, eof = false, closed = false;
  int error = 0;

  void step() {
    if (socket < 0 || closed) return;
    TcpStack& tcp = **stack;
    std::uint8_t buf[16384];
    while (sent < to_send) {
      const std::size_t n = std::min(sizeof buf, to_send - sent);
      for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(out_stream, sent + i);
      const long r = tcp.send(socket, {buf, n});
      if (r <= 0) {
        if (r != -EAGAIN) error = static_cast<int>(-r);
        break;
      }
      sent += static_cast<std::size_t>(r);
    }
    if (sent == to_send && !shut) {
      shut = true;
      tcp.shutdown(socket, Shutdown::kWrite);
    }
    while (!eof) {
      const long r = tcp.recv(socket, buf);
      if (r == -EAGAIN) break;
      if (r < 0) {
        error = static_cast<int>(-r);
        break;
      }
      if (r == 0) {
        eof = true;
        break;
      }
      for (long i = 0; i < r; ++i)
        if (buf[i] != pattern(in_stream, received + static_cast<std::size_t>(i)) && first_mismatch == SIZE_MAX)
          first_mismatch = received + static_cast<std::size_t>(i);
      received += static_cast<std::size_t>(r);
    }
    if (eof && shut && !closed && sent == to_send) {
      closed = true;
      tcp.close(socket);
    }
  }
};

struct RunResult {
  bool completed = false;
  std::string failure;
  Duration took{};
  std::uint64_t retransmits = 0;
};

class Simulation {
 public:
  Simulation(std::uint64_t seed, LinkProfile link, std::size_t bytes_each_way)
      : rng_(seed), link_(link), seed_(seed), bytes_(bytes_each_way) {
    Sysctl sysctl;
    sysctl.tcp_retries2 = 30;  // a very lossy link must not abort the run
    // The clock starts somewhere different per seed: other ISNs and timestamps each time.
    wheel_.advance(instant_from_ns(static_cast<std::int64_t>(seed % 1000) * 1'000'000'000));
    client_ = std::make_unique<StackHarness>(kClientIp, sysctl, wheel_, "simc" + std::to_string(seed));
    server_ = std::make_unique<StackHarness>(kServerIp, sysctl, wheel_, "sims" + std::to_string(seed));
  }

  RunResult run(Duration limit) {
    RunResult result;
    TcpStack& server = **server_;
    TcpStack& client = **client_;
    const int listener = server.socket();
    server.bind(listener, {Ipv4Addr{0}, kServerPort});
    server.listen(listener, 16);
    Endpoint a{.stack = client_.get(), .out_stream = seed_ * 2 + 1, .in_stream = seed_ * 2 + 2, .to_send = bytes_};
    Endpoint b{.stack = server_.get(), .out_stream = seed_ * 2 + 2, .in_stream = seed_ * 2 + 1, .to_send = bytes_};
    a.socket = client.socket();
    client.connect(a.socket, {kServerIp, kServerPort});
    const Instant start = wheel_.now();
    const Instant deadline = start + limit;
    while (wheel_.now() < deadline) {
      if (b.socket < 0) b.socket = server.accept(listener);
      a.step();
      b.step();
      carry(*client_, *server_);
      carry(*server_, *client_);
      if (a.closed && b.closed && in_flight_.empty()) break;
      // Advance to the next delivery, or by a millisecond to let timers run.
      Instant next = wheel_.now() + milliseconds(1);
      if (!in_flight_.empty()) next = std::min(next, in_flight_.begin()->first.first);
      if (next <= wheel_.now()) next = wheel_.now() + std::chrono::microseconds(1);
      wheel_.advance(next);
      while (!in_flight_.empty() && in_flight_.begin()->first.first <= wheel_.now()) {
        auto node = in_flight_.extract(in_flight_.begin());
        node.mapped().to->deliver(node.mapped().datagram);
      }
    }
    result.took = wheel_.now() - start;
    result.retransmits = client.stats().get(TcpStat::kRetransmits) + server.stats().get(TcpStat::kRetransmits);
    if (std::getenv("SYNWAVE_SIM_VERBOSE")) {
      for (auto* st : {&client, &server}) {
        std::printf("took %lld ms:", (long long)to_ms(wheel_.now() - start));
        for (std::size_t i = 0; i < kTcpStatNames.size(); ++i)
          if (st->stats().get(i) != 0 && i >= static_cast<std::size_t>(TcpStat::kBytesRetransmitted)) std::printf(" %s=%llu", std::string(kTcpStatNames[i]).c_str(), (unsigned long long)st->stats().get(i));
        std::printf("\n");
      }
    }
    for (const Endpoint* e : {&a, &b}) {
      const std::string who = e == &a ? "client" : "server";
      if (e->error != 0) result.failure += who + " error " + std::to_string(e->error) + "; ";
      if (e->first_mismatch != SIZE_MAX)
        result.failure += who + " read a wrong byte at " + std::to_string(e->first_mismatch) + "; ";
      if (e->received != bytes_)
        result.failure += who + " received " + std::to_string(e->received) + " of " + std::to_string(bytes_) + "; ";
      if (!e->eof) result.failure += who + " saw no end of stream; ";
    }
    result.completed = result.failure.empty();
    server.close(listener);
    // Let TIME_WAIT and any last retransmissions run out, then every mbuf is back.
    for (int i = 0; i < 200 && (client_->pending() || server_->pending() || !in_flight_.empty()); ++i) {
      client_->take();
      server_->take();
      in_flight_.clear();
      wheel_.advance(wheel_.now() + std::chrono::seconds(1));
    }
    return result;
  }

 private:
  struct Datagram {
    StackHarness* to;
    Bytes datagram;
  };

  // What `from` sent goes over the link towards `to`.
  void carry(StackHarness& from, StackHarness& to) {
    std::uniform_real_distribution<double> u(0, 1);
    for (Sent& s : from.take()) {
      if (u(rng_) < link_.loss) continue;
      const int copies = u(rng_) < link_.duplicate ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        Duration delay = link_.delay;
        // A reordered datagram takes up to three times as long: later ones overtake it.
        if (u(rng_) < link_.reorder)
          delay += std::chrono::duration_cast<Duration>(link_.delay * (3 * u(rng_)));
        in_flight_.emplace(std::make_pair(wheel_.now() + delay, order_++), Datagram{&to, s.datagram});
      }
    }
  }

  TimerWheel wheel_{milliseconds(1)};
  std::mt19937_64 rng_;
  LinkProfile link_;
  std::uint64_t seed_;
  std::size_t bytes_;
  std::unique_ptr<StackHarness> client_, server_;
  std::map<std::pair<Instant, std::uint64_t>, Datagram> in_flight_;
  std::uint64_t order_ = 0;
};

LinkProfile profile_for(std::uint64_t seed) {
  if (std::getenv("SYNWAVE_SIM_LOSS")) {
    LinkProfile p;
    p.loss = std::atof(std::getenv("SYNWAVE_SIM_LOSS"));
    p.delay = std::chrono::microseconds(50);
    return p;
  }
  std::mt19937_64 rng(seed * 7919);
  std::uniform_real_distribution<double> u(0, 1);
  LinkProfile p;
  p.loss = 0.10 * u(rng);
  p.duplicate = 0.05 * u(rng);
  p.reorder = 0.20 * u(rng);
  p.delay = milliseconds(1 + static_cast<int>(20 * u(rng)));
  return p;
}

class SimulationTest : public ::testing::Test {
 protected:
  void SetUp() override { in_use_before_ = rte_mempool_in_use_count(test_pool()); }
  void TearDown() override { EXPECT_EQ(rte_mempool_in_use_count(test_pool()), in_use_before_) << "mbufs leaked"; }
  unsigned in_use_before_ = 0;
};

TEST_F(SimulationTest, CleanLink_BothStreamsArriveExactly) {
  Simulation sim(1, LinkProfile{}, 1 << 20);
  const RunResult r = sim.run(std::chrono::seconds(60));
  EXPECT_TRUE(r.completed) << r.failure;
  EXPECT_EQ(r.retransmits, 0u);
}

TEST_F(SimulationTest, LossyReorderingDuplicatingLinks_ManySeeds_BothStreamsArriveExactly) {
  std::uint64_t first = 1, last = 200;
  if (const char* one = std::getenv("SYNWAVE_SIM_SEED")) first = last = std::strtoull(one, nullptr, 10);
  Duration slowest{};
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const LinkProfile link = profile_for(seed);
    Simulation sim(seed, link, std::getenv("SYNWAVE_SIM_BYTES") ? std::strtoull(std::getenv("SYNWAVE_SIM_BYTES"), nullptr, 10) : 256 << 10);
    const RunResult r = sim.run(std::chrono::seconds(600));
    EXPECT_TRUE(r.completed) << "seed " << seed << " (" << link.describe() << "): " << r.failure;
    // 256 KiB each way needs a few seconds of virtual time even at 10% loss; a minute means a stall.
    EXPECT_LT(r.took, std::chrono::seconds(60)) << "seed " << seed << " (" << link.describe() << ")";
    slowest = std::max(slowest, r.took);
    if (HasFailure()) break;
  }
  std::printf("slowest run: %lld ms of virtual time\n", static_cast<long long>(to_ms(slowest)));
}

}  // namespace
}  // namespace synwave::tcp::testing
