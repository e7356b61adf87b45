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
