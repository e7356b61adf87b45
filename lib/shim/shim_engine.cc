#include "shim/shim_engine.h"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "tcp/congestion.h"

namespace synwave::shim {

using RequestRing = MessageRing<Request, kRingEntries>;
using CompletionRing = MessageRing<Completion, kRingEntries>;
using EventQueue = MessageRing<Event, kEventEntries>;

// This engine's view of one attached application.
struct ShimEngine::App {
  unsigned index = 0;  // the AppTable slot
  std::uint32_t id = 0;
  std::uint32_t family = 0;  // AppSlot::family: who may share its listeners
  AppSlot* slot = nullptr;
  RegionView region;
  std::uint32_t capacity = 0;  // byte ring size
  std::vector<Sock> socks;
  std::vector<RingConsumer<RequestRing>> requests;       // per channel
  std::vector<RingProducer<CompletionRing>> completions;  // per channel
  RingProducer<EventQueue> events;
  AppEngineCounters* counters = nullptr;
  unsigned open = 0;       // sockets this engine holds for it (listeners, connections, drains)
  bool events_pending = false;  // pushed but not yet published
  bool wake = false;       // published since its eventfd was last written
  bool active = false;     // published in this iteration
  Instant wake_since{};    // the first publication it has not been woken for
  bool unseen = false;     // published since this engine last yielded the CPU
  bool leaving = false;    // it left or faulted: no more requests; release once drained
  bool released = false;
};

namespace {

// How long a sleeping application may wait for its wake-up while this engine keeps finding work
// for it (see poll()).
constexpr Duration kWakeCoalescing = std::chrono::microseconds(50);

static_assert(static_cast<int>(Option::kReuseAddr) == static_cast<int>(tcp::SockOpt::kReuseAddr));
static_assert(static_cast<int>(Option::kLinger) == static_cast<int>(tcp::SockOpt::kLinger));
static_assert(static_cast<int>(Option::kError) == static_cast<int>(tcp::SockOpt::kError));
static_assert(static_cast<int>(Option::kNoDelay) == static_cast<int>(tcp::SockOpt::kNoDelay));
static_assert(static_cast<int>(Option::kKeepAlive) == static_cast<int>(tcp::SockOpt::kKeepAlive));
static_assert(static_cast<int>(Option::kMaxSeg) == static_cast<int>(tcp::SockOpt::kMaxSeg));
static_assert(static_cast<int>(Option::kSndBuf) == static_cast<int>(tcp::SockOpt::kSndBuf));
static_assert(static_cast<int>(Option::kRcvBuf) == static_cast<int>(tcp::SockOpt::kRcvBuf));
static_assert(static_cast<int>(Option::kKeepIdle) == static_cast<int>(tcp::SockOpt::kKeepIdle));
static_assert(static_cast<int>(Option::kKeepIntvl) == static_cast<int>(tcp::SockOpt::kKeepIntvl));
static_assert(static_cast<int>(Option::kKeepCnt) == static_cast<int>(tcp::SockOpt::kKeepCnt));
static_assert(static_cast<int>(Option::kCongestion) == static_cast<int>(tcp::SockOpt::kCongestion));
static_assert(static_cast<int>(Option::kCork) == static_cast<int>(tcp::SockOpt::kCork));
static_assert(kCongestionReno == static_cast<int>(tcp::CongestionAlgorithm::kReno));
static_assert(kCongestionCubic == static_cast<int>(tcp::CongestionAlgorithm::kCubic));

bool valid_option(std::uint32_t option) { return option <= static_cast<std::uint32_t>(tcp::SockOpt::kCork); }

tcp::Endpoint endpoint(std::int64_t addr, std::int64_t port) {
  // The region holds addresses in network order (as sockaddr_in does); Ipv4Addr in host order.
  return {Ipv4Addr{ntohl(static_cast<std::uint32_t>(addr))}, static_cast<std::uint16_t>(port)};
}

}  // namespace

ShimEngine::ShimEngine(AppTable& apps, const Params& params) : apps_table_(apps), params_(params) {
  apps_.resize(apps.size());
}

ShimEngine::~ShimEngine() = default;

void ShimEngine::start(std::span<tcp::TcpStack* const> tcp, Instant) {
  tcp_ = tcp.front();
  owner_capacity_ = tcp_->params().max_sockets;
  owners_.assign(owner_capacity_, Owner{});
  published_owner_ = std::make_unique<std::atomic<std::uint32_t>[]>(owner_capacity_);
  retry_.reserve(1024);
  retry_next_.reserve(1024);
}

std::uint32_t ShimEngine::owner_of(int tcp_socket) const {
  const std::size_t i = tcp::TcpStack::slot_of(tcp_socket);
  if (published_owner_ == nullptr || i >= owner_capacity_) return 0;
  return published_owner_[i].load(std::memory_order_relaxed);
}

void ShimEngine::set_owner(int tcp_socket, const Owner& owner) {
  const std::size_t i = tcp::TcpStack::slot_of(tcp_socket);
  owners_[i] = owner;
  published_owner_[i].store(apps_[owner.app]->id, std::memory_order_relaxed);
}

void ShimEngine::clear_owner(int tcp_socket) {
  const std::size_t i = tcp::TcpStack::slot_of(tcp_socket);
  if (owners_[i].tcp != tcp_socket) return;
  owners_[i] = Owner{};
  published_owner_[i].store(0, std::memory_order_relaxed);
}

// --- applications coming and going ----------------------------------------------------------------

void ShimEngine::sync_apps() {
  // Acquire pairs with the attach thread's release after a phase change.
  const std::uint64_t epoch = apps_table_.epoch().load(std::memory_order_acquire);
  if (epoch == seen_epoch_) return;
  seen_epoch_ = epoch;
  for (unsigned i = 0; i < apps_table_.size(); ++i) {
    AppSlot& slot = apps_table_.slot(i);
    const AppPhase phase = slot.phase.load(std::memory_order_acquire);
    App* app = apps_[i].get();
    if (phase == AppPhase::kLive && (app == nullptr || app->id != slot.id)) {
      if (app != nullptr && !app->released) leave(*app, true);
      attach(i);
    } else if (phase == AppPhase::kDying) {
      // An application this engine never served (it came and went between two looks) needs
      // nothing let go of.
      if (app == nullptr || app->id != slot.id) slot.released[params_.engine].store(true, std::memory_order_release);
      else if (!app->leaving) leave(*app, false);
    } else if (phase == AppPhase::kFree && app != nullptr && app->released) {
      apps_[i].reset();
      std::erase(active_, i);
    }
  }
}

void ShimEngine::attach(unsigned index) {
  AppSlot& slot = apps_table_.slot(index);
  auto app = std::make_unique<App>();
  app->index = index;
  app->id = slot.id;
  app->family = slot.family != 0 ? slot.family : slot.id;
  app->slot = &slot;
  app->region = slot.region;
  app->capacity = slot.region.g.buffer_bytes;
  app->socks.assign(slot.region.g.sockets, Sock{});
  app->counters = &slot.counters[params_.engine];
  for (std::uint32_t c = 0; c < slot.region.g.channels; ++c) {
    Channel& ch = slot.region.channel(c, params_.engine);
    app->requests.emplace_back(&ch.requests);
    app->completions.emplace_back(&ch.completions);
  }
  app->events.reset(&slot.region.events(params_.engine).ring);
  apps_[index] = std::move(app);
  if (std::find(active_.begin(), active_.end(), index) == active_.end()) active_.push_back(index);
}

// The application is gone (reset_all: or cut off, or the daemon stops): its sockets are closed
// as Linux closes a dead process's sockets. Connections with unread data are reset; the others
// send what the application had written, then FIN. Pending (never accepted) connections are reset
// like a listener's queue on close (inet_csk_listen_stop).
void ShimEngine::leave(App& app, bool reset_all) {
  app.leaving = true;
  for (std::size_t i = 0; i < owners_.size(); ++i) {
    Owner& o = owners_[i];
    if (o.kind == Owner::kPending && o.app == app.index) {
      tcp_->setsockopt(o.tcp, tcp::SockOpt::kLinger, 0);
      tcp_->close(o.tcp);
      clear_owner(o.tcp);
    }
  }
  for (std::uint32_t slot = 0; slot < app.socks.size(); ++slot) {
    Sock& s = app.socks[slot];
    if (s.kind == Kind::kFree) continue;
    if (reset_all) {
      if (s.kind == Kind::kConnection) {
        tcp_->setsockopt(s.tcp, tcp::SockOpt::kLinger, 0);
        app.counters->resets_on_exit.fetch_add(1, std::memory_order_relaxed);
      }
      finish_close(app, slot, s);
      continue;
    }
    if (s.closing) continue;  // already draining towards its close
    if (s.kind == Kind::kConnection) {
      const bool unread = app.region.socket(slot).rx_tail.value.load(std::memory_order_acquire) != s.rx_head;
      (unread ? app.counters->resets_on_exit : app.counters->closed_on_exit).fetch_add(1, std::memory_order_relaxed);
    }
    request_close(app, slot, s);
  }
  maybe_release(app);
}

void ShimEngine::fault(App& app) {
  if (app.leaving) return;
  // Stores to the application's own memory cannot hurt anyone else; it learns why it was cut off.
  app.region.header().daemon_state.store(static_cast<std::uint32_t>(DaemonState::kDetached), std::memory_order_release);
  app.slot->fault[params_.engine].store(true, std::memory_order_release);  // the attach thread closes its socket
  leave(app, true);
  app.wake = true;
}

void ShimEngine::maybe_release(App& app) {
  if (!app.leaving || app.released || app.open != 0) return;
  // The last touches of the region: after the release store the attach thread may unmap it.
  if (app.events_pending) {
    app.events.publish();
    app.events_pending = false;
  }
  if (app.wake) wake(app);
  app.released = true;
  // Release pairs with the attach thread's acquire: we touch the region no more.
  app.slot->released[params_.engine].store(true, std::memory_order_release);
}

// --- requests ---------------------------------------------------------------------------------------

void ShimEngine::poll(Instant now) {
  if (tcp_ == nullptr) return;
  now_ = now;
  sync_apps();
  bool busy = false;  // anything done for an application in this iteration
  for (unsigned i : active_) {
    App& app = *apps_[i];
    if (!app.leaving) busy |= serve_requests(app);
  }
  busy |= !retry_.empty();
  if (!retry_.empty()) {
    retry_next_.swap(retry_);
    for (auto [index, slot] : retry_next_) {
      App* app = apps_[index].get();
      if (app == nullptr || app->released || slot >= app->socks.size()) continue;
      Sock& s = app->socks[slot];
      s.in_retry = false;
      if (s.kind == Kind::kConnection) service(*app, slot, s);
    }
    retry_next_.clear();
  }
  int ready[256];
  for (std::size_t n; (n = tcp_->take_ready(ready)) > 0;) {
    busy = true;
    for (std::size_t i = 0; i < n; ++i) on_tcp_ready(ready[i]);
  }
  bool app_waits_for_us = false;
  for (unsigned i : active_) {
    App& app = *apps_[i];
    if (app.released) continue;
    if (app.events_pending) {
      app.events.publish();
      app.events_pending = false;
    }
    // Coalesced like a NIC's interrupts: a sleeping application is woken once this engine's
    // streak of work for it ends (an iteration that published nothing more), or after
    // kWakeCoalescing, not for every event: each wake-up costs it a context switch.
    if (app.wake && (!app.active || now - app.wake_since >= kWakeCoalescing)) wake(app);
    app.active = false;
    // Awake (not sleeping on its eventfd) with something new from us since we last yielded.
    app_waits_for_us |= app.unseen && app.region.header().waiting.load(std::memory_order_relaxed) == 0;
  }
  // An application may share this engine's CPU (a small machine, or more processes than cores):
  // one we just woke, or one awake with news from us once our streak of work ends, gets the CPU
  // now rather than at the end of our time slice. Not for nothing: a context switch is dear. On
  // a CPU of its own this costs one system call per streak, when there is nothing else to do.
  if (yield_after_wake_ || (!busy && app_waits_for_us)) {
    yield_after_wake_ = false;
    for (unsigned i : active_) apps_[i]->unseen = false;
    sched_yield();
  }
}

bool ShimEngine::serve_requests(App& app) {
  bool served = false;
  for (std::uint32_t c = 0; c < app.requests.size(); ++c) {
    RingConsumer<RequestRing>& in = app.requests[c];
    RingProducer<CompletionRing>& out = app.completions[c];
    std::uint32_t available = 0, room = 0;
    if (in.available(available) == RingCheck::kCorrupt || out.room(room) == RingCheck::kCorrupt) {
      fault(app);
      return true;
    }
    if (available == 0) continue;
    served = true;
    // Every request may need a completion: take no more than there is room for (back-pressure).
    std::uint32_t n = std::min({available, room, params_.requests_per_poll});
    bool answered = false;
    for (; n > 0; --n) {
      Request req;
      in.take(req);
      Completion done;
      handle(app, c, req, done);
      if (app.leaving) return true;  // it faulted
      if (req.tag != 0) {
        done.tag = req.tag;
        done.op = req.op;
        done.socket = req.socket;
        out.push(done);
        answered = true;
      }
    }
    in.release();
    if (answered) {
      out.publish();
      note_published(app);
      app.wake_since = now_ - kWakeCoalescing;  // a thread waits for this answer: no delay
    }
  }
  return served;
}

void ShimEngine::handle(App& app, unsigned, const Request& req, Completion& out) {
  app.counters->requests.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t slot = req.socket;
  const auto op = static_cast<std::uint32_t>(req.op);
  if (op == 0 || op >= static_cast<std::uint32_t>(Op::kCount) || slot >= app.socks.size()) return fault(app);
  Sock& s = app.socks[slot];
  auto refuse = [&](int error) {
    app.counters->bad_requests.fetch_add(1, std::memory_order_relaxed);
    out.result = -error;
  };
  switch (req.op) {
    case Op::kListen:
      if (s.kind != Kind::kFree) return refuse(EINVAL);
      out.result = open_listener(app, slot, req);
      return;
    case Op::kConnect:
      if (s.kind != Kind::kFree) return refuse(EISCONN);
      out.result = open_connection(app, slot, req);
      return;
    case Op::kAdopt:
      if (s.kind != Kind::kFree) return refuse(EINVAL);
      out.result = adopt(app, slot, req);
      return;
    case Op::kShare:
      if (s.kind != Kind::kFree) return refuse(EINVAL);
      out.result = share(app, slot, req);
      return;
    case Op::kSend:
    case Op::kReceiveSpace:
      // Before an adopt is served (another channel's request may overtake it) there is nothing
      // to do: adopt() services the socket itself.
      if (s.kind == Kind::kConnection && !s.closing) service(app, slot, s);
      else if (s.kind == Kind::kListener && req.op == Op::kReceiveSpace) distribute(s.tcp);
      return;
    case Op::kShutdown: {
      if (s.kind != Kind::kConnection) return refuse(ENOTCONN);
      const std::int64_t how = req.args[0];
      if (how < SHUT_RD || how > SHUT_RDWR) return refuse(EINVAL);
      if (how != SHUT_WR) tcp_->shutdown(s.tcp, tcp::Shutdown::kRead);
      if (how != SHUT_RD) s.shut_write = true;
      service(app, slot, s);  // SHUT_WR after the bytes already written
      out.result = 0;
      return;
    }
    case Op::kClose:
      if (s.kind == Kind::kFree) {
        event(app, slot, EventKind::kReleased);  // nothing here (e.g. a listener on another engine)
        return;
      }
      if (!s.closing) request_close(app, slot, s);
      return;
    case Op::kSetOption: {
      if (s.kind == Kind::kFree) return refuse(EBADF);
      const std::int64_t option = req.args[0];
      if (option < 0 || !valid_option(static_cast<std::uint32_t>(option))) return refuse(ENOPROTOOPT);
      out.result = tcp_->setsockopt(s.tcp, static_cast<tcp::SockOpt>(option), static_cast<int>(req.args[1]));
      return;
    }
    case Op::kGetOption: {
      if (s.kind == Kind::kFree) return refuse(EBADF);
      const std::int64_t option = req.args[0];
      if (option < 0 || !valid_option(static_cast<std::uint32_t>(option))) return refuse(ENOPROTOOPT);
      int value = 0;
      out.result = tcp_->getsockopt(s.tcp, static_cast<tcp::SockOpt>(option), &value);
      out.values[0] = value;
      return;
    }
    default:
      return fault(app);
  }
}

std::int64_t ShimEngine::apply_options(App& app, std::uint32_t slot, int tcp_socket) {
  const SocketShared& sh = app.region.socket(slot);
  const std::uint32_t count = sh.option_count;
  if (count > kMaxOptions) return -EINVAL;
  for (std::uint32_t i = 0; i < count; ++i) {
    const SocketOption o = sh.options[i];
    if (!valid_option(o.option)) return -ENOPROTOOPT;
    if (int r = tcp_->setsockopt(tcp_socket, static_cast<tcp::SockOpt>(o.option), o.value); r < 0) return r;
  }
  return 0;
}

std::int64_t ShimEngine::open_listener(App& app, std::uint32_t slot, const Request& req) {
  const int s = tcp_->socket();
  if (s < 0) return s;
  std::int64_t r = apply_options(app, slot, s);
  if (r == 0) r = tcp_->bind(s, endpoint(req.args[0], req.args[1] & 0xffff));
  if (r == 0) r = tcp_->listen(s, static_cast<int>(req.args[2]));
  if (r < 0) {
    tcp_->close(s);
    return r;
  }
  hold(app, slot, s, Kind::kListener);
  return 0;
}

// `tcp_socket` is now the application's `slot` on this engine.
ShimEngine::Sock& ShimEngine::hold(App& app, std::uint32_t slot, int tcp_socket, Kind kind) {
  Sock& sock = app.socks[slot];
  sock = Sock{};
  sock.tcp = tcp_socket;
  sock.kind = kind;
  if (kind == Kind::kListener) add_holder(app, slot, tcp_socket);
  else set_owner(tcp_socket, Owner{tcp_socket, app.index, slot, Owner::kAdopted});
  ++app.open;
  app.counters->sockets.fetch_add(1, std::memory_order_relaxed);
  if (kind == Kind::kConnection) app.region.socket(slot).engine.store(params_.engine, std::memory_order_relaxed);
  publish_addresses(app, slot, tcp_socket);
  return sock;
}

// `slot` becomes one more holder of the TCP listener `tcp_listener` (the first makes it one).
void ShimEngine::add_holder(App& app, std::uint32_t slot, int tcp_listener) {
  const Owner& o = owners_[tcp::TcpStack::slot_of(tcp_listener)];
  if (o.tcp != tcp_listener || o.kind != Owner::kListener) {
    std::uint32_t index;
    if (!free_listeners_.empty()) {
      index = free_listeners_.back();
      free_listeners_.pop_back();
    } else {
      index = static_cast<std::uint32_t>(listeners_.size());
      listeners_.emplace_back();
    }
    listeners_[index].holders.clear();
    listeners_[index].next = 0;
    set_owner(tcp_listener, Owner{tcp_listener, app.index, slot, Owner::kListener, index});
  }
  listeners_[o.listener].holders.push_back(Holder{app.index, slot});
}

// `slot` holds `tcp_listener` no more. Returns true when it was the last holder: the caller
// closes the TCP listener. Otherwise the owner shown to synwave-ctl becomes the next holder.
bool ShimEngine::drop_holder(App& app, std::uint32_t slot, int tcp_listener) {
  const Owner o = owners_[tcp::TcpStack::slot_of(tcp_listener)];
  if (o.tcp != tcp_listener || o.kind != Owner::kListener) return true;
  SharedListener& l = listeners_[o.listener];
  std::erase_if(l.holders, [&](const Holder& h) { return h.app == app.index && h.socket == slot; });
  if (l.holders.empty()) {
    free_listeners_.push_back(o.listener);
    return true;
  }
  if (l.next >= l.holders.size()) l.next = 0;
  if (o.app == app.index && o.socket == slot)
    set_owner(tcp_listener, Owner{tcp_listener, l.holders[0].app, l.holders[0].socket, Owner::kListener, o.listener});
  return false;
}

// Op::kShare: the application (a forked child) holds the listener another member of its family
// holds in `args[1]` on this engine, in its own `slot`.
std::int64_t ShimEngine::share(App& app, std::uint32_t slot, const Request& req) {
  auto refuse = [&](int error) {
    app.counters->bad_requests.fetch_add(1, std::memory_order_relaxed);
    return -std::int64_t{error};
  };
  App* holder = nullptr;
  for (unsigned i : active_) {
    App* candidate = apps_[i].get();
    if (candidate != nullptr && !candidate->leaving && req.args[0] == std::int64_t{candidate->id}) holder = candidate;
  }
  if (holder == nullptr) return refuse(ESRCH);
  if (holder->family != app.family) return refuse(EPERM);
  if (req.args[1] < 0 || req.args[1] >= static_cast<std::int64_t>(holder->socks.size())) return refuse(EINVAL);
  const Sock& held = holder->socks[static_cast<std::size_t>(req.args[1])];
  if (held.kind != Kind::kListener || held.closing) return refuse(EINVAL);
  const Owner& o = owners_[tcp::TcpStack::slot_of(held.tcp)];
  if (o.tcp != held.tcp || o.kind != Owner::kListener) return refuse(EINVAL);
  if (listeners_[o.listener].holders.size() >= kMaxListenerHolders) return refuse(ETOOMANYREFS);
  hold(app, slot, held.tcp, Kind::kListener);
  return 0;
}

std::int64_t ShimEngine::open_connection(App& app, std::uint32_t slot, const Request& req) {
  const int s = tcp_->socket();
  if (s < 0) return s;
  std::int64_t r = apply_options(app, slot, s);
  const tcp::Endpoint local = endpoint(req.args[2], req.args[3] & 0xffff);
  // bind() to port 0 then connect() arrives here as one request: the port is chosen by connect,
  // as with Linux's IP_BIND_ADDRESS_NO_PORT, so that with several engines it is one whose replies
  // reach this engine. Only a named port is bound first (the address is checked either way).
  if (r == 0 && local.port != 0) r = tcp_->bind(s, local);
  else if (r == 0 && local.addr.value != 0 && local.addr != tcp_->params().address) r = -EADDRNOTAVAIL;
  if (r == 0) r = tcp_->connect(s, endpoint(req.args[0], req.args[1] & 0xffff));
  if (r < 0 && r != -EINPROGRESS) {
    tcp_->close(s);
    return r;
  }
  hold(app, slot, s, Kind::kConnection);
  return r;
}

std::int64_t ShimEngine::adopt(App& app, std::uint32_t slot, const Request& req) {
  if (req.args[0] < 0 || req.args[0] > std::numeric_limits<int>::max() ||
      tcp::TcpStack::slot_of(static_cast<int>(req.args[0])) >= owners_.size()) {
    app.counters->bad_requests.fetch_add(1, std::memory_order_relaxed);
    return -EINVAL;
  }
  const int id = static_cast<int>(req.args[0]);
  const Owner o = owners_[tcp::TcpStack::slot_of(id)];
  // Only a connection this engine handed to this very application.
  if (o.kind != Owner::kPending || o.tcp != id || o.app != app.index) {
    app.counters->bad_requests.fetch_add(1, std::memory_order_relaxed);
    return -EINVAL;
  }
  Sock& s = hold(app, slot, id, Kind::kConnection);
  s.flags = kFlagConnected;  // published here, with the addresses hold() wrote before it
  app.counters->accepted.fetch_add(1, std::memory_order_relaxed);
  app.region.socket(slot).flags.store(kFlagConnected, std::memory_order_release);
  service(app, slot, s);
  return 0;
}

void ShimEngine::publish_addresses(App& app, std::uint32_t slot, int tcp_socket) {
  SocketShared& sh = app.region.socket(slot);
  if (auto local = tcp_->local_endpoint(tcp_socket)) {
    sh.local_addr = htonl(local->addr.value);
    sh.local_port = local->port;
  }
  if (auto remote = tcp_->remote_endpoint(tcp_socket)) {
    sh.remote_addr = htonl(remote->addr.value);
    sh.remote_port = remote->port;
  }
  if (auto state = tcp_->state(tcp_socket)) sh.state.store(static_cast<std::uint32_t>(*state), std::memory_order_relaxed);
}

// The application closed the slot. A listener goes at once (with its pending connections); a
// connection first sends what the application wrote before closing, then closes (RST instead
// when the application left received bytes unread, as Linux).
void ShimEngine::request_close(App& app, std::uint32_t slot, Sock& s) {
  s.closing = true;
  if (s.kind == Kind::kListener) {
    for (Owner& o : owners_) {
      if (o.kind == Owner::kPending && o.app == app.index && o.socket == slot) {
        tcp_->setsockopt(o.tcp, tcp::SockOpt::kLinger, 0);
        tcp_->close(o.tcp);
        clear_owner(o.tcp);
      }
    }
    return finish_close(app, slot, s);
  }
  SocketShared& sh = app.region.socket(slot);
  const std::uint32_t rx_tail = sh.rx_tail.value.load(std::memory_order_acquire);
  if (rx_tail != s.rx_head) {
    tcp_->setsockopt(s.tcp, tcp::SockOpt::kLinger, 0);  // unread data: RST
    return finish_close(app, slot, s);
  }
  s.tx_limit = sh.tx_head.value.load(std::memory_order_acquire);
  if (s.tx_limit - s.tx_tail > app.capacity) {
    // Garbage (even from an application already gone): this connection is reset, not drained
    // towards an index that never comes.
    tcp_->setsockopt(s.tcp, tcp::SockOpt::kLinger, 0);
    app.counters->resets_on_exit.fetch_add(1, std::memory_order_relaxed);
    finish_close(app, slot, s);
    return fault(app);
  }
  service(app, slot, s);  // drains; finishes the close once the ring is empty
}

void ShimEngine::finish_close(App& app, std::uint32_t slot, Sock& s) {
  if (s.kind == Kind::kFree) return;
  // A listener's holder lets go; the TCP listener closes with its last holder.
  if (s.kind == Kind::kConnection || drop_holder(app, slot, s.tcp)) {
    if (s.shut_write && s.kind == Kind::kConnection) tcp_->shutdown(s.tcp, tcp::Shutdown::kWrite);
    tcp_->close(s.tcp);
    clear_owner(s.tcp);
  }
  s = Sock{};
  --app.open;
  app.counters->sockets.fetch_sub(1, std::memory_order_relaxed);
  if (!app.released) event(app, slot, EventKind::kReleased);
  maybe_release(app);
}

// --- TCP readiness --------------------------------------------------------------------------------

void ShimEngine::on_tcp_ready(int tcp_socket) {
  const std::size_t i = tcp::TcpStack::slot_of(tcp_socket);
  if (i >= owners_.size()) return;
  const Owner o = owners_[i];
  if (o.tcp != tcp_socket || o.kind == Owner::kNone || o.kind == Owner::kPending) return;
  if (o.kind == Owner::kListener) return distribute(tcp_socket);
  App* app = apps_[o.app].get();
  if (app == nullptr || app->released) return;
  Sock& s = app->socks[o.socket];
  if (s.tcp == tcp_socket && s.kind == Kind::kConnection) service(*app, o.socket, s);
}

// Hands connections from TCP's accept queue to the accept rings of the listener's holders, one
// connection each in turn, skipping those that do not accept (SocketShared::accepting) or whose
// ring for this engine is full; the rest wait in TCP's queue, where the backlog rules apply as
// without the shim. A holder is handed entries in its own region only.
void ShimEngine::distribute(int tcp_listener) {
  const Owner& o = owners_[tcp::TcpStack::slot_of(tcp_listener)];
  if (o.tcp != tcp_listener || o.kind != Owner::kListener) return;
  SharedListener& l = listeners_[o.listener];
  const auto count = static_cast<std::uint32_t>(l.holders.size());
  const unsigned e = params_.engine;
  std::uint64_t handed = 0;  // bit k: holder k got entries in this pass
  App* corrupt = nullptr;    // a holder whose accept index is garbage
  while (corrupt == nullptr) {
    std::uint32_t chosen = count;
    for (std::uint32_t k = 0; k < count && chosen == count; ++k) {
      const std::uint32_t h = (l.next + k) % count;
      App& app = *apps_[l.holders[h].app];
      const std::uint32_t slot = l.holders[h].socket;
      SocketShared& sh = app.region.socket(slot);
      if (app.leaving || sh.accepting.load(std::memory_order_relaxed) == 0) continue;
      const Sock& s = app.socks[slot];
      const std::uint32_t capacity = app.region.accept_capacity();
      std::uint32_t tail = sh.accept_tail[e].load(std::memory_order_acquire);
      if (s.accept_head - tail == capacity) {
        // Full: ask for an Op::kReceiveSpace, then look again (the app may have just made room).
        sh.rx_wanted.store(1, std::memory_order_seq_cst);
        tail = sh.accept_tail[e].load(std::memory_order_seq_cst);
      }
      if (s.accept_head - tail > capacity) corrupt = &app;
      else if (s.accept_head - tail < capacity) chosen = h;
      if (corrupt != nullptr) break;
    }
    if (chosen == count) break;
    tcp::Endpoint peer;
    const int child = tcp_->accept(tcp_listener, &peer);
    if (child < 0) break;
    App& app = *apps_[l.holders[chosen].app];
    const std::uint32_t slot = l.holders[chosen].socket;
    Sock& s = app.socks[slot];
    set_owner(child, Owner{child, app.index, slot, Owner::kPending});
    AcceptEntry entry;
    entry.connection = child;
    entry.remote_addr = htonl(peer.addr.value);
    entry.remote_port = peer.port;
    entry.engine = static_cast<std::uint16_t>(e);
    entry.local_addr = htonl(tcp_->params().address.value);
    app.region.accept_entries(slot, e)[s.accept_head & (app.region.accept_capacity() - 1)] = entry;
    ++s.accept_head;
    handed |= std::uint64_t{1} << chosen;
    l.next = (chosen + 1) % count;
  }
  // Publishing may fault an application (a corrupt event ring), which changes the holders:
  // copy out first whom to tell.
  Holder told[kMaxListenerHolders];
  std::uint32_t told_count = 0;
  for (std::uint32_t h = 0; h < count; ++h)
    if (handed & (std::uint64_t{1} << h)) told[told_count++] = l.holders[h];
  for (std::uint32_t k = 0; k < told_count; ++k) {
    App& app = *apps_[told[k].app];
    if (app.leaving) continue;
    // Release pairs with the application's acquire load: the entries are written.
    app.region.socket(told[k].socket).accept_head[e].store(app.socks[told[k].socket].accept_head, std::memory_order_release);
    event(app, told[k].socket, EventKind::kChanged);
  }
  if (corrupt != nullptr) fault(*corrupt);
}

void ShimEngine::service(App& app, std::uint32_t slot, Sock& s) {
  const std::uint32_t readiness = tcp_->readiness(s.tcp);
  SocketShared& sh = app.region.socket(slot);
  std::uint32_t flags = s.flags;
  if ((readiness & tcp::kConnected) && !(flags & kFlagConnected)) {
    publish_addresses(app, slot, s.tcp);
    flags |= kFlagConnected;
  }
  if (readiness & tcp::kError) {
    int error = 0;
    tcp_->getsockopt(s.tcp, tcp::SockOpt::kError, &error);
    if (error != 0 && !(flags & kFlagError)) {
      sh.error.store(static_cast<std::uint32_t>(error), std::memory_order_relaxed);
      flags |= kFlagError;
    }
  }
  bool moved = false;
  if (!s.closing) moved |= pull_rx(app, slot, s);
  if (s.kind == Kind::kFree) return;  // the application faulted: all its sockets are closed
  if (s.read_done) flags |= kFlagPeerClosed;
  moved |= push_tx(app, slot, s);
  if (s.kind == Kind::kFree) return;  // the application faulted meanwhile: all closed
  if (s.read_error) flags |= kFlagError;
  const bool drained = s.tx_tail == (s.closing ? s.tx_limit : sh.tx_head.value.load(std::memory_order_acquire));
  if (s.shut_write && drained && !s.closing) {
    tcp_->shutdown(s.tcp, tcp::Shutdown::kWrite);
    flags |= kFlagWriteShut;
  }
  if (readiness & tcp::kClosed) flags |= kFlagClosed;
  if (auto state = tcp_->state(s.tcp)) sh.state.store(static_cast<std::uint32_t>(*state), std::memory_order_relaxed);
  if (s.closing) {
    // Done when everything written went to TCP, or the connection can take no more.
    if (drained || (readiness & tcp::kClosed)) finish_close(app, slot, s);
    return;
  }
  if (flags != s.flags) publish_flags(app, slot, s, flags);
  else if (moved) event(app, slot, EventKind::kChanged);
}

void ShimEngine::publish_flags(App& app, std::uint32_t slot, Sock& s, std::uint32_t flags) {
  s.flags = flags;
  // Release: the addresses, error and ring bytes written before are visible with the flags.
  app.region.socket(slot).flags.store(flags, std::memory_order_release);
  event(app, slot, EventKind::kChanged);
}

bool ShimEngine::pull_rx(App& app, std::uint32_t slot, Sock& s) {
  if (s.read_done) return false;
  SocketShared& sh = app.region.socket(slot);
  std::uint8_t* ring = app.region.rx_bytes(slot);
  const std::uint32_t cap = app.capacity;
  std::uint32_t tail = sh.rx_tail.value.load(std::memory_order_acquire);
  if (s.rx_head - tail > cap) {
    fault(app);
    return false;
  }
  const std::uint32_t start = s.rx_head;
  for (;;) {
    std::uint32_t free = cap - (s.rx_head - tail);
    if (free == 0) {
      // Full: ask the application for an Op::kReceiveSpace, then look once more (Dekker with
      // its store of rx_tail followed by its exchange of rx_wanted).
      sh.rx_wanted.store(1, std::memory_order_seq_cst);
      tail = sh.rx_tail.value.load(std::memory_order_seq_cst);
      if (s.rx_head - tail > cap) {
        fault(app);
        return false;
      }
      free = cap - (s.rx_head - tail);
      if (free == 0) break;
    }
    const std::uint32_t at = s.rx_head & (cap - 1);
    const std::uint32_t chunk = ring_contiguous(cap, s.rx_head, free);
    const long n = tcp_->recv(s.tcp, std::span<std::uint8_t>(ring + at, chunk));
    if (n > 0) {
      s.rx_head += static_cast<std::uint32_t>(n);
      continue;
    }
    if (n == 0) s.read_done = true;  // end of stream (or an error already reported by SO_ERROR)
    else if (n != -EAGAIN) {
      sh.error.store(static_cast<std::uint32_t>(-n), std::memory_order_relaxed);
      s.read_error = true;
      s.read_done = true;
    }
    break;
  }
  const std::uint32_t moved = s.rx_head - start;
  if (moved != 0) {
    // Release pairs with the application's acquire load of rx_head: the bytes are there.
    sh.rx_head.value.store(s.rx_head, std::memory_order_release);
    app.counters->bytes_in.fetch_add(moved, std::memory_order_relaxed);
  }
  return moved != 0 || s.read_done;
}

bool ShimEngine::push_tx(App& app, std::uint32_t slot, Sock& s) {
  SocketShared& sh = app.region.socket(slot);
  std::uint32_t head;
  if (s.closing) {
    head = s.tx_limit;
  } else {
    // Clear the doorbell before reading head: bytes written after this read ring it again.
    sh.tx_doorbell.store(0, std::memory_order_seq_cst);
    head = sh.tx_head.value.load(std::memory_order_seq_cst);  // pairs with the app's store
  }
  const std::uint32_t cap = app.capacity;
  if (head - s.tx_tail > cap) {
    fault(app);
    return false;
  }
  const std::uint32_t start = s.tx_tail;
  const std::uint8_t* ring = app.region.tx_bytes(slot);
  while (s.tx_tail != head) {
    const std::uint32_t chunk = ring_contiguous(cap, s.tx_tail, head - s.tx_tail);
    const long n = tcp_->send(s.tcp, std::span<const std::uint8_t>(ring + (s.tx_tail & (cap - 1)), chunk));
    if (n > 0) {
      s.tx_tail += static_cast<std::uint32_t>(n);
      continue;
    }
    if (n == -ENOBUFS && !s.in_retry) {  // the pool is empty: try again next iteration
      s.in_retry = true;
      retry_.emplace_back(app.index, slot);
    } else if (n != -EAGAIN && n != -ENOBUFS) {
      // The connection cannot send any more (reset, timed out, shut down): what is left is lost,
      // as in a kernel socket's send queue; the error reaches the application through flags.
      s.tx_tail = head;
    }
    break;  // -EAGAIN: TCP reports writable when its queue drains
  }
  const std::uint32_t moved = s.tx_tail - start;
  if (moved == 0) return false;
  // Pairs with the application's acquire load of tx_tail: the room is free again. seq_cst for
  // the Dekker pair below (it stores tx_wanted, then loads tx_tail).
  sh.tx_tail.value.store(s.tx_tail, std::memory_order_seq_cst);
  app.counters->bytes_out.fetch_add(moved, std::memory_order_relaxed);
  if (sh.tx_wanted.exchange(0, std::memory_order_seq_cst) != 0) event(app, slot, EventKind::kChanged);
  return true;
}

void ShimEngine::event(App& app, std::uint32_t slot, EventKind kind) {
  if (app.released) return;
  bool corrupt = false;
  if (app.events.push(Event{slot, kind}, &corrupt)) {
    app.events_pending = true;
    app.counters->events.fetch_add(1, std::memory_order_relaxed);
    note_published(app);
    return;
  } else if (corrupt) {
    if (!app.leaving) fault(app);
    return;
  } else {
    // Full: the application rescans every socket when it sees this.
    app.region.events(params_.engine).overflowed.store(1, std::memory_order_release);
    app.counters->event_overflows.fetch_add(1, std::memory_order_relaxed);
  }
  note_published(app);
}

void ShimEngine::note_published(App& app) {
  if (!app.wake) {
    app.wake = true;
    app.wake_since = now_;
  }
  app.active = true;
  app.unseen = true;
}

void ShimEngine::wake(App& app) {
  app.wake = false;
  if (app.released) return;
  // Dekker with the application: it stores waiting = 1 then re-checks the rings; we published
  // to the rings, then load waiting. seq_cst on both sides: one of us sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (app.region.header().waiting.load(std::memory_order_relaxed) == 0) return;
  const std::uint64_t one = 1;
  if (::write(app.slot->event_fd, &one, sizeof one) == sizeof one) {
    app.counters->wakeups.fetch_add(1, std::memory_order_relaxed);
    yield_after_wake_ = true;
  }
}

void ShimEngine::stop() {
  if (tcp_ == nullptr) return;
  sync_apps();
  for (unsigned i : active_) {
    App& app = *apps_[i];
    if (app.released) continue;
    app.leaving = false;  // close everything, even drains in progress
    app.wake = true;
    leave(app, true);
  }
}

}  // namespace synwave::shim
