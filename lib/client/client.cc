// The attachment, request channels, waiting and events (client.h).
#include "client/client.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "shim/fd_passing.h"

namespace synwave::client {

using shim::DaemonState;
using shim::RingCheck;

namespace {
// Never destroyed: usable from atexit handlers. Replaced in a forked child (after_fork_in_child).
std::atomic<Client*> g_client{nullptr};
}  // namespace

Client& Client::get() {
  Client* client = g_client.load(std::memory_order_acquire);
  if (client != nullptr) return *client;
  static std::once_flag once;
  std::call_once(once, [] {
    g_client.store(new Client(), std::memory_order_release);
    pthread_atfork(nullptr, nullptr, &Client::after_fork_in_child);
  });
  return *g_client.load(std::memory_order_acquire);
}

// A forked child must not touch its parent's rings: they are single-producer, and the parent
// goes on using them. The child starts unattached, with a note of what it inherited: its first
// call attaches it to the daemon as an application of the parent's family, and the listeners it
// inherited become its own holders of the same TCP listeners under the same handle numbers
// (Op::kShare); the other handles stay reserved but unusable (kInherited). The parent's client is
// left as it was (its mutexes may be held by threads that do not exist here).
void Client::after_fork_in_child() {
  Client* old = g_client.load(std::memory_order_relaxed);
  auto* fresh = new Client();
  if (old != nullptr) {
    if (old->event_fd_ >= 0) ::close(old->event_fd_);
    if (old->attached()) {
      fresh->inherited_prefix_ = old->prefix_;
      auto in = std::make_unique<Inheritance>();
      in->parent_app = old->app_id_;
      in->parent_token = old->family_token_;
      in->sockets = old->region_.g.sockets;
      in->parent_attach_fd = old->attach_fd_;  // -1 after sw_detach: nothing to share
      for (std::uint32_t s = 0; s < old->region_.g.sockets; ++s) {
        const Socket& sock = old->sockets_[s];
        const Kind kind = sock.kind.load(std::memory_order_relaxed);
        if (kind == Kind::kListener && in->parent_attach_fd >= 0)
          in->listeners.push_back({static_cast<int>(s), sock.local_addr, sock.local_port, sock.nonblocking, sock.cloexec});
        else if (kind != Kind::kFree && (kind != Kind::kClosing || sock.keep_reserved))
          in->others.push_back(static_cast<int>(s));  // a closed handle's number is not ours any more
      }
      if (in->listeners.empty() && in->parent_attach_fd >= 0) {
        ::close(in->parent_attach_fd);  // nothing to share: the daemon sees the parent alone
        in->parent_attach_fd = -1;
      }
      fresh->inherited_ = std::move(in);
    } else {
      // Forked again before it attached: the same inheritance (fork copied its descriptor too).
      fresh->inherited_prefix_ = old->inherited_prefix_;
      if (old->inherited_) fresh->inherited_ = std::make_unique<Inheritance>(*old->inherited_);
    }
  }
  g_client.store(fresh, std::memory_order_release);
  forget_thread_channel();
}

void Client::attach_if_inherited() {
  bool pending;
  {
    std::lock_guard lock(attach_mutex_);
    pending = !attached() && inherited_ != nullptr && !inherited_->listeners.empty();
  }
  if (pending) (void)ensure_attached();
}

bool Client::close_inherited(int s) {
  if (!attached()) {
    std::lock_guard lock(attach_mutex_);
    if (!attached()) {
      if (inherited_ == nullptr) return false;
      Inheritance& in = *inherited_;
      const std::size_t before = in.listeners.size() + in.others.size();
      std::erase_if(in.listeners, [&](const InheritedListener& l) { return l.slot == s; });
      std::erase(in.others, s);
      if (in.listeners.size() + in.others.size() == before) return false;
      if (in.listeners.empty() && in.parent_attach_fd >= 0) {
        // Nothing left to share (redis's background child closed the listeners): the parent's
        // attachment is its own again.
        ::close(in.parent_attach_fd);
        in.parent_attach_fd = -1;
      }
      return true;
    }
  }
  if (s < 0 || static_cast<std::uint32_t>(s) >= region_.g.sockets) return false;
  Kind expected = Kind::kInherited;
  std::lock_guard lock(slots_mutex_);
  if (!sockets_[s].kind.compare_exchange_strong(expected, Kind::kFree)) return false;
  free_slots_.push_back(s);
  return true;
}

int Client::ensure_attached() {
  if (attached()) return 0;
  // A forked child goes to its parent's daemon; otherwise $SYNWAVE_PREFIX or "synwave".
  if (!inherited_prefix_.empty()) return attach(inherited_prefix_.c_str());
  return attach(std::getenv("SYNWAVE_PREFIX"));
}

int Client::attach(const char* prefix) {
  std::lock_guard lock(attach_mutex_);
  if (attached()) return 0;
  const std::string name = prefix != nullptr && *prefix != '\0' ? prefix : "synwave";
  return attach_locked(name);
}

int Client::attach_locked(const std::string& prefix) {
  unsigned channels = 4;
  if (const char* v = std::getenv("SYNWAVE_CHANNELS")) channels = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
  if (channels == 0 || channels > shim::kMaxChannels) channels = 4;
  shim::AttachRequest request;
  request.channels = channels;
  if (const char* v = std::getenv("SYNWAVE_SOCKETS")) request.sockets = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
  char comm[sizeof request.name] = {};  // the kernel's comm is 16 bytes at most
  if (FILE* f = std::fopen("/proc/self/comm", "r")) {
    if (std::fgets(comm, sizeof comm, f) != nullptr) comm[std::strcspn(comm, "\n")] = '\0';
    std::fclose(f);
  }
  std::snprintf(request.name, sizeof request.name, "%s", comm);
  // A forked child: as many slots as its parent (the inherited numbers stay valid), and the
  // parent named when there are listeners to share.
  const bool sharing = inherited_ != nullptr && !inherited_->listeners.empty();
  if (inherited_ != nullptr) request.sockets = inherited_->sockets;
  if (sharing) {
    request.parent_app = inherited_->parent_app;
    request.parent_token = inherited_->parent_token;
  }
  Region r;
  int result = open_region(prefix, request, r);
  const bool joined = sharing && result == 0;
  const bool parent_refused = sharing && (result == -ESRCH || result == -EPERM);
  if (parent_refused) {
    // The parent is gone (or cut off): attach on our own; the inherited listeners are lost.
    const std::string why = last_error_;
    request.parent_app = 0;
    request.parent_token = 0;
    result = open_region(prefix, request, r);
    if (result == 0) last_error_ = why;
  }
  if (result < 0) return result;
  const auto* header = static_cast<const shim::RegionHeader*>(r.base);
  const shim::Geometry g = shim::geometry(header->engines, header->channels, header->sockets, header->buffer_bytes);
  region_ = shim::RegionView{static_cast<std::uint8_t*>(r.base), g};
  attach_fd_ = r.fd;
  event_fd_ = r.event_fd;
  app_id_ = r.app_id;
  family_token_ = header->family_token;
  prefix_ = prefix;
  channels_ = std::make_unique<ChannelState[]>(g.channels);
  for (std::uint32_t ch = 0; ch < g.channels; ++ch) {
    for (std::uint32_t e = 0; e < g.engines; ++e) {
      shim::Channel& chan = region_.channel(ch, e);
      channels_[ch].requests.emplace_back(&chan.requests);
      channels_[ch].completions.emplace_back(&chan.completions);
    }
  }
  free_channels_.clear();
  for (int ch = static_cast<int>(g.channels) - 1; ch >= 0; --ch) free_channels_.push_back(ch);
  sockets_ = std::make_unique<Socket[]>(g.sockets);
  free_slots_.clear();
  for (int s = static_cast<int>(g.sockets) - 1; s >= 0; --s) free_slots_.push_back(s);
  events_.clear();
  for (std::uint32_t e = 0; e < g.engines; ++e) events_.emplace_back(&region_.events(e).ring);
  if (const char* v = std::getenv("SYNWAVE_BUSY_POLL_US")) busy_poll_us_ = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
  if (!parent_refused) last_error_.clear();  // else it says why the listeners were lost
  // Before any other thread sees us attached: the inherited numbers are taken first.
  if (inherited_ != nullptr) adopt_inheritance(joined);
  attached_.store(true, std::memory_order_release);
  return 0;
}

// Reserves the inherited handles' numbers; each inherited listener becomes our holder of the
// parent's TCP listener on every engine (joined: the daemon let us into the family).
void Client::adopt_inheritance(bool joined) {
  Inheritance& in = *inherited_;
  std::vector<bool> reserved(region_.g.sockets, false);
  for (int s : in.others) {
    if (static_cast<std::uint32_t>(s) >= region_.g.sockets) continue;
    reserved[s] = true;
    sockets_[s].kind = Kind::kInherited;
  }
  for (const InheritedListener& l : in.listeners)
    if (static_cast<std::uint32_t>(l.slot) < region_.g.sockets) reserved[l.slot] = true;
  std::erase_if(free_slots_, [&](int s) { return reserved[s]; });
  for (const InheritedListener& l : in.listeners) {
    if (static_cast<std::uint32_t>(l.slot) >= region_.g.sockets) continue;
    Socket& sock = sockets_[l.slot];
    sock.kind = Kind::kInherited;
    if (!joined) continue;
    shim::Request share;
    share.op = shim::Op::kShare;
    share.socket = static_cast<std::uint32_t>(l.slot);
    share.args[0] = in.parent_app;
    share.args[1] = l.slot;
    std::int64_t per_engine[shim::kMaxEngines] = {};
    if (call_all(share, per_engine) == 0) {
      sock.kind = Kind::kListener;
      sock.bound = true;
      sock.bind_addr = sock.local_addr = l.local_addr;
      sock.bind_port = sock.local_port = l.local_port;
      sock.nonblocking = l.nonblocking;
      sock.cloexec = l.cloexec;
      continue;
    }
    // The parent closed it meanwhile (on some engine at least): the engines that did let us in
    // let go, and the number stays reserved.
    bool held_somewhere = false;
    for (std::uint32_t e = 0; e < engines(); ++e) held_somewhere |= per_engine[e] == 0;
    if (!held_somewhere) continue;
    sock.keep_reserved = true;
    sock.releases_owed = engines();
    sock.closed.store(true, std::memory_order_release);
    sock.kind = Kind::kClosing;
    shim::Request close;
    close.op = shim::Op::kClose;
    close.socket = share.socket;
    for (std::uint32_t e = 0; e < engines(); ++e) call(e, close, false);
  }
  // Shared (or not): the parent's attachment is its own again.
  if (in.parent_attach_fd >= 0) ::close(in.parent_attach_fd);
  inherited_.reset();
}

// Connects to the daemon's attach socket and maps the region it answers with.
int Client::open_region(const std::string& prefix, const shim::AttachRequest& request, Region& out) {
  auto failed = [&](int error, const std::string& why) {
    last_error_ = "synwave: attach to '" + prefix + "': " + why;
    return -error;
  };
  // The daemon's [shim] directory, when its configuration moved it from /run/synwave/<prefix>.
  const char* directory = std::getenv("SYNWAVE_SHIM_DIR");
  const std::string path = (directory != nullptr && *directory != '\0'
                                ? std::string(directory)
                                : std::string(shim::kRunDirectory) + "/" + prefix) +
                           "/" + shim::kSocketName;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return failed(ENAMETOOLONG, "path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(errno, std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
      return failed(ENOENT, "no synwave daemon at " + path + " (is synwave running with eal.file_prefix = " + prefix + "?)");
    return failed(e, path + ": " + std::strerror(e));
  }
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    const int e = errno;
    ::close(fd);
    return failed(e, "eventfd: " + std::string(std::strerror(e)));
  }
  auto close_both = [&] {
    ::close(fd);
    ::close(efd);
  };
  // A daemon that refuses us may have answered and closed already: a failed send still reads
  // its answer (the reason) before giving up.
  const bool sent = shim::send_with_fd(fd, &request, sizeof request, efd, MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(sizeof request);
  const int send_error = sent ? 0 : errno;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, sent ? 10000 : 100) != 1) {
    close_both();
    if (!sent) return failed(send_error, "send: " + std::string(std::strerror(send_error)));
    return failed(ETIMEDOUT, "the daemon did not answer");
  }
  shim::AttachReply reply;
  int fds[1] = {-1};
  int fd_count = 0;
  ssize_t got = shim::receive_with_fds(fd, &reply, sizeof reply, fds, 1, &fd_count, 0);
  if (got < 0 && errno == ECONNRESET)  // the answer is still queued behind the reset
    got = shim::receive_with_fds(fd, &reply, sizeof reply, fds, 1, &fd_count, 0);
  const int memfd = fd_count == 1 ? fds[0] : -1;
  if (got != static_cast<ssize_t>(sizeof reply)) {
    if (memfd >= 0) ::close(memfd);
    close_both();
    return failed(EPROTO, "no answer from the daemon");
  }
  if (reply.status != 0 || memfd < 0) {
    if (memfd >= 0) ::close(memfd);
    close_both();
    reply.message[sizeof reply.message - 1] = '\0';
    return failed(reply.status != 0 ? reply.status : EPROTO, std::string(std::strerror(reply.status)) + ": " + reply.message);
  }
  void* base = ::mmap(nullptr, reply.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  ::close(memfd);
  if (base == MAP_FAILED) {
    close_both();
    return failed(ENOMEM, "cannot map the region");
  }
  const auto* header = static_cast<const shim::RegionHeader*>(base);
  const shim::Geometry g = shim::geometry(header->engines, header->channels, header->sockets, header->buffer_bytes);
  if (header->magic != shim::kRegionMagic || header->abi_version != shim::kAbiVersion || g.size != reply.region_size ||
      header->engines == 0 || header->engines > shim::kMaxEngines || header->channels != request.channels) {
    ::munmap(base, reply.region_size);
    close_both();
    return failed(EPROTO, "the region's layout is not this library's");
  }
  out = Region{fd, efd, base, reply.region_size, reply.app_id};
  return 0;
}

void Client::detach() {
  std::lock_guard lock(attach_mutex_);
  if (!attached()) return;
  // Closing the attach socket is what tells the daemon: it closes every socket as for an exit
  // (bytes written are still sent). The region stays mapped until the process ends, so that a
  // straggling call from another thread reads stale memory instead of faulting. shutdown(), not
  // only close(): a forked child may hold a copy of the socket (Client::Inheritance).
  ::shutdown(attach_fd_, SHUT_RDWR);
  ::close(attach_fd_);
  attach_fd_ = -1;
  daemon_gone_.store(true, std::memory_order_release);
}

bool Client::daemon_down() const {
  if (daemon_gone_.load(std::memory_order_acquire)) return true;
  // Acquire pairs with the daemon's release: what it did before stopping is visible.
  return region_.header().daemon_state.load(std::memory_order_acquire) !=
         static_cast<std::uint32_t>(DaemonState::kRunning);
}

// --- sockets ------------------------------------------------------------------------------------

int Client::allocate_socket() {
  int s = -1;
  for (int attempt = 0; attempt < 2 && s < 0; ++attempt) {
    {
      std::lock_guard lock(slots_mutex_);
      if (!free_slots_.empty()) {
        s = free_slots_.back();
        free_slots_.pop_back();
      }
    }
    if (s < 0 && attempt == 0) pump();  // released slots may be waiting in the event rings
  }
  if (s < 0) return -EMFILE;
  Socket& sock = sockets_[s];
  {
    // Not under slots_mutex_: a thread still blocked on the old socket in this slot leaves (it
    // sees `closed` when it wakes) and may need slots_mutex_ on its way out, through pump().
    std::scoped_lock both(sock.rx_mutex, sock.tx_mutex);
    sock.closed.store(false, std::memory_order_relaxed);
    sock.accepting.store(false, std::memory_order_relaxed);
    sock.kind = Kind::kCreated;
    sock.nonblocking = sock.cloexec = sock.bound = sock.accepted = sock.connect_started = false;
    sock.reuseport = false;
    sock.error_consumed = sock.shut_read = sock.shut_write = false;
    sock.engine = 0;
    sock.bind_addr = sock.local_addr = sock.remote_addr = 0;
    sock.bind_port = sock.local_port = sock.remote_port = 0;
    sock.rx_tail = sock.tx_head = 0;
    for (auto& t : sock.accept_tail) t = 0;
    sock.accept_next_engine = 0;
    sock.releases_owed = 0;
    sock.keep_reserved = false;
    sock.epolls.clear();
  }
  // The engine touches this slot's shared part no more (it released it, or never had it): start
  // it afresh. The engine reads it only after a request that names it (ordered by the ring).
  shim::SocketShared& sh = region_.socket(static_cast<std::uint32_t>(s));
  sh.flags.store(0, std::memory_order_relaxed);
  sh.error.store(0, std::memory_order_relaxed);
  sh.state.store(0, std::memory_order_relaxed);
  sh.local_addr = sh.remote_addr = 0;
  sh.local_port = sh.remote_port = 0;
  sh.rx_wanted.store(0, std::memory_order_relaxed);
  sh.tx_wanted.store(0, std::memory_order_relaxed);
  sh.tx_doorbell.store(0, std::memory_order_relaxed);
  sh.rx_head.value.store(0, std::memory_order_relaxed);
  sh.rx_tail.value.store(0, std::memory_order_relaxed);
  sh.tx_head.value.store(0, std::memory_order_relaxed);
  sh.tx_tail.value.store(0, std::memory_order_relaxed);
  sh.option_count = 0;
  sh.accepting.store(0, std::memory_order_relaxed);
  for (std::uint32_t e = 0; e < shim::kMaxEngines; ++e) {
    sh.accept_head[e].store(0, std::memory_order_relaxed);
    sh.accept_tail[e].store(0, std::memory_order_relaxed);
  }
  return s;
}

Socket* Client::socket(int s) {
  if (!attached() || s < 0 || static_cast<std::uint32_t>(s) >= region_.g.sockets) return nullptr;
  Socket& sock = sockets_[s];
  const Kind k = sock.kind;
  return k == Kind::kFree || k == Kind::kClosing || k == Kind::kInherited ? nullptr : &sock;
}

void Client::free_socket(int s) {
  std::lock_guard lock(slots_mutex_);
  sockets_[s].kind = Kind::kFree;
  free_slots_.push_back(s);
}

// --- channels and requests ----------------------------------------------------------------------

namespace {
// The channel this thread holds, returned to the pool when the thread ends.
struct ChannelHolder {
  int channel = -1;
  ~ChannelHolder();
};
thread_local ChannelHolder t_channel;
}  // namespace

void Client::forget_thread_channel() { t_channel.channel = -1; }

// Only a channel this thread had to itself goes back (shared ones are never held here).
ChannelHolder::~ChannelHolder() {
  if (channel >= 0) Client::get().release_channel(channel);
}

int Client::channel_index() {
  if (t_channel.channel >= 0) return t_channel.channel;
  std::lock_guard lock(channel_pool_mutex_);
  if (!free_channels_.empty()) {
    t_channel.channel = free_channels_.back();
    free_channels_.pop_back();
    return t_channel.channel;
  }
  // More threads than channels: share them round-robin (each channel has its own mutex).
  return static_cast<int>(shared_channel_.fetch_add(1, std::memory_order_relaxed) % region_.g.channels);
}

void Client::release_channel(int c) {
  std::lock_guard lock(channel_pool_mutex_);
  free_channels_.push_back(c);
}

std::int64_t Client::call(std::uint32_t engine, const shim::Request& request, bool wait_answer, std::int64_t* values) {
  ChannelState& ch = channels_[channel_index()];
  std::unique_lock lock(ch.mutex);
  shim::Request req = request;
  req.tag = wait_answer ? ch.next_tag++ : 0;
  auto& out = ch.requests[engine];
  // A full ring empties at the engine's pace (every loop iteration): wait for room.
  for (int spins = 0; !out.push(req); ++spins) {
    if (daemon_down()) return -ENETDOWN;
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  out.publish();
  if (!wait_answer) return 0;
  auto& in = ch.completions[engine];
  for (;;) {
    std::uint32_t n = 0;
    if (in.available(n) == RingCheck::kCorrupt) return -EPROTO;
    bool found = false;
    shim::Completion done;
    while (n-- > 0) {
      in.take(done);
      if (done.tag == req.tag) {
        found = true;
        break;
      }
    }
    in.release();
    if (found) {
      if (values != nullptr)
        for (int i = 0; i < 5; ++i) values[i] = done.values[i];
      return done.result;
    }
    if (daemon_down()) return -ENETDOWN;
    lock.unlock();
    wait(50);
    lock.lock();
  }
}

std::int64_t Client::call_all(const shim::Request& request, std::int64_t* per_engine) {
  std::int64_t first_error = 0;
  for (std::uint32_t e = 0; e < engines(); ++e) {
    const std::int64_t r = call(e, request, true);
    if (per_engine != nullptr) per_engine[e] = r;
    if (r < 0 && first_error == 0) first_error = r;
  }
  return first_error;
}

void Client::ring_doorbell(int s, Socket& sock) {
  shim::SocketShared& sh = region_.socket(static_cast<std::uint32_t>(s));
  // seq_cst: the engine clears the doorbell and then reads tx_head; we stored tx_head, then
  // swap the doorbell. Either it sees our bytes or we see 0 and ring.
  if (sh.tx_doorbell.exchange(1, std::memory_order_seq_cst) == 0) {
    shim::Request req;
    req.op = shim::Op::kSend;
    req.socket = static_cast<std::uint32_t>(s);
    call(sock.engine, req, false);
  }
}

void Client::start_accepting(int s, Socket& sock) {
  if (sock.accepting.exchange(true, std::memory_order_relaxed)) return;
  // The nudge is ordered after the flag by the request ring (release/acquire).
  region_.socket(static_cast<std::uint32_t>(s)).accepting.store(1, std::memory_order_relaxed);
  shim::Request nudge;
  nudge.op = shim::Op::kReceiveSpace;
  nudge.socket = static_cast<std::uint32_t>(s);
  for (std::uint32_t e = 0; e < engines(); ++e) call(e, nudge, false);
}

// --- events and waiting -------------------------------------------------------------------------

bool Client::pump() {
  std::unique_lock lock(events_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // another thread is draining them right now
  if (always_wake_) {
    // The eventfd sits in an application's poll loop: reset it before looking, so that what
    // the engines publish from now on makes it readable again.
    std::uint64_t count;
    (void)::read(event_fd_, &count, sizeof count);
  }
  bool found = false;
  for (std::uint32_t e = 0; e < events_.size(); ++e) {
    auto& ring = events_[e];
    std::uint32_t n = 0;
    if (ring.available(n) == RingCheck::kCorrupt) {
      daemon_gone_.store(true, std::memory_order_release);
      return true;
    }
    if (region_.events(e).overflowed.exchange(0, std::memory_order_acq_rel) != 0) {
      for (std::uint32_t s = 0; s < region_.g.sockets; ++s) notify(static_cast<int>(s));
      found = true;
    }
    for (; n > 0; --n) {
      shim::Event ev;
      ring.take(ev);
      found = true;
      if (ev.socket >= region_.g.sockets) continue;
      const int s = static_cast<int>(ev.socket);
      if (ev.kind == shim::EventKind::kReleased) {
        Socket& sock = sockets_[s];
        if (sock.kind == Kind::kClosing && sock.releases_owed > 0 && --sock.releases_owed == 0) {
          std::lock_guard slots(slots_mutex_);
          if (sock.keep_reserved) {
            sock.kind = Kind::kInherited;  // its number stays taken until sw_close
          } else {
            sock.kind = Kind::kFree;
            free_slots_.push_back(s);
          }
        }
      } else {
        changed_.push_back(s);
      }
    }
    ring.release();
  }
  notify_sockets(changed_);
  changed_.clear();
  return found;
}

// The sockets the events named, to every epoll instance watching them: one pass per instance,
// its lock taken once (not once per event).
void Client::notify_sockets(std::span<const int> sockets) {
  if (sockets.empty()) return;
  std::lock_guard lock(epolls_mutex_);
  for (auto& instance : epolls_) {
    if (!instance) continue;
    Epoll& e = *instance;
    std::lock_guard el(e.mutex);
    for (int s : sockets) {
      if (Interest* i = e.find(s); i != nullptr && !i->in_ready) {
        i->in_ready = true;
        e.ready.push_back(s);
      }
    }
    if (!e.ready.empty() && !e.signalled && e.kernel_fd >= 0) {
      e.signalled = true;
      const std::uint64_t one = 1;
      (void)::write(e.event_fd, &one, sizeof one);
    }
  }
}

bool Client::completions_pending() {
  for (std::uint32_t c = 0; c < region_.g.channels; ++c)
    for (std::uint32_t e = 0; e < region_.g.engines; ++e) {
      const shim::Channel& ch = region_.channel(c, e);
      if (ch.completions.head.value.load(std::memory_order_acquire) !=
          ch.completions.tail.value.load(std::memory_order_relaxed))
        return true;
    }
  return false;
}

int Client::wait(int timeout_ms) {
  if (busy_poll_us_ != 0) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(busy_poll_us_);
    while (std::chrono::steady_clock::now() < until) {
      if (pump() || completions_pending() || daemon_down()) return 0;
      sched_yield();  // an engine sharing this CPU runs meanwhile; alone, this returns at once
    }
  }
  std::unique_lock leader(sleep_mutex_, std::try_to_lock);
  if (!leader.owns_lock()) {
    // Another thread sleeps on the eventfd for everyone and wakes us when it returns.
    std::unique_lock f(followers_mutex_);
    const std::uint64_t generation = wake_generation_;
    followers_.wait_for(f, std::chrono::milliseconds(timeout_ms < 0 || timeout_ms > 50 ? 50 : timeout_ms),
                        [&] { return wake_generation_ != generation; });
    return 0;
  }
  shim::RegionHeader& header = region_.header();
  // Dekker with the engines: announce the sleep, then look once more at what they publish.
  header.waiting.fetch_add(1, std::memory_order_seq_cst);
  int result = 0;
  if (!pump() && !completions_pending() && !daemon_down()) {
    pollfd fds[2] = {{event_fd_, POLLIN, 0}, {attach_fd_, POLLIN, 0}};
    const int n = ::poll(fds, attach_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno == EINTR) result = -EINTR;
    if (n > 0 && (fds[1].revents & (POLLHUP | POLLERR | POLLIN))) daemon_gone_.store(true, std::memory_order_release);
    std::uint64_t count;
    (void)::read(event_fd_, &count, sizeof count);
  }
  if (!always_wake_) header.waiting.fetch_sub(1, std::memory_order_seq_cst);
  else header.waiting.fetch_sub(1, std::memory_order_relaxed);
  leader.unlock();
  pump();
  {
    std::lock_guard f(followers_mutex_);
    ++wake_generation_;
  }
  followers_.notify_all();
  return result;
}

void Client::always_wake() {
  std::lock_guard lock(attach_mutex_);
  if (always_wake_) return;
  always_wake_ = true;
  // A permanent sleeper: the engines write the eventfd on every publication from now on, so a
  // descriptor in someone else's poll loop becomes readable.
  region_.header().waiting.fetch_add(1, std::memory_order_seq_cst);
}

// --- epoll ----------------------------------------------------------------------------------------

void Client::notify(int s) { notify_sockets(std::span<const int>(&s, 1)); }

int Client::epoll_create() {
  auto e = std::make_unique<Epoll>();
  e->interest.assign(region_.g.sockets, Interest{});
  e->event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e->event_fd < 0) return -errno;
  std::lock_guard lock(epolls_mutex_);
  for (std::size_t i = 0; i < epolls_.size(); ++i) {
    if (!epolls_[i]) {
      epolls_[i] = std::move(e);
      return static_cast<int>(i);
    }
  }
  epolls_.push_back(std::move(e));
  return static_cast<int>(epolls_.size() - 1);
}

Epoll* Client::epoll(int ep) {
  std::lock_guard lock(epolls_mutex_);
  if (ep < 0 || static_cast<std::size_t>(ep) >= epolls_.size()) return nullptr;
  return epolls_[ep].get();
}

void Client::epoll_close(int ep) {
  std::unique_ptr<Epoll> gone;
  {
    std::lock_guard lock(epolls_mutex_);
    if (ep < 0 || static_cast<std::size_t>(ep) >= epolls_.size()) return;
    gone = std::move(epolls_[ep]);
  }
  if (!gone) return;
  for (const Interest& i : gone->interest)
    if (i.socket >= 0) std::erase(sockets_[i.socket].epolls, ep);
  if (gone->kernel_fd >= 0) ::close(gone->kernel_fd);
  ::close(gone->event_fd);
}

void Client::watch(int ep, int s) {
  std::lock_guard lock(epolls_mutex_);
  sockets_[s].epolls.push_back(ep);
}

void Client::unwatch(int ep, int s) {
  std::lock_guard lock(epolls_mutex_);
  std::erase(sockets_[s].epolls, ep);
}

}  // namespace synwave::client
