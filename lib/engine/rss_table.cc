#include "engine/rss_table.h"

#include <rte_thash.h>

#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace synwave {

absl::StatusOr<RssTable> RssTable::create(const RssKey& key, std::vector<std::uint16_t> reta) {
  if (!std::has_single_bit(reta.size()))
    return absl::InvalidArgumentError(absl::StrCat("an RSS redirection table of ", reta.size(),
                                                   " entries: the count must be a power of two"));
  return RssTable(key, std::move(reta));
}

RssTable::RssTable(const RssKey& key, std::vector<std::uint16_t> reta)
    : key_(key), reta_(std::move(reta)), reta_mask_(static_cast<std::uint32_t>(reta_.size() - 1)) {
  std::uint32_t raw[kRssKeyBytes / 4];
  std::memcpy(raw, key_.data(), sizeof raw);
  rte_convert_rss_key(raw, key_words_.data(), static_cast<int>(kRssKeyBytes));
}

std::vector<std::uint16_t> RssTable::round_robin_reta(unsigned queues, std::size_t entries) {
  std::vector<std::uint16_t> reta(entries);
  for (std::size_t i = 0; i < entries; ++i) reta[i] = static_cast<std::uint16_t>(i % queues);
  return reta;
}

std::uint32_t RssTable::hash(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const {
  // rte_ipv4_tuple's layout: addresses, then the ports in one word, source port high.
  std::uint32_t tuple[3] = {src.value, dst.value, std::uint32_t{sport} << 16 | dport};
  return rte_softrss_be(tuple, 3, reinterpret_cast<const std::uint8_t*>(key_words_.data()));
}

std::uint32_t RssTable::hash(Ipv4Addr src, Ipv4Addr dst) const {
  std::uint32_t tuple[2] = {src.value, dst.value};
  return rte_softrss_be(tuple, 2, reinterpret_cast<const std::uint8_t*>(key_words_.data()));
}

}  // namespace synwave
