#include "tcp/reassembly.h"

#include <algorithm>
#include <utility>

namespace synwave::tcp {

namespace {

// A queued segment covers [start, start + data_len); start lives in m->hash.usr.
Seq seg_start(const rte_mbuf* m) {
  return Seq(m->hash.usr);
}
Seq seg_end(const rte_mbuf* m) {
  return Seq(m->hash.usr) + std::uint32_t{m->data_len};
}
void set_seg_start(rte_mbuf* m, Seq s) {
  m->hash.usr = s.raw();
}
// Unsigned offset of x above base on the ring (what seq_in_window compares).
std::uint32_t offset(Seq x, Seq base) {
  return x.raw() - base.raw();
}
bool contains(const rte_mbuf* m, Seq s) {
  return seq_in_window(s, seg_start(m), m->data_len);
}

}  // namespace

ReassemblyQueue::ReassemblyQueue(ReassemblyQueue&& other) noexcept {
  *this = std::move(other);
}

ReassemblyQueue& ReassemblyQueue::operator=(ReassemblyQueue&& other) noexcept {
  if (this == &other) return *this;
  clear();
  head_ = std::exchange(other.head_, nullptr);
  tail_ = std::exchange(other.tail_, nullptr);
  bytes_ = std::exchange(other.bytes_, 0);
  segments_ = std::exchange(other.segments_, 0);
  recent_ = other.recent_;
  recent_count_ = std::exchange(other.recent_count_, 0);
  has_dsack_ = std::exchange(other.has_dsack_, false);
  dsack_ = other.dsack_;
  return *this;
}

ReassemblyQueue::InsertResult ReassemblyQueue::insert(Seq seq, rte_mbuf* m,
                                                      std::uint32_t max_segments) {
  if (m == nullptr) return {};
  if (m->next != nullptr) {  // not the single-segment buffer the contract asks for
    rte_pktmbuf_free(m);
    return {.new_bytes = 0, .refused = true};
  }
  if (m->data_len == 0) {
    rte_pktmbuf_free(m);
    return {};
  }
  m->pkt_len = m->data_len;
  m->nb_segs = 1;

  // The segment as it arrived; all of it is held once insert() keeps or drops it as a duplicate.
  const Seq arrived = seq;
  Seq s = seq;

  // prev: the last segment ending at or before s (nullptr: none); cur: the one after it.
  rte_mbuf* prev = nullptr;
  rte_mbuf* cur = head_;
  if (tail_ != nullptr && seg_end(tail_) <= s) {  // the common case: above everything held
    prev = tail_;
    cur = nullptr;
  } else {
    while (cur != nullptr && seg_end(cur) <= s) {
      prev = cur;
      cur = cur->next;
    }
    // Held bytes win: cut the front of m while a held segment contains its first byte.
    while (cur != nullptr && contains(cur, s)) {
      const std::uint32_t held = offset(seg_end(cur), s);  // in 1 .. cur->data_len
      if (held >= m->data_len) {  // nothing new
        rte_pktmbuf_free(m);
        note_recent(arrived);
        return {};
      }
      rte_pktmbuf_adj(m, static_cast<std::uint16_t>(held));
      s = seg_end(cur);
      prev = cur;
      cur = cur->next;
    }
  }

  // Held segments lying entirely inside [s, s + len) are replaced by m.
  std::uint32_t len = m->data_len;
  rte_mbuf* after = cur;
  std::uint32_t covered = 0;
  std::uint32_t covered_bytes = 0;
  while (after != nullptr) {
    const std::uint64_t start_off = offset(seg_start(after), s);
    if (start_off == 0 || start_off + after->data_len > len) break;
    ++covered;
    covered_bytes += after->data_len;
    after = after->next;
  }
  // Held bytes win at the back too: cut m where the next held segment starts.
  if (after != nullptr) {
    const std::uint32_t start_off = offset(seg_start(after), s);
    if (start_off > 0 && start_off < len) {
      rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - start_off));
      len = start_off;
    }
  }

  if (covered == 0 && segments_ >= max_segments) {
    rte_pktmbuf_free(m);
    return {.new_bytes = 0, .refused = true};
  }

  while (cur != after) {
    rte_mbuf* next = cur->next;
    cur->next = nullptr;
    rte_pktmbuf_free(cur);
    cur = next;
  }
  set_seg_start(m, s);
  m->next = after;
  if (prev == nullptr) head_ = m; else prev->next = m;
  if (after == nullptr) tail_ = m;
  segments_ = segments_ - covered + 1;
  bytes_ = bytes_ - covered_bytes + len;
  note_recent(arrived);
  return {.new_bytes = len > covered_bytes ? len - covered_bytes : 0, .refused = false};
}

Seq ReassemblyQueue::drain(Seq rcv_nxt, MbufQueue& out) {
  bool drained = false;
  while (head_ != nullptr && seg_start(head_) <= rcv_nxt) {
    rte_mbuf* m = head_;
    head_ = m->next;
    if (head_ == nullptr) tail_ = nullptr;
    m->next = nullptr;
    --segments_;
    bytes_ -= m->data_len;
    drained = true;
    const std::uint32_t below = offset(rcv_nxt, seg_start(m));  // < 2^31 as start <= rcv_nxt
    if (below >= m->data_len) {  // wholly below rcv_nxt: already delivered
      rte_pktmbuf_free(m);
      continue;
    }
    rcv_nxt = seg_end(m);
    if (below > 0) rte_pktmbuf_adj(m, static_cast<std::uint16_t>(below));
    out.push(m);
  }
  if (drained) prune_recent();
  return rcv_nxt;
}

SackBlock ReassemblyQueue::block_containing(Seq s) const {
  const rte_mbuf* m = head_;
  while (m != nullptr) {
    SackBlock b{seg_start(m), seg_end(m)};
    for (m = m->next; m != nullptr && seg_start(m) == b.end; m = m->next) b.end = seg_end(m);
    if (seq_in_window(s, b.start, offset(b.end, b.start))) return b;
  }
  return {};
}

void ReassemblyQueue::note_recent(Seq s) {
  const SackBlock b = block_containing(s);
  if (b.start == b.end) return;
  std::size_t kept = 0;
  std::array<Seq, kRecentBlocks> next{};
  next[kept++] = s;
  for (std::size_t i = 0; i < recent_count_ && kept < kRecentBlocks; ++i) {
    if (!seq_in_window(recent_[i], b.start, offset(b.end, b.start))) next[kept++] = recent_[i];
  }
  recent_ = next;
  recent_count_ = static_cast<std::uint8_t>(kept);
}

void ReassemblyQueue::prune_recent() {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < recent_count_; ++i) {
    bool held = false;
    for (const rte_mbuf* m = head_; m != nullptr && !held; m = m->next) held = contains(m, recent_[i]);
    if (held) recent_[kept++] = recent_[i];
  }
  recent_count_ = static_cast<std::uint8_t>(kept);
}

std::size_t ReassemblyQueue::sack_blocks(std::span<SackBlock> out) const {
  std::size_t n = 0;
  if (out.empty()) return 0;
  if (has_dsack_) out[n++] = dsack_;
  const std::size_t first_sack = n;
  auto add = [&](SackBlock b) {
    if (b.start == b.end || n == out.size()) return;
    for (std::size_t i = first_sack; i < n; ++i) {
      if (out[i].start == b.start) return;
    }
    out[n++] = b;
  };
  for (std::size_t i = 0; i < recent_count_ && n < out.size(); ++i) add(block_containing(recent_[i]));
  const rte_mbuf* m = head_;
  while (m != nullptr && n < out.size()) {
    SackBlock b{seg_start(m), seg_end(m)};
    for (m = m->next; m != nullptr && seg_start(m) == b.end; m = m->next) b.end = seg_end(m);
    add(b);
  }
  return n;
}

void ReassemblyQueue::set_dsack(SackBlock b) {
  has_dsack_ = b.start < b.end;
  if (has_dsack_) dsack_ = b;
}

Seq ReassemblyQueue::highest() const {
  return tail_ == nullptr ? Seq() : seg_end(tail_);
}

Seq ReassemblyQueue::lowest() const {
  return head_ == nullptr ? Seq() : seg_start(head_);
}

void ReassemblyQueue::clear() {
  while (head_ != nullptr) {
    rte_mbuf* m = head_;
    head_ = m->next;
    m->next = nullptr;
    rte_pktmbuf_free(m);
  }
  tail_ = nullptr;
  bytes_ = 0;
  segments_ = 0;
  recent_count_ = 0;
  has_dsack_ = false;
}

}  // namespace synwave::tcp
