#include "ctl/counters.h"

namespace synwave {

std::map<std::string, std::uint64_t> collect_counters(const Runtime& runtime, int engine) {
  std::map<std::string, std::uint64_t> totals;
  for (const auto& e : runtime.engines()) {
    if (engine >= 0 && e->id() != static_cast<unsigned>(engine)) continue;
    for (std::size_t i = 0; i < CounterSet<EngineStat>::kSize; ++i)
      totals[kEngineStatNames[i]] += e->stats().get(i);
    for (const auto& q : e->queues()) {
      totals["tx_frames"] += q->tx.sent();
      totals["drop_tx_ring_full"] += q->tx.dropped();
      q->net.for_each_counter([&](const std::string& name, std::uint64_t value) { totals[name] += value; });
    }
  }
  return totals;
}

}  // namespace synwave
