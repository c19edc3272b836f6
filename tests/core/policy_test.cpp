// The learned policy: its fit, its file, the samples it is trained on, and the planner's modes that
// use it (none, policy, tune) on the CPU plugin.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "built_plugins.hpp"
#include "cost_features.hpp"
#include "cost_samples.hpp"
#include "executor.hpp"
#include "learned_policy.hpp"
#include "model_zoo.hpp"
#include "planner.hpp"
#include "reference_graph.hpp"
#include "sample_inputs.hpp"

namespace cagr {
namespace {

std::filesystem::path temp_file(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "policy_test";
  std::filesystem::create_directories(dir);
  return dir / name;
}

// Samples whose log-time is exactly linear in random features, with two variants that shift it.
std::vector<CostSample> linear_samples(int n, uint64_t seed, const std::vector<double>& w) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2, 2);
  const size_t roofline = 2;  // log_roofline_ns
  EXPECT_EQ(cost_feature_names()[roofline], "log_roofline_ns");
  std::vector<CostSample> samples;
  for (int i = 0; i < n; ++i) {
    CostSample s{"dev:0 (test)", "m", "node" + std::to_string(i), "linear", i % 2 ? "fast" : "slow", {}, 0};
    s.features.push_back(1.0);
    for (size_t k = 1; k < w.size(); ++k) s.features.push_back(u(rng));
    double log_us = 0;
    for (size_t k = 0; k < w.size(); ++k) log_us += w[k] * s.features[k];
    log_us += s.variant == "fast" ? -0.5 + 0.1 * s.features[roofline] : 0.25;
    s.microseconds = std::exp(log_us);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<double> random_weights(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<double> w;
  for (size_t k = 0; k < cost_feature_names().size(); ++k) w.push_back(u(rng));
  return w;
}

TEST(LearnedPolicy, FitRecoversALinearModelAndItsVariantCorrections) {
  const std::vector<double> w = random_weights(5);
  const LearnedPolicy policy = LearnedPolicy::fit(linear_samples(2000, 1, w), 1e-9);
  for (const CostSample& s : linear_samples(200, 2, w))  // fresh samples
    EXPECT_NEAR(std::log(policy.predict_us(s.features, s.variant)), std::log(s.microseconds), 1e-3) << s.variant;
  // A variant never seen gets no correction: between the two seen ones here.
  CostSample s = linear_samples(1, 3, w)[0];
  const double unseen = policy.predict_us(s.features, "unseen");
  EXPECT_GT(unseen, policy.predict_us(s.features, "fast") * std::exp(-1.0));
  EXPECT_NE(policy.trained_on().find("2000 samples"), std::string::npos) << policy.trained_on();
  EXPECT_THROW(LearnedPolicy::fit({}), std::invalid_argument);
}

TEST(LearnedPolicy, SavedFileReloadsToTheSamePredictions) {
  const std::vector<double> w = random_weights(6);
  const LearnedPolicy policy = LearnedPolicy::fit(linear_samples(300, 4, w));
  const std::filesystem::path file = temp_file("policy.xml");
  policy.save(file);
  const LearnedPolicy loaded = LearnedPolicy::load(file);
  for (const CostSample& s : linear_samples(50, 5, w))
    EXPECT_DOUBLE_EQ(loaded.predict_us(s.features, s.variant), policy.predict_us(s.features, s.variant));
  EXPECT_EQ(loaded.trained_on(), policy.trained_on());
}

TEST(LearnedPolicy, DamagedFilesAreRefusedNamingWhatIsWrong) {
  const LearnedPolicy policy = LearnedPolicy::fit(linear_samples(300, 4, random_weights(7)));
  const std::filesystem::path good = temp_file("good.xml");
  policy.save(good);
  std::ifstream in(good);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto refused = [&](const std::string& from, const std::string& to, const std::string& expected) {
    const std::string damaged = text.substr(0, text.find(from)) + to + text.substr(text.find(from) + from.size());
    const std::filesystem::path file = temp_file("damaged.xml");
    std::ofstream(file) << damaged;
    try {
      LearnedPolicy::load(file);
      ADD_FAILURE() << "loaded with " << from << " -> " << to;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
  };
  refused("feature=\"log_batch\"", "feature=\"log_batches\"", "no weight for feature 'log_batch'");
  refused("<policy", "<plan", "not a policy file");
  refused("version=\"1\"", "version=\"9\"", "policy version 9");
  const std::string value = "value=\"";
  const size_t at = text.find(value) + value.size();
  const std::string number = text.substr(at, text.find('"', at) - at);
  refused(value + number, value + number + "x", "is not a finite number");
  refused(value + number, value + "inf", "is not a finite number");
  EXPECT_THROW(LearnedPolicy::load(temp_file("missing.xml")), std::runtime_error);
}

TEST(CostSamples, FileRoundTripsAndRefusesMalformedRows) {
  const std::vector<CostSample> samples = linear_samples(20, 8, random_weights(8));
  const std::filesystem::path file = temp_file("samples.tsv");
  std::filesystem::remove(file);
  append_cost_samples(file, samples);
  append_cost_samples(file, samples);  // appending keeps one header
  const std::vector<CostSample> read = read_cost_samples(file);
  ASSERT_EQ(read.size(), 2 * samples.size());
  EXPECT_EQ(read[3].node, samples[3].node);
  EXPECT_EQ(read[3].variant, samples[3].variant);
  EXPECT_NEAR(read[3].microseconds, samples[3].microseconds, 1e-6 * samples[3].microseconds);
  EXPECT_NEAR(read[3].features[4], samples[3].features[4], 1e-6);

  std::ifstream in(file);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  auto refused = [&](const std::string& body, const std::string& expected) {
    const std::filesystem::path bad = temp_file("bad.tsv");
    std::ofstream(bad) << body;
    try {
      read_cost_samples(bad);
      ADD_FAILURE() << "read " << body;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused(header + "\n" + row + "\tmore\n", ":2: ");                  // a column too many, named by line
  refused(header + "\n" + row.substr(0, row.rfind('\t')) + "\t1.5x\n", "not a finite number");
  refused("device\tmodel\n" + row + "\n", "not a cost sample file of this build");
}

// Measured samples cover every node of the fused graph and of the unfused one, every variant of
// the nodes that have several, with positive times and the features of their op.
TEST(CostSamples, EveryNodeOfTheFusedAndUnfusedGraphIsMeasured) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2);
  const auto inputs = testing::random_inputs(graph, 33, 3);
  const std::vector<CostSample> samples = measure_cost_samples(graph, "sample", cpu, inputs, 2, {});
  std::set<std::string> ops, embedding_variants;
  for (const CostSample& s : samples) {
    EXPECT_GT(s.microseconds, 0);
    EXPECT_EQ(s.features.size(), cost_feature_names().size());
    EXPECT_EQ(s.model, "sample");
    EXPECT_EQ(s.device.rfind("cpu:0 (", 0), 0u) << s.device;
    ops.insert(s.op);
    if (s.op == "embedding_bag") embedding_variants.insert(s.variant);
  }
  EXPECT_TRUE(ops.count("dlrm_interaction")) << "the fused graph";
  EXPECT_TRUE(ops.count("dot_interaction") && ops.count("concat")) << "the unfused graph";
  EXPECT_TRUE(ops.count("linear"));
  EXPECT_GE(embedding_variants.size(), 2u) << "every variant of a node with several";
}

class Modes : public ::testing::Test {
 protected:
  Modes() : cpu_(testing::built_targets("cpu")), graph_(zoo::find_model("dlrm_avazu_sample").build(4)),
            inputs_(testing::random_inputs(graph_, 64, 9)) {}
  std::vector<Target> cpu_;
  Graph graph_;
  std::vector<HostTensor> inputs_;

  // The plan's executor, rebuilt from the plan file as a later run would.
  std::unique_ptr<Executor> reload(const Plan& plan) {
    const std::filesystem::path file = temp_file("plan.xml");
    save_plan(plan, file.string());
    PlannedPlacement follow(load_plan(file.string()));
    auto e = std::make_unique<Executor>(graph_, cpu_, testing::dims_of(inputs_), follow);
    EXPECT_TRUE(follow.warnings().empty());
    return e;
  }
  void expect_reference_outputs(Executor& e) {
    EXPECT_LT(testing::max_relative_error(e.run(inputs_)[0], testing::run_reference(graph_, inputs_)[0]), 1e-5);
  }
};

TEST_F(Modes, NoneFusesNothingAndRunsEveryDefaultVariant) {
  ASSERT_FALSE(cpu_.empty());
  PlannerOptions options;
  options.mode = OptimizerMode::none;
  const PlannedModel planned = plan_model(graph_, cpu_, inputs_, options);
  EXPECT_EQ(planned.plan.decided_by, "none");
  EXPECT_TRUE(planned.plan.fusion_rules.empty());
  EXPECT_TRUE(planned.plan.fusions.empty());
  auto e = reload(planned.plan);
  EXPECT_TRUE(e->fusions().empty());
  EXPECT_EQ(e->graph().nodes().size(), graph_.nodes().size());
  for (size_t n = 0; n < e->graph().nodes().size(); ++n) {
    if (e->graph().is_view(static_cast<int>(n))) continue;
    EXPECT_EQ(e->placement().nodes[n].variant, 0) << e->graph().nodes()[n].name;
  }
  expect_reference_outputs(*e);
}

TEST_F(Modes, TuneTriesEveryRewriteChoiceAndKeepsTheFastest) {
  ASSERT_FALSE(cpu_.empty());
  PlannerOptions options;
  options.mode = OptimizerMode::tune;
  options.repetitions = 2;
  std::vector<std::string> progress;
  options.progress = [&](const std::string& line) { progress.push_back(line); };
  const PlannedModel planned = plan_model(graph_, cpu_, inputs_, options);
  EXPECT_EQ(planned.plan.decided_by, "tune");
  std::string report;
  for (const std::string& line : planned.report) report += line + "\n";
  EXPECT_NE(report.find("no fusion, placed over cpu:0, variants tuned: "), std::string::npos) << report;
  EXPECT_NE(report.find("fusing interaction, placed over cpu:0, variants tuned: "), std::string::npos) << report;
  EXPECT_NE(report.find("chosen: "), std::string::npos) << report;
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress.back().find("] candidate "), std::string::npos) << progress.back();
  expect_reference_outputs(*reload(planned.plan));
}

// A policy trained on another model's samples plans this one: it predicts every candidate and
// times only the best few, and the plan runs to the reference's outputs.
TEST_F(Modes, PolicyPlansFromPredictionsAndMeasuresFew) {
  ASSERT_FALSE(cpu_.empty());
  const Graph other = zoo::find_model("two_stage_filter").build(1);
  const auto other_inputs = testing::random_inputs(other, 64, 1);
  const LearnedPolicy policy = LearnedPolicy::fit(measure_cost_samples(other, "two_stage_filter", cpu_, other_inputs, 2, {}));
  PlannerOptions options;
  options.mode = OptimizerMode::policy;
  options.repetitions = 2;
  EXPECT_THROW(plan_model(graph_, cpu_, inputs_, options), std::invalid_argument) << "no policy given";
  options.policy = &policy;
  const PlannedModel planned = plan_model(graph_, cpu_, inputs_, options);
  EXPECT_EQ(planned.plan.decided_by, "policy");
  int predicted = 0, timed = 0;
  for (const std::string& line : planned.report) {
    predicted += line.find(": predicted ") != std::string::npos;
    timed += line.rfind("policy, ", 0) == 0;
  }
  EXPECT_GE(predicted, 2) << "every fusion choice predicted";
  EXPECT_LE(timed, 2) << "at most the best two timed on one device";
  expect_reference_outputs(*reload(planned.plan));
}

// Which of a node's variants the policy mode times, from their predictions in the plugin's order.
TEST(VariantsToTime, ThePickAgainstTheCloseSecondAndThePluginsFirst) {
  using V = std::vector<size_t>;
  EXPECT_EQ(variants_to_time({10, 1, 50}), (V{1, 0})) << "a sure pick off the first variant is still measured against it";
  EXPECT_EQ(variants_to_time({5, 1, 1.5}), (V{1, 2, 0})) << "a close second too";
  EXPECT_EQ(variants_to_time({1, 1.5, 9}), (V{0, 1}));
  EXPECT_EQ(variants_to_time({1, 9, 9}), V{}) << "sure of the first variant: nothing measured";
  EXPECT_EQ(variants_to_time({3}), V{});
  EXPECT_EQ(variants_to_time({}), V{});
}

}  // namespace
}  // namespace cagr
