// The attached applications, as the attach thread and the engines share them.
//
// The attach thread (attach_server.cc) owns each slot's life: it fills a free slot and then
// publishes it (phase kLive, store-release); when the application leaves it marks the slot kDying;
// it frees the slot once every engine has said it let go (released[e], store-release by the
// engine, load-acquire by the attach thread). Engines never free or write the slot's identity;
// each writes only its own released/fault flags and its own counters. An engine notices phase
// changes through `epoch`, which the attach thread bumps (release) after each one.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include "shim/shim_abi.h"

namespace synwave::shim {

enum class AppPhase : std::uint32_t { kFree, kLive, kDying };

// What one engine did for one application: written by that engine only (relaxed), read by
// telemetry.
struct alignas(kCacheLine) AppEngineCounters {
  std::atomic<std::uint64_t> requests{0};       // requests taken from the rings
  std::atomic<std::uint64_t> bad_requests{0};   // refused with an error (wrong slot state, bad op args)
  std::atomic<std::uint64_t> events{0};         // events published
  std::atomic<std::uint64_t> event_overflows{0};  // events that did not fit (the app rescans)
  std::atomic<std::uint64_t> wakeups{0};        // eventfd writes
  std::atomic<std::uint64_t> accepted{0};       // connections handed to the application
  std::atomic<std::uint64_t> bytes_in{0};       // received bytes moved into its rings
  std::atomic<std::uint64_t> bytes_out{0};      // bytes taken from its rings into TCP
  std::atomic<std::uint64_t> sockets{0};        // connections and listeners it owns on this engine now
  std::atomic<std::uint64_t> resets_on_exit{0};  // connections reset because the app left with unread data
  std::atomic<std::uint64_t> closed_on_exit{0};  // connections closed (FIN) because the app left
};

struct AppSlot {
  std::atomic<AppPhase> phase{AppPhase::kFree};
  // Identity and region: written by the attach thread before phase becomes kLive, constant
  // until the slot is free again.
  std::uint32_t id = 0;        // unique for the daemon's life (1, 2, ...)
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  char name[32] = {};
  RegionView region;           // the daemon's mapping and geometry (never the header's copy)
  int event_fd = -1;           // the application's eventfd
  std::int64_t attached_ns = 0;  // CLOCK_REALTIME at attach
  // The application and the children it forked form a family: a root application's family is
  // its own id, a child's its parent's. Only members of one family share listeners (Op::kShare).
  std::uint32_t family = 0;
  std::uint64_t family_token = 0;  // the daemon's copy of RegionHeader::family_token

  std::atomic<bool> released[kMaxEngines] = {};  // engine e has let go (after kDying or its fault)
  std::atomic<bool> fault[kMaxEngines] = {};     // engine e found the rings corrupt: detach it
  AppEngineCounters counters[kMaxEngines];

  // The engines' flags and counters back to zero, for a new application in this slot. Attach
  // thread only, while the slot is kFree (no engine looks at it).
  void clear_engine_state() {
    for (unsigned e = 0; e < kMaxEngines; ++e) {
      released[e].store(false, std::memory_order_relaxed);
      fault[e].store(false, std::memory_order_relaxed);
      AppEngineCounters& c = counters[e];
      for (auto* counter : {&c.requests, &c.bad_requests, &c.events, &c.event_overflows, &c.wakeups, &c.accepted,
                            &c.bytes_in, &c.bytes_out, &c.sockets, &c.resets_on_exit, &c.closed_on_exit})
        counter->store(0, std::memory_order_relaxed);
    }
  }
};

class AppTable {
 public:
  AppTable(unsigned max_apps, unsigned engines)
      : slots_(std::make_unique<AppSlot[]>(max_apps)), size_(max_apps), engines_(engines) {}

  unsigned size() const { return size_; }
  unsigned engines() const { return engines_; }
  AppSlot& slot(unsigned i) { return slots_[i]; }
  const AppSlot& slot(unsigned i) const { return slots_[i]; }

  // The family a forked child joins: that of the live application `parent_app`, when `token` is
  // the one that application's region was given. Returns 0 and sets `family`, or ESRCH (no live
  // application with that id) or EPERM (another token). Attach thread only (it alone writes the
  // slots' identity).
  int join_family(std::uint32_t parent_app, std::uint64_t token, std::uint32_t* family) const {
    for (unsigned i = 0; i < size_; ++i) {
      const AppSlot& slot = slots_[i];
      if (slot.phase.load(std::memory_order_acquire) != AppPhase::kLive || slot.id != parent_app) continue;
      if (slot.family_token != token) return EPERM;
      *family = slot.family;
      return 0;
    }
    return ESRCH;
  }

  // Bumped (release) by the attach thread after every phase change; engines compare it with
  // the value they last saw (acquire) to know when to look at the slots again.
  std::atomic<std::uint64_t>& epoch() { return epoch_; }

  // Attach-thread counters (relaxed; one writer).
  std::atomic<std::uint64_t> attached{0};
  std::atomic<std::uint64_t> refused{0};    // not allowed (uid/gid), bad request, limits
  std::atomic<std::uint64_t> detached{0};   // left (exit, kill, detach) or cut off
  std::atomic<std::uint64_t> faults{0};     // cut off for corrupt rings

 private:
  std::unique_ptr<AppSlot[]> slots_;
  unsigned size_;
  unsigned engines_;
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace synwave::shim
