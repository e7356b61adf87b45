// Reliable transfer in virtual time: the stack sends and receives bulk data against a peer the
// test plays, and every mechanism's segments and instants are asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "transfer_fixture.h"

namespace synwave::tcp::testing {
namespace {

TEST_F(TransferTest, Established_BulkSendOnCleanLink_NeverWaitsForATimer) {
  const int s = open_passive();
  const Duration took = pump_send(s, 4 << 20);
  // 4 MiB at a 1 ms RTT: slow start from 10 segments reaches the peer's 128 KiB window within a few
  // RTTs; then one window per RTT. Anything near an RTO (200 ms) would be a stall.
  EXPECT_LT(took, milliseconds(100));
  EXPECT_EQ(tcp().stats().get(TcpStat::kRetransmits), 0u);
  EXPECT_EQ(tcp().stats().get(TcpStat::kTimeouts), 0u);
  tcp().close(s);
}

}  // namespace
}  // namespace synwave::tcp::testing
