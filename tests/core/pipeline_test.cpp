// The cross-device pipeline (docs/PIPELINE_SCHEDULE.md): the zoo's DLRM cut into a CPU-plugin stage
// and an OpenCL (PoCL) stage and streamed through them in sub-batches gives the unpipelined run's
// outputs bit for bit, its recorded timeline shows the stages overlapping, odd batches and bad
// sub-batch counts are handled, the schedule survives a plan file, the sub-batch choice follows
// the cost model, and graphs whose rows are not independent are refused with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "batch_split.hpp"
#include "built_plugins.hpp"
#include "error_of.hpp"
#include "executor.hpp"
#include "fusion.hpp"
#include "graph_builder.hpp"
#include "model_zoo.hpp"
#include "pipeline_runner.hpp"
#include "pipeline_schedule.hpp"
#include "plan.hpp"
#include "sample_inputs.hpp"
#include "split_placement.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::error_of;
using testing::random_inputs;

bool bitwise_equal(const HostTensor& a, const HostTensor& b) {
  return a.dtype == b.dtype && a.dims == b.dims && a.data.size() == b.data.size() &&
         (a.data.empty() || std::memcmp(a.data.data(), b.data.data(), a.data.size()) == 0);
}

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<Target> cpu = testing::built_targets("cpu"), opencl = testing::built_targets("opencl");
    if (cpu.empty() || opencl.empty()) GTEST_SKIP() << "needs the CPU plugin and an OpenCL device (PoCL) from " << CAGR_TEST_PLUGIN_DIR;
    targets_ = {cpu.front(), opencl.front()};
  }
  // The sample DLRM placed with its embedding on targets_[first] and its MLPs after it on the other.
  std::unique_ptr<Executor> placed(const std::vector<HostTensor>& inputs, int first) const {
    EmbeddingSplitPlacement policy(first, 1 - first);
    return std::make_unique<Executor>(graph_, targets_, dims_of(inputs), policy);
  }
  std::unique_ptr<PipelineRunner> runner(const Executor& e, const std::vector<HostTensor>& inputs, int sub_batches) const {
    return std::make_unique<PipelineRunner>(e.graph(), e.placement(), e.targets(), cut_stages(e.graph(), e.placement()), inputs,
                                            sub_batches);
  }
  void expect_same_outputs(const std::vector<HostTensor>& inputs, int first, const std::vector<int>& counts) const {
    const auto whole = placed(inputs, first);
    const std::vector<HostTensor> want = whole->run(inputs);
    const auto pipe = runner(*whole, inputs, counts.front());
    for (int k : counts)
      for (bool overlap : {true, false}) {
        const std::vector<HostTensor> got = pipe->run(inputs, k, overlap);
        ASSERT_EQ(got.size(), want.size());
        for (size_t o = 0; o < got.size(); ++o)
          EXPECT_TRUE(bitwise_equal(got[o], want[o])) << "output " << o << ", " << k << " sub-batches, overlap " << overlap
                                                      << ", embedding on " << targets_[static_cast<size_t>(first)].label();
      }
  }
  const Graph graph_ = zoo::find_model("dlrm_avazu_sample").build(2026);
  std::vector<Target> targets_;
};

// The lookups on one device, everything else (the bottom MLP, which comes before them in the file,
// too) on the other: two stages, the lookups' first, though the file's order would make three.
TEST_F(Pipeline, CutsWherePlacementChangesDevice) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 64, 1);
  const auto e = placed(inputs, 0);
  const Graph& g = e->graph();
  const std::vector<PipelineStage> stages = cut_stages(g, e->placement());
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].target, 0);
  EXPECT_EQ(stages[1].target, 1);
  for (int n : stages[0].nodes) {
    if (!g.is_view(n)) {
      EXPECT_EQ(g.nodes()[static_cast<size_t>(n)].op, "embedding_bag") << g.nodes()[static_cast<size_t>(n)].name;
    }
  }
  EXPECT_NE(std::find_if(stages[1].nodes.begin(), stages[1].nodes.end(), [&](int n) { return g.nodes()[static_cast<size_t>(n)].name == "bottom_mlp.0"; }),
            stages[1].nodes.end());
  EXPECT_EQ(stages[0].nodes.size() + stages[1].nodes.size(), g.nodes().size());
  // Every stage's nodes in an order they can run in: a node's inputs come from the model, a
  // constant, an earlier stage or earlier in its own.
  std::vector<bool> available(g.num_tensors(), false);
  for (int id : g.inputs()) available[static_cast<size_t>(id)] = true;
  for (size_t t = 0; t < available.size(); ++t) available[t] = available[t] || g.tensor(static_cast<int>(t)).is_constant();
  for (const PipelineStage& stage : stages)
    for (int n : stage.nodes) {
      for (int in : g.nodes()[static_cast<size_t>(n)].inputs) EXPECT_TRUE(available[static_cast<size_t>(in)]) << g.nodes()[static_cast<size_t>(n)].name;
      for (int out : g.nodes()[static_cast<size_t>(n)].outputs) available[static_cast<size_t>(out)] = true;
    }
}

// A fusion of the last lookup into the interaction would make one node of the two sides of the cut
// (the GPU plugin offers it; the CPU plugin does not, and the split failed there): left out, the
// other rules kept.
TEST(EmbeddingSplit, KeepsEveryFusionButTheOneAcrossTheCut) {
  std::vector<std::string> want = all_fusion_rules();
  want.erase(std::find(want.begin(), want.end(), "lookup_interaction"));
  EXPECT_EQ(EmbeddingSplitPlacement(0, 1).fusion_rules(), want);
}

// Every row's kernels do the same arithmetic in the same order whatever rows share its batch (the
// embedding sums a bag's rows in order, the linears reduce over K in a fixed order per row), so the
// outputs are equal bit for bit; both directions (embedding on the CPU plugin or on PoCL).
TEST_F(Pipeline, OutputsEqualTheUnpipelinedRunBitForBit) {
  expect_same_outputs(random_inputs(graph_, 256, 2), 0, {4, 1, 3, 256});
  expect_same_outputs(random_inputs(graph_, 256, 3), 1, {4, 7});
}

TEST_F(Pipeline, OddBatchesAndBatchOne) {
  expect_same_outputs(random_inputs(graph_, 37, 4), 0, {5, 2, 36, 37});
  expect_same_outputs(random_inputs(graph_, 1, 5), 0, {1});
  const std::vector<int64_t> rows = sub_batch_rows(37, 5);
  EXPECT_EQ(rows, (std::vector<int64_t>{8, 8, 7, 7, 7}));
}

TEST_F(Pipeline, BadSubBatchCountsAreRefusedByName) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 10, 6);
  const auto e = placed(inputs, 0);
  const auto pipe = runner(*e, inputs, 2);
  EXPECT_NE(error_of([&] { pipe->run(inputs, 0); }).find("sub-batch count 0: must be at least 1"), std::string::npos);
  EXPECT_NE(error_of([&] { pipe->run(inputs, -3); }).find("sub-batch count -3"), std::string::npos);
  EXPECT_NE(error_of([&] { pipe->run(inputs, 11); }).find("sub-batch count 11 is larger than the batch (10 rows)"), std::string::npos);
  EXPECT_NE(error_of([&] { runner(*e, inputs, 0); }).find("sub-batch count 0"), std::string::npos);
}

// From the recorded timeline: while stage 1 works on sub-batch i, stage 0 works on sub-batch i+1.
// The batch is large enough that each stage takes milliseconds per sub-batch; on a loaded 2-core
// machine one overlapping pair is asked for, not all (threads may be descheduled, but the
// intervals are wall-clock time, so a pair running together overlaps whatever the load).
TEST_F(Pipeline, TimelineShowsStagesOverlapping) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 16384, 7);
  const auto e = placed(inputs, 0);
  const int k = 6;
  const auto pipe = runner(*e, inputs, k);
  pipe->run(inputs, k);  // warm-up (buffers, PoCL's first launches)
  int overlapping = 0;
  for (int attempt = 0; attempt < 3 && overlapping == 0; ++attempt) {
    pipe->run(inputs, k);
    const std::vector<TimelineEntry>& timeline = pipe->timeline();
    ASSERT_EQ(timeline.size(), static_cast<size_t>(2 * k));
    auto find = [&](int stage, int i) {
      for (const TimelineEntry& t : timeline)
        if (t.stage == stage && t.sub_batch == i) return t;
      ADD_FAILURE() << "no entry for stage " << stage << " sub-batch " << i;
      return TimelineEntry{};
    };
    for (int i = 0; i + 1 < k; ++i) {
      const TimelineEntry later_first = find(0, i + 1), earlier_second = find(1, i);
      EXPECT_LE(find(0, i).end_us, earlier_second.start_us) << "stage 1 began sub-batch " << i << " before stage 0 finished it";
      if (later_first.start_us < earlier_second.end_us && earlier_second.start_us < later_first.end_us) ++overlapping;
    }
    if (overlapping == 0) std::printf("no overlap in attempt %d:\n%s", attempt, timeline_table(timeline).c_str());
  }
  EXPECT_GT(overlapping, 0);
}

TEST_F(Pipeline, ScheduleIsSavedWithThePlanAndLoadsBack) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 64, 8);
  const auto e = placed(inputs, 0);
  PipelineSchedule schedule{cut_stages(e->graph(), e->placement()), {}, 4, "given"};
  schedule.costs = {StageCost{12.5, 0.25}, StageCost{40, 1.5}};
  const std::string path = ::testing::TempDir() + "/pipelined.plan.xml";
  save_plan(make_plan(graph_, *e, "hints", &schedule), path);
  const Plan loaded = load_plan(path);
  EXPECT_EQ(loaded.pipeline.sub_batches, 4);
  EXPECT_EQ(loaded.pipeline.decided_by, "given");
  ASSERT_EQ(loaded.pipeline.stages.size(), 2u);
  EXPECT_EQ(loaded.pipeline.stages[0].last, e->graph().nodes()[static_cast<size_t>(schedule.stages[0].nodes.back())].name);
  EXPECT_NE(loaded.pipeline.stages[1].device.find("opencl:0"), std::string::npos);
  EXPECT_EQ(loaded.pipeline.stages[1].fixed_us, 40);
  EXPECT_EQ(loaded.pipeline.stages[1].per_row_us, 1.5);
  // A plan without a pipeline (as every plan before it) loads as unpipelined.
  save_plan(make_plan(graph_, *e, "hints"), path);
  EXPECT_EQ(load_plan(path).pipeline.sub_batches, 0);
}

TEST_F(Pipeline, MeasuredCostsChooseSeveralSubBatchesForBalancedStages) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 4096, 9);
  const auto e = placed(inputs, 0);
  const auto pipe = runner(*e, inputs, 1);
  const std::vector<StageCost> costs = pipe->measure_costs(inputs, 2);
  ASSERT_EQ(costs.size(), 2u);
  for (const StageCost& c : costs) {
    EXPECT_GE(c.fixed_us, 0);
    EXPECT_GE(c.per_row_us, 0);
  }
  EXPECT_GT(costs[0].per_row_us + costs[1].per_row_us, 0) << "4096 rows took no longer than 512";
  const int k = choose_sub_batches(costs, 4096);
  EXPECT_GE(k, 1);
  EXPECT_LE(k, 64);
  // From the plugins' hints instead: 10 us a kernel, and the placement's estimates per row.
  PipelineRequest hinted;
  hinted.measure = false;
  const PipelinedModel made = make_pipeline(*e, inputs, hinted);
  EXPECT_EQ(made.schedule.decided_by, "hints");
  ASSERT_EQ(made.schedule.costs.size(), 2u);
  for (size_t s = 0; s < 2; ++s) {
    size_t kernels = 0;
    for (int n : made.schedule.stages[s].nodes) kernels += e->graph().is_view(n) ? 0 : 1;
    EXPECT_DOUBLE_EQ(made.schedule.costs[s].fixed_us, kHintedLaunchUs * static_cast<double>(kernels));
    EXPECT_GT(made.schedule.costs[s].per_row_us, 0);
  }
  EXPECT_EQ(made.schedule.sub_batches, choose_sub_batches(made.schedule.costs, 4096));
}

// A batch whose buffers exceed a device's memory budget runs in sub-batches: the embedding side
// holds its weights (3.4 MB: the tables and the bottom MLP) and about 2 KB a row, so 4096 rows need
// about 12 MB.
TEST_F(Pipeline, MemoryBudgetAsksForSubBatches) {
  const std::vector<HostTensor> inputs = random_inputs(graph_, 4096, 10);
  const auto e = placed(inputs, 0);
  EXPECT_EQ(min_sub_batches_for_memory(*e, inputs, 0), 1) << "the devices' own memory holds the batch";
  EXPECT_EQ(min_sub_batches_for_memory(*e, inputs, uint64_t{64} << 20), 1);
  const int k = min_sub_batches_for_memory(*e, inputs, uint64_t{6} << 20);
  EXPECT_GT(k, 1);
  EXPECT_LT(k, 64);
  EXPECT_GE(min_sub_batches_for_memory(*e, inputs, uint64_t{5} << 20), k) << "a smaller budget never needs fewer";
  const std::string why = error_of([&] { min_sub_batches_for_memory(*e, inputs, uint64_t{1} << 20); });
  EXPECT_NE(why.find("on cpu:0 holds not even one row"), std::string::npos) << why;
  PipelineRequest request;
  request.repetitions = 1;
  request.min_sub_batches = k;
  const PipelinedModel made = make_pipeline(*e, inputs, request);
  EXPECT_GE(made.schedule.sub_batches, k) << "auto never goes below the budget's count";
  const std::vector<HostTensor> want = e->run(inputs), got = made.runner->run(inputs, k);
  EXPECT_TRUE(bitwise_equal(got.at(0), want.at(0)));
}

}  // namespace

// The cost model: with no per-sub-batch cost, more sub-batches always help (up to the cap); with a
// large one, one batch is best; a single stage never splits; the makespan formula itself.
TEST(PipelineSchedule, SubBatchChoiceFollowsTheCostModel) {
  const std::vector<StageCost> free_split{{0, 1}, {0, 1}};
  EXPECT_EQ(choose_sub_batches(free_split, 1000, 16), 16);
  const std::vector<StageCost> costly_split{{100000, 0.001}, {100000, 0.001}};
  EXPECT_EQ(choose_sub_batches(costly_split, 1000), 1);
  EXPECT_EQ(choose_sub_batches({{0, 1}}, 1000), 1);
  EXPECT_EQ(choose_sub_batches(free_split, 5, 64), 5) << "never more sub-batches than rows";
  // Two stages of 10 us + 1 us per row over 1000 rows: k sub-batches take 2(10 + 1000/k) + (k-1)(10 + 1000/k).
  const std::vector<StageCost> two{{10, 1}, {10, 1}};
  EXPECT_DOUBLE_EQ(estimated_makespan_us(two, 1000, 1), 2020);
  EXPECT_DOUBLE_EQ(estimated_makespan_us(two, 1000, 10), 2 * 110 + 9 * 110);
  const int k = choose_sub_batches(two, 1000);
  for (int other = 1; other <= 64; ++other) EXPECT_LE(estimated_makespan_us(two, 1000, k), estimated_makespan_us(two, 1000, other));
  // At least the count a memory budget asks for.
  EXPECT_EQ(choose_sub_batches(costly_split, 1000, 64, 8), 8);
  // Stage 0 exactly 20 us + 0.1 us a row; stage 1 0.6 us a row, its intercept floored at 0.
  const std::vector<StageCost> fitted = fitted_stage_costs({100, 1000, 550}, {{30, 60}, {120, 600}, {75, 330}});
  EXPECT_NEAR(fitted[0].per_row_us, 0.1, 1e-12);
  EXPECT_NEAR(fitted[0].fixed_us, 20, 1e-9);
  EXPECT_NEAR(fitted[1].per_row_us, 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(fitted[1].fixed_us, 0);
  EXPECT_NE(error_of([] { fitted_stage_costs({100, 100}, {{1}, {2}}); }).find("two or more different row counts"), std::string::npos);
}

// Sub-batches of bags: offsets sliced per table and rebased, indices and weights sliced to match.
TEST(BatchSplit, BagsAreSlicedPerTableAndRebased) {
  GraphBuilder b("bags", 1);
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  b.output(b.embedding_bag("pooled", "indices", "offsets", {5, 7}, 2, "sum"));
  const Graph g = b.finish();
  const BatchSplitter split(g);
  // B = 3, T = 2: table 0 bags {0}, {1,2}, {}, table 1 bags {3}, {4,5,6}, {7}.
  const std::vector<HostTensor> in{HostTensor::from<int64_t>(CAGR_DTYPE_I64, {8}, {10, 11, 12, 13, 14, 15, 16, 17}),
                                   HostTensor::from<int64_t>(CAGR_DTYPE_I64, {7}, {0, 1, 3, 3, 4, 7, 8})};
  EXPECT_EQ(split.batch(in), 3);
  const std::vector<HostTensor> part = split.slice(in, 1, 3);  // bags 1 and 2 of each table
  const std::vector<int64_t> indices(part[0].as<int64_t>(), part[0].as<int64_t>() + part[0].numel());
  const std::vector<int64_t> offsets(part[1].as<int64_t>(), part[1].as<int64_t>() + part[1].numel());
  EXPECT_EQ(indices, (std::vector<int64_t>{11, 12, 14, 15, 16, 17}));
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 2, 2, 5, 6}));
  const std::vector<HostTensor> broken{in[0], HostTensor::from<int64_t>(CAGR_DTYPE_I64, {7}, {0, 1, 3, 3, 4, 9, 8})};
  EXPECT_NE(error_of([&] { split.slice(broken, 1, 3); }).find("'offsets'"), std::string::npos);
}

// The batch off the first axis, as PyTorch exports leave it: ids [B, 3] turned table-major ([3, B],
// then flat) for a 3-table lookup, and an input that holds its batch on axis 1. Sub-batches are cut
// along each input's batch axis and the outputs joined along theirs.
TEST(BatchSplit, FollowsTheBatchOffTheFirstAxis) {
  GraphBuilder b("table_major", 1);
  b.input("ids", CAGR_DTYPE_I64, {kDynamic, 3});
  b.input("scale", CAGR_DTYPE_F32, {2, kDynamic});
  b.op("by_table", "transpose", {"ids"}, {{"perm", std::vector<int64_t>{1, 0}}});
  b.op("flat", "reshape", {"by_table"}, {{"shape", std::vector<int64_t>{-1}}});
  b.op("offsets", "fixed_bag_offsets", {"flat"}, {{"bag_size", int64_t{1}}});
  b.output(b.embedding_bag("pooled", "flat", "offsets", {5, 7, 9}, 2, "sum"));
  b.output(b.op("scaled", "relu", {"scale"}));
  const BatchSplitter split(b.finish());
  const std::vector<HostTensor> in{HostTensor::from<int64_t>(CAGR_DTYPE_I64, {4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}),
                                   HostTensor::from<float>(CAGR_DTYPE_F32, {2, 4}, {0, 1, 2, 3, 4, 5, 6, 7})};
  EXPECT_EQ(split.batch(in), 4);
  const std::vector<HostTensor> part = split.slice(in, 1, 3);
  EXPECT_EQ(part[0].dims, (Dims{2, 3}));
  EXPECT_EQ(std::vector<int64_t>(part[0].as<int64_t>(), part[0].as<int64_t>() + 6), (std::vector<int64_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(part[1].dims, (Dims{2, 2}));
  EXPECT_EQ(std::vector<float>(part[1].as<float>(), part[1].as<float>() + 4), (std::vector<float>{1, 2, 5, 6}));
  // Joined along axis 1, the parts of `scale` give the whole back.
  const std::vector<HostTensor> first = split.slice(in, 0, 1), rest = split.slice(in, 1, 4);
  const HostTensor joined = split.join(1, {&first[1], &rest[1]});
  EXPECT_TRUE(bitwise_equal(joined, in[1]));
  EXPECT_NE(error_of([&] { split.slice({in[0], HostTensor(CAGR_DTYPE_F32, {2, 5})}, 0, 1); }).find("holds 5 samples"), std::string::npos);
}

TEST(BatchSplit, GraphsWhoseRowsMixAreRefusedWithTheReason) {
  {
    GraphBuilder b("softmax_over_batch", 1);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 4});
    b.output(b.op("norm", "softmax", {"x"}, {{"axis", int64_t{0}}}));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("node 'norm' (softmax) normalises along it: axis 0 of its input 'x'"), std::string::npos);
  }
  {
    GraphBuilder b("fixed_rows", 1);
    b.input("x", CAGR_DTYPE_F32, {8, 4});
    b.output(b.op("y", "relu", {"x"}));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("input 'x' [8,4] has no batch dimension"), std::string::npos);
  }
  {
    // [B, 4] -> [4, B] -> flat: the samples interleaved (4 blocks of every sample), so no output of them.
    GraphBuilder b("table_major_output", 1);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 4});
    b.op("t", "transpose", {"x"}, {{"perm", std::vector<int64_t>{1, 0}}});
    b.output(b.op("flat", "reshape", {"t"}, {{"shape", std::vector<int64_t>{-1}}}));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("output 'flat' (244 at 61 samples, 268 at 67) does not hold the samples one after another"),
              std::string::npos);
  }
  {
    // A reshape (not a transpose) of [B, 3] to [3, B]: each row takes entries of a third of the samples.
    GraphBuilder b("spread", 1);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 3});
    b.output(b.op("y", "reshape", {"x"}, {{"shape", std::vector<int64_t>{3, -1}}}));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("node 'y' (reshape) spreads the samples of 'x'"), std::string::npos);
  }
  {
    // Sample-major ids [B*3] read as 3 tables' bags, which take them table by table.
    GraphBuilder b("sample_major_ids", 1);
    b.input("ids", CAGR_DTYPE_I64, {kDynamic, 3});
    b.op("flat", "reshape", {"ids"}, {{"shape", std::vector<int64_t>{-1}}});
    b.op("offsets", "fixed_bag_offsets", {"flat"}, {{"bag_size", int64_t{1}}});
    b.output(b.embedding_bag("pooled", "flat", "offsets", {5, 7, 9}, 2, "sum"));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("as the ids of 3 tables' bags, but it holds 1 block(s)"), std::string::npos);
  }
  {
    // The batch on axis 1, which a top_k ranks along.
    GraphBuilder b("ranked_over_batch", 1);
    b.input("x", CAGR_DTYPE_F32, {4, kDynamic});
    b.op_with_outputs("best", "top_k", {"x"}, {{"k", int64_t{1}}}, {"values", "indices"});
    b.output("values");
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("node 'best' (top_k) ranks along it: axis 1 of its input 'x'"), std::string::npos);
  }
  {
    GraphBuilder b("sum_over_batch", 1);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 4});
    b.output(b.op("total", "reduce_sum", {"x"}, {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{1}}}));
    EXPECT_NE(error_of([&] { BatchSplitter{b.finish()}; }).find("'total'"), std::string::npos);
  }
}

}  // namespace cagr
