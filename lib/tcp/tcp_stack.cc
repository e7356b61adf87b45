// TcpStack: creation, the socket slab, the socket API and readiness.
#include "tcp/tcp_stack.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {

TcpStack::Impl::Impl(const Params& p, TimerWheel& wheel, SegmentSink s, void* ctx)
    : params(p), timers(wheel), sink(s), sink_context(ctx), isn(p.isn_secret), cookies(p.isn_secret),
      syn_queue(p.max_half_open != 0 ? p.max_half_open : std::max(p.max_sockets, 2u)) {
  synack_timer.set_callback(&Impl::synack_expired, this);
  slab_size = std::max(p.max_sockets, 2u);
  slab = std::make_unique<Tcb[]>(slab_size);
  free_list.reserve(slab_size);
  for (std::uint32_t i = slab_size; i-- > 0;) {
    slab[i].index = i;
    slab[i].owner = this;
    slab[i].rtx_timer.set_callback(&Impl::rtx_expired, &slab[i]);
    slab[i].state_timer.set_callback(&Impl::state_expired, &slab[i]);
    slab[i].delack_timer.set_callback(&Impl::delack_expired, &slab[i]);
    free_list.push_back(i);
  }
  port_head.assign(65536, kNoIndex);
  listener_by_port.assign(65536, kNoIndex);
  ready.reserve(1024);
}

absl::StatusOr<std::unique_ptr<TcpStack>> TcpStack::create(const Params& params, TimerWheel& timers,
                                                           SegmentSink sink, void* sink_context) {
  if (params.pool == nullptr) return absl::InvalidArgumentError("TcpStack needs a mempool");
  if (!congestion_algorithm_from_name(params.sysctl.tcp_congestion_control))
    return absl::InvalidArgumentError(absl::StrCat("unknown tcp_congestion_control '",
                                                   params.sysctl.tcp_congestion_control, "' (cubic, reno)"));
  auto impl = std::make_unique<Impl>(params, timers, sink, sink_context);
  // Connections are read only by this engine, so no reader ever registers and erased entries are
  // reclaimed at once; the domain is there for readers on other threads (the socket shim).
  auto readers = ReaderDomain::create(params.table_name, 4);
  if (!readers.ok()) return readers.status();
  impl->readers = *std::move(readers);
  ConnectionTable::Config table;
  table.name = params.table_name;
  table.capacity = std::max(8u, impl->slab_size + impl->syn_queue.capacity());  // Tcbs and half-open records
  table.readers = impl->readers.get();
  auto connections = ConnectionTable::create(table);
  if (!connections.ok()) return connections.status();
  impl->connections = *std::move(connections);
  return std::unique_ptr<TcpStack>(new TcpStack(std::move(impl)));
}

TcpStack::TcpStack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpStack::~TcpStack() {
  for (std::uint32_t i = 0; i < impl_->slab_size; ++i)
    if (impl_->slab[i].in_use) impl_->release(impl_->slab[i]);
  impl_->timers.cancel(impl_->synack_timer);
}

// --- slab ----------------------------------------------------------------------------------------

Tcb* TcpStack::Impl::allocate() {
  if (free_list.empty()) return nullptr;
  Tcb& t = slab[free_list.back()];
  free_list.pop_back();
  t.generation = static_cast<std::uint16_t>((t.generation + 1) & 0x7ff);  // id stays positive
  t.in_use = true;
  t.state = State::kClosed;
  t.tuple = FourTuple{};
  t.bound = t.hashed = t.listed_on_port = t.autobound = false;
  t.next_on_port = t.prev_on_port = kNoIndex;
  t.reuse_addr = t.linger_zero = t.no_delay = t.cork = t.keep_alive = false;
  t.orphan = t.read_shutdown = t.fin_requested = t.accepted = false;
  t.user_mss = 0;
  t.keepalive_idle_s = t.keepalive_intvl_s = t.keepalive_probes = 0;
  t.snd_buf_locked = t.rcv_buf_locked = false;
  t.error = t.terminal_error = 0;
  t.iss = t.snd_una = t.snd_nxt = t.snd_wl1 = t.snd_wl2 = t.fin_seq = Seq{};
  t.fin_sent = false;
  t.snd_wnd = t.max_snd_wnd = 0;
  t.snd_buf = params.sysctl.tcp_wmem[1];
  t.snd_sml = Seq{};
  t.last_send = Instant{};
  t.cc = CongestionControl{};
  t.cc.algorithm = *congestion_algorithm_from_name(params.sysctl.tcp_congestion_control);
  t.cwnd_limited = false;
  t.recovery = Recovery::kOpen;
  t.recovery_point = t.rxt_next = Seq{};
  t.dupacks = 0;
  t.rxt_head_due = false;
  t.tlp_pending = t.tlp_retransmitted = false;
  t.head_rxt_valid = false;
  t.head_rxt_mark = Seq{};
  t.lost_until = Seq{};
  t.tlp_high_seq = Seq{};
  t.scoreboard.clear();
  t.total_retransmits = 0;
  t.irs = t.rcv_nxt = Seq{};
  t.rcv_buf = std::min<std::uint32_t>(params.sysctl.tcp_rmem[1], kMaxReceiveBuffer);
  t.rcv_wnd = 0;
  t.rcv_adv = t.rcv_acked = Seq{};
  t.rcv_mss = 536;
  t.quickacks = 0;
  t.data_seen = t.ack_pending = t.ooo_fin = false;
  t.ooo_fin_seq = Seq{};
  t.ooo.clear();
  t.last_recv = Instant{};
  t.rcvq_copied = t.rcvq_space = 0;
  t.rcvq_time = Instant{};
  t.rcv_rtt = Duration{0};
  t.mss = 536;
  t.adv_mss = static_cast<std::uint16_t>(params.mtu - 40);
  t.snd_wscale = t.rcv_wscale = 0;
  t.ws_ok = t.sack_ok = t.ts_ok = false;
  t.ts_recent = t.ts_offset = 0;
  t.ts_recent_stamp = Instant{};
  t.last_oow_ack = Instant{};
  t.oow_acked = false;
  t.state_timer_kind = StateTimer::kNone;
  t.rtx_kind = RtxTimer::kRetransmit;
  t.retransmits = 0;
  t.probes = 0;
  t.rto = std::chrono::seconds(1);
  t.srtt = t.rttvar = Duration{0};
  t.rtt_timing = t.rtt_measured = false;
  t.listener = t.next_in_queue = kNoIndex;
  t.in_accept_queue = t.acked_while_full = t.in_syn_queue = false;
  t.synq_overflowed = false;
  t.synq_overflow_stamp = Instant{};
  t.backlog = 0;
  t.syn_queue_len = t.accept_queue_len = t.syn_queue_young = 0;
  t.accept_head = t.accept_tail = kNoIndex;
  t.readiness = 0;
  t.in_ready_list = t.connected_edge = false;
  transition_counts[static_cast<std::size_t>(State::kClosed) * kStateCount].inc();  // CLOSED -> CLOSED marks a birth
  publish(t);
  return &t;
}

void TcpStack::Impl::release(Tcb& t) {
  timers.cancel(t.rtx_timer);
  timers.cancel(t.state_timer);
  timers.cancel(t.delack_timer);
  if (t.in_accept_queue || t.listener != kNoIndex) child_gone(t);
  if (t.state == State::kListen) {
    drop_half_opens_of(t);
    // Children not yet accepted die with their listener (Linux resets them).
    for (std::uint32_t i = 0; i < slab_size; ++i) {
      Tcb& child = slab[i];
      if (child.in_use && child.listener == t.index) {
        if (is_synchronized(child.state) || child.state == State::kSynReceived) send_rst(child);
        child.listener = kNoIndex;
        child.in_accept_queue = false;
        release(child);
      }
    }
    listener_by_port[t.tuple.local_port] = kNoIndex;
  }
  if (t.hashed) {
    connections->erase(t.tuple);
    t.hashed = false;
  }
  unbind(t);
  t.send_queue.clear();
  t.recv_queue.clear();
  t.ooo.clear();
  t.scoreboard.clear();
  set_state(t, State::kClosed);
  t.in_use = false;
  publish(t);
  free_list.push_back(t.index);
}

Tcb* TcpStack::Impl::from_socket(int s) const {
  if (s < 0) return nullptr;
  const std::uint32_t index = static_cast<std::uint32_t>(s) & 0xfffff;
  const std::uint16_t generation = static_cast<std::uint16_t>(static_cast<std::uint32_t>(s) >> 20);
  if (index >= slab_size) return nullptr;
  Tcb& t = slab[index];
  // A socket the application closed is gone for it, even while its connection lives on.
  if (!t.in_use || t.generation != generation || t.orphan) return nullptr;
  return &t;
}

// --- state and publication ------------------------------------------------------------------------

void TcpStack::Impl::set_state(Tcb& t, State next) {
  // RFC 1213 tcpEstabResets / Linux EstabResets: straight from ESTABLISHED or CLOSE_WAIT to CLOSED.
  if (next == State::kClosed && (t.state == State::kEstablished || t.state == State::kCloseWait))
    stats.inc(TcpStat::kEstablishedResets);
  transition_counts[static_cast<std::size_t>(t.state) * kStateCount + static_cast<std::size_t>(next)].inc();
  t.state = next;
  publish(t);
  update_readiness(t);
}

void TcpStack::Impl::publish(Tcb& t) {
  Published& p = t.published;
  // Seqlock writer: odd version while fields change. The release fence orders the odd version
  // before the field stores; the final release store orders the fields before the even version.
  const std::uint32_t v = p.version.load(std::memory_order_relaxed);
  p.version.store(v + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  p.in_use.store(t.in_use, std::memory_order_relaxed);
  p.state.store(static_cast<std::uint8_t>(t.state), std::memory_order_relaxed);
  p.local_addr.store(t.tuple.local.value, std::memory_order_relaxed);
  p.remote_addr.store(t.tuple.remote.value, std::memory_order_relaxed);
  p.local_port.store(t.tuple.local_port, std::memory_order_relaxed);
  p.remote_port.store(t.tuple.remote_port, std::memory_order_relaxed);
  std::uint8_t timer = 0;
  std::int64_t deadline = 0;
  if (t.rtx_timer.armed()) {
    timer = t.rtx_kind == RtxTimer::kPersist ? 4 : 1;
    deadline = to_ns(t.rtx_timer.deadline());
  } else if (t.state_timer.armed()) {
    switch (t.state_timer_kind) {
      case StateTimer::kTimeWait: timer = 2; break;
      case StateTimer::kKeepalive: timer = 5; break;
      default: timer = 3; break;
    }
    deadline = to_ns(t.state_timer.deadline());
  }
  p.timer.store(timer, std::memory_order_relaxed);
  p.timer_deadline_ns.store(deadline, std::memory_order_relaxed);
  const bool listening = t.state == State::kListen;
  p.send_queue.store(listening ? static_cast<std::uint32_t>(t.backlog) : static_cast<std::uint32_t>(t.send_queue.bytes()),
                     std::memory_order_relaxed);
  p.recv_queue.store(listening ? t.accept_queue_len : static_cast<std::uint32_t>(t.recv_queue.bytes()),
                     std::memory_order_relaxed);
  p.retransmits.store(t.retransmits, std::memory_order_relaxed);
  const auto us = [](Duration d) { return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
  p.srtt_us.store(us(t.srtt), std::memory_order_relaxed);
  p.rttvar_us.store(us(t.rttvar), std::memory_order_relaxed);
  p.rto_ms.store(us(t.rto) / 1000, std::memory_order_relaxed);
  const std::uint32_t mss = t.mss > 12 ? t.mss - (t.ts_ok ? 12u : 0u) : t.mss;
  p.mss.store(mss, std::memory_order_relaxed);
  p.cwnd.store(mss ? t.cc.cwnd / mss : 0, std::memory_order_relaxed);
  p.ssthresh.store(mss && t.cc.ssthresh < 0x7fffffff ? t.cc.ssthresh / mss : 0, std::memory_order_relaxed);
  p.total_retransmits.store(t.total_retransmits, std::memory_order_relaxed);
  p.congestion.store(static_cast<std::uint8_t>(t.cc.algorithm), std::memory_order_relaxed);
  p.snd_wscale.store(t.ws_ok ? t.snd_wscale : 0, std::memory_order_relaxed);
  p.rcv_wscale.store(t.ws_ok ? t.rcv_wscale : 0, std::memory_order_relaxed);
  p.sack.store(t.sack_ok, std::memory_order_relaxed);
  p.timestamps.store(t.ts_ok, std::memory_order_relaxed);
  p.version.store(v + 2, std::memory_order_release);
}

bool TcpStack::read_published(std::size_t index, ConnectionSummary& out) const {
  const Tcb& t = impl_->slab[index];
  const Published& p = t.published;
  static constexpr const char* kTimerNames[] = {"off", "on", "timewait", "timewait", "persist", "keepalive", "off", "off"};
  for (int attempt = 0; attempt < 8; ++attempt) {
    // Seqlock reader: pairs with publish()'s release store of the even version.
    const std::uint32_t before = p.version.load(std::memory_order_acquire);
    if (before & 1) continue;
    const bool in_use = p.in_use.load(std::memory_order_relaxed);
    out.socket = static_cast<int>(t.generation) << 20 | static_cast<int>(index);
    out.state = static_cast<State>(p.state.load(std::memory_order_relaxed));
    out.local = {Ipv4Addr{p.local_addr.load(std::memory_order_relaxed)}, p.local_port.load(std::memory_order_relaxed)};
    out.remote = {Ipv4Addr{p.remote_addr.load(std::memory_order_relaxed)}, p.remote_port.load(std::memory_order_relaxed)};
    out.timer = kTimerNames[p.timer.load(std::memory_order_relaxed) & 7];
    out.timer_deadline_ns = p.timer_deadline_ns.load(std::memory_order_relaxed);
    out.send_queue = p.send_queue.load(std::memory_order_relaxed);
    out.recv_queue = p.recv_queue.load(std::memory_order_relaxed);
    out.retransmits = p.retransmits.load(std::memory_order_relaxed);
    out.srtt_us = p.srtt_us.load(std::memory_order_relaxed);
    out.rttvar_us = p.rttvar_us.load(std::memory_order_relaxed);
    out.rto_ms = p.rto_ms.load(std::memory_order_relaxed);
    out.mss = p.mss.load(std::memory_order_relaxed);
    out.cwnd = p.cwnd.load(std::memory_order_relaxed);
    out.ssthresh = p.ssthresh.load(std::memory_order_relaxed);
    out.total_retransmits = p.total_retransmits.load(std::memory_order_relaxed);
    out.congestion = congestion_algorithm_name(static_cast<CongestionAlgorithm>(p.congestion.load(std::memory_order_relaxed) & 1));
    out.snd_wscale = p.snd_wscale.load(std::memory_order_relaxed);
    out.rcv_wscale = p.rcv_wscale.load(std::memory_order_relaxed);
    out.sack = p.sack.load(std::memory_order_relaxed);
    out.timestamps = p.timestamps.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (p.version.load(std::memory_order_relaxed) == before) return in_use && out.state != State::kClosed;
  }
  return false;
}

std::size_t TcpStack::published_capacity() const { return impl_->slab_size; }

std::uint32_t TcpStack::Impl::compute_readiness(const Tcb& t) const {
  std::uint32_t r = 0;
  if (t.state == State::kListen) return t.accept_queue_len > 0 ? kAcceptReady | kReadable : 0;
  if (t.error != 0) r |= kError | kReadable | kWritable;
  if (!t.recv_queue.empty() || fin_received(t.state) || t.terminal_error != 0 || t.read_shutdown) r |= kReadable;
  if (fin_received(t.state)) r |= kPeerClosed;
  // Linux sk_stream_is_writeable: free space at least half of what is queued.
  if (can_send_data(t.state) && !t.fin_requested && t.send_queue.bytes() < t.snd_buf &&
      t.snd_buf - t.send_queue.bytes() >= t.send_queue.bytes() / 2)
    r |= kWritable;
  if (t.connected_edge) r |= kConnected;
  if (t.terminal_error != 0) r |= kClosed | kReadable | kWritable;  // over: reset, timed out or ended
  return r;
}

void TcpStack::Impl::update_readiness(Tcb& t) {
  const std::uint32_t r = compute_readiness(t);
  if (r == t.readiness) return;
  t.readiness = r;
  if (!t.in_ready_list && !t.orphan && t.listener == kNoIndex) {
    // Released sockets leave stale ids behind; an application that never drains the list must
    // not make it grow without bound, so compact it when it outgrows the slab (amortized O(1)).
    if (ready.size() >= slab_size) {
      std::erase_if(ready, [this](int id) { return from_socket(id) == nullptr; });
    }
    t.in_ready_list = true;
    ready.push_back(socket_id(t));
  }
}

void TcpStack::Impl::finish(Tcb& t, int error) {
  timers.cancel(t.rtx_timer);
  timers.cancel(t.state_timer);
  timers.cancel(t.delack_timer);
  if (error != 0) {
    t.error = error;
    t.terminal_error = error;
  }
  if (t.hashed) {
    connections->erase(t.tuple);
    t.hashed = false;
  }
  t.send_queue.clear();
  t.ooo.clear();
  t.scoreboard.clear();
  if (t.orphan || t.listener != kNoIndex) {
    release(t);  // nobody will close it: a half-open child or an orphan
    return;
  }
  if (t.terminal_error == 0) t.terminal_error = -1;  // a clean end: reads return 0, sends EPIPE
  set_state(t, State::kClosed);
}

std::size_t TcpStack::take_ready(std::span<int> out) {
  auto& ready = impl_->ready;
  std::size_t taken = 0, n = 0;
  for (; taken < ready.size() && n < out.size(); ++taken) {
    const int s = ready[taken];
    if (Tcb* t = impl_->from_socket(s)) {
      t->in_ready_list = false;
      out[n++] = s;
    }
  }
  ready.erase(ready.begin(), ready.begin() + static_cast<std::ptrdiff_t>(taken));  // one move per call
  return n;
}

// --- the socket API -------------------------------------------------------------------------------

int TcpStack::socket() {
  Tcb* t = impl_->allocate();
  if (t == nullptr) return -EMFILE;
  return Impl::socket_id(*t);
}

int TcpStack::bind(int s, Endpoint local) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (t->bound) return -EINVAL;
  if (local.addr.value != 0 && local.addr != impl_->params.address) return -EADDRNOTAVAIL;
  return impl_->bind_port(*t, local.addr, local.port);
}

int TcpStack::listen(int s, int backlog) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (t->state != State::kClosed && t->state != State::kListen) return -EINVAL;
  if (t->tuple.remote.value != 0) return -EINVAL;
  // Linux __sys_listen: (unsigned) backlog > somaxconn -> somaxconn, so negative means somaxconn.
  const unsigned somaxconn = impl_->params.sysctl.somaxconn;
  t->backlog = static_cast<unsigned>(backlog) > somaxconn ? static_cast<int>(somaxconn) : backlog;
  if (t->state == State::kListen) return 0;
  if (!t->bound) {
    if (int r = impl_->bind_port(*t, Ipv4Addr{0}, 0); r < 0) return r;
  }
  const std::uint16_t port = t->tuple.local_port;
  if (impl_->listener_by_port[port] != kNoIndex) return -EADDRINUSE;
  for (std::uint32_t i = impl_->port_head[port]; i != kNoIndex; i = impl_->slab[i].next_on_port) {
    const Tcb& other = impl_->slab[i];
    if (&other != t && other.state == State::kListen) return -EADDRINUSE;
  }
  impl_->listener_by_port[port] = t->index;
  impl_->set_state(*t, State::kListen);
  return 0;
}

int TcpStack::accept(int s, Endpoint* peer) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (t->state != State::kListen) return -EINVAL;
  Tcb* child = impl_->accept_dequeue(*t);
  if (child == nullptr) return -EAGAIN;
  if (peer != nullptr) *peer = {child->tuple.remote, child->tuple.remote_port};
  impl_->update_readiness(*t);
  // Readiness gathered while queued was never reported: report the child afresh.
  child->readiness = 0;
  impl_->update_readiness(*child);
  return Impl::socket_id(*child);
}

int TcpStack::connect(int s, Endpoint remote) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  switch (t->state) {
    case State::kClosed: break;
    case State::kSynSent: case State::kSynReceived: return -EALREADY;
    case State::kListen: return -EISCONN;  // Linux inet_stream_connect: not TCP_CLOSE
    default: return -EISCONN;
  }
  if (t->terminal_error != 0) return -EISCONN;  // a connection that already ended (Linux: EISCONN/EBADFD)
  // Linux would send 0.0.0.0 to its own loopback; a DPDK port has none.
  if (remote.addr.value == 0) return -ENETUNREACH;
  if (int r = impl_->autobind_for_connect(*t, remote); r < 0) return r;
  t->tuple.remote = remote.addr;
  t->tuple.remote_port = remote.port;
  if (impl_->connections->insert(t->tuple, t) != TableResult::kOk) {
    t->tuple.remote = Ipv4Addr{};
    t->tuple.remote_port = 0;
    return -EADDRNOTAVAIL;
  }
  t->hashed = true;
  const Instant now = impl_->timers.now();
  t->iss = impl_->isn.next(t->tuple.local, t->tuple.local_port, t->tuple.remote, t->tuple.remote_port, now);
  t->ts_offset = impl_->isn.ts_offset(t->tuple.local, t->tuple.remote);
  t->snd_una = t->iss;
  t->snd_nxt = t->iss;
  if (t->user_mss != 0) t->adv_mss = std::min<std::uint16_t>(t->adv_mss, t->user_mss);
  impl_->set_state(*t, State::kSynSent);
  impl_->stats.inc(TcpStat::kActiveOpens);
  impl_->send_syn(*t);
  return -EINPROGRESS;
}

long TcpStack::send(int s, std::span<const std::uint8_t> data) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (t->error != 0) {
    const int e = t->error;
    t->error = 0;
    impl_->update_readiness(*t);
    return -e;
  }
  if (t->terminal_error != 0 || t->fin_requested) return -EPIPE;
  if (data.empty()) return 0;
  if (t->state == State::kSynSent || t->state == State::kSynReceived) return -EAGAIN;
  if (!can_send_data(t->state)) return t->state == State::kClosed || t->state == State::kListen ? -ENOTCONN : -EPIPE;
  // tcp_wmem: SO_SNDBUF, or auto-tuned from the congestion window (update_send_buffer).
  const std::size_t room = t->snd_buf > t->send_queue.bytes() ? t->snd_buf - t->send_queue.bytes() : 0;
  if (room == 0) return -EAGAIN;
  std::span<const std::uint8_t> rest = data.first(std::min(room, data.size()));
  std::size_t queued = t->send_queue.append_to_tail(rest);
  rest = rest.subspan(queued);
  while (!rest.empty()) {
    rte_mbuf* m = rte_pktmbuf_alloc(impl_->params.pool);
    if (m == nullptr) break;
    const std::size_t n = std::min<std::size_t>(rest.size(), rte_pktmbuf_tailroom(m));
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(n)), rest.data(), n);
    t->send_queue.push(m);
    queued += n;
    rest = rest.subspan(n);
  }
  if (queued == 0) return -ENOBUFS;
  impl_->push_data(*t);
  impl_->publish(*t);
  impl_->update_readiness(*t);
  return static_cast<long>(queued);
}

long TcpStack::recv(int s, std::span<std::uint8_t> buffer) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (t->state == State::kListen) return -ENOTCONN;
  if (buffer.empty()) return 0;
  if (!t->recv_queue.empty()) {
    const std::size_t n = t->recv_queue.copy_out(0, buffer);
    t->recv_queue.consume(n);
    impl_->data_read(*t, n);
    impl_->publish(*t);
    impl_->update_readiness(*t);
    return static_cast<long>(n);
  }
  if (t->error != 0) {
    const int e = t->error;
    t->error = 0;
    impl_->update_readiness(*t);
    return -e;
  }
  if (fin_received(t->state) || t->read_shutdown || t->terminal_error == -1) return 0;
  if (t->terminal_error > 0) return 0;  // the error was reported once already
  if (t->state == State::kClosed) return -ENOTCONN;
  if (t->state == State::kSynSent || t->state == State::kSynReceived) return -EAGAIN;
  return -EAGAIN;
}

int TcpStack::shutdown(int s, Shutdown how) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (!is_synchronized(t->state) && t->state != State::kSynSent && t->state != State::kSynReceived)
    return -ENOTCONN;
  if (how == Shutdown::kRead || how == Shutdown::kBoth) t->read_shutdown = true;
  if ((how == Shutdown::kWrite || how == Shutdown::kBoth) && !t->fin_requested) {
    t->fin_requested = true;
    if (t->state == State::kEstablished) impl_->set_state(*t, State::kFinWait1);
    else if (t->state == State::kCloseWait) impl_->set_state(*t, State::kLastAck);
    impl_->push_data(*t);
  }
  impl_->update_readiness(*t);
  return 0;
}

int TcpStack::close(int s) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  Impl& impl = *impl_;
  switch (t->state) {
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
      impl.release(*t);
      return 0;
    default: break;
  }
  if (t->state == State::kTimeWait) {
    // The 2MSL wait goes on without the application (Linux hands it to a timewait entry).
    t->orphan = true;
    impl.publish(*t);
    return 0;
  }
  // RFC 9293 / Linux tcp_close: unread data or SO_LINGER 0 -> RST and gone.
  if (!t->recv_queue.empty() || t->linger_zero) {
    impl.stats.inc(t->linger_zero ? TcpStat::kAbortOnLinger : TcpStat::kAbortOnClose);
    if (t->state != State::kTimeWait) impl.send_rst(*t);
    impl.release(*t);
    return 0;
  }
  t->orphan = true;
  if (t->state == State::kSynReceived || t->state == State::kEstablished) {
    t->fin_requested = true;
    impl.set_state(*t, State::kFinWait1);
    impl.push_data(*t);
  } else if (t->state == State::kCloseWait) {
    t->fin_requested = true;
    impl.set_state(*t, State::kLastAck);
    impl.push_data(*t);
  } else if (t->state == State::kFinWait2) {
    // Linux: an orphan in FIN_WAIT_2 waits tcp_fin_timeout for the peer's FIN, then goes.
    impl.arm_state_timer(*t, StateTimer::kFinWait2, std::chrono::seconds(impl.params.sysctl.tcp_fin_timeout));
  }
  impl.publish(*t);
  return 0;
}

int TcpStack::setsockopt(int s, SockOpt option, int value) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  switch (option) {
    case SockOpt::kReuseAddr: t->reuse_addr = value != 0; return 0;
    case SockOpt::kLinger: t->linger_zero = value == 0; return 0;
    case SockOpt::kNoDelay:
      t->no_delay = value != 0;
      // Linux (tcp_sock_set_nodelay): turning it on sends at once what Nagle was holding.
      if (t->no_delay) impl_->push_data(*t);
      return 0;
    case SockOpt::kCork:
      t->cork = value != 0;
      // Linux (tcp_sock_set_cork): uncorking sends what the cork held, as one segment where it fits.
      if (!t->cork) impl_->push_data(*t);
      return 0;
    case SockOpt::kKeepAlive:
      t->keep_alive = value != 0;
      if (t->keep_alive && is_synchronized(t->state) && t->state != State::kTimeWait) impl_->arm_keepalive(*t);
      return 0;
    case SockOpt::kMaxSeg:
      if (value < 88 || value > 32767) return -EINVAL;  // Linux TCP_MIN_MSS .. MAX_TCP_WINDOW
      t->user_mss = static_cast<std::uint16_t>(value);
      return 0;
    case SockOpt::kSndBuf:
      if (value < 0) return -EINVAL;
      t->snd_buf = std::clamp<std::uint32_t>(2u * static_cast<std::uint32_t>(std::min(value, 1 << 29)), 4608,
                                             impl_->params.sysctl.tcp_wmem[2]);
      t->snd_buf_locked = true;
      impl_->update_readiness(*t);
      return 0;
    case SockOpt::kRcvBuf:
      if (value < 0) return -EINVAL;
      t->rcv_buf = std::clamp<std::uint32_t>(2u * static_cast<std::uint32_t>(std::min(value, 1 << 29)), 2304,
                                             std::min(impl_->params.sysctl.tcp_rmem[2], kMaxReceiveBuffer));
      t->rcv_buf_locked = true;
      return 0;
    case SockOpt::kKeepIdle:
    case SockOpt::kKeepIntvl:
      if (value < 1 || value > 32767) return -EINVAL;  // Linux MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL
      (option == SockOpt::kKeepIdle ? t->keepalive_idle_s : t->keepalive_intvl_s) = static_cast<std::uint32_t>(value);
      if (option == SockOpt::kKeepIdle && t->keep_alive && is_synchronized(t->state)) impl_->arm_keepalive(*t);
      return 0;
    case SockOpt::kKeepCnt:
      if (value < 1 || value > 127) return -EINVAL;  // Linux MAX_TCP_KEEPCNT
      t->keepalive_probes = static_cast<std::uint32_t>(value);
      return 0;
    case SockOpt::kCongestion:
      if (value != static_cast<int>(CongestionAlgorithm::kReno) && value != static_cast<int>(CongestionAlgorithm::kCubic))
        return -ENOENT;  // Linux: no such algorithm
      t->cc.algorithm = static_cast<CongestionAlgorithm>(value);
      if (is_synchronized(t->state)) t->cc.init(t->cc.algorithm, impl_->payload_mss(*t), impl_->timers.now());
      return 0;
    case SockOpt::kError: return -ENOPROTOOPT;
  }
  return -ENOPROTOOPT;
}

int TcpStack::getsockopt(int s, SockOpt option, int* value) {
  Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return -EBADF;
  if (value == nullptr) return -EFAULT;
  switch (option) {
    case SockOpt::kReuseAddr: *value = t->reuse_addr; return 0;
    case SockOpt::kLinger: *value = t->linger_zero ? 0 : -1; return 0;
    case SockOpt::kNoDelay: *value = t->no_delay; return 0;
    case SockOpt::kKeepAlive: *value = t->keep_alive; return 0;
    case SockOpt::kMaxSeg: *value = is_synchronized(t->state) ? t->mss : (t->user_mss ? t->user_mss : t->adv_mss); return 0;
    case SockOpt::kSndBuf: *value = static_cast<int>(t->snd_buf); return 0;
    case SockOpt::kRcvBuf: *value = static_cast<int>(t->rcv_buf); return 0;
    case SockOpt::kKeepIdle:
      *value = static_cast<int>(t->keepalive_idle_s ? t->keepalive_idle_s : impl_->params.sysctl.tcp_keepalive_time);
      return 0;
    case SockOpt::kKeepIntvl:
      *value = static_cast<int>(t->keepalive_intvl_s ? t->keepalive_intvl_s : impl_->params.sysctl.tcp_keepalive_intvl);
      return 0;
    case SockOpt::kKeepCnt:
      *value = static_cast<int>(t->keepalive_probes ? t->keepalive_probes : impl_->params.sysctl.tcp_keepalive_probes);
      return 0;
    case SockOpt::kCongestion: *value = static_cast<int>(t->cc.algorithm); return 0;
    case SockOpt::kCork: *value = t->cork; return 0;
    case SockOpt::kError:
      *value = t->error;
      t->error = 0;
      impl_->update_readiness(*t);
      return 0;
  }
  return -ENOPROTOOPT;
}

std::uint32_t TcpStack::readiness(int s) const {
  const Tcb* t = impl_->from_socket(s);
  return t == nullptr ? 0 : impl_->compute_readiness(*t);
}

std::optional<State> TcpStack::state(int s) const {
  const Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return std::nullopt;
  return t->state;
}

std::optional<Endpoint> TcpStack::local_endpoint(int s) const {
  const Tcb* t = impl_->from_socket(s);
  if (t == nullptr) return std::nullopt;
  return Endpoint{t->tuple.local, t->tuple.local_port};
}

std::optional<Endpoint> TcpStack::remote_endpoint(int s) const {
  const Tcb* t = impl_->from_socket(s);
  if (t == nullptr || t->tuple.remote.value == 0) return std::nullopt;
  return Endpoint{t->tuple.remote, t->tuple.remote_port};
}

void TcpStack::input(rte_mbuf* packet, const wire::Ipv4View& ip) { impl_->input(packet, ip); }

const CounterSet<TcpStat>& TcpStack::stats() const { return impl_->stats; }
const CounterSet<TcpDrop>& TcpStack::drops() const { return impl_->drops; }
const CounterSet<wire::TcpError>& TcpStack::header_errors() const { return impl_->header_errors; }
const TcpStack::Params& TcpStack::params() const { return impl_->params; }
TimerWheel& TcpStack::timers() { return impl_->timers; }

std::uint64_t TcpStack::transitions(State from, State to) const {
  return impl_->transition_counts[static_cast<std::size_t>(from) * kStateCount + static_cast<std::size_t>(to)].get();
}

std::array<std::uint64_t, kStateCount> TcpStack::state_counts() const {
  std::array<std::uint64_t, kStateCount> counts{};
  for (std::size_t from = 0; from < kStateCount; ++from) {
    for (std::size_t to = 0; to < kStateCount; ++to) {
      if (from == to) continue;
      const std::uint64_t n = impl_->transition_counts[from * kStateCount + to].get();
      counts[to] += n;
      counts[from] -= n;
    }
  }
  counts[static_cast<std::size_t>(State::kClosed)] = 0;  // CLOSED is not a place connections stay
  return counts;
}

}  // namespace synwave::tcp
