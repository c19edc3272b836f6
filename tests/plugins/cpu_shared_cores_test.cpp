// The CPU plugin's team on shared cores (plugins/cpu/shared_cores.hpp): the team shrinks to the
// cores that other processes leave free while they keep this process's threads waiting, and its
// own threads (another thread pool spinning beside the plugin's) are read as its own, not as
// other load.
#include "shared_cores.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace cagr::cpu {
namespace {

TEST(TeamSize, ShrinksToTheFreeCoresOnlyWhileTheCallerIsCrowdedOut) {
  TeamSize team(4, 4, true);  // next_team decides against the stored team (4 here); threads() stores
  EXPECT_EQ(team.next_team(0, true), 4);
  EXPECT_EQ(team.next_team(2, true), 4) << "one sample may be a transient thread";
  EXPECT_EQ(team.next_team(2, true), 2);
  EXPECT_EQ(team.next_team(3, true), 4);
  EXPECT_EQ(team.next_team(0, true), 4) << "free cores in between: the count starts again";
  EXPECT_EQ(team.next_team(9, true), 4);
  EXPECT_EQ(team.next_team(9, true), 1) << "never below the caller";
  EXPECT_EQ(team.next_team(-1, true), 4) << "unknown: the team stands";
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(team.next_team(9, false), 4) << "others runnable but yielding to this process (lower priority)";
  TeamSize wider(2, 8, true);  // more cores than the configured team: never above it
  EXPECT_EQ(wider.next_team(1, true), 2);
}

// Drives next_team as threads() does: each answer becomes the stored team.
class DrivenTeam {
 public:
  explicit DrivenTeam(int threads) : size_(threads, threads, true), team_(threads) {}
  int sample(int others, bool crowded) {
    team_ = size_.next_team(others, crowded);
    size_.set_team_for_test(team_);
    return team_;
  }

 private:
  TeamSize size_;
  int team_;
};

TEST(TeamSize, GrowsWhenTheCountFreesTheCoresOrWhenATryOfTheWholeTeamHolds) {
  DrivenTeam team(2);
  team.sample(5, true);
  ASSERT_EQ(team.sample(5, true), 1);
  EXPECT_EQ(team.sample(0, false), 1);
  EXPECT_EQ(team.sample(0, false), 1);
  EXPECT_EQ(team.sample(0, false), 2) << "three samples of free cores";

  // Others stay runnable, the one thread is never kept waiting: the whole team is tried after
  // kFirstTryAfter samples; crowded at once, it is undone, and the next try waits twice as long.
  team.sample(5, true);
  ASSERT_EQ(team.sample(5, true), 1);
  for (int i = 1; i < TeamSize::kFirstTryAfter; ++i) ASSERT_EQ(team.sample(5, false), 1) << i;
  ASSERT_EQ(team.sample(5, false), 2) << "the try";
  team.sample(5, true);
  ASSERT_EQ(team.sample(5, true), 1) << "the try crowded this process's threads";
  for (int i = 1; i < 2 * TeamSize::kFirstTryAfter; ++i) ASSERT_EQ(team.sample(5, false), 1) << i;
  ASSERT_EQ(team.sample(5, false), 2) << "the second try, twice as late";
  // This one holds: after kTryHoldsAfter uncrowded samples the wait is back to the first.
  for (int i = 0; i < TeamSize::kTryHoldsAfter; ++i) ASSERT_EQ(team.sample(5, false), 2) << i;
  team.sample(5, true);
  ASSERT_EQ(team.sample(5, true), 1);
  for (int i = 1; i < TeamSize::kFirstTryAfter; ++i) ASSERT_EQ(team.sample(5, false), 1) << i;
  EXPECT_EQ(team.sample(5, false), 2);
}

TEST(TeamSize, TriesWaitAtMostTheLastTryAfter) {
  DrivenTeam team(2);
  int longest = 0;
  for (int round = 0; round < 12; ++round) {
    team.sample(5, true);
    ASSERT_EQ(team.sample(5, true), 1) << round;
    int waited = 0;
    while (team.sample(5, false) == 1) ASSERT_LE(++waited, TeamSize::kLastTryAfter) << round;
    longest = std::max(longest, waited + 1);
  }
  EXPECT_EQ(longest, TeamSize::kLastTryAfter);
}

TEST(ProcessSchedule, WaitedShareCountsThreadsPresentInBothReadings) {
  const std::vector<ThreadSchedule> before = {{10, 100, 0}, {11, 50, 50}, {12, 1000, 0}};
  const std::vector<ThreadSchedule> after = {{10, 170, 10}, {11, 60, 70}, {13, 5000, 5000}};
  // tid 12 ended and 13 is new: left out. Ran 70 + 10, waited 10 + 20.
  EXPECT_DOUBLE_EQ(waited_share(before, after), 30.0 / 110.0);
  EXPECT_LT(waited_share(before, before), 0) << "nothing ran between the readings";
  EXPECT_LT(waited_share({}, after), 0);
}

TEST(ProcessSchedule, ReadsThisProcessesThreads) {
  const std::vector<int> tids = threads_of_this_process();
  ASSERT_FALSE(tids.empty());
  const std::vector<ThreadSchedule> first = schedule_of_threads(tids);
  if (first.empty()) GTEST_SKIP() << "this kernel keeps no /proc/self/task/*/schedstat";
  volatile double x = 0;
  for (int i = 0; i < 20'000'000; ++i) x = x + 1e-9 * i;
  const std::vector<ThreadSchedule> second = schedule_of_threads(tids);
  EXPECT_TRUE(std::is_sorted(second.begin(), second.end(),
                             [](const ThreadSchedule& a, const ThreadSchedule& b) { return a.tid < b.tid; }));
  const double share = waited_share(first, second);
  EXPECT_GE(share, 0) << "the loop ran on this thread";
  EXPECT_LE(share, 1);
}

// The threads whose waits are read: the sampling thread's OpenMP team, asked on the first sample
// and again when another thread samples (its kernels run on another team), not on every sample.
TEST(TeamSize, AsksForTheSamplingThreadsTeam) {
  std::vector<std::thread::id> asked_on;
  std::mutex mutex;
  TeamSize team(2, 2, true, [&](int n) {
    std::lock_guard<std::mutex> lock(mutex);
    asked_on.push_back(std::this_thread::get_id());
    EXPECT_EQ(n, 2);
    return threads_of_this_process();
  });
  const auto next_sample = [] { std::this_thread::sleep_for(std::chrono::nanoseconds(TeamSize::kSampleNs + 1'000'000)); };
  team.threads();
  next_sample();
  team.threads();
  ASSERT_EQ(asked_on.size(), 1u) << "the same thread's second sample reads the same team";
  std::thread other([&] {
    next_sample();
    team.threads();
  });
  other.join();
  ASSERT_EQ(asked_on.size(), 2u);
  EXPECT_NE(asked_on[0], asked_on[1]);
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
