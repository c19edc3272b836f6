#include "batch_npz.hpp"

#include "data_error.hpp"

namespace cagr::data {

namespace {

const NpyArray& find_array(const std::map<std::string, NpyArray>& arrays, const std::string& name, const char* dtype,
                           size_t rank, const std::string& what) {
  const auto it = arrays.find(name);
  if (it == arrays.end()) throw DataError(what + ": no array '" + name + "'");
  if (it->second.dtype != dtype || it->second.shape.size() != rank) {
    throw DataError(what + ": array '" + name + "' must be '" + dtype + "' of rank " + std::to_string(rank) +
                    ", is '" + it->second.dtype + "' of rank " + std::to_string(it->second.shape.size()));
  }
  return it->second;
}

}  // namespace

std::map<std::string, NpyArray> batch_to_arrays(const Batch& batch) {
  std::map<std::string, NpyArray> arrays;
  arrays["indices"] = NpyArray::from<int64_t>({static_cast<int64_t>(batch.indices.size())}, batch.indices);
  arrays["offsets"] = NpyArray::from<int64_t>({static_cast<int64_t>(batch.offsets.size())}, batch.offsets);
  arrays["dense"] = NpyArray::from<float>({batch.batch_size, batch.num_dense}, batch.dense);
  arrays["labels"] = NpyArray::from<float>({batch.batch_size}, batch.labels);
  return arrays;
}

Batch batch_from_arrays(const std::map<std::string, NpyArray>& arrays, const std::string& what) {
  const NpyArray& indices = find_array(arrays, "indices", "<i8", 1, what);
  const NpyArray& offsets = find_array(arrays, "offsets", "<i8", 1, what);
  const NpyArray& dense = find_array(arrays, "dense", "<f4", 2, what);
  const NpyArray& labels = find_array(arrays, "labels", "<f4", 1, what);

  Batch batch;
  batch.batch_size = labels.shape[0];
  batch.num_dense = dense.shape[1];
  if (dense.shape[0] != batch.batch_size) {
    throw DataError(what + ": 'dense' has " + std::to_string(dense.shape[0]) + " rows, 'labels' " +
                    std::to_string(batch.batch_size));
  }
  const int64_t bags = offsets.shape[0] - 1;
  if (bags < 0 || (batch.batch_size == 0 ? bags != 0 : bags % batch.batch_size != 0)) {
    throw DataError(what + ": 'offsets' has " + std::to_string(offsets.shape[0]) +
                    " entries, expected T*B+1 with B = " + std::to_string(batch.batch_size));
  }
  batch.num_tables = batch.batch_size == 0 ? 0 : bags / batch.batch_size;
  batch.indices = indices.values<int64_t>();
  batch.offsets = offsets.values<int64_t>();
  batch.dense = dense.values<float>();
  batch.labels = labels.values<float>();
  if (batch.offsets.front() != 0 || batch.offsets.back() != static_cast<int64_t>(batch.indices.size())) {
    throw DataError(what + ": 'offsets' must start at 0 and end at the length of 'indices' (" +
                    std::to_string(batch.indices.size()) + ")");
  }
  for (size_t i = 1; i < batch.offsets.size(); ++i) {
    if (batch.offsets[i] < batch.offsets[i - 1]) {
      throw DataError(what + ": 'offsets' decreases at position " + std::to_string(i));
    }
  }
  return batch;
}

}  // namespace cagr::data
