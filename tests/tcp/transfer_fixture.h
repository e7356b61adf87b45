// The reliable-transfer fixture: an established connection whose peer the test plays, with
// helpers that ACK and pump bulk data. Shared by the tcp_transfer test files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "tcp_fixture.h"

namespace synwave::tcp::testing {

using std::chrono::milliseconds;

class TransferTest : public TcpTest {
 protected:
  // A passive connection; the peer announced wscale 7 and will offer `peer_window` (scaled).
  int open_passive() {
    const int l = listen();
    const int s = accept_from_peer(l);
    listener_ = l;
    return s;
  }

  // The peer ACKs `ack` with its window (unscaled field) and a timestamp echoing `ecr`.
  void peer_acks(std::uint32_t ack, std::uint16_t window = 1024, std::uint32_t ecr = 0, std::uint32_t tsval = 300) {
    wire::TcpOptions o;
    o.timestamps = wire::TcpTimestamps{tsval, ecr};
    peer_sends(ACK, kPeerIsn + 1, ack, {}, o, window);
  }

  // Sends `total` bytes from the application as fast as the socket takes them, the peer ACKing
  // every segment one millisecond after it left. Returns the virtual time it took.
  Duration pump_send(int s, std::size_t total, std::size_t* retransmitted = nullptr) {
    const Instant start = wheel_.now();
    std::size_t queued = 0;
    std::uint32_t highest = server_isn_ + 1;
    const Bytes chunk(65536, 'b');
    for (int round = 0; round < 100000 && highest != server_isn_ + 1 + total; ++round) {
      while (queued < total) {
        const long n = tcp().send(s, std::span(chunk).first(std::min(chunk.size(), total - queued)));
        if (n <= 0) break;
        queued += static_cast<std::size_t>(n);
      }
      auto out = sent();
      advance_to(wheel_.now() + milliseconds(1));
      for (const Sent& seg : out) {
        const std::uint32_t end = seg.seq() + static_cast<std::uint32_t>(seg.payload.size());
        if (static_cast<std::int32_t>(end - highest) > 0) highest = end;
        else if (retransmitted != nullptr && !seg.payload.empty()) *retransmitted += seg.payload.size();
        peer_acks(highest, 1024, seg.tcp.options.timestamps ? seg.tcp.options.timestamps->val : 0);
      }
    }
    EXPECT_EQ(highest, server_isn_ + 1 + total);
    return wheel_.now() - start;
  }

  int listener_ = -1;
};


}  // namespace synwave::tcp::testing
