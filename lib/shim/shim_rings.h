// Producer and consumer halves of the shared rings in shim_abi.h, for both sides.
//
// Each side keeps its own index privately and only publishes it; the other side's index is read
// from shared memory and checked against what is possible (at most the capacity ahead of ours).
// A check that fails means the other side wrote garbage: the caller decides what that costs
// (the engine detaches the application; the library reports EPROTO).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "shim/shim_abi.h"

namespace synwave::shim {

enum class RingCheck : std::uint8_t { kOk, kCorrupt };

// The producer of a MessageRing. `head` is the producer's private index.
template <typename Ring>
class RingProducer {
 public:
  explicit RingProducer(Ring* ring = nullptr) : ring_(ring) {}
  void reset(Ring* ring, std::uint32_t head = 0) {
    ring_ = ring;
    head_ = head;
    cached_tail_ = head;
  }
  Ring* ring() const { return ring_; }

  // Room for `n` more entries. kCorrupt when the consumer's index is impossible.
  RingCheck room(std::uint32_t& free) {
    // Acquire pairs with the consumer's release store of its tail: entries it has read are free.
    const std::uint32_t tail = ring_->tail.value.load(std::memory_order_acquire);
    const std::uint32_t used = head_ - tail;
    if (used > Ring::kCapacity) return RingCheck::kCorrupt;
    cached_tail_ = tail;
    free = Ring::kCapacity - used;
    return RingCheck::kOk;
  }

  // Writes one entry without publishing it; false when full (or corrupt: see `corrupt`).
  template <typename Entry>
  bool push(const Entry& entry, bool* corrupt = nullptr) {
    if (head_ - cached_tail_ >= Ring::kCapacity) {
      std::uint32_t free = 0;
      if (room(free) == RingCheck::kCorrupt) {
        if (corrupt) *corrupt = true;
        return false;
      }
      if (free == 0) return false;
    }
    ring_->entries[head_ & (Ring::kCapacity - 1)] = entry;
    ++head_;
    return true;
  }

  // Makes every pushed entry visible. Release pairs with the consumer's acquire load of head.
  void publish() { ring_->head.value.store(head_, std::memory_order_release); }
  std::uint32_t head() const { return head_; }

 private:
  Ring* ring_ = nullptr;
  std::uint32_t head_ = 0;
  std::uint32_t cached_tail_ = 0;
};

// The consumer of a MessageRing. `tail` is the consumer's private index.
template <typename Ring>
class RingConsumer {
 public:
  explicit RingConsumer(Ring* ring = nullptr) : ring_(ring) {}
  void reset(Ring* ring, std::uint32_t tail = 0) {
    ring_ = ring;
    tail_ = tail;
  }
  Ring* ring() const { return ring_; }

  // Entries available. kCorrupt when the producer's index is impossible.
  RingCheck available(std::uint32_t& count) const {
    // Acquire pairs with the producer's release store: the entries before head are written.
    const std::uint32_t head = ring_->head.value.load(std::memory_order_acquire);
    const std::uint32_t n = head - tail_;
    if (n > Ring::kCapacity) return RingCheck::kCorrupt;
    count = n;
    return RingCheck::kOk;
  }

  // The next entry, copied out of shared memory (the producer may not touch it until release(),
  // but a hostile one could: the copy is what gets validated and used).
  template <typename Entry>
  void take(Entry& out) {
    std::memcpy(static_cast<void*>(&out), &ring_->entries[tail_ & (Ring::kCapacity - 1)], sizeof(Entry));
    ++tail_;
  }

  // Gives the taken entries' room back. Release pairs with the producer's acquire load of tail.
  void release() { ring_->tail.value.store(tail_, std::memory_order_release); }
  std::uint32_t tail() const { return tail_; }

 private:
  Ring* ring_ = nullptr;
  std::uint32_t tail_ = 0;
};

// Byte rings: a socket's receive (engine -> app) or send (app -> engine) bytes. `capacity` is a
// power of two; indices are free-running byte counts.

// Copies up to `len` bytes from `src` into the ring at `head`; the caller publishes head.
inline void ring_write(std::uint8_t* ring, std::uint32_t capacity, std::uint32_t head, const void* src,
                       std::uint32_t len) {
  const std::uint32_t at = head & (capacity - 1);
  const std::uint32_t first = len < capacity - at ? len : capacity - at;
  std::memcpy(ring + at, src, first);
  if (len > first) std::memcpy(ring, static_cast<const std::uint8_t*>(src) + first, len - first);
}

// Copies `len` bytes out of the ring at `tail` into `dst`.
inline void ring_read(const std::uint8_t* ring, std::uint32_t capacity, std::uint32_t tail, void* dst,
                      std::uint32_t len) {
  const std::uint32_t at = tail & (capacity - 1);
  const std::uint32_t first = len < capacity - at ? len : capacity - at;
  std::memcpy(dst, ring + at, first);
  if (len > first) std::memcpy(static_cast<std::uint8_t*>(dst) + first, ring, len - first);
}

// The longest contiguous stretch from `index` before the ring wraps, at most `len`.
inline std::uint32_t ring_contiguous(std::uint32_t capacity, std::uint32_t index, std::uint32_t len) {
  const std::uint32_t at = index & (capacity - 1);
  return len < capacity - at ? len : capacity - at;
}

}  // namespace synwave::shim
