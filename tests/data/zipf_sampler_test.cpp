#include "zipf_sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "row_scramble.hpp"

namespace cagr::data {
namespace {

// Frequencies of a small Zipf law against its exact probabilities k^-s / sum_j j^-s.
TEST(ZipfSampler, MatchesTheExactLawOnFewRanks) {
  for (double s : {0.5, 1.0, 1.0000001, 2.5}) {
    for (int64_t n : {1, 2, 7, 31}) {
      const ZipfSampler zipf(n, s);
      Random random({5, static_cast<uint64_t>(n)});
      std::vector<double> counts(n + 1);
      const int draws = 200000;
      for (int i = 0; i < draws; ++i) {
        const int64_t k = zipf(random);
        ASSERT_GE(k, 1);
        ASSERT_LE(k, n);
        counts[k] += 1;
      }
      double norm = 0;
      for (int64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -s);
      for (int64_t k = 1; k <= n; ++k) {
        const double p = std::pow(static_cast<double>(k), -s) / norm;
        // 5 standard deviations of a binomial count.
        EXPECT_NEAR(counts[k] / draws, p, 5 * std::sqrt(p * (1 - p) / draws) + 1e-9) << "s " << s << " n " << n << " k " << k;
      }
    }
  }
}

TEST(ZipfSampler, HandlesHugeTables) {
  const ZipfSampler zipf(int64_t{1} << 40, 1.05);
  Random random({1});
  for (int i = 0; i < 10000; ++i) {
    const int64_t k = zipf(random);
    ASSERT_GE(k, 1);
    ASSERT_LE(k, int64_t{1} << 40);
  }
}

TEST(RowScramble, IsABijection) {
  for (int64_t n : {1, 2, 3, 5, 64, 65, 1000, 4097}) {
    const RowScramble scramble(n, 77);
    std::set<int64_t> images;
    for (int64_t x = 0; x < n; ++x) {
      const int64_t y = scramble(x);
      ASSERT_GE(y, 0);
      ASSERT_LT(y, n);
      images.insert(y);
    }
    EXPECT_EQ(static_cast<int64_t>(images.size()), n);
  }
}

TEST(RowScramble, KeysGiveDifferentPermutations) {
  const RowScramble a(1000, 1), b(1000, 2);
  int equal = 0;
  for (int64_t x = 0; x < 1000; ++x) equal += a(x) == b(x);
  EXPECT_LT(equal, 20);
}

TEST(Random, StreamsDependOnEveryKey) {
  EXPECT_EQ(Random({1, 2}).next(), Random({1, 2}).next());
  EXPECT_NE(Random({1, 2}).next(), Random({2, 1}).next());
  EXPECT_NE(Random({1, 2}).next(), Random({1, 3}).next());
}

}  // namespace
}  // namespace cagr::data
