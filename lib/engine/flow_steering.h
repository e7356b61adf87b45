// Software steering: which queue a NIC with RSS would have delivered a received frame to.
//
// For ports whose driver cannot spread flows by Toeplitz hash itself (memif, ring, tap), every
// engine hashes what it receives and hands other engines' flows to them (engine/engine_mesh.h),
// so that each connection is handled start to end by the engine its active open or its RSS
// bucket chose. Only headers in the first segment are read; nothing is changed.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "engine/rss_table.h"

namespace synwave {

// No owner: ARP, ICMP, IPv4 fragments, other protocols and anything too short or malformed to
// read (the receiving engine handles these, and its own parsers count what is wrong).
inline constexpr std::uint16_t kAnyQueue = 0xffff;

// The queue that owns the frame's TCP or UDP flow under `rss`, or kAnyQueue.
std::uint16_t owning_queue(const rte_mbuf* frame, const RssTable& rss);

}  // namespace synwave
