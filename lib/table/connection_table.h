// The connection table: FourTuple -> value (the TCP layer stores control-block pointers), one per
// engine. Built on DPDK's cuckoo hash (rte_hash) in lock-free reader/writer mode.
//
// Concurrency. One writer, the engine that owns the table, calls insert() and erase(). Any number
// of other threads read without locks (lookup*, size, iteration); each of them must be an online
// reader of the table's ReaderDomain while it looks up and while it uses a value it found. The
// writer's own lookups need no registration, but see "Reclamation" for pointers it keeps.
// There is no multi-writer mode: two threads calling insert()/erase() on one table is a bug.
//
// Reclamation (why erased memory is not reused at once). rte_hash's lock-free mode lets readers
// run while the writer moves keys between buckets; a reader may still be reading the key slot and
// value of an entry the writer just erased. The table therefore uses DPDK's integrated RCU
// (rte_hash_rcu_qsbr_add, defer-queue mode) with the ReaderDomain's QSBR variable:
//   - erase() unlinks the key at once (later lookups miss it) and puts its key slot on a defer
//     queue, stamped with a grace-period token;
//   - a slot whose grace period has elapsed is returned to the free list, and only then is the
//     ReclaimFn called with the erased value: that is the moment the owner may free or reuse it
//     (for example return the TCB to its pool);
//   - reclamation runs inside the writer's own calls: erase() once more than kReclaimTrigger
//     entries wait, insert() when no free slot is left. Nothing runs on reader threads.
// An engine that looks up a burst and then processes it (so may erase an entry and later still
// hold a pointer to it from the same burst) registers in the domain itself and calls quiescent()
// once per loop iteration, after the burst: an entry erased during an iteration is then never
// reclaimed before that iteration ends.
// Erased entries count against capacity until reclaimed, so a table whose readers stall can
// report kFull while size() < capacity().
//
// Hash. CRC32-C (SSE4.2 instruction) by default: cheaper than jhash on 12-byte keys (see
// bench/table_bench.cc). Neither is keyed against deliberate collisions; the extendable-bucket
// mode keeps every insert within capacity possible even under collisions.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "table/keys.h"
#include "table/reader_domain.h"

struct rte_hash;

namespace synwave {

class ConnectionTable {
 public:
  enum class HashFunction : std::uint8_t { kCrc32, kJhash };

  // Called on the writer thread, from inside insert()/erase() or the destructor, with the value of
  // an erased entry once no reader can see it any more. Must not call back into the table.
  using ReclaimFn = void (*)(void* ctx, void* value);

  struct Config {
    // Unique among live tables, 1..kMaxNameLength characters (DPDK derives ring names from it).
    std::string name;
    // Most entries the table holds, erased-but-unreclaimed ones included; 8..2^30.
    std::uint32_t capacity = 0;
    // NUMA socket of the table's memory: the engine's socket; -1 (SOCKET_ID_ANY) for any.
    int socket_id = -1;
    // The lock-free readers; required, must outlive the table.
    ReaderDomain* readers = nullptr;
    HashFunction hash = HashFunction::kCrc32;
    std::uint32_t hash_seed = 0;
    // Optional: told when an erased value may be freed (see "Reclamation").
    ReclaimFn on_reclaim = nullptr;
    void* reclaim_ctx = nullptr;
  };

  static constexpr std::size_t kMaxNameLength = 15;
  // Most keys in one lookup_bulk() call (RTE_HASH_LOOKUP_BULK_MAX).
  static constexpr std::uint32_t kBulkMax = 64;
  // erase() reclaims once more than this many erased entries wait for their grace period.
  static constexpr std::uint32_t kReclaimTrigger = 32;

  // Creates a table. Requires an initialised EAL.
  // Thread-safety: any thread (the DPDK name registry is locked).
  // Returns the table, or InvalidArgument (bad name, capacity or no ReaderDomain), AlreadyExists
  // (name in use), ResourceExhausted (DPDK memory), Internal (other DPDK failures).
  static absl::StatusOr<std::unique_ptr<ConnectionTable>> create(const Config& config);

  // Frees the table. Entries erased earlier are reclaimed (ReclaimFn called) if their grace period
  // has elapsed, so destroy it when no reader is online; values still in the table are not
  // passed to ReclaimFn: the owner erases or walks them first.
  // Thread-safety: writer thread, with no reader using the table.
  ~ConnectionTable();
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  // The key's hash, for the *_with_hash variants (compute once per packet, use for lookup and
  // then insert). Thread-safety: any thread; pure.
  std::uint32_t hash(const FourTuple& key) const;

  // Adds key -> value. `value` must not be null.
  // Thread-safety: writer thread only; lock-free readers may run concurrently.
  // Returns kOk; kExists if the key is present (value unchanged); kFull if no free entry is left
  // even after reclaiming what is reclaimable; kInvalid for a null value or an internal error.
  TableResult insert(const FourTuple& key, void* value);
  TableResult insert_with_hash(const FourTuple& key, std::uint32_t hash, void* value);

  // Gives a present key a new value in place (one atomic store: a lock-free reader sees the old
  // value or the new one). The old value is not passed to ReclaimFn: the caller owns it.
  // Thread-safety: writer thread only. Returns kOk; kNotFound if the key is absent (nothing
  // added); kInvalid for a null value.
  TableResult replace(const FourTuple& key, void* value);

  // Removes the key. Later lookups miss it; its value goes to ReclaimFn after a grace period.
  // Thread-safety: writer thread only; lock-free readers may run concurrently.
  // Returns kOk or kNotFound.
  TableResult erase(const FourTuple& key);
  TableResult erase_with_hash(const FourTuple& key, std::uint32_t hash);

  // The key's value, or nullptr if absent. `hash` must be hash(key).
  // Thread-safety: the writer thread, or any online reader of the domain; lock-free. A reader
  // racing with insert/erase of the same key sees it either present or absent, never torn.
  void* lookup(const FourTuple& key) const;
  void* lookup_with_hash(const FourTuple& key, std::uint32_t hash) const;

  // Looks up `count` (<= kBulkMax) keys at once, the receive-burst path (prefetches the buckets
  // and key slots of all keys before comparing). values[i] receives key i's value, or nullptr.
  // Thread-safety: as lookup().
  // Returns the hit mask: bit i set iff keys[i] was found; 0 if count > kBulkMax.
  std::uint64_t lookup_bulk(const FourTuple* const keys[], std::uint32_t count,
                            void* values[]) const;

  // Live entries (erased ones excluded). Thread-safety: any thread; from another thread the value
  // may lag the writer by a few operations.
  std::uint32_t size() const { return size_.load(std::memory_order_relaxed); }
  std::uint32_t capacity() const { return capacity_; }
  const std::string& name() const { return name_; }

  // Iteration for listings. Start with *cursor = 0; each call stores the next entry and returns
  // true, or returns false at the end. Thread-safety: the writer thread gets an exact walk; an
  // online reader walking while the writer runs may miss entries inserted, erased or moved
  // (cuckoo displacement) meanwhile, or see one twice, but never sees a torn key.
  bool next(std::uint32_t* cursor, FourTuple* key, void** value) const;

  // Calls fn(const FourTuple&, void*) for every entry; same guarantees as next().
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::uint32_t cursor = 0;
    FourTuple key;
    void* value = nullptr;
    while (next(&cursor, &key, &value)) fn(key, value);
  }

 private:
  ConnectionTable(rte_hash* h, const Config& config);
  static void reclaim_trampoline(void* self, void* value);

  rte_hash* hash_;
  std::string name_;
  std::uint32_t capacity_;
  ReclaimFn on_reclaim_;
  void* reclaim_ctx_;
  // Live entries. Single writer: updated with a relaxed load + relaxed store (no locked
  // instruction); readers load it relaxed, it orders nothing else.
  std::atomic<std::uint32_t> size_{0};
};

}  // namespace synwave
