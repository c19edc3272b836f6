// The DLRM interaction fusion: where it fires, where it must not, and that the fused graph computes
// what the chain computed.
#include "fusion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "graph_builder.hpp"
#include "model_zoo.hpp"
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

// The sample DLRM's inputs at `batch`: dense [B, 13], then one id per table and sample.
std::vector<HostTensor> sample_inputs(const Graph& g, int64_t batch, uint64_t seed) {
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
      indices.push_back(static_cast<int64_t>(rng.next_u64() % rows));
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

TEST(Fusion, DlrmInteractionChainBecomesOneNodeOnEveryPlugin) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(7);
  const std::vector<Dims> dims = dims_of(sample_inputs(graph, 8, 1));
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    std::vector<std::string> applied;
    const Graph fused = fuse_for_targets(graph, {target}, dims, &applied);
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_EQ(count_op(fused, "dlrm_interaction"), 1);
    EXPECT_EQ(count_op(fused, "dot_interaction"), 0);
    EXPECT_EQ(count_op(fused, "concat"), 0);
    EXPECT_EQ(count_op(fused, "reshape"), 0);
    EXPECT_EQ(fused.nodes().size(), graph.nodes().size() - 3);
    const Node& top = node_named(fused, "top_input");  // keeps the last concat's name and output
    EXPECT_EQ(top.op, "dlrm_interaction");
    // The top MLP's input rows are padded to 16 bytes and its first layer's weights to match.
    const int64_t used = infer_shapes(graph, dims)[static_cast<size_t>(graph.tensor_id("top_input"))].dims[1];
    const int64_t padded = infer_shapes(fused, dims)[static_cast<size_t>(fused.tensor_id("top_input"))].dims[1];
    EXPECT_EQ(padded % 4, 0);
    EXPECT_EQ(padded, (used + 3) / 4 * 4);
    EXPECT_EQ(top.attr_int("pad_to", 1), used % 4 == 0 ? 1 : 4);
    const Node& top_mlp = node_named(fused, "top_mlp.0");
    EXPECT_EQ(fused.tensor(top_mlp.inputs[1]).dims[1], padded);
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

}  // namespace
}  // namespace cagr
