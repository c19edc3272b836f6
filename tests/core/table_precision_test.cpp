// Embedding tables stored narrower than f32 at the user's choice (table_precision.hpp): the
// conversion's per-value bounds, the CPU plugin running the converted model within a stated bound
// of the f32 run with u8 rows of D + 8 bytes, tables that stay f32 named in a warning, and plans
// keeping the choice.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "built_plugins.hpp"
#include "model_zoo.hpp"
#include "node_desc.hpp"
#include "plan.hpp"
#include "planned_executor.hpp"
#include "sample_inputs.hpp"
#include "table_precision.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::random_inputs;

class TablePrecision : public ::testing::Test {
 protected:
  void SetUp() override {
    cpu_ = testing::built_targets("cpu");
    ASSERT_FALSE(cpu_.empty()) << "the CPU plugin must load from " << CAGR_TEST_PLUGIN_DIR;
  }
  // The model's outputs with its tables asked for as `dtype`, and the warnings; `executor` keeps the
  // compiled model for a look at it.
  HostTensor predict(cagr_dtype dtype, std::vector<std::string>* warnings = nullptr) {
    Graph g = graph_;
    request_table_dtype(g, dtype);
    made_ = make_executor(g, cpu_, inputs_, std::nullopt, std::nullopt);
    if (warnings) *warnings = made_.warnings;
    return made_.executor->run(inputs_)[0];
  }
  static double max_abs_difference(const HostTensor& a, const HostTensor& b) {
    double worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::fabs(double(a.as<float>()[i]) - b.as<float>()[i]));
    return worst;
  }

  const Graph graph_ = zoo::find_model("dlrm_kaggle_small").build(7);
  const std::vector<HostTensor> inputs_ = random_inputs(graph_, 37, 3);
  std::vector<Target> cpu_;
  PlannedExecutor made_;
};

// u8: every value within half a step ((max - min) / 510) of the original, the row's extremes exact up
// to rounding; f16 and bf16: the nearest value (abi's conversions, exhaustively checked elsewhere).
TEST(TableConversion, U8RowsAreWithinHalfAStep) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> value(-3.0f, 2.0f);
  const int64_t rows = 33, dim = 13;
  std::vector<float> table(static_cast<size_t>(rows * dim));
  for (float& v : table) v = value(rng);
  for (int64_t d = 0; d < dim; ++d) table[static_cast<size_t>(5 * dim + d)] = 0.25f;  // a constant row
  const std::vector<std::byte> u8 = converted_table(table.data(), rows, dim, CAGR_DTYPE_U8);
  ASSERT_EQ(u8.size(), static_cast<size_t>(rows * (dim + 8)));
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = reinterpret_cast<const uint8_t*>(u8.data()) + r * (dim + 8);
    float scale, bias;
    std::memcpy(&scale, row + dim, 4);
    std::memcpy(&bias, row + dim + 4, 4);
    for (int64_t d = 0; d < dim; ++d) {
      const float original = table[static_cast<size_t>(r * dim + d)];
      EXPECT_NEAR(row[d] * scale + bias, original, scale / 2 + 1e-6f) << "row " << r << " column " << d;
    }
  }
  const std::vector<std::byte> f16 = converted_table(table.data(), rows, dim, CAGR_DTYPE_F16);
  ASSERT_EQ(f16.size(), static_cast<size_t>(rows * dim * 2));
  uint16_t bits;
  std::memcpy(&bits, f16.data() + 2 * 7, 2);
  EXPECT_EQ(bits, abi::f16_from_float(table[7]));
}

// Bounds on the sample DLRM's probabilities against its f32 run, measured at 1e-6 (f16), 1e-5
// (bf16, u8) on these inputs: each held to 10x that, and to differ at all (the tables did change).
TEST_F(TablePrecision, CpuRunsConvertedTablesWithinBound) {
  const HostTensor f32 = predict(CAGR_DTYPE_F32);
  const struct {
    cagr_dtype dtype;
    double bound;
  } cases[] = {{CAGR_DTYPE_F16, 1e-5}, {CAGR_DTYPE_BF16, 1e-4}, {CAGR_DTYPE_U8, 1e-4}};
  for (const auto& c : cases) {
    std::vector<std::string> warnings;
    const HostTensor got = predict(c.dtype, &warnings);
    EXPECT_TRUE(warnings.empty()) << dtype_name(c.dtype) << ": " << warnings.front();
    const double difference = max_abs_difference(got, f32);
    EXPECT_GT(difference, 0) << dtype_name(c.dtype) << ": the predictions did not change; were the tables converted?";
    EXPECT_LT(difference, c.bound) << dtype_name(c.dtype);
    // The compiled lookup reads tables of that dtype: D + 8 bytes a row for u8, 2 D for 16 bits, as the
    // plugin's cost hint counts them.
    const Graph& compiled = made_.executor->graph();
    for (const Node& node : compiled.nodes()) {
      if (node.op != "embedding_bag") continue;
      const TensorInfo& table = compiled.tensor(node.inputs[2]);
      EXPECT_EQ(table.dtype, c.dtype);
      const std::string original = table.name.substr(0, table.name.rfind('.'));  // "<table>.<dtype>"
      const int64_t dim = graph_.tensor(graph_.tensor_id(original)).dims[1];
      EXPECT_EQ(table.dims[1], c.dtype == CAGR_DTYPE_U8 ? dim + 8 : dim);
      EXPECT_EQ(table.data->size(), static_cast<size_t>(table.dims[0] * (c.dtype == CAGR_DTYPE_U8 ? dim + 8 : 2 * dim)));
    }
  }
}

// The plugin's cost hint reads u8 rows of D + 8 bytes where f32's are 4 D (here D = 16: 24 bytes
// against 64), the indices and the f32 output being the same.
TEST_F(TablePrecision, CostHintCountsTheNarrowRows) {
  auto lookup_cost = [&](cagr_dtype dtype) {
    Graph g = graph_;
    request_table_dtype(g, dtype);
    convert_tables(g, cpu_, dims_of(inputs_));
    const std::vector<TensorShape> shapes = infer_shapes(g, dims_of(inputs_));
    for (const Node& node : g.nodes())
      if (node.op == "embedding_bag") return cpu_[0].plugin->query(0, describe_node(node, shapes).desc()).variants.at(0);
    return Variant{};
  };
  const Variant f32 = lookup_cost(CAGR_DTYPE_F32), u8 = lookup_cost(CAGR_DTYPE_U8);
  const double dim = 16, lookups = f32.flops / dim;  // a flop per value looked up
  ASSERT_GT(lookups, 0);
  EXPECT_DOUBLE_EQ(f32.bytes - u8.bytes, lookups * (4 * dim - (dim + 8))) << "f32 " << f32.bytes << " bytes, u8 " << u8.bytes;
}

// Tables that are model inputs stay f32, and the warning names the node and why.
TEST_F(TablePrecision, TablesThatAreInputsStayF32WithAWarning) {
  Graph g;
  g.add_input("ids", CAGR_DTYPE_I64, {kDynamic});
  g.add_input("offsets", CAGR_DTYPE_I64, {kDynamic});
  g.add_input("table", CAGR_DTYPE_F32, {10, 4});
  Node n;
  n.name = "lookup";
  n.op = "embedding_bag";
  g.add_node(n, {"ids", "offsets", "table"}, {"pooled"});
  g.mark_output("pooled");
  request_table_dtype(g, CAGR_DTYPE_U8);
  const std::vector<std::string> warnings = convert_tables(g, cpu_, {{3}, {3}, {10, 4}});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("embedding_bag 'lookup': its tables stay f32, not u8: table 'table' is an input"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(g.tensor(g.nodes()[0].inputs[2]).dtype, CAGR_DTYPE_F32);
}

// DeepFM's first-order tables have D = 1: as u8 a row would take 9 bytes for f32's 4, so they stay
// f32 with a warning while its D = 16 embeddings convert; f16 converts both.
TEST_F(TablePrecision, U8LeavesTablesItWouldEnlarge) {
  const Graph g = zoo::find_model("deepfm_avazu").build(7);
  const int64_t tables = static_cast<int64_t>(g.nodes()[0].inputs.size()) - 2, batch = 9;  // a lookup is its first node
  const std::vector<Dims> dims = {{tables * batch}, {tables * batch + 1}};  // indices, offsets: one id a bag
  for (const cagr_dtype dtype : {CAGR_DTYPE_U8, CAGR_DTYPE_F16}) {
    Graph asked = g;
    request_table_dtype(asked, dtype);
    const std::vector<std::string> warnings = convert_tables(asked, cpu_, dims);
    int converted = 0, lookups = 0;
    for (const Node& node : asked.nodes()) {
      if (node.op != "embedding_bag") continue;
      ++lookups;
      converted += asked.tensor(node.inputs[2]).dtype == dtype;
    }
    EXPECT_EQ(lookups, 2);
    if (dtype == CAGR_DTYPE_F16) {
      EXPECT_TRUE(warnings.empty()) << warnings.front();
      EXPECT_EQ(converted, 2);
      continue;
    }
    EXPECT_EQ(converted, 1);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("its tables stay f32, not u8: u8 rows of D + 8 = 9 bytes are no smaller than f32's 4"), std::string::npos)
        << warnings[0];
  }
}

TEST_F(TablePrecision, PlansKeepTheTableDtype) {
  predict(CAGR_DTYPE_U8);
  const std::string file = ::testing::TempDir() + "/u8.plan.xml";
  save_plan(make_plan(graph_, *made_.executor, "hints"), file);
  const Plan loaded = load_plan(file);
  EXPECT_EQ(loaded.table_dtype, CAGR_DTYPE_U8);
  // Followed by a session that asked for nothing: the plan's tables come back.
  const PlannedExecutor followed = make_executor(graph_, cpu_, inputs_, loaded, std::nullopt);
  EXPECT_TRUE(followed.warnings.empty()) << followed.warnings.front();
  for (const Node& node : followed.executor->graph().nodes())
    if (node.op == "embedding_bag") EXPECT_EQ(followed.executor->graph().tensor(node.inputs[2]).dtype, CAGR_DTYPE_U8);
}

TEST(TableConversion, UnknownDtypeIsRefusedNamingTheOption) {
  try {
    table_precision_named("int4", "--table-precision");
    FAIL() << "int4 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--table-precision is 'int4': expected f32, f16, bf16 or u8 (row-wise quantised)");
  }
}

}  // namespace
}  // namespace cagr
