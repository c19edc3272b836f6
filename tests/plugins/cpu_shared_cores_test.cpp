// The CPU plugin's team on shared cores (plugins/cpu/shared_cores.hpp): the team shrinks to the
// cores that other processes leave free, and this process's own threads (another thread pool
// spinning beside the plugin's) are read as its own, not as other load.
#include "shared_cores.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace cagr::cpu {
namespace {

TEST(TeamSize, TakesTheCoresOtherProcessesLeaveFreeAfterTwoSamplesInARow) {
  TeamSize team(4, 4, true);  // next_team decides against the stored team (4 here); threads() stores
  EXPECT_EQ(team.next_team(0), 4);
  EXPECT_EQ(team.next_team(2), 4) << "one sample may be a transient thread";
  EXPECT_EQ(team.next_team(2), 2);
  EXPECT_EQ(team.next_team(3), 4);
  EXPECT_EQ(team.next_team(0), 4) << "free cores in between: the count starts again";
  EXPECT_EQ(team.next_team(9), 4);
  EXPECT_EQ(team.next_team(9), 1) << "never below the caller";
  EXPECT_EQ(team.next_team(-1), 4) << "unknown: the team stands";
  TeamSize wider(2, 8, true);  // more cores than the configured team: never above it
  EXPECT_EQ(wider.next_team(1), 2);
}

TEST(TeamSize, ATeamThatDoesNotAdaptIsAlwaysWhole) {
  TeamSize team(3, 2, false);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(team.threads(), 3);
}

TEST(RunnableThreads, ThisProcessCountsItsOwnSpinningThreads) {
  const int alone = runnable_threads_of_this_process();
  ASSERT_GE(alone, 1) << "the reader itself is running";
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (int i = 0; i < 2; ++i)
    spinners.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int most = 0;
  for (int i = 0; i < 20; ++i) most = std::max(most, runnable_threads_of_this_process());
  stop = true;
  for (std::thread& t : spinners) t.join();
  EXPECT_GE(most, 3) << "the reader and two spinning threads are runnable (state R) all along";
  EXPECT_GE(runnable_threads(), 1) << "the machine's count includes the reader";
}

}  // namespace
}  // namespace cagr::cpu
