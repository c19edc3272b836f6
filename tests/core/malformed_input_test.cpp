// Bad input never crashes: model files damaged at random (seeded, so a failure replays) either
// load or fail with an error that names the file; under the sanitizers this also proves no
// out-of-bounds read on the way.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "model_format.hpp"
#include "model_loading.hpp"
#include "model_zoo.hpp"
#include "random_damage.hpp"
#include "sample_inputs.hpp"

namespace cagr {
namespace {

using testing::slurp;
using testing::spit;

std::string damage(const std::string& text, std::mt19937_64& rng) {
  return testing::damage(text, rng, "<>\"=,?-0123456789az/ \n", 16);
}

class MalformedInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cagr_malformed_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(MalformedInput, DamagedModelXmlLoadsOrNamesTheFile) {
  const std::filesystem::path xml = dir_ / "model.xml";
  save_model(zoo::dlrm("small", {"avazu", 4, 50, {8, 4}, {8}, "sum"}, 1), xml.string());
  const std::string original = slurp(xml);
  std::mt19937_64 rng(20261127);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    spit(xml, damage(original, rng));
    try {
      load_model(xml.string());
    } catch (const std::runtime_error& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find("model.xml"), std::string::npos) << "trial " << trial << ": " << e.what();
    }
  }
  EXPECT_GT(refused, 150) << "most random damage must be caught";
}

TEST_F(MalformedInput, DamagedWeightsAreCaughtBySize) {
  const std::filesystem::path xml = dir_ / "model.xml";
  save_model(zoo::dlrm("small", {"avazu", 4, 50, {8, 4}, {8}, "sum"}, 1), xml.string());
  const std::string weights = slurp(dir_ / "model.bin");
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    spit(dir_ / "model.bin", weights.substr(0, rng() % weights.size()));  // cut short
    EXPECT_THROW(load_model(xml.string()), std::runtime_error) << "trial " << trial;
  }
}

// The model files' own checks (strict XML, per-constant CRC-32, the weights file's size) leave no
// silent change: a damaged pair of files either fails to load, naming the file, or runs to exactly
// the undamaged model's predictions. Here 294 of the 300 are refused and 6 run unchanged; the
// reader before these checks ran 50 of them with changed predictions.
TEST_F(MalformedInput, DamagedModelFilesNeverRunWithChangedPredictions) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty()) << "the CPU plugin must load in " << CAGR_TEST_PLUGIN_DIR;
  const std::filesystem::path xml = dir_ / "model.xml", bin = dir_ / "model.bin";
  save_model(zoo::dlrm("small", {"avazu", 4, 50, {8, 4}, {8}, "sum"}, 1), xml.string());
  const std::string original_xml = slurp(xml), original_bin = slurp(bin);
  auto predict = [&](const Graph& graph) {
    CostHintPlacement policy;
    const auto inputs = testing::random_inputs(graph, 16, 3);
    Executor exec(graph, cpu, testing::dims_of(inputs), policy);
    return exec.run(inputs).at(0);
  };
  const HostTensor expected = predict(load_model(xml.string()));

  std::mt19937_64 rng(20261207);
  int refused = 0, ran_unchanged = 0, ran_changed = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const bool damage_weights = trial % 2 == 1;
    spit(xml, damage_weights ? original_xml : damage(original_xml, rng));
    spit(bin, damage_weights ? testing::damage(original_bin, rng, std::string("\x00\x01\x7f\x80\xff", 5), 64) : original_bin);
    Graph graph;
    try {
      graph = load_model(xml.string());
    } catch (const std::runtime_error& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find("model.xml"), std::string::npos) << "trial " << trial << ": " << e.what();
      continue;
    }
    HostTensor got;
    try {
      got = predict(graph);
    } catch (const std::exception& e) {
      ++refused;  // e.g. an input declared with a fixed batch that the test's inputs do not have
      continue;
    }
    const bool same = got.dims == expected.dims && got.data == expected.data;
    (same ? ran_unchanged : ran_changed) += 1;
    EXPECT_TRUE(same) << "trial " << trial << " ran with changed predictions";
  }
  EXPECT_EQ(ran_changed, 0);
  EXPECT_GT(refused, 250) << ran_unchanged << " ran unchanged";
}

TEST_F(MalformedInput, TruncatedOnnxFilesAreRefused) {
  const std::string onnx = slurp(std::string(CAGR_ONNX_FIXTURE_DIR) + "/dlrm_kaggle_small_torchscript.onnx");
  ASSERT_FALSE(onnx.empty());
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const std::filesystem::path path = dir_ / "model.onnx";
    spit(path, damage(onnx, rng));
    try {
      load_any_model(path.string());
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("model.onnx"), std::string::npos) << "trial " << trial << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace cagr
