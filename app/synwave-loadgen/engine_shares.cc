#include "engine_shares.h"

#include <algorithm>

namespace synwave::loadgen {

std::uint64_t share_of(std::uint64_t total, std::size_t parts, std::size_t index) {
  return total / parts + (index < total % parts ? 1 : 0);
}

std::vector<EngineShare> split_load(unsigned concurrency, std::uint64_t count, double rate, std::size_t engines) {
  std::uint64_t used = std::min<std::uint64_t>(engines, concurrency);
  if (count != 0) used = std::min(used, count);
  std::vector<EngineShare> shares(static_cast<std::size_t>(used));
  for (std::size_t e = 0; e < shares.size(); ++e) {
    shares[e].concurrency = static_cast<unsigned>(share_of(concurrency, shares.size(), e));
    shares[e].count = count == 0 ? 0 : share_of(count, shares.size(), e);
    shares[e].rate = rate / static_cast<double>(shares.size());
  }
  return shares;
}

}  // namespace synwave::loadgen
