// opencl_plugin_test.cpp - the OpenCL plugin's own behaviour beyond the conformance harness.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
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

// ---- the general tensor ops (OPS.md: any dim may change between kernel_create and kernel_run) ----

using Bytes = std::vector<uint8_t>;

size_t bytes_of(const cagr_tensor_desc& desc) { return cagr::plugin::Shape(&desc).bytes(); }

template <class T>
Bytes bytes_of_values(const std::vector<T>& values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}

// `count` values of `dtype`: small integers (any bits for 2-byte types), f32 with fractions.
Bytes random_values(std::mt19937_64& rng, cagr_dtype dtype, size_t count, int64_t lo = -50, int64_t hi = 50) {
  Bytes out(count * cagr::abi::dtype_size(dtype));
  for (size_t i = 0; i < count; ++i) {
    const int64_t v = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    switch (dtype) {
      case CAGR_DTYPE_F32: { const float f = static_cast<float>(v) / 4; std::memcpy(&out[i * 4], &f, 4); break; }
      case CAGR_DTYPE_I32: { const int32_t x = static_cast<int32_t>(v); std::memcpy(&out[i * 4], &x, 4); break; }
      case CAGR_DTYPE_I64: std::memcpy(&out[i * 8], &v, 8); break;
      case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: { const uint16_t x = static_cast<uint16_t>(rng()); std::memcpy(&out[i * 2], &x, 2); break; }
      default: out[i] = static_cast<uint8_t>(v); break;
    }
  }
  return out;
}

// Creates `create` on device 0 (variant 0, no constants), runs it with `run`'s shapes on `inputs`,
// and returns the outputs (synchronized, so device-side faults throw here).
std::vector<Bytes> run_tensor_op(cagr::Plugin& plugin, OpDesc create, OpDesc run, const std::vector<Bytes>& inputs) {
  const auto support = plugin.query(0, create.desc());
  if (!support.supported) throw std::runtime_error("op_query refuses " + std::string(create.type()) + ": " + support.reason);
  cagr::Kernel kernel = plugin.create_kernel(0, create.desc(), 0, {});
  cagr::Stream stream = plugin.create_stream(0);
  std::vector<cagr::Buffer> buffers;
  std::vector<cagr_buffer*> in, out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    buffers.push_back(plugin.alloc(0, std::max<uint64_t>(inputs[i].size(), 1)));
    if (!inputs[i].empty()) buffers.back().copy_from_host(stream, inputs[i].data(), inputs[i].size());
    in.push_back(buffers.back().get());
  }
  std::vector<Bytes> results;
  for (const auto& desc : run.outputs()) {
    results.emplace_back(bytes_of(desc));
    buffers.push_back(plugin.alloc(0, std::max<uint64_t>(results.back().size(), 1)));
    out.push_back(buffers.back().get());
  }
  kernel.run(stream, in, run.inputs(), out, run.outputs());
  for (size_t o = 0; o < results.size(); ++o)
    if (!results[o].empty()) buffers[inputs.size() + o].copy_to_host(stream, results[o].data(), results[o].size());
  stream.synchronize();
  return results;
}

std::vector<Bytes> run_reference(OpDesc op, const std::vector<Bytes>& inputs) {
  std::vector<const void*> in;
  for (const Bytes& b : inputs) in.push_back(b.data());
  std::vector<Bytes> results;
  std::vector<void*> out;
  for (const auto& desc : op.outputs()) results.emplace_back(bytes_of(desc) + 1);  // + 1: never a null pointer
  for (Bytes& r : results) out.push_back(r.data());
  cagr::reference::run(op.desc(), in.data(), out.data());
  for (size_t o = 0; o < results.size(); ++o) results[o].resize(bytes_of(op.outputs()[o]));
  return results;
}

// Output bytes equal, f32 outputs within OPS.md's tolerance.
void expect_same_outputs(const OpDesc& op, const std::vector<Bytes>& got, const std::vector<Bytes>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size()) << where << " output " << o;
    if (op.outputs()[o].dtype != CAGR_DTYPE_F32) {
      EXPECT_TRUE(got[o] == want[o]) << where << " output " << o << " differs from the reference";
      continue;
    }
    std::vector<float> g(got[o].size() / 4), w(g.size());
    std::memcpy(g.data(), got[o].data(), got[o].size());
    std::memcpy(w.data(), want[o].data(), want[o].size());
    expect_near_all(g, w, where + " output " + std::to_string(o));
  }
}

// One op created with one set of shapes and run with another (rank included), against the reference.
struct ShapeChange {
  std::string label;
  OpDesc create, run;
};

std::vector<ShapeChange> shape_changes() {
  using cagr::abi::OwnedOpDesc;
  constexpr auto F32 = CAGR_DTYPE_F32, I32 = CAGR_DTYPE_I32, I64 = CAGR_DTYPE_I64, U8 = CAGR_DTYPE_U8, BF16 = CAGR_DTYPE_BF16;
  std::vector<ShapeChange> out;
  auto add = [&](const std::string& label, OpDesc create, OpDesc run) { out.push_back({label, std::move(create), std::move(run)}); };
  add("transpose perm [2, 0, 1]",
      OpDesc("transpose").input(F32, {3, 5, 7}).output(F32, {7, 3, 5}).attr("perm", std::vector<int64_t>{2, 0, 1}),
      OpDesc("transpose").input(F32, {33, 2, 9}).output(F32, {9, 33, 2}).attr("perm", std::vector<int64_t>{2, 0, 1}));
  add("transpose default perm, rank 2 -> 4",
      OpDesc("transpose").input(I64, {4, 6}).output(I64, {6, 4}),
      OpDesc("transpose").input(I64, {2, 3, 5, 7}).output(I64, {7, 5, 3, 2}));
  auto slice = [](cagr_dtype dtype, std::vector<int64_t> in, std::vector<int64_t> result) {
    return OpDesc("slice").input(dtype, in).output(dtype, result).attr("starts", std::vector<int64_t>{1, -2})
        .attr("ends", std::vector<int64_t>{1000, 0}).attr("axes", std::vector<int64_t>{0, 1}).attr("steps", std::vector<int64_t>{2, -1});
  };
  add("slice rows from 1 by 2, columns reversed from -2", slice(U8, {10, 8}, {5, 6}), slice(U8, {13, 3}, {6, 1}));
  add("expand [3, 1] to [1, 4]",
      OpDesc("expand").input(I32, {3, 1}).output(I32, {3, 4}).attr("shape", std::vector<int64_t>{1, 4}),
      OpDesc("expand").input(I32, {2, 7, 1}).output(I32, {2, 7, 4}).attr("shape", std::vector<int64_t>{1, 4}));
  add("take axis 1",
      OpDesc("take").input(F32, {4, 10, 3}).input(I64, {5}).output(F32, {4, 5, 3}).attr("axis", int64_t{1}),
      OpDesc("take").input(F32, {2, 30, 7}).input(I64, {3, 4}).output(F32, {2, 3, 4, 7}).attr("axis", int64_t{1}));
  add("take axis 0, 2-byte elements",
      OpDesc("take").input(BF16, {10, 4}).input(I32, {6}).output(BF16, {6, 4}),
      OpDesc("take").input(BF16, {50}).input(I32, {2, 9}).output(BF16, {2, 9}));
  add("fixed_bag_offsets bag_size 2",
      OpDesc("fixed_bag_offsets").input(I64, {6, 2}).output(I64, {7}).attr("bag_size", int64_t{2}),
      OpDesc("fixed_bag_offsets").input(I64, {3, 9, 2}).output(I64, {28}).attr("bag_size", int64_t{2}));
  add("table_offsets T, B and L",
      OpDesc("table_offsets").input(I32, {2, 3}).input(I64, {2, 5}).output(I64, {7}),
      OpDesc("table_offsets").input(I32, {3, 4}).input(I64, {3, 7}).output(I64, {13}));
  add("elementwise add, broadcast both ways",
      OpDesc("elementwise").input(F32, {4, 1}).input(F32, {1, 5}).output(F32, {4, 5}).attr("fn", "add"),
      OpDesc("elementwise").input(F32, {2, 3, 1}).input(F32, {7}).output(F32, {2, 3, 7}).attr("fn", "add"));
  add("elementwise less i64",
      OpDesc("elementwise").input(I64, {5}).input(I64, {5}).output(U8, {5}).attr("fn", "less"),
      OpDesc("elementwise").input(I64, {3, 1}).input(I64, {1, 4}).output(U8, {3, 4}).attr("fn", "less"));
  add("elementwise where bf16",
      OpDesc("elementwise").input(U8, {4, 1}).input(BF16, {4, 3}).input(BF16, {}).output(BF16, {4, 3}).attr("fn", "where"),
      OpDesc("elementwise").input(U8, {6}).input(BF16, {2, 6}).input(BF16, {1}).output(BF16, {2, 6}).attr("fn", "where"));
  return out;
}

// Valid inputs for `op`: table_offsets' offsets start each row at 0 and stay in 0..L; take's
// indices lie in [-len, len); where's conditions are 0 or 1.
std::vector<Bytes> valid_inputs(std::mt19937_64& rng, const OpDesc& op) {
  const std::string type = op.type();
  std::vector<Bytes> inputs;
  for (size_t i = 0; i < op.inputs().size(); ++i) {
    const cagr::plugin::Shape shape(&op.inputs()[i]);
    const size_t n = static_cast<size_t>(shape.numel());
    if (type == "take" && i == 1) {
      const int64_t len = op.inputs()[0].dims[op.inputs()[0].rank == 3 ? 1 : 0];
      inputs.push_back(random_values(rng, shape.dtype, n, -len, len - 1));
    } else if (type == "table_offsets" && i == 0) {
      const int64_t tables = shape.dims[0], batch = shape.dims[1], length = op.inputs()[1].dims[1];
      std::vector<int64_t> offsets;
      for (int64_t t = 0; t < tables; ++t) {
        std::vector<int64_t> row{0};
        for (int64_t b = 1; b < batch; ++b) row.push_back(std::uniform_int_distribution<int64_t>(0, length)(rng));
        std::sort(row.begin(), row.end());
        offsets.insert(offsets.end(), row.begin(), row.end());
      }
      Bytes bytes(n * 4);
      for (size_t k = 0; k < n; ++k) {
        const int32_t v = static_cast<int32_t>(offsets[k]);
        std::memcpy(&bytes[k * 4], &v, 4);
      }
      inputs.push_back(bytes);
    } else if (type == "elementwise" && i == 0 && op.inputs().size() == 3) {
      inputs.push_back(random_values(rng, shape.dtype, n, 0, 1));
    } else {
      inputs.push_back(random_values(rng, shape.dtype, n));
    }
  }
  return inputs;
}

TEST_F(OpenClPlugin, TensorOpsRunShapesThatDifferFromTheCreatedOnes) {
  std::mt19937_64 rng(std::random_device{}());
  for (const ShapeChange& c : shape_changes()) {
    const std::vector<Bytes> inputs = valid_inputs(rng, c.run);
    try {
      expect_same_outputs(c.run, run_tensor_op(*plugin_, c.create, c.run, inputs), run_reference(c.run, inputs), c.label);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.label << ": " << e.what();
    }
  }
}

// cast where ONNX leaves the result undefined and OPS.md does not: f32 to an integer truncates toward
// zero and saturates, NaN giving 0; an integer to a narrower one keeps the low bits; to f32 rounds
// to the nearest. Compared with the reference bit for bit.
TEST_F(OpenClPlugin, CastSaturatesTruncatesAndWraps) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> floats = {nan, inf, -inf, 3e9f, -3e9f, 1e20f, -1e20f, -1.75f, 1.75f, 255.9f, 256.f, -129.f,
                                     -0.5f, 127.5f, 2147483520.f, -2147483648.f, 9.2233715e18f, -9.2233720e18f};
  const std::vector<int64_t> longs = {0, -1, 255, 256, -129, 128, 2147483648LL, -2147483649LL, (1LL << 40) + 1,
                                      std::numeric_limits<int64_t>::lowest(), std::numeric_limits<int64_t>::max(), 16777217};
  const std::vector<std::pair<cagr_dtype, Bytes>> sources = {
      {CAGR_DTYPE_F32, bytes_of_values(floats)},
      {CAGR_DTYPE_I64, bytes_of_values(longs)},
      {CAGR_DTYPE_I32, bytes_of_values(std::vector<int32_t>{0, -1, 255, 256, -129, 128, 16777217, -16777217,
                                                            std::numeric_limits<int32_t>::lowest(), std::numeric_limits<int32_t>::max()})},
      {CAGR_DTYPE_I8, bytes_of_values(std::vector<int8_t>{0, -1, 127, -128, 5})},
      {CAGR_DTYPE_U8, bytes_of_values(std::vector<uint8_t>{0, 1, 127, 128, 255})}};
  for (const auto& [from, data] : sources) {
    const int64_t n = static_cast<int64_t>(data.size() / cagr::abi::dtype_size(from));
    for (cagr_dtype to : {CAGR_DTYPE_F32, CAGR_DTYPE_I32, CAGR_DTYPE_I64, CAGR_DTYPE_U8, CAGR_DTYPE_I8}) {
      const OpDesc op = OpDesc("cast").input(from, {n}).output(to, {n}).attr("to", cagr::abi::dtype_name(to));
      const std::string label = std::string("cast ") + cagr::abi::dtype_name(from) + " -> " + cagr::abi::dtype_name(to);
      try {
        const std::vector<Bytes> got = run_tensor_op(*plugin_, op, op, {data}), want = run_reference(op, {data});
        EXPECT_TRUE(got == want) << label << " differs from the reference";
      } catch (const std::exception& e) {
        ADD_FAILURE() << label << ": " << e.what();
      }
    }
  }
}

// f32 element-wise functions on NaNs, infinities and signed zeros, as the reference computes them:
// max and min propagate a NaN from either operand, comparisons with a NaN are false, sqrt and log
// outside their domain give NaN, and so on.
TEST_F(OpenClPlugin, ElementwiseSpecialValuesAsTheReference) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a = {nan, 1.f, nan, -inf, inf, 0.f, -0.f, 2.f, -1.f, 0.f, 100.f, -2.5f, 1e-40f};
  const std::vector<float> b = {1.f, nan, nan, 5.f, inf, -0.f, 0.f, -inf, 0.5f, -1.f, 3.f, 2.f, 2.f};
  const int64_t n = static_cast<int64_t>(a.size());
  for (const char* fn : {"neg", "abs", "sqrt", "exp", "log", "tanh", "reciprocal", "floor", "ceil", "add", "sub", "mul", "div", "pow",
                         "max", "min", "equal", "less", "greater", "less_or_equal", "greater_or_equal"}) {
    OpDesc op("elementwise");
    op.input(CAGR_DTYPE_F32, {n});
    const bool binary = std::string("add sub mul div pow max min equal less greater less_or_equal greater_or_equal").find(fn) != std::string::npos;
    const bool compares = std::string(fn).find("less") != std::string::npos || std::string(fn).find("greater") != std::string::npos ||
                          std::string(fn) == "equal";
    if (binary) op.input(CAGR_DTYPE_F32, {n});
    op.output(compares ? CAGR_DTYPE_U8 : CAGR_DTYPE_F32, {n}).attr("fn", fn);
    std::vector<Bytes> inputs{bytes_of_values(a)};
    if (binary) inputs.push_back(bytes_of_values(b));
    try {
      const std::vector<Bytes> got = run_tensor_op(*plugin_, op, op, inputs), want = run_reference(op, inputs);
      if (compares) {
        EXPECT_TRUE(got == want) << fn;
        continue;
      }
      std::vector<float> g(a.size()), w(a.size());
      std::memcpy(g.data(), got[0].data(), got[0].size());
      std::memcpy(w.data(), want[0].data(), want[0].size());
      for (size_t i = 0; i < g.size(); ++i) {
        const bool same = (std::isnan(g[i]) && std::isnan(w[i])) || g[i] == w[i] ||
                          std::fabs(double{g[i]} - w[i]) <= 1e-6 + 1e-5 * std::fabs(double{w[i]});
        EXPECT_TRUE(same) << fn << "(" << a[i] << (binary ? ", " + std::to_string(b[i]) : std::string()) << "): got " << g[i]
                          << ", the reference " << w[i];
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << fn << ": " << e.what();
    }
  }
}

// A device-side fault of a tensor op fails the run with INVALID_ARGUMENT naming the op, position
// and value (at synchronize); the plugin then runs the next op correctly.
void expect_fault(cagr::Plugin& plugin, const OpDesc& op, const std::vector<Bytes>& inputs,
                  const std::vector<std::string>& phrases) {
  try {
    run_tensor_op(plugin, op, op, inputs);
    ADD_FAILURE() << op.type() << ": no error; expected one with: " << phrases.front();
  } catch (const cagr::Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << e.what();
    for (const std::string& phrase : phrases) EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
  }
  std::mt19937_64 rng(7);
  const ShapeChange after = shape_changes().front();
  const std::vector<Bytes> good = valid_inputs(rng, after.run);
  expect_same_outputs(after.run, run_tensor_op(plugin, after.run, after.run, good), run_reference(after.run, good), "after the fault");
}

TEST_F(OpenClPlugin, TakeIndexOutOfRangeIsReported) {
  const OpDesc op = OpDesc("take").input(CAGR_DTYPE_F32, {2, 5, 3}).input(CAGR_DTYPE_I64, {4}).output(CAGR_DTYPE_F32, {2, 4, 3})
                        .attr("axis", int64_t{1});
  const Bytes data = bytes_of_values(std::vector<float>(30, 1.5f));
  expect_fault(*plugin_, op, {data, bytes_of_values(std::vector<int64_t>{0, -5, 5, 4})},
               {"take", "index 5 at position 2", "axis of length 5"});
  expect_fault(*plugin_, op, {data, bytes_of_values(std::vector<int64_t>{-6, 0, 0, 0})}, {"take", "index -6 at position 0"});
  // An empty output still has its indices checked.
  const OpDesc empty = OpDesc("take").input(CAGR_DTYPE_F32, {0, 5}).input(CAGR_DTYPE_I32, {2}).output(CAGR_DTYPE_F32, {0, 2})
                           .attr("axis", int64_t{1});
  expect_fault(*plugin_, empty, {Bytes(), bytes_of_values(std::vector<int32_t>{1, 7})}, {"take", "index 7 at position 1"});
}

TEST_F(OpenClPlugin, TableOffsetsOutsideTheRulesAreReported) {
  const OpDesc op = OpDesc("table_offsets").input(CAGR_DTYPE_I64, {2, 3}).input(CAGR_DTYPE_I32, {2, 4}).output(CAGR_DTYPE_I64, {7});
  const Bytes indices(2 * 4 * 4, 0);
  expect_fault(*plugin_, op, {bytes_of_values(std::vector<int64_t>{0, 1, 2, 1, 2, 3}), indices},
               {"table_offsets", "table 1", "position 3", "first offset"});
  expect_fault(*plugin_, op, {bytes_of_values(std::vector<int64_t>{0, 5, 2, 0, 2, 3}), indices},
               {"table_offsets", "offset 5 at position 1", "0 .. 4"});
  expect_fault(*plugin_, op, {bytes_of_values(std::vector<int64_t>{0, 1, 2, 0, -1, 3}), indices},
               {"table_offsets", "offset -1 at position 4"});
}

TEST_F(OpenClPlugin, IntegerDivisionFaultsAreReported) {
  for (cagr_dtype dtype : {CAGR_DTYPE_I32, CAGR_DTYPE_I64}) {
    const OpDesc op = OpDesc("elementwise").input(dtype, {4}).input(dtype, {4}).output(dtype, {4}).attr("fn", "div");
    auto values = [&](std::vector<int64_t> v) {
      return dtype == CAGR_DTYPE_I64 ? bytes_of_values(v) : bytes_of_values(std::vector<int32_t>(v.begin(), v.end()));
    };
    expect_fault(*plugin_, op, {values({7, 8, 9, 10}), values({1, 2, 0, 3})}, {"div", "division by zero", "position 2"});
    const int64_t lowest = dtype == CAGR_DTYPE_I64 ? std::numeric_limits<int64_t>::lowest() : std::numeric_limits<int32_t>::lowest();
    expect_fault(*plugin_, op, {values({7, lowest, 9, 10}), values({1, -1, 1, 3})}, {"div", "overflow", "position 1"});
  }
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
