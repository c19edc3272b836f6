// opencl_plugin_test.cpp - the OpenCL plugin's own behaviour beyond the conformance harness.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"
#include "reference_ops.hpp"

namespace {

using OpDesc = cagr::abi::OwnedOpDesc;

// A fresh, empty folder for one test's disk cache.
std::string fresh_folder(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("cagr_opencl_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

std::shared_ptr<cagr::Plugin> load(const std::string& cache_dir = "") {
  cagr::Options options;
  if (!cache_dir.empty()) options.emplace_back("cache_dir", cache_dir);
  return cagr::Plugin::load(CAGR_OPENCL_PLUGIN_PATH, options);
}

// An embedding_bag of `tables` tables with random rows and bags of random length.
struct EmbeddingBagCase {
  OpDesc op{"embedding_bag"};
  std::vector<int64_t> indices, offsets;
  std::vector<std::vector<float>> tables;
  int64_t batch, dim;

  EmbeddingBagCase(std::mt19937_64& rng, const std::vector<int64_t>& rows, int64_t batch_, int64_t dim_) : batch(batch_), dim(dim_) {
    std::uniform_real_distribution<float> value(-1, 1);
    std::uniform_int_distribution<int64_t> length(0, 5);
    offsets.push_back(0);
    for (int64_t row_count : rows) {
      tables.emplace_back(static_cast<size_t>(row_count * dim));
      for (float& v : tables.back()) v = value(rng);
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t n = length(rng);
        for (int64_t i = 0; i < n; ++i) indices.push_back(std::uniform_int_distribution<int64_t>(0, row_count - 1)(rng));
        offsets.push_back(static_cast<int64_t>(indices.size()));
      }
    }
    op.input(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}).input(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())});
    for (int64_t row_count : rows) op.input(CAGR_DTYPE_F32, {row_count, dim});
    op.output(CAGR_DTYPE_F32, {batch, static_cast<int64_t>(rows.size()), dim});
  }

  std::vector<float> reference() {
    std::vector<const void*> inputs = {indices.data(), offsets.data()};
    for (auto& t : tables) inputs.push_back(t.data());
    std::vector<float> out(static_cast<size_t>(batch * dim) * tables.size());
    void* outputs[] = {out.data()};
    cagr::reference::run(op.desc(), inputs.data(), outputs);
    return out;
  }

  // Runs variant `variant` on device 0; tables are constants when `constant_tables`, else inputs of the run.
  std::vector<float> run(cagr::Plugin& plugin, int variant, bool constant_tables) {
    std::vector<cagr_constant> constants;
    if (constant_tables) {
      for (size_t t = 0; t < tables.size(); ++t) {
        auto c = cagr::abi::make_struct<cagr_constant>();
        c.input_index = t + 2;
        c.data = tables[t].data();
        constants.push_back(c);
      }
    }
    cagr::Kernel kernel = plugin.create_kernel(0, op.desc(), variant, constants);
    cagr::Stream stream = plugin.create_stream(0);
    std::vector<cagr::Buffer> buffers;
    std::vector<cagr_buffer*> inputs;
    std::vector<cagr_tensor_desc> descs;
    auto upload = [&](const void* data, uint64_t bytes, const cagr_tensor_desc& desc) {
      buffers.push_back(plugin.alloc(0, std::max<uint64_t>(bytes, 1)));
      if (bytes > 0) buffers.back().copy_from_host(stream, data, bytes);
      inputs.push_back(buffers.back().get());
      descs.push_back(desc);
    };
    upload(indices.data(), indices.size() * 8, op.inputs()[0]);
    upload(offsets.data(), offsets.size() * 8, op.inputs()[1]);
    if (!constant_tables)
      for (size_t t = 0; t < tables.size(); ++t) upload(tables[t].data(), tables[t].size() * 4, op.inputs()[t + 2]);
    std::vector<float> out(static_cast<size_t>(batch * dim) * tables.size());
    cagr::Buffer output = plugin.alloc(0, out.size() * 4);
    kernel.run(stream, inputs, descs, {output.get()}, op.outputs());
    output.copy_to_host(stream, out.data(), out.size() * 4);
    stream.synchronize();
    return out;
  }
};

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i])) << where << " at " << i;
}

class OpenClPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = load();
    if (plugin_->device_count() == 0) GTEST_SKIP() << "no OpenCL device here";
  }
  std::shared_ptr<cagr::Plugin> plugin_;
};

// Tables that come with each run are packed into one buffer at every run: same results.
TEST_F(OpenClPlugin, TablesGivenPerRunMatchReference) {
  std::mt19937_64 rng(std::random_device{}());
  EmbeddingBagCase c(rng, {13, 1, 40}, 7, 12);
  const std::vector<float> want = c.reference();
  const auto support = plugin_->query(0, c.op.desc());
  ASSERT_TRUE(support.supported) << support.reason;
  for (const auto& v : support.variants) expect_near_all(c.run(*plugin_, v.index, false), want, v.name + ", tables per run");
}

// Offsets that go backwards are found on the device and reported at synchronize, naming the
// op and the position; the stream is usable afterwards.
TEST_F(OpenClPlugin, DecreasingOffsetsAreReported) {
  std::mt19937_64 rng(std::random_device{}());
  // Tables of equal size: moving bag boundaries below leaves every index in range.
  EmbeddingBagCase c(rng, {30, 30}, 6, 8);
  c.indices.push_back(0);  // room for the bag made longer below
  c.op.inputs()[0].dims[0] = static_cast<int64_t>(c.indices.size());
  for (size_t i = 0; i + 1 < c.offsets.size(); ++i) c.offsets[i] = std::min<int64_t>(c.offsets[i], c.offsets.back());
  c.offsets.back() = static_cast<int64_t>(c.indices.size());
  c.offsets[3] = c.offsets[4] + 1;  // bag 3 ends before it starts
  try {
    c.run(*plugin_, 0, true);
    FAIL() << "no error for offsets[3] = " << c.offsets[3] << " > offsets[4] = " << c.offsets[4];
  } catch (const cagr::Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find("embedding_bag"), std::string::npos) << message;
    EXPECT_NE(message.find("offsets"), std::string::npos) << message;
    EXPECT_NE(message.find("position 4"), std::string::npos) << message;
  }
  EmbeddingBagCase good(rng, {20, 30}, 6, 8);
  expect_near_all(good.run(*plugin_, 0, true), good.reference(), "after the fault");
}

// A second process finds programs and measured speeds in the cache; a damaged cached binary is
// rebuilt from source instead of failing.
TEST(OpenClDiskCache, CachedAndDamagedBinariesBothWork) {
  const std::string folder = fresh_folder("cache");
  std::mt19937_64 rng(std::random_device{}());
  EmbeddingBagCase c(rng, {9, 17}, 5, 8);
  const std::vector<float> want = c.reference();
  {
    auto plugin = load(folder);
    if (plugin->device_count() == 0) GTEST_SKIP() << "no OpenCL device here";
    EXPECT_GT(plugin->device(0).memory_bandwidth_gbps, 0);
    expect_near_all(c.run(*plugin, 0, true), want, "cold cache");
  }
  int programs = 0, speeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("program-", 0) == 0) {
      ++programs;
      std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << "not a binary";
    }
    if (name.rfind("speed-", 0) == 0) ++speeds;
  }
  EXPECT_GE(programs, 2) << "the probe's and embedding_bag's programs should be cached in " << folder;
  EXPECT_EQ(speeds, 1) << folder;
  auto plugin = load(folder);
  expect_near_all(c.run(*plugin, 0, true), want, "damaged cache");
  std::filesystem::remove_all(folder);
}

// With no OpenCL ICD at all, the plugin still loads and reports zero devices.
TEST(OpenClNoPlatform, LoadsWithZeroDevices) {
  const std::string empty = fresh_folder("no_icd");
  ::setenv("OCL_ICD_VENDORS", empty.c_str(), 1);
  ::unsetenv("OCL_ICD_FILENAMES");  // the ICD loader's other source of drivers
  std::string logged;
  auto plugin = cagr::Plugin::load(CAGR_OPENCL_PLUGIN_PATH, {},
                                   [&](cagr_log_level, const std::string&, const std::string& message) { logged += message + "\n"; });
  EXPECT_EQ(plugin->device_count(), 0);
  EXPECT_NE(logged.find("no OpenCL platform"), std::string::npos) << logged;
  std::filesystem::remove_all(empty);
}

}  // namespace
