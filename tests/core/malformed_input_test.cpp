// Bad input never crashes: model files damaged at random (seeded, so a failure replays) either
// load or fail with an error that names the file; under the sanitizers this also proves no
// out-of-bounds read on the way.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "model_format.hpp"
#include "model_loading.hpp"
#include "model_zoo.hpp"
#include "random_damage.hpp"

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
