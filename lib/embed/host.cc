#include "embed/host.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "wire/ipv4.h"

namespace synwave::embed {
namespace {

constexpr unsigned kMinMtu = 68;
constexpr unsigned kMaxMtu = 9000;

// Starts the EAL once per process unless someone already has. The EAL is process-wide by nature,
// so its outcome is too.
absl::Status ensure_eal() {
  static std::once_flag once;
  static absl::Status status;
  std::call_once(once, [] {
    if (rte_lcore_count() > 0) return;  // the process started its own EAL
    const std::string prefix = "--file-prefix=synwave_embed_" + std::to_string(getpid());
    std::vector<std::string> args = {"synwave_embed", "--no-huge", "--no-shconf", "-m", "256",
                                     "--no-pci", "-l", "0", "--no-telemetry", prefix,
                                     "--log-level=*:error"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    // rte_eal_init pins the calling thread to lcore 0; the harness's thread keeps its own CPUs.
    cpu_set_t cpus;
    const bool saved = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) == 0;
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0 && rte_errno != EALREADY) {
      status = absl::InternalError(
          absl::StrCat("rte_eal_init failed: ", rte_strerror(rte_errno)));
      return;
    }
    if (saved) pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
  });
  return status;
}

// A name unique in this process for the mempool and the connection table (DPDK names are global).
std::string unique_name() {
  static std::atomic<std::uint64_t> next{0};
  return absl::StrCat("embed", next.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Host>> Host::create(const Options& options) {
  if (options.mtu < kMinMtu || options.mtu > kMaxMtu)
    return absl::InvalidArgumentError(
        absl::StrCat("mtu ", options.mtu, " is out of range ", kMinMtu, "..", kMaxMtu));
  if (options.tick <= Duration::zero())
    return absl::InvalidArgumentError("tick must be positive");
  if (options.start < Instant{})
    return absl::InvalidArgumentError("start must not be before the epoch");
  if (options.max_sockets == 0 || options.mbufs < 64)
    return absl::InvalidArgumentError("max_sockets must be > 0 and mbufs >= 64");
  if (absl::Status eal = ensure_eal(); !eal.ok()) return eal;

  std::unique_ptr<Host> host(new Host(options));
  const std::string name = unique_name();
  const unsigned data_room = RTE_PKTMBUF_HEADROOM + std::max(options.mtu, 2048u);
  // No per-lcore cache: the callers are arbitrary harness threads, not EAL lcores.
  host->pool_ = rte_pktmbuf_pool_create(name.c_str(), options.mbufs, 0, 0,
                                        static_cast<std::uint16_t>(data_room), SOCKET_ID_ANY);
  if (host->pool_ == nullptr)
    return absl::InternalError(
        absl::StrCat("mempool ", name, ": ", rte_strerror(rte_errno)));

  host->timers_ = std::make_unique<TimerWheel>(options.tick, options.start);
  tcp::TcpStack::Params params;
  params.address = options.address;
  params.sysctl = options.sysctl;
  params.mtu = options.mtu;
  params.max_sockets = options.max_sockets;
  params.pool = host->pool_;
  params.isn_secret = options.isn_secret;
  params.table_name = name;
  auto stack = tcp::TcpStack::create(params, *host->timers_, &Host::on_segment, host.get());
  if (!stack.ok()) return stack.status();
  host->stack_ = std::move(*stack);
  return host;
}

Host::Host(const Options& options) : options_(options) {}

Host::~Host() {
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    changed_cv_.notify_all();
    changed_cv_.wait(lock, [this] { return blocked_ == 0; });
    stack_.reset();  // may still send (and so needs the lock held for on_segment's queue)
    output_.clear();
  }
  timers_.reset();
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

// ---- packets ----------------------------------------------------------------------------------

void Host::on_segment(void* context, rte_mbuf* packet, Ipv4Addr /*destination*/) {
  auto* host = static_cast<Host*>(context);
  // Called from inside a TcpStack or TimerWheel call, so the mutex is held.
  std::vector<std::uint8_t> bytes(rte_pktmbuf_pkt_len(packet));
  std::size_t at = 0;
  for (const rte_mbuf* seg = packet; seg != nullptr; seg = seg->next) {
    std::memcpy(bytes.data() + at, rte_pktmbuf_mtod(seg, const std::uint8_t*), seg->data_len);
    at += seg->data_len;
  }
  rte_pktmbuf_free(packet);
  host->output_.push_back(std::move(bytes));
  host->changed_cv_.notify_all();  // wait_for_output
}

InjectResult Host::inject(std::span<const std::uint8_t> datagram) {
  std::lock_guard lock(mutex_);
  const InjectResult result = [&] {
    if (datagram.size() > std::size_t{rte_pktmbuf_data_room_size(pool_)} - RTE_PKTMBUF_HEADROOM)
      return InjectResult::kTooBig;
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return InjectResult::kNoBuffer;
    auto* data = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m, static_cast<std::uint16_t>(datagram.size())));
    if (!datagram.empty()) std::memcpy(data, datagram.data(), datagram.size());
    auto ip = wire::Ipv4View::parse({data, datagram.size()});
    InjectResult verdict = InjectResult::kDelivered;
    if (!ip.ok())
      verdict = InjectResult::kMalformed;
    else if (ip->protocol() != wire::IpProtocol::kTcp)
      verdict = InjectResult::kNotTcp;
    else if (ip->dst() != options_.address)
      verdict = InjectResult::kNotForUs;
    if (verdict != InjectResult::kDelivered) {
      rte_pktmbuf_free(m);
      return verdict;
    }
    // Ethernet-style padding after the IPv4 total length is not part of the datagram.
    rte_pktmbuf_trim(m, static_cast<std::uint16_t>(datagram.size() - ip->total_len()));
    stack_->input(m, *ip);
    return InjectResult::kDelivered;
  }();
  inject_counters_.inc(result);
  if (result == InjectResult::kDelivered) changed();
  return result;
}

std::vector<std::vector<std::uint8_t>> Host::take_output() {
  std::lock_guard lock(mutex_);
  std::vector<std::vector<std::uint8_t>> out(std::make_move_iterator(output_.begin()),
                                             std::make_move_iterator(output_.end()));
  output_.clear();
  return out;
}

std::optional<std::vector<std::uint8_t>> Host::next_output() {
  std::lock_guard lock(mutex_);
  if (output_.empty()) return std::nullopt;
  std::vector<std::uint8_t> first = std::move(output_.front());
  output_.pop_front();
  return first;
}

long Host::next_output(std::span<std::uint8_t> buffer) {
  std::lock_guard lock(mutex_);
  if (output_.empty()) return 0;
  const std::vector<std::uint8_t>& first = output_.front();
  if (first.size() > buffer.size()) return -EMSGSIZE;
  std::copy(first.begin(), first.end(), buffer.begin());
  const long len = static_cast<long>(first.size());
  output_.pop_front();
  return len;
}

bool Host::wait_for_output(std::chrono::nanoseconds real_timeout) {
  std::unique_lock lock(mutex_);
  return changed_cv_.wait_for(lock, real_timeout, [this] { return !output_.empty(); });
}

unsigned Host::mbufs_in_use() const { return rte_mempool_in_use_count(pool_); }

// ---- time ---------------------------------------------------------------------------------------

Instant Host::now() const {
  std::lock_guard lock(mutex_);
  return timers_->now();
}

std::size_t Host::advance_to(Instant t) {
  std::lock_guard lock(mutex_);
  const std::size_t fired = timers_->advance(t);
  changed();  // time moved: blocked calls re-check their virtual-time timeouts
  return fired;
}

std::size_t Host::advance_by(Duration d) {
  std::lock_guard lock(mutex_);
  const Instant now = timers_->now();
  const Duration step = std::max(d, Duration::zero());
  const Instant target = step > Instant::max() - now ? Instant::max() : now + step;
  const std::size_t fired = timers_->advance(target);
  changed();
  return fired;
}

std::optional<Instant> Host::next_timer() const {
  std::lock_guard lock(mutex_);
  return timers_->next_deadline();
}

// ---- blocking -----------------------------------------------------------------------------------

void Host::changed() {
  ++changes_;
  changed_cv_.notify_all();
}

Host::SocketMode Host::mode(int s) const {
  auto it = modes_.find(s);
  return it == modes_.end() ? SocketMode{} : it->second;
}

template <typename Attempt>
long Host::block(std::unique_lock<std::mutex>& lock, Duration timeout, long would_block,
                 Attempt&& attempt) {
  const std::uint64_t interrupts = interrupts_;
  const Instant start = timers_->now();
  const std::optional<Instant> deadline =
      timeout > Duration::zero()
          ? std::optional(timeout > Instant::max() - start ? Instant::max() : start + timeout)
          : std::nullopt;
  ++blocked_;
  long result;
  for (;;) {
    result = attempt();
    if (result != would_block) break;
    if (closing_ || interrupts_ != interrupts) {
      result = -EINTR;
      break;
    }
    if (deadline && timers_->now() >= *deadline) break;
    const std::uint64_t seen = changes_;
    changed_cv_.wait(lock, [&] {
      return changes_ != seen || closing_ || interrupts_ != interrupts;
    });
  }
  --blocked_;
  if (closing_) changed_cv_.notify_all();  // the destructor waits for blocked_ == 0
  return result;
}

void Host::interrupt() {
  std::lock_guard lock(mutex_);
  ++interrupts_;
  changed_cv_.notify_all();
}

std::size_t Host::blocked_calls() const {
  std::lock_guard lock(mutex_);
  return blocked_;
}

int Host::set_nonblocking(int s, bool nonblocking) {
  std::lock_guard lock(mutex_);
  if (!stack_->state(s)) return -EBADF;
  modes_[s].nonblocking = nonblocking;
  return 0;
}

int Host::set_recv_timeout(int s, Duration timeout) {
  std::lock_guard lock(mutex_);
  if (!stack_->state(s)) return -EBADF;
  if (timeout < Duration::zero()) return -EINVAL;
  modes_[s].recv_timeout = timeout;
  return 0;
}

int Host::set_send_timeout(int s, Duration timeout) {
  std::lock_guard lock(mutex_);
  if (!stack_->state(s)) return -EBADF;
  if (timeout < Duration::zero()) return -EINVAL;
  modes_[s].send_timeout = timeout;
  return 0;
}

// ---- the socket API -----------------------------------------------------------------------------

int Host::socket() {
  std::lock_guard lock(mutex_);
  const int s = stack_->socket();
  if (s >= 0) modes_.erase(s);  // a recycled id starts blocking, without timeouts
  return s;
}

int Host::bind(int s, tcp::Endpoint local) {
  std::lock_guard lock(mutex_);
  return stack_->bind(s, local);
}

int Host::listen(int s, int backlog) {
  std::lock_guard lock(mutex_);
  const int r = stack_->listen(s, backlog);
  changed();
  return r;
}

int Host::accept(int s, tcp::Endpoint* peer) {
  std::unique_lock lock(mutex_);
  const SocketMode m = mode(s);
  const long r = m.nonblocking ? stack_->accept(s, peer)
                               : block(lock, m.recv_timeout, -EAGAIN,
                                       [&]() -> long { return stack_->accept(s, peer); });
  if (r >= 0) {
    const int child = static_cast<int>(r);
    modes_.erase(child);
    if (m.recv_timeout != Duration::zero() || m.send_timeout != Duration::zero())
      modes_[child] = SocketMode{.recv_timeout = m.recv_timeout, .send_timeout = m.send_timeout};
    changed();
  }
  return static_cast<int>(r);
}

int Host::connect(int s, tcp::Endpoint remote) {
  std::unique_lock lock(mutex_);
  const int r = stack_->connect(s, remote);
  changed();
  const SocketMode m = mode(s);
  if (r != -EINPROGRESS || m.nonblocking) return r;
  return static_cast<int>(block(lock, m.send_timeout, -EINPROGRESS, [&]() -> long {
    const std::optional<tcp::State> st = stack_->state(s);
    if (!st) return -EBADF;  // closed by another thread meanwhile
    if (*st == tcp::State::kSynSent || *st == tcp::State::kSynReceived) return -EINPROGRESS;
    if (tcp::is_synchronized(*st)) return 0;
    int error = 0;  // reading SO_ERROR clears it, as Linux's connect does on failure
    stack_->getsockopt(s, tcp::SockOpt::kError, &error);
    return error != 0 ? -error : -ECONNABORTED;
  }));
}

long Host::send(int s, std::span<const std::uint8_t> data) {
  std::unique_lock lock(mutex_);
  const SocketMode m = mode(s);
  long r;
  std::size_t queued = 0;
  if (m.nonblocking || data.empty()) {
    r = stack_->send(s, data);
  } else {
    r = block(lock, m.send_timeout, -EAGAIN, [&]() -> long {
      const long n = stack_->send(s, data.subspan(queued));
      if (n < 0) return n;
      queued += static_cast<std::size_t>(n);
      return queued == data.size() ? static_cast<long>(queued) : -EAGAIN;
    });
    if (r < 0 && queued > 0) r = static_cast<long>(queued);  // Linux: what was copied, then
  }
  changed();
  return r;
}

long Host::recv(int s, std::span<std::uint8_t> buffer) {
  std::unique_lock lock(mutex_);
  const SocketMode m = mode(s);
  const long r = m.nonblocking ? stack_->recv(s, buffer)
                               : block(lock, m.recv_timeout, -EAGAIN,
                                       [&]() -> long { return stack_->recv(s, buffer); });
  changed();  // the window may have opened
  return r;
}

int Host::shutdown(int s, tcp::Shutdown how) {
  std::lock_guard lock(mutex_);
  const int r = stack_->shutdown(s, how);
  changed();
  return r;
}

int Host::close(int s) {
  std::lock_guard lock(mutex_);
  const int r = stack_->close(s);
  if (r == 0) modes_.erase(s);
  changed();
  return r;
}

int Host::setsockopt(int s, tcp::SockOpt option, int value) {
  std::lock_guard lock(mutex_);
  return stack_->setsockopt(s, option, value);
}

int Host::getsockopt(int s, tcp::SockOpt option, int* value) {
  std::lock_guard lock(mutex_);
  return stack_->getsockopt(s, option, value);
}

std::uint32_t Host::readiness(int s) const {
  std::lock_guard lock(mutex_);
  return stack_->readiness(s);
}

std::optional<tcp::State> Host::state(int s) const {
  std::lock_guard lock(mutex_);
  return stack_->state(s);
}

std::optional<tcp::Endpoint> Host::local_endpoint(int s) const {
  std::lock_guard lock(mutex_);
  return stack_->local_endpoint(s);
}

std::optional<tcp::Endpoint> Host::remote_endpoint(int s) const {
  std::lock_guard lock(mutex_);
  return stack_->remote_endpoint(s);
}

std::size_t Host::take_ready(std::span<int> out) {
  std::lock_guard lock(mutex_);
  return stack_->take_ready(out);
}

}  // namespace synwave::embed
