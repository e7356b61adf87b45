// Builds flood frames in mbufs and hands them to one tx queue of a port. On a full tx ring,
// either back-pressure (kHold: what the ring does not take stays here and goes first on the next
// call, so a full ring slows the flood down instead of turning packets into drops; a caller that
// stops for good calls discard(), and the frames still held then count as unsent) or kDrop (the
// rest of the burst is freed and counted, as a NIC's full receive ring would lose it: for a
// rated flood that shares its port with other traffic and must not queue ahead of it).
//
// Engine thread only (it owns the tx queue for the call). No allocation, lock or syscall per
// packet: frames come from the pool in bulk and go out with rte_eth_tx_burst.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <vector>

#include "flood/flood_frames.h"

namespace synwave::flood {

struct SenderCounts {
  std::uint64_t built = 0;      // frames made (sent + held + unsent)
  std::uint64_t sent = 0;       // taken by the port
  std::uint64_t unsent = 0;     // still held when the flood was discarded
  std::uint64_t dropped = 0;    // kDrop: refused by the full ring and freed
  std::uint64_t ring_full = 0;  // calls that ended with the ring refusing part of a burst
  std::uint64_t no_mbuf = 0;    // bursts not built because the pool was empty (tried again later)
  std::uint64_t by_kind[4] = {};  // sent, per single kind (syn, ack, rst, fin)
};

class FloodSender {
 public:
  static constexpr unsigned kMaxBurst = 512;
  enum class OnFullRing : std::uint8_t { kHold, kDrop };

  // `kind` may be kMix (each frame one of the four single kinds at random); frames to
  // params.dst, sources drawn from `sources`; `burst`: frames per rte_eth_tx_burst.
  FloodSender(Kind kind, const FrameParams& params, Ipv4Prefix sources, std::uint64_t seed, rte_mempool* pool,
              std::uint16_t port_id, std::uint16_t queue_id, unsigned burst, OnFullRing on_full = OnFullRing::kHold);
  ~FloodSender();
  FloodSender(const FloodSender&) = delete;
  FloodSender& operator=(const FloodSender&) = delete;

  // Retries the held frames, then builds and offers at most `budget` new ones, burst by burst,
  // until the budget is spent, the pool is empty or the ring is full. Returns the frames the
  // port took in this call.
  std::uint64_t send(std::uint64_t budget);
  // Frees what is still held (counted as unsent). The sender may not send after this.
  void discard();

  std::uint64_t held() const { return held_count_; }
  const SenderCounts& counts() const { return counts_; }

 private:
  bool build(unsigned n);  // into held_[0..n); false when the pool had fewer than n

  Kind kind_;
  std::vector<FrameTemplate> templates_;  // one per single kind, index = Kind
  FieldSource fields_;
  rte_mempool* pool_;
  std::uint16_t port_id_, queue_id_;
  unsigned burst_;
  OnFullRing on_full_;
  std::array<rte_mbuf*, kMaxBurst> held_{};
  unsigned held_first_ = 0, held_count_ = 0;
  SenderCounts counts_;
};

}  // namespace synwave::flood
