// schema.hpp - the feature layout of a click-through-rate data set: its sparse fields with their
// embedding table sizes, and its dense features. Readers hash into these table sizes by default and
// the synthetic generator draws ids from them, so both produce batches for the same model.
#ifndef CAGR_DATA_SCHEMA_HPP_
#define CAGR_DATA_SCHEMA_HPP_

#include <cstdint>
#include <string>
#include <vector>

namespace cagr::data {

struct SparseField {
  std::string name;
  int64_t rows;  // embedding table size
};

struct DenseFeature {
  std::string name;
  // How the generator draws it. 0: log(1 + n) of a count n (Criteo's transform); k > 1: one of the
  // k evenly spaced values i / (k - 1), i = 0 .. k-1 (Avazu's hour of day, day of week).
  int levels;
};

struct Schema {
  std::string name;
  std::vector<SparseField> sparse;
  std::vector<DenseFeature> dense;
  double click_rate;  // fraction of positive labels the generator makes
};

// Criteo Display Advertising Challenge (Kaggle): 13 dense, 26 sparse fields with the table sizes of
// the DLRM Kaggle configuration.
const Schema& criteo_kaggle_schema();
// Avazu: 22 sparse fields (hour of day + 21 categorical columns), 2 dense; table sizes are the
// fields' distinct-value counts in the full training set plus one "missing" row.
const Schema& avazu_schema();
// "criteo" or "avazu"; throws std::invalid_argument for any other name.
const Schema& schema_by_name(const std::string& name);

// The table sizes of a schema, in field order.
std::vector<int64_t> table_rows(const Schema& schema);

}  // namespace cagr::data

#endif  // CAGR_DATA_SCHEMA_HPP_
