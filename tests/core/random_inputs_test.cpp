// cagr-run's random inputs (tools/cagr-run/inputs.hpp) for ONNX exports as people write them: ids
// spread over the table each column is looked up in (timings on ids that all hit a few rows of each
// table measured cached lookups), valid per-table bag offsets, and a clear error where the guessed
// shapes do not fit the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "error_of.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"

namespace cagr {
namespace {

const std::string kGallery = std::string(CAGR_ONNX_FIXTURE_DIR) + "/../gallery";

// The usual PyTorch DLRM export: ids [B, 26], column t looked up in table t (10 to 100 rows).
TEST(RandomInputs, IdsSpreadOverEachColumnsTable) {
  const Graph graph = load_any_model(kGallery + "/dlrm_embedding_dynamo.onnx");
  std::vector<int64_t> rows;
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag")
      for (size_t t = 2; t < n.inputs.size(); ++t) rows.push_back(graph.tensor(n.inputs[t]).dims.at(0));
  ASSERT_EQ(rows.size(), 26u);
  const int64_t smallest = *std::min_element(rows.begin(), rows.end());
  const std::vector<HostTensor> inputs = run::random_inputs(graph, 2000, 3);
  size_t ids = 0;
  while (ids < inputs.size() && inputs[ids].dtype != CAGR_DTYPE_I64) ++ids;
  ASSERT_LT(ids, inputs.size());
  ASSERT_EQ(inputs[ids].dims, (Dims{2000, 26}));
  const int64_t* v = inputs[ids].as<int64_t>();
  for (size_t t = 0; t < 26; ++t) {
    int64_t top = 0;
    for (int64_t b = 0; b < 2000; ++b) {
      ASSERT_GE(v[b * 26 + static_cast<int64_t>(t)], 0);
      ASSERT_LT(v[b * 26 + static_cast<int64_t>(t)], rows[t]) << "column " << t;
      top = std::max(top, v[b * 26 + static_cast<int64_t>(t)]);
    }
    if (rows[t] > 2 * smallest) {
      EXPECT_GE(top, smallest) << "column " << t << " stays below the smallest table";
    }
  }
}

// The DLRM reference's lS_o [T, B] / lS_i [T, L]: offsets that table_offsets accepts (each row
// starting at 0, within L), so the model runs on them (shape inference at least here).
TEST(RandomInputs, PerTableOffsetsAreValid) {
  const Graph graph = load_any_model(kGallery + "/dlrm_bag2d_torchscript.onnx");
  const std::vector<HostTensor> inputs = run::random_inputs(graph, 7, 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (graph.tensor(graph.inputs()[i]).name != "lS_o") continue;
    const int64_t* o = inputs[i].as<int64_t>();
    for (int64_t t = 0; t < inputs[i].dims[0]; ++t)
      for (int64_t b = 0; b < inputs[i].dims[1]; ++b) EXPECT_EQ(o[t * inputs[i].dims[1] + b], b);
    return;
  }
  FAIL() << "no input lS_o";
}

// bag_pooling's offsets hold B + 1 entries: every dynamic dimension taken as the batch does not fit,
// and the error says so and asks for the inputs (not a concat deep inside the run).
TEST(RandomInputs, ShapesThatDoNotFitAskForTheInputs) {
  const Graph graph = load_any_model(kGallery + "/bag_pooling_dynamo.onnx");
  const std::string error = testing::error_of([&] { run::random_inputs(graph, 64, 1); });
  EXPECT_NE(error.find("random inputs, every dynamic dimension 64, do not fit the model"), std::string::npos) << error;
  EXPECT_NE(error.find("--inputs=FILE.npz"), std::string::npos) << error;
}

}  // namespace
}  // namespace cagr
