// graph_builder.cpp - layers with deterministic weights.
#include "graph_builder.hpp"

#include <cmath>
#include <cstring>

#include "shape_inference.hpp"

namespace cagr {

uint64_t WeightRng::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float WeightRng::uniform(float lo, float hi) {
  const double unit = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;  // [0, 1)
  return static_cast<float>(lo + (hi - lo) * unit);
}

GraphBuilder::GraphBuilder(std::string name, uint64_t seed) : rng_(seed) { graph_.name = std::move(name); }

std::string GraphBuilder::input(const std::string& name, cagr_dtype dtype, Dims dims) {
  graph_.add_input(name, dtype, std::move(dims));
  return name;
}

std::string GraphBuilder::random_constant(const std::string& name, Dims dims, float scale) {
  const int64_t n = element_count(dims);
  std::vector<std::byte> bytes(static_cast<size_t>(n) * sizeof(float));
  float* values = reinterpret_cast<float*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) values[i] = rng_.uniform(-scale, scale);
  graph_.add_constant(name, CAGR_DTYPE_F32, std::move(dims), std::move(bytes));
  return name;
}

std::string GraphBuilder::linear(const std::string& name, const std::string& x, int64_t in, int64_t out,
                                 const std::string& activation) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  const std::string w = random_constant(name + ".weight", {out, in}, bound);
  const std::string b = random_constant(name + ".bias", {out}, bound);
  return op(name, "linear", {x, w, b}, {{"activation", activation}});
}

std::string GraphBuilder::mlp(const std::string& name, const std::string& x, const std::vector<int64_t>& sizes,
                              const std::string& last_activation) {
  std::string h = x;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    const bool last = i + 2 == sizes.size();
    h = linear(name + "." + std::to_string(i), h, sizes[i], sizes[i + 1], last ? last_activation : "relu");
  }
  return h;
}

std::string GraphBuilder::embedding_bag(const std::string& name, const std::string& indices, const std::string& offsets,
                                        const std::vector<int64_t>& table_rows, int64_t dim, const std::string& mode) {
  std::vector<std::string> inputs{indices, offsets};
  for (size_t t = 0; t < table_rows.size(); ++t) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(table_rows[t]));
    inputs.push_back(random_constant(name + ".table" + std::to_string(t), {table_rows[t], dim}, bound));
  }
  return op(name, "embedding_bag", inputs, {{"mode", mode}});
}

std::string GraphBuilder::op(const std::string& name, const std::string& op_type, const std::vector<std::string>& inputs,
                             std::map<std::string, AttrValue> attrs) {
  op_with_outputs(name, op_type, inputs, std::move(attrs), {name});
  return name;
}

void GraphBuilder::op_with_outputs(const std::string& name, const std::string& op_type, const std::vector<std::string>& inputs,
                                   std::map<std::string, AttrValue> attrs, const std::vector<std::string>& outputs) {
  Node node;
  node.name = name;
  node.op = op_type;
  node.attrs = std::move(attrs);
  graph_.add_node(std::move(node), inputs, outputs);
}

void GraphBuilder::output(const std::string& tensor) { graph_.mark_output(tensor); }

Graph GraphBuilder::finish() {
  infer_and_annotate(graph_);
  return std::move(graph_);
}

}  // namespace cagr
