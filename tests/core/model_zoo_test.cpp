// The zoo's model structures (DeepFM, NGCF, DLRM variants) on every device built here, against the
// reference run of the same graph. Sizes are shrunk so the tests take seconds; the structure is the
// one cagr-zoo writes.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "executor.hpp"
#include "fusion.hpp"
#include "graph_builder.hpp"
#include "model_zoo.hpp"
#include "built_plugins.hpp"
#include "reference_graph.hpp"
#include "registry.hpp"
#include "targets.hpp"

namespace cagr {
namespace {

// Rows of the table that input `name` indexes: the first embedding_bag's smallest table for
// indices, the gather table for ids.
int64_t rows_for(const Graph& graph, const std::string& name) {
  int64_t rows = INT64_MAX;
  for (const Node& n : graph.nodes()) {
    if (n.op == "embedding_bag" && graph.tensor(n.inputs[0]).name == name)
      for (size_t i = 2; i < n.inputs.size(); ++i) rows = std::min(rows, graph.tensor(n.inputs[i]).dims[0]);
    if (n.op == "gather" && graph.tensor(n.inputs[1]).name == name) rows = std::min(rows, graph.tensor(n.inputs[0]).dims[0]);
  }
  return rows;
}

int64_t tables_of(const Graph& graph) {
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag") return static_cast<int64_t>(n.inputs.size()) - 2;
  return 0;
}

std::vector<HostTensor> random_inputs(const Graph& graph, int64_t batch, uint64_t seed) {
  WeightRng rng(seed);
  std::vector<HostTensor> inputs;
  for (int id : graph.inputs()) {
    const TensorInfo& info = graph.tensor(id);
    if (info.name == "dense") {
      HostTensor t(CAGR_DTYPE_F32, {batch, info.dims[1]});
      for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = rng.uniform(0, 1);
      inputs.push_back(std::move(t));
    } else if (info.name == "offsets") {
      std::vector<int64_t> offsets;
      for (int64_t i = 0; i <= tables_of(graph) * batch; ++i) offsets.push_back(i);
      inputs.push_back(HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets));
    } else {  // ids: one per bag (indices), per user, or per candidate item
      const int64_t count = info.name == "indices" ? tables_of(graph) * batch : info.name == "items" ? 3 * batch + 11 : batch;
      std::vector<int64_t> ids;
      for (int64_t i = 0; i < count; ++i) ids.push_back(static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(rows_for(graph, info.name))));
      inputs.push_back(HostTensor::from(CAGR_DTYPE_I64, {count}, ids));
    }
  }
  return inputs;
}

// DLRM-v2's inputs as MLPerf's multi-hot Criteo has them: dense [B, 13] and, for table t, exactly
// dlrm_v2_multi_hot_sizes()[t] ids per sample, uniform over its (capped) rows.
std::vector<HostTensor> multi_hot_inputs(const Graph& graph, int64_t batch, uint64_t seed) {
  WeightRng rng(seed);
  const std::vector<int64_t>& sizes = zoo::dlrm_v2_multi_hot_sizes();
  const Node* bag = nullptr;
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag") bag = &n;
  HostTensor dense(CAGR_DTYPE_F32, {batch, 13});
  for (int64_t i = 0; i < dense.numel(); ++i) dense.as<float>()[i] = rng.uniform(0, 1);
  std::vector<int64_t> indices, offsets{0};
  for (size_t t = 0; t < sizes.size(); ++t) {
    const auto rows = static_cast<uint64_t>(graph.tensor(bag->inputs[2 + t]).dims[0]);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < sizes[t]; ++i) indices.push_back(static_cast<int64_t>(rng.next_u64() % rows));
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  return {std::move(dense), HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}, indices),
          HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets)};
}

using InputMaker = std::vector<HostTensor> (*)(const Graph& graph, int64_t batch, uint64_t seed);

// The graph on each device built here against one reference run per batch.
void expect_matches_reference_on_every_device(const Graph& graph, InputMaker make_inputs = random_inputs,
                                              const std::vector<int64_t>& batches = {1, 8, 29}) {
  const std::vector<Target> targets = testing::built_targets();
  ASSERT_FALSE(targets.empty());
  std::vector<Dims> dims;
  for (const auto& t : make_inputs(graph, 8, 1)) dims.push_back(t.dims);
  std::vector<std::unique_ptr<Executor>> executors;
  for (const Target& target : targets) {
    CostHintPlacement policy;
    executors.push_back(std::make_unique<Executor>(graph, std::vector<Target>{target}, dims, policy));
  }
  for (int64_t batch : batches) {
    const auto inputs = make_inputs(graph, batch, static_cast<uint64_t>(batch) + 17);
    const auto want = testing::run_reference(graph, inputs);
    for (size_t d = 0; d < targets.size(); ++d) {
      SCOPED_TRACE(graph.name + " on " + targets[d].label() + " (" + targets[d].info.name + "), batch " + std::to_string(batch));
      const auto got = executors[d]->run(inputs);
      ASSERT_EQ(got.size(), want.size());
      for (size_t o = 0; o < got.size(); ++o) {
        ASSERT_EQ(got[o].dims, want[o].dims);
        ASSERT_EQ(got[o].dtype, want[o].dtype);
        for (int64_t i = 0; i < want[o].numel(); ++i) {
          if (want[o].dtype == CAGR_DTYPE_I64) {
            ASSERT_EQ(got[o].as<int64_t>()[i], want[o].as<int64_t>()[i]) << "output " << o << " at " << i;
          } else {
            const double a = got[o].as<float>()[i], b = want[o].as<float>()[i];
            ASSERT_LE(std::abs(a - b), 1e-5 * std::max(std::abs(b), 1e-1)) << "output " << o << " at " << i;
          }
        }
      }
    }
  }
}

TEST(ModelZoo, DeepFm) { expect_matches_reference_on_every_device(zoo::deepfm_avazu(3, 8, 500, {32, 16})); }

// NGCF scores candidates with a linear layer whose weights are the gathered item vectors: a
// linear with W given at run time, then top_k.
TEST(ModelZoo, NgcfTopK) { expect_matches_reference_on_every_device(zoo::ngcf(4, 300, 700, 24, 5)); }

TEST(ModelZoo, DlrmCriteoShape) {
  expect_matches_reference_on_every_device(zoo::dlrm("dlrm_criteo_small", {"criteo", 8, 300, {32, 8}, {32, 16}, "mean"}, 5));
}

// MLPerf's DLRM-v2 at its real widths (dim 128, three 3456-wide low-rank cross layers of rank 512,
// MLPs 13-512-256-128 and 3456-1024-1024-512-256-1), tables capped at 97 rows, fed MLPerf's
// multi-hot bags (214 ids per sample), batches of 3 and 17 (the reference's plain loops over these
// widths take most of the test's time): each cross layer becomes one cross_layer on the devices that
// offer it (the CPU plugin's oneDNN post-ops, OpenCL's epilogue; not the GPU plugin), and every device
// computes what the unfused reference graph does.
TEST(ModelZoo, DlrmV2MultiHot) {
  const Graph graph = zoo::dlrm_v2("dlrm_v2_test", {97}, 6);
  int64_t ids = 0;
  for (int64_t s : zoo::dlrm_v2_multi_hot_sizes()) ids += s;
  EXPECT_EQ(ids, 214);
  std::vector<Dims> dims;
  for (const auto& t : multi_hot_inputs(graph, 8, 1)) dims.push_back(t.dims);
  for (const Target& target : testing::built_targets()) {
    std::vector<std::string> applied;
    fuse_for_targets(graph, {target}, dims, &applied, {"cross"});
    const bool offers_cross_layer = target.plugin->name() != "cuda" && target.plugin->name() != "hip";  // OPS.md: the GPU plugin has none
    EXPECT_EQ(applied.size(), offers_cross_layer ? 3u : 0u) << target.label();
  }
  expect_matches_reference_on_every_device(graph, multi_hot_inputs, {3, 17});
}

TEST(ModelZoo, EveryZooEntryIsListedAndNamed) {
  std::set<std::string> names;
  for (const auto& m : zoo::models()) {
    EXPECT_FALSE(m.description.empty()) << m.name;
    EXPECT_TRUE(names.insert(m.name).second) << "duplicate " << m.name;
  }
  EXPECT_TRUE(names.count("dlrm_kaggle") && names.count("deepfm_avazu") && names.count("ngcf") && names.count("two_stage_ranker") &&
              names.count("dlrm_v2") && names.count("dlrm_v2_small"));
  EXPECT_THROW(zoo::find_model("nope"), std::invalid_argument);
}

}  // namespace
}  // namespace cagr
