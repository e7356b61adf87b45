// The listener table: (local address, port) -> value (the TCP layer stores listening sockets),
// with the exact address preferred over the wildcard 0.0.0.0.
//
// Listeners are few (tens), so the table is a fixed array scanned linearly: one pass over the
// used slots finds the exact match or else the wildcard, with no hashing and no allocation after
// construction.
//
// Concurrency: one writer (the engine that owns the table) calls insert() and erase(); any thread
// may call lookup(), find(), size() and for_each() without a lock and without registering
// anywhere. Each slot is a sequence lock: the writer makes the slot's sequence odd, changes key and
// value, and makes it even again; a reader retries a slot whose sequence was odd or changed while
// it read, so it always sees a key together with its own value. Slots are never freed (an erased
// slot becomes empty and may be reused by a later insert), so a reader never touches freed memory.
//
// Values are not owned. After erase() a reader may still hold the old value: free it only after a
// grace period of the readers that can see this table (ReaderDomain::synchronize()).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "table/keys.h"

namespace synwave {

class ListenerTable {
 public:
  static constexpr std::uint32_t kDefaultCapacity = 64;

  // A table for up to `capacity` listeners (at least 1).
  // Thread-safety: construction and destruction on the writer thread, with no reader running.
  explicit ListenerTable(std::uint32_t capacity = kDefaultCapacity);
  ~ListenerTable();
  ListenerTable(const ListenerTable&) = delete;
  ListenerTable& operator=(const ListenerTable&) = delete;

  // Adds key -> value; key.addr 0 is the wildcard. `value` must not be null.
  // Thread-safety: writer thread only; concurrent lock-free readers allowed.
  // Returns kOk, kExists (same addr and port present; value unchanged), kFull, kInvalid (null).
  TableResult insert(ListenKey key, void* value);

  // Removes exactly `key` (erasing 198.18.0.1:80 leaves 0.0.0.0:80 in place).
  // Thread-safety: writer thread only. Returns kOk or kNotFound.
  TableResult erase(ListenKey key);

  // The listener for a segment to local address `addr`, port `port`: the value of (addr, port) if
  // present, else of (0.0.0.0, port), else nullptr.
  // Thread-safety: any thread, lock-free (retries only while the writer changes a slot it reads).
  void* lookup(Ipv4Addr addr, std::uint16_t port) const;

  // The value of exactly `key` (no wildcard fallback), or nullptr. Thread-safety: as lookup().
  void* find(ListenKey key) const;

  // Number of listeners. Thread-safety: any thread; may lag the writer by an operation.
  std::uint32_t size() const { return size_.load(std::memory_order_relaxed); }
  std::uint32_t capacity() const { return capacity_; }

  // Calls fn(ListenKey, void*) for every listener. Thread-safety: any thread; a walk concurrent
  // with the writer may miss listeners added or removed meanwhile, never sees a torn entry.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    const std::uint32_t used = used_.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < used; ++i) {
      std::uint64_t key = 0;
      void* value = nullptr;
      read_slot(slots_[i], &key, &value);
      if (key != kEmpty) fn(decode(key), value);
    }
  }

 private:
  struct Slot {
    std::atomic<std::uint32_t> seq{0};  // odd while the writer changes the slot
    std::atomic<std::uint64_t> key{0};  // encode(ListenKey), or kEmpty
    std::atomic<void*> value{nullptr};
  };
  static constexpr std::uint64_t kEmpty = 0;
  static constexpr std::uint64_t kPresent = std::uint64_t{1} << 48;

  static constexpr std::uint64_t encode(ListenKey key) {
    return kPresent | (std::uint64_t{key.addr.value} << 16) | key.port;
  }
  static constexpr ListenKey decode(std::uint64_t key) {
    return ListenKey{Ipv4Addr{static_cast<std::uint32_t>(key >> 16)},
                     static_cast<std::uint16_t>(key & 0xffff)};
  }
  static void read_slot(const Slot& slot, std::uint64_t* key, void** value);
  void write_slot(Slot& slot, std::uint64_t key, void* value);

  std::unique_ptr<Slot[]> slots_;
  std::uint32_t capacity_;
  // Slots [0, used_) have ever been written. Written by the writer with release after the new
  // slot's contents; readers load it with acquire, so they never scan an unpublished slot.
  std::atomic<std::uint32_t> used_{0};
  // Listeners present. Single writer: relaxed load + relaxed store; readers load it relaxed, it
  // orders nothing.
  std::atomic<std::uint32_t> size_{0};
};

}  // namespace synwave
