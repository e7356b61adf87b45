// The daemon's side of the shim: the attach socket, one shared region per application, and one
// ShimEngine per engine.
//
// Life: create() (main thread, before the engines run) binds /run/synwave/<prefix>/shim.sock;
// each engine runs engine_application(e); start() starts the attach thread; once the engines have
// returned, stop() tells every application the daemon stopped (DaemonState::kStopped, an eventfd
// wake-up, the attach connection closed), joins the thread and unmaps everything.
//
// The attach thread: accepts a connection, checks the peer's credentials (SO_PEERCRED: root, the
// daemon's uid, or [shim] allow_uids / allow_gids), reads the AttachRequest and the application's
// eventfd, creates the region (memfd, sized from [shim] and the request), publishes the slot to the
// engines and answers with the memfd. It watches every connection: when one closes (the
// application exited, was killed, or detached) the slot goes kDying, and once every engine has let
// go it is unmapped and freed. It also cuts off applications an engine found faulty.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "base/addr.h"
#include "config/config.h"
#include "shim/app_table.h"
#include "shim/shim_engine.h"

namespace synwave::shim {

// One attached application, as synwave-ctl apps shows it (any thread).
struct AppSummary {
  std::uint32_t id = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::string phase;  // "live", "dying"
  std::uint32_t max_sockets = 0;
  std::uint64_t region_bytes = 0;
  std::uint64_t sockets = 0, requests = 0, bad_requests = 0, events = 0, event_overflows = 0, wakeups = 0,
                accepted = 0, bytes_in = 0, bytes_out = 0, resets_on_exit = 0, closed_on_exit = 0;
  std::uint32_t requests_queued = 0;  // requests waiting in its rings now
  bool faulted = false;
};

class ShimService {
 public:
  struct Params {
    ShimConfig config;
    std::string directory;             // where shim.sock goes
    unsigned engines = 1;
    std::vector<Ipv4Addr> addresses;   // the daemon's local addresses (bind() checks against them)
    unsigned mtu = 1500;
  };

  // Errors: the directory or the socket cannot be created; another daemon already listens there.
  static absl::StatusOr<std::unique_ptr<ShimService>> create(const Params& params);
  ~ShimService();
  ShimService(const ShimService&) = delete;
  ShimService& operator=(const ShimService&) = delete;

  Application* engine_application(unsigned engine) { return engines_[engine].get(); }
  const ShimEngine& engine(unsigned e) const { return *engines_[e]; }
  void start();
  void stop();

  const std::string& socket_path() const { return socket_path_; }
  std::vector<AppSummary> apps() const;  // any thread
  const AppTable& table() const { return *table_; }

 private:
  explicit ShimService(const Params& params);
  void run();
  void accept_one();
  void handle_attach(int connection);
  void drop_connection(unsigned slot);
  void reap();
  void release_slot(unsigned slot);

  Params params_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread
  std::unique_ptr<AppTable> table_;
  std::vector<std::unique_ptr<ShimEngine>> engines_;
  std::vector<int> connections_;  // by slot: the attach connection, -1 when none
  std::atomic<bool> stopping_{false};
  std::uint32_t next_id_ = 1;
  std::thread thread_;
};

}  // namespace synwave::shim
