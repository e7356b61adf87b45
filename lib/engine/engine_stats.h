// The engine's own counters: the loop and, when [impairment] is on, the simulated lossy link.
//
// Telemetry (lib/ctl) publishes every entry of kEngineStatNames for each engine and sums them in
// the `counters` command; a new counter only needs an enumerator and its name here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace synwave {

enum class EngineStat : std::uint8_t {
  kLoops,      // loop iterations
  kIdleLoops,  // iterations that received nothing
  kRxPackets,  // frames received from the NIC (before any impairment)
  kBusyNs,     // time in loop iterations that received frames (busy % = busy / (busy + idle))
  kIdleNs,     // time in iterations that received nothing, sleeps included
  // Software steering (several engines on a port without usable RSS).
  kSteeredOut,       // frames of other engines' flows handed to them
  kSteeredIn,        // frames other engines handed to this one
  kSteerRingFull,    // frames for another engine whose ring was full: freed
  kSteerNoPort,      // frames handed over for a port this engine does not serve: freed
  kNeighboursShared,   // ARP mappings learned here and sent to the other engines
  kNeighbourRingFull,  // ... that an engine's ring had no room for (it learns from its own ARP)
  // [impairment], frames received from the port (engine/impairment.h says what each one counts).
  // The five rx and the five tx counters keep this order: LinkImpairment indexes them.
  kImpairmentRxDropped,
  kImpairmentRxDuplicated,
  kImpairmentRxReordered,
  kImpairmentRxDelayed,
  kImpairmentRxOverflow,
  // [impairment], frames sent to the port.
  kImpairmentTxDropped,
  kImpairmentTxDuplicated,
  kImpairmentTxReordered,
  kImpairmentTxDelayed,
  kImpairmentTxOverflow,
  // Frames the impairment released but the NIC's tx ring refused after bounded retries (freed).
  kImpairmentTxRingFull,
  kCount
};
inline constexpr const char* kEngineStatNames[] = {
    "loops",
    "idle_loops",
    "rx_packets",
    "busy_ns",
    "idle_ns",
    "steered_out",
    "steered_in",
    "steer_ring_full",
    "steer_no_port",
    "neighbours_shared",
    "neighbour_ring_full",
    "impairment_rx_dropped",
    "impairment_rx_duplicated",
    "impairment_rx_reordered",
    "impairment_rx_delayed",
    "impairment_rx_overflow",
    "impairment_tx_dropped",
    "impairment_tx_duplicated",
    "impairment_tx_reordered",
    "impairment_tx_delayed",
    "impairment_tx_overflow",
    "impairment_tx_ring_full",
};
static_assert(sizeof(kEngineStatNames) / sizeof(kEngineStatNames[0]) ==
                  static_cast<std::size_t>(EngineStat::kCount),
              "one name per EngineStat");

}  // namespace synwave
