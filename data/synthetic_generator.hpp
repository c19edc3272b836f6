// synthetic_generator.hpp - batches of made-up samples with a real data set's schema, at any scale.
//
// Ids follow a power law (Zipf, exponent configurable) or are uniform; a rank drawn from the law is
// mapped to a row through a per-table RowScramble, so popular rows are spread over the table.
// Fields may be multi-hot (bag sizes fixed or uniform in a range). Batch k depends only on the
// options and k: any batch can be made alone, in any order, on any platform, in memory bounded by
// one batch.
#ifndef CAGR_DATA_SYNTHETIC_GENERATOR_HPP_
#define CAGR_DATA_SYNTHETIC_GENERATOR_HPP_

#include <cstdint>
#include <vector>

#include "batch.hpp"
#include "row_scramble.hpp"
#include "schema.hpp"
#include "zipf_sampler.hpp"

namespace cagr::data {

enum class IdDistribution { kZipf, kUniform };

struct GeneratorOptions {
  Schema schema = criteo_kaggle_schema();
  int64_t batch_size = 2048;
  uint64_t seed = 0;
  IdDistribution distribution = IdDistribution::kZipf;
  double zipf_exponent = 1.05;
  // Ids per field and sample: uniform in [pooling_min, pooling_max]; equal for a fixed count.
  int64_t pooling_min = 1;
  int64_t pooling_max = 1;
};

class SyntheticGenerator {
 public:
  // Throws std::invalid_argument on inconsistent options.
  explicit SyntheticGenerator(GeneratorOptions options);

  // Batch number `index` (0, 1, ...).
  Batch batch(int64_t index) const { return batch(index, options_.batch_size); }
  // Its first `samples` samples (0 <= samples <= batch_size), e.g. for the end of a data set.
  Batch batch(int64_t index, int64_t samples) const;

  const GeneratorOptions& options() const { return options_; }

 private:
  int64_t draw_row(size_t table, Random& random) const;

  GeneratorOptions options_;
  std::vector<ZipfSampler> zipf_;      // per table, when distribution is kZipf
  std::vector<RowScramble> scramble_;  // per table
};

}  // namespace cagr::data

#endif  // CAGR_DATA_SYNTHETIC_GENERATOR_HPP_
