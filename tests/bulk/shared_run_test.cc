#include "shared_run.h"

#include <gtest/gtest.h>

namespace synwave::bulk {
namespace {

TEST(SharedRun, ConnectionNumbersAreHandedOutOnceUpToTheTotal) {
  SharedRun run(2, 3);
  EXPECT_EQ(run.claim_connection(), 0u);
  EXPECT_EQ(run.claim_connection(), 1u);
  EXPECT_EQ(run.claim_connection(), 2u);
  EXPECT_FALSE(run.claim_connection().has_value());  // a fourth connection is refused
  EXPECT_FALSE(run.claim_connection().has_value());
}

TEST(SharedRun, OverWhenEveryConnectionFinished) {
  SharedRun run(2, 2);
  EXPECT_FALSE(run.all_finished());
  run.connection_finished();
  EXPECT_FALSE(run.all_finished());
  run.connection_finished();
  EXPECT_TRUE(run.all_finished());
  EXPECT_FALSE(run.failed());
  run.fail();
  EXPECT_TRUE(run.failed());
}

TEST(SharedRun, OnlyTheLastInstanceSaysReady) {
  SharedRun run(3, 1);
  EXPECT_FALSE(run.instance_ready());
  EXPECT_FALSE(run.instance_ready());
  EXPECT_TRUE(run.instance_ready());

  SharedRun alone(1, 1);
  EXPECT_TRUE(alone.instance_ready());  // one engine: ready at once, as before
}

}  // namespace
}  // namespace synwave::bulk
