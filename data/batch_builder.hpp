// batch_builder.hpp - assembles a Batch sample by sample.
//
// Samples arrive one at a time, but a Batch stores indices table-major (all of table 0's bags,
// then table 1's...), so the builder keeps one growing list per table and concatenates them once
// in finish().
#ifndef CAGR_DATA_BATCH_BUILDER_HPP_
#define CAGR_DATA_BATCH_BUILDER_HPP_

#include <cstdint>
#include <span>
#include <vector>

#include "batch.hpp"

namespace cagr::data {

class BatchBuilder {
 public:
  BatchBuilder(int64_t num_tables, int64_t num_dense);

  // Starts a sample with empty bags; `dense` must hold num_dense values.
  void add_sample(float label, std::span<const float> dense);
  // Appends `row` to the current sample's bag of `table`.
  void add_index(int64_t table, int64_t row);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  int64_t num_tables() const { return static_cast<int64_t>(table_indices_.size()); }
  int64_t num_dense() const { return num_dense_; }

  // The samples added since the last finish(), as a Batch; the builder is empty afterwards.
  Batch finish();

 private:
  int64_t num_dense_;
  std::vector<std::vector<int64_t>> table_indices_;   // per table, its indices in sample order
  std::vector<std::vector<int64_t>> table_bag_ends_;  // per table, each sample's end in table_indices_
  std::vector<float> dense_;
  std::vector<float> labels_;
};

}  // namespace cagr::data

#endif  // CAGR_DATA_BATCH_BUILDER_HPP_
