// inputs.hpp - where cagr-run's model inputs come from: a click-log CSV, an .npz file, or random
// ids when neither is given (for timing).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "batch.hpp"
#include "graph.hpp"
#include "host_tensor.hpp"
#include "npy.hpp"

namespace cagr::run {

// The embedding tables the model's first embedding_bag reads: their row counts, in order.
std::vector<int64_t> model_table_rows(const Graph& graph);

// Model inputs (graph input order) from a Batch, by the names "dense", "indices", "offsets".
std::vector<HostTensor> inputs_from_batch(const Graph& graph, const data::Batch& batch);

// One array of an .npz as a tensor; a dtype CAGR lacks is an error naming `source` and `name`.
HostTensor tensor_from_npy(const data::NpyArray& array, const std::string& name, const std::string& source);

// Model inputs from named arrays (an .npz), by input name.
std::vector<HostTensor> inputs_from_arrays(const Graph& graph, const std::map<std::string, data::NpyArray>& arrays,
                                           const std::string& source);

// A batch of `batch_size` samples with uniformly random ids (one per table) and dense values.
data::Batch random_batch(const Graph& graph, int64_t batch_size, uint64_t seed);

// Random inputs for any model at `batch_size`: a click model of the zoo's layout (dense, indices,
// offsets) as random_batch gives them; otherwise every dynamic dimension is the batch, integer
// inputs are ids below the smallest table the model reads (gather, take, embedding_bag), so in range
// for any of them, per-table bag offsets [T, B] (table_offsets) one id per bag, and other values are
// uniform in [0, 1) (NGCF, an ONNX export's "ids", say). Throws, asking for the inputs, where such
// shapes do not fit the model (offsets of B + 1 entries, say).
std::vector<HostTensor> random_inputs(const Graph& graph, int64_t batch_size, uint64_t seed);

data::NpyArray to_npy(const HostTensor& tensor);

}  // namespace cagr::run
