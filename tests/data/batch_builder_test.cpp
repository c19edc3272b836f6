#include "batch_builder.hpp"

#include <gtest/gtest.h>

#include <random>

namespace cagr::data {
namespace {

// Random multi-hot samples, built through the builder and checked against the layout rule of
// embedding_bag: bag b of table t is indices[offsets[t*B + b] .. offsets[t*B + b + 1]).
TEST(BatchBuilder, LaysOutBagsTableMajor) {
  std::mt19937 rng(7);
  const int64_t tables = 3, dense = 2, samples = 13;
  std::vector<std::vector<std::vector<int64_t>>> bags(samples, std::vector<std::vector<int64_t>>(tables));
  BatchBuilder builder(tables, dense);
  for (int64_t b = 0; b < samples; ++b) {
    const float values[2] = {static_cast<float>(b), -static_cast<float>(b)};
    builder.add_sample(static_cast<float>(b % 2), values);
    for (int64_t t = 0; t < tables; ++t) {
      const int length = static_cast<int>(rng() % 4);  // empty bags included
      for (int i = 0; i < length; ++i) {
        bags[b][t].push_back(static_cast<int64_t>(rng() % 100));
        builder.add_index(t, bags[b][t].back());
      }
    }
  }
  const Batch batch = builder.finish();
  ASSERT_EQ(batch.batch_size, samples);
  ASSERT_EQ(batch.num_tables, tables);
  ASSERT_EQ(batch.offsets.size(), static_cast<size_t>(tables * samples + 1));
  EXPECT_EQ(batch.offsets.front(), 0);
  EXPECT_EQ(batch.offsets.back(), static_cast<int64_t>(batch.indices.size()));
  for (int64_t t = 0; t < tables; ++t) {
    for (int64_t b = 0; b < samples; ++b) {
      const std::vector<int64_t> bag(batch.indices.begin() + batch.offsets[t * samples + b],
                                     batch.indices.begin() + batch.offsets[t * samples + b + 1]);
      EXPECT_EQ(bag, bags[b][t]) << "table " << t << " sample " << b;
    }
  }
  for (int64_t b = 0; b < samples; ++b) {
    EXPECT_EQ(batch.labels[b], static_cast<float>(b % 2));
    EXPECT_EQ(batch.dense[b * dense + 1], -static_cast<float>(b));
  }
  EXPECT_EQ(builder.size(), 0);
  EXPECT_EQ(builder.finish().offsets, std::vector<int64_t>{0});
}

TEST(BatchBuilder, RejectsMisuse) {
  BatchBuilder builder(2, 1);
  EXPECT_THROW(builder.add_index(0, 1), std::logic_error);
  const float one[1] = {1};
  const float two[2] = {1, 2};
  EXPECT_THROW(builder.add_sample(0, two), std::invalid_argument);
  builder.add_sample(0, one);
  EXPECT_THROW(builder.add_index(2, 1), std::out_of_range);
}

}  // namespace
}  // namespace cagr::data
