// The engine side of the shim (lib/shim/shim_engine.cc) over a real TcpStack in virtual time.
//
// The test plays three parts: the attach thread (it fills an AppTable slot by hand, as
// ShimService::handle_attach does, and moves it through kLive / kDying / kFree), the client
// library (it pushes Requests, reads Completions, Events, accept entries and the byte rings of
// the region), and the TCP peer (segments built by hand, segments sent captured).
#include "shim/shim_engine.h"

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../tcp/tcp_fixture.h"
#include "shim/app_table.h"
#include "shim/shim_abi.h"
#include "shim/shim_rings.h"

namespace synwave::shim {
namespace {

using tcp::testing::ACK;
using tcp::testing::at_ms;
using tcp::testing::Bytes;
using tcp::testing::FIN;
using tcp::testing::kLocalIp;
using tcp::testing::kPeerIp;
using tcp::testing::PSH;
using tcp::testing::RST;
using tcp::testing::Sent;
using tcp::testing::SYN;

using RequestRing = MessageRing<Request, kRingEntries>;
using CompletionRing = MessageRing<Completion, kRingEntries>;
using EventQueue = MessageRing<Event, kEventEntries>;

constexpr std::uint32_t kEngines = 1, kChannels = 2, kSockets = 64, kBufferBytes = 4096;

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// One application's region and its side of the rings, as the client library keeps them.
struct TestApp {
  explicit TestApp(std::uint32_t app_id, std::uint32_t buffer_bytes = kBufferBytes) : id(app_id) {
    g = geometry(kEngines, kChannels, kSockets, buffer_bytes);
    void* mem = ::mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(mem, MAP_FAILED);
    base = static_cast<std::uint8_t*>(mem);
    view = RegionView{base, g};
    // As handle_attach: the pages are zero, the header is constructed and filled.
    std::uint32_t addresses[kMaxLocalAddresses] = {htonl(kLocalIp.value)};  // network order
    init_region_header(base, g, id, addresses, 1500);
    event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    EXPECT_GE(event_fd, 0);
    for (std::uint32_t c = 0; c < kChannels; ++c) {
      requests[c].reset(&view.channel(c, 0).requests);
      completions[c].reset(&view.channel(c, 0).completions);
    }
    events.reset(&view.events(0).ring);
  }
  ~TestApp() {
    ::munmap(base, g.size);
    ::close(event_fd);
  }
  TestApp(const TestApp&) = delete;
  TestApp& operator=(const TestApp&) = delete;

  RegionHeader& header() const { return view.header(); }
  SocketShared& sock(std::uint32_t s) const { return view.socket(s); }
  DaemonState daemon_state() const {
    return static_cast<DaemonState>(header().daemon_state.load(std::memory_order_acquire));
  }

  std::uint32_t id;
  Geometry g{};
  std::uint8_t* base = nullptr;
  RegionView view;
  int event_fd = -1;
  RingProducer<RequestRing> requests[kChannels];
  RingConsumer<CompletionRing> completions[kChannels];
  RingConsumer<EventQueue> events;
  std::uint64_t next_tag = 1;
};

// A connection the peer opened to an application's listener and the application adopted.
struct Conn {
  std::uint32_t slot = 0;        // the application's socket slot
  int id = -1;                   // the engine's connection id (AcceptEntry::connection)
  std::uint16_t port = 0;        // the listener's port
  std::uint16_t peer_port = 0;
  std::uint32_t peer_next = 0;   // the peer's next sequence number
  std::uint32_t stack_next = 0;  // the stack's next sequence number
};

class ShimEngineTest : public tcp::testing::TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    engine_ = std::make_unique<ShimEngine>(table_, ShimEngine::Params{});
    tcp::TcpStack* stacks[] = {&tcp()};
    engine_->start(std::span<tcp::TcpStack* const>(stacks), wheel_.now());
  }

  void TearDown() override {
    engine_->stop();
    engine_.reset();
    apps_.clear();  // unmapped only once no engine can touch them
    TcpTest::TearDown();
  }

  // --- the attach thread ---------------------------------------------------------------------

  // An application whose every slot accepts (SocketShared::accepting) unless `accepting` is
  // false; of its own family unless `family` names another's.
  TestApp& attach(unsigned index, std::uint32_t buffer_bytes = kBufferBytes, bool accepting = true,
                  std::uint32_t family = 0) {
    auto app = std::make_unique<TestApp>(next_id_++, buffer_bytes);
    for (std::uint32_t s = 0; s < kSockets; ++s) app->sock(s).accepting.store(accepting ? 1 : 0);
    AppSlot& slot = table_.slot(index);
    EXPECT_EQ(slot.phase.load(), AppPhase::kFree);
    slot.id = app->id;
    slot.family = family != 0 ? family : app->id;
    slot.family_token = 0x5eed0000u + app->id;
    app->header().family_token = slot.family_token;
    slot.pid = ::getpid();
    slot.region = app->view;
    slot.event_fd = app->event_fd;
    slot.clear_engine_state();
    slot.phase.store(AppPhase::kLive, std::memory_order_release);
    table_.epoch().fetch_add(1, std::memory_order_release);
    TestApp& ref = *app;
    apps_[index] = std::move(app);
    return ref;
  }

  void set_phase(unsigned index, AppPhase phase) {
    table_.slot(index).phase.store(phase, std::memory_order_release);
    table_.epoch().fetch_add(1, std::memory_order_release);
  }

  // The attach thread's release_slot, once the engine let go: the slot is free, the region gone.
  void free_slot(unsigned index) {
    ASSERT_TRUE(released(index));
    set_phase(index, AppPhase::kFree);
    poll();
    table_.slot(index).region = RegionView{};
    table_.slot(index).event_fd = -1;
    apps_.erase(index);
  }

  bool released(unsigned index) const { return table_.slot(index).released[0].load(std::memory_order_acquire); }
  bool faulted(unsigned index) const { return table_.slot(index).fault[0].load(std::memory_order_acquire); }
  const AppEngineCounters& counters(unsigned index) const { return table_.slot(index).counters[0]; }

  // --- the engine ----------------------------------------------------------------------------

  void poll(int times = 1) {
    for (int i = 0; i < times; ++i) engine_->poll(wheel_.now());
  }

  // --- the client library --------------------------------------------------------------------

  // Pushes and publishes a request; returns its tag (0 when no completion is wanted).
  std::uint64_t push(TestApp& app, Op op, std::uint32_t socket, std::vector<std::int64_t> args = {},
                     bool want_completion = true, unsigned channel = 0) {
    Request r;
    r.op = op;
    r.socket = socket;
    r.tag = want_completion ? app.next_tag++ : 0;
    for (std::size_t i = 0; i < args.size() && i < 6; ++i) r.args[i] = args[i];
    EXPECT_TRUE(app.requests[channel].push(r));
    app.requests[channel].publish();
    return r.tag;
  }

  std::vector<Completion> completions(TestApp& app, unsigned channel = 0) {
    std::vector<Completion> out;
    std::uint32_t n = 0;
    EXPECT_EQ(app.completions[channel].available(n), RingCheck::kOk);
    for (std::uint32_t i = 0; i < n; ++i) {
      Completion c;
      app.completions[channel].take(c);
      out.push_back(c);
    }
    app.completions[channel].release();
    return out;
  }

  std::vector<Event> events(TestApp& app) {
    std::vector<Event> out;
    std::uint32_t n = 0;
    EXPECT_EQ(app.events.available(n), RingCheck::kOk);
    for (std::uint32_t i = 0; i < n; ++i) {
      Event e;
      app.events.take(e);
      out.push_back(e);
    }
    app.events.release();
    return out;
  }

  // A request answered in one engine iteration; returns its completion.
  Completion call(TestApp& app, Op op, std::uint32_t socket, std::vector<std::int64_t> args = {}) {
    const std::uint64_t tag = push(app, op, socket, std::move(args));
    poll();
    auto done = completions(app);
    EXPECT_EQ(done.size(), 1u);
    if (done.size() != 1) return Completion{};
    EXPECT_EQ(done[0].tag, tag);
    EXPECT_EQ(done[0].op, op);
    EXPECT_EQ(done[0].socket, socket);
    return done[0];
  }

  void listen_on(TestApp& app, std::uint32_t slot, std::uint16_t port) {
    const Completion c = call(app, Op::kListen, slot, {0, port, 128});
    EXPECT_EQ(c.result, 0) << "listen on " << port;
  }

  // The next entry of `slot`'s accept ring on engine 0, taken as sw_accept4 takes it.
  std::optional<AcceptEntry> take_accept(TestApp& app, std::uint32_t slot) {
    SocketShared& sh = app.sock(slot);
    const std::uint32_t head = sh.accept_head[0].load(std::memory_order_acquire);
    const std::uint32_t tail = sh.accept_tail[0].load(std::memory_order_relaxed);
    if (head == tail) return std::nullopt;
    const AcceptEntry e = app.view.accept_entries(slot, 0)[tail & (app.view.accept_capacity() - 1)];
    sh.accept_tail[0].store(tail + 1, std::memory_order_seq_cst);
    return e;
  }

  // Bytes the engine put in `slot`'s receive ring, read as the library reads them.
  Bytes read_rx(TestApp& app, std::uint32_t slot) {
    SocketShared& sh = app.sock(slot);
    const std::uint32_t head = sh.rx_head.value.load(std::memory_order_acquire);
    const std::uint32_t tail = sh.rx_tail.value.load(std::memory_order_relaxed);
    Bytes out(head - tail);
    ring_read(app.view.rx_bytes(slot), app.g.buffer_bytes, tail, out.data(), head - tail);
    sh.rx_tail.value.store(head, std::memory_order_seq_cst);
    if (sh.rx_wanted.exchange(0, std::memory_order_seq_cst) != 0) push(app, Op::kReceiveSpace, slot, {}, false);
    return out;
  }

  // Writes bytes into `slot`'s send ring and rings the doorbell as the library does.
  void write_tx(TestApp& app, std::uint32_t slot, const Bytes& bytes) {
    SocketShared& sh = app.sock(slot);
    const std::uint32_t head = sh.tx_head.value.load(std::memory_order_relaxed);
    const std::uint32_t tail = sh.tx_tail.value.load(std::memory_order_acquire);
    ASSERT_LE(head - tail + bytes.size(), app.g.buffer_bytes) << "the test overfilled the send ring";
    ring_write(app.view.tx_bytes(slot), app.g.buffer_bytes, head, bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    sh.tx_head.value.store(head + static_cast<std::uint32_t>(bytes.size()), std::memory_order_seq_cst);
    if (sh.tx_doorbell.exchange(1, std::memory_order_seq_cst) == 0) push(app, Op::kSend, slot, {}, false);
  }

  // --- the peer ------------------------------------------------------------------------------

  // The peer completes a handshake to `port`; the connection waits in the listener's queue.
  // Returns the stack's ISN.
  std::uint32_t peer_connects(std::uint16_t port, std::uint16_t peer_port, bool window_scale = true,
                              std::uint16_t window = 502) {
    wire::TcpOptions syn = linux_syn_options();
    if (!window_scale) syn.window_scale.reset();
    peer_sends(SYN, kPeerIsn, 0, {}, syn, 64240, peer_port, port);
    const Sent synack = one_sent();
    EXPECT_TRUE(synack.is(SYN | ACK)) << synack.describe();
    EXPECT_EQ(synack.ack(), kPeerIsn + 1);
    peer_sends(ACK, kPeerIsn + 1, synack.seq() + 1, {}, peer_ts(), window, peer_port, port);
    EXPECT_TRUE(sent().empty());
    return synack.seq();
  }

  // A listener of `app` in `listener` on `port`, a connection from the peer, accepted into
  // `slot` with kAdopt; events consumed.
  Conn establish(TestApp& app, std::uint32_t listener, std::uint32_t slot, std::uint16_t port,
                 std::uint16_t peer_port, bool window_scale = true, std::uint16_t window = 502) {
    Conn c;
    c.slot = slot;
    c.port = port;
    c.peer_port = peer_port;
    c.stack_next = peer_connects(port, peer_port, window_scale, window) + 1;
    c.peer_next = kPeerIsn + 1;
    poll();
    auto entry = take_accept(app, listener);
    EXPECT_TRUE(entry.has_value());
    if (!entry) return c;
    c.id = entry->connection;
    EXPECT_EQ(call(app, Op::kAdopt, slot, {c.id}).result, 0);
    events(app);
    return c;
  }

  void peer_data(Conn& c, const Bytes& bytes, std::uint8_t flags = ACK | PSH) {
    peer_sends(flags, c.peer_next, c.stack_next, bytes, peer_ts(), 502, c.peer_port, c.port);
    c.peer_next += static_cast<std::uint32_t>(bytes.size());
  }

  // Segments sent to `peer_port` that carry data, SYN, FIN or RST (pure ACKs dropped).
  std::vector<Sent> sent_to(std::uint16_t peer_port) {
    std::vector<Sent> out;
    for (Sent& s : sent())
      if (s.tcp.dst_port == peer_port && (!s.payload.empty() || (s.flags() & (SYN | FIN | RST)) != 0))
        out.push_back(std::move(s));
    return out;
  }

  // `other` listens in `slot` on `port` and is handed a connection: the engine still serves it.
  void expect_served(TestApp& other, std::uint32_t slot, std::uint16_t port) {
    const Completion c = call(other, Op::kListen, slot, {0, port, 16});
    EXPECT_EQ(c.result, 0);
    peer_connects(port, 41000);
    poll();
    const auto entry = take_accept(other, slot);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->remote_port, 41000);
    EXPECT_EQ(entry->remote_addr, htonl(kPeerIp.value));
  }

  AppTable table_{4, 1};
  std::unique_ptr<ShimEngine> engine_;
  std::map<unsigned, std::unique_ptr<TestApp>> apps_;
  std::uint32_t next_id_ = 1;
};

// --- listen, accept, adopt, receive, send, close -----------------------------------------------

TEST_F(ShimEngineTest, Listen_Request_CompletesWithZero) {
  TestApp& app = attach(0);
  const std::uint64_t tag = push(app, Op::kListen, 3, {0, kPort, 128});
  poll();
  const auto done = completions(app);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, tag);
  EXPECT_EQ(done[0].op, Op::kListen);
  EXPECT_EQ(done[0].socket, 3u);
  EXPECT_EQ(done[0].result, 0);
  EXPECT_EQ(app.sock(3).local_port, kPort);
  EXPECT_EQ(app.sock(3).state.load(), static_cast<std::uint32_t>(tcp::State::kListen));
  EXPECT_EQ(counters(0).requests.load(), 1u);
  EXPECT_EQ(counters(0).bad_requests.load(), 0u);
  EXPECT_EQ(counters(0).sockets.load(), 1u);
  EXPECT_EQ(app.requests[0].ring()->tail.value.load(), 1u);  // consumed and released
  EXPECT_TRUE(events(app).empty());
  EXPECT_FALSE(faulted(0));
  // The port is taken now: a second listener on it is refused with TCP's error.
  EXPECT_EQ(call(app, Op::kListen, 4, {0, kPort, 128}).result, -EADDRINUSE);
  EXPECT_EQ(counters(0).sockets.load(), 1u);
}

TEST_F(ShimEngineTest, Listener_SynCompletes_AcceptEntryPublished) {
  TestApp& app = attach(0);
  listen_on(app, 2, kPort);
  peer_connects(kPort, 40000);
  EXPECT_EQ(app.sock(2).accept_head[0].load(), 0u);  // nothing before the engine's iteration
  poll();
  EXPECT_EQ(app.sock(2).accept_head[0].load(), 1u);
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 2u);
  EXPECT_EQ(ev[0].kind, EventKind::kChanged);
  const auto entry = take_accept(app, 2);
  ASSERT_TRUE(entry.has_value());
  EXPECT_GE(entry->connection, 0);
  EXPECT_EQ(entry->remote_addr, htonl(kPeerIp.value));
  EXPECT_EQ(entry->remote_port, 40000);
  EXPECT_EQ(entry->engine, 0);
  EXPECT_EQ(entry->local_addr, htonl(kLocalIp.value));
  EXPECT_EQ(engine_->owner_of(entry->connection), app.id);
  EXPECT_EQ(counters(0).accepted.load(), 0u);  // counted when adopted
  EXPECT_EQ(counters(0).events.load(), 1u);
  // A second connection: a second entry.
  peer_connects(kPort, 40001);
  poll();
  EXPECT_EQ(app.sock(2).accept_head[0].load(), 2u);
  const auto second = take_accept(app, 2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->remote_port, 40001);
  EXPECT_NE(second->connection, entry->connection);
}

TEST_F(ShimEngineTest, Adopt_PeerData_LandsInReceiveRing) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  const std::uint32_t isn = peer_connects(kPort, 40000);
  poll();
  events(app);
  const auto entry = take_accept(app, 0);
  ASSERT_TRUE(entry.has_value());
  const Completion adopted = call(app, Op::kAdopt, 5, {entry->connection});
  EXPECT_EQ(adopted.result, 0);
  SocketShared& sh = app.sock(5);
  EXPECT_EQ(sh.flags.load(), kFlagConnected);
  EXPECT_EQ(sh.local_addr, htonl(kLocalIp.value));
  EXPECT_EQ(sh.local_port, kPort);
  EXPECT_EQ(sh.remote_addr, htonl(kPeerIp.value));
  EXPECT_EQ(sh.remote_port, 40000);
  EXPECT_EQ(sh.engine.load(), 0u);
  EXPECT_EQ(sh.state.load(), static_cast<std::uint32_t>(tcp::State::kEstablished));
  EXPECT_EQ(counters(0).accepted.load(), 1u);
  EXPECT_EQ(counters(0).sockets.load(), 2u);
  // The adopter learns from the completion (kFlagConnected is stored with the addresses): no
  // event is needed, and any that comes names the new slot.
  auto ev = events(app);
  for (const Event& e : ev) EXPECT_EQ(e.socket, 5u);

  const Bytes hello = text("hello, shim world");
  peer_sends(ACK | PSH, kPeerIsn + 1, isn + 1, hello, peer_ts(), 502, 40000, kPort);
  poll();
  EXPECT_EQ(sh.rx_head.value.load(), hello.size());
  EXPECT_EQ(Bytes(app.view.rx_bytes(5), app.view.rx_bytes(5) + hello.size()), hello);
  EXPECT_EQ(counters(0).bytes_in.load(), hello.size());
  ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 5u);
  EXPECT_EQ(ev[0].kind, EventKind::kChanged);
  EXPECT_EQ(read_rx(app, 5), hello);
  EXPECT_EQ(sh.rx_wanted.load(), 0u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Send_TxRingBytes_LeaveTheStackExactly) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes reply = text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  write_tx(app, 1, reply);
  EXPECT_EQ(app.sock(1).tx_doorbell.load(), 1u);
  poll();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, reply);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  EXPECT_EQ(out[0].ack(), c.peer_next);
  EXPECT_TRUE(out[0].flags() & ACK);
  EXPECT_EQ(out[0].tcp.src_port, kPort);
  EXPECT_EQ(app.sock(1).tx_tail.value.load(), reply.size());
  EXPECT_EQ(app.sock(1).tx_doorbell.load(), 0u);  // the engine cleared it: the next write rings again
  EXPECT_EQ(counters(0).bytes_out.load(), reply.size());
}

TEST_F(ShimEngineTest, Close_EmptyRings_FinThenReleasedEvent) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes request = text("GET / HTTP/1.1\r\n\r\n");
  peer_data(c, request);
  poll();
  EXPECT_EQ(read_rx(app, 1), request);
  const Bytes reply = pattern(1000, 3);
  write_tx(app, 1, reply);
  poll();
  auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, reply);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  c.stack_next += 1000;
  events(app);

  push(app, Op::kClose, 1, {}, false);
  poll();
  out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & FIN) << out[0].describe();
  EXPECT_FALSE(out[0].flags() & RST);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  EXPECT_TRUE(out[0].payload.empty());
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 1u);
  EXPECT_EQ(ev[0].kind, EventKind::kReleased);
  EXPECT_EQ(counters(0).sockets.load(), 1u);  // the listener
  EXPECT_EQ(engine_->owner_of(c.id), 0u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Close_WithBytesStillInSendRing_SendsThemThenFin) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes reply = pattern(3000, 9);
  // Written without a kSend: the close drains it.
  SocketShared& sh = app.sock(1);
  ring_write(app.view.tx_bytes(1), kBufferBytes, 0, reply.data(), 3000);
  sh.tx_head.value.store(3000);
  push(app, Op::kClose, 1, {}, false);
  poll();
  Bytes got;
  bool fin = false;
  for (const Sent& s : sent_to(40000)) {
    EXPECT_FALSE(fin) << "data after the FIN";
    EXPECT_EQ(s.seq(), c.stack_next + got.size());
    got.insert(got.end(), s.payload.begin(), s.payload.end());
    fin |= (s.flags() & FIN) != 0;
  }
  EXPECT_EQ(got, reply);
  EXPECT_TRUE(fin);
  const auto ev = events(app);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().socket, 1u);
  EXPECT_EQ(ev.back().kind, EventKind::kReleased);
}

TEST_F(ShimEngineTest, Close_UnreadBytesInReceiveRing_SendsRst) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  peer_data(c, text("never read"));
  poll();
  EXPECT_EQ(app.sock(1).rx_head.value.load(), 10u);
  sent();
  push(app, Op::kClose, 1, {}, false);
  poll();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST) << out[0].describe();
  EXPECT_FALSE(out[0].flags() & FIN);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  const auto ev = events(app);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().socket, 1u);
  EXPECT_EQ(ev.back().kind, EventKind::kReleased);
  EXPECT_EQ(tcp().stats().get(tcp::TcpStat::kAbortOnLinger), 1u);
}

TEST_F(ShimEngineTest, Close_ListenerWithPendingConnection_ResetsIt) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  const std::uint32_t isn = peer_connects(kPort, 40000);
  poll();
  ASSERT_EQ(app.sock(0).accept_head[0].load(), 1u);
  events(app);
  push(app, Op::kClose, 0, {}, false);
  poll();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST);
  EXPECT_EQ(out[0].seq(), isn + 1);
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 0u);
  EXPECT_EQ(ev[0].kind, EventKind::kReleased);
  EXPECT_EQ(counters(0).sockets.load(), 0u);
  // The port is free again.
  listen_on(app, 0, kPort);
}

TEST_F(ShimEngineTest, Close_FreeSlot_ReleasedEventAtOnce) {
  TestApp& app = attach(0);
  push(app, Op::kClose, 9, {}, false);
  poll();
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 9u);
  EXPECT_EQ(ev[0].kind, EventKind::kReleased);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, ReceiveRingFull_RxWantedThenReceiveSpaceMovesTheRestAcrossTheWrap) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes all = pattern(5600, 1);
  for (std::size_t off = 0; off < all.size(); off += 1400)
    peer_data(c, Bytes(all.begin() + static_cast<long>(off), all.begin() + static_cast<long>(off + 1400)));
  poll();
  SocketShared& sh = app.sock(1);
  EXPECT_EQ(sh.rx_head.value.load(), kBufferBytes);  // full
  EXPECT_EQ(sh.rx_wanted.load(), 1u);
  Bytes got = read_rx(app, 1);  // also sends kReceiveSpace (rx_wanted was set)
  EXPECT_EQ(sh.rx_wanted.load(), 0u);
  EXPECT_EQ(got.size(), kBufferBytes);
  poll();
  EXPECT_EQ(sh.rx_head.value.load(), 5600u);
  const Bytes rest = read_rx(app, 1);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, all);
  EXPECT_EQ(counters(0).bytes_in.load(), 5600u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, SendRingWraps_BytesLeaveInOrder) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes all = pattern(9000, 5);
  Bytes got;
  auto collect_and_ack = [&] {
    for (const Sent& s : sent_to(40000)) {
      EXPECT_EQ(s.seq(), c.stack_next + got.size());
      got.insert(got.end(), s.payload.begin(), s.payload.end());
    }
    // The peer acknowledges everything (Nagle holds a small tail back until then).
    peer_sends(ACK, c.peer_next, c.stack_next + static_cast<std::uint32_t>(got.size()), {}, peer_ts(), 502,
               c.peer_port, kPort);
    poll();
  };
  // 3000-byte writes into a 4096-byte ring: the second and third wrap.
  for (std::size_t off = 0; off < all.size(); off += 3000) {
    write_tx(app, 1, Bytes(all.begin() + static_cast<long>(off), all.begin() + static_cast<long>(off + 3000)));
    poll();
    collect_and_ack();
  }
  for (int i = 0; i < 5 && got.size() < all.size(); ++i) collect_and_ack();
  EXPECT_EQ(got.size(), all.size());
  EXPECT_EQ(got, all);
  EXPECT_EQ(app.sock(1).tx_tail.value.load(), 9000u);
  EXPECT_EQ(counters(0).bytes_out.load(), 9000u);
}

TEST_F(ShimEngineTest, PeerFin_PeerClosedFlagPublished) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  peer_data(c, text("bye"), ACK | PSH | FIN);
  poll();
  SocketShared& sh = app.sock(1);
  EXPECT_EQ(sh.flags.load(), kFlagConnected | kFlagPeerClosed);
  EXPECT_EQ(read_rx(app, 1), text("bye"));
  EXPECT_EQ(sh.state.load(), static_cast<std::uint32_t>(tcp::State::kCloseWait));
}

TEST_F(ShimEngineTest, Wakeup_WaitingApp_EventfdWritten) {
  TestApp& app = attach(0);
  app.header().waiting.store(1);
  listen_on(app, 0, kPort);
  std::uint64_t value = 0;
  EXPECT_EQ(::read(app.event_fd, &value, sizeof value), static_cast<ssize_t>(sizeof value));
  EXPECT_EQ(value, 1u);
  EXPECT_EQ(counters(0).wakeups.load(), 1u);
  // Not waiting: no write.
  app.header().waiting.store(0);
  EXPECT_EQ(call(app, Op::kGetOption, 0, {static_cast<std::int64_t>(Option::kNoDelay)}).result, 0);
  EXPECT_EQ(::read(app.event_fd, &value, sizeof value), -1);
  EXPECT_EQ(counters(0).wakeups.load(), 1u);
}

TEST_F(ShimEngineTest, Requests_MoreThanPerPoll_AnsweredOverTwoIterations) {
  TestApp& app = attach(0);
  for (int i = 0; i < 100; ++i) {
    Request r;
    r.op = Op::kGetOption;
    r.socket = 7;  // free: EBADF
    r.tag = 1000 + static_cast<std::uint64_t>(i);
    ASSERT_TRUE(app.requests[1].push(r));
  }
  app.requests[1].publish();
  poll();
  auto done = completions(app, 1);
  ASSERT_EQ(done.size(), 64u);  // requests_per_poll
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].tag, 1000 + i);
    EXPECT_EQ(done[i].result, -EBADF);
  }
  poll();
  done = completions(app, 1);
  ASSERT_EQ(done.size(), 36u);
  EXPECT_EQ(done.front().tag, 1064u);
  EXPECT_EQ(done.back().tag, 1099u);
  EXPECT_EQ(counters(0).requests.load(), 100u);
  EXPECT_EQ(counters(0).bad_requests.load(), 100u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Options_SetThenGet_AndBadOptionRefused) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  EXPECT_EQ(call(app, Op::kSetOption, 0, {static_cast<std::int64_t>(Option::kSndBuf), 10000}).result, 0);
  const Completion got = call(app, Op::kGetOption, 0, {static_cast<std::int64_t>(Option::kSndBuf)});
  EXPECT_EQ(got.result, 0);
  EXPECT_EQ(got.values[0], 20000);  // doubled, as Linux
  EXPECT_EQ(call(app, Op::kSetOption, 0, {static_cast<std::int64_t>(Option::kCork) + 1, 1}).result, -ENOPROTOOPT);
  EXPECT_EQ(call(app, Op::kGetOption, 0, {-1}).result, -ENOPROTOOPT);
  EXPECT_EQ(counters(0).bad_requests.load(), 2u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Shutdown_WriteAfterBytes_DataThenFinAndWriteShutFlag) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  const Bytes last = text("last words");
  SocketShared& sh = app.sock(1);
  ring_write(app.view.tx_bytes(1), kBufferBytes, 0, last.data(), static_cast<std::uint32_t>(last.size()));
  sh.tx_head.value.store(static_cast<std::uint32_t>(last.size()));
  EXPECT_EQ(call(app, Op::kShutdown, 1, {SHUT_WR}).result, 0);
  Bytes got;
  bool fin = false;
  for (const Sent& s : sent_to(40000)) {
    EXPECT_FALSE(fin) << "data after the FIN";
    got.insert(got.end(), s.payload.begin(), s.payload.end());
    if (s.flags() & FIN) {
      fin = true;
      EXPECT_EQ(s.seq() + s.payload.size(), c.stack_next + last.size());
    }
  }
  EXPECT_EQ(got, last);
  EXPECT_TRUE(fin);
  EXPECT_EQ(sh.flags.load(), kFlagConnected | kFlagWriteShut);
  EXPECT_EQ(sh.state.load(), static_cast<std::uint32_t>(tcp::State::kFinWait1));
  // Reading still works after SHUT_WR.
  peer_data(c, text("still here"));
  poll();
  EXPECT_EQ(read_rx(app, 1), text("still here"));
  // An out-of-range `how`, and a shutdown of a slot with no connection: refused, counted.
  EXPECT_EQ(call(app, Op::kShutdown, 1, {7}).result, -EINVAL);
  EXPECT_EQ(call(app, Op::kShutdown, 0, {SHUT_WR}).result, -ENOTCONN);  // the listener
  EXPECT_EQ(counters(0).bad_requests.load(), 2u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Connect_PeerAnswers_ConnectedFlagEventAndData) {
  TestApp& app = attach(0);
  const Completion started = call(app, Op::kConnect, 4, {htonl(kPeerIp.value), 9000, 0, 0});
  EXPECT_EQ(started.result, -EINPROGRESS);
  const Sent syn = one_sent();
  ASSERT_TRUE(syn.is(SYN)) << syn.describe();
  EXPECT_EQ(syn.tcp.dst_port, 9000);
  SocketShared& sh = app.sock(4);
  EXPECT_EQ(sh.local_port, syn.tcp.src_port);
  EXPECT_EQ(sh.engine.load(), 0u);
  EXPECT_EQ(sh.flags.load(), 0u);
  wire::TcpOptions o = linux_syn_options();
  o.timestamps->ecr = syn.tcp.options.timestamps ? syn.tcp.options.timestamps->val : 0;
  peer_sends(SYN | ACK, kPeerIsn, syn.seq() + 1, {}, o, 65160, 9000, syn.tcp.src_port);
  EXPECT_TRUE(one_sent().is(ACK));
  poll();
  EXPECT_EQ(sh.flags.load(), kFlagConnected);
  EXPECT_EQ(sh.remote_addr, htonl(kPeerIp.value));
  EXPECT_EQ(sh.remote_port, 9000);
  EXPECT_EQ(sh.state.load(), static_cast<std::uint32_t>(tcp::State::kEstablished));
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].socket, 4u);
  EXPECT_EQ(ev[0].kind, EventKind::kChanged);
  write_tx(app, 4, text("ping"));
  poll();
  const Sent data = one_sent();
  EXPECT_EQ(data.payload, text("ping"));
  EXPECT_EQ(data.seq(), syn.seq() + 1);
  EXPECT_EQ(data.tcp.dst_port, 9000);
  EXPECT_EQ(counters(0).sockets.load(), 1u);
}

TEST_F(ShimEngineTest, Connect_PeerRefuses_ErrorAndClosedFlags) {
  TestApp& app = attach(0);
  EXPECT_EQ(call(app, Op::kConnect, 4, {htonl(kPeerIp.value), 9000, 0, 0}).result, -EINPROGRESS);
  const Sent syn = one_sent();
  ASSERT_TRUE(syn.is(SYN));
  peer_sends(RST | ACK, 0, syn.seq() + 1, {}, {}, 0, 9000, syn.tcp.src_port);
  poll();
  SocketShared& sh = app.sock(4);
  EXPECT_EQ(sh.flags.load() & (kFlagError | kFlagClosed), kFlagError | kFlagClosed);
  EXPECT_EQ(sh.flags.load() & kFlagConnected, 0u);
  EXPECT_EQ(sh.error.load(), static_cast<std::uint32_t>(ECONNREFUSED));
  const auto ev = events(app);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().socket, 4u);
  // The application closes it: the slot comes back.
  push(app, Op::kClose, 4, {}, false);
  poll();
  const auto released_ev = events(app);
  ASSERT_EQ(released_ev.size(), 1u);
  EXPECT_EQ(released_ev[0].kind, EventKind::kReleased);
  EXPECT_EQ(counters(0).sockets.load(), 0u);
}

TEST_F(ShimEngineTest, ListenOptionsFromSocketShared_AppliedBeforeListen) {
  TestApp& app = attach(0);
  SocketShared& sh = app.sock(0);
  sh.option_count = 2;
  sh.options[0] = SocketOption{static_cast<std::uint32_t>(Option::kRcvBuf), 50000};
  sh.options[1] = SocketOption{static_cast<std::uint32_t>(Option::kNoDelay), 1};
  listen_on(app, 0, kPort);
  const Completion rcvbuf = call(app, Op::kGetOption, 0, {static_cast<std::int64_t>(Option::kRcvBuf)});
  EXPECT_EQ(rcvbuf.result, 0);
  EXPECT_EQ(rcvbuf.values[0], 100000);
  const Completion nodelay = call(app, Op::kGetOption, 0, {static_cast<std::int64_t>(Option::kNoDelay)});
  EXPECT_EQ(nodelay.values[0], 1);
  // A bad option number or an impossible count: the open fails, the slot stays free, no fault.
  SocketShared& bad = app.sock(1);
  bad.option_count = 1;
  bad.options[0] = SocketOption{200, 1};
  EXPECT_EQ(call(app, Op::kListen, 1, {0, 9091, 16}).result, -ENOPROTOOPT);
  bad.option_count = kMaxOptions + 1;
  EXPECT_EQ(call(app, Op::kListen, 1, {0, 9091, 16}).result, -EINVAL);
  EXPECT_EQ(counters(0).sockets.load(), 1u);
  bad.option_count = 0;
  EXPECT_EQ(call(app, Op::kListen, 1, {0, 9091, 16}).result, 0);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, AcceptRingFull_RxWantedThenReceiveSpaceMovesTheRest) {
  // 1 KiB rings: 64 accept entries (the stack has room for 256 sockets).
  TestApp& app = attach(0, 1024);
  listen_on(app, 0, kPort);
  const std::uint32_t cap = app.view.accept_capacity();
  ASSERT_EQ(cap, 64u);
  // The engine moves each into the ring as it completes (TCP's own queue holds only backlog + 1).
  for (std::uint32_t i = 0; i < cap + 4; ++i) {
    peer_connects(kPort, static_cast<std::uint16_t>(20000 + i));
    poll();
  }
  SocketShared& sh = app.sock(0);
  EXPECT_EQ(sh.accept_head[0].load(), cap);
  EXPECT_EQ(sh.rx_wanted.load(), 1u);
  for (int i = 0; i < 10; ++i) {
    const auto e = take_accept(app, 0);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->remote_port, 20000 + i);
  }
  // As sw_accept4: the engine waits to hear there is room.
  ASSERT_EQ(sh.rx_wanted.exchange(0), 1u);
  push(app, Op::kReceiveSpace, 0, {}, false);
  poll();
  EXPECT_EQ(sh.accept_head[0].load(), cap + 4);
  std::uint32_t port = 20010;
  while (auto e = take_accept(app, 0)) EXPECT_EQ(e->remote_port, port++);
  EXPECT_EQ(port, 20000 + cap + 4);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, EventRingFull_OverflowedSetAndCounted) {
  TestApp& app = attach(0);
  std::uint32_t pushed = 0;
  while (pushed < kEventEntries + 10) {
    for (int k = 0; k < 200 && pushed < kEventEntries + 10; ++k, ++pushed) {
      Request r;
      r.op = Op::kClose;  // of a free slot: one kReleased each
      r.socket = pushed % kSockets;
      ASSERT_TRUE(app.requests[0].push(r));
    }
    app.requests[0].publish();
    poll(4);
  }
  EXPECT_EQ(counters(0).events.load(), kEventEntries);
  EXPECT_EQ(counters(0).event_overflows.load(), 10u);
  EXPECT_EQ(app.view.events(0).overflowed.load(), 1u);
  EXPECT_EQ(app.view.events(0).ring.head.value.load(), kEventEntries);
  const auto ev = events(app);
  ASSERT_EQ(ev.size(), kEventEntries);
  EXPECT_EQ(ev[0].socket, 0u);
  EXPECT_EQ(ev[kEventEntries - 1].socket, (kEventEntries - 1) % kSockets);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, CompletionRingFull_RequestsWaitTheirTurn) {
  TestApp& app = attach(0);
  auto push_tagged = [&](int n, std::uint64_t first) {
    for (int i = 0; i < n; ++i) {
      Request r;
      r.op = Op::kGetOption;
      r.socket = 3;
      r.tag = first + static_cast<std::uint64_t>(i);
      ASSERT_TRUE(app.requests[0].push(r));
    }
    app.requests[0].publish();
  };
  push_tagged(200, 1);
  poll(4);
  EXPECT_EQ(app.view.channel(0, 0).completions.head.value.load(), 200u);  // not consumed
  push_tagged(100, 201);
  poll(4);
  // Only 56 more fit; 44 requests stay queued.
  EXPECT_EQ(app.view.channel(0, 0).completions.head.value.load(), 256u);
  EXPECT_EQ(app.view.channel(0, 0).requests.tail.value.load(), 256u);
  auto done = completions(app);
  ASSERT_EQ(done.size(), 256u);
  for (std::size_t i = 0; i < done.size(); ++i) ASSERT_EQ(done[i].tag, i + 1);
  poll();
  done = completions(app);
  ASSERT_EQ(done.size(), 44u);
  EXPECT_EQ(done.front().tag, 257u);
  EXPECT_EQ(done.back().tag, 300u);
  EXPECT_EQ(counters(0).requests.load(), 300u);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimEngineTest, Stop_ResetsEveryConnectionAndLetsGo) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  write_tx(app, 1, text("x"));
  poll();
  sent();
  engine_->stop();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST);
  EXPECT_EQ(out[0].seq(), c.stack_next + 1);
  EXPECT_TRUE(released(0));
  EXPECT_FALSE(faulted(0));
  EXPECT_EQ(counters(0).sockets.load(), 0u);
  EXPECT_EQ(counters(0).resets_on_exit.load(), 1u);
}

TEST_F(ShimEngineTest, SendWithEmptyPool_RetriedOnTheNextIteration) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  // Take every mbuf: TCP's send() finds nothing to queue the bytes in (-ENOBUFS).
  std::vector<rte_mbuf*> held;
  while (rte_mbuf* m = rte_pktmbuf_alloc(tcp::testing::test_pool())) held.push_back(m);
  const Bytes bytes = text("held back by an empty pool");
  write_tx(app, 1, bytes);
  poll();
  EXPECT_TRUE(sent_to(40000).empty());
  EXPECT_EQ(app.sock(1).tx_tail.value.load(), 0u);
  for (rte_mbuf* m : held) rte_pktmbuf_free(m);
  poll();  // the retry, without another kSend
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, bytes);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  EXPECT_EQ(app.sock(1).tx_tail.value.load(), bytes.size());
}

TEST_F(ShimEngineTest, SendOvertakingItsAdopt_IgnoredThenServedByTheAdopt) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  const std::uint32_t isn = peer_connects(kPort, 40000);
  poll();
  const auto entry = take_accept(app, 0);
  ASSERT_TRUE(entry.has_value());
  // Two application threads: one's kSend (channel 0) is served before the other's kAdopt
  // (channel 1) of the same slot; the engine serves channels in order.
  const Bytes bytes = text("early");
  ring_write(app.view.tx_bytes(2), kBufferBytes, 0, bytes.data(), 5);
  app.sock(2).tx_head.value.store(5);
  push(app, Op::kSend, 2, {}, false, 0);
  push(app, Op::kAdopt, 2, {entry->connection}, true, 1);
  poll();
  const auto done = completions(app, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, 0);
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, bytes);
  EXPECT_EQ(out[0].seq(), isn + 1);
  EXPECT_FALSE(faulted(0));
  EXPECT_EQ(counters(0).bad_requests.load(), 0u);
}

// --- adopt only what this application was handed ----------------------------------------------

TEST_F(ShimEngineTest, Adopt_ConnectionAcceptedForAnotherApp_EinvalNoFault) {
  TestApp& app = attach(0);
  TestApp& other = attach(1);
  listen_on(other, 0, 9090);
  peer_connects(9090, 40000);
  poll();
  const auto entry = take_accept(other, 0);
  ASSERT_TRUE(entry.has_value());

  EXPECT_EQ(call(app, Op::kAdopt, 1, {entry->connection}).result, -EINVAL);
  EXPECT_EQ(counters(0).bad_requests.load(), 1u);
  EXPECT_FALSE(faulted(0));
  EXPECT_EQ(counters(0).sockets.load(), 0u);
  // The rightful owner still gets it.
  EXPECT_EQ(call(other, Op::kAdopt, 1, {entry->connection}).result, 0);
  EXPECT_EQ(counters(1).accepted.load(), 1u);
  // And a second adopt of the same connection (now adopted) is refused too.
  EXPECT_EQ(call(other, Op::kAdopt, 2, {entry->connection}).result, -EINVAL);
  EXPECT_EQ(counters(1).bad_requests.load(), 1u);
}

TEST_F(ShimEngineTest, Adopt_UnknownIdInTableRange_EinvalCountedNoFault) {
  TestApp& app = attach(0);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {77}).result, -EINVAL);  // slot 77 of 256: nobody's
  EXPECT_EQ(counters(0).bad_requests.load(), 1u);
  EXPECT_FALSE(faulted(0));
  EXPECT_EQ(app.daemon_state(), DaemonState::kRunning);
}

TEST_F(ShimEngineTest, Adopt_IntoBusySlot_EinvalCountedNoFault) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  peer_connects(kPort, 40000);
  poll();
  const auto entry = take_accept(app, 0);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(call(app, Op::kAdopt, 0, {entry->connection}).result, -EINVAL);  // the listener's slot
  EXPECT_EQ(counters(0).bad_requests.load(), 1u);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {entry->connection}).result, 0);  // still pending: fine
  EXPECT_FALSE(faulted(0));
}

// An id whose TCP slot is beyond the engine's table, or a negative one: refused and counted.
TEST_F(ShimEngineTest, Adopt_RandomOrNegativeId_EinvalCountedNoFault) {
  TestApp& app = attach(0);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {123456789}).result, -EINVAL);  // slot 0xBCD15 of 256
  EXPECT_EQ(call(app, Op::kAdopt, 1, {-5}).result, -EINVAL);
  EXPECT_EQ(counters(0).bad_requests.load(), 2u);
  EXPECT_FALSE(faulted(0));
}

// The same requests, minus the counter: no fault, -EINVAL (this part passes today).
TEST_F(ShimEngineTest, Adopt_RandomOrNegativeId_EinvalNoFault) {
  TestApp& app = attach(0);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {123456789}).result, -EINVAL);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {-5}).result, -EINVAL);
  EXPECT_EQ(call(app, Op::kAdopt, 1, {std::int64_t{1} << 40}).result, -EINVAL);
  EXPECT_FALSE(faulted(0));
  EXPECT_EQ(counters(0).sockets.load(), 0u);
}

// --- garbage in the rings: the application is cut off -----------------------------------------

class ShimFaultTest : public ShimEngineTest {
 protected:
  // App 0 with a listener (slot 0), one adopted connection (slot 1), one pending connection;
  // app 1 attached and well-behaved.
  void prepare() {
    app_ = &attach(0);
    other_ = &attach(1);
    listen_on(*app_, 0, kPort);
    conn_ = establish(*app_, 0, 1, kPort, 40000);
    pending_isn_ = peer_connects(kPort, 40001);
    poll();
    ASSERT_EQ(app_->sock(0).accept_head[0].load(), 2u);
    events(*app_);
    sent();
  }

  // Runs prepare(), then `corrupt`, one iteration, and checks the pending connection's RST.
  template <typename Fn>
  void run(Fn corrupt) {
    prepare();
    corrupt(*app_);
    poll();
    std::vector<Sent> all = sent();
    bool pending_reset = false, adopted_reset = false;
    for (const Sent& s : all) {
      if (s.tcp.dst_port == 40001 && (s.flags() & RST)) {
        pending_reset = true;
        EXPECT_EQ(s.seq(), pending_isn_ + 1);
      }
      if (s.tcp.dst_port == 40000 && (s.flags() & RST)) {
        adopted_reset = true;
        EXPECT_EQ(s.seq(), conn_.stack_next);
      }
    }
    EXPECT_TRUE(pending_reset) << "the pending connection was not reset";
    EXPECT_TRUE(adopted_reset) << "the adopted connection was not reset";
    expect_cut_off();
  }

  // App 0 is cut off: told so, let go of, its sockets closed; app 1 is still served; the slot
  // can be freed and used again.
  void expect_cut_off() {
    EXPECT_TRUE(faulted(0));
    EXPECT_EQ(app_->daemon_state(), DaemonState::kDetached);
    EXPECT_TRUE(released(0));
    EXPECT_FALSE(faulted(1));
    EXPECT_FALSE(released(1));
    EXPECT_EQ(engine_->owner_of(conn_.id), 0u);
    EXPECT_EQ(counters(0).sockets.load(), 0u);
    EXPECT_EQ(counters(0).resets_on_exit.load(), 1u);
    peer_sends(SYN, 5000, 0, {}, linux_syn_options(), 64240, 40002, kPort);
    const Sent rst = one_sent();
    EXPECT_TRUE(rst.flags() & RST) << rst.describe();
    poll(3);
    EXPECT_TRUE(sent().empty());
    expect_served(*other_, 0, 9090);
    EXPECT_FALSE(faulted(1));
    // The attach thread lets the slot go; the engine forgets it; a new app in slot 0 works.
    set_phase(0, AppPhase::kDying);
    poll();
    free_slot(0);
    TestApp& again = attach(0);
    listen_on(again, 0, kPort);
    EXPECT_FALSE(faulted(0));
  }

  TestApp* app_ = nullptr;
  TestApp* other_ = nullptr;
  Conn conn_;
  std::uint32_t pending_isn_ = 0;
};

TEST_F(ShimFaultTest, RequestSocketBeyondSockets_Faults) {
  run([&](TestApp& app) { push(app, Op::kGetOption, kSockets, {0}); });
}

TEST_F(ShimFaultTest, RequestSocketHuge_Faults) {
  run([&](TestApp& app) { push(app, Op::kSend, 0xFFFFFFFFu, {}, false); });
}

TEST_F(ShimFaultTest, UnknownOp_Faults) {
  run([&](TestApp& app) { push(app, static_cast<Op>(99), 1, {}); });
}

TEST_F(ShimFaultTest, OpNoneAndOpCount_Fault) {
  run([&](TestApp& app) { push(app, Op::kCount, 1, {}); });
}

TEST_F(ShimFaultTest, RequestHeadThousandAheadOfTail_Faults) {
  run([&](TestApp& app) { app.view.channel(0, 0).requests.head.value.store(1000); });
}

TEST_F(ShimFaultTest, RequestHeadOnSecondChannelBehindTail_Faults) {
  run([&](TestApp& app) { app.view.channel(1, 0).requests.head.value.store(0xFFFFFFFFu); });
}

TEST_F(ShimFaultTest, CompletionTailBeyondHead_Faults) {
  run([&](TestApp& app) {
    app.view.channel(0, 0).completions.tail.value.store(500);
    push(app, Op::kGetOption, 0, {0});
  });
}

TEST_F(ShimFaultTest, SendRingHeadBeyondCapacityAheadOfTail_Faults) {
  run([&](TestApp& app) {
    SocketShared& sh = app.sock(1);
    sh.tx_head.value.store(sh.tx_tail.value.load() + kBufferBytes + 1);
    push(app, Op::kSend, 1, {}, false);
  });
}

TEST_F(ShimFaultTest, CloseWithSendHeadBeyondCapacity_Faults) {
  run([&](TestApp& app) {
    app.sock(1).tx_head.value.store(0x80000000u);
    push(app, Op::kClose, 1, {}, false);
  });
}

TEST_F(ShimFaultTest, ReceiveTailBeyondHead_FaultsOnNextData) {
  run([&](TestApp& app) {
    app.sock(1).rx_tail.value.store(5);  // nothing was ever received
    peer_data(conn_, text("x"));
  });
}

TEST_F(ShimFaultTest, AcceptTailBeyondHead_FaultsOnNextConnection) {
  run([&](TestApp& app) {
    app.sock(0).accept_tail[0].store(1000);
    peer_connects(kPort, 40003);
  });
}

TEST_F(ShimFaultTest, EventTailBeyondHeadWhenFull_Faults) {
  run([&](TestApp& app) {
    // The engine trusts its cached tail until the ring looks full: fill it with kClose of free
    // slots (one kReleased each) after making the tail impossible.
    app.view.events(0).ring.tail.value.store(0x7FFFFFFFu);
    for (std::uint32_t i = 0; i < kEventEntries + 1; i += 200) {
      for (std::uint32_t k = 0; k < 200; ++k) {
        Request r;
        r.op = Op::kClose;
        r.socket = 10 + (k % 40);
        app.requests[0].push(r);
      }
      app.requests[0].publish();
      poll(4);  // 64 per iteration
      if (faulted(0)) break;
    }
  });
}

// --- listeners shared across fork() (Op::kShare) ------------------------------------------------

// How many entries `slot`'s accept ring on engine 0 has received in all.
std::uint32_t handed(TestApp& app, std::uint32_t slot) { return app.sock(slot).accept_head[0].load(); }

// The application starts accepting on `slot`, as sw_accept4 / sw_epoll_ctl / sw_poll_events do.
void start_accepting(TestApp& app, std::uint32_t slot) { app.sock(slot).accepting.store(1); }

TEST_F(ShimEngineTest, AttachWithParent_TokenChecked_JoinsTheParentsFamily) {
  TestApp& parent = attach(0);
  TestApp& child = attach(1, kBufferBytes, true, parent.id);
  std::uint32_t family = 0;
  EXPECT_EQ(table_.join_family(parent.id, parent.header().family_token, &family), 0);
  EXPECT_EQ(family, parent.id);
  // A grandchild naming the child joins the same family.
  family = 0;
  EXPECT_EQ(table_.join_family(child.id, child.header().family_token, &family), 0);
  EXPECT_EQ(family, parent.id);
  // Another token, or an application that is not attached (any more): refused.
  EXPECT_EQ(table_.join_family(parent.id, parent.header().family_token + 1, &family), EPERM);
  EXPECT_EQ(table_.join_family(parent.id, child.header().family_token, &family), EPERM);
  EXPECT_EQ(table_.join_family(999, parent.header().family_token, &family), ESRCH);
  set_phase(0, AppPhase::kDying);
  EXPECT_EQ(table_.join_family(parent.id, parent.header().family_token, &family), ESRCH);
}

TEST_F(ShimEngineTest, Share_ParentsListener_ChildHoldsItInItsOwnSlot) {
  TestApp& parent = attach(0, kBufferBytes, false);
  TestApp& child = attach(1, kBufferBytes, false, parent.id);
  listen_on(parent, 2, kPort);
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, 2}).result, 0);
  EXPECT_EQ(child.sock(5).local_port, kPort);
  EXPECT_EQ(child.sock(5).state.load(), static_cast<std::uint32_t>(tcp::State::kListen));
  EXPECT_EQ(counters(1).sockets.load(), 1u);
  EXPECT_EQ(counters(1).bad_requests.load(), 0u);
  // The slot is taken now: a second share into it is refused.
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, 2}).result, -EINVAL);
  EXPECT_EQ(counters(1).bad_requests.load(), 1u);
  // A grandchild may name the child (a holder of the same listener).
  TestApp& grandchild = attach(2, kBufferBytes, false, parent.id);
  EXPECT_EQ(call(grandchild, Op::kShare, 5, {child.id, 5}).result, 0);
  EXPECT_FALSE(faulted(0) || faulted(1) || faulted(2));
}

TEST_F(ShimEngineTest, Share_OtherFamily_EpermCountedNoFault) {
  TestApp& owner = attach(0);
  TestApp& stranger = attach(1);  // a family of its own
  listen_on(owner, 2, kPort);
  EXPECT_EQ(call(stranger, Op::kShare, 5, {owner.id, 2}).result, -EPERM);
  EXPECT_EQ(counters(1).bad_requests.load(), 1u);
  EXPECT_EQ(counters(1).sockets.load(), 0u);
  EXPECT_FALSE(faulted(1));
  // Nothing of the owner's listener reaches the stranger.
  peer_connects(kPort, 40000);
  poll();
  EXPECT_EQ(handed(owner, 2), 1u);
  EXPECT_EQ(handed(stranger, 5), 0u);
  listen_on(stranger, 5, 9090);  // its slot is still free
}

TEST_F(ShimEngineTest, Share_NotAListenerOrUnknownApp_RefusedCountedNoFault) {
  TestApp& parent = attach(0);
  TestApp& child = attach(1, kBufferBytes, true, parent.id);
  listen_on(parent, 0, kPort);
  establish(parent, 0, 1, kPort, 40000);  // slot 1: a connection
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, 1}).result, -EINVAL);   // a connection
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, 7}).result, -EINVAL);   // a free slot
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, kSockets}).result, -EINVAL);  // beyond its slots
  EXPECT_EQ(call(child, Op::kShare, 5, {parent.id, -1}).result, -EINVAL);
  EXPECT_EQ(call(child, Op::kShare, 5, {999, 0}).result, -ESRCH);          // no such application
  EXPECT_EQ(call(child, Op::kShare, 5, {-3, 0}).result, -ESRCH);
  EXPECT_EQ(counters(1).bad_requests.load(), 6u);
  EXPECT_EQ(counters(1).sockets.load(), 0u);
  EXPECT_FALSE(faulted(1));
}

TEST_F(ShimEngineTest, Share_BeyondMaxHolders_EtoomanyrefsCounted) {
  static_assert(kSockets >= kMaxListenerHolders);
  TestApp& parent = attach(0);
  TestApp& child = attach(1, kBufferBytes, true, parent.id);
  listen_on(parent, 0, kPort);
  for (std::uint32_t slot = 0; slot + 1 < kMaxListenerHolders; ++slot)
    ASSERT_EQ(call(child, Op::kShare, slot, {parent.id, 0}).result, 0) << slot;
  EXPECT_EQ(call(child, Op::kShare, kMaxListenerHolders - 1, {parent.id, 0}).result, -ETOOMANYREFS);
  EXPECT_EQ(counters(1).bad_requests.load(), 1u);
  EXPECT_EQ(counters(1).sockets.load(), kMaxListenerHolders - 1);
  // One lets go: room for another.
  push(child, Op::kClose, 0, {}, false);
  poll();
  EXPECT_EQ(call(child, Op::kShare, kMaxListenerHolders - 1, {parent.id, 0}).result, 0);
  EXPECT_FALSE(faulted(1));
}

TEST_F(ShimEngineTest, SharedListener_OnlyAcceptingHoldersGetConnectionsRoundRobin) {
  TestApp& parent = attach(0, kBufferBytes, false);  // nginx's master: never accepts
  TestApp& first = attach(1, kBufferBytes, false, parent.id);
  TestApp& second = attach(2, kBufferBytes, false, parent.id);
  listen_on(parent, 0, kPort);
  ASSERT_EQ(call(first, Op::kShare, 3, {parent.id, 0}).result, 0);
  ASSERT_EQ(call(second, Op::kShare, 4, {parent.id, 0}).result, 0);

  // Nobody accepts yet: the connection waits in TCP's accept queue.
  peer_connects(kPort, 40000);
  poll();
  EXPECT_EQ(handed(parent, 0) + handed(first, 3) + handed(second, 4), 0u);
  // The first worker accepts (and nudges): it gets what waits.
  start_accepting(first, 3);
  push(first, Op::kReceiveSpace, 3, {}, false);
  poll();
  EXPECT_EQ(handed(first, 3), 1u);
  const auto waited = take_accept(first, 3);
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(waited->remote_port, 40000);
  EXPECT_EQ(engine_->owner_of(waited->connection), first.id);
  // Only this very worker adopts it.
  EXPECT_EQ(call(second, Op::kAdopt, 9, {waited->connection}).result, -EINVAL);
  EXPECT_EQ(call(parent, Op::kAdopt, 9, {waited->connection}).result, -EINVAL);
  EXPECT_EQ(call(first, Op::kAdopt, 9, {waited->connection}).result, 0);
  events(first);

  // Both workers accept: connections alternate between them, none to the master.
  start_accepting(second, 4);
  push(second, Op::kReceiveSpace, 4, {}, false);
  poll();
  for (std::uint16_t k = 0; k < 6; ++k) {
    peer_connects(kPort, static_cast<std::uint16_t>(40001 + k));
    poll();
  }
  EXPECT_EQ(handed(first, 3), 1u + 3u);
  EXPECT_EQ(handed(second, 4), 3u);
  EXPECT_EQ(handed(parent, 0), 0u);
  // Each worker's events name its own slot.
  for (const Event& e : events(second)) EXPECT_EQ(e.socket, 4u);
  for (const Event& e : events(first)) EXPECT_EQ(e.socket, 3u);
  EXPECT_TRUE(events(parent).empty());
  for (unsigned i = 0; i < 3; ++i) EXPECT_FALSE(faulted(i));
}

TEST_F(ShimEngineTest, SharedListener_FullAcceptRing_NextHolderServedTheRestWait) {
  // 64-byte buffers: 4 accept entries per ring.
  TestApp& parent = attach(0, 64);
  TestApp& child = attach(1, 64, true, parent.id);
  listen_on(parent, 0, kPort);
  ASSERT_EQ(call(child, Op::kShare, 1, {parent.id, 0}).result, 0);
  const std::uint32_t capacity = parent.view.accept_capacity();
  ASSERT_EQ(capacity, 4u);
  for (std::uint16_t k = 0; k < 10; ++k) peer_connects(kPort, static_cast<std::uint16_t>(40000 + k));
  poll();
  EXPECT_EQ(handed(parent, 0), capacity);
  EXPECT_EQ(handed(child, 1), capacity);
  EXPECT_EQ(child.sock(1).rx_wanted.load(), 1u);
  // The child takes one and says so: it gets the next of the two waiting in TCP's queue.
  ASSERT_TRUE(take_accept(child, 1).has_value());
  child.sock(1).rx_wanted.store(0);
  push(child, Op::kReceiveSpace, 1, {}, false);
  poll();
  EXPECT_EQ(handed(child, 1), capacity + 1);
  EXPECT_EQ(handed(parent, 0), capacity);
}

TEST_F(ShimEngineTest, SharedListener_HolderCloses_OthersKeepIt_LastCloseClosesIt) {
  TestApp& parent = attach(0);
  TestApp& child = attach(1, kBufferBytes, true, parent.id);
  listen_on(parent, 0, kPort);
  ASSERT_EQ(call(child, Op::kShare, 2, {parent.id, 0}).result, 0);
  // The parent closes its copy (redis's child, or nginx's master, closing theirs): it alone is told.
  push(parent, Op::kClose, 0, {}, false);
  poll();
  const auto released_parent = events(parent);
  ASSERT_EQ(released_parent.size(), 1u);
  EXPECT_EQ(released_parent[0].socket, 0u);
  EXPECT_EQ(released_parent[0].kind, EventKind::kReleased);
  EXPECT_TRUE(events(child).empty());
  EXPECT_EQ(counters(0).sockets.load(), 0u);
  // The listener still listens, for the child.
  peer_connects(kPort, 40000);
  poll();
  EXPECT_EQ(handed(child, 2), 1u);
  EXPECT_EQ(handed(parent, 0), 0u);
  const auto entry = take_accept(child, 2);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(engine_->owner_of(entry->connection), child.id);
  events(child);
  // The last holder closes: the pending connection is reset, the port is closed and free again.
  push(child, Op::kClose, 2, {}, false);
  poll();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST);
  const auto released_child = events(child);
  ASSERT_EQ(released_child.size(), 1u);
  EXPECT_EQ(released_child[0].kind, EventKind::kReleased);
  peer_sends(SYN, 5000, 0, {}, linux_syn_options(), 64240, 40001, kPort);
  EXPECT_TRUE(one_sent().flags() & RST);
  listen_on(parent, 0, kPort);
}

TEST_F(ShimEngineTest, SharedListener_HolderExits_ListenerStaysForTheOthers) {
  TestApp& parent = attach(0, kBufferBytes, false);
  TestApp& child = attach(1, kBufferBytes, true, parent.id);
  listen_on(parent, 0, kPort);
  ASSERT_EQ(call(child, Op::kShare, 2, {parent.id, 0}).result, 0);
  const std::uint32_t isn = peer_connects(kPort, 40000);
  poll();
  ASSERT_EQ(handed(child, 2), 1u);
  // The child exits with a connection in its accept ring: that one is reset, the listener stays.
  set_phase(1, AppPhase::kDying);
  poll();
  EXPECT_TRUE(released(1));
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST);
  EXPECT_EQ(out[0].seq(), isn + 1);
  free_slot(1);
  // The parent, the holder left, starts accepting: the next connection is its own.
  start_accepting(parent, 0);
  push(parent, Op::kReceiveSpace, 0, {}, false);
  peer_connects(kPort, 40001);
  poll();
  const auto entry = take_accept(parent, 0);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->remote_port, 40001);
  EXPECT_EQ(engine_->owner_of(entry->connection), parent.id);
  EXPECT_FALSE(faulted(0));
}

TEST_F(ShimFaultTest, SharedListener_HolderWithGarbageAcceptTail_OnlyItIsCutOff) {
  // Garbage in one holder's accept index cuts that holder off, not its family.
  TestApp& parent = attach(2, kBufferBytes, false);
  TestApp& child = attach(3, kBufferBytes, true, parent.id);
  listen_on(parent, 0, 9100);
  ASSERT_EQ(call(child, Op::kShare, 0, {parent.id, 0}).result, 0);
  child.sock(0).accept_tail[0].store(1000);
  peer_connects(9100, 40100);
  poll();
  EXPECT_TRUE(faulted(3));
  EXPECT_FALSE(faulted(2));
  start_accepting(parent, 0);
  push(parent, Op::kReceiveSpace, 0, {}, false);
  poll();
  EXPECT_EQ(handed(parent, 0), 1u);
}

// --- the application leaves --------------------------------------------------------------------

TEST_F(ShimEngineTest, Leave_ConnectionWithNothingUnread_DrainsSendRingThenFinThenReleased) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  // The peer's window is closed (no window scaling, window 0) and SO_SNDBUF at its minimum
  // (4608): TCP cannot take everything the application wrote before it left.
  Conn c = establish(app, 0, 1, kPort, 40000, /*window_scale=*/false, /*window=*/0);
  EXPECT_EQ(call(app, Op::kSetOption, 1, {static_cast<std::int64_t>(Option::kSndBuf), 0}).result, 0);
  const Bytes all = pattern(8192, 11);
  write_tx(app, 1, Bytes(all.begin(), all.begin() + 4096));
  poll();
  write_tx(app, 1, Bytes(all.begin() + 4096, all.end()));
  poll();
  SocketShared& sh = app.sock(1);
  EXPECT_EQ(sh.tx_tail.value.load(), 4608u);  // what fits in SO_SNDBUF
  Bytes got;
  auto collect = [&](bool& fin, std::uint32_t& fin_seq) {
    for (const Sent& s : sent_to(40000)) {
      EXPECT_FALSE(s.flags() & RST) << s.describe();
      if (s.seq() == c.stack_next + got.size()) got.insert(got.end(), s.payload.begin(), s.payload.end());
      if (s.flags() & FIN) {
        fin = true;
        fin_seq = s.seq() + static_cast<std::uint32_t>(s.payload.size());
      }
    }
  };
  bool fin = false;
  std::uint32_t fin_seq = 0;
  collect(fin, fin_seq);
  EXPECT_EQ(got.size(), 0u);  // the window is closed

  set_phase(0, AppPhase::kDying);
  poll(3);
  collect(fin, fin_seq);
  EXPECT_FALSE(fin);
  EXPECT_FALSE(released(0)) << "released before the send ring was drained";
  EXPECT_EQ(counters(0).closed_on_exit.load(), 1u);
  EXPECT_EQ(counters(0).resets_on_exit.load(), 0u);

  // The peer acknowledges what arrives and opens its window.
  for (int round = 0; round < 50 && !fin; ++round) {
    peer_sends(ACK, c.peer_next, c.stack_next + static_cast<std::uint32_t>(got.size()), {}, peer_ts(), 65535,
               c.peer_port, kPort);
    poll();
    if (released(0)) {
      EXPECT_EQ(sh.tx_tail.value.load(), 8192u) << "released before the drain";
    }
    collect(fin, fin_seq);
  }
  EXPECT_TRUE(fin);
  EXPECT_EQ(got, all);
  EXPECT_EQ(fin_seq, c.stack_next + 8192);
  EXPECT_TRUE(released(0));
  EXPECT_EQ(sh.tx_tail.value.load(), 8192u);
  EXPECT_EQ(counters(0).bytes_out.load(), 8192u);
  EXPECT_FALSE(faulted(0));
  // The listener went at once; the connection's release came with the FIN.
  free_slot(0);
}

TEST_F(ShimEngineTest, Leave_UnreadBytes_ConnectionReset) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  peer_data(c, text("unread"));
  poll();
  sent();
  set_phase(0, AppPhase::kDying);
  poll();
  const auto out = sent_to(40000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].flags() & RST);
  EXPECT_EQ(out[0].seq(), c.stack_next);
  EXPECT_TRUE(released(0));
  EXPECT_EQ(counters(0).resets_on_exit.load(), 1u);
  EXPECT_EQ(counters(0).closed_on_exit.load(), 0u);
  EXPECT_FALSE(faulted(0));
  free_slot(0);
}

TEST_F(ShimEngineTest, Leave_NothingOpen_ReleasedAtOnce) {
  attach(0);
  poll();
  set_phase(0, AppPhase::kDying);
  poll();
  EXPECT_TRUE(released(0));
  free_slot(0);
  // A slot that came and went between two iterations: released without ever being served.
  attach(0);
  set_phase(0, AppPhase::kDying);
  poll();
  EXPECT_TRUE(released(0));
}

// An application that leaves with an impossible tx_head: the connection is reset (not drained
// towards an index that never comes) and the application is let go.
TEST_F(ShimEngineTest, Leave_GarbageSendHead_ConnectionResetAndReleased) {
  TestApp& app = attach(0);
  listen_on(app, 0, kPort);
  Conn c = establish(app, 0, 1, kPort, 40000);
  app.sock(1).tx_head.value.store(kBufferBytes + 100);
  set_phase(0, AppPhase::kDying);
  poll(3);
  // An hour of virtual time: no timer of an idle ESTABLISHED connection ends it.
  for (int i = 0; i < 3600 && !released(0); ++i) {
    advance_to(wheel_.now() + std::chrono::seconds(1));
    poll();
  }
  EXPECT_TRUE(released(0)) << "the slot is never let go";
  bool closed = false;
  for (const Sent& s : sent_to(40000)) closed |= (s.flags() & (RST | FIN)) != 0;
  EXPECT_TRUE(closed) << "the connection was neither reset nor closed";
  (void)c;
}

// --- hostile writers ---------------------------------------------------------------------------

class ShimHostileTest : public ShimEngineTest {
 protected:
  void SetUp() override {
    ShimEngineTest::SetUp();
    good_ = &attach(1);
    listen_on(*good_, 0, 9090);
  }

  // The well-behaved app still gets answers.
  void expect_good_served() {
    const Completion c = call(*good_, Op::kGetOption, 0, {static_cast<std::int64_t>(Option::kNoDelay)});
    EXPECT_EQ(c.result, 0);
    EXPECT_FALSE(faulted(1));
  }

  // A full connection to the good app's listener at the end.
  void expect_good_accepts() {
    sent();
    peer_connects(9090, 42000);
    poll();
    const auto entry = take_accept(*good_, 0);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->remote_port, 42000);
    EXPECT_EQ(call(*good_, Op::kAdopt, 1, {entry->connection}).result, 0);
    EXPECT_FALSE(faulted(1));
    EXPECT_EQ(counters(1).bad_requests.load(), 0u);
  }

  // The attach thread's part once the hostile app is done: kDying, wait for the engine to let go
  // (virtual time runs so that drains towards dead peers time out), kFree.
  void retire_hostile(std::uint64_t seed) {
    set_phase(0, AppPhase::kDying);
    poll();
    for (int s = 0; s < 400 && !released(0); ++s) {
      advance_to(wheel_.now() + std::chrono::seconds(1));
      poll();
      sent();
    }
    // (An app leaving with an impossible tx_head: Leave_GarbageSendHead_ConnectionResetAndReleased.)
    ASSERT_TRUE(released(0)) << "seed " << seed << ": the engine never let go of the hostile app";
    sent();
    free_slot(0);
  }

  TestApp* good_ = nullptr;
};

TEST_F(ShimHostileTest, RandomRegion_200Seeds_FaultedOrRefusedEngineSurvives) {
  int faults = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    TestApp& app = attach(0);
    poll();
    if (seed % 10 == 0) {
      // Something to reset: a listener and an adopted connection.
      listen_on(app, 0, 1000);
      establish(app, 0, 1, 1000, static_cast<std::uint16_t>(50000 + seed));
    }
    std::mt19937_64 rng(seed);
    for (std::uint64_t off = sizeof(RegionHeader); off + 8 <= app.g.size; off += 8) {
      const std::uint64_t v = rng();
      std::memcpy(app.base + off, &v, 8);
    }
    for (int i = 0; i < 5; ++i) {
      poll();
      if (i == 2) peer_sends(SYN, 7000, 0, {}, linux_syn_options(), 64240, 45000, 1000);
    }
    sent();
    if (faulted(0)) {
      ++faults;
      EXPECT_EQ(app.daemon_state(), DaemonState::kDetached);
      EXPECT_TRUE(released(0));
      EXPECT_EQ(counters(0).sockets.load(), 0u);
    } else {
      EXPECT_EQ(app.daemon_state(), DaemonState::kRunning);
    }
    expect_good_served();
    retire_hostile(seed);
    if (HasFatalFailure()) return;
  }
  // 32-bit random ring indices are impossible but for ~1 in 2^24: every seed faults.
  EXPECT_EQ(faults, 200);
  expect_good_accepts();
}

// Only the ring indices and the requests are random (within reach of valid), so requests get
// parsed and served: listens, connects, adopts of real and made-up ids, sends, shutdowns, options.
TEST_F(ShimHostileTest, RandomRequestsAndIndices_200Seeds_FaultedOrRefusedEngineSurvives) {
  int faults = 0, refusals = 0, successes = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed * 7919);
    auto pick = [&](std::uint64_t n) { return rng() % n; };
    // One app in four also writes impossible values (ops, slots, indices) now and then; the
    // others stay within reach of valid so that their requests get served or refused.
    const bool nasty = seed % 4 == 0;
    TestApp& app = attach(0);
    poll();
    std::vector<std::int64_t> ids;  // connection ids seen in accept rings

    auto random_request = [&]() {
      Request r;
      std::uint32_t op = 1 + static_cast<std::uint32_t>(pick(9));
      if (nasty && pick(40) == 0) op = static_cast<std::uint32_t>(rng());
      if (nasty && pick(60) == 0) op = 0;
      r.op = static_cast<Op>(op);
      r.socket = static_cast<std::uint32_t>(pick(12));
      if (nasty && pick(50) == 0) r.socket = kSockets + static_cast<std::uint32_t>(pick(3));
      if (nasty && pick(80) == 0) r.socket = static_cast<std::uint32_t>(rng());
      r.tag = pick(4) == 0 ? 0 : (rng() | 1);
      switch (static_cast<Op>(op)) {
        case Op::kListen:
          r.args[0] = pick(3) == 0 ? kLocalIp.value : pick(5) == 0 ? static_cast<std::uint32_t>(rng()) : 0;
          r.args[1] = 1000 + static_cast<std::int64_t>(pick(4));
          r.args[2] = static_cast<std::int64_t>(pick(300)) - 50;
          break;
        case Op::kConnect:
          r.args[0] = pick(2) == 0 ? kPeerIp.value : static_cast<std::uint32_t>(rng());
          r.args[1] = static_cast<std::int64_t>(pick(65536));
          r.args[2] = pick(4) == 0 ? kLocalIp.value : 0;
          r.args[3] = pick(4) == 0 ? 1000 + static_cast<std::int64_t>(pick(4)) : 0;
          break;
        case Op::kAdopt:
          r.args[0] = !ids.empty() && pick(2) == 0 ? ids[pick(ids.size())]
                      : pick(3) == 0                ? static_cast<std::int64_t>(rng())
                                                    : static_cast<std::int64_t>(pick(300));
          break;
        case Op::kShutdown: r.args[0] = static_cast<std::int64_t>(pick(5)) - 1; break;
        case Op::kSetOption:
        case Op::kGetOption:
          r.args[0] = static_cast<std::int64_t>(pick(16)) - 1;
          r.args[1] = pick(4) == 0 ? static_cast<std::int32_t>(rng()) : static_cast<std::int64_t>(pick(100));
          break;
        default:
          for (auto& a : r.args) a = static_cast<std::int64_t>(rng());
      }
      return r;
    };
    // App-owned fields of the first 12 sockets: indices mostly within reach, options, bytes.
    auto scribble_sockets = [&]() {
      for (std::uint32_t s = 0; s < 12; ++s) {
        SocketShared& sh = app.sock(s);
        if (pick(2) == 0) continue;
        const std::uint32_t rx_head = sh.rx_head.value.load(), tx_tail = sh.tx_tail.value.load();
        sh.rx_tail.value.store(nasty && pick(10) == 0 ? static_cast<std::uint32_t>(rng())
                                             : rx_head - static_cast<std::uint32_t>(pick(3)));
        sh.tx_head.value.store(nasty && pick(10) == 0 ? static_cast<std::uint32_t>(rng())
                                             : tx_tail + static_cast<std::uint32_t>(pick(kBufferBytes + 1)));
        for (std::uint32_t k = 0; k < 64; ++k) app.view.tx_bytes(s)[pick(kBufferBytes)] = static_cast<std::uint8_t>(rng());
        sh.option_count = static_cast<std::uint32_t>(pick(kMaxOptions + 2));
        for (auto& o : sh.options) o = SocketOption{static_cast<std::uint32_t>(pick(14)), static_cast<std::int32_t>(pick(5) == 0 ? rng() : pick(70000))};
        sh.rx_wanted.store(static_cast<std::uint32_t>(pick(2)));
        sh.tx_wanted.store(static_cast<std::uint32_t>(pick(2)));
        sh.tx_doorbell.store(static_cast<std::uint32_t>(pick(2)));
        if (pick(8) == 0) sh.accept_tail[0].store(static_cast<std::uint32_t>(nasty && pick(8) == 0 ? rng() : pick(4)));
      }
    };
    auto send_requests = [&]() {
      for (unsigned c = 0; c < kChannels; ++c) {
        const auto n = pick(30);
        for (std::uint64_t i = 0; i < n; ++i) app.requests[c].push(random_request());
        app.requests[c].publish();
        if (nasty && pick(40) == 0) app.view.channel(c, 0).requests.head.value.store(static_cast<std::uint32_t>(rng()));
        if (nasty && pick(40) == 0) app.view.channel(c, 0).completions.tail.value.store(static_cast<std::uint32_t>(rng()));
      }
      if (nasty && pick(40) == 0) app.view.events(0).ring.tail.value.store(static_cast<std::uint32_t>(rng()));
    };
    auto collect = [&]() {
      for (unsigned c = 0; c < kChannels; ++c) {
        std::uint32_t n = 0;
        if (app.completions[c].available(n) != RingCheck::kOk) continue;  // the app itself scribbled
        for (std::uint32_t i = 0; i < n; ++i) {
          Completion done;
          app.completions[c].take(done);
          if (done.result >= 0) ++successes;
          else {
            ++refusals;
            EXPECT_GE(done.result, -4095) << "not an errno";
          }
        }
        app.completions[c].release();
      }
      // Connection ids handed over, for adopts that are real.
      for (std::uint32_t s = 0; s < 12; ++s) {
        const std::uint32_t head = app.sock(s).accept_head[0].load();
        const std::uint32_t cap = app.view.accept_capacity();
        for (std::uint32_t k = 0; k < std::min<std::uint32_t>(head, 4); ++k)
          ids.push_back(app.view.accept_entries(s, 0)[(head - 1 - k) & (cap - 1)].connection);
      }
      std::uint32_t n = 0;
      if (app.events.available(n) == RingCheck::kOk) {
        for (std::uint32_t i = 0; i < n; ++i) {
          Event e;
          app.events.take(e);
        }
        app.events.release();
      }
    };

    scribble_sockets();
    send_requests();
    poll(3);
    collect();
    // The peer connects to the ports the app may be listening on, and completes what answers.
    std::uint32_t stack_isn[4] = {};
    auto peer_port = [&](std::uint16_t port) { return static_cast<std::uint16_t>(43000 + 4 * seed + port - 1000); };
    for (std::uint16_t port = 1000; port < 1004; ++port) {
      const std::uint16_t from = peer_port(port);
      peer_sends(SYN, kPeerIsn, 0, {}, linux_syn_options(), 64240, from, port);
      for (const Sent& s : sent()) {
        if (s.is(SYN | ACK) && s.tcp.dst_port == from) {
          stack_isn[port - 1000] = s.seq();
          peer_sends(ACK, kPeerIsn + 1, s.seq() + 1, {}, peer_ts(), 502, from, port);
        }
      }
    }
    poll(2);
    collect();
    scribble_sockets();
    send_requests();
    poll(3);
    // Data from the peer for whatever got adopted.
    for (std::uint16_t port = 1000; port < 1004; ++port) {
      if (stack_isn[port - 1000] == 0) continue;
      peer_sends(ACK | PSH, kPeerIsn + 1, stack_isn[port - 1000] + 1, pattern(200, static_cast<std::uint8_t>(port)),
                 peer_ts(), 502, peer_port(port), port);
    }
    scribble_sockets();
    send_requests();
    poll(3);
    collect();
    sent();

    if (faulted(0)) {
      ++faults;
      EXPECT_EQ(app.daemon_state(), DaemonState::kDetached);
      EXPECT_TRUE(released(0));
      EXPECT_EQ(counters(0).sockets.load(), 0u);
    } else {
      EXPECT_EQ(app.daemon_state(), DaemonState::kRunning);
    }
    expect_good_served();
    retire_hostile(seed);
    if (HasFatalFailure()) return;
  }
  std::printf("random requests: %d of 200 apps faulted; %d requests refused, %d succeeded\n", faults, refusals,
              successes);
  // Both outcomes happen: the requests are parsed deeply enough to be served or refused.
  EXPECT_GT(faults, 0);
  EXPECT_LT(faults, 200);
  EXPECT_GT(refusals, 0);
  EXPECT_GT(successes, 0);
  expect_good_accepts();
}

}  // namespace
}  // namespace synwave::shim
