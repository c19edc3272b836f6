// The CPU plugin's loops (plugins/cpu/parallel_loop.hpp) on a team of several threads and alone:
// every index visited once, every range covered once, and parallel_min's least value whichever
// thread found it. The conformance cases are below the kernels' thresholds, so they run the plain
// loops only; these run the team's.
#include "parallel_loop.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <vector>

namespace cagr::cpu {
namespace {

class ParallelLoop : public ::testing::TestWithParam<int> {  // the team's size
 protected:
  void SetUp() override { omp_set_num_threads(GetParam()); }
};

TEST_P(ParallelLoop, ForVisitsEveryIndexOnce) {
  for (const bool parallel : {true, false}) {
    for (const int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{100003}}) {
      std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
      parallel_for(count, parallel, [&](int64_t i) { visits[static_cast<size_t>(i)].fetch_add(1); });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << count;
    }
  }
}

TEST_P(ParallelLoop, RangesCoverEveryIndexOnce) {
  for (const bool parallel : {true, false}) {
    for (const int64_t count : {int64_t{0}, int64_t{1}, int64_t{5}, int64_t{99991}}) {
      std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
      std::atomic<int> calls{0};
      parallel_ranges(count, parallel, [&](int64_t begin, int64_t end) {
        calls.fetch_add(1);
        ASSERT_LE(begin, end);
        for (int64_t i = begin; i < end; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << count;
      EXPECT_EQ(calls.load(), parallel && GetParam() > 1 ? GetParam() : 1);
    }
  }
}

// Fresh random positions of "bad" pieces: the least is found with static and dynamic shares, and
// every piece is still visited (the kernels copy the good rows whatever the bad ones hold).
TEST_P(ParallelLoop, MinIsTheLeastValueAndEveryPieceRuns) {
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  constexpr int64_t kNone = INT64_MAX, kCount = 200003;
  for (int round = 0; round < 20; ++round) {
    std::vector<int64_t> bad;
    const int n_bad = static_cast<int>(rng() % 4);  // none, one or several
    for (int b = 0; b < n_bad; ++b) bad.push_back(static_cast<int64_t>(rng() % kCount));
    int64_t want = kNone;
    for (int64_t b : bad) want = std::min(want, b);
    for (const bool parallel : {true, false}) {
      std::vector<std::atomic<int>> visits(kCount);
      const auto value = [&](int64_t i) {
        visits[static_cast<size_t>(i)].fetch_add(1);
        return std::find(bad.begin(), bad.end(), i) != bad.end() ? i : kNone;
      };
      EXPECT_EQ(parallel_min(kCount, parallel, kNone, value), want) << "seed " << seed;
      EXPECT_EQ(parallel_min<8>(kCount, parallel, kNone, value), want) << "seed " << seed;
      for (int64_t i = 0; i < kCount; i += 997) ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 2) << "seed " << seed;
    }
  }
  EXPECT_EQ(parallel_min(0, true, kNone, [](int64_t) { return int64_t{0}; }), kNone);
}

INSTANTIATE_TEST_SUITE_P(Teams, ParallelLoop, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace cagr::cpu
