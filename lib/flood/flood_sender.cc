#include "flood/flood_sender.h"

#include <rte_ethdev.h>

#include <algorithm>

namespace synwave::flood {

FloodSender::FloodSender(Kind kind, const FrameParams& params, Ipv4Prefix sources, std::uint64_t seed,
                         rte_mempool* pool, std::uint16_t port_id, std::uint16_t queue_id, unsigned burst,
                         OnFullRing on_full)
    : kind_(kind),
      fields_(sources, seed),
      pool_(pool),
      port_id_(port_id),
      queue_id_(queue_id),
      burst_(std::clamp(burst, 1u, kMaxBurst)),
      on_full_(on_full) {
  templates_.reserve(4);
  for (Kind k : {Kind::kSyn, Kind::kAck, Kind::kRst, Kind::kFin}) templates_.emplace_back(k, params);
}

FloodSender::~FloodSender() { discard(); }

bool FloodSender::build(unsigned n) {
  if (rte_pktmbuf_alloc_bulk(pool_, held_.data(), n) != 0) {
    ++counts_.no_mbuf;
    return false;
  }
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = held_[i];
    const Kind kind = kind_ == Kind::kMix ? static_cast<Kind>(fields_.below(4)) : kind_;
    const FrameTemplate& frame = templates_[static_cast<std::size_t>(kind)];
    const std::size_t len = frame.write({rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m)}, fields_.next());
    m->data_len = static_cast<std::uint16_t>(len);
    m->pkt_len = static_cast<std::uint32_t>(len);
    m->ol_flags = 0;
    // The kind rides in the mbuf until the port has taken it (per-kind totals).
    m->hash.usr = static_cast<std::uint32_t>(kind);
  }
  held_first_ = 0;
  held_count_ = n;
  counts_.built += n;
  return true;
}

std::uint64_t FloodSender::send(std::uint64_t budget) {
  std::uint64_t taken = 0;
  for (;;) {
    if (held_count_ == 0) {
      const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(burst_, budget));
      if (n == 0 || !build(n)) break;
      budget -= n;
    }
    rte_mbuf** first = held_.data() + held_first_;
    const std::uint16_t sent = rte_eth_tx_burst(port_id_, queue_id_, first, static_cast<std::uint16_t>(held_count_));
    for (std::uint16_t i = 0; i < sent; ++i) ++counts_.by_kind[first[i]->hash.usr & 3];
    counts_.sent += sent;
    taken += sent;
    held_first_ += sent;
    held_count_ -= sent;
    if (held_count_ > 0) {  // the ring is full
      ++counts_.ring_full;
      if (on_full_ == OnFullRing::kDrop) {
        rte_pktmbuf_free_bulk(held_.data() + held_first_, held_count_);
        counts_.dropped += held_count_;
        held_count_ = 0;
      }
      break;  // kHold: the rest goes first next time
    }
  }
  return taken;
}

void FloodSender::discard() {
  if (held_count_ == 0) return;
  rte_pktmbuf_free_bulk(held_.data() + held_first_, held_count_);
  counts_.unsent += held_count_;
  held_count_ = 0;
  held_first_ = 0;
}

}  // namespace synwave::flood
