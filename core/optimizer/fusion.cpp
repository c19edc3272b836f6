// fusion.cpp - the DLRM interaction and lookup fusions, DCN-v2's cross layer and the linear chain
// fusion (fusion.hpp).
#include "fusion.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

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

  InteractionChain chain;
  chain.top = top;
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

std::vector<std::string> tensor_names(const Graph& g, const std::vector<int>& ids) {
  std::vector<std::string> names;
  for (int id : ids) names.push_back(g.tensor(id).name);
  return names;
}

// A node that a fusion changes in place: it keeps its name and outputs, so the tensors that later
// nodes and the graph's outputs read stay where they were.
struct NodeChange {
  std::string op;
  std::map<std::string, AttrValue> attrs;
  std::vector<std::string> inputs;  // by tensor name
};

// One fusion as a rewrite of the graph, and the line `applied` gets for it.
struct Fusion {
  std::string fused_node;  // the name of the node that becomes the fused op
  std::set<int> dropped;   // nodes whose work the fused node does
  std::map<int, NodeChange> changed;
  std::set<int> also_offered;  // changed nodes besides the fused one that a target must accept as changed
  std::vector<TensorInfo> new_constants;  // read by changed nodes
  std::string description;
};

// `g` with `f` applied. Every constant is kept: one that no node reads any more is never uploaded.
Graph rewritten(const Graph& g, const Fusion& f) {
  Graph out;
  out.name = g.name;
  for (int id : g.inputs()) {
    const TensorInfo& t = g.tensor(id);
    out.add_input(t.name, t.dtype, t.dims);
  }
  for (size_t id = 0; id < g.num_tensors(); ++id)
    if (g.tensor(static_cast<int>(id)).is_constant()) out.add_tensor(g.tensor(static_cast<int>(id)));
  for (const TensorInfo& c : f.new_constants)
    if (!out.has_tensor(c.name)) out.add_tensor(c);  // linears sharing a W share its padded copy
  for (size_t n = 0; n < g.nodes().size(); ++n) {
    if (f.dropped.count(static_cast<int>(n))) continue;
    Node node = g.nodes()[n];
    std::vector<std::string> inputs = tensor_names(g, node.inputs);
    if (const auto change = f.changed.find(static_cast<int>(n)); change != f.changed.end()) {
      node.op = change->second.op;
      node.attrs = change->second.attrs;
      inputs = change->second.inputs;
    }
    out.add_node(node, inputs, tensor_names(g, node.outputs));
  }
  for (int id : g.outputs()) out.mark_output(g.tensor(id).name);
  return out;
}

// The chain as one dlrm_interaction node where the top concat was; the linears reading its padded
// rows get zero-padded copies of their W.
Fusion chain_fusion(const Graph& g, const InteractionChain& chain) {
  const Node& top = g.nodes()[static_cast<size_t>(chain.top)];
  const Node& dots = g.nodes()[static_cast<size_t>(chain.dots)];
  const Node& features = g.nodes()[static_cast<size_t>(chain.features)];
  Fusion f;
  f.fused_node = top.name;
  f.dropped = {chain.dots, chain.features};
  if (!chain.reshape_shared) f.dropped.insert(chain.reshape);
  f.changed[chain.top] = {"dlrm_interaction",
                          {{"self_interaction", dots.attr_int("self_interaction", 0)}, {"pad_to", chain.pad_to}},
                          tensor_names(g, {top.inputs[0], features.inputs[1]})};
  for (int n : chain.padded_linears) {
    const Node& linear = g.nodes()[static_cast<size_t>(n)];
    const TensorInfo& w = g.tensor(linear.inputs[1]);
    TensorInfo padded = zero_padded(w, (w.dims[1] + chain.pad_to - 1) / chain.pad_to * chain.pad_to);
    NodeChange change{linear.op, linear.attrs, tensor_names(g, linear.inputs)};
    change.inputs[1] = padded.name;
    f.changed[n] = std::move(change);
    f.new_constants.push_back(std::move(padded));
  }
  f.description = "dlrm_interaction '" + top.name + "': fused reshape + concat + dot_interaction + concat" +
                  (chain.pad_to > 1 ? ", rows padded to a multiple of " + std::to_string(chain.pad_to) +
                                          " floats (zero weight columns for " +
                                          std::to_string(chain.padded_linears.size()) + " linear)"
                                    : "");
  return f;
}

std::optional<Fusion> fuse_interaction_chain(const Graph& g, int node, const std::vector<TensorShape>& shapes,
                                             const std::vector<int>& readers) {
  const std::optional<InteractionChain> chain = match_chain(g, node, shapes, readers);
  if (!chain) return std::nullopt;
  return chain_fusion(g, *chain);
}

// A dlrm_interaction whose pooled embeddings (input 1) come from an embedding_bag that nothing else
// reads -> one dlrm_embedding_interaction in the interaction's place: a device then pools each bag
// and interacts it on chip instead of writing [B, T, D] to memory and reading it back. The fused op
// takes f32 tables of the dense input's D only (OPS.md); other tables keep the two ops.
std::optional<Fusion> fuse_lookup_into_interaction(const Graph& g, int node, const std::vector<TensorShape>& shapes,
                                                   const std::vector<int>& readers) {
  const Node& interaction = g.nodes()[static_cast<size_t>(node)];
  if (interaction.op != "dlrm_interaction" || interaction.inputs.size() != 2) return std::nullopt;
  const int dense = interaction.inputs[0], pooled = interaction.inputs[1];
  const int lookup = g.producer(pooled);
  if (lookup < 0 || readers[static_cast<size_t>(pooled)] != 1) return std::nullopt;  // a graph output reads it too
  const Node& bag = g.nodes()[static_cast<size_t>(lookup)];
  if (bag.op != "embedding_bag" || bag.inputs.size() < 3) return std::nullopt;

  const Dims& d = shapes[static_cast<size_t>(dense)].dims;
  if (d.size() != 2) return std::nullopt;
  for (size_t t = 2; t < bag.inputs.size(); ++t) {
    const TensorShape& table = shapes[static_cast<size_t>(bag.inputs[t])];
    if (table.dtype != CAGR_DTYPE_F32 || table.dims.size() != 2 || table.dims[1] != d[1]) return std::nullopt;
  }

  std::vector<int> inputs{dense};
  inputs.insert(inputs.end(), bag.inputs.begin(), bag.inputs.end());  // indices, offsets, tables
  Fusion f;
  f.fused_node = interaction.name;
  f.dropped = {lookup};
  f.changed[node] = {"dlrm_embedding_interaction",
                     {{"mode", bag.attr_string("mode", "sum")},
                      {"self_interaction", interaction.attr_int("self_interaction", 0)},
                      {"pad_to", interaction.attr_int("pad_to", 1)}},
                     tensor_names(g, inputs)};
  f.description = "dlrm_embedding_interaction '" + interaction.name + "': fused embedding_bag '" + bag.name +
                  "' into the interaction (pooled embeddings stay on chip)";
  return f;
}

// A linear that can be a layer of an mlp: X, then W and a bias that are constants of the graph.
bool fusable_linear(const Graph& g, const Node& n) {
  return n.op == "linear" && n.inputs.size() == 3 && g.tensor(n.inputs[1]).is_constant() && g.tensor(n.inputs[2]).is_constant();
}

// The fusable linear that computes fusable linear `n`'s X for it alone (no other reader, not a graph
// output), or -1.
int previous_layer(const Graph& g, const Node& n, const std::vector<int>& readers) {
  const int x = n.inputs[0];
  const int producer = g.producer(x);
  if (producer < 0 || readers[static_cast<size_t>(x)] != 1 || !fusable_linear(g, g.nodes()[static_cast<size_t>(producer)]))
    return -1;
  return producer;
}

// The node computing `tensor` when it is read by one node input alone (not a graph output), else -1.
int sole_producer(const Graph& g, int tensor, const std::vector<int>& readers) {
  return readers[static_cast<size_t>(tensor)] == 1 ? g.producer(tensor) : -1;
}

// add(mul(x0, linear(X, W, b)), R), either operand of the mul and of the add, where the linear has
// constant W and bias and no activation, its output and the product are read only by the mul and
// the add, and x0, the linear's output and R all have one shape [M, N] -> one cross_layer node in
// the add's place (inputs x0, X, W, b, and R unless R is X): DCN-v2's cross layer, the product
// multiplied and added as it leaves the matmul instead of in two more passes over [M, N].
std::optional<Fusion> fuse_cross_layer(const Graph& g, int node, const std::vector<TensorShape>& shapes,
                                       const std::vector<int>& readers) {
  const Node& add = g.nodes()[static_cast<size_t>(node)];
  if (add.op != "add" || add.inputs.size() != 2) return std::nullopt;
  const Dims& rows = shapes[static_cast<size_t>(add.outputs[0])].dims;
  if (rows.size() != 2) return std::nullopt;
  auto same_rows = [&](int tensor) { return shapes[static_cast<size_t>(tensor)].dims == rows; };
  for (size_t a = 0; a < 2; ++a) {
    const int mul_index = sole_producer(g, add.inputs[a], readers);
    const int residual = add.inputs[1 - a];
    if (mul_index < 0 || !same_rows(residual)) continue;
    const Node& mul = g.nodes()[static_cast<size_t>(mul_index)];
    if (mul.op != "mul" || mul.inputs.size() != 2) continue;
    for (size_t m = 0; m < 2; ++m) {  // the linear is usually the mul's second operand: x0 * layer(x)
      const int linear_index = sole_producer(g, mul.inputs[1 - m], readers);
      const int x0 = mul.inputs[m];
      if (linear_index < 0 || !same_rows(x0) || !same_rows(mul.inputs[1 - m])) continue;
      const Node& linear = g.nodes()[static_cast<size_t>(linear_index)];
      if (!fusable_linear(g, linear) || linear.attr_string("activation", "none") != "none") continue;
      const int x = linear.inputs[0];
      std::vector<int> inputs{x0, x, linear.inputs[1], linear.inputs[2]};
      if (residual != x) inputs.push_back(residual);
      Fusion f;
      f.fused_node = add.name;
      f.dropped = {linear_index, mul_index};
      f.changed[node] = {"cross_layer", {}, tensor_names(g, inputs)};
      f.description = "cross_layer '" + add.name + "': fused linear '" + linear.name + "' + mul '" + mul.name + "' + add";
      return f;
    }
  }
  return std::nullopt;
}

// A chain of >= 2 fusable linears, each one's output read only by the next (as its X) -> one mlp
// node in the last linear's place, so that a device keeps the activations between the layers on
// chip. The rule matches at the chain's last linear and reaches back as far as the chain goes.
std::optional<Fusion> fuse_linear_chain(const Graph& g, int node, const std::vector<TensorShape>&,
                                        const std::vector<int>& readers) {
  const Node& last = g.nodes()[static_cast<size_t>(node)];
  if (!fusable_linear(g, last)) return std::nullopt;
  for (const Node& next : g.nodes())  // a layer in the middle of a longer chain: that chain's end matches
    if (fusable_linear(g, next) && previous_layer(g, next, readers) == node) return std::nullopt;
  std::vector<int> layers{node};
  for (int p = previous_layer(g, last, readers); p >= 0; p = previous_layer(g, g.nodes()[static_cast<size_t>(p)], readers))
    layers.insert(layers.begin(), p);
  if (layers.size() < 2) return std::nullopt;

  Fusion f;
  f.fused_node = last.name;
  std::vector<int> inputs{g.nodes()[static_cast<size_t>(layers[0])].inputs[0]};
  std::string activations, names;
  for (int n : layers) {
    const Node& linear = g.nodes()[static_cast<size_t>(n)];
    inputs.insert(inputs.end(), {linear.inputs[1], linear.inputs[2]});
    if (n != layers[0]) {
      activations += ",";
      names += ", ";
    }
    activations += linear.attr_string("activation", "none");
    names += "'" + linear.name + "'";
    if (n != node) f.dropped.insert(n);
  }
  f.changed[node] = {"mlp", {{"activations", activations}}, tensor_names(g, inputs)};
  f.description = "mlp '" + last.name + "': fused linears " + names;
  return f;
}

// An mlp whose X is a dlrm_embedding_interaction's f32 output, read by the mlp alone (so not a graph
// output either) -> that output in bf16 (attribute output_dtype). A target must accept both the mlp
// (with a bf16 X) and the changed interaction node.
std::optional<Fusion> narrow_mlp_input(const Graph& g, int node, const std::vector<TensorShape>&,
                                       const std::vector<int>& readers) {
  const Node& mlp = g.nodes()[static_cast<size_t>(node)];
  if (mlp.op != "mlp") return std::nullopt;
  const int x = mlp.inputs[0];
  const int producer = g.producer(x);
  if (producer < 0 || readers[static_cast<size_t>(x)] != 1) return std::nullopt;
  const Node& interaction = g.nodes()[static_cast<size_t>(producer)];
  if (interaction.op != "dlrm_embedding_interaction" || interaction.attr_string("output_dtype", "f32") != "f32")
    return std::nullopt;
  Fusion f;
  f.fused_node = mlp.name;
  NodeChange change{interaction.op, interaction.attrs, tensor_names(g, interaction.inputs)};
  change.attrs["output_dtype"] = std::string("bf16");
  f.changed[producer] = change;
  f.also_offered.insert(producer);
  f.description = "bf16 tensor '" + g.tensor(x).name + "': written by '" + interaction.name + "', read by mlp '" + mlp.name + "'";
  return f;
}

// Whether some target's plugin accepts node `name` of `g` at the example shapes.
bool offered_by_any(const Graph& g, const std::string& name, const std::vector<Target>& targets,
                    const std::vector<Dims>& example_inputs) {
  const auto node = std::find_if(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.name == name; });
  abi::OwnedOpDesc desc = describe_node(*node, infer_shapes(g, example_inputs));
  return std::any_of(targets.begin(), targets.end(),
                     [&](const Target& t) { return ask(t, desc.desc()).supported; });
}

// What fusing at node `node` would do, or nullopt where the rule does not match there.
using FusionRule = std::optional<Fusion> (*)(const Graph& g, int node, const std::vector<TensorShape>& shapes,
                                             const std::vector<int>& readers);

// `graph` with `rule` applied wherever it matches and a target offers the fused node. One fusion at a
// time: each changes the node indices and reader counts that the next match reads.
Graph apply_rule(Graph graph, FusionRule rule, const std::vector<Target>& targets,
                 const std::vector<Dims>& example_inputs, std::vector<std::string>* applied) {
  std::set<std::string> refused;  // nodes whose fused op no target accepts
  for (;;) {
    const std::vector<TensorShape> shapes = infer_shapes(graph, example_inputs);
    const std::vector<int> readers = reader_counts(graph);
    std::optional<Fusion> fusion;
    for (int n = 0; n < static_cast<int>(graph.nodes().size()) && !fusion; ++n)
      if (!refused.count(graph.nodes()[static_cast<size_t>(n)].name)) fusion = rule(graph, n, shapes, readers);
    if (!fusion) return graph;

    Graph candidate = rewritten(graph, *fusion);
    bool offered = offered_by_any(candidate, fusion->fused_node, targets, example_inputs);
    for (int node : fusion->also_offered)  // a changed node keeps its name
      offered = offered && offered_by_any(candidate, graph.nodes()[static_cast<size_t>(node)].name, targets, example_inputs);
    if (!offered) {
      refused.insert(fusion->fused_node);
      continue;
    }
    if (applied != nullptr) applied->push_back(fusion->description);
    graph = std::move(candidate);
  }
}

}  // namespace

const std::vector<std::string>& all_fusion_rules() {
  static const std::vector<std::string> rules{"interaction", "lookup_interaction", "cross", "mlp", "bf16_mlp_input"};
  return rules;
}

void check_fusion_rules(const std::vector<std::string>& rules) {
  for (const std::string& r : rules)
    if (std::find(all_fusion_rules().begin(), all_fusion_rules().end(), r) == all_fusion_rules().end())
      throw std::invalid_argument("fusion rule '" + r +
                                  "': the rules are interaction, lookup_interaction, cross, mlp and bf16_mlp_input");
}

Graph fuse_for_targets(Graph graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs,
                       std::vector<std::string>* applied, const std::vector<std::string>& rules) {
  check_fusion_rules(rules);
  // The chain first: the lookup rule fuses into the dlrm_interaction nodes that the chain rule makes.
  // The cross layers before the linear chains, so that a low-rank cross layer's U stays its linear
  // (not an mlp layer after V). The linears last, so that the top MLP's first layer is fused with
  // the zero columns the chain rule gives its weights.
  const std::pair<const char*, FusionRule> in_order[] = {{"interaction", fuse_interaction_chain},
                                                         {"lookup_interaction", fuse_lookup_into_interaction},
                                                         {"cross", fuse_cross_layer},
                                                         {"mlp", fuse_linear_chain},
                                                         {"bf16_mlp_input", narrow_mlp_input}};
  for (const auto& [name, rule] : in_order)
    if (std::find(rules.begin(), rules.end(), name) != rules.end())
      graph = apply_rule(std::move(graph), rule, targets, example_inputs, applied);
  return graph;
}

}  // namespace cagr
