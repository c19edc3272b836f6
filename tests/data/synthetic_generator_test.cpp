#include "synthetic_generator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace cagr::data {
namespace {

Schema small_schema(std::vector<int64_t> rows, int dense_levels = 0) {
  Schema schema{"test", {}, {{"d0", dense_levels}, {"d1", 7}}, 0.3};
  for (size_t t = 0; t < rows.size(); ++t) schema.sparse.push_back({std::string("f").append(std::to_string(t)), rows[t]});
  return schema;
}

bool same(const Batch& a, const Batch& b) {
  return a.indices == b.indices && a.offsets == b.offsets && a.dense == b.dense && a.labels == b.labels;
}

TEST(SyntheticGenerator, IsDeterministicPerSeedAndBatchIndex) {
  GeneratorOptions options;
  options.batch_size = 64;
  options.seed = 42;
  options.pooling_min = 0;
  options.pooling_max = 3;
  const SyntheticGenerator a(options), b(options);
  // Batch 5 made alone equals batch 5 made after 0 .. 4.
  for (int64_t k = 0; k < 5; ++k) a.batch(k);
  EXPECT_TRUE(same(a.batch(5), b.batch(5)));
  EXPECT_FALSE(same(a.batch(5), a.batch(6)));
  // A short batch is the full one's prefix.
  const Batch full = a.batch(2), prefix = a.batch(2, 10);
  ASSERT_EQ(prefix.batch_size, 10);
  for (int64_t t = 0; t < prefix.num_tables; ++t) {
    for (int64_t b = 0; b < 10; ++b) {
      EXPECT_TRUE(std::equal(prefix.indices.begin() + prefix.offsets[t * 10 + b],
                             prefix.indices.begin() + prefix.offsets[t * 10 + b + 1],
                             full.indices.begin() + full.offsets[t * 64 + b],
                             full.indices.begin() + full.offsets[t * 64 + b + 1]));
    }
  }
  EXPECT_TRUE(std::equal(prefix.labels.begin(), prefix.labels.end(), full.labels.begin()));
  options.seed = 43;
  EXPECT_FALSE(same(SyntheticGenerator(options).batch(5), b.batch(5)));
}

TEST(SyntheticGenerator, KaggleBatchHasTheLayoutAndBounds) {
  GeneratorOptions options;  // Criteo Kaggle, one-hot
  options.batch_size = 257;
  const Batch batch = SyntheticGenerator(options).batch(0);
  const Schema& schema = criteo_kaggle_schema();
  ASSERT_EQ(batch.num_tables, 26);
  ASSERT_EQ(batch.num_dense, 13);
  ASSERT_EQ(batch.batch_size, 257);
  ASSERT_EQ(batch.offsets.size(), 26u * 257 + 1);
  ASSERT_EQ(batch.indices.size(), 26u * 257);
  for (int64_t t = 0; t < 26; ++t) {
    for (int64_t i = batch.offsets[t * 257]; i < batch.offsets[(t + 1) * 257]; ++i) {
      EXPECT_GE(batch.indices[i], 0);
      EXPECT_LT(batch.indices[i], schema.sparse[t].rows) << "table " << t;
    }
  }
  for (float v : batch.dense) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, std::log1p(10000.0f) + 1e-4f);
  }
  for (float label : batch.labels) EXPECT_TRUE(label == 0.0f || label == 1.0f);
}

TEST(SyntheticGenerator, PoolingFactorsStayInRange) {
  GeneratorOptions options;
  options.schema = small_schema({5, 1000, 3});
  options.batch_size = 500;
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{3, 3}, {0, 4}, {2, 7}}) {
    options.pooling_min = lo;
    options.pooling_max = hi;
    const Batch batch = SyntheticGenerator(options).batch(1);
    std::set<int64_t> lengths;
    for (size_t i = 0; i + 1 < batch.offsets.size(); ++i) lengths.insert(batch.offsets[i + 1] - batch.offsets[i]);
    EXPECT_EQ(*lengths.begin(), lo);
    EXPECT_EQ(*lengths.rbegin(), hi);  // 1500 bags: every length in the range occurs
    EXPECT_EQ(static_cast<int64_t>(lengths.size()), hi - lo + 1);
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t i = batch.offsets[t * 500]; i < batch.offsets[(t + 1) * 500]; ++i) {
        EXPECT_LT(batch.indices[i], options.schema.sparse[t].rows);
        EXPECT_GE(batch.indices[i], 0);
      }
    }
  }
}

TEST(SyntheticGenerator, DenseLevelsAndClickRate) {
  GeneratorOptions options;
  options.schema = small_schema({10}, 24);
  options.batch_size = 20000;
  const Batch batch = SyntheticGenerator(options).batch(0);
  std::set<float> hours, days;
  for (int64_t b = 0; b < batch.batch_size; ++b) {
    hours.insert(batch.dense[b * 2]);
    days.insert(batch.dense[b * 2 + 1]);
  }
  EXPECT_EQ(hours.size(), 24u);
  EXPECT_EQ(days.size(), 7u);
  EXPECT_EQ(*days.rbegin(), 1.0f);
  double clicks = 0;
  for (float label : batch.labels) clicks += label;
  EXPECT_NEAR(clicks / batch.batch_size, 0.3, 0.02);
}

// Frequencies of each id in table 0 over `batches` batches, largest first.
std::vector<double> rank_frequencies(const SyntheticGenerator& generator, int batches) {
  std::vector<double> frequencies(generator.options().schema.sparse[0].rows);
  for (int k = 0; k < batches; ++k) {
    const Batch batch = generator.batch(k);
    for (int64_t i = batch.offsets[0]; i < batch.offsets[batch.batch_size]; ++i) frequencies[batch.indices[i]] += 1;
  }
  std::sort(frequencies.rbegin(), frequencies.rend());
  while (!frequencies.empty() && frequencies.back() == 0) frequencies.pop_back();
  return frequencies;
}

// Least-squares slope of log(frequency) against log(rank) over ranks 1 .. max_rank: -s for Zipf.
double fitted_exponent(const std::vector<double>& frequencies, size_t max_rank) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const size_t n = std::min(max_rank, frequencies.size());
  for (size_t r = 0; r < n; ++r) {
    const double x = std::log(static_cast<double>(r + 1)), y = std::log(frequencies[r]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

TEST(SyntheticGenerator, ZipfExponentIsRecoveredFromASample) {
  for (double s : {0.8, 1.0, 1.3}) {
    GeneratorOptions options;
    options.schema = small_schema({100000});
    options.batch_size = 200000;
    options.zipf_exponent = s;
    options.seed = 9;
    const auto frequencies = rank_frequencies(SyntheticGenerator(options), 2);
    EXPECT_NEAR(fitted_exponent(frequencies, 100), s, 0.06) << "s = " << s;
  }
}

TEST(SyntheticGenerator, HotRowsAreScatteredOverTheTable) {
  GeneratorOptions options;
  options.schema = small_schema({1000000});
  options.batch_size = 5000;
  const Batch batch = SyntheticGenerator(options).batch(0);
  std::map<int64_t, int> counts;
  for (int64_t id : batch.indices) ++counts[id];
  std::vector<std::pair<int, int64_t>> by_count;
  for (auto [id, count] : counts) by_count.push_back({count, id});
  std::sort(by_count.rbegin(), by_count.rend());
  // Were ranks used as rows, the 10 hottest rows would be 0 .. 9.
  int64_t low = 0;
  for (int i = 0; i < 10; ++i) low += by_count[i].second < 1000;
  EXPECT_LE(low, 1);
}

TEST(SyntheticGenerator, UniformIdsAreFlat) {
  GeneratorOptions options;
  options.schema = small_schema({50});
  options.batch_size = 50000;
  options.distribution = IdDistribution::kUniform;
  const auto frequencies = rank_frequencies(SyntheticGenerator(options), 1);
  ASSERT_EQ(frequencies.size(), 50u);
  EXPECT_LT(frequencies.front() / frequencies.back(), 1.3);
}

TEST(SyntheticGenerator, RejectsBadOptions) {
  GeneratorOptions options;
  options.pooling_min = 3;
  options.pooling_max = 2;
  EXPECT_THROW(SyntheticGenerator{options}, std::invalid_argument);
  options = {};
  options.batch_size = 0;
  EXPECT_THROW(SyntheticGenerator{options}, std::invalid_argument);
  options = {};
  options.zipf_exponent = 0;
  EXPECT_THROW(SyntheticGenerator{options}, std::invalid_argument);
  options = {};
  EXPECT_THROW(SyntheticGenerator(options).batch(-1), std::invalid_argument);
}

}  // namespace
}  // namespace cagr::data
