// fusion.cpp - the DLRM interaction fusion (fusion.hpp).
#include "fusion.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "node_desc.hpp"
#include "shape_inference.hpp"

namespace cagr {
namespace {

// How many node inputs read each tensor; a graph output counts as one more reader.
std::vector<int> reader_counts(const Graph& g) {
  std::vector<int> readers(g.num_tensors(), 0);
  for (const Node& n : g.nodes())
    for (int in : n.inputs) ++readers[static_cast<size_t>(in)];
  for (int out : g.outputs()) ++readers[static_cast<size_t>(out)];
  return readers;
}

// A concat's axis as a non-negative position, for a result of `rank` dimensions.
int64_t concat_axis(const Node& n, size_t rank) {
  const int64_t axis = n.attr_int("axis", 1);
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// The nodes of one DLRM interaction chain, by index.
struct InteractionChain {
  int top = -1;       // concat(dense, dots) -> the top MLP's input; becomes the fused node
  int dots = -1;      // dot_interaction(features)
  int features = -1;  // concat(dense_as_row, pooled) on axis 1
  int reshape = -1;   // dense [B, D] -> [B, 1, D]
  bool reshape_shared = false;  // its output has other readers, so the reshape stays
  // Row padding of the fused output (pad_to): kPadTo when every reader is a linear with constant
  // weights, which then get as many zero columns; else 1.
  int64_t pad_to = 1;
  std::vector<int> padded_linears;
};

// Output rows a multiple of 4 floats (16 bytes) apart: what TF32 tensor-core GEMMs need to read
// them at full speed (the Kaggle DLRM's top layer: 72 -> 33 us at K = 367 -> 368, H100).
constexpr int64_t kPadTo = 4;

// The linears reading `tensor` as X with constant f32 [N, K] weights, or empty when any reader is
// something else (then the tensor's layout must stay as it is).
std::vector<int> linear_readers(const Graph& g, int tensor, int64_t k) {
  std::vector<int> linears;
  for (size_t n = 0; n < g.nodes().size(); ++n) {
    const Node& node = g.nodes()[n];
    if (std::find(node.inputs.begin(), node.inputs.end(), tensor) == node.inputs.end()) continue;
    if (node.op != "linear" || node.inputs.size() < 2 || node.inputs[0] != tensor) return {};
    const TensorInfo& w = g.tensor(node.inputs[1]);
    if (!w.is_constant() || w.dtype != CAGR_DTYPE_F32 || w.dims.size() != 2 || w.dims[1] != k) return {};
    linears.push_back(static_cast<int>(n));
  }
  return linears;
}

// `w` [N, K] with zero columns up to K' = `cols`.
TensorInfo zero_padded(const TensorInfo& w, int64_t cols) {
  const int64_t n = w.dims[0], k = w.dims[1];
  std::vector<std::byte> data(static_cast<size_t>(n * cols) * sizeof(float), std::byte{0});
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(data.data() + static_cast<size_t>(r * cols) * sizeof(float), w.data->data() + static_cast<size_t>(r * k) * sizeof(float),
                static_cast<size_t>(k) * sizeof(float));
  return TensorInfo{w.name + ".padded_to_" + std::to_string(cols), w.dtype, {n, cols},
                    std::make_shared<const std::vector<std::byte>>(std::move(data))};
}

std::optional<InteractionChain> match_chain(const Graph& g, int top, const std::vector<TensorShape>& shapes,
                                            const std::vector<int>& readers) {
  const Node& top_node = g.nodes()[static_cast<size_t>(top)];
  if (top_node.op != "concat" || top_node.inputs.size() != 2) return std::nullopt;
  const int dense = top_node.inputs[0], dots = top_node.inputs[1];
  const TensorShape& top_shape = shapes[static_cast<size_t>(top_node.outputs[0])];
  if (top_shape.dims.size() != 2 || concat_axis(top_node, 2) != 1) return std::nullopt;

  InteractionChain chain{top};
  chain.dots = g.producer(dots);
  if (chain.dots < 0 || readers[static_cast<size_t>(dots)] != 1) return std::nullopt;
  const Node& dot_node = g.nodes()[static_cast<size_t>(chain.dots)];
  if (dot_node.op != "dot_interaction") return std::nullopt;

  const int features = dot_node.inputs.at(0);
  chain.features = g.producer(features);
  if (chain.features < 0 || readers[static_cast<size_t>(features)] != 1) return std::nullopt;
  const Node& cat = g.nodes()[static_cast<size_t>(chain.features)];
  if (cat.op != "concat" || cat.inputs.size() != 2 || concat_axis(cat, 3) != 1) return std::nullopt;

  const int dense_row = cat.inputs[0], pooled = cat.inputs[1];
  chain.reshape = g.producer(dense_row);
  if (chain.reshape < 0) return std::nullopt;
  const Node& reshape = g.nodes()[static_cast<size_t>(chain.reshape)];
  if (reshape.op != "reshape" || reshape.inputs.at(0) != dense) return std::nullopt;
  chain.reshape_shared = readers[static_cast<size_t>(dense_row)] != 1;

  // The shapes the fused op's definition needs: dense [B, D] viewed as [B, 1, D], pooled [B, T, D].
  const Dims& d = shapes[static_cast<size_t>(dense)].dims;
  const Dims& r = shapes[static_cast<size_t>(dense_row)].dims;
  const Dims& p = shapes[static_cast<size_t>(pooled)].dims;
  if (d.size() != 2 || r != Dims{d[0], 1, d[1]} || p.size() != 3 || p[0] != d[0] || p[2] != d[1]) return std::nullopt;

  const int64_t cols = top_shape.dims[1];
  if (cols % kPadTo != 0 && readers[static_cast<size_t>(top_node.outputs[0])] > 0) {
    const bool is_output = std::find(g.outputs().begin(), g.outputs().end(), top_node.outputs[0]) != g.outputs().end();
    chain.padded_linears = is_output ? std::vector<int>{} : linear_readers(g, top_node.outputs[0], cols);
    if (!chain.padded_linears.empty()) chain.pad_to = kPadTo;
  }
  return chain;
}

// `g` with the chain replaced by one dlrm_interaction node where the top concat was.
Graph fused(const Graph& g, const InteractionChain& chain) {
  std::set<int> dropped{chain.dots, chain.features};
  if (!chain.reshape_shared) dropped.insert(chain.reshape);
  const Node& top = g.nodes()[static_cast<size_t>(chain.top)];
  const Node& dots = g.nodes()[static_cast<size_t>(chain.dots)];
  const Node& features = g.nodes()[static_cast<size_t>(chain.features)];

  Graph out;
  out.name = g.name;
  for (int id : g.inputs()) {
    const TensorInfo& t = g.tensor(id);
    out.add_input(t.name, t.dtype, t.dims);
  }
  for (size_t id = 0; id < g.num_tensors(); ++id)  // a weight replaced below is never uploaded: no node reads it
    if (g.tensor(static_cast<int>(id)).is_constant()) out.add_tensor(g.tensor(static_cast<int>(id)));
  std::map<int, std::string> padded_weight;  // linear node -> its zero-padded W
  for (int n : chain.padded_linears) {
    const TensorInfo& w = g.tensor(g.nodes()[static_cast<size_t>(n)].inputs[1]);
    const TensorInfo padded = zero_padded(w, (w.dims[1] + chain.pad_to - 1) / chain.pad_to * chain.pad_to);
    if (!out.has_tensor(padded.name)) out.add_tensor(padded);
    padded_weight[n] = padded.name;
  }
  auto names = [&](const std::vector<int>& ids) {
    std::vector<std::string> v;
    for (int id : ids) v.push_back(g.tensor(id).name);
    return v;
  };
  for (size_t n = 0; n < g.nodes().size(); ++n) {
    if (dropped.count(static_cast<int>(n))) continue;
    Node node = g.nodes()[n];
    std::vector<std::string> inputs = names(node.inputs);
    if (static_cast<int>(n) == chain.top) {
      node.op = "dlrm_interaction";
      node.attrs = {{"self_interaction", dots.attr_int("self_interaction", 0)}, {"pad_to", chain.pad_to}};
      inputs = {g.tensor(top.inputs[0]).name, g.tensor(features.inputs[1]).name};
    }
    if (padded_weight.count(static_cast<int>(n))) inputs[1] = padded_weight[static_cast<int>(n)];
    out.add_node(node, inputs, names(node.outputs));
  }
  for (int id : g.outputs()) out.mark_output(g.tensor(id).name);
  return out;
}

bool offered_by_any(const Graph& g, int node, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs) {
  const std::vector<TensorShape> shapes = infer_shapes(g, example_inputs);
  abi::OwnedOpDesc desc = describe_node(g.nodes()[static_cast<size_t>(node)], shapes);
  return std::any_of(targets.begin(), targets.end(),
                     [&](const Target& t) { return t.plugin->query(t.device, desc.desc()).supported; });
}

}  // namespace

Graph fuse_for_targets(Graph graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs,
                       std::vector<std::string>* applied) {
  std::set<std::string> refused;  // top concats whose fused node no target accepts
  for (;;) {
    const std::vector<TensorShape> shapes = infer_shapes(graph, example_inputs);
    const std::vector<int> readers = reader_counts(graph);
    std::optional<InteractionChain> chain;
    for (int n = 0; n < static_cast<int>(graph.nodes().size()) && !chain; ++n)
      if (!refused.count(graph.nodes()[static_cast<size_t>(n)].name)) chain = match_chain(graph, n, shapes, readers);
    if (!chain) return graph;

    const std::string name = graph.nodes()[static_cast<size_t>(chain->top)].name;
    Graph candidate = fused(graph, *chain);
    const int fused_node = static_cast<int>(
        std::find_if(candidate.nodes().begin(), candidate.nodes().end(), [&](const Node& n) { return n.name == name; }) -
        candidate.nodes().begin());
    if (!offered_by_any(candidate, fused_node, targets, example_inputs)) {
      refused.insert(name);
      continue;
    }
    if (applied != nullptr)
      applied->push_back("dlrm_interaction '" + name + "': fused reshape + concat + dot_interaction + concat" +
                         (chain->pad_to > 1 ? ", rows padded to a multiple of " + std::to_string(chain->pad_to) +
                                                  " floats (zero weight columns for " +
                                                  std::to_string(chain->padded_linears.size()) + " linear)"
                                            : ""));
    graph = std::move(candidate);
  }
}

}  // namespace cagr
