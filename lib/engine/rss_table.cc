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

namespace {

// The 32 key bits starting at bit `bit` (bit 0: the first key byte's most significant bit): what
// an input bit at that position adds to the hash.
std::uint32_t key_window(const RssKey& key, unsigned bit) {
  const unsigned first = bit / 8;
  std::uint64_t bits = 0;  // 40 key bits from `first` on
  for (unsigned i = 0; i < 5; ++i) bits = bits << 8 | (first + i < key.size() ? key[first + i] : 0);
  return static_cast<std::uint32_t>(bits >> (8 - bit % 8));
}

}  // namespace

RssTable::RssTable(const RssKey& key, std::vector<std::uint16_t> reta)
    : key_(key),
      contribution_(kInputBytes),
      reta_(std::move(reta)),
      reta_mask_(static_cast<std::uint32_t>(reta_.size() - 1)) {
  std::uint32_t raw[kRssKeyBytes / 4];
  std::memcpy(raw, key_.data(), sizeof raw);
  rte_convert_rss_key(raw, key_words_.data(), static_cast<int>(kRssKeyBytes));
  for (unsigned position = 0; position < kInputBytes; ++position) {
    for (unsigned value = 0; value < 256; ++value) {
      std::uint32_t sum = 0;
      for (unsigned bit = 0; bit < 8; ++bit)
        if (value & (0x80u >> bit)) sum ^= key_window(key_, position * 8 + bit);
      contribution_[position][value] = sum;
    }
  }
}

std::vector<std::uint16_t> RssTable::round_robin_reta(unsigned queues, std::size_t entries) {
  std::vector<std::uint16_t> reta(entries);
  for (std::size_t i = 0; i < entries; ++i) reta[i] = static_cast<std::uint16_t>(i % queues);
  return reta;
}

std::uint32_t RssTable::hash(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const {
  // The input as the NIC reads it, in network byte order: addresses, source port, destination port.
  const std::uint32_t words[3] = {src.value, dst.value, std::uint32_t{sport} << 16 | dport};
  std::uint32_t h = 0;
  for (unsigned w = 0; w < 3; ++w)
    for (unsigned b = 0; b < 4; ++b) h ^= contribution_[w * 4 + b][(words[w] >> (24 - 8 * b)) & 0xff];
  return h;
}

std::uint32_t RssTable::hash(Ipv4Addr src, Ipv4Addr dst) const {
  const std::uint32_t words[2] = {src.value, dst.value};
  std::uint32_t h = 0;
  for (unsigned w = 0; w < 2; ++w)
    for (unsigned b = 0; b < 4; ++b) h ^= contribution_[w * 4 + b][(words[w] >> (24 - 8 * b)) & 0xff];
  return h;
}

std::uint32_t RssTable::reference_hash(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport) const {
  // rte_ipv4_tuple's layout: addresses, then the ports in one word, source port high.
  std::uint32_t tuple[3] = {src.value, dst.value, std::uint32_t{sport} << 16 | dport};
  return rte_softrss_be(tuple, 3, reinterpret_cast<const std::uint8_t*>(key_words_.data()));
}

}  // namespace synwave
