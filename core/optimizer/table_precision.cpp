// table_precision.cpp - embedding tables converted to a narrower dtype at load time (see the header).
#include "table_precision.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

#include "node_desc.hpp"
#include "shape_inference.hpp"

namespace cagr {

namespace {

// The table inputs of an embedding_bag node: after the indices and offsets, before the per-sample
// weights and padding rows its attributes add.
std::vector<size_t> table_inputs(const Node& node) {
  const size_t optional = (node.attr_int("weighted", 0) != 0 ? 1 : 0) + (node.attr_int("padded", 0) != 0 ? 1 : 0);
  std::vector<size_t> tables;
  for (size_t i = 2; i + optional < node.inputs.size(); ++i) tables.push_back(i);
  return tables;
}

// Why `node`'s tables are not converted to `dtype`, known without asking a plugin, or "" where they may be.
std::string unconvertible(const Graph& graph, const Node& node, cagr_dtype dtype) {
  for (size_t i : table_inputs(node)) {
    const TensorInfo& t = graph.tensor(node.inputs[i]);
    if (!t.is_constant()) return "table '" + t.name + "' is an input, not a constant";
    if (t.dtype != CAGR_DTYPE_F32) return "table '" + t.name + "' is " + dtype_name(t.dtype) + ", not f32";
    if (t.dims.size() != 2) return "table '" + t.name + "' is not 2-d";
    // A u8 row carries 8 bytes of scale and bias: with D <= 2 it is no smaller than the f32 row.
    if (dtype == CAGR_DTYPE_U8 && t.dims[1] + 8 >= 4 * t.dims[1])
      return "u8 rows of D + 8 = " + std::to_string(t.dims[1] + 8) + " bytes are no smaller than f32's " + std::to_string(4 * t.dims[1]);
  }
  return "";
}

// `table` stored as `dtype`: a new constant named after both (with a number where the model has a
// tensor of that name already).
int converted_tensor(Graph& graph, int table, cagr_dtype dtype) {
  const TensorInfo source = graph.tensor(table);
  std::string name = source.name + "." + dtype_name(dtype);
  for (int n = 1; graph.has_tensor(name); ++n) name = source.name + "." + dtype_name(dtype) + "." + std::to_string(n);
  const int64_t rows = source.dims[0], dim = source.dims[1];
  return graph.add_constant(name, dtype, {rows, dtype == CAGR_DTYPE_U8 ? dim + 8 : dim},
                            converted_table(reinterpret_cast<const float*>(source.data->data()), rows, dim, dtype));
}

}  // namespace

cagr_dtype table_precision_named(const std::string& name, const std::string& what) {
  for (cagr_dtype d : {CAGR_DTYPE_F32, CAGR_DTYPE_F16, CAGR_DTYPE_BF16, CAGR_DTYPE_U8})
    if (name == dtype_name(d)) return d;
  throw std::invalid_argument(what + " is '" + name + "': expected f32, f16, bf16 or u8 (row-wise quantised)");
}

void request_table_dtype(Graph& graph, cagr_dtype dtype) {
  for (Node& node : graph.nodes())
    if (node.op == "embedding_bag") node.table_dtype = dtype;
}

std::vector<std::byte> converted_table(const float* values, int64_t rows, int64_t dim, cagr_dtype dtype) {
  const int64_t row_bytes = dtype == CAGR_DTYPE_U8 ? dim + 8 : dim * 2;
  std::vector<std::byte> out(static_cast<size_t>(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = values + r * dim;
    std::byte* dst = out.data() + r * row_bytes;
    if (dtype != CAGR_DTYPE_U8) {
      for (int64_t d = 0; d < dim; ++d) {
        const uint16_t bits = dtype == CAGR_DTYPE_F16 ? abi::f16_from_float(row[d]) : abi::bf16_from_float(row[d]);
        std::memcpy(dst + 2 * d, &bits, 2);
      }
      continue;
    }
    const auto [lo, hi] = dim > 0 ? std::minmax_element(row, row + dim) : std::pair<const float*, const float*>{nullptr, nullptr};
    const float bias = dim > 0 ? *lo : 0.0f;
    const float scale = dim > 0 ? (*hi - *lo) / 255.0f : 0.0f;
    for (int64_t d = 0; d < dim; ++d) {
      const float code = scale > 0 ? std::nearbyint((row[d] - bias) / scale) : 0.0f;
      dst[d] = static_cast<std::byte>(static_cast<uint8_t>(std::clamp(code, 0.0f, 255.0f)));
    }
    std::memcpy(dst + dim, &scale, 4);
    std::memcpy(dst + dim + 4, &bias, 4);
  }
  return out;
}

std::vector<std::string> convert_tables(Graph& graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs) {
  std::vector<std::string> warnings;
  std::map<std::pair<int, cagr_dtype>, int> converted_tables;  // (f32 table, dtype) -> its converted tensor
  for (size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node node = graph.nodes()[n];
    if (node.op != "embedding_bag" || node.table_dtype == CAGR_DTYPE_F32) continue;
    const std::string wanted = dtype_name(node.table_dtype);
    // Converted before (a session compiling again from its converted graph, planned_executor.hpp).
    const std::vector<size_t> tables = table_inputs(node);
    if (!tables.empty() && std::all_of(tables.begin(), tables.end(), [&](size_t i) { return graph.tensor(node.inputs[i]).dtype == node.table_dtype; }))
      continue;
    auto stays_f32 = [&](const std::string& why) {
      warnings.push_back("embedding_bag '" + node.name + "': its tables stay f32, not " + wanted + ": " + why);
    };
    if (const std::string why = unconvertible(graph, node, node.table_dtype); !why.empty()) {
      stays_f32(why);
      continue;
    }
    Graph candidate = graph;
    Node& converted = candidate.nodes()[n];
    std::map<std::pair<int, cagr_dtype>, int> made = converted_tables;  // kept only where the node is
    for (size_t i : tables) {
      const auto key = std::make_pair(node.inputs[i], node.table_dtype);
      if (!made.count(key)) made[key] = converted_tensor(candidate, node.inputs[i], node.table_dtype);
      converted.inputs[i] = made[key];
    }
    abi::OwnedOpDesc desc = describe_node(converted, infer_shapes(candidate, example_inputs));
    std::string refusals;
    bool accepted = false;
    for (const Target& t : targets) {
      const OpSupport support = ask(t, desc.desc());
      accepted = accepted || support.supported;
      if (!support.supported) refusals += (refusals.empty() ? "" : "; ") + t.label() + " refuses it (" + support.reason + ")";
    }
    if (!accepted) {
      stays_f32(refusals.empty() ? "no device" : refusals);
      continue;
    }
    graph = std::move(candidate);
    converted_tables = std::move(made);
  }
  return warnings;
}

}  // namespace cagr
