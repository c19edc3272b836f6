// The executor end to end: the sample DLRM on the real plugins against the reference graph run,
// at several batch sizes, with nodes split across devices, and with bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>


#include "avazu_reader.hpp"
#include "error_of.hpp"
#include "executor.hpp"
#include "graph_builder.hpp"
#include "measurement_cache.hpp"
#include "model_zoo.hpp"
#include "node_desc.hpp"
#include "built_plugins.hpp"
#include "reference_graph.hpp"
#include "registry.hpp"
#include "sample_inputs.hpp"
#include "targets.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::max_relative_error;
using testing::random_inputs;

// Every device of every plugin built here runs the whole sample model, at batch sizes that differ
// from the compiled one, with stream capture on (replayed where the device records streams).
TEST(Executor, SampleDlrmMatchesReferenceOnEveryDevice) {
  const std::vector<Target> all = testing::built_targets();
  ASSERT_FALSE(testing::built_targets("cpu").empty()) << "the CPU plugin must load in " << CAGR_TEST_PLUGIN_DIR;
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  for (const Target& target : all) {
    SCOPED_TRACE(target.label() + " (" + target.info.name + ")");
    CostHintPlacement policy;
    Executor exec(graph, {target}, dims_of(random_inputs(graph, 64, 1)), policy);
    exec.set_graph_capture(true);
    EXPECT_EQ(exec.captures(), target.plugin->supports_capture() && target.info.kind == CAGR_DEVICE_GPU);
    for (int64_t batch : {1, 7, 64, 64, 333, 7}) {  // repeats replay a recorded graph
      const auto inputs = random_inputs(graph, batch, static_cast<uint64_t>(batch) * 31 + 5);
      const auto got = exec.run(inputs);
      const auto want = testing::run_reference(graph, inputs);
      ASSERT_EQ(got.size(), 1u);
      EXPECT_LT(max_relative_error(got[0], want[0]), 1e-5) << "batch " << batch;
    }
  }
}

// A pass over bound inputs leaves its outputs on the device; outputs() fetches them, and is refused
// between a bind and the pass over it (the buffers would hold the previous batch's values).
TEST(Executor, RunBoundLeavesOutputsForOutputs) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    CostHintPlacement policy;
    Executor exec(graph, {target}, dims_of(random_inputs(graph, 64, 1)), policy);
    exec.set_graph_capture(true);
    EXPECT_THROW(exec.outputs(), std::logic_error);
    for (int64_t batch : {64, 65, 65}) {
      const auto inputs = random_inputs(graph, batch, static_cast<uint64_t>(batch) + 11);
      exec.bind(inputs);
      EXPECT_THROW(exec.outputs(), std::logic_error);
      exec.run_bound();
      const auto got = exec.outputs();
      ASSERT_EQ(got.size(), 1u);
      EXPECT_EQ(got[0].dims, (Dims{batch, 1}));
      EXPECT_LT(max_relative_error(got[0], testing::run_reference(graph, inputs)[0]), 1e-5) << "batch " << batch;
    }
  }
}

TEST(Executor, RealAvazuRowsMatchReference) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  data::ReaderOptions options;
  std::vector<int64_t> rows;
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag")
      for (size_t i = 2; i < n.inputs.size(); ++i) rows.push_back(graph.tensor(n.inputs[i]).dims[0]);
  options.table_rows = rows;
  data::AvazuReader reader(std::string(CAGR_SHARED_DATA_DIR) + "/avazu_sample.csv", options);
  const auto batch = reader.next_batch(100);
  ASSERT_TRUE(batch.has_value());
  std::vector<HostTensor> inputs{
      HostTensor::from(CAGR_DTYPE_F32, {batch->batch_size, batch->num_dense}, batch->dense),
      HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(batch->indices.size())}, batch->indices),
      HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(batch->offsets.size())}, batch->offsets)};
  CostHintPlacement policy;
  Executor exec(graph, testing::built_targets("cpu"), dims_of(inputs), policy);
  const auto got = exec.run(inputs);
  const auto want = testing::run_reference(graph, inputs);
  EXPECT_LT(max_relative_error(got[0], want[0]), 1e-5);
  for (int64_t i = 0; i < got[0].numel(); ++i) {
    EXPECT_GT(got[0].as<float>()[i], 0.0f);
    EXPECT_LT(got[0].as<float>()[i], 1.0f);
  }
}

// Puts node i on targets[i % n]: every edge crosses devices, so every copy path is used.
class AlternatingPlacement : public PlacementPolicy {
 public:
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override {
    Placement p;
    CostHintPlacement fallback;
    const Placement cost = fallback.place(graph, shapes, targets);
    for (size_t n = 0; n < graph.nodes().size(); ++n) {
      const int t = static_cast<int>(n % targets.size());
      abi::OwnedOpDesc desc = describe_node(graph.nodes()[n], shapes);
      const OpSupport s = targets[static_cast<size_t>(t)].plugin->query(targets[static_cast<size_t>(t)].device, desc.desc());
      p.nodes.push_back(s.supported ? NodePlacement{t, 0, s.variants[0].name, 0} : cost.nodes[n]);
    }
    return p;
  }
};

TEST(Executor, NodesSplitAcrossDevicesMatchReference) {
  const std::vector<Target> all = testing::built_targets();
  if (all.size() < 2) GTEST_SKIP() << "only " << all.size() << " device among the built plugins: nothing to split across";
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(9);
  const auto inputs = random_inputs(graph, 19, 77);
  AlternatingPlacement policy;
  Executor exec(graph, all, dims_of(inputs), policy);
  std::set<int> used;
  for (const auto& n : exec.placement().nodes) used.insert(n.target);
  EXPECT_GE(used.size(), 2u);
  const auto got = exec.run(inputs);
  const auto want = testing::run_reference(graph, inputs);
  EXPECT_LT(max_relative_error(got[0], want[0]), 1e-5);
}

// Executors of one kernel pool (a session's plans for two batch ranges) share the kernels of nodes
// they run alike, run the same as executors of their own, and outlive each other: the kernels stay
// while an executor holds them.
TEST(Executor, ExecutorsOfOnePoolShareKernels) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    auto pool = std::make_shared<KernelPool>();
    CostHintPlacement policy;
    auto small = std::make_unique<Executor>(graph, std::vector<Target>{target}, dims_of(random_inputs(graph, 1, 1)), policy, pool);
    const size_t made = pool->made();
    EXPECT_GT(made, 0u);
    EXPECT_EQ(pool->shared(), 0u);
    Executor large(graph, {target}, dims_of(random_inputs(graph, 700, 1)), policy, pool);
    large.set_graph_capture(true);
    EXPECT_FALSE(large.captures()) << "an executor sharing kernels recorded a graph";
    EXPECT_GT(pool->shared(), 0u) << "no kernel of the batch-1 plan served the batch-700 plan";
    EXPECT_EQ(pool->made() + pool->shared(), 2 * made) << "the two plans have the same nodes";
    for (int64_t batch : {1, 700, 5}) {
      const auto inputs = random_inputs(graph, batch, static_cast<uint64_t>(batch) + 3);
      const auto want = testing::run_reference(graph, inputs);
      EXPECT_LT(max_relative_error(small->run(inputs)[0], want[0]), 1e-5) << "batch " << batch;
      EXPECT_LT(max_relative_error(large.run(inputs)[0], want[0]), 1e-5) << "batch " << batch;
    }
    small.reset();
    const auto inputs = random_inputs(graph, 9, 4);
    EXPECT_LT(max_relative_error(large.run(inputs)[0], testing::run_reference(graph, inputs)[0]), 1e-5);
  }
}

// ABI 1.5: every plugin built here (all made with the kit) refuses a constant lifetime it does not
// know, naming it, rather than guess whether it may keep the host's pointer.
TEST(KitPlugins, RefuseAConstantLifetimeTheyDoNotKnow) {
  abi::OwnedOpDesc op("relu");
  op.input(CAGR_DTYPE_F32, {2, 3}).output(CAGR_DTYPE_F32, {2, 3});
  const std::vector<float> data(6, 1.0f);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    auto constant = abi::make_struct<cagr_constant>();
    constant.input_index = 0;
    constant.data = data.data();
    constant.lifetime = 7;
    const std::string error = testing::error_of([&] { target.plugin->create_kernel(target.device, op.desc(), 0, {constant}); });
    EXPECT_NE(error.find("constant input 0 has lifetime 7, neither CAGR_CONSTANT_COPIED (0) nor CAGR_CONSTANT_BORROWED (1)"),
              std::string::npos) << error;
  }
}

// A pooled kernel serves another variant's request only where the weights are large and the
// request allows it (not while tuning), and then says which variant it is; expired kernels are
// made again.
TEST(KernelPool, OnlyLargeWeightsShareAcrossVariants) {
  abi::OwnedOpDesc op("embedding_bag");
  op.input(CAGR_DTYPE_I64, {-1}).output(CAGR_DTYPE_F32, {-1, 16});
  Target target;
  static const char weights[1] = {};
  int makes = 0;
  auto make = [&] {
    ++makes;
    return Kernel();
  };
  for (const uint64_t bytes : {uint64_t{1024}, KernelPool::kLargeWeightBytes}) {
    SCOPED_TRACE(bytes);
    KernelPool pool;
    const KernelPool::Request request{&target, &op.desc(), {weights}, bytes, {}};
    int variant = 2;
    std::string name = "gather";
    const std::shared_ptr<Kernel> first = pool.get(request, true, variant, name, make);
    variant = 0;
    name = "scalar";
    const std::shared_ptr<Kernel> tuned = pool.get(request, false, variant, name, make);
    EXPECT_NE(tuned, first) << "a tuner's request for another variant got the first";
    EXPECT_EQ(variant, 0);
    variant = 1;
    name = "other";
    const std::shared_ptr<Kernel> any = pool.get(request, true, variant, name, make);
    if (bytes >= KernelPool::kLargeWeightBytes) {
      EXPECT_TRUE(any == first || any == tuned);
      EXPECT_NE(variant, 1);
      EXPECT_NE(name, "other");
    } else {
      EXPECT_NE(any, first);
      EXPECT_EQ(variant, 1);
    }
  }
  EXPECT_EQ(makes, 2 + 3);
  KernelPool pool;
  const KernelPool::Request request{&target, &op.desc(), {weights}, 10, {}};
  int variant = 0;
  std::string name = "v";
  pool.get(request, true, variant, name, make);  // dropped at once: expired
  EXPECT_NE(pool.get(request, true, variant, name, make), nullptr);
  EXPECT_EQ(pool.made(), 2u);
  EXPECT_EQ(pool.shared(), 0u);
}

TEST(Executor, IndexOutOfRangeIsAClearErrorAndTheExecutorStaysUsable) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  auto inputs = random_inputs(graph, 8, 3);
  CostHintPlacement policy;
  Executor exec(graph, testing::built_targets("cpu"), dims_of(inputs), policy);
  auto bad = inputs;
  ASSERT_GT(bad[1].numel(), 0);
  bad[1].as<int64_t>()[0] = 1'000'000'000;
  try {
    exec.run(bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("embeddings"), std::string::npos) << e.what();
  }
  const auto got = exec.run(inputs);
  EXPECT_LT(max_relative_error(got[0], testing::run_reference(graph, inputs)[0]), 1e-5);
}

TEST(Executor, WrongInputsAreRefusedBeforeAnyKernelRuns) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  auto inputs = random_inputs(graph, 4, 3);
  CostHintPlacement policy;
  Executor exec(graph, testing::built_targets("cpu"), dims_of(inputs), policy);
  auto wrong_dtype = inputs;
  wrong_dtype[1] = HostTensor::from(CAGR_DTYPE_I32, {1}, std::vector<int32_t>{0});
  EXPECT_THROW(exec.run(wrong_dtype), std::invalid_argument);
  auto wrong_shape = inputs;
  wrong_shape[0] = HostTensor(CAGR_DTYPE_F32, {4, 5});
  EXPECT_THROW(exec.run(wrong_shape), std::invalid_argument);
  EXPECT_THROW(exec.run({}), std::invalid_argument);
}

// Tuning times every variant a device offers on the node's real inputs and keeps the fastest; the
// results stay those of the reference, and graph replays pick up the new kernels.
// Node by node, and every node at once (TuneOptions::together, the policy's check).
TEST(Executor, TuningChoosesAnOfferedVariantAndKeepsResults) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(11);
  for (const Target& target : testing::built_targets()) {
    for (const bool together : {false, true}) {
      SCOPED_TRACE(target.label() + " (" + target.info.name + ")" + (together ? ", every node at once" : ""));
      const auto inputs = random_inputs(graph, 37, 5);
      CostHintPlacement policy;
      Executor exec(graph, {target}, dims_of(inputs), policy);
      exec.set_graph_capture(true);
      exec.run(inputs);  // records a graph where the device can, which tuning must invalidate
      std::vector<std::string> progress;
      Executor::TuneOptions options{2, [&](const std::string& m) { progress.push_back(m); }};
      options.together = together;
      const auto report = exec.tune(inputs, options).report;
      ASSERT_FALSE(report.empty()) << "embedding_bag offers several variants on every plugin";
      EXPECT_GE(progress.size(), 2 * report.size()) << "a progress line per variant tried, at least two a tuned node";
      for (const std::string& line : report) {
        EXPECT_NE(line.find(" -> "), std::string::npos) << line;
        // Each variant's node time (device events on the CPU and GPU plugins, the host clock on
        // OpenCL's) is a positive, finite figure: "<variant> <us> us".
        std::istringstream words(line);
        std::vector<std::string> w{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
        int times = 0;
        for (size_t i = 1; i < w.size(); ++i) {
          if (w[i] != "us") continue;
          const double us = std::stod(w[i - 1]);
          EXPECT_TRUE(std::isfinite(us) && us > 0) << line;
          ++times;
        }
        EXPECT_GE(times, 2) << "a tuned node has at least two variants: " << line;
      }
      const Graph& placed = exec.graph();  // as fused
      for (size_t n = 0; n < placed.nodes().size(); ++n) {
        if (placed.is_view(static_cast<int>(n))) continue;
        const NodePlacement& p = exec.placement().nodes[n];
        const OpSupport offered =
            target.plugin->query(target.device, describe_node(placed.nodes()[n], infer_shapes(placed, dims_of(inputs))).desc());
        ASSERT_LT(static_cast<size_t>(p.variant), offered.variants.size());
        EXPECT_EQ(offered.variants[static_cast<size_t>(p.variant)].name, p.variant_name);
      }
      const auto again = random_inputs(graph, 37, 99);
      EXPECT_LT(max_relative_error(exec.run(again)[0], testing::run_reference(graph, again)[0]), 1e-5);
    }
  }
}

// Timings are cached on disk by device, op, shapes, attributes and variant: a second tuning of
// the model measures nothing and chooses the same, and the cache file lists what it holds.
TEST(Executor, TuningCachesItsMeasurements) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(11);
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const auto inputs = random_inputs(graph, 37, 5);
  const std::filesystem::path file = std::filesystem::path(::testing::TempDir()) / "tuning_cache" / "measurements.tsv";
  std::filesystem::remove_all(file.parent_path());
  CostHintPlacement policy;
  std::vector<std::string> first_report, second_report;
  std::vector<std::string> first_choice, second_choice;
  for (int run = 0; run < 2; ++run) {
    MeasurementCache cache(file);  // read anew from the file, as a second process would
    Executor exec(graph, cpu, dims_of(inputs), policy);
    auto report = exec.tune(inputs, {2, {}, &cache}).report;
    std::vector<std::string> choice;
    for (const NodePlacement& p : exec.placement().nodes) choice.push_back(p.variant_name);
    (run == 0 ? first_report : second_report) = report;
    (run == 0 ? first_choice : second_choice) = choice;
    if (run == 0) {
      EXPECT_GT(cache.size(), 0u);
    }
  }
  ASSERT_FALSE(first_report.empty());
  for (const std::string& line : first_report) EXPECT_EQ(line.find("(cached)"), std::string::npos) << line;
  for (const std::string& line : second_report) {
    // Every variant's figure comes from the cache.
    size_t figures = 0, cached = 0;
    for (size_t at = line.find(" us"); at != std::string::npos; at = line.find(" us", at + 1)) ++figures;
    for (size_t at = line.find("(cached)"); at != std::string::npos; at = line.find("(cached)", at + 1)) ++cached;
    EXPECT_EQ(cached, figures) << line;
  }
  EXPECT_EQ(second_choice, first_choice);
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cpu|"), std::string::npos);
  EXPECT_NE(text.find("embedding_bag"), std::string::npos) << text;
}

// Every node is timed on every device: from events around it where the plugin can time events
// (ABI 1.1: the CPU and GPU plugins), else by synchronising after it (OpenCL); a view, which runs
// nothing, is listed at 0 (ProfileListsViewsAtZero).
TEST(Executor, ProfileHasEveryNodeOnEveryDevice) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(1);
  const auto inputs = random_inputs(graph, 16, 3);
  ASSERT_FALSE(testing::built_targets("cpu").empty());
  EXPECT_TRUE(testing::built_targets("cpu").front().plugin->supports_event_timing());
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    CostHintPlacement policy;
    Executor exec(graph, {target}, dims_of(inputs), policy);
    exec.set_profiling(true);
    const auto first = exec.run(inputs);
    exec.run(inputs);
    EXPECT_LT(max_relative_error(first[0], testing::run_reference(graph, inputs)[0]), 1e-5);
    ASSERT_EQ(exec.profile().size(), exec.graph().nodes().size());
    for (const auto& p : exec.profile()) {
      EXPECT_EQ(p.device_timed, target.plugin->supports_event_timing()) << p.node;
      ASSERT_EQ(p.microseconds.size(), 2u) << p.node;
      EXPECT_GT(p.microseconds[0], 0.0) << p.node;
    }
    EXPECT_NE(exec.plan_table().find("embedding_bag"), std::string::npos);
  }
}

// A reshape of a computed tensor is a view: it runs nothing, so every run lists it at exactly 0,
// between nodes that take time.
TEST(Executor, ProfileListsViewsAtZero) {
  GraphBuilder b("views", 5);
  b.input("x", CAGR_DTYPE_F32, {kDynamic, 6});
  const std::string hidden = b.linear("hidden", "x", 6, 8, "relu");
  const std::string grid = b.op("as_grid", "reshape", {hidden}, {{"shape", std::vector<int64_t>{0, 2, 4}}});
  const std::string flat = b.op("as_rows", "reshape", {grid}, {{"shape", std::vector<int64_t>{0, 8}}});
  b.output(b.linear("out", flat, 8, 1, "sigmoid"));
  const Graph graph = b.finish();
  HostTensor x(CAGR_DTYPE_F32, {5, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = 0.1f * float(i % 7) - 0.3f;
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label());
    CostHintPlacement policy;
    Executor exec(graph, {target}, {x.dims}, policy);
    exec.set_profiling(true);
    exec.run({x});
    exec.run({x});
    int views = 0;
    for (const auto& p : exec.profile()) {
      ASSERT_EQ(p.microseconds.size(), 2u) << p.node;
      if (p.variant != "view (no copy)") {
        EXPECT_GT(p.microseconds[0], 0.0) << p.node;
        continue;
      }
      ++views;
      EXPECT_EQ(p.microseconds[0], 0.0) << p.node;
      EXPECT_EQ(p.microseconds[1], 0.0) << p.node;
    }
    EXPECT_EQ(views, 2);
  }
}

}  // namespace
}  // namespace cagr
