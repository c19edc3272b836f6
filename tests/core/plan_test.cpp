// Plans: saved and loaded without measuring, followed node by node, re-bound where a plugin or
// device is missing (same outputs), and plan files that are damaged or made for another model
// refused with the file and the reason named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "built_plugins.hpp"
#include "error_of.hpp"
#include "executor.hpp"
#include "inputs.hpp"
#include "model_format.hpp"
#include "model_zoo.hpp"
#include "npz.hpp"
#include "node_desc.hpp"
#include "plan.hpp"
#include "reference_graph.hpp"
#include "sample_inputs.hpp"

namespace cagr {
namespace {

using testing::dims_of;
using testing::error_of;
using testing::max_relative_error;
using testing::random_inputs;

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class Plans : public ::testing::Test {
 protected:
  void SetUp() override {
    cpu_ = testing::built_targets("cpu");
    ASSERT_FALSE(cpu_.empty()) << "the CPU plugin must load from " << CAGR_TEST_PLUGIN_DIR;
  }
  Plan plan_of(const Executor& e, const std::string& by = "hints") const {
    return make_plan(graph_, e, by);
  }
  const Graph graph_ = zoo::find_model("dlrm_avazu_sample").build(2026);
  const std::vector<HostTensor> inputs_ = random_inputs(graph_, 33, 5);
  std::vector<Target> cpu_;
};

TEST_F(Plans, SavedPlanLoadsAsItWasSaved) {
  CostHintPlacement hints;
  Executor exec(graph_, cpu_, dims_of(inputs_), hints);
  const Plan plan = plan_of(exec);
  save_plan(plan, temp_path("saved.plan.xml"));
  const Plan loaded = load_plan(temp_path("saved.plan.xml"));
  EXPECT_EQ(loaded.model_key, model_key(graph_));
  EXPECT_EQ(loaded.decided_by, "hints");
  EXPECT_EQ(loaded.fusions, exec.fusions());
  ASSERT_EQ(loaded.nodes.size(), exec.graph().nodes().size());
  for (size_t n = 0; n < loaded.nodes.size(); ++n) {
    EXPECT_EQ(loaded.nodes[n].node, exec.graph().nodes()[n].name);
    EXPECT_EQ(loaded.nodes[n].plugin, "cpu");
    EXPECT_EQ(loaded.nodes[n].variant, exec.placement().nodes[n].variant_name);
  }
}

// A plan that picks another variant than cost hints would is followed exactly, and the outputs
// stay the reference's.
TEST_F(Plans, LoadedPlanIsFollowedNodeByNode) {
  CostHintPlacement hints;
  Executor first(graph_, cpu_, dims_of(inputs_), hints);
  Plan plan = plan_of(first);
  int changed = 0;
  for (size_t n = 0; n < plan.nodes.size(); ++n) {  // a variant other than the hints' choice, where a node has several
    const Node& node = first.graph().nodes()[n];
    if (first.graph().is_view(static_cast<int>(n))) continue;
    const OpSupport support = cpu_[0].plugin->query(0, describe_node(node, infer_shapes(first.graph(), dims_of(inputs_))).desc());
    for (const Variant& v : support.variants)
      if (v.name != first.placement().nodes[n].variant_name) {
        plan.nodes[n].variant = v.name;
        ++changed;
        break;
      }
  }
  ASSERT_GT(changed, 0) << "no node of the sample model has a second variant on the CPU plugin";
  PlannedPlacement planned(plan);
  Executor second(graph_, cpu_, dims_of(inputs_), planned);
  EXPECT_TRUE(planned.warnings().empty()) << planned.warnings().front();
  for (size_t n = 0; n < plan.nodes.size(); ++n) EXPECT_EQ(second.placement().nodes[n].variant_name, plan.nodes[n].variant) << plan.nodes[n].node;
  EXPECT_LT(max_relative_error(second.run(inputs_)[0], testing::run_reference(graph_, inputs_)[0]), 1e-5);
}

// A plan made where a GPU plugin ran the linears, loaded where only the CPU plugin is: the linears
// are re-bound by cost hints, a warning names them, and the outputs are the same.
TEST_F(Plans, PlanFromAnotherMachineIsReboundWithWarning) {
  CostHintPlacement hints;
  Executor here(graph_, cpu_, dims_of(inputs_), hints);
  save_plan(plan_of(here), temp_path("cpu.plan.xml"));
  const std::string gpu_plan = std::regex_replace(read_file(temp_path("cpu.plan.xml")),
                                                  std::regex("op=\"linear\" plugin=\"cpu\" device=\"0\" device_name=\"[^\"]*\" variant=\"[^\"]*\""),
                                                  "op=\"linear\" plugin=\"cuda\" device=\"0\" device_name=\"NVIDIA H200\" variant=\"wgmma_64x64\"");
  ASSERT_NE(gpu_plan, read_file(temp_path("cpu.plan.xml")));
  write_file(temp_path("gpu.plan.xml"), gpu_plan);
  const Plan plan = load_plan(temp_path("gpu.plan.xml"));
  check_plan_fits(plan, graph_, temp_path("gpu.plan.xml"));
  PlannedPlacement planned(plan);
  Executor there(graph_, cpu_, dims_of(inputs_), planned);
  ASSERT_FALSE(planned.warnings().empty());
  EXPECT_NE(planned.warnings().front().find("plan re-bound: 5 of"), std::string::npos) << planned.warnings().front();
  EXPECT_NE(planned.warnings()[1].find("cuda:0 (NVIDIA H200), which is not here"), std::string::npos) << planned.warnings()[1];
  EXPECT_EQ(max_relative_error(there.run(inputs_)[0], here.run(inputs_)[0]), 0.0);
}

// A plan the tuner made with the CUDA plugin on the H100 machine (bench/gpu_session.sh tests: the
// zoo's sample DLRM of seed 2026, batch 33; its inputs and CUDA's outputs beside it in
// tests/core/fixtures), loaded where only the CPU plugin is: every node is re-bound (the fused
// embedding lookup the CUDA plugin ran does not exist here), a warning says so in one line and then
// node by node, and the outputs are CUDA's.
TEST_F(Plans, PlanSavedWithTheCudaPluginRunsOnTheCpuWithCudasOutputs) {
  const std::string fixtures = CAGR_CORE_FIXTURE_DIR;
  const std::string file = fixtures + "/dlrm_avazu_sample.cuda.plan.xml";
  // As cagr-zoo wrote it and cagr-run read it there (a model file keys a plan by its structure).
  std::filesystem::create_directories(temp_path("cuda_plan_model"));
  save_model(zoo::find_model("dlrm_avazu_sample").build(2026), temp_path("cuda_plan_model/model.xml"));
  const Graph graph = load_model(temp_path("cuda_plan_model/model.xml"));
  const std::vector<HostTensor> inputs =
      run::inputs_from_arrays(graph, data::read_npz(fixtures + "/dlrm_avazu_sample.b33.inputs.npz"), "inputs.npz");
  const HostTensor cuda_prob = run::tensor_from_npy(
      data::read_npz(fixtures + "/dlrm_avazu_sample.b33.cuda_outputs.npz").at("prob"), "prob", "cuda_outputs.npz");
  const Plan plan = load_plan(file);
  EXPECT_EQ(plan.decided_by, "tune");
  ASSERT_FALSE(plan.nodes.empty());
  EXPECT_EQ(plan.nodes.front().plugin, "cuda");
  check_plan_fits(plan, graph, file);
  PlannedPlacement planned(plan);
  Executor here(graph, cpu_, dims_of(inputs), planned);
  ASSERT_GE(planned.warnings().size(), 2u);
  EXPECT_NE(planned.warnings().front().find("plan re-bound: 7 of 7 nodes"), std::string::npos) << planned.warnings().front();
  bool names_the_gpu = false;
  for (const std::string& w : planned.warnings()) names_the_gpu |= w.find("cuda:0 (NVIDIA H100 80GB HBM3), which is not here") != std::string::npos;
  EXPECT_TRUE(names_the_gpu) << planned.warnings()[1];
  for (const NodePlacement& p : here.placement().nodes) EXPECT_EQ(cpu_.at(static_cast<size_t>(p.target)).plugin->name(), "cpu");
  const HostTensor prob = here.run(inputs)[0];
  ASSERT_EQ(prob.dims, cuda_prob.dims);
  EXPECT_LT(max_relative_error(prob, cuda_prob), 1e-5);
}

TEST_F(Plans, PlanForAnotherModelIsRefused) {
  CostHintPlacement hints;
  Executor exec(graph_, cpu_, dims_of(inputs_), hints);
  save_plan(plan_of(exec), temp_path("sample.plan.xml"));
  const Graph other = zoo::find_model("dlrm_avazu_sample").build(2026);  // same structure: fits
  EXPECT_NO_THROW(check_plan_fits(load_plan(temp_path("sample.plan.xml")), other, "p"));
  const Graph deepfm = zoo::find_model("deepfm_avazu").build(1);
  const std::string error = error_of([&] { check_plan_fits(load_plan(temp_path("sample.plan.xml")), deepfm, "sample.plan.xml"); });
  EXPECT_NE(error.find("sample.plan.xml: the plan was made for another model"), std::string::npos) << error;
}

TEST_F(Plans, DamagedPlanFilesAreRefusedWithTheReason) {
  CostHintPlacement hints;
  Executor exec(graph_, cpu_, dims_of(inputs_), hints);
  save_plan(plan_of(exec), temp_path("good.plan.xml"));
  const std::string good = read_file(temp_path("good.plan.xml"));
  const std::vector<std::pair<std::string, std::string>> damages = {
      {std::regex_replace(good, std::regex("variant="), "varient=", std::regex_constants::format_first_only), "has no attribute 'varient'"},
      {std::regex_replace(good, std::regex("<node "), "<nod ", std::regex_constants::format_first_only), "unknown element <nod>"},
      {std::regex_replace(good, std::regex("version=\"1\""), "version=\"7\""), "plan version 7"},
      {std::regex_replace(good, std::regex(" device=\"0\""), " device=\"-2\"", std::regex_constants::format_first_only), "device index >= 0"},
      {good.substr(0, good.size() / 2), "not a plan file"},
      {"<model/>", "the root element must be <plan>"},
  };
  for (const auto& [text, reason] : damages) {
    write_file(temp_path("damaged.plan.xml"), text);
    const std::string error = error_of([&] { load_plan(temp_path("damaged.plan.xml")); });
    EXPECT_NE(error.find("damaged.plan.xml"), std::string::npos) << error;
    EXPECT_NE(error.find(reason), std::string::npos) << error;
  }
  EXPECT_NE(error_of([&] { load_plan(temp_path("missing.plan.xml")); }).find("no such plan file"), std::string::npos);
}

}  // namespace
}  // namespace cagr
