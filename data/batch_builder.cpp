#include "batch_builder.hpp"

#include <stdexcept>
#include <string>

namespace cagr::data {

BatchBuilder::BatchBuilder(int64_t num_tables, int64_t num_dense)
    : num_dense_(num_dense), table_indices_(num_tables), table_bag_ends_(num_tables) {
  if (num_tables < 0 || num_dense < 0) throw std::invalid_argument("BatchBuilder: negative table or dense count");
}

void BatchBuilder::add_sample(float label, std::span<const float> dense) {
  if (static_cast<int64_t>(dense.size()) != num_dense_) {
    throw std::invalid_argument("BatchBuilder: sample has " + std::to_string(dense.size()) +
                                " dense values, expected " + std::to_string(num_dense_));
  }
  labels_.push_back(label);
  dense_.insert(dense_.end(), dense.begin(), dense.end());
  for (size_t t = 0; t < table_indices_.size(); ++t) {
    table_bag_ends_[t].push_back(static_cast<int64_t>(table_indices_[t].size()));
  }
}

void BatchBuilder::add_index(int64_t table, int64_t row) {
  if (labels_.empty()) throw std::logic_error("BatchBuilder: add_index before add_sample");
  if (table < 0 || table >= num_tables()) {
    throw std::out_of_range("BatchBuilder: table " + std::to_string(table) + " out of range [0, " +
                            std::to_string(num_tables()) + ")");
  }
  table_indices_[table].push_back(row);
  ++table_bag_ends_[table].back();
}

Batch BatchBuilder::finish() {
  Batch batch;
  batch.batch_size = size();
  batch.num_tables = num_tables();
  batch.num_dense = num_dense_;
  size_t total = 0;
  for (const auto& indices : table_indices_) total += indices.size();
  batch.indices.reserve(total);
  batch.offsets.reserve(static_cast<size_t>(batch.num_tables * batch.batch_size + 1));
  batch.offsets.push_back(0);
  for (size_t t = 0; t < table_indices_.size(); ++t) {
    const int64_t base = static_cast<int64_t>(batch.indices.size());
    for (int64_t end : table_bag_ends_[t]) batch.offsets.push_back(base + end);
    batch.indices.insert(batch.indices.end(), table_indices_[t].begin(), table_indices_[t].end());
    table_indices_[t].clear();
    table_bag_ends_[t].clear();
  }
  batch.dense = std::move(dense_);
  batch.labels = std::move(labels_);
  dense_.clear();
  labels_.clear();
  return batch;
}

}  // namespace cagr::data
