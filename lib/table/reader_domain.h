// The lock-free readers of the connection tables, and when memory they may see can be reused.
//
// A table has one writer (its engine) and readers on other threads (stats, control, the socket
// shim) that take no lock. An entry the writer erases may still be in use by such a reader, so
// neither the table's slot for it nor the value it pointed to may be reused at once. ReaderDomain
// is the quiescent-state-based reclamation (DPDK QSBR, rte_rcu_qsbr) that tells when they can:
//
//   - Every reader thread takes a reader id in [0, max_readers) and registers it.
//   - While online, a reader may look up tables and use what it found. Reporting a quiescent state
//     (quiescent()) promises that it holds no reference obtained before that call; going offline
//     promises the same until it comes online again. Offline readers never delay reclamation.
//   - Memory released by the writer at time T is reused only once every reader that was online at
//     T has reported a quiescent state or gone offline (a grace period).
//
// Typical use: a polling thread (the shim, an engine that reads its own table and keeps pointers
// across erases within a burst) registers once and calls quiescent() once per loop iteration; an
// occasional reader (a control command) opens a ReaderDomain::Section around its lookups.
//
// One domain may serve any number of tables (for example all engines' tables, so a stats thread
// reports once for all of them).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct rte_rcu_qsbr;

namespace synwave {

class ReaderDomain {
 public:
  // Creates a domain for up to `max_readers` reader ids (1..1024), in memory of NUMA socket
  // `socket_id` (SOCKET_ID_ANY = -1 for any). Requires an initialised EAL.
  // Thread-safety: may be called from any thread.
  // Returns the domain, or InvalidArgument for a bad max_readers, ResourceExhausted when DPDK
  // memory is short.
  static absl::StatusOr<std::unique_ptr<ReaderDomain>> create(std::string_view name,
                                                              std::uint32_t max_readers,
                                                              int socket_id = -1);

  // Destroy only after every table using the domain is destroyed.
  ~ReaderDomain();
  ReaderDomain(const ReaderDomain&) = delete;
  ReaderDomain& operator=(const ReaderDomain&) = delete;

  // Registers `reader_id` and brings it online: from now on the writer's reclamation waits for
  // this reader's quiescent states. Registering an id twice is harmless.
  // Thread-safety: any thread, concurrently with everything; the id must then be used by one
  // thread only.
  // Returns OK, or InvalidArgument if reader_id >= max_readers().
  absl::Status register_reader(std::uint32_t reader_id);

  // Takes `reader_id` offline and unregisters it; it no longer delays reclamation.
  // Thread-safety: only the thread that uses `reader_id`. Ignores ids out of range.
  void unregister_reader(std::uint32_t reader_id);

  // Marks the start / end of a period in which the reader may hold references to table entries.
  // Must be registered. An offline reader must not touch any table.
  // Thread-safety: only the thread that uses `reader_id`; lock-free, wait-free.
  void online(std::uint32_t reader_id);
  void offline(std::uint32_t reader_id);

  // Reports that the reader holds no reference obtained before this call. Cheap (one store to
  // the reader's own cache line): call it once per loop iteration.
  // Thread-safety: only the thread that uses `reader_id`, while online; wait-free.
  void quiescent(std::uint32_t reader_id);

  // Blocks until a grace period has elapsed: every reader online now has reported a quiescent
  // state or gone offline. For slow-path frees (a closed listener's value). `self_id` is the
  // caller's own reader id if it is registered (it counts as quiescent), otherwise kNoReader.
  // Thread-safety: any thread; never from a callback of a table's reclamation.
  static constexpr std::uint32_t kNoReader = 0xffffffff;
  void synchronize(std::uint32_t self_id = kNoReader);

  // RAII online .. offline around a batch of lookups, for occasional readers.
  class Section {
   public:
    Section(ReaderDomain& domain, std::uint32_t reader_id) : domain_(domain), id_(reader_id) {
      domain_.online(id_);
    }
    ~Section() { domain_.offline(id_); }
    Section(const Section&) = delete;
    Section& operator=(const Section&) = delete;

   private:
    ReaderDomain& domain_;
    std::uint32_t id_;
  };

  std::uint32_t max_readers() const { return max_readers_; }
  // The DPDK QSBR variable (for rte_hash_rcu_qsbr_add and the like). Thread-safety: any thread.
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  ReaderDomain(rte_rcu_qsbr* qsbr, std::uint32_t max_readers)
      : qsbr_(qsbr), max_readers_(max_readers) {}

  rte_rcu_qsbr* qsbr_;
  std::uint32_t max_readers_;
};

}  // namespace synwave
