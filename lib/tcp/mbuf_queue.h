// A FIFO of mbufs, each an independent buffer of payload bytes (linked through mbuf->next but
// not a multi-segment packet), with a byte count. Socket send and receive buffers are these:
// payload stays in the mbufs it arrived in or was copied into, until it is read or acknowledged.
// Single-threaded, never allocates.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

namespace synwave::tcp {

class MbufQueue {
 public:
  MbufQueue() = default;
  MbufQueue(const MbufQueue&) = delete;
  MbufQueue& operator=(const MbufQueue&) = delete;
  ~MbufQueue() { clear(); }

  // Takes ownership of `m` (a single segment); its data_off/data_len mark the payload.
  void push(rte_mbuf* m) {
    m->next = nullptr;
    if (tail_ == nullptr) head_ = m; else tail_->next = m;
    tail_ = m;
    bytes_ += m->data_len;
  }

  // Room left in the last buffer, for appending without a new mbuf.
  std::uint16_t tail_room() const { return tail_ == nullptr ? 0 : rte_pktmbuf_tailroom(tail_); }

  // Appends into the last buffer's tailroom; returns how many bytes fitted.
  std::size_t append_to_tail(std::span<const std::uint8_t> data) {
    if (tail_ == nullptr) return 0;
    const std::size_t n = std::min<std::size_t>(data.size(), rte_pktmbuf_tailroom(tail_));
    std::memcpy(rte_pktmbuf_mtod_offset(tail_, std::uint8_t*, tail_->data_len), data.data(), n);
    tail_->data_len = static_cast<std::uint16_t>(tail_->data_len + n);
    tail_->pkt_len = tail_->data_len;
    bytes_ += n;
    return n;
  }

  // Copies up to out.size() bytes starting `offset` bytes into the queue; returns bytes copied.
  // Reads that move forward through the queue (sending a send buffer segment by segment) start
  // from where the previous read ended instead of walking from the head.
  std::size_t copy_out(std::size_t offset, std::span<std::uint8_t> out) const {
    rte_mbuf* m = head_;
    std::size_t base = 0;  // stream offset of m's first byte
    if (hint_ != nullptr && offset >= hint_base_) {
      m = hint_;
      base = hint_base_;
    }
    offset -= base;
    std::size_t copied = 0;
    for (; m != nullptr && copied < out.size(); m = m->next) {
      if (offset >= m->data_len) {
        offset -= m->data_len;
        base += m->data_len;
        continue;
      }
      hint_ = m;
      hint_base_ = base;
      const std::size_t n = std::min<std::size_t>(m->data_len - offset, out.size() - copied);
      std::memcpy(out.data() + copied, rte_pktmbuf_mtod_offset(m, const std::uint8_t*, offset), n);
      copied += n;
      offset = 0;
      base += m->data_len;
    }
    return copied;
  }

  // Drops `n` bytes from the front, freeing buffers that empty.
  void consume(std::size_t n) {
    n = std::min(n, bytes_);
    bytes_ -= n;
    // The read hint survives when its buffer does: its offset moves down by what went.
    if (hint_ != nullptr) {
      if (hint_base_ >= n) hint_base_ -= n;
      else hint_ = nullptr;
    }
    while (n > 0) {
      rte_mbuf* m = head_;
      if (n < m->data_len) {
        rte_pktmbuf_adj(m, static_cast<std::uint16_t>(n));
        return;
      }
      n -= m->data_len;
      pop_front_and_free();
    }
    // Empty buffers at the front (a zero-length tail) are released too.
    while (head_ != nullptr && head_->data_len == 0) pop_front_and_free();
  }

  void clear() {
    while (head_ != nullptr) pop_front_and_free();
    bytes_ = 0;
    hint_ = nullptr;
  }

  std::size_t bytes() const { return bytes_; }
  bool empty() const { return head_ == nullptr; }

 private:
  void pop_front_and_free() {
    rte_mbuf* m = head_;
    head_ = m->next;
    if (head_ == nullptr) tail_ = nullptr;
    m->next = nullptr;
    rte_pktmbuf_free(m);
  }

  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  std::size_t bytes_ = 0;
  mutable rte_mbuf* hint_ = nullptr;  // a buffer copy_out last read from, or null
  mutable std::size_t hint_base_ = 0; // the stream offset of its first byte
};

}  // namespace synwave::tcp
