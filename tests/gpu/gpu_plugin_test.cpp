// gpu_plugin_test.cpp - what the GPU plugin (cagr_hip / cagr_cuda, named by CAGR_TEST_PLUGIN)
// promises beyond the shared conformance harness:
//  - NoDevice.*: on a machine without a GPU it loads and reports zero devices with a reason (skips
//    where a GPU is present);
//  - Gpu.*: 16-bit and u8 row-wise tables against the reference on the dequantised f32 tables,
//    every embedding_bag variant; max pooling, per-sample weights and padding rows offered and
//    matching the reference (NaN in max-pooled tables included); out-of-range indices and bad offsets found on the device and
//    reported at stream_synchronize; graph capture and replay; the allow_tf32 option; every linear
//    variant with W given at run; which linear variant comes first (precision, K, wgmma, K split);
//  - GpuMlp.*: an MLP's chain with bf16 activations (allow_bf16) against the reference, and where
//    the op is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cagr_dtype.hpp"
#include "cagr_plugin_support.hpp"
#include "cagr_struct.hpp"
#include "owned_op_desc.hpp"
#include "plugin.hpp"
#include "reference_ops.hpp"

namespace cagr {
namespace {

using OpDesc = abi::OwnedOpDesc;
using Bytes = std::vector<std::byte>;

template <class T>
Bytes to_bytes(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}
template <class T>
std::vector<T> from_bytes(const Bytes& b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!b.empty()) std::memcpy(v.data(), b.data(), b.size());
  return v;
}

const char* plugin_path() { return std::getenv("CAGR_TEST_PLUGIN"); }

std::shared_ptr<Plugin> load_plugin(const Options& options = {}) {
  if (plugin_path() == nullptr) throw std::runtime_error("set CAGR_TEST_PLUGIN to the GPU plugin's .so path");
  return Plugin::load(plugin_path(), options);
}

TEST(NoDevice, LoadsAndReportsZeroDevicesWithAReason) {
  ASSERT_NE(plugin_path(), nullptr) << "set CAGR_TEST_PLUGIN";
  std::string log;
  std::shared_ptr<Plugin> plugin;
  try {
    plugin = Plugin::load(plugin_path(), {}, [&](cagr_log_level, const std::string&, const std::string& m) { log += m; });
  } catch (const Error& e) {
    // Without the vendor runtime library the loader must say that dlopen failed, not crash.
    EXPECT_NE(std::string(e.what()).find("dlopen failed"), std::string::npos) << e.what();
    return;
  }
  if (plugin->device_count() > 0) GTEST_SKIP() << "a GPU is present: " << plugin->device(0).name;
  // One "no device: <why>" message, which --list-plugins shows: no driver, no GPU, a driver too old.
  EXPECT_EQ(log.rfind("no device: ", 0), 0u) << "init logged: " << log;
  const bool names_a_cause = log.find("driver") != std::string::npos || log.find("no NVIDIA GPU") != std::string::npos ||
                             log.find("no AMD GPU") != std::string::npos;
  EXPECT_TRUE(names_a_cause) << log;
  try {
    plugin->device(0);
    ADD_FAILURE() << "device 0 should not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("does not exist (0 devices)"), std::string::npos) << e.what();
  }
}

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = load_plugin();
    if (plugin_->device_count() == 0) GTEST_SKIP() << "no GPU: " << plugin_->name() << " reports 0 devices";
    stream_ = plugin_->create_stream(0);
  }

  Buffer upload(const Bytes& data) {
    Buffer b = plugin_->alloc(0, std::max<size_t>(data.size(), 1));
    if (!data.empty()) b.copy_from_host(stream_, data.data(), data.size());
    return b;
  }
  Bytes download(const Buffer& b, size_t bytes) {
    Bytes out(bytes);
    b.copy_to_host(stream_, out.data(), bytes);
    stream_.synchronize();
    return out;
  }

  std::shared_ptr<Plugin> plugin_;
  Stream stream_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// One embedding_bag problem: bags drawn at random, tables stored as `dtype`.
struct EmbeddingProblem {
  int64_t batch, dim;
  std::vector<int64_t> rows;
  cagr_dtype dtype;
  std::vector<int32_t> indices, offsets;
  std::vector<Bytes> tables;             // as stored
  std::vector<std::vector<float>> f32;  // the same values, dequantised: what the reference sees

  EmbeddingProblem(std::mt19937_64& rng, int64_t batch_, int64_t dim_, std::vector<int64_t> rows_, cagr_dtype dtype_,
                   int max_pooling, int min_pooling = 0)
      : batch(batch_), dim(dim_), rows(std::move(rows_)), dtype(dtype_) {
    offsets.push_back(0);
    for (size_t t = 0; t < rows.size(); ++t)
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t len = std::uniform_int_distribution<int64_t>(min_pooling, max_pooling)(rng);
        for (int64_t i = 0; i < len; ++i)
          indices.push_back(static_cast<int32_t>(std::uniform_int_distribution<int64_t>(0, rows[t] - 1)(rng)));
        offsets.push_back(static_cast<int32_t>(indices.size()));
      }
    for (int64_t r : rows) make_table(rng, r);
  }

  // Values exactly representable in the stored type, so only the summation can differ.
  void make_table(std::mt19937_64& rng, int64_t r) {
    std::uniform_int_distribution<int> code(-128, 128);
    std::vector<float> values;
    Bytes stored;
    auto put = [&stored](const void* p, size_t n) {
      const auto* bytes = static_cast<const std::byte*>(p);
      stored.insert(stored.end(), bytes, bytes + n);
    };
    for (int64_t i = 0; i < r; ++i) {
      const float scale = 0.25f * float(1 + i % 3), bias = -0.5f * float(i % 2);
      for (int64_t d = 0; d < dim; ++d) {
        const int c = code(rng);
        if (dtype == CAGR_DTYPE_U8) {
          const uint8_t q = static_cast<uint8_t>(c + 128 > 255 ? 255 : c + 128);
          values.push_back(float(q) * scale + bias);
          put(&q, 1);
          continue;
        }
        const float v = float(c) / 64.f;
        values.push_back(v);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint16_t half;
        if (dtype == CAGR_DTYPE_BF16) {
          half = static_cast<uint16_t>(bits >> 16);
        } else {  // f16 of a normal float with at most 10 mantissa bits
          const uint32_t sign = (bits >> 16) & 0x8000u;
          const int exponent = int((bits >> 23) & 0xff) - 127 + 15;
          half = v == 0.f ? 0 : static_cast<uint16_t>(sign | (uint32_t(exponent) << 10) | ((bits >> 13) & 0x3ffu));
        }
        if (dtype == CAGR_DTYPE_F32) put(&v, 4); else put(&half, 2);
      }
      if (dtype == CAGR_DTYPE_U8) put(&scale, 4), put(&bias, 4);
    }
    tables.push_back(std::move(stored));
    f32.push_back(std::move(values));
  }

  OpDesc op(cagr_dtype table_dtype, bool mean) const {
    OpDesc d("embedding_bag");
    d.input(CAGR_DTYPE_I32, {int64_t(indices.size())}).input(CAGR_DTYPE_I32, {int64_t(offsets.size())});
    for (int64_t r : rows) d.input(table_dtype, {r, table_dtype == CAGR_DTYPE_U8 ? dim + 8 : dim});
    d.output(CAGR_DTYPE_F32, {batch, int64_t(rows.size()), dim}).attr("mode", mean ? "mean" : "sum");
    return d;
  }

  std::vector<float> reference(bool mean) const {
    OpDesc d = op(CAGR_DTYPE_F32, mean);
    std::vector<const void*> in = {indices.data(), offsets.data()};
    for (const auto& t : f32) in.push_back(t.data());
    std::vector<float> out(size_t(batch) * rows.size() * dim);
    void* outs[] = {out.data()};
    reference::run(d.desc(), in.data(), outs);
    return out;
  }
  std::vector<float> magnitude(bool mean) const {  // the reference on |values|: the scale of rounding
    EmbeddingProblem abs_copy = *this;
    for (auto& t : abs_copy.f32)
      for (float& v : t) v = std::fabs(v);
    return abs_copy.reference(mean);
  }
};

class GpuEmbedding : public Gpu {
 protected:
  std::vector<cagr_constant> table_constants(const EmbeddingProblem& p) {
    std::vector<cagr_constant> constants;
    for (size_t t = 0; t < p.tables.size(); ++t) {
      auto c = abi::make_struct<cagr_constant>();
      c.input_index = 2 + t;
      c.data = p.tables[t].data();
      constants.push_back(c);
    }
    return constants;
  }

  // Runs `kernel` on p's indices and offsets; returns the pooled output.
  std::vector<float> run(Kernel& kernel, OpDesc& d, const EmbeddingProblem& p) {
    Buffer idx = upload(to_bytes(p.indices)), off = upload(to_bytes(p.offsets));
    const size_t count = size_t(p.batch) * p.rows.size() * p.dim;
    Buffer out = upload(Bytes(count * 4, std::byte{0xcd}));
    kernel.run(stream_, {idx.get(), off.get()}, {d.inputs()[0], d.inputs()[1]}, {out.get()}, {d.outputs()[0]});
    return from_bytes<float>(download(out, count * 4));
  }

  // Every variant the plugin offers for `p`, each compared with the reference.
  void check_all_variants(const EmbeddingProblem& p, bool mean) {
    OpDesc d = p.op(p.dtype, mean);
    const OpSupport support = plugin_->query(0, d.desc());
    ASSERT_TRUE(support.supported) << support.reason;
    const std::vector<float> want = p.reference(mean), scale = p.magnitude(mean);
    for (const Variant& v : support.variants) {
      Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, table_constants(p));
      const std::vector<float> got = run(kernel, d, p);
      size_t bad = 0;
      for (size_t i = 0; i < want.size(); ++i)
        if (std::fabs(got[i] - want[i]) > 1e-6 + 1e-5 * std::max(std::fabs(want[i]), scale[i]) && bad++ < 3)
          ADD_FAILURE() << plugin::dtype_name(p.dtype) << " D=" << p.dim << (mean ? " mean" : " sum") << " variant "
                        << v.name << " element " << i << ": got " << got[i] << " want " << want[i];
      EXPECT_EQ(bad, 0u) << "variant " << v.name;
    }
  }
};

TEST_F(GpuEmbedding, SixteenBitAndQuantizedTablesMatchTheReferenceInEveryVariant) {
  struct Config {
    cagr_dtype dtype;
    int64_t dim;
  };
  for (const Config c : {Config{CAGR_DTYPE_F16, 24}, Config{CAGR_DTYPE_F16, 7}, Config{CAGR_DTYPE_BF16, 16},
                         Config{CAGR_DTYPE_BF16, 130}, Config{CAGR_DTYPE_U8, 32}, Config{CAGR_DTYPE_U8, 13},
                         Config{CAGR_DTYPE_F32, 16}, Config{CAGR_DTYPE_F32, 260}})
    for (bool mean : {false, true}) check_all_variants(EmbeddingProblem(rng_, 37, c.dim, {101, 7, 3001}, c.dtype, 41), mean);
}

// Max pooling, per-sample weights and padding rows (OPS.md's later additions) must be offered here:
// the conformance harness compares them only where a plugin offers them, so a refusal would pass it
// silently. Each against the reference in every variant: D with 16-byte lanes and without, bags
// empty or holding padding rows only, a table without a padding row (whose index -1 is then out of
// range, not padding: not drawn here), padding rows given at run time as well as as constants,
// and, with max, NaN in the tables (max takes a value only where it is greater, so a NaN counts
// only in a bag's first row).
TEST_F(GpuEmbedding, MaxWeightsAndPaddingRowsAreOfferedAndMatchTheReference) {
  struct Mode {
    const char* mode;
    bool weighted, padded;
  };
  const std::vector<int32_t> padding = {3, -1, 5};  // table 1 has none
  for (const Mode m : {Mode{"max", false, false}, Mode{"sum", true, false}, Mode{"mean", false, true},
                       Mode{"max", false, true}, Mode{"sum", true, true}, Mode{"sum", false, true}})
    for (const int64_t dim : {int64_t{16}, int64_t{7}, int64_t{132}})
      for (const bool padding_constant : {true, false}) {
        if (!m.padded && !padding_constant) continue;
        EmbeddingProblem p(rng_, 37, dim, {101, 7, 3001}, CAGR_DTYPE_F32, 9);
        for (size_t t = 0; t < p.rows.size(); ++t)
          for (int32_t i = p.offsets[t * 37]; i < p.offsets[(t + 1) * 37]; ++i)
            if (m.padded && padding[t] >= 0 && rng_() % 3 == 0) p.indices[size_t(i)] = padding[t];
        if (std::string(m.mode) == "max")
          for (size_t t = 0; t < p.f32.size(); ++t) {
            for (size_t k = 0; k < p.f32[t].size(); k += 13) p.f32[t][k] = std::numeric_limits<float>::quiet_NaN();
            p.tables[t] = to_bytes(p.f32[t]);  // f32 tables are stored as they are
          }
        std::vector<float> weights(p.indices.size());
        for (float& w : weights) w = std::uniform_real_distribution<float>(-2.f, 2.f)(rng_);

        OpDesc d("embedding_bag");
        d.input(CAGR_DTYPE_I32, {int64_t(p.indices.size())}).input(CAGR_DTYPE_I32, {int64_t(p.offsets.size())});
        for (int64_t r : p.rows) d.input(CAGR_DTYPE_F32, {r, dim});
        if (m.weighted) d.input(CAGR_DTYPE_F32, {int64_t(weights.size())}).attr("weighted", int64_t{1});
        if (m.padded) d.input(CAGR_DTYPE_I32, {int64_t(padding.size())}).attr("padded", int64_t{1});
        d.output(CAGR_DTYPE_F32, {37, 3, dim}).attr("mode", m.mode);
        const std::string what = std::string(m.mode) + (m.weighted ? " weighted" : "") + (m.padded ? " padded" : "") +
                                 " D=" + std::to_string(dim) + (m.padded && !padding_constant ? ", padding rows at run" : "");

        std::vector<const void*> in = {p.indices.data(), p.offsets.data()};
        for (const auto& t : p.f32) in.push_back(t.data());
        if (m.weighted) in.push_back(weights.data());
        if (m.padded) in.push_back(padding.data());
        std::vector<float> want(size_t(37 * 3 * dim));
        void* outs[] = {want.data()};
        reference::run(d.desc(), in.data(), outs);

        const OpSupport support = plugin_->query(0, d.desc());
        ASSERT_TRUE(support.supported) << what << ": " << support.reason;
        std::vector<cagr_constant> constants = table_constants(p);
        const size_t padding_input = d.inputs().size() - 1;
        if (m.padded && padding_constant) {
          auto c = abi::make_struct<cagr_constant>();
          c.input_index = padding_input;
          c.data = padding.data();
          constants.push_back(c);
        }
        Buffer idx = upload(to_bytes(p.indices)), off = upload(to_bytes(p.offsets)), w = upload(to_bytes(weights)),
               pad = upload(to_bytes(padding));
        std::vector<cagr_buffer*> run_inputs = {idx.get(), off.get()};
        std::vector<cagr_tensor_desc> run_descs = {d.inputs()[0], d.inputs()[1]};
        if (m.weighted) run_inputs.push_back(w.get()), run_descs.push_back(d.inputs()[p.f32.size() + 2]);
        if (m.padded && !padding_constant) run_inputs.push_back(pad.get()), run_descs.push_back(d.inputs()[padding_input]);
        for (const Variant& v : support.variants) {
          Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, constants);
          Buffer out = upload(Bytes(want.size() * 4, std::byte{0xcd}));
          kernel.run(stream_, run_inputs, run_descs, {out.get()}, {d.outputs()[0]});
          const std::vector<float> got = from_bytes<float>(download(out, want.size() * 4));
          size_t bad = 0;
          for (size_t i = 0; i < want.size(); ++i) {
            const bool same = std::isnan(want[i]) ? std::isnan(got[i]) : std::fabs(got[i] - want[i]) <= 1e-5f * (1.f + std::fabs(want[i]));
            if (!same && bad++ < 3) ADD_FAILURE() << what << " variant " << v.name << " element " << i << ": got " << got[i] << " want " << want[i];
          }
          EXPECT_EQ(bad, 0u) << what << " variant " << v.name;
        }
      }
}

// A kernel run at once after kernel_create must see its whole constant. On the H100 (driver 580) a
// plain cudaMemcpy of 1 MB from pageable memory returned before its data had landed as seen from a
// non-blocking stream in 300 of 300 tries (64 MB and 192 KB: in none), so the tables here are 1 MB
// and 4 MB. The bags read the last rows, which the copy writes last; indices and offsets are on the
// device before the kernel is created, so nothing between create and run gives the upload time.
TEST_F(GpuEmbedding, KernelRunRightAfterCreateSeesItsWholeTable) {
  constexpr int64_t kDim = 16, kBatch = 256;
  for (const int64_t rows : {int64_t(1) << 14, int64_t(1) << 16}) {
    std::vector<float> table(static_cast<size_t>(rows * kDim));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t d = 0; d < kDim; ++d) table[size_t(r * kDim + d)] = float(r % 251 + 1) + 0.5f * float(d);
    std::vector<int32_t> indices(kBatch), offsets(kBatch + 1);
    for (int64_t b = 0; b < kBatch; ++b) indices[size_t(b)] = static_cast<int32_t>(rows - 1 - b), offsets[size_t(b)] = int32_t(b);
    offsets[kBatch] = int32_t(kBatch);
    OpDesc d("embedding_bag");
    d.input(CAGR_DTYPE_I32, {kBatch}).input(CAGR_DTYPE_I32, {kBatch + 1}).input(CAGR_DTYPE_F32, {rows, kDim});
    d.output(CAGR_DTYPE_F32, {kBatch, 1, kDim}).attr("mode", "sum");
    auto constant = abi::make_struct<cagr_constant>();
    constant.input_index = 2;
    constant.data = table.data();
    Buffer idx = upload(to_bytes(indices)), off = upload(to_bytes(offsets));
    Buffer out = plugin_->alloc(0, size_t(kBatch * kDim) * 4);
    stream_.synchronize();
    for (const Variant& v : plugin_->query(0, d.desc()).variants)
      for (int repeat = 0; repeat < 3; ++repeat) {
        Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, {constant});
        kernel.run(stream_, {idx.get(), off.get()}, {d.inputs()[0], d.inputs()[1]}, {out.get()}, {d.outputs()[0]});
        const std::vector<float> got = from_bytes<float>(download(out, size_t(kBatch * kDim) * 4));
        size_t bad = 0;
        for (int64_t b = 0; b < kBatch; ++b)
          for (int64_t c = 0; c < kDim; ++c) {
            const float want = table[size_t((rows - 1 - b) * kDim + c)];
            if (got[size_t(b * kDim + c)] != want && bad++ < 3)
              ADD_FAILURE() << v.name << " rows " << rows << " run " << repeat << ": bag " << b << " column " << c
                            << " got " << got[size_t(b * kDim + c)] << " want " << want;
          }
        EXPECT_EQ(bad, 0u) << v.name << " rows " << rows;
      }
  }
}

// Two tables (50 and 20 rows) with index 27 planted in table 1's bags, and where it was planted.
struct BadIndexProblem {
  EmbeddingProblem problem;
  size_t position = 0;
  bool planted = false;  // false when table 1 drew no index
  // Bags of 0..5 ids, or (one_id_per_bag) exactly one each, as DLRM's.
  explicit BadIndexProblem(std::mt19937_64& rng, bool one_id_per_bag = false)
      : problem(rng, 9, 16, {50, 20}, CAGR_DTYPE_F32, one_id_per_bag ? 1 : 5, one_id_per_bag ? 1 : 0) {
    const auto table1_start = size_t(problem.offsets[9]);
    if (table1_start >= problem.indices.size()) return;
    position = table1_start + (problem.indices.size() - table1_start) / 2;
    problem.indices[position] = 20 + 7;
    planted = true;
  }
  EmbeddingProblem fixed() const {
    EmbeddingProblem good = problem;
    good.indices[position] = 3;
    return good;
  }
};

// `run` met BadIndexProblem's index: INVALID_ARGUMENT naming `op`, table 1, the position and value.
void expect_bad_index_reported(const std::function<void()>& run, const std::string& op, size_t position,
                               const std::string& variant) {
  try {
    run();
    ADD_FAILURE() << variant << ": no error for an index out of range";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << m;
    EXPECT_NE(m.find(op), std::string::npos) << m;
    EXPECT_NE(m.find("table 1"), std::string::npos) << m;
    EXPECT_NE(m.find("position " + std::to_string(position)), std::string::npos) << m;
    EXPECT_NE(m.find("value 27"), std::string::npos) << m;
  }
}

TEST_F(GpuEmbedding, OutOfRangeIndexIsReportedAtSynchronizeWithTablePositionAndValue) {
  const BadIndexProblem bad(rng_);
  ASSERT_TRUE(bad.planted) << "table 1 drew no index; rerun";
  const EmbeddingProblem& p = bad.problem;
  OpDesc d = p.op(p.dtype, false);
  for (const Variant& v : plugin_->query(0, d.desc()).variants) {
    Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, table_constants(p));
    expect_bad_index_reported([&] { run(kernel, d, p); }, "embedding_bag", bad.position, v.name);
    // The error is reported once: the next run of good input succeeds.
    EXPECT_NO_THROW(run(kernel, d, bad.fixed())) << v.name;
  }
}

// dlrm_embedding_interaction looks rows up itself: a bad index is reported under its own name with
// the table, position and value, and the next good run succeeds. With one id per bag the kernel
// takes its single-id path (rows loaded by groups of lanes), which checks ids on its own.
TEST_F(GpuEmbedding, FusedLookupReportsAnIndexOutOfRangeWithItsTable) {
  for (bool one_id_per_bag : {false, true}) {
    SCOPED_TRACE(one_id_per_bag ? "one id per bag" : "0-5 ids per bag");
    const BadIndexProblem bad(rng_, one_id_per_bag);
    ASSERT_TRUE(bad.planted) << "table 1 drew no index; rerun";
    const EmbeddingProblem& p = bad.problem;
    OpDesc d("dlrm_embedding_interaction");
    d.input(CAGR_DTYPE_F32, {p.batch, p.dim}).input(CAGR_DTYPE_I32, {int64_t(p.indices.size())});
    d.input(CAGR_DTYPE_I32, {int64_t(p.offsets.size())});
    for (int64_t r : p.rows) d.input(CAGR_DTYPE_F32, {r, p.dim});
    d.output(CAGR_DTYPE_F32, {p.batch, p.dim + 3}).attr("pad_to", int64_t(1));
    std::vector<cagr_constant> constants = table_constants(p);
    for (cagr_constant& c : constants) ++c.input_index;  // the tables follow dense, indices and offsets here
    const OpSupport support = plugin_->query(0, d.desc());
    ASSERT_TRUE(support.supported) << support.reason;
    Buffer dense = upload(Bytes(size_t(p.batch * p.dim) * 4, std::byte{0}));
    Buffer out = plugin_->alloc(0, size_t(p.batch * (p.dim + 3)) * 4);
    for (const Variant& v : support.variants) {
      Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, constants);
      auto run = [&](const EmbeddingProblem& q) {
        Buffer idx = upload(to_bytes(q.indices)), off = upload(to_bytes(q.offsets));
        kernel.run(stream_, {dense.get(), idx.get(), off.get()}, {d.inputs()[0], d.inputs()[1], d.inputs()[2]},
                   {out.get()}, {d.outputs()[0]});
        stream_.synchronize();
      };
      expect_bad_index_reported([&] { run(p); }, "dlrm_embedding_interaction", bad.position, v.name);
      EXPECT_NO_THROW(run(bad.fixed())) << v.name;
    }
  }
}

// Tables given at run (not as constants) must keep the shapes the kernel was made with: indices are
// checked against those rows, so a smaller table at run would be read past its end.
TEST_F(GpuEmbedding, FusedLookupRefusesRunTablesOfOtherShapes) {
  auto fused = [](int64_t rows) {
    OpDesc d("dlrm_embedding_interaction");
    d.input(CAGR_DTYPE_F32, {4, 8}).input(CAGR_DTYPE_I32, {4}).input(CAGR_DTYPE_I32, {5});
    d.input(CAGR_DTYPE_F32, {rows, 8}).output(CAGR_DTYPE_F32, {4, 9});
    return d;
  };
  OpDesc created = fused(100), smaller = fused(10);
  Kernel kernel = plugin_->create_kernel(0, created.desc(), 0, {});
  Buffer dense = upload(Bytes(4 * 8 * 4, std::byte{0}));
  Buffer idx = upload(to_bytes(std::vector<int32_t>{1, 2, 3, 4})), off = upload(to_bytes(std::vector<int32_t>{0, 1, 2, 3, 4}));
  Buffer table = upload(Bytes(100 * 8 * 4, std::byte{0})), out = plugin_->alloc(0, 4 * 9 * 4);
  EXPECT_NO_THROW(kernel.run(stream_, {dense.get(), idx.get(), off.get(), table.get()}, created.inputs(), {out.get()},
                             created.outputs()));
  try {
    kernel.run(stream_, {dense.get(), idx.get(), off.get(), table.get()}, smaller.inputs(), {out.get()}, smaller.outputs());
    ADD_FAILURE() << "a run table of 10 rows was accepted by a kernel made for 100";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << e.what();
    EXPECT_NE(std::string(e.what()).find("run shapes differ"), std::string::npos) << e.what();
  }
  stream_.synchronize();
}

TEST_F(GpuEmbedding, DecreasingOffsetsAreReported) {
  EmbeddingProblem p(rng_, 8, 8, {30}, CAGR_DTYPE_F32, 6);
  p.offsets[4] = p.offsets[5] + 1;  // offsets[4] > offsets[5]
  OpDesc d = p.op(p.dtype, false);
  for (const Variant& v : plugin_->query(0, d.desc()).variants) {
    Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, table_constants(p));
    try {
      run(kernel, d, p);
      ADD_FAILURE() << v.name << ": no error for decreasing offsets";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << v.name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << v.name << ": " << e.what();
    }
  }
}

TEST_F(Gpu, GatherOutOfRangeIsReported) {
  OpDesc d("gather");
  d.input(CAGR_DTYPE_F32, {10, 3}).input(CAGR_DTYPE_I64, {4}).output(CAGR_DTYPE_F32, {4, 3});
  auto data = abi::make_struct<cagr_constant>();
  std::vector<float> rows(30, 1.f);
  data.input_index = 0;
  data.data = rows.data();
  Kernel kernel = plugin_->create_kernel(0, d.desc(), 0, {data});
  Buffer idx = upload(to_bytes(std::vector<int64_t>{1, 2, -1, 3})), out = upload(Bytes(48));
  kernel.run(stream_, {idx.get()}, {d.inputs()[1]}, {out.get()}, {d.outputs()[0]});
  try {
    stream_.synchronize();
    ADD_FAILURE() << "no error for index -1";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gather: index out of range at position 2"), std::string::npos) << e.what();
  }
}

// Captures embedding_bag followed by linear, then replays the graph on new indices written into
// the same buffers: the result must be what the reference gives for the new indices.
TEST_F(GpuEmbedding, CapturedGraphReplaysOnNewInputs) {
  const cagr_plugin_api& api = plugin_->api();
  if (api.stream_begin_capture == nullptr) GTEST_SKIP() << "plugin has no capture entries";
  const EmbeddingProblem first(rng_, 33, 16, {77, 500}, CAGR_DTYPE_F32, 7);
  EmbeddingProblem second = first;
  for (int32_t& i : second.indices) i = i / 2;  // same shape, other rows
  OpDesc emb = first.op(CAGR_DTYPE_F32, false);
  Kernel embedding = plugin_->create_kernel(0, emb.desc(), 0, table_constants(first));
  const int64_t features = 2 * 16, outputs = 5;
  OpDesc lin("linear");
  lin.input(CAGR_DTYPE_F32, {33, features}).input(CAGR_DTYPE_F32, {outputs, features}).output(CAGR_DTYPE_F32, {33, outputs});
  lin.attr("activation", "relu");
  std::vector<float> w(size_t(outputs * features));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& x : w) x = u(rng_);
  auto wc = abi::make_struct<cagr_constant>();
  wc.input_index = 1;
  wc.data = w.data();
  Kernel linear = plugin_->create_kernel(0, lin.desc(), 0, {wc});

  Buffer idx = upload(to_bytes(first.indices)), off = upload(to_bytes(first.offsets));
  Buffer pooled = upload(Bytes(size_t(33 * features) * 4)), y = upload(Bytes(size_t(33 * outputs) * 4));
  stream_.synchronize();
  plugin_->check(api.stream_begin_capture(plugin_->context(), stream_.get()), "stream_begin_capture");
  embedding.run(stream_, {idx.get(), off.get()}, {emb.inputs()[0], emb.inputs()[1]}, {pooled.get()}, {emb.outputs()[0]});
  linear.run(stream_, {pooled.get()}, {lin.inputs()[0]}, {y.get()}, {lin.outputs()[0]});
  cagr_graph* graph = nullptr;
  plugin_->check(api.stream_end_capture(plugin_->context(), stream_.get(), &graph), "stream_end_capture");

  const Bytes new_indices = to_bytes(second.indices);
  idx.copy_from_host(stream_, new_indices.data(), new_indices.size());
  plugin_->check(api.graph_launch(plugin_->context(), graph, stream_.get()), "graph_launch");
  const std::vector<float> got = from_bytes<float>(download(y, size_t(33 * outputs) * 4));
  plugin_->check(api.graph_destroy(plugin_->context(), graph), "graph_destroy");

  const std::vector<float> pooled_want = second.reference(false);
  std::vector<float> want(size_t(33 * outputs));
  std::vector<const void*> in = {pooled_want.data(), w.data()};
  void* out[] = {want.data()};
  reference::run(lin.desc(), in.data(), out);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i;
}

// allow_tf32=1 may round linear's inputs to TF32 (10 mantissa bits): every variant's results stay
// within that precision of the reference (K = 257: 4-byte loads; K = 260, N = 131: 16-byte loads).
TEST(GpuOptions, AllowTf32KeepsLinearWithinTf32Precision) {
  auto plugin = load_plugin({{"allow_tf32", "1"}});
  if (plugin->device_count() == 0) GTEST_SKIP() << "no GPU";
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const auto& [k, n] : {std::pair<int64_t, int64_t>{257, 65}, {260, 131}}) {
    const int64_t m = 129;
    OpDesc d("linear");
    d.input(CAGR_DTYPE_F32, {m, k}).input(CAGR_DTYPE_F32, {n, k}).output(CAGR_DTYPE_F32, {m, n});
    std::vector<float> x(size_t(m * k)), w(size_t(n * k));
    for (float& v : x) v = u(rng);
    for (float& v : w) v = u(rng);
    auto wc = abi::make_struct<cagr_constant>();
    wc.input_index = 1;
    wc.data = w.data();
    std::vector<float> want(size_t(m * n));
    std::vector<const void*> in = {x.data(), w.data()};
    void* out[] = {want.data()};
    reference::run(d.desc(), in.data(), out);
    for (const Variant& v : plugin->query(0, d.desc()).variants) {
      Kernel kernel = plugin->create_kernel(0, d.desc(), v.index, {wc});
      Stream stream = plugin->create_stream(0);
      Buffer xb = plugin->alloc(0, x.size() * 4), yb = plugin->alloc(0, size_t(m * n) * 4);
      xb.copy_from_host(stream, x.data(), x.size() * 4);
      kernel.run(stream, {xb.get()}, {d.inputs()[0]}, {yb.get()}, {d.outputs()[0]});
      std::vector<float> got(size_t(m * n));
      yb.copy_to_host(stream, got.data(), got.size() * 4);
      stream.synchronize();
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 2e-3 * std::sqrt(double(k))) << v.name << " K=" << k << " element " << i;
    }
  }
}

std::vector<std::string> variant_names(Plugin& plugin, OpDesc d) {
  const OpSupport support = plugin.query(0, d.desc());
  EXPECT_TRUE(support.supported) << support.reason;
  std::vector<std::string> names;
  for (const Variant& v : support.variants) names.push_back(v.name);
  return names;
}

// With allow_tf32=1 dlrm_interaction's tensor_core variant multiplies in one TF32 pass: every
// variant stays within TF32 precision of the reference (both operands rounded to 10 mantissa bits:
// about 2^-10 of sum |x y| per dot), on the Kaggle DLRM's 27 features of 16 and on 17 features of
// 32 (two m-tiles, the second barely used; four k steps), each with a partial last block.
TEST(GpuOptions, AllowTf32KeepsInteractionWithinTf32Precision) {
  auto plugin = load_plugin({{"allow_tf32", "1"}});
  if (plugin->device_count() == 0) GTEST_SKIP() << "no GPU";
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Stream stream = plugin->create_stream(0);
  for (const auto& [batch, tables, dim] : std::vector<std::array<int64_t, 3>>{{37, 26, 16}, {13, 16, 32}}) {
    const int64_t features = tables + 1, cols = dim + features * (features - 1) / 2;
    OpDesc d("dlrm_interaction");
    d.input(CAGR_DTYPE_F32, {batch, dim}).input(CAGR_DTYPE_F32, {batch, tables, dim}).output(CAGR_DTYPE_F32, {batch, cols});
    std::vector<float> dense(size_t(batch * dim)), pooled(size_t(batch * tables * dim));
    for (float& v : dense) v = u(rng);
    for (float& v : pooled) v = u(rng);
    std::vector<float> abs_dense(dense.size()), abs_pooled(pooled.size()), want(size_t(batch * cols)), scale(want.size());
    for (size_t i = 0; i < dense.size(); ++i) abs_dense[i] = std::fabs(dense[i]);
    for (size_t i = 0; i < pooled.size(); ++i) abs_pooled[i] = std::fabs(pooled[i]);
    std::vector<const void*> in = {dense.data(), pooled.data()}, abs_in = {abs_dense.data(), abs_pooled.data()};
    void* out[] = {want.data()};
    void* scale_out[] = {scale.data()};
    reference::run(d.desc(), in.data(), out);
    reference::run(d.desc(), abs_in.data(), scale_out);  // sum |x y| per dot
    Buffer db = plugin->alloc(0, dense.size() * 4), pb = plugin->alloc(0, pooled.size() * 4);
    Buffer ob = plugin->alloc(0, want.size() * 4);
    db.copy_from_host(stream, dense.data(), dense.size() * 4);
    pb.copy_from_host(stream, pooled.data(), pooled.size() * 4);
    const std::vector<std::string> names = variant_names(*plugin, d);
    if (plugin->name() == "cuda") {
      EXPECT_NE(std::find(names.begin(), names.end(), "tensor_core"), names.end());
    }
    for (const Variant& v : plugin->query(0, d.desc()).variants) {
      Kernel kernel = plugin->create_kernel(0, d.desc(), v.index, {});
      kernel.run(stream, {db.get(), pb.get()}, d.inputs(), {ob.get()}, {d.outputs()[0]});
      std::vector<float> got(want.size());
      ob.copy_to_host(stream, got.data(), got.size() * 4);
      stream.synchronize();
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 2e-3 * scale[i] + 1e-6) << v.name << " F=" << features << " D=" << dim << " element " << i;
    }
  }
}

// W as a run input rather than a constant (kernels that prepare a constant W once, such as
// 3xtf32_wgmma's split, must use each run's W): every variant, two runs with different W and odd sizes
// (K = 36: 16-byte loads, K = 37: 4-byte, K = 132: five K tiles of 32, the last partial, so that
// 3xtf32_ksplit4's groups get unequal shares, some only zeros), each within the f32 conformance
// tolerance of the reference (1e-5 of sum |x w|).
TEST_F(Gpu, LinearTakesWAsARunInputInEveryVariant) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const int64_t k : {36, 37, 132}) {
    const int64_t m = 67, n = 131;  // N >= 128: the wgmma kernel (Hopper) is offered too
    OpDesc d("linear");
    d.input(CAGR_DTYPE_F32, {m, k}).input(CAGR_DTYPE_F32, {n, k}).input(CAGR_DTYPE_F32, {n});
    d.output(CAGR_DTYPE_F32, {m, n}).attr("activation", "relu");
    std::vector<float> x(static_cast<size_t>(m * k)), bias(static_cast<size_t>(n));
    for (float& v : x) v = u(rng_);
    for (float& v : bias) v = u(rng_);
    Buffer xb = upload(to_bytes(x)), bb = upload(to_bytes(bias));
    Buffer yb = plugin_->alloc(0, size_t(m * n) * 4);
    for (const Variant& v : plugin_->query(0, d.desc()).variants) {
      Kernel kernel = plugin_->create_kernel(0, d.desc(), v.index, {});
      for (int run = 0; run < 2; ++run) {
        std::vector<float> w(static_cast<size_t>(n * k)), abs_w(w.size()), abs_x(x.size()), zero(bias.size());
        for (float& e : w) e = u(rng_);
        Buffer wb = upload(to_bytes(w));
        kernel.run(stream_, {xb.get(), wb.get(), bb.get()}, d.inputs(), {yb.get()}, {d.outputs()[0]});
        const std::vector<float> got = from_bytes<float>(download(yb, size_t(m * n) * 4));
        std::vector<float> want(got.size()), scale(got.size());
        OpDesc plain("linear");  // the scale: sum |x w| without bias or activation
        plain.input(CAGR_DTYPE_F32, {m, k}).input(CAGR_DTYPE_F32, {n, k}).input(CAGR_DTYPE_F32, {n});
        plain.output(CAGR_DTYPE_F32, {m, n});
        for (size_t i = 0; i < w.size(); ++i) abs_w[i] = std::fabs(w[i]);
        for (size_t i = 0; i < x.size(); ++i) abs_x[i] = std::fabs(x[i]);
        std::vector<const void*> in = {x.data(), w.data(), bias.data()}, abs_in = {abs_x.data(), abs_w.data(), zero.data()};
        void* out[] = {want.data()};
        void* scale_out[] = {scale.data()};
        reference::run(d.desc(), in.data(), out);
        reference::run(plain.desc(), abs_in.data(), scale_out);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + scale[i])) << v.name << " K=" << k << " run " << run << " element " << i;
      }
    }
  }
}

// On NVIDIA a linear's default (first) variant is the f32-accurate 3xTF32 kernel, and cuBLASLt's
// TF32 where the option allows TF32; with K not a multiple of 4 (the 3xTF32 kernel would load 4
// bytes at a time), cuBLASLt's f32; with K at most 32, short_k in f32 and cuBLASLt's TF32 where
// that is allowed.
TEST(GpuOptions, LinearDefaultVariantFollowsPrecisionAndK) {
  auto f32 = load_plugin();
  if (f32->device_count() == 0) GTEST_SKIP() << "no GPU";
  if (f32->name() != "cuda") GTEST_SKIP() << "the 3xTF32 kernel is NVIDIA's (mma.sync); plugin " << f32->name();
  auto tf32 = load_plugin({{"allow_tf32", "1"}});
  auto linear = [](int64_t k) {
    OpDesc d("linear");
    d.input(CAGR_DTYPE_F32, {256, k}).input(CAGR_DTYPE_F32, {64, k}).output(CAGR_DTYPE_F32, {256, 64});
    return d;
  };
  EXPECT_EQ(variant_names(*f32, linear(64)).front(), "3xtf32");
  EXPECT_EQ(variant_names(*tf32, linear(64)).front(), "cublaslt");
  EXPECT_EQ(variant_names(*f32, linear(36)).front(), "3xtf32");
  EXPECT_EQ(variant_names(*f32, linear(37)).front(), "cublaslt");
  EXPECT_EQ(variant_names(*f32, linear(13)).front(), "short_k");
  EXPECT_EQ(variant_names(*tf32, linear(13)).front(), "cublaslt");
  const std::vector<std::string> short_tf32 = variant_names(*tf32, linear(13));
  EXPECT_EQ(std::count(short_tf32.begin(), short_tf32.end(), "short_k"), 1) << "still offered for tuning";
  const std::vector<std::string> odd = variant_names(*f32, linear(37));
  EXPECT_EQ(std::count(odd.begin(), odd.end(), "3xtf32"), 1) << "still offered for tuning";
}

// In f32 on NVIDIA, where Y has no more 64 x 64 tiles than the device has SMs, the 3xTF32 kernel
// with its K split over the most groups of warps that leave each group two K tiles of 32 comes
// first; with more tiles, or too short a K, the one-group kernel. The split forms stay offered
// for tuning wherever each group gets a K tile.
TEST(GpuOptions, LinearSplitsKWhereYHasFewTiles) {
  auto f32 = load_plugin();
  if (f32->device_count() == 0) GTEST_SKIP() << "no GPU";
  if (f32->name() != "cuda") GTEST_SKIP() << "the 3xTF32 kernel is NVIDIA's (mma.sync); plugin " << f32->name();
  const int64_t sms = f32->device(0).compute_units;
  auto linear = [](int64_t m, int64_t k) {  // N = 48: one tile wide, narrower than any wgmma block
    OpDesc d("linear");
    d.input(CAGR_DTYPE_F32, {m, k}).input(CAGR_DTYPE_F32, {48, k}).output(CAGR_DTYPE_F32, {m, 48});
    return d;
  };
  EXPECT_EQ(variant_names(*f32, linear(64 * sms, 512)).front(), "3xtf32_ksplit4");
  EXPECT_EQ(variant_names(*f32, linear(64 * sms - 5, 224)).front(), "3xtf32_ksplit2") << "7 K tiles: too few for two in each of 4 groups";
  EXPECT_EQ(variant_names(*f32, linear(64 * sms, 96)).front(), "3xtf32") << "3 K tiles";
  const std::vector<std::string> many = variant_names(*f32, linear(64 * sms + 1, 512));
  EXPECT_EQ(many.front(), "3xtf32") << "more tiles than SMs";
  EXPECT_EQ(std::count(many.begin(), many.end(), "3xtf32_ksplit2"), 1);
  EXPECT_EQ(std::count(many.begin(), many.end(), "3xtf32_ksplit4"), 1);
  const std::vector<std::string> short_k = variant_names(*f32, linear(64, 64));
  EXPECT_EQ(std::count(short_k.begin(), short_k.end(), "3xtf32_ksplit2"), 1) << "2 K tiles: one per group";
  EXPECT_EQ(std::count(short_k.begin(), short_k.end(), "3xtf32_ksplit4"), 0) << "2 K tiles: not one per group";
}

// On Hopper (sm_90) a linear with K a multiple of 4 also has the wgmma kernels, in blocks of 256 x
// 128 and 128 x 128 where N >= 128 and of 64 x 64 where N >= 64: in f32 (3xTF32) the largest whose
// blocks number at least half the multiprocessors comes first, and all follow the mma.sync 3xtf32
// kernel where none does; they are not offered where TF32 is allowed (cuBLASLt's TF32 is faster).
TEST(GpuOptions, LinearWgmmaVariantsComeFirstWhereTheyFillTheDevice) {
  auto f32 = load_plugin();
  if (f32->device_count() == 0) GTEST_SKIP() << "no GPU";
  if (f32->name() != "cuda") GTEST_SKIP() << "wgmma is NVIDIA's; plugin " << f32->name();
  auto tf32 = load_plugin({{"allow_tf32", "1"}});
  const DeviceInfo device = f32->device(0);
  bool hopper = false;  // sm_90 parts by name (the loader reports no compute capability)
  for (const char* part : {"H100", "H200", "H800", "H20"}) hopper = hopper || device.name.find(part) != std::string::npos;
  auto linear = [](int64_t m, int64_t n, int64_t k) {
    OpDesc d("linear");
    d.input(CAGR_DTYPE_F32, {m, k}).input(CAGR_DTYPE_F32, {n, k}).output(CAGR_DTYPE_F32, {m, n});
    return d;
  };
  auto count = [](const std::vector<std::string>& names, const std::string& prefix) {
    return std::count_if(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
  };
  const int64_t half = (device.compute_units + 1) / 2;
  const std::vector<std::string> large = variant_names(*f32, linear(256 * half, 128, 64));
  const std::vector<std::string> medium = variant_names(*f32, linear(128 * half, 128, 64));
  const std::vector<std::string> narrow = variant_names(*f32, linear(64 * half, 64, 64));
  const std::vector<std::string> small = variant_names(*f32, linear(256, 256, 64));
  const std::vector<std::string> tf32_names = variant_names(*tf32, linear(4096, 256, 64));
  for (const auto* names : {&large, &medium, &small}) EXPECT_EQ(count(*names, "3xtf32_wgmma_"), hopper ? 3 : 0) << device.name;
  EXPECT_EQ(count(narrow, "3xtf32_wgmma_"), hopper ? 1 : 0) << "N = 64: the 64 x 64 block only";
  EXPECT_EQ(count(tf32_names, "3xtf32_wgmma_"), 0) << "TF32 allowed";
  EXPECT_EQ(tf32_names.front(), "cublaslt");
  EXPECT_EQ(count(variant_names(*f32, linear(4096, 63, 64)), "3xtf32_wgmma_"), 0) << "N below one block";
  EXPECT_EQ(count(variant_names(*f32, linear(4096, 256, 62)), "3xtf32_wgmma_"), 0) << "K not a multiple of 4";
  if (hopper) {
    EXPECT_EQ(large.front(), "3xtf32_wgmma_256x128");
    EXPECT_EQ(medium.front(), "3xtf32_wgmma_128x128");
    EXPECT_EQ(narrow.front(), "3xtf32_wgmma_64x64");
    EXPECT_EQ(small.front(), "3xtf32");
  }
}

// An mlp of M rows through `widths` (K_0, N_0, .., N_{L-1}).
OpDesc mlp_desc(int64_t m, const std::vector<int64_t>& widths, const std::string& activations) {
  OpDesc d("mlp");
  d.input(CAGR_DTYPE_F32, {m, widths[0]});
  for (size_t l = 0; l + 1 < widths.size(); ++l)
    d.input(CAGR_DTYPE_F32, {widths[l + 1], widths[l]}).input(CAGR_DTYPE_F32, {widths[l + 1]});
  return d.output(CAGR_DTYPE_F32, {m, widths.back()}).attr("activations", activations);
}

// mlp where bf16 is allowed (allow_bf16=1; NVIDIA, sm_80 and later): the chain's GEMMs on the bf16
// tensor cores with bf16 activations between them equal the f32 reference to bf16 precision, on
// DLRM's two MLPs and on chains of odd sizes (a first K not a multiple of 8, a narrow last layer
// with a sigmoid through the warp-per-row kernel, a wide last layer with a sigmoid through
// cuBLASLt and a second pass, a linear last layer, partial tiles of rows); with the weights as
// constants - also at more rows than the kernel was created for, which it takes in chunks - and,
// in a second kernel, as run inputs that change between runs. Tolerance: 1e-2 of sum |x w|
// through the chain (X, W, b and each activation are rounded to bf16, a relative 2^-9 each).
TEST(GpuMlp, Bf16ChainMatchesTheReferenceToBf16Precision) {
  struct Chain {
    int64_t m;
    std::vector<int64_t> widths;
    std::string activations;
  };
  const std::vector<Chain> chains = {{300, {13, 512, 256, 64, 16}, "relu,relu,relu,relu"},
                                     {70, {368, 512, 256, 1}, "relu,relu,sigmoid"},
                                     {37, {13, 48, 24, 1}, "relu,relu,sigmoid"},
                                     {130, {27, 64, 136, 5}, "none,relu,relu"},
                                     {65, {4, 296, 40}, "relu,sigmoid"},
                                     {9, {3, 8, 520}, "relu,none"}};
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto plugin = load_plugin({{"allow_bf16", "1"}});
  if (plugin->device_count() == 0) GTEST_SKIP() << "no GPU";
  if (plugin->name() != "cuda") GTEST_SKIP() << "the bf16 chain runs on NVIDIA's cuBLASLt; plugin " << plugin->name();
  for (const Chain& c : chains) {
    const size_t layers = c.widths.size() - 1;
    std::string none;
    for (size_t l = 0; l < layers; ++l) none += l == 0 ? "none" : ",none";
    const OpSupport support = plugin->query(0, mlp_desc(c.m, c.widths, c.activations).desc());
    ASSERT_TRUE(support.supported) << support.reason;
    ASSERT_EQ(support.variants.size(), 1u);
    EXPECT_EQ(support.variants[0].name, "bf16_cublaslt");
    Stream stream = plugin->create_stream(0);
    // tensors[0] is X [m, K_0], then W_l, b_l.
    auto draw = [&](int64_t m) {
      OpDesc d = mlp_desc(m, c.widths, c.activations);
      std::vector<std::vector<float>> t(1 + 2 * layers);
      for (size_t i = 0; i < t.size(); ++i) {
        const cagr_tensor_desc& desc = d.inputs()[i];
        t[i].resize(size_t(std::accumulate(desc.dims, desc.dims + desc.rank, int64_t(1), std::multiplies<>())));
        for (float& v : t[i]) v = u(rng);
      }
      return t;
    };
    // The reference at X's rows, and sum |x w| through the chain without activations for the scale.
    auto expect_near_reference = [&](const std::vector<std::vector<float>>& t, const Buffer& yb, const std::string& what) {
      const int64_t m = int64_t(t[0].size()) / c.widths[0];
      std::vector<std::vector<float>> abs_t = t;
      for (auto& v : abs_t)
        for (float& e : v) e = std::fabs(e);
      std::vector<const void*> in, abs_in;
      for (size_t i = 0; i < t.size(); ++i) in.push_back(t[i].data()), abs_in.push_back(abs_t[i].data());
      std::vector<float> want(size_t(m * c.widths.back())), scale(want.size()), got(want.size());
      void* out[] = {want.data()};
      void* scale_out[] = {scale.data()};
      reference::run(mlp_desc(m, c.widths, c.activations).desc(), in.data(), out);
      reference::run(mlp_desc(m, c.widths, none).desc(), abs_in.data(), scale_out);
      yb.copy_to_host(stream, got.data(), got.size() * 4);
      stream.synchronize();
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-2 * (1 + scale[i])) << what << " element " << i;
    };
    const std::string what = "widths " + std::to_string(c.widths[0]) + ".." + std::to_string(c.widths.back());
    OpDesc d = mlp_desc(c.m, c.widths, c.activations);
    const auto constant = draw(c.m);
    std::vector<cagr_constant> constants;
    for (size_t i = 1; i < constant.size(); ++i) {
      auto k = abi::make_struct<cagr_constant>();
      k.input_index = int32_t(i);
      k.data = constant[i].data();
      constants.push_back(k);
    }
    Kernel with_constants = plugin->create_kernel(0, d.desc(), 0, constants);
    for (const int64_t m : {c.m, 2 * c.m + 3}) {
      auto t = draw(m);
      std::copy(constant.begin() + 1, constant.end(), t.begin() + 1);
      OpDesc run = mlp_desc(m, c.widths, c.activations);
      Buffer xb = plugin->alloc(0, t[0].size() * 4), yb = plugin->alloc(0, size_t(m * c.widths.back()) * 4);
      xb.copy_from_host(stream, t[0].data(), t[0].size() * 4);
      with_constants.run(stream, {xb.get()}, {run.inputs()[0]}, {yb.get()}, {run.outputs()[0]});
      expect_near_reference(t, yb, what + " (constant weights, M = " + std::to_string(m) + ")");
    }
    Kernel with_inputs = plugin->create_kernel(0, d.desc(), 0, {});
    Buffer yb = plugin->alloc(0, size_t(c.m * c.widths.back()) * 4);
    for (int run = 0; run < 2; ++run) {
      const auto t = draw(c.m);
      std::vector<Buffer> buffers;
      std::vector<cagr_buffer*> pointers;
      for (const auto& values : t) {
        buffers.push_back(plugin->alloc(0, values.size() * 4));
        buffers.back().copy_from_host(stream, values.data(), values.size() * 4);
        pointers.push_back(buffers.back().get());
      }
      with_inputs.run(stream, pointers, d.inputs(), {yb.get()}, {d.outputs()[0]});
      expect_near_reference(t, yb, what + " (run inputs, run " + std::to_string(run) + ")");
    }
  }
}

// The top MLP's X in bf16, as the core's rule bf16_mlp_input places it (allow_bf16=1): the fused lookup +
// interaction writes its output rounded to bf16 (every variant; within one bf16 rounding of the
// reference's, which rounds the f32 result), and an mlp reads that bf16 X as given and equals the
// reference on the same bits to bf16 precision. Without allow_bf16 the bf16 output is refused.
TEST(GpuMlp, InteractionWritesBf16AndTheMlpReadsIt) {
  auto plugin = load_plugin({{"allow_bf16", "1"}});
  if (plugin->device_count() == 0) GTEST_SKIP() << "no GPU";
  if (plugin->name() != "cuda") GTEST_SKIP() << "bf16 tensors are offered by the NVIDIA build; plugin " << plugin->name();
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  constexpr int64_t kBatch = 37, kTables = 26, kDim = 16, kRows = 100, kCols = 368;  // 16 + 351 dots, padded to 8
  OpDesc d("dlrm_embedding_interaction");
  d.input(CAGR_DTYPE_F32, {kBatch, kDim}).input(CAGR_DTYPE_I32, {kTables * kBatch}).input(CAGR_DTYPE_I32, {kTables * kBatch + 1});
  for (int64_t t = 0; t < kTables; ++t) d.input(CAGR_DTYPE_F32, {kRows, kDim});
  d.output(CAGR_DTYPE_BF16, {kBatch, kCols}).attr("pad_to", int64_t(8)).attr("output_dtype", "bf16");
  OpDesc copy = d;
  const OpSupport refused = load_plugin()->query(0, copy.desc());
  EXPECT_FALSE(refused.supported);
  EXPECT_NE(refused.reason.find("allow_bf16=1"), std::string::npos) << refused.reason;

  std::vector<float> dense(size_t(kBatch * kDim));
  for (float& v : dense) v = u(rng);
  std::vector<int32_t> indices(size_t(kTables * kBatch)), offsets(indices.size() + 1);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = int32_t(rng() % kRows), offsets[i + 1] = int32_t(i + 1);
  std::vector<std::vector<float>> tables(kTables, std::vector<float>(size_t(kRows * kDim)));
  std::vector<const void*> in{dense.data(), indices.data(), offsets.data()};
  for (auto& table : tables) {
    for (float& v : table) v = u(rng);
    in.push_back(table.data());
  }
  std::vector<uint16_t> want(size_t(kBatch * kCols)), got(want.size());
  void* out[] = {want.data()};
  reference::run(d.desc(), in.data(), out);
  Stream stream = plugin->create_stream(0);
  std::vector<Buffer> buffers;
  std::vector<cagr_buffer*> pointers;
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t bytes = size_t(std::accumulate(d.inputs()[i].dims, d.inputs()[i].dims + d.inputs()[i].rank, int64_t(4),
                                                std::multiplies<>()));
    buffers.push_back(plugin->alloc(0, bytes));
    buffers.back().copy_from_host(stream, in[i], bytes);
    pointers.push_back(buffers.back().get());
  }
  Buffer top = plugin->alloc(0, want.size() * 2);
  const OpSupport support = plugin->query(0, d.desc());
  ASSERT_TRUE(support.supported) << support.reason;
  for (const Variant& v : support.variants) {
    Kernel kernel = plugin->create_kernel(0, d.desc(), v.index, {});
    kernel.run(stream, pointers, d.inputs(), {top.get()}, {d.outputs()[0]});
    top.copy_to_host(stream, got.data(), got.size() * 2);
    stream.synchronize();
    for (size_t i = 0; i < got.size(); ++i) {
      const float g = abi::float_from_bf16(got[i]), w = abi::float_from_bf16(want[i]);
      ASSERT_NEAR(g, w, std::ldexp(std::fabs(w), -7) + 1e-4) << v.name << " element " << i;
    }
  }

  const std::vector<int64_t> widths{kCols, 512, 256, 1};
  OpDesc mlp = mlp_desc(kBatch, widths, "relu,relu,sigmoid");
  mlp.inputs()[0].dtype = CAGR_DTYPE_BF16;
  const OpSupport mlp_support = plugin->query(0, mlp.desc());
  ASSERT_TRUE(mlp_support.supported) << mlp_support.reason;
  std::vector<std::vector<float>> weights;
  std::vector<const void*> mlp_in{got.data()};
  std::vector<cagr_buffer*> mlp_buffers{top.get()};
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    for (const int64_t count : {widths[l + 1] * widths[l], widths[l + 1]}) {
      weights.emplace_back(size_t(count));
      for (float& v : weights.back()) v = u(rng) / std::sqrt(float(widths[l]));
      buffers.push_back(plugin->alloc(0, size_t(count) * 4));
      buffers.back().copy_from_host(stream, weights.back().data(), size_t(count) * 4);
      mlp_buffers.push_back(buffers.back().get());
    }
  }
  for (const auto& w : weights) mlp_in.push_back(w.data());
  std::vector<float> mlp_want(static_cast<size_t>(kBatch)), mlp_got(mlp_want.size());
  void* mlp_out[] = {mlp_want.data()};
  reference::run(mlp.desc(), mlp_in.data(), mlp_out);
  Buffer y = plugin->alloc(0, mlp_got.size() * 4);
  Kernel kernel = plugin->create_kernel(0, mlp.desc(), 0, {});
  kernel.run(stream, mlp_buffers, mlp.inputs(), {y.get()}, {mlp.outputs()[0]});
  y.copy_to_host(stream, mlp_got.data(), mlp_got.size() * 4);
  stream.synchronize();
  for (size_t i = 0; i < mlp_got.size(); ++i) ASSERT_NEAR(mlp_got[i], mlp_want[i], 1e-2) << "mlp row " << i;
}

// Where the bf16 chain does not apply the op is refused with the reason, and the core keeps the
// linears: without allow_bf16, a single layer, a hidden width that is not a multiple of 8, a
// sigmoid inside the chain, or (in the AMD build) no cuBLASLt.
TEST(GpuMlp, RefusedWhereTheBf16ChainDoesNotRunNamingWhy) {
  auto plain = load_plugin();
  if (plain->device_count() == 0) GTEST_SKIP() << "no GPU";
  auto bf16 = load_plugin({{"allow_bf16", "1"}});
  auto reason = [](Plugin& plugin, const OpDesc& d) {
    OpDesc copy = d;
    const OpSupport support = plugin.query(0, copy.desc());
    EXPECT_FALSE(support.supported);
    return support.reason;
  };
  const OpDesc dlrm_bottom = mlp_desc(64, {13, 512, 256}, "relu,relu");
  if (bf16->name() != "cuda") {
    EXPECT_NE(reason(*bf16, dlrm_bottom).find("cuBLASLt"), std::string::npos);
    return;
  }
  EXPECT_NE(reason(*plain, dlrm_bottom).find("allow_bf16=1"), std::string::npos);
  EXPECT_NE(reason(*bf16, mlp_desc(64, {13, 512}, "relu")).find("one layer"), std::string::npos);
  EXPECT_NE(reason(*bf16, mlp_desc(64, {13, 50, 16}, "relu,relu")).find("hidden width 50 (layer 0) is not a multiple of 8"),
            std::string::npos);
  EXPECT_NE(reason(*bf16, mlp_desc(64, {13, 64, 16}, "sigmoid,relu")).find("a sigmoid inside the chain (layer 0)"),
            std::string::npos);
}

TEST_F(Gpu, PropertiesComeFromTheRuntimeAndTheProbe) {
  const DeviceInfo d = plugin_->device(0);
  EXPECT_FALSE(d.name.empty());
  EXPECT_GT(d.compute_units, 0);
  EXPECT_GT(d.memory_bytes, 1ull << 30);
  EXPECT_GT(d.last_level_cache_bytes, 1ull << 20);
  EXPECT_FALSE(d.pci_bus_id.empty());
  EXPECT_GT(d.peak_gflops_f32, 1000.0);
  EXPECT_GT(d.memory_bandwidth_gbps, 100.0);
}

}  // namespace
}  // namespace cagr
