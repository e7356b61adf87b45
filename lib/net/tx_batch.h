// Outgoing frames gathered during one loop iteration and handed to the NIC in bursts.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>

#include "base/counter.h"

namespace synwave {

// Where a full batch goes: the engine wires it to rte_eth_tx_burst, tests to a capture.
// Returns how many of the frames it took; it owns those, the batch frees the rest.
using TxBurstFn = std::uint16_t (*)(void* context, rte_mbuf** frames, std::uint16_t count);

// Single-threaded: owned by one engine. Never allocates.
class TxBatch {
 public:
  static constexpr std::uint16_t kCapacity = 64;

  TxBatch(TxBurstFn burst, void* context) : burst_(burst), context_(context) {}
  TxBatch(const TxBatch&) = delete;
  TxBatch& operator=(const TxBatch&) = delete;
  ~TxBatch() { flush(); }

  // Takes ownership of `frame`; sends the batch when it is full.
  void push(rte_mbuf* frame) {
    frames_[count_++] = frame;
    if (count_ == kCapacity) flush();
  }

  // Sends what is queued. The NIC may take fewer frames than offered when its ring is full;
  // after a bounded number of tries the rest are freed and counted in dropped().
  void flush() {
    std::uint16_t sent = 0;
    for (int attempt = 0; attempt < kMaxAttempts && sent < count_; ++attempt)
      sent += burst_(context_, frames_.data() + sent, static_cast<std::uint16_t>(count_ - sent));
    sent_.add(sent);
    if (sent < count_) {
      rte_pktmbuf_free_bulk(frames_.data() + sent, count_ - sent);
      dropped_.add(count_ - sent);
    }
    count_ = 0;
  }

  std::uint16_t pending() const { return count_; }
  // Readable from any thread.
  std::uint64_t sent() const { return sent_.get(); }
  std::uint64_t dropped() const { return dropped_.get(); }

 private:
  static constexpr int kMaxAttempts = 4;
  TxBurstFn burst_;
  void* context_;
  std::array<rte_mbuf*, kCapacity> frames_{};
  std::uint16_t count_ = 0;
  Counter sent_;
  Counter dropped_;
};

}  // namespace synwave
