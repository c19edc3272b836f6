// Math precision as a choice of the session (ABI 1.2, int8 1.3): with f32 every variant computes in
// f32; with bf16 allowed, the CPU plugin adds a bf16 linear where the CPU has bf16 dot products, and
// with int8 allowed an int8 one too where it has int8 dot products (VNNI); a plan keeps the
// allowance and each node's precision, and a loaded plan brings its allowance along.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "model_zoo.hpp"
#include "node_desc.hpp"
#include "plan.hpp"
#include "planner.hpp"
#include "reference_graph.hpp"
#include "sample_inputs.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::max_relative_error;
using testing::random_inputs;

class Precision : public ::testing::Test {
 protected:
  void SetUp() override {
    cpu_ = testing::built_targets("cpu");
    ASSERT_FALSE(cpu_.empty()) << "the CPU plugin must load from " << CAGR_TEST_PLUGIN_DIR;
  }
  // Every variant the CPU plugin offers for each node of `graph` at the inputs' shapes.
  std::vector<Variant> offered(const Graph& graph) const {
    const std::vector<TensorShape> shapes = infer_shapes(graph, dims_of(inputs_));
    std::vector<Variant> all;
    for (const Node& node : graph.nodes()) {
      const OpSupport s = cpu_[0].plugin->query(0, describe_node(node, shapes).desc());
      all.insert(all.end(), s.variants.begin(), s.variants.end());
    }
    return all;
  }
  bool cpu_has_bf16() const { return cpu_[0].info.peak_gflops_f16 > 0; }  // the plugin's 16-bit peak: 0 without bf16 dot products
  // VNNI, as the kernel's flags say (no device property tells int8's peak).
  static bool cpu_has_int8() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::stringstream text;
    text << cpuinfo.rdbuf();
    return text.str().find(" avx512_vnni") != std::string::npos || text.str().find(" avx_vnni") != std::string::npos;
  }
  int linears() const {
    int n = 0;
    for (const Node& node : graph_.nodes()) n += node.op == "linear";
    return n;
  }
  // The offered variants of `graph_` allowed `allowed`, counted by the precision they compute in.
  std::map<cagr_math_precision, int> offered_by_precision(cagr_math_precision allowed) const {
    Graph g = graph_;
    allow_math_precision(g, allowed);
    std::map<cagr_math_precision, int> count;
    for (const Variant& v : offered(g)) {
      ++count[v.math_precision];
      if (v.math_precision == CAGR_MATH_BF16) EXPECT_EQ(v.name, "onednn_matmul_bf16");
      if (v.math_precision == CAGR_MATH_INT8) EXPECT_EQ(v.name, "onednn_matmul_int8");
    }
    return count;
  }

  // A plan running every linear as `variant` (computing in `precision`): saved, loaded (precision
  // kept), followed under an f32 session without warnings, its outputs within `bound` of the f32
  // reference (and not equal to it: the variant ran).
  void expect_plan_round_trip(cagr_math_precision precision, const std::string& variant, double bound) {
    Graph allowed = graph_;
    allow_math_precision(allowed, precision);
    CostHintPlacement first_variants({}, true);
    Executor compiled(allowed, cpu_, dims_of(inputs_), first_variants);
    Plan plan = make_plan(graph_, compiled, "test");
    EXPECT_EQ(plan.math_precision, precision);
    for (PlannedNode& n : plan.nodes)
      if (n.op == "linear") n.variant = variant, n.precision = precision;
    const std::string file = ::testing::TempDir() + "/" + variant + ".plan.xml";
    save_plan(plan, file);
    const Plan loaded = load_plan(file);
    EXPECT_EQ(loaded.math_precision, precision);
    Graph following = graph_;  // as the session loaded it: f32 only; the plan allows more
    allow_math_precision(following, loaded.math_precision);
    PlannedPlacement planned(loaded);
    Executor e(following, cpu_, dims_of(inputs_), planned);
    EXPECT_TRUE(planned.warnings().empty()) << planned.warnings().front();
    int placed = 0;
    for (size_t n = 0; n < e.graph().nodes().size(); ++n) {
      if (e.graph().nodes()[n].op != "linear") continue;
      EXPECT_EQ(e.placement().nodes[n].variant_name, variant);
      EXPECT_EQ(e.placement().nodes[n].math_precision, precision);
      ++placed;
    }
    EXPECT_GT(placed, 0);
    const HostTensor got = e.run(inputs_)[0];
    const HostTensor want = testing::run_reference(graph_, inputs_)[0];
    const double error = max_relative_error(got, want);
    EXPECT_GT(error, 0) << "rounding changed nothing: did " << variant << " run?";
    EXPECT_LT(error, bound) << "probabilities after " << placed << " linears as " << variant;
  }

  const Graph graph_ = zoo::find_model("dlrm_kaggle_small").build(7);
  const std::vector<HostTensor> inputs_ = random_inputs(graph_, 37, 3);
  std::vector<Target> cpu_;
};

TEST_F(Precision, F32SessionsGetOnlyF32Variants) {
  for (const Variant& v : offered(graph_)) EXPECT_EQ(v.math_precision, CAGR_MATH_F32) << v.name;
}

TEST_F(Precision, Bf16SessionsGetBf16LinearsWhereTheCpuHasThem) {
  std::map<cagr_math_precision, int> offered = offered_by_precision(CAGR_MATH_BF16);
  EXPECT_EQ(offered[CAGR_MATH_BF16], cpu_has_bf16() ? linears() : 0) << "peak_gflops_f16 " << cpu_[0].info.peak_gflops_f16;
  EXPECT_EQ(offered[CAGR_MATH_INT8], 0) << "int8 offered where only bf16 was allowed";
}

// int8 allows everything looser than f32: the bf16 linears stay offered beside the int8 ones.
TEST_F(Precision, Int8SessionsGetInt8LinearsWhereTheCpuHasThem) {
  std::map<cagr_math_precision, int> offered = offered_by_precision(CAGR_MATH_INT8);
  EXPECT_EQ(offered[CAGR_MATH_INT8], cpu_has_int8() ? linears() : 0);
  EXPECT_EQ(offered[CAGR_MATH_BF16], cpu_has_bf16() ? linears() : 0);
  EXPECT_GT(offered[CAGR_MATH_F32], 0);
}

TEST_F(Precision, PlanKeepsTheAllowanceAndEachNodesPrecision) {
  if (!cpu_has_bf16()) {
    // Without bf16 dot products the variant is not offered (checked above); a plan naming it is
    // re-bound with a warning instead.
    GTEST_SKIP() << "this CPU has no bf16 dot products (AVX512_BF16 / AMX): no bf16 variant to plan";
  }
  expect_plan_round_trip(CAGR_MATH_BF16, "onednn_matmul_bf16", 5e-2);
}

// int8's quantisation error through 7 linears, on the probabilities (max relative error): the
// issue's target for the change in a predicted probability is 1e-2.
TEST_F(Precision, PlanKeepsInt8) {
  if (!cpu_has_int8()) GTEST_SKIP() << "this CPU has no int8 dot products (VNNI): no int8 variant to plan";
  expect_plan_round_trip(CAGR_MATH_INT8, "onednn_matmul_int8", 1e-2);
}

// The tuner times every variant offered, int8's among them, and keeps the fastest: whichever it
// chose, the plan keeps the int8 allowance, every node computes in a precision it allows, and its
// run stays within the 1e-2 of the f32 reference.
TEST_F(Precision, TunerMayChooseInt8) {
  if (!cpu_has_int8()) GTEST_SKIP() << "this CPU has no int8 dot products (VNNI)";
  Graph allowed = graph_;
  allow_math_precision(allowed, CAGR_MATH_INT8);
  PlannerOptions options;
  options.mode = OptimizerMode::tune;
  options.repetitions = 1;
  const Plan plan = plan_model(allowed, cpu_, inputs_, options).plan;
  EXPECT_EQ(plan.math_precision, CAGR_MATH_INT8);
  for (const PlannedNode& n : plan.nodes) EXPECT_LE(n.precision, CAGR_MATH_INT8) << n.variant;
  PlannedPlacement planned(plan);
  Executor e(allowed, cpu_, dims_of(inputs_), planned);
  EXPECT_LT(max_relative_error(e.run(inputs_)[0], testing::run_reference(graph_, inputs_)[0]), 1e-2);
}

TEST_F(Precision, UnknownPrecisionInAPlanFileIsRefused) {
  CostHintPlacement hints;
  Executor e(graph_, cpu_, dims_of(inputs_), hints);
  const std::string file = ::testing::TempDir() + "/fp8.plan.xml";
  save_plan(make_plan(graph_, e, "hints"), file);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("fusion_rules="), 0, "math_precision=\"fp8\" ");
  std::ofstream(file) << text;
  try {
    load_plan(file);
    FAIL() << "a plan with math_precision=\"fp8\" loaded";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("'math_precision' is 'fp8'; expected f32, tf32, bf16 or int8"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace cagr
