// batch_split.hpp - cutting a graph's inputs into sub-batches of rows, and joining the outputs: what
// lets a pipeline (pipeline_runner.hpp) or a memory budget run a batch as several smaller ones with
// the same answer.
//
// A graph input is cut one of three ways: along its batch axis (its first dimension that varies per
// run); as an embedding bag's offsets (`[T*B + 1]`, abi/OPS.md: a sub-batch of bags [b0, b1) is, for
// every table t, offsets[t*B + b0 .. t*B + b1] rebased to start where the previous table's bags
// ended); or as the values those offsets point into (the indices, and the per-sample weights): for
// every table the matching slice.
//
// The batch need not stay on the first axis inside the graph: a model exported the usual way from
// PyTorch turns its ids [B, 26] table-major ([26, B], then flat) before the lookup, and folds
// [B, L, D] into [B*L, D] rows for a linear. The splitter follows the batch through the graph: for
// every tensor, the axis that holds it and how many entries each sample owns there (a reshape,
// a transpose and the ops' shapes say), or that the samples are interleaved (a table-major
// flattening, which only an embedding bag's ids and offsets may be). A graph whose samples do not
// stay apart (an op that mixes entries along the batch axis, an input without a batch dimension, an
// output whose samples are interleaved) is refused with the node and the reason.
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
  // Inputs for samples [begin, end) of the batch.
  std::vector<HostTensor> slice(const std::vector<HostTensor>& inputs, int64_t begin, int64_t end) const;
  // Graph output `output` (graph output order) of the whole batch from its sub-batches' parts, in
  // sub-batch order.
  HostTensor join(size_t output, const std::vector<const HostTensor*>& parts) const;

 private:
  enum class Kind { rows, bag_offsets, bag_values };
  struct Input {
    Kind kind = Kind::rows;
    int axis = 0;        // rows: the batch axis
    int64_t tables = 0;  // bag_offsets: T
    int offsets = -1;    // bag_values: the graph input index of its offsets
  };
  std::vector<std::string> names_;  // per graph input
  std::vector<Input> inputs_;       // per graph input
  std::vector<int> output_axes_;    // per graph output: the axis its samples are stacked along
};

// Parts joined along `axis` (equal dtype, rank and other dimensions).
HostTensor concat_along(const std::vector<const HostTensor*>& parts, int axis);

}  // namespace cagr
