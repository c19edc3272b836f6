// Math precision as a choice of the session (ABI 1.2): with f32 every variant computes in f32; with
// bf16 allowed, the CPU plugin adds a bf16 linear where the CPU has bf16 dot products, a plan keeps
// the allowance and each node's precision, and a loaded plan brings its allowance along.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "model_zoo.hpp"
#include "node_desc.hpp"
#include "plan.hpp"
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

  const Graph graph_ = zoo::find_model("dlrm_kaggle_small").build(7);
  const std::vector<HostTensor> inputs_ = random_inputs(graph_, 37, 3);
  std::vector<Target> cpu_;
};

TEST_F(Precision, F32SessionsGetOnlyF32Variants) {
  for (const Variant& v : offered(graph_)) EXPECT_EQ(v.math_precision, CAGR_MATH_F32) << v.name;
}

TEST_F(Precision, Bf16SessionsGetBf16LinearsWhereTheCpuHasThem) {
  Graph allowed = graph_;
  allow_math_precision(allowed, CAGR_MATH_BF16);
  int bf16 = 0;
  for (const Variant& v : offered(allowed)) {
    if (v.math_precision == CAGR_MATH_BF16) {
      ++bf16;
      EXPECT_EQ(v.name, "onednn_matmul_bf16");
    }
  }
  int linears = 0;
  for (const Node& n : graph_.nodes()) linears += n.op == "linear";
  EXPECT_EQ(bf16, cpu_has_bf16() ? linears : 0) << "peak_gflops_f16 " << cpu_[0].info.peak_gflops_f16;
}

// A plan running every linear in bf16: saved, loaded (precision kept), followed under an f32
// session without warnings, its outputs within bf16's bound of the f32 reference.
TEST_F(Precision, PlanKeepsTheAllowanceAndEachNodesPrecision) {
  if (!cpu_has_bf16()) {
    // Without bf16 dot products the variant is not offered (checked above); a plan naming it is
    // re-bound with a warning instead.
    GTEST_SKIP() << "this CPU has no bf16 dot products (AVX512_BF16 / AMX): no bf16 variant to plan";
  }
  Graph allowed = graph_;
  allow_math_precision(allowed, CAGR_MATH_BF16);
  CostHintPlacement first_variants({}, true);
  Executor compiled(allowed, cpu_, dims_of(inputs_), first_variants);
  Plan plan = make_plan(graph_, compiled, "test");
  EXPECT_EQ(plan.math_precision, CAGR_MATH_BF16);
  for (PlannedNode& n : plan.nodes)
    if (n.op == "linear") n.variant = "onednn_matmul_bf16", n.precision = CAGR_MATH_BF16;
  const std::string file = ::testing::TempDir() + "/bf16.plan.xml";
  save_plan(plan, file);
  const Plan loaded = load_plan(file);
  EXPECT_EQ(loaded.math_precision, CAGR_MATH_BF16);
  Graph following = graph_;  // as the session loaded it: f32 only; the plan allows bf16
  allow_math_precision(following, loaded.math_precision);
  PlannedPlacement planned(loaded);
  Executor e(following, cpu_, dims_of(inputs_), planned);
  EXPECT_TRUE(planned.warnings().empty()) << planned.warnings().front();
  int bf16 = 0;
  for (size_t n = 0; n < e.graph().nodes().size(); ++n) {
    if (e.graph().nodes()[n].op != "linear") continue;
    EXPECT_EQ(e.placement().nodes[n].variant_name, "onednn_matmul_bf16");
    EXPECT_EQ(e.placement().nodes[n].math_precision, CAGR_MATH_BF16);
    ++bf16;
  }
  EXPECT_GT(bf16, 0);
  const HostTensor got = e.run(inputs_)[0];
  const HostTensor want = testing::run_reference(graph_, inputs_)[0];
  const double error = max_relative_error(got, want);
  EXPECT_GT(error, 0) << "bf16 rounding changed nothing: did the bf16 variant run?";
  EXPECT_LT(error, 5e-2) << "probabilities after 7 linears with bf16 operands";
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
