#include "synthetic_generator.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "batch_builder.hpp"

namespace cagr::data {

namespace {

// Log-count dense features are log(1 + n) with n log-uniform in [0, kMaxCount]: most counts small,
// a few large, like Criteo's integer columns.
constexpr double kMaxCount = 10000;

// Keys that separate the random streams of different purposes made from one seed.
constexpr uint64_t kBatchStream = 1;
constexpr uint64_t kScrambleStream = 2;

float draw_dense(const DenseFeature& feature, Random& random) {
  if (feature.levels == 0) {
    const double count = std::floor(std::exp(random.uniform() * std::log1p(kMaxCount))) - 1;
    return static_cast<float>(std::log1p(count));
  }
  return static_cast<float>(random.below(static_cast<uint64_t>(feature.levels))) /
         static_cast<float>(feature.levels - 1);
}

}  // namespace

SyntheticGenerator::SyntheticGenerator(GeneratorOptions options) : options_(std::move(options)) {
  if (options_.batch_size < 1) {
    throw std::invalid_argument("generator: batch size must be at least 1, got " + std::to_string(options_.batch_size));
  }
  if (options_.pooling_min < 0 || options_.pooling_max < options_.pooling_min) {
    throw std::invalid_argument("generator: pooling range [" + std::to_string(options_.pooling_min) + ", " +
                                std::to_string(options_.pooling_max) + "] is empty or negative");
  }
  for (const DenseFeature& feature : options_.schema.dense) {
    if (feature.levels == 1 || feature.levels < 0) {
      throw std::invalid_argument("generator: dense feature '" + feature.name + "' needs 0 or at least 2 levels");
    }
  }
  for (size_t t = 0; t < options_.schema.sparse.size(); ++t) {
    const SparseField& field = options_.schema.sparse[t];
    if (field.rows < 1) throw std::invalid_argument("generator: field '" + field.name + "' has no rows");
    if (options_.distribution == IdDistribution::kZipf) zipf_.emplace_back(field.rows, options_.zipf_exponent);
    scramble_.emplace_back(field.rows, mix64(options_.seed ^ mix64(kScrambleStream + t)));
  }
}

int64_t SyntheticGenerator::draw_row(size_t table, Random& random) const {
  if (options_.distribution == IdDistribution::kUniform) {
    return static_cast<int64_t>(random.below(static_cast<uint64_t>(options_.schema.sparse[table].rows)));
  }
  return scramble_[table](zipf_[table](random) - 1);
}

Batch SyntheticGenerator::batch(int64_t index, int64_t samples) const {
  if (index < 0) throw std::invalid_argument("generator: negative batch index " + std::to_string(index));
  if (samples < 0 || samples > options_.batch_size) {
    throw std::invalid_argument("generator: " + std::to_string(samples) + " samples asked of a batch of " +
                                std::to_string(options_.batch_size));
  }
  const Schema& schema = options_.schema;
  Random random({options_.seed, kBatchStream, static_cast<uint64_t>(index)});
  BatchBuilder builder(static_cast<int64_t>(schema.sparse.size()), static_cast<int64_t>(schema.dense.size()));
  std::vector<float> dense(schema.dense.size());
  const uint64_t pooling_span = static_cast<uint64_t>(options_.pooling_max - options_.pooling_min) + 1;
  for (int64_t b = 0; b < samples; ++b) {
    for (size_t i = 0; i < dense.size(); ++i) dense[i] = draw_dense(schema.dense[i], random);
    builder.add_sample(random.uniform() < schema.click_rate ? 1.0f : 0.0f, dense);
    for (size_t t = 0; t < schema.sparse.size(); ++t) {
      const int64_t bag =
          options_.pooling_min + (pooling_span == 1 ? 0 : static_cast<int64_t>(random.below(pooling_span)));
      for (int64_t i = 0; i < bag; ++i) builder.add_index(static_cast<int64_t>(t), draw_row(t, random));
    }
  }
  return builder.finish();
}

}  // namespace cagr::data
