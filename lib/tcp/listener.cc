// Listener queues: the accept queue (bounded by the listen() backlog, capped by somaxconn), which
// holds backlog + 1 connections as Linux's sk_acceptq_is_full() (ack_backlog > max_ack_backlog)
// allows; and what a child leaving its listener undoes. Half-open records: syn_recv.cc.
#include "tcp/tcp_stack_impl.h"

namespace synwave::tcp {

bool TcpStack::Impl::accept_queue_full(const Tcb& listener) const {
  return listener.accept_queue_len > static_cast<std::uint32_t>(listener.backlog);
}

bool TcpStack::Impl::third_ack_overflowed(const Segment& seg) {
  // Linux (seed 004): the third ACK is dropped, the entry stays half-open and its SYN-ACK is
  // retransmitted on schedule; with tcp_abort_on_overflow=1 it is reset instead.
  stats.inc(TcpStat::kListenOverflows);
  drops.inc(TcpDrop::kFullAcceptQueue);
  drops.inc(TcpDrop::kListenDrops);
  if (!params.sysctl.tcp_abort_on_overflow) return false;
  send_rst_for(seg);
  stats.inc(TcpStat::kAttemptFails);
  return true;
}

void TcpStack::Impl::accept_enqueue(Tcb& listener, Tcb& child) {
  if (child.in_syn_queue) {
    --listener.syn_queue_len;
    child.in_syn_queue = false;
  }
  child.next_in_queue = kNoIndex;
  child.in_accept_queue = true;
  if (listener.accept_tail == kNoIndex) listener.accept_head = child.index;
  else slab[listener.accept_tail].next_in_queue = child.index;
  listener.accept_tail = child.index;
  ++listener.accept_queue_len;
  publish(listener);
  update_readiness(listener);
}

Tcb* TcpStack::Impl::accept_dequeue(Tcb& listener) {
  if (listener.accept_head == kNoIndex) return nullptr;
  Tcb& child = slab[listener.accept_head];
  listener.accept_head = child.next_in_queue;
  if (listener.accept_head == kNoIndex) listener.accept_tail = kNoIndex;
  --listener.accept_queue_len;
  child.next_in_queue = kNoIndex;
  child.in_accept_queue = false;
  child.listener = kNoIndex;
  child.accepted = true;
  publish(listener);
  return &child;
}

void TcpStack::Impl::child_gone(Tcb& child) {
  if (child.listener == kNoIndex) return;
  Tcb& listener = slab[child.listener];
  if (child.in_accept_queue) {
    std::uint32_t prev = kNoIndex;
    for (std::uint32_t i = listener.accept_head; i != kNoIndex; prev = i, i = slab[i].next_in_queue) {
      if (i != child.index) continue;
      if (prev == kNoIndex) listener.accept_head = child.next_in_queue;
      else slab[prev].next_in_queue = child.next_in_queue;
      if (listener.accept_tail == child.index) listener.accept_tail = prev;
      --listener.accept_queue_len;
      break;
    }
    child.in_accept_queue = false;
  } else if (child.in_syn_queue) {
    --listener.syn_queue_len;
    child.in_syn_queue = false;
  }
  child.listener = kNoIndex;
  publish(listener);
  update_readiness(listener);
}

}  // namespace synwave::tcp
