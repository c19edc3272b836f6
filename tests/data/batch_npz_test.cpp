#include "batch_npz.hpp"

#include <gtest/gtest.h>

#include <random>

#include "batch_builder.hpp"
#include "data_error.hpp"
#include "npz.hpp"

namespace cagr::data {
namespace {

Batch random_batch(int64_t samples, int64_t tables, int64_t dense, uint32_t seed) {
  std::mt19937 rng(seed);
  BatchBuilder builder(tables, dense);
  std::vector<float> values(dense);
  for (int64_t b = 0; b < samples; ++b) {
    for (float& v : values) v = static_cast<float>(rng() % 1000) / 7.0f;
    builder.add_sample(static_cast<float>(rng() % 2), values);
    for (int64_t t = 0; t < tables; ++t) {
      for (uint32_t i = rng() % 3; i > 0; --i) builder.add_index(t, rng() % 50);
    }
  }
  return builder.finish();
}

TEST(BatchNpz, RoundTripsThroughAFile) {
  const Batch batch = random_batch(9, 4, 3, 5);
  const std::string path = testing::TempDir() + "/batch.npz";
  write_npz(path, batch_to_arrays(batch));
  const Batch read = batch_from_arrays(read_npz(path), path);
  EXPECT_EQ(read.batch_size, batch.batch_size);
  EXPECT_EQ(read.num_tables, batch.num_tables);
  EXPECT_EQ(read.num_dense, batch.num_dense);
  EXPECT_EQ(read.indices, batch.indices);
  EXPECT_EQ(read.offsets, batch.offsets);
  EXPECT_EQ(read.dense, batch.dense);
  EXPECT_EQ(read.labels, batch.labels);
}

TEST(BatchNpz, InconsistentArraysAreReported) {
  auto arrays = batch_to_arrays(random_batch(4, 2, 1, 9));
  auto error_of = [](const std::map<std::string, NpyArray>& a) {
    try {
      batch_from_arrays(a, "b.npz");
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto no_labels = arrays;
  no_labels.erase("labels");
  EXPECT_EQ(error_of(no_labels), "b.npz: no array 'labels'");
  auto wrong_offsets = arrays;
  wrong_offsets["offsets"] = NpyArray::from<int64_t>({4}, std::vector<int64_t>{0, 1, 2, 3});
  EXPECT_EQ(error_of(wrong_offsets), "b.npz: 'offsets' has 4 entries, expected T*B+1 with B = 4");
  auto i32_indices = arrays;
  i32_indices["indices"] = NpyArray::from<int32_t>({1}, std::vector<int32_t>{0});
  EXPECT_EQ(error_of(i32_indices), "b.npz: array 'indices' must be '<i8' of rank 1, is '<i4' of rank 1");
}

}  // namespace
}  // namespace cagr::data
