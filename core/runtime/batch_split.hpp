// batch_split.hpp - cutting a graph's inputs into sub-batches of rows, and joining the outputs: what
// lets a pipeline (pipeline_runner.hpp) or a memory budget run a batch as several smaller ones with
// the same answer.
//
// A graph input is cut one of three ways: by rows (its first dimension is the batch); as an
// embedding bag's offsets (`[T*B + 1]`, abi/OPS.md: a sub-batch of bags [b0, b1) is, for every
// table t, offsets[t*B + b0 .. t*B + b1] rebased to start where the previous table's bags ended);
// or as the values those offsets point into (the indices, and the per-sample weights): for every
// table the matching slice. A graph whose rows are not independent (an op that mixes rows, an input
// without a batch dimension, an output that is not one row per sample) is refused with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"

namespace cagr {

class BatchSplitter {
 public:
  // Throws std::invalid_argument naming the input, tensor or node where `graph` (as fused) cannot be
  // run in sub-batches, and why.
  explicit BatchSplitter(const Graph& graph);

  // The batch of `inputs` (graph input order): rows of the row inputs, bags per table of the
  // offsets; throws std::invalid_argument where they disagree or an offsets array is malformed.
  int64_t batch(const std::vector<HostTensor>& inputs) const;
  // Inputs for rows [begin, end) of the batch.
  std::vector<HostTensor> slice(const std::vector<HostTensor>& inputs, int64_t begin, int64_t end) const;
  // Whether graph tensor `id` holds one row per sample (first dimension the batch).
  bool is_rows(int tensor) const { return rows_.at(static_cast<size_t>(tensor)); }

 private:
  enum class Kind { rows, bag_offsets, bag_values };
  struct Input {
    Kind kind = Kind::rows;
    int64_t tables = 0;  // bag_offsets: T
    int offsets = -1;    // bag_values: the graph input index of its offsets
  };
  std::vector<std::string> names_;  // per graph input
  std::vector<Input> inputs_;       // per graph input
  std::vector<bool> rows_;          // per tensor
};

// Parts joined along their first dimension (equal dtype and other dimensions).
HostTensor concat_rows(const std::vector<const HostTensor*>& parts);

}  // namespace cagr
