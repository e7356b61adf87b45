#include "engine/engine_mesh.h"

#include <rte_errno.h>

#include "absl/strings/str_cat.h"

namespace synwave {

absl::StatusOr<std::unique_ptr<EngineMesh>> EngineMesh::create(unsigned engines, unsigned frame_slots,
                                                               unsigned neighbour_slots) {
  std::unique_ptr<EngineMesh> mesh(new EngineMesh());
  for (unsigned e = 0; e < engines; ++e) {
    // One consumer (the engine), any engine may produce. RING_F_EXACT_SZ: the asked-for capacity.
    const std::string frames = absl::StrCat("sw_steer_e", e);
    rte_ring* ring = rte_ring_create(frames.c_str(), frame_slots, SOCKET_ID_ANY, RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (ring == nullptr)
      return absl::ResourceExhaustedError(absl::StrCat("rte_ring_create(", frames, "): ", rte_strerror(rte_errno)));
    mesh->frames_.push_back(ring);
    const std::string neighbours = absl::StrCat("sw_neigh_e", e);
    ring = rte_ring_create_elem(neighbours.c_str(), sizeof(NeighbourUpdate), neighbour_slots, SOCKET_ID_ANY,
                                RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (ring == nullptr)
      return absl::ResourceExhaustedError(absl::StrCat("rte_ring_create_elem(", neighbours, "): ", rte_strerror(rte_errno)));
    mesh->neighbours_.push_back(ring);
  }
  return mesh;
}

EngineMesh::~EngineMesh() {
  drain();
  for (rte_ring* ring : frames_) rte_ring_free(ring);
  for (rte_ring* ring : neighbours_) rte_ring_free(ring);
}

unsigned EngineMesh::share_neighbour(unsigned from, const NeighbourUpdate& update) {
  unsigned missed = 0;
  for (unsigned e = 0; e < engines(); ++e) {
    if (e == from) continue;
    NeighbourUpdate copy = update;  // rte_ring_mp_enqueue_elem takes a non-const pointer
    if (rte_ring_mp_enqueue_elem(neighbours_[e], &copy, sizeof copy) != 0) ++missed;
  }
  return missed;
}

unsigned EngineMesh::drain() {
  unsigned freed = 0;
  rte_mbuf* frames[64];
  for (unsigned e = 0; e < engines(); ++e) {
    while (unsigned n = receive_frames(e, frames, 64)) {
      rte_pktmbuf_free_bulk(frames, n);
      freed += n;
    }
  }
  return freed;
}

}  // namespace synwave
