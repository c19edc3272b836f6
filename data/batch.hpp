// batch.hpp - a batch of recommendation samples in exactly the layout of the embedding_bag op
// (abi/OPS.md), so readers and the generator hand the runtime tensors it can use without copying.
#ifndef CAGR_DATA_BATCH_HPP_
#define CAGR_DATA_BATCH_HPP_

#include <cstdint>
#include <vector>

namespace cagr::data {

struct Batch {
  int64_t batch_size = 0;  // B
  int64_t num_tables = 0;  // T, one embedding table per sparse field
  int64_t num_dense = 0;
  // Bag b of table t is indices[offsets[t*B + b] .. offsets[t*B + b + 1]): table 0's bags for the
  // whole batch come first, then table 1's, and so on.
  std::vector<int64_t> indices;  // [L]
  std::vector<int64_t> offsets;  // [T*B + 1]
  std::vector<float> dense;      // [B, num_dense], row-major
  std::vector<float> labels;     // [B]
};

}  // namespace cagr::data

#endif  // CAGR_DATA_BATCH_HPP_
