#include "table/listener_table.h"

#include <rte_pause.h>

#include <algorithm>

namespace synwave {

ListenerTable::ListenerTable(std::uint32_t capacity)
    : slots_(new Slot[std::max<std::uint32_t>(capacity, 1)]),
      capacity_(std::max<std::uint32_t>(capacity, 1)) {}

ListenerTable::~ListenerTable() = default;

// Reader side of the slot's sequence lock (the classic seqlock with C++ atomics).
void ListenerTable::read_slot(const Slot& slot, std::uint64_t* key, void** value) {
  for (;;) {
    // Acquire: pairs with the writer's final release store of an even sequence, so the key and
    // value loads below see at least that write.
    const std::uint32_t before = slot.seq.load(std::memory_order_acquire);
    if ((before & 1) != 0) {  // the writer is in the middle of this slot
      rte_pause();
      continue;
    }
    *key = slot.key.load(std::memory_order_relaxed);
    *value = slot.value.load(std::memory_order_relaxed);
    // Acquire fence: keeps the data loads above before the re-read of the sequence below; pairs
    // with the writer's release fence after it made the sequence odd, so if we saw any of a newer
    // write's data, we also see its odd (or later) sequence and retry.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) == before) return;
  }
}

// Writer side; only the single writer thread gets here, so the sequence needs no RMW.
void ListenerTable::write_slot(Slot& slot, std::uint64_t key, void* value) {
  const std::uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  // Release fence: the odd sequence above becomes visible no later than the data stores below
  // (pairs with the reader's acquire fence).
  std::atomic_thread_fence(std::memory_order_release);
  slot.key.store(key, std::memory_order_relaxed);
  slot.value.store(value, std::memory_order_relaxed);
  // Release: publishes key and value with the even sequence (pairs with the reader's first,
  // acquire load of the sequence).
  slot.seq.store(seq + 2, std::memory_order_release);
}

TableResult ListenerTable::insert(ListenKey key, void* value) {
  if (value == nullptr) return TableResult::kInvalid;
  const std::uint64_t k = encode(key);
  // The writer is the only thread that changes slots: it reads its own writes without the lock.
  const std::uint32_t used = used_.load(std::memory_order_relaxed);
  std::uint32_t free_slot = used;
  for (std::uint32_t i = 0; i < used; ++i) {
    const std::uint64_t present = slots_[i].key.load(std::memory_order_relaxed);
    if (present == k) return TableResult::kExists;
    if (present == kEmpty && free_slot == used) free_slot = i;
  }
  if (free_slot == used) {
    if (used == capacity_) return TableResult::kFull;
    write_slot(slots_[used], k, value);
    // Release: the slot's contents are visible before the slot is in readers' scan range.
    used_.store(used + 1, std::memory_order_release);
  } else {
    write_slot(slots_[free_slot], k, value);
  }
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return TableResult::kOk;
}

TableResult ListenerTable::erase(ListenKey key) {
  const std::uint64_t k = encode(key);
  const std::uint32_t used = used_.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < used; ++i) {
    if (slots_[i].key.load(std::memory_order_relaxed) == k) {
      write_slot(slots_[i], kEmpty, nullptr);
      size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
      return TableResult::kOk;
    }
  }
  return TableResult::kNotFound;
}

void* ListenerTable::lookup(Ipv4Addr addr, std::uint16_t port) const {
  const std::uint64_t exact = encode(ListenKey{addr, port});
  const std::uint64_t wildcard = encode(ListenKey{Ipv4Addr{0}, port});
  void* fallback = nullptr;
  // Acquire: pairs with insert()'s release store; every slot below is initialised.
  const std::uint32_t used = used_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < used; ++i) {
    // Cheap filter before the consistent read: most slots belong to other ports. A relaxed load
    // may be stale or racing; read_slot() below is what decides.
    const std::uint64_t seen = slots_[i].key.load(std::memory_order_relaxed);
    if (seen != exact && seen != wildcard) continue;
    std::uint64_t key = 0;
    void* value = nullptr;
    read_slot(slots_[i], &key, &value);
    if (key == exact) return value;
    if (key == wildcard) fallback = value;
  }
  return fallback;
}

void* ListenerTable::find(ListenKey key) const {
  const std::uint64_t k = encode(key);
  const std::uint32_t used = used_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < used; ++i) {
    if (slots_[i].key.load(std::memory_order_relaxed) != k) continue;
    std::uint64_t seen = 0;
    void* value = nullptr;
    read_slot(slots_[i], &seen, &value);
    if (seen == k) return value;
  }
  return nullptr;
}

}  // namespace synwave
