// The DLRM interaction and lookup fusions, the cross layer fusion and the linear chain (mlp) fusion:
// where they fire, where they must not, and that the fused graph computes what the unfused one computed.
#include "fusion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "graph_builder.hpp"
#include "model_zoo.hpp"
#include "plugin.hpp"
#include "reference_graph.hpp"
#include "shape_inference.hpp"

namespace cagr {
namespace {

int count_op(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.op == op; }));
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes())
    if (n.name == name) return n;
  throw std::out_of_range("no node " + name);
}

std::vector<std::string> input_names(const Graph& g, const Node& n) {
  std::vector<std::string> names;
  for (int id : n.inputs) names.push_back(g.tensor(id).name);
  return names;
}

// A DLRM's inputs at `batch`: dense [B, D], then one id per table and sample or, with `max_bag`
// above 1, bags of 0 .. max_bag ids.
std::vector<HostTensor> sample_inputs(const Graph& g, int64_t batch, uint64_t seed, uint64_t max_bag = 1) {
  WeightRng rng(seed);
  const Node* emb = nullptr;
  for (const Node& n : g.nodes())
    if (n.op == "embedding_bag") emb = &n;
  const int64_t tables = static_cast<int64_t>(emb->inputs.size()) - 2;
  HostTensor dense(CAGR_DTYPE_F32, {batch, g.tensor(g.tensor_id("dense")).dims[1]});
  for (int64_t i = 0; i < dense.numel(); ++i) dense.as<float>()[i] = rng.uniform(-1, 1);
  std::vector<int64_t> indices, offsets{0};
  for (int64_t t = 0; t < tables; ++t) {
    const auto rows = static_cast<uint64_t>(g.tensor(emb->inputs[static_cast<size_t>(2 + t)]).dims[0]);
    for (int64_t b = 0; b < batch; ++b) {
      const uint64_t length = max_bag == 1 ? 1 : rng.next_u64() % (max_bag + 1);
      for (uint64_t i = 0; i < length; ++i) indices.push_back(static_cast<int64_t>(rng.next_u64() % rows));
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  return {std::move(dense), HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}, indices),
          HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets)};
}

std::vector<Dims> dims_of(const std::vector<HostTensor>& inputs) {
  std::vector<Dims> d;
  for (const auto& t : inputs) d.push_back(t.dims);
  return d;
}

// The one device of a test plugin that offers some fused ops at every shape the op contract accepts
// and runs nothing (tests/core/offers_ops.cpp): no plugin built here offers dlrm_embedding_interaction.
Target offering(const std::string& plugin) {
  const std::shared_ptr<Plugin> p =
      Plugin::load(std::string(CAGR_OFFERING_PLUGIN_DIR) + "/libcagr_test_" + plugin + ".so");
  return Target{p, 0, p->device(0)};
}
const Target& offers_lookup_fusion() {  // dlrm_interaction and dlrm_embedding_interaction
  static const Target t = offering("offers_lookup_fusion");
  return t;
}
const Target& offers_interaction_only() {  // dlrm_interaction
  static const Target t = offering("offers_interaction");
  return t;
}
const Target& offers_every_fusion() {  // dlrm_interaction, dlrm_embedding_interaction and mlp
  static const Target t = offering("offers_every_fusion");
  return t;
}
const Target& offers_every_fusion_bf16() {  // the same, and with bf16 tensors
  static const Target t = offering("offers_every_fusion_bf16");
  return t;
}

// A small DLRM: a bottom linear to D = 8, one embedding_bag of three tables, the interaction chain
// and a top linear (so the chain's rows get padded).
Graph small_dlrm(const std::string& mode, int64_t self_interaction) {
  GraphBuilder b("small_dlrm", 3);
  b.input("dense", CAGR_DTYPE_F32, {kDynamic, 5});
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string bottom = b.linear("bottom", "dense", 5, 8, "relu");
  const std::string pooled = b.embedding_bag("embeddings", "indices", "offsets", {7, 50, 1}, 8, mode);
  const std::string row = b.op("bottom_as_feature", "reshape", {bottom}, {{"shape", std::vector<int64_t>{0, 1, 8}}});
  const std::string features = b.op("features", "concat", {row, pooled}, {{"axis", int64_t{1}}});
  const std::string dots = b.op("interaction", "dot_interaction", {features}, {{"self_interaction", self_interaction}});
  const std::string top = b.op("top_input", "concat", {bottom, dots}, {{"axis", int64_t{1}}});
  const int64_t pairs = self_interaction != 0 ? 10 : 6;  // among the 4 features
  b.output(b.linear("top", top, 8 + pairs, 3, "none"));
  return b.finish();
}

void expect_same_outputs(const std::vector<HostTensor>& got, const std::vector<HostTensor>& want,
                         const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ(got[o].dims, want[o].dims) << what << ", output " << o;
    for (int64_t i = 0; i < want[o].numel(); ++i)
      EXPECT_NEAR(got[o].as<float>()[i], want[o].as<float>()[i], 1e-5 * std::max(1.0f, std::abs(want[o].as<float>()[i])))
          << what << ", output " << o << " element " << i;
  }
}

TEST(Fusion, DlrmInteractionChainBecomesOneNodeOnEveryPlugin) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(7);
  const std::vector<Dims> dims = dims_of(sample_inputs(graph, 8, 1));
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, {target}, dims, &applied);
    // A device that also offers the lookup fused into the interaction gets that too (one node less),
    // and one that offers mlp gets the MLPs' linears fused (one line per mlp node).
    const int lookups_fused = count_op(fused, "dlrm_embedding_interaction");
    const int mlps = count_op(fused, "mlp");
    const int linears_fused = count_op(graph, "linear") - count_op(fused, "linear") - mlps;
    ASSERT_EQ(applied.size(), 1u + static_cast<size_t>(lookups_fused + mlps));
    EXPECT_EQ(count_op(fused, "dlrm_interaction") + lookups_fused, 1);
    EXPECT_EQ(count_op(fused, "dot_interaction"), 0);
    EXPECT_EQ(count_op(fused, "concat"), 0);
    EXPECT_EQ(count_op(fused, "reshape"), 0);
    EXPECT_EQ(fused.nodes().size(), graph.nodes().size() - 3 - static_cast<size_t>(lookups_fused + linears_fused));
    const Node& top = node_named(fused, "top_input");  // keeps the last concat's name and output
    EXPECT_EQ(top.op, lookups_fused == 1 ? "dlrm_embedding_interaction" : "dlrm_interaction");
    // The top MLP's input rows are padded to 16 bytes and its first layer's weights (input 1 of its
    // linear or mlp node) to match.
    const int64_t used = infer_shapes(graph, dims)[static_cast<size_t>(graph.tensor_id("top_input"))].dims[1];
    const int64_t padded = infer_shapes(fused, dims)[static_cast<size_t>(fused.tensor_id("top_input"))].dims[1];
    EXPECT_EQ(padded % 4, 0);
    EXPECT_EQ(padded, (used + 3) / 4 * 4);
    EXPECT_EQ(top.attr_int("pad_to", 1), used % 4 == 0 ? 1 : 4);
    const auto top_mlp = std::find_if(fused.nodes().begin(), fused.nodes().end(),
                                      [&](const Node& n) { return n.inputs[0] == top.outputs[0]; });
    ASSERT_NE(top_mlp, fused.nodes().end());
    EXPECT_EQ(fused.tensor(top_mlp->inputs[1]).dims[1], padded);
    EXPECT_EQ(fused.tensor(top.outputs[0]).name, graph.tensor(node_named(graph, "top_input").outputs[0]).name);
    EXPECT_EQ(fused.inputs().size(), graph.inputs().size());
    EXPECT_EQ(fused.outputs().size(), graph.outputs().size());
  }
}

TEST(Fusion, FusedGraphMatchesTheChainOnTheReference) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(11);
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  CostHintPlacement policy;
  Executor exec(graph, cpu, dims_of(sample_inputs(graph, 64, 2)), policy);
  ASSERT_EQ(exec.fusions().size(), 1u);
  EXPECT_NE(exec.plan_table().find("dlrm_interaction"), std::string::npos);
  for (int64_t batch : {1, 5, 64, 130}) {
    const auto inputs = sample_inputs(graph, batch, static_cast<uint64_t>(batch) + 3);
    const auto got = exec.run(inputs);
    const auto want = testing::run_reference(graph, inputs);  // the unfused chain
    ASSERT_EQ(got.size(), 1u);
    for (int64_t i = 0; i < want[0].numel(); ++i)
      EXPECT_NEAR(got[0].as<float>()[i], want[0].as<float>()[i], 1e-5 * std::max(1.0f, std::abs(want[0].as<float>()[i])))
          << "batch " << batch << " element " << i;
  }
}

TEST(Fusion, ChainWhoseIntermediateIsReadElsewhereStays) {
  Graph graph = zoo::find_model("dlrm_avazu_sample").build(7);
  graph.mark_output(graph.tensor(node_named(graph, "interaction").outputs[0]).name);  // the dots are wanted too
  std::vector<std::string> applied;
  const Graph same = fuse_for_targets(graph, testing::built_targets("cpu"), dims_of(sample_inputs(graph, 4, 1)), &applied);
  EXPECT_TRUE(applied.empty());
  EXPECT_EQ(count_op(same, "dlrm_interaction"), 0);
  EXPECT_EQ(same.nodes().size(), graph.nodes().size());
}

TEST(Fusion, NothingIsFusedThatNoTargetOffers) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(7);
  std::vector<std::string> applied;
  const Graph same = fuse_for_targets(graph, {}, dims_of(sample_inputs(graph, 4, 1)), &applied);
  EXPECT_TRUE(applied.empty());
  EXPECT_EQ(count_op(same, "dot_interaction"), 1);
}

// The lookup rule after the chain rule: embedding_bag + dlrm_interaction become one node that keeps
// the interaction's name, output and attributes and the embedding_bag's mode, and computes the same.
TEST(Fusion, EmbeddingBagFusesIntoTheInteractionWhereOffered) {
  for (const auto& [mode, self] : {std::pair<std::string, int64_t>{"sum", 0}, {"mean", 1}}) {
    SCOPED_TRACE("mode " + mode + ", self_interaction " + std::to_string(self));
    const Graph graph = small_dlrm(mode, self);
    std::vector<std::string> applied;
    const std::vector<Dims> dims = dims_of(sample_inputs(graph, 16, 1, 3));
    const Graph fused = fuse_for_targets(graph, {offers_lookup_fusion()}, dims, &applied);
    ASSERT_EQ(applied.size(), 2u);
    EXPECT_EQ(applied[1], "dlrm_embedding_interaction 'top_input': fused embedding_bag 'embeddings' into the interaction "
                          "(pooled embeddings stay on chip)");
    EXPECT_EQ(count_op(fused, "dlrm_embedding_interaction"), 1);
    EXPECT_EQ(count_op(fused, "embedding_bag"), 0);
    EXPECT_EQ(count_op(fused, "dlrm_interaction"), 0);
    EXPECT_EQ(fused.nodes().size(), 3u);  // bottom, the fused node, top
    const Node& node = node_named(fused, "top_input");
    EXPECT_EQ(node.op, "dlrm_embedding_interaction");
    EXPECT_EQ(fused.tensor(node.outputs[0]).name, "top_input");
    const Node& bag = node_named(graph, "embeddings");
    std::vector<std::string> want{"bottom", "indices", "offsets"};
    for (size_t t = 2; t < bag.inputs.size(); ++t) want.push_back(graph.tensor(bag.inputs[t]).name);
    EXPECT_EQ(input_names(fused, node), want);
    EXPECT_EQ(node.attr_string("mode", "?"), mode);
    EXPECT_EQ(node.attr_int("self_interaction", -1), self);
    EXPECT_EQ(node.attr_int("pad_to", -1), 4);  // the chain rule's: 8 + 6 or 8 + 10 columns, rows padded to 16 bytes

    for (int64_t batch : {1, 7, 37}) {
      const auto inputs_at = sample_inputs(graph, batch, static_cast<uint64_t>(batch) + 5, 3);  // empty bags among them
      expect_same_outputs(testing::run_reference(fused, inputs_at), testing::run_reference(graph, inputs_at),
                          "batch " + std::to_string(batch));
    }
  }
}

// The same on the sample DLRM (22 tables), after the chain rule has fused its interaction.
TEST(Fusion, SampleDlrmLookupFusionMatchesTheUnfusedGraph) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(5);
  std::vector<std::string> applied;
  const Graph fused = fuse_for_targets(graph, {offers_lookup_fusion()}, dims_of(sample_inputs(graph, 8, 1)), &applied);
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(count_op(fused, "dlrm_embedding_interaction"), 1);
  EXPECT_EQ(fused.nodes().size(), graph.nodes().size() - 4);
  for (int64_t batch : {1, 33}) {
    const auto inputs = sample_inputs(graph, batch, static_cast<uint64_t>(batch), 2);
    expect_same_outputs(testing::run_reference(fused, inputs), testing::run_reference(graph, inputs),
                        "batch " + std::to_string(batch));
  }
}

// Where no target offers the fused op, embedding_bag and dlrm_interaction stay two nodes.
TEST(Fusion, LookupStaysWhereOnlyTheInteractionIsOffered) {
  const Graph graph = small_dlrm("sum", 0);
  const std::vector<Dims> dims = dims_of(sample_inputs(graph, 16, 1));
  std::vector<Target> targets{offers_interaction_only()};
  for (const Target& cpu : testing::built_targets("cpu")) targets.push_back(cpu);  // refuses it too
  for (const Target& target : targets) {
    SCOPED_TRACE(target.label());
    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, {target}, dims, &applied);
    ASSERT_EQ(applied.size(), 1u);  // the chain
    EXPECT_EQ(count_op(fused, "dlrm_embedding_interaction"), 0);
    EXPECT_EQ(count_op(fused, "embedding_bag"), 1);
    EXPECT_EQ(node_named(fused, "top_input").op, "dlrm_interaction");
    EXPECT_EQ(fused.tensor(node_named(fused, "top_input").inputs[1]).name, "embeddings");
  }
}

// Pooled embeddings that something else reads (a graph output, another node) must be written, so
// the lookup stays even where the fused op is offered; the chain still fuses.
TEST(Fusion, LookupWhosePooledEmbeddingsAreReadElsewhereStays) {
  Graph as_output = small_dlrm("sum", 0);
  as_output.mark_output("embeddings");

  GraphBuilder b("second_reader", 3);
  b.input("dense", CAGR_DTYPE_F32, {kDynamic, 4});
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string pooled = b.embedding_bag("embeddings", "indices", "offsets", {9, 4}, 4, "sum");
  const std::string row = b.op("dense_as_feature", "reshape", {"dense"}, {{"shape", std::vector<int64_t>{0, 1, 4}}});
  const std::string features = b.op("features", "concat", {row, pooled}, {{"axis", int64_t{1}}});
  const std::string dots = b.op("interaction", "dot_interaction", {features});
  b.output(b.op("top_input", "concat", {"dense", dots}, {{"axis", int64_t{1}}}));
  b.output(b.op("pooled_sum", "reduce_sum", {pooled}, {{"axes", std::vector<int64_t>{1, 2}}}));
  const Graph second_reader = b.finish();

  for (const Graph* graph : std::vector<const Graph*>{&as_output, &second_reader}) {
    SCOPED_TRACE(graph->name);
    std::vector<std::string> applied;
    const std::vector<Dims> dims = dims_of(sample_inputs(*graph, 6, 2));
    const Graph fused = fuse_for_targets(*graph, {offers_lookup_fusion()}, dims, &applied);
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_EQ(count_op(fused, "dlrm_interaction"), 1);
    EXPECT_EQ(count_op(fused, "embedding_bag"), 1);
    EXPECT_EQ(count_op(fused, "dlrm_embedding_interaction"), 0);
  }
}

// A DLRM over the Criteo fields (tables of 50 rows, D = 4) whose bottom MLP has 4 linears
// (13-32-16-8-4, relu) and top MLP 3 (355-24-12-1, a sigmoid last).
Graph dlrm_with_deep_mlps() { return zoo::dlrm("deep_mlps", {"criteo", 4, 50, {32, 16, 8, 4}, {24, 12}, "sum"}, 3); }

// Rule 3: each MLP becomes one mlp node that keeps its last linear's name and output, reads X and
// every W and bias in order (the top MLP's first W padded by rule 1), and computes what the linears
// computed.
TEST(Fusion, DlrmMlpsBecomeOneMlpNodeEach) {
  const Graph graph = dlrm_with_deep_mlps();
  ASSERT_EQ(count_op(graph, "linear"), 7);
  std::vector<std::string> applied;
  const Graph fused = fuse_for_targets(graph, {offers_every_fusion()}, dims_of(sample_inputs(graph, 16, 1)), &applied);
  ASSERT_EQ(applied.size(), 4u);  // the interaction chain, the lookup, the two MLPs
  EXPECT_EQ(applied[2], "mlp 'bottom_mlp.3': fused linears 'bottom_mlp.0', 'bottom_mlp.1', 'bottom_mlp.2', 'bottom_mlp.3'");
  EXPECT_EQ(applied[3], "mlp 'prob': fused linears 'top_mlp.0', 'top_mlp.1', 'prob'");
  EXPECT_EQ(count_op(fused, "linear"), 0);
  EXPECT_EQ(count_op(fused, "mlp"), 2);
  EXPECT_EQ(fused.nodes().size(), 3u);  // bottom mlp, dlrm_embedding_interaction, top mlp

  const Node& bottom = node_named(fused, "bottom_mlp.3");
  EXPECT_EQ(bottom.op, "mlp");
  EXPECT_EQ(bottom.attr_string("activations", "?"), "relu,relu,relu,relu");
  EXPECT_EQ(fused.tensor(bottom.outputs[0]).name, "bottom_mlp.3");
  std::vector<std::string> want{"dense"};
  for (int l = 0; l < 4; ++l) {
    const std::string layer = "bottom_mlp." + std::to_string(l);
    want.insert(want.end(), {layer + ".weight", layer + ".bias"});
  }
  EXPECT_EQ(input_names(fused, bottom), want);

  const Node& top = node_named(fused, "prob");
  EXPECT_EQ(top.op, "mlp");
  EXPECT_EQ(top.attr_string("activations", "?"), "relu,relu,sigmoid");
  EXPECT_EQ(fused.tensor(top.outputs[0]).name, "prob");
  // The first W is rule 1's zero-padded copy: 4 + 27 * 26 / 2 = 355 columns, padded to 356.
  EXPECT_EQ(input_names(fused, top),
            (std::vector<std::string>{"top_input", "top_mlp.0.weight.padded_to_356", "top_mlp.0.bias", "top_mlp.1.weight",
                                      "top_mlp.1.bias", "prob.weight", "prob.bias"}));

  for (int64_t batch : {1, 7, 37}) {
    const auto inputs = sample_inputs(graph, batch, static_cast<uint64_t>(batch) + 9, 3);
    expect_same_outputs(testing::run_reference(fused, inputs), testing::run_reference(graph, inputs),
                        "batch " + std::to_string(batch));
  }
}

// Rule 4: where a target offers bf16 tensors, the top MLP's X - written by the fused lookup +
// interaction for the mlp alone - becomes bf16 (the interaction's output_dtype), and the graph
// computes what the f32 one does to bf16 precision (X rounded: 2^-9 relative per element); the
// bottom MLP's X, a graph input, stays f32.
TEST(Fusion, TopMlpInputBecomesBf16WhereATargetOffersIt) {
  const Graph graph = dlrm_with_deep_mlps();
  const std::vector<Dims> dims = dims_of(sample_inputs(graph, 16, 1));
  std::vector<std::string> applied;
  const Graph fused = fuse_for_targets(graph, {offers_every_fusion_bf16()}, dims, &applied);
  ASSERT_EQ(applied.size(), 5u);  // the interaction chain, the lookup, the two MLPs, the bf16 input
  EXPECT_EQ(applied[4], "bf16 tensor 'top_input': written by 'top_input', read by mlp 'prob'");
  EXPECT_EQ(node_named(fused, "top_input").attr_string("output_dtype", "?"), "bf16");
  const std::vector<TensorShape> shapes = infer_shapes(fused, dims);
  EXPECT_EQ(shapes[static_cast<size_t>(fused.tensor_id("top_input"))].dtype, CAGR_DTYPE_BF16);
  EXPECT_EQ(shapes[static_cast<size_t>(fused.tensor_id("dense"))].dtype, CAGR_DTYPE_F32);

  for (int64_t batch : {1, 7, 37}) {
    const auto inputs = sample_inputs(graph, batch, static_cast<uint64_t>(batch) + 9, 3);
    const auto got = testing::run_reference(fused, inputs), want = testing::run_reference(graph, inputs);
    ASSERT_EQ(got.size(), 1u);
    for (int64_t i = 0; i < want[0].numel(); ++i)
      EXPECT_NEAR(got[0].as<float>()[i], want[0].as<float>()[i], 1e-2 * std::max(1.0f, std::abs(want[0].as<float>()[i])))
          << "batch " << batch << " element " << i;
  }

  // A target without bf16 tensors keeps the f32 tensor.
  applied.clear();
  const Graph f32 = fuse_for_targets(graph, {offers_every_fusion()}, dims, &applied);
  EXPECT_EQ(applied.size(), 4u);
  EXPECT_EQ(node_named(f32, "top_input").attr_string("output_dtype", "f32"), "f32");
}

// Linears l0 -> l1 -> l2 -> l3 where l1's output is also read elsewhere (a graph output, another
// node) or l2 has no bias: a chain ends at l1, and the linears after it form a chain of their own
// where they are two or more; the fused graph computes what the linears computed.
TEST(Fusion, LinearChainEndsWhereItsIntermediateIsReadElsewhere) {
  for (const std::string brk : {"graph output", "second reader", "no bias"}) {
    SCOPED_TRACE(brk);
    GraphBuilder b("chain", 4);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 6});
    const std::string h1 = b.linear("l1", b.linear("l0", "x", 6, 9, "relu"), 9, 5, "none");
    const std::string h2 = brk != "no bias" ? b.linear("l2", h1, 5, 7, "relu")
                                            : b.op("l2", "linear", {h1, b.random_constant("l2.weight", {7, 5}, 0.5f)},
                                                   {{"activation", std::string("relu")}});
    b.output(b.linear("l3", h2, 7, 3, "sigmoid"));
    if (brk == "graph output") b.output(h1);
    if (brk == "second reader") b.output(b.op("side", "relu", {h1}));
    const Graph graph = b.finish();

    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, {offers_every_fusion()}, {{5, 6}}, &applied);
    std::vector<std::string> want{"mlp 'l1': fused linears 'l0', 'l1'"};
    if (brk != "no bias") want.push_back("mlp 'l3': fused linears 'l2', 'l3'");
    EXPECT_EQ(applied, want);
    EXPECT_EQ(node_named(fused, "l1").op, "mlp");
    EXPECT_EQ(node_named(fused, "l1").attr_string("activations", "?"), "relu,none");
    EXPECT_EQ(node_named(fused, "l3").op, brk == "no bias" ? "linear" : "mlp");
    EXPECT_EQ(fused.outputs().size(), graph.outputs().size());

    WeightRng rng(7);
    for (int64_t batch : {1, 13}) {
      HostTensor x(CAGR_DTYPE_F32, {batch, 6});
      for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = rng.uniform(-1, 1);
      expect_same_outputs(testing::run_reference(fused, {x}), testing::run_reference(graph, {x}),
                          "batch " + std::to_string(batch));
    }
  }
}

// Where no target offers mlp (or the CPU plugin, which refuses it), every linear stays.
TEST(Fusion, LinearsStayWhereNoTargetOffersMlp) {
  const Graph graph = dlrm_with_deep_mlps();
  std::vector<Target> targets{offers_lookup_fusion()};
  for (const Target& cpu : testing::built_targets("cpu")) targets.push_back(cpu);
  ASSERT_EQ(targets.size(), 2u);
  for (const Target& target : targets) {
    SCOPED_TRACE(target.label());
    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, {target}, dims_of(sample_inputs(graph, 16, 1)), &applied);
    EXPECT_EQ(count_op(fused, "mlp"), 0);
    EXPECT_EQ(count_op(fused, "linear"), 7);
    for (const std::string& line : applied) EXPECT_EQ(line.find("mlp"), std::string::npos) << line;
  }
}

// DCN-v2's cross network over x0 [B, 7]: a full-rank layer written x0 * layer(x) + x, one with the
// operands of the mul and the add swapped, and a low-rank one (V to rank 3 without bias, then U);
// `side` names what may break a layer's pattern.
Graph cross_network(const std::string& side) {
  GraphBuilder b("cross", 5);
  const std::string x0 = b.input("x0", CAGR_DTYPE_F32, {kDynamic, 7});
  const std::string p1 = b.op("m1", "mul", {x0, b.linear("w1", x0, 7, 7, side == "relu" ? "relu" : "none")});
  const std::string x1 = b.op("c1", "add", {p1, x0});
  const std::string p2 = b.op("m2", "mul", {b.linear("w2", x1, 7, 7, "none"), x0});
  const std::string x2 = b.op("c2", "add", {x1, p2});
  const std::string v = b.op("v3", "linear", {x2, b.random_constant("v3.weight", {3, 7}, 0.5f)});
  const std::string x3 = b.op("c3", "add", {b.op("m3", "mul", {x0, b.linear("u3", v, 3, 7, "none")}), x2});
  b.output(b.linear("out", x3, 7, 1, "sigmoid"));
  if (side == "product read elsewhere") b.output(p1);
  return b.finish();
}

// Each cross layer becomes one cross_layer node in its add's place (R an input of its own where it
// is not X), and the fused graph computes what the unfused one did: on the reference, and on every
// built plugin that offers the op (the CPU plugin's oneDNN post-ops, OpenCL's epilogue).
TEST(Fusion, CrossLayersBecomeOneNodeEach) {
  const Graph graph = cross_network("");
  const std::vector<Dims> dims{{9, 7}};
  std::vector<std::string> applied;
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const Graph fused = fuse_for_targets(graph, cpu, dims, &applied);
  EXPECT_EQ(applied, (std::vector<std::string>{"cross_layer 'c1': fused linear 'w1' + mul 'm1' + add",
                                               "cross_layer 'c2': fused linear 'w2' + mul 'm2' + add",
                                               "cross_layer 'c3': fused linear 'u3' + mul 'm3' + add"}));
  EXPECT_EQ(count_op(fused, "mul") + count_op(fused, "add"), 0);
  EXPECT_EQ(input_names(fused, node_named(fused, "c1")), (std::vector<std::string>{"x0", "x0", "w1.weight", "w1.bias"}));
  EXPECT_EQ(input_names(fused, node_named(fused, "c2")), (std::vector<std::string>{"x0", "c1", "w2.weight", "w2.bias"}));
  EXPECT_EQ(input_names(fused, node_named(fused, "c3")), (std::vector<std::string>{"x0", "v3", "u3.weight", "u3.bias", "c2"}));
  EXPECT_EQ(node_named(fused, "v3").op, "linear");  // V stays a linear: rule "cross" comes before "mlp"

  WeightRng rng(3);
  for (int64_t batch : {1, 9, 70}) {
    HostTensor x(CAGR_DTYPE_F32, {batch, 7});
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = rng.uniform(-1, 1);
    const std::vector<HostTensor> want = testing::run_reference(graph, {x});
    expect_same_outputs(testing::run_reference(fused, {x}), want, "reference, batch " + std::to_string(batch));
    for (const Target& target : testing::built_targets()) {
      CostHintPlacement policy;
      Executor exec(graph, {target}, {x.dims}, policy);
      EXPECT_EQ(exec.fusions().size(), 3u) << target.label();
      expect_same_outputs(exec.run({x}), want, target.label() + ", batch " + std::to_string(batch));
    }
  }
}

// A layer whose linear has an activation, or whose product is also a graph output, stays three
// nodes; so does every layer where no target offers cross_layer.
TEST(Fusion, CrossLayerStaysWhereItsPatternIsBroken) {
  for (const std::string side : {"relu", "product read elsewhere"}) {
    SCOPED_TRACE(side);
    const Graph graph = cross_network(side);
    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, testing::built_targets("cpu"), {{4, 7}}, &applied, {"cross"});
    EXPECT_EQ(applied.size(), 2u);
    EXPECT_EQ(node_named(fused, "c1").op, "add");
    EXPECT_EQ(node_named(fused, "m1").op, "mul");
    EXPECT_EQ(node_named(fused, "c2").op, "cross_layer");
  }
  std::vector<std::string> applied;
  fuse_for_targets(cross_network(""), {offers_every_fusion()}, {{4, 7}}, &applied);
  EXPECT_TRUE(applied.empty());
}

}  // namespace
}  // namespace cagr
