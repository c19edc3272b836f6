// issue 23's two disagreements between plugins, end to end through the executor on every device
// built here: a NaN in a row's dense input makes that row's prediction NaN (it was 0.5156 on the CPU
// plugin, NaN on OpenCL), the other rows' predictions unchanged; and a batch of 0 rows runs and
// gives 0 predictions (it failed on OpenCL with "copy source is NULL").
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "model_zoo.hpp"
#include "sample_inputs.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::random_inputs;

TEST(SameAnswerEverywhere, NanInADenseInputGivesThatRowNanOnEveryDevice) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  std::vector<HostTensor> inputs = random_inputs(graph, 4, 9);
  const std::vector<HostTensor> clean = inputs;
  inputs[0].as<float>()[2 * 2 + 1] = std::numeric_limits<float>::quiet_NaN();  // dense [4, 2]: row 2
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label() + " (" + target.info.name + ")");
    CostHintPlacement policy;
    Executor exec(graph, {target}, dims_of(inputs), policy);
    const HostTensor want = exec.run(clean).at(0);
    const HostTensor got = exec.run(inputs).at(0);
    ASSERT_EQ(got.numel(), 4);
    for (int64_t row = 0; row < 4; ++row) {
      if (row == 2) EXPECT_TRUE(std::isnan(got.as<float>()[row])) << "row 2: " << got.as<float>()[row];
      else EXPECT_EQ(got.as<float>()[row], want.as<float>()[row]) << "row " << row;
    }
  }
}

TEST(SameAnswerEverywhere, AnEmptyBatchRunsOnEveryDevice) {
  const Graph graph = zoo::find_model("dlrm_avazu_sample").build(2026);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label() + " (" + target.info.name + ")");
    for (int64_t compiled_for : {int64_t{0}, int64_t{8}}) {
      CostHintPlacement policy;
      Executor exec(graph, {target}, dims_of(random_inputs(graph, compiled_for, 1)), policy);
      const std::vector<HostTensor> out = exec.run(random_inputs(graph, 0, 2));
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].dims, (Dims{0, 1})) << "compiled for batch " << compiled_for;
      EXPECT_EQ(exec.run(random_inputs(graph, 3, 3)).at(0).numel(), 3) << "and a batch of rows after it";
    }
  }
}

}  // namespace
}  // namespace cagr
