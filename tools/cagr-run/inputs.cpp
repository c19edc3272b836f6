// inputs.cpp - turning data files and arrays into model inputs.
#include "inputs.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "shape_inference.hpp"

namespace cagr::run {
namespace {

template <class T>
HostTensor tensor_of(cagr_dtype dtype, Dims dims, const std::vector<T>& values) {
  return HostTensor::from(dtype, std::move(dims), values);
}

}  // namespace

std::vector<int64_t> model_table_rows(const Graph& graph) {
  for (const Node& node : graph.nodes()) {
    if (node.op != "embedding_bag") continue;
    std::vector<int64_t> rows;
    for (size_t i = 2; i < node.inputs.size(); ++i) rows.push_back(graph.tensor(node.inputs[i]).dims.at(0));
    return rows;
  }
  throw std::invalid_argument("model '" + graph.name + "' has no embedding_bag: cannot feed it click-log data");
}

std::vector<HostTensor> inputs_from_batch(const Graph& graph, const data::Batch& batch) {
  std::vector<HostTensor> inputs;
  for (int id : graph.inputs()) {
    const TensorInfo& info = graph.tensor(id);
    if (info.name == "dense") {
      inputs.push_back(tensor_of(CAGR_DTYPE_F32, {batch.batch_size, batch.num_dense}, batch.dense));
    } else if (info.name == "indices") {
      inputs.push_back(tensor_of(CAGR_DTYPE_I64, {static_cast<int64_t>(batch.indices.size())}, batch.indices));
    } else if (info.name == "offsets") {
      inputs.push_back(tensor_of(CAGR_DTYPE_I64, {static_cast<int64_t>(batch.offsets.size())}, batch.offsets));
    } else {
      throw std::invalid_argument("model input '" + info.name + "' is not one a data file provides (dense, indices, offsets)");
    }
    if (inputs.back().dtype != info.dtype)
      throw std::invalid_argument("model input '" + info.name + "' is " + dtype_name(info.dtype) + ", data gives " +
                                  dtype_name(inputs.back().dtype));
  }
  return inputs;
}

std::vector<HostTensor> inputs_from_arrays(const Graph& graph, const std::map<std::string, data::NpyArray>& arrays,
                                           const std::string& source) {
  std::vector<HostTensor> inputs;
  for (int id : graph.inputs()) {
    const TensorInfo& info = graph.tensor(id);
    const auto it = arrays.find(info.name);
    if (it == arrays.end()) throw std::invalid_argument(source + ": no array named '" + info.name + "' (a model input)");
    inputs.push_back(tensor_from_npy(it->second, info.name, source));
  }
  return inputs;
}

HostTensor tensor_from_npy(const data::NpyArray& array, const std::string& name, const std::string& source) {
  HostTensor h;
  h.dtype = data::npy_cagr_dtype(array.dtype);
  if (h.dtype == CAGR_DTYPE_INVALID)
    throw std::invalid_argument(source + ": array '" + name + "': dtype '" + array.dtype + "' has no CAGR equivalent");
  h.dims = array.shape;
  h.data = array.data;
  return h;
}

data::Batch random_batch(const Graph& graph, int64_t batch_size, uint64_t seed) {
  const std::vector<int64_t> rows = model_table_rows(graph);
  std::mt19937_64 rng(seed);
  data::Batch batch;
  batch.batch_size = batch_size;
  batch.num_tables = static_cast<int64_t>(rows.size());
  for (int id : graph.inputs())
    if (graph.tensor(id).name == "dense") batch.num_dense = graph.tensor(id).dims.at(1);
  batch.dense.resize(static_cast<size_t>(batch_size * batch.num_dense));
  for (float& v : batch.dense) v = static_cast<float>(rng() >> 40) / static_cast<float>(1 << 24);
  batch.offsets.push_back(0);
  for (int64_t r : rows) {
    for (int64_t b = 0; b < batch_size; ++b) {
      batch.indices.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(r)));
      batch.offsets.push_back(static_cast<int64_t>(batch.indices.size()));
    }
  }
  batch.labels.assign(static_cast<size_t>(batch_size), 0.0f);
  return batch;
}

namespace {

// For each integer graph input, the rows of the table that reads each of its columns, where the graph
// says so: an [B, T] id matrix turned table-major (transpose, then flattened) into a T-table bag with
// one id per bag (the importer's form of `emb[t](ids[:, t])`), or ids a constant table is gathered
// by directly (every column that table's rows). Elsewhere 0: unknown. The least over readers.
std::map<int, std::vector<int64_t>> column_rows(const Graph& graph) {
  std::map<int, std::vector<int64_t>> rows;
  auto bound = [&](int input, size_t column, int64_t table_rows) {
    const Dims& dims = graph.tensor(input).dims;
    std::vector<int64_t>& r = rows[input];
    r.resize(dims.size() == 2 && dims[1] > 0 ? static_cast<size_t>(dims[1]) : 1, 0);
    if (column >= r.size()) return;
    r[column] = r[column] == 0 ? table_rows : std::min(r[column], table_rows);
  };
  const std::vector<int>& inputs = graph.inputs();
  auto is_input = [&](int t) { return std::find(inputs.begin(), inputs.end(), t) != inputs.end(); };
  for (const Node& n : graph.nodes()) {
    if ((n.op == "gather" || n.op == "take") && n.inputs.size() == 2 && is_input(n.inputs[1]) && graph.tensor(n.inputs[0]).is_constant() &&
        n.attr_int("axis", 0) == 0) {
      const int64_t table_rows = graph.tensor(n.inputs[0]).dims.at(0);
      const Dims& dims = graph.tensor(n.inputs[1]).dims;
      for (size_t c = 0; c < (dims.size() == 2 && dims[1] > 0 ? static_cast<size_t>(dims[1]) : 1); ++c) bound(n.inputs[1], c, table_rows);
      continue;
    }
    if (n.op != "embedding_bag") continue;
    // values <- reshape(flat) <- transpose([1, 0]) <- input [B, T]
    const int flat = graph.producer(n.inputs.at(0));
    if (flat < 0 || graph.nodes()[static_cast<size_t>(flat)].op != "reshape") continue;
    const int turned = graph.producer(graph.nodes()[static_cast<size_t>(flat)].inputs.at(0));
    if (turned < 0 || graph.nodes()[static_cast<size_t>(turned)].op != "transpose") continue;
    const Node& t = graph.nodes()[static_cast<size_t>(turned)];
    const int ids = t.inputs.at(0);
    const Dims& dims = graph.tensor(ids).dims;
    const int64_t tables = static_cast<int64_t>(n.inputs.size()) - 2;
    if (!is_input(ids) || dims.size() != 2 || dims[1] != tables || t.attr_ints("perm", {1, 0}) != std::vector<int64_t>{1, 0} ||
        n.attr_int("weighted", 0) != 0 || n.attr_int("padded", 0) != 0)
      continue;
    for (int64_t c = 0; c < tables; ++c) {
      const TensorInfo& table = graph.tensor(n.inputs[static_cast<size_t>(2 + c)]);
      if (table.is_constant() && !table.dims.empty()) bound(ids, static_cast<size_t>(c), table.dims[0]);
    }
  }
  return rows;
}

}  // namespace

std::vector<HostTensor> random_inputs(const Graph& graph, int64_t batch_size, uint64_t seed) {
  // A click model of the zoo's layout (inputs dense, indices, offsets) gets random_batch's bags.
  const bool click_layout = std::all_of(graph.inputs().begin(), graph.inputs().end(), [&](int id) {
    const std::string& name = graph.tensor(id).name;
    return name == "dense" || name == "indices" || name == "offsets";
  });
  const bool has_bag = std::any_of(graph.nodes().begin(), graph.nodes().end(), [](const Node& n) { return n.op == "embedding_bag"; });
  if (click_layout && has_bag) return inputs_from_batch(graph, random_batch(graph, batch_size, seed));
  // Other models (an ONNX export's "ids" [B, fields], say, which reaches its tables through
  // transposes and reshapes): each column's ids spread over its table where column_rows finds which,
  // else below the smallest table's row count, in range for every table.
  int64_t smallest_table = 0;
  for (const Node& n : graph.nodes()) {
    size_t first = 0, last = 0;  // the node's table inputs
    if (n.op == "gather" || n.op == "take") first = last = 0;
    else if (n.op == "embedding_bag") first = 2, last = n.inputs.size() - 1;
    else continue;
    for (size_t i = first; i <= last && i < n.inputs.size(); ++i) {
      const TensorInfo& table = graph.tensor(n.inputs[i]);
      if (!table.is_constant() || table.dims.empty() || table.dims[0] <= 0) continue;
      smallest_table = smallest_table == 0 ? table.dims[0] : std::min(smallest_table, table.dims[0]);
    }
  }
  // Per-table bag offsets [T, B] (the DLRM reference's lS_o, read by table_offsets): one id per bag.
  std::set<int> bag_starts;
  for (const Node& n : graph.nodes())
    if (n.op == "table_offsets") bag_starts.insert(n.inputs.at(0));
  const std::map<int, std::vector<int64_t>> columns = column_rows(graph);
  std::mt19937_64 rng(seed);
  std::vector<HostTensor> inputs;
  for (int id : graph.inputs()) {
    const TensorInfo& info = graph.tensor(id);
    Dims dims = info.dims;
    for (int64_t& d : dims)
      if (d < 0) d = batch_size;
    const int64_t rows = smallest_table;
    const int64_t count = element_count(dims);
    if (info.dtype == CAGR_DTYPE_I64 || info.dtype == CAGR_DTYPE_I32) {
      if (rows <= 0) throw std::invalid_argument("model input '" + info.name + "': integers, and the model reads no table to draw ids for; give them with --inputs");
      std::vector<int64_t> ids(static_cast<size_t>(count));
      const int64_t row_length = dims.empty() ? 1 : dims.back();
      const auto known = columns.find(id);
      for (size_t i = 0; i < ids.size(); ++i) {
        const size_t column = known == columns.end() ? 0 : i % known->second.size();
        const int64_t limit = known != columns.end() && known->second[column] > 0 ? known->second[column] : rows;
        ids[i] = bag_starts.count(id) ? static_cast<int64_t>(i) % row_length : static_cast<int64_t>(rng() % static_cast<uint64_t>(limit));
      }
      if (info.dtype == CAGR_DTYPE_I64) {
        inputs.push_back(tensor_of(CAGR_DTYPE_I64, dims, ids));
      } else {
        inputs.push_back(tensor_of(CAGR_DTYPE_I32, dims, std::vector<int32_t>(ids.begin(), ids.end())));
      }
    } else if (info.dtype == CAGR_DTYPE_F32) {
      std::vector<float> values(static_cast<size_t>(count));
      for (float& v : values) v = static_cast<float>(rng() >> 40) / static_cast<float>(1 << 24);
      inputs.push_back(tensor_of(CAGR_DTYPE_F32, dims, values));
    } else {
      throw std::invalid_argument("model input '" + info.name + "' is " + dtype_name(info.dtype) + ": give it with --inputs");
    }
  }
  // Every dynamic dimension was taken as the batch; a model whose inputs relate otherwise (offsets of
  // B + 1 entries, say) says so here rather than in a node deep inside the run.
  std::vector<Dims> dims;
  for (const HostTensor& t : inputs) dims.push_back(t.dims);
  try {
    infer_shapes(graph, dims);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("random inputs, every dynamic dimension ") + std::to_string(batch_size) +
                                ", do not fit the model (" + e.what() + "); give its inputs with --inputs=FILE.npz");
  }
  return inputs;
}

data::NpyArray to_npy(const HostTensor& tensor) {
  const char* descr = data::npy_descr_of_dtype(tensor.dtype);
  if (descr == nullptr) throw std::invalid_argument(std::string("no .npy dtype for ") + dtype_name(tensor.dtype));
  return data::NpyArray{descr, tensor.dims, tensor.data};
}

}  // namespace cagr::run
