// The stream schedule: independent branches get their own lanes, every edge between lanes is
// ordered by an event, and a single chain stays on one stream.
#include "stream_schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "graph_builder.hpp"
#include "model_zoo.hpp"

namespace cagr {
namespace {

int node_id(const Graph& g, const std::string& name) {
  for (size_t n = 0; n < g.nodes().size(); ++n)
    if (g.nodes()[n].name == name) return static_cast<int>(n);
  throw std::out_of_range("no node " + name);
}

// Every tensor a node reads from another node is ordered: the producer ran earlier on the same
// lane, or the reader waits for the producer's event.
void expect_every_edge_ordered(const Graph& g, const std::vector<int>& order, const StreamSchedule& s) {
  ASSERT_EQ(s.nodes.size(), g.nodes().size());
  std::vector<int> position(g.nodes().size());
  for (size_t i = 0; i < order.size(); ++i) position[static_cast<size_t>(order[i])] = static_cast<int>(i);
  for (int reader : order) {
    const NodeLane& r = s.nodes[static_cast<size_t>(reader)];
    EXPECT_GE(r.lane, 0);
    EXPECT_LT(r.lane, s.lanes);
    for (int in : g.nodes()[static_cast<size_t>(reader)].inputs) {
      for (size_t p = 0; p < g.nodes().size(); ++p) {
        const auto& outs = g.nodes()[p].outputs;
        if (std::find(outs.begin(), outs.end(), in) == outs.end()) continue;
        EXPECT_LT(position[p], position[static_cast<size_t>(reader)]);
        if (s.nodes[p].lane == r.lane) continue;
        EXPECT_NE(std::find(r.waits_for.begin(), r.waits_for.end(), static_cast<int>(p)), r.waits_for.end())
            << g.nodes()[static_cast<size_t>(reader)].name << " reads " << g.nodes()[p].name << " from another lane without waiting";
        EXPECT_TRUE(s.signals[p]) << g.nodes()[p].name;
      }
    }
  }
}

TEST(StreamSchedule, DlrmEmbeddingsRunBesideTheBottomMlp) {
  const Graph g = zoo::find_model("dlrm_avazu_sample").build(7);
  const std::vector<int> order = g.topological_order();
  const StreamSchedule s = schedule_streams(g, order, 4);
  EXPECT_EQ(s.lanes, 2);
  int embeddings = -1, first_linear = -1;
  for (int n : order) {
    const std::string& op = g.nodes()[static_cast<size_t>(n)].op;
    if (op == "embedding_bag") embeddings = n;
    if (op == "linear" && first_linear < 0) first_linear = n;
  }
  ASSERT_GE(embeddings, 0);
  ASSERT_GE(first_linear, 0);
  EXPECT_NE(s.nodes[static_cast<size_t>(embeddings)].lane, s.nodes[static_cast<size_t>(first_linear)].lane);
  EXPECT_TRUE(s.signals[static_cast<size_t>(embeddings)]);
  expect_every_edge_ordered(g, order, s);
}

TEST(StreamSchedule, AChainStaysOnOneLane) {
  GraphBuilder b("chain", 1);
  const std::string x = b.input("x", CAGR_DTYPE_F32, {-1, 5});
  b.output(b.mlp("mlp", x, {5, 7, 3}, "sigmoid"));
  const Graph g = b.finish();
  const StreamSchedule s = schedule_streams(g, g.topological_order(), 4);
  EXPECT_EQ(s.lanes, 1);
  for (const NodeLane& n : s.nodes) EXPECT_TRUE(n.waits_for.empty());
}

TEST(StreamSchedule, FanOutOpensLanesUpToTheLimitAndJoinsWithEvents) {
  GraphBuilder b("fan", 2);
  const std::string x = b.input("x", CAGR_DTYPE_F32, {-1, 4});
  std::vector<std::string> branches;
  for (int i = 0; i < 5; ++i) branches.push_back(b.linear("branch" + std::to_string(i), x, 4, 4, "relu"));
  std::string sum = branches[0];
  for (int i = 1; i < 5; ++i) sum = b.op("sum" + std::to_string(i), "add", {sum, branches[static_cast<size_t>(i)]});
  b.output(sum);
  const Graph g = b.finish();
  const std::vector<int> order = g.topological_order();

  const StreamSchedule wide = schedule_streams(g, order, 3);
  EXPECT_EQ(wide.lanes, 3);
  expect_every_edge_ordered(g, order, wide);
  EXPECT_NE(wide.nodes[static_cast<size_t>(node_id(g, "branch0"))].lane,
            wide.nodes[static_cast<size_t>(node_id(g, "branch1"))].lane);

  const StreamSchedule one = schedule_streams(g, order, 1);
  EXPECT_EQ(one.lanes, 1);
  for (const NodeLane& n : one.nodes) {
    EXPECT_EQ(n.lane, 0);
    EXPECT_TRUE(n.waits_for.empty());
  }
  EXPECT_THROW(schedule_streams(g, order, 0), std::invalid_argument);
}

// The executor queues the sample DLRM on two streams of one device, and on one stream per device
// when its nodes are spread over devices (covered for results by executor_test).
TEST(StreamSchedule, ExecutorUsesLanesOnlyOnOneDevice) {
  const Graph g = zoo::find_model("dlrm_avazu_sample").build(7);
  int64_t tables = 0;
  for (const Node& n : g.nodes())
    if (n.op == "embedding_bag") tables = static_cast<int64_t>(n.inputs.size()) - 2;
  const std::vector<Dims> dims{{8, g.tensor(g.tensor_id("dense")).dims[1]}, {8 * tables}, {8 * tables + 1}};
  for (const Target& target : testing::built_targets()) {
    CostHintPlacement policy;
    Executor exec(g, {target}, dims, policy);
    EXPECT_EQ(exec.stream_schedule().lanes, 2) << target.label();
    EXPECT_NE(exec.plan_table().find("lane"), std::string::npos);
  }
}

}  // namespace
}  // namespace cagr
