#include "shim/shim_service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <random>

#include "absl/strings/str_cat.h"
#include "shim/fd_passing.h"

namespace synwave::shim {
namespace {

absl::Status errno_status(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// mkdir -p with mode 0755 for the parts it creates.
bool make_directories(const std::string& path) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// Sends `reply` and, when fd >= 0, the descriptor with it.
void send_reply(int connection, const AttachReply& reply, int fd) {
  (void)send_with_fd(connection, &reply, sizeof reply, fd, MSG_NOSIGNAL | MSG_DONTWAIT);
}

bool is_eventfd(int fd) {
  char link[64] = {};
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
  return n > 0 && std::strcmp(link, "anon_inode:[eventfd]") == 0;
}

// A forked child's proof of inheritance: unguessable, never 0.
std::uint64_t random_token() {
  std::uint64_t token = 0;
  if (::getrandom(&token, sizeof token, 0) != static_cast<ssize_t>(sizeof token)) {
    std::random_device device;
    token = (std::uint64_t{device()} << 32) ^ device();
  }
  return token != 0 ? token : 1;
}

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

ShimService::ShimService(const Params& params)
    : params_(params),
      table_(std::make_unique<AppTable>(params.config.max_apps, params.engines)),
      connections_(params.config.max_apps, -1) {
  for (unsigned e = 0; e < params.engines; ++e)
    engines_.push_back(std::make_unique<ShimEngine>(
        *table_, ShimEngine::Params{.engine = e, .requests_per_poll = params.config.requests_per_poll}));
}

absl::StatusOr<std::unique_ptr<ShimService>> ShimService::create(const Params& params) {
  if (params.engines == 0 || params.engines > kMaxEngines)
    return absl::InvalidArgumentError(absl::StrCat("the shim serves 1 to ", kMaxEngines, " engines, not ", params.engines));
  std::unique_ptr<ShimService> service(new ShimService(params));
  if (!make_directories(params.directory)) return errno_status("shim: cannot create " + params.directory);
  service->socket_path_ = params.directory + "/" + kSocketName;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (service->socket_path_.size() >= sizeof addr.sun_path)
    return absl::InvalidArgumentError("shim: socket path too long: " + service->socket_path_);
  std::memcpy(addr.sun_path, service->socket_path_.c_str(), service->socket_path_.size() + 1);

  // A socket file left by a daemon that died is removed; one that answers belongs to a live
  // daemon with the same file prefix: refuse rather than steal its applications.
  const int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live)
      return absl::AlreadyExistsError("shim: another synwave daemon serves " + service->socket_path_ +
                                      " (the same eal.file_prefix?)");
  }
  ::unlink(service->socket_path_.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno_status("shim: socket");
  service->listen_fd_ = fd;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_status("shim: bind " + service->socket_path_);
  if (::chmod(service->socket_path_.c_str(), params.config.mode) != 0)
    return errno_status("shim: chmod " + service->socket_path_);
  if (::listen(fd, 64) != 0) return errno_status("shim: listen");
  service->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (service->wake_fd_ < 0) return errno_status("shim: eventfd");
  return service;
}

ShimService::~ShimService() {
  stop();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(socket_path_.c_str());
    ::rmdir(params_.directory.c_str());  // ours when we made it; left alone unless empty
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ShimService::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void ShimService::stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  // The engines have returned (the caller's contract): every application learns that the daemon
  // stopped, wakes up, and its region goes.
  for (unsigned i = 0; i < table_->size(); ++i) {
    AppSlot& slot = table_->slot(i);
    if (slot.phase.load(std::memory_order_acquire) == AppPhase::kFree) continue;
    // Release: whatever the engines wrote before is visible to the application that sees it.
    slot.region.header().daemon_state.store(static_cast<std::uint32_t>(DaemonState::kStopped),
                                            std::memory_order_release);
    const std::uint64_t one = 1;
    (void)::write(slot.event_fd, &one, sizeof one);
    release_slot(i);
  }
}

std::vector<AppSummary> ShimService::apps() const {
  std::vector<AppSummary> out;
  for (unsigned i = 0; i < table_->size(); ++i) {
    const AppSlot& slot = table_->slot(i);
    const AppPhase phase = slot.phase.load(std::memory_order_acquire);
    if (phase == AppPhase::kFree) continue;
    AppSummary a;
    a.id = slot.id;
    a.pid = slot.pid;
    a.uid = slot.uid;
    a.gid = slot.gid;
    a.name.assign(slot.name, strnlen(slot.name, sizeof slot.name));
    a.phase = phase == AppPhase::kLive ? "live" : "dying";
    a.max_sockets = slot.region.g.sockets;
    a.region_bytes = slot.region.g.size;
    for (unsigned e = 0; e < table_->engines(); ++e) {
      const AppEngineCounters& c = slot.counters[e];
      a.sockets += c.sockets.load(std::memory_order_relaxed);
      a.requests += c.requests.load(std::memory_order_relaxed);
      a.bad_requests += c.bad_requests.load(std::memory_order_relaxed);
      a.events += c.events.load(std::memory_order_relaxed);
      a.event_overflows += c.event_overflows.load(std::memory_order_relaxed);
      a.wakeups += c.wakeups.load(std::memory_order_relaxed);
      a.accepted += c.accepted.load(std::memory_order_relaxed);
      a.bytes_in += c.bytes_in.load(std::memory_order_relaxed);
      a.bytes_out += c.bytes_out.load(std::memory_order_relaxed);
      a.resets_on_exit += c.resets_on_exit.load(std::memory_order_relaxed);
      a.closed_on_exit += c.closed_on_exit.load(std::memory_order_relaxed);
      a.faulted |= slot.fault[e].load(std::memory_order_relaxed);
    }
    out.push_back(std::move(a));
  }
  return out;
}

// --- the attach thread ------------------------------------------------------------------------------

void ShimService::run() {
  std::vector<pollfd> fds;
  std::vector<unsigned> slot_of_fd;
  while (!stopping_.load(std::memory_order_relaxed)) {
    fds.clear();
    slot_of_fd.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_fd_, POLLIN, 0});
    for (unsigned i = 0; i < connections_.size(); ++i) {
      if (connections_[i] < 0) continue;
      fds.push_back({connections_[i], POLLIN, 0});
      slot_of_fd.push_back(i);
    }
    // 20 ms: how soon a dying application's region is reclaimed once the engines let go.
    const int n = ::poll(fds.data(), fds.size(), 20);
    if (n > 0) {
      if (fds[0].revents & POLLIN) accept_one();
      for (std::size_t k = 2; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        // An application never speaks after attaching: any input, hang-up or error means it
        // left (exit, kill, synwave_detach) or misbehaves. Either way it goes.
        drop_connection(slot_of_fd[k - 2]);
      }
    }
    reap();
  }
}

void ShimService::accept_one() {
  for (;;) {
    const int connection = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) return;
    handle_attach(connection);
  }
}

void ShimService::handle_attach(int connection) {
  AttachReply reply;
  auto refuse = [&](int status, const std::string& why) {
    reply.status = status;
    std::snprintf(reply.message, sizeof reply.message, "%s", why.c_str());
    send_reply(connection, reply, -1);
    ::close(connection);
    table_->refused.fetch_add(1, std::memory_order_relaxed);
  };
  // The request follows the connect at once; a client that does not send it within a second is
  // dropped (this thread serves everyone).
  pollfd p{connection, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return refuse(ETIMEDOUT, "no attach request");
  AttachRequest request;
  int fds[2] = {-1, -1};
  int fd_count = 0;
  const ssize_t got = receive_with_fds(connection, &request, sizeof request, fds, 2, &fd_count, MSG_DONTWAIT);
  const int event_fd = fd_count >= 1 ? fds[0] : -1;
  const int extra_fds = fd_count - 1;
  if (fd_count == 2) ::close(fds[1]);
  auto refuse_with_fd = [&](int status, const std::string& why) {
    if (event_fd >= 0) ::close(event_fd);
    refuse(status, why);
  };
  // Credentials after the request is read: a refusal closes a connection with nothing unread,
  // so the application reads our answer instead of a reset.
  ucred cred{};
  socklen_t cred_len = sizeof cred;
  if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0)
    return refuse_with_fd(EACCES, "no peer credentials");
  const ShimConfig& config = params_.config;
  const bool allowed = cred.uid == 0 || cred.uid == ::geteuid() ||
                       std::find(config.allow_uids.begin(), config.allow_uids.end(), cred.uid) != config.allow_uids.end() ||
                       std::find(config.allow_gids.begin(), config.allow_gids.end(), cred.gid) != config.allow_gids.end();
  if (!allowed)
    return refuse_with_fd(EACCES, absl::StrCat("uid ", cred.uid, " gid ", cred.gid, " is not allowed ([shim] allow_uids/allow_gids)"));

  if (got != static_cast<ssize_t>(sizeof request) || request.magic != kRegionMagic)
    return refuse_with_fd(EPROTO, "not a synwave attach request");
  if (request.abi_version != kAbiVersion)
    return refuse_with_fd(EPROTO, absl::StrCat("ABI version ", request.abi_version, " (the daemon speaks ", kAbiVersion, ")"));
  if (event_fd < 0 || extra_fds != 0 || !is_eventfd(event_fd))
    return refuse_with_fd(EPROTO, "the attach request must carry one eventfd");
  // Non-blocking, so that an application that fills its counter can never block an engine's write.
  ::fcntl(event_fd, F_SETFL, ::fcntl(event_fd, F_GETFL) | O_NONBLOCK);
  if (request.channels == 0 || request.channels > kMaxChannels)
    return refuse_with_fd(EINVAL, absl::StrCat("channels must be 1..", kMaxChannels));
  // A forked child joins its parent's family, proven by the token only its parent's region holds.
  std::uint32_t family = 0;
  if (request.parent_app != 0) {
    if (const int error = table_->join_family(request.parent_app, request.parent_token, &family); error != 0)
      return refuse_with_fd(error, absl::StrCat("parent app ", request.parent_app,
                                                error == ESRCH ? " is not attached" : ": wrong family token"));
  }
  std::uint32_t sockets = config.max_sockets_per_app;
  if (request.sockets != 0) sockets = std::min(sockets, request.sockets);
  sockets = std::max(sockets, 16u);
  const Geometry g = geometry(params_.engines, request.channels, sockets, config.buffer_bytes);
  if (g.size > std::uint64_t{config.max_memory_mb_per_app} << 20)
    return refuse_with_fd(ENOMEM, absl::StrCat("a region of ", g.size >> 20, " MiB exceeds max_memory_mb_per_app ",
                                               config.max_memory_mb_per_app));
  unsigned index = 0;
  while (index < table_->size() && table_->slot(index).phase.load(std::memory_order_acquire) != AppPhase::kFree) ++index;
  if (index == table_->size()) return refuse_with_fd(EMFILE, absl::StrCat("max_apps (", table_->size(), ") attached"));

  const int memfd = ::memfd_create("synwave-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) return refuse_with_fd(ENOMEM, "memfd_create failed");
  // Sealed against shrinking: an application that truncated its region would make the engines'
  // accesses fault (SIGBUS) instead of reading its garbage.
  if (::ftruncate(memfd, static_cast<off_t>(g.size)) != 0 ||
      ::fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    ::close(memfd);
    return refuse_with_fd(ENOMEM, "cannot size the region");
  }
  void* base = ::mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (base == MAP_FAILED) {
    ::close(memfd);
    return refuse_with_fd(ENOMEM, "cannot map the region");
  }
  // The pages are zero: every atomic and index starts at 0. The header is what the app reads.
  std::uint32_t addresses[kMaxLocalAddresses] = {};
  for (std::size_t k = 0; k < params_.addresses.size() && k < kMaxLocalAddresses; ++k)
    addresses[k] = htonl(params_.addresses[k].value);  // network order, as sockaddr_in
  const std::uint64_t token = random_token();
  init_region_header(base, g, next_id_, addresses, params_.mtu, token);

  AppSlot& slot = table_->slot(index);
  slot.id = next_id_++;
  slot.pid = cred.pid;
  slot.uid = cred.uid;
  slot.gid = cred.gid;
  std::memset(slot.name, 0, sizeof slot.name);
  std::memcpy(slot.name, request.name, strnlen(request.name, sizeof request.name - 1));
  slot.region = RegionView{static_cast<std::uint8_t*>(base), g};
  slot.event_fd = event_fd;
  slot.attached_ns = realtime_ns();
  slot.family = family != 0 ? family : slot.id;
  slot.family_token = token;
  slot.clear_engine_state();
  connections_[index] = connection;
  // Release: the identity and the region above are visible to an engine that sees kLive.
  slot.phase.store(AppPhase::kLive, std::memory_order_release);
  table_->epoch().fetch_add(1, std::memory_order_release);
  table_->attached.fetch_add(1, std::memory_order_relaxed);

  reply.status = 0;
  reply.app_id = slot.id;
  reply.region_size = g.size;
  send_reply(connection, reply, memfd);
  // The application has its own descriptor now; ours would only keep the pages alive longer.
  ::close(memfd);
}

void ShimService::drop_connection(unsigned index) {
  if (connections_[index] >= 0) {
    ::close(connections_[index]);
    connections_[index] = -1;
  }
  AppSlot& slot = table_->slot(index);
  if (slot.phase.load(std::memory_order_relaxed) != AppPhase::kLive) return;
  slot.phase.store(AppPhase::kDying, std::memory_order_release);
  table_->epoch().fetch_add(1, std::memory_order_release);
}

// Cuts off applications an engine found faulty, and frees the slots every engine let go of.
void ShimService::reap() {
  for (unsigned i = 0; i < table_->size(); ++i) {
    AppSlot& slot = table_->slot(i);
    const AppPhase phase = slot.phase.load(std::memory_order_acquire);
    if (phase == AppPhase::kFree) continue;
    bool faulted = false, all_released = true;
    for (unsigned e = 0; e < table_->engines(); ++e) {
      faulted |= slot.fault[e].load(std::memory_order_acquire);
      all_released &= slot.released[e].load(std::memory_order_acquire);
    }
    if (phase == AppPhase::kLive && faulted) {
      table_->faults.fetch_add(1, std::memory_order_relaxed);
      drop_connection(i);
    } else if (phase == AppPhase::kDying && all_released) {
      const std::uint64_t one = 1;
      (void)::write(slot.event_fd, &one, sizeof one);  // a faulted app still waiting learns it now
      release_slot(i);
    }
  }
}

void ShimService::release_slot(unsigned index) {
  AppSlot& slot = table_->slot(index);
  if (connections_[index] >= 0) ::close(connections_[index]);
  connections_[index] = -1;
  if (slot.region.base != nullptr) ::munmap(slot.region.base, slot.region.g.size);
  slot.region = RegionView{};
  if (slot.event_fd >= 0) ::close(slot.event_fd);
  slot.event_fd = -1;
  slot.phase.store(AppPhase::kFree, std::memory_order_release);
  table_->epoch().fetch_add(1, std::memory_order_release);
  table_->detached.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace synwave::shim
