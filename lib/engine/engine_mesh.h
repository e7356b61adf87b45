// How the engines of one process reach each other on the packet path, without locks:
//
//   frames      software steering: the engine that received a frame of another engine's flow
//               hands it over (one multi-producer, single-consumer rte_ring per engine);
//   neighbours  an ARP mapping learned by any engine, so that every engine can use it (another
//               such ring per engine, of small fixed-size messages).
//
// Engines only enqueue into other engines' rings and dequeue from their own. Frames still in a
// ring when the engines have stopped are freed by drain(), before the pools are counted.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/addr.h"

namespace synwave {

// "port `port_id` learned ip -> mac" (`create`: the ARP message was aimed at us, so an engine
// without an entry makes one, as the receiving engine did).
struct NeighbourUpdate {
  std::uint32_t ip = 0;
  std::uint8_t mac[6] = {};
  std::uint8_t port_id = 0;
  std::uint8_t create = 0;
};
static_assert(sizeof(NeighbourUpdate) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

class EngineMesh {
 public:
  // Rings for `engines` engines: `frame_slots` frames and `neighbour_slots` updates each (both
  // rounded up to a power of two by the ring). Errors: memory for the rings, or a name in use.
  static absl::StatusOr<std::unique_ptr<EngineMesh>> create(unsigned engines, unsigned frame_slots,
                                                            unsigned neighbour_slots);
  ~EngineMesh();
  EngineMesh(const EngineMesh&) = delete;
  EngineMesh& operator=(const EngineMesh&) = delete;

  unsigned engines() const { return static_cast<unsigned>(frames_.size()); }

  // Hands frames to engine `to`; returns how many its ring took (the rest stay the caller's).
  unsigned send_frames(unsigned to, rte_mbuf* const* frames, unsigned count) {
    return rte_ring_mp_enqueue_burst(frames_[to], reinterpret_cast<void* const*>(frames), count, nullptr);
  }
  // Engine `self` takes up to `max` frames other engines handed it.
  unsigned receive_frames(unsigned self, rte_mbuf** frames, unsigned max) {
    return rte_ring_sc_dequeue_burst(frames_[self], reinterpret_cast<void**>(frames), max, nullptr);
  }

  // Tells every engine but `from`; returns how many engines' rings were full (they miss it).
  unsigned share_neighbour(unsigned from, const NeighbourUpdate& update);
  unsigned receive_neighbours(unsigned self, NeighbourUpdate* updates, unsigned max) {
    return rte_ring_sc_dequeue_burst_elem(neighbours_[self], updates, sizeof(NeighbourUpdate), max, nullptr);
  }

  // Frees every frame still in a ring; returns how many. Only once no engine runs.
  unsigned drain();

 private:
  EngineMesh() = default;

  std::vector<rte_ring*> frames_;
  std::vector<rte_ring*> neighbours_;
};

}  // namespace synwave
