// Generated batches written in a text layout read back to the same labels, dense values and
// (hashed) ids.
#include <gtest/gtest.h>

#include <fstream>

#include "avazu_reader.hpp"
#include "criteo_reader.hpp"
#include "feature_hash.hpp"
#include "synthetic_generator.hpp"

namespace cagr::data {
namespace {

std::string hex8(int64_t id) {
  char text[32];
  std::snprintf(text, sizeof text, "%08llx", static_cast<unsigned long long>(id));
  return text;
}

void round_trip(const Schema& schema, const RowFormat& format, int64_t first_table_written) {
  GeneratorOptions options;
  options.schema = schema;
  options.batch_size = 101;
  options.seed = 17;
  const Batch batch = SyntheticGenerator(options).batch(3);
  std::string text;
  for (size_t i = 0; i < format.columns().size(); ++i) text += (i ? "," : "") + format.columns()[i];
  text += '\n';
  for (int64_t b = 0; b < batch.batch_size; ++b) format.write(batch, b, 1000 + b, text);
  const std::string path = testing::TempDir() + "/generated_" + schema.name + ".csv";
  std::ofstream(path) << text;

  TabularReader reader(path, format, {});
  const Batch read = *reader.next_batch(1000);
  ASSERT_EQ(read.batch_size, batch.batch_size);
  EXPECT_EQ(read.labels, batch.labels);
  for (size_t i = 0; i < batch.dense.size(); ++i) EXPECT_NEAR(read.dense[i], batch.dense[i], 1e-5) << i;
  for (int64_t t = first_table_written; t < batch.num_tables; ++t) {
    for (int64_t b = 0; b < batch.batch_size; ++b) {
      const int64_t id = batch.indices[batch.offsets[t * batch.batch_size + b]];
      EXPECT_EQ(read.indices[read.offsets[t * batch.batch_size + b]],
                feature_row(static_cast<uint32_t>(t), hex8(id), reader.table_rows()[t]));
    }
  }
}

TEST(TextLayout, GeneratedCriteoRowsReadBack) { round_trip(criteo_kaggle_schema(), criteo_format(), 0); }

// Avazu's table 0 (hour of day) is implied by the dense features, not written.
TEST(TextLayout, GeneratedAvazuRowsReadBack) { round_trip(avazu_schema(), avazu_format(), 1); }

TEST(TextLayout, MultiHotBatchesAndOtherSchemasAreRefused) {
  GeneratorOptions options;
  options.batch_size = 2;
  options.pooling_min = options.pooling_max = 2;
  const Batch multi_hot = SyntheticGenerator(options).batch(0);
  std::string line;
  EXPECT_THROW(criteo_format().write(multi_hot, 0, 0, line), std::invalid_argument);
  options.pooling_min = options.pooling_max = 1;
  EXPECT_THROW(avazu_format().write(SyntheticGenerator(options).batch(0), 0, 0, line), std::invalid_argument);
}

}  // namespace
}  // namespace cagr::data
