// conformance_test.cpp - one test binary for every plugin: loads the plugin named by
// CAGR_TEST_PLUGIN and checks every device against the reference ops (abi/OPS.md), through the
// loader as the runtime uses it. Random inputs are drawn from a seed printed with every failure;
// CAGR_TEST_SEED=<seed> replays a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "case_runner.hpp"
#include "conformance_options.hpp"
#include "op_cases.hpp"
#include "op_contract.hpp"
#include "plugin.hpp"

namespace cagr::conformance {
namespace {

uint64_t base_seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("CAGR_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  }();
  return seed;
}

std::string seed_note(uint64_t seed) { return "seed " + std::to_string(seed) + " (replay: CAGR_TEST_SEED=" + std::to_string(seed) + ")"; }

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("CAGR_TEST_PLUGIN");
    if (path == nullptr) return;
    try {
      plugin_ = Plugin::load(path);
      device_count_ = plugin_->device_count();
      if (device_count_ == 0) no_device_reason_ = "device_count is 0";
    } catch (const Error& e) {
      load_error_ = e.what();
      if (plugin_) no_device_reason_ = e.what();
    }
  }
  static void TearDownTestSuite() { plugin_.reset(); }

  void SetUp() override {
    if (std::getenv("CAGR_TEST_PLUGIN") == nullptr) GTEST_FAIL() << "set CAGR_TEST_PLUGIN to the plugin's .so path";
    if (!plugin_) GTEST_FAIL() << "loading the plugin failed: " << load_error_;
    if (device_count_ == 0)
      GTEST_SKIP() << "plugin " << plugin_->name() << " reports no device (" << no_device_reason_ << ")";
  }

  // The variants `plugin` offers for `c` on `device`; a failure when it refuses an op of OPS.md that
  // is not optional (unless --offered-ops). An op it may refuse (none: nothing to check) must be
  // refused with a reason, and by kernel_create too.
  static std::vector<Variant> variants(int device, Case& c) {
    const OpSupport support = plugin_->query(device, c.op.desc());
    if (!support.supported && (offered_ops_only() || optional_op(c.op.type()) || c.optional)) {
      expect_refused(device, c, support);
      return {};
    }
    EXPECT_TRUE(support.supported) << "device " << device << " refuses " << c.label << ": " << support.reason;
    for (const Variant& v : support.variants) {
      EXPECT_FALSE(v.name.empty()) << c.label << ": variant " << v.index << " has no name";
      EXPECT_GE(v.flops, 0) << c.label << " variant " << v.name;
      EXPECT_GE(v.bytes, 0) << c.label << " variant " << v.name;
      EXPECT_GE(v.estimated_ns, 0) << c.label << " variant " << v.name;
    }
    return support.variants;
  }

  static void expect_refused(int device, Case& c, const OpSupport& support) {
    EXPECT_FALSE(support.reason.empty()) << "device " << device << " refuses " << c.label << " without a reason";
    try {
      plugin_->create_kernel(device, c.op.desc(), 0, {});
      ADD_FAILURE() << "device " << device << ": op_query refuses " << c.label << ", kernel_create accepts it";
    } catch (const Error& e) {
      EXPECT_TRUE(e.status() == CAGR_ERROR_UNSUPPORTED || e.status() == CAGR_ERROR_INVALID_ARGUMENT) << e.what();
    }
    if (refusals_noted_.insert(c.op.type() + " on device " + std::to_string(device)).second)
      std::cout << "note: " << plugin_->name() << " device " << device << " refuses " << c.op.type()
                << " (optional; such cases are not compared): " << support.reason << std::endl;
  }

  // Creates a kernel from `create`, runs it with `run`'s shapes on every variant of every device
  // (`looser_only`: every variant computing in less than f32), its constants copied and borrowed
  // (ABI 1.5), and checks the outputs against the reference, within the bound of the variant's
  // precision.
  static void check_against_reference(Case& create, Case& run, uint64_t seed, bool looser_only = false) {
    const std::vector<Bytes> want = run_on_reference(run);
    for (int device = 0; device < device_count_; ++device) {
      for (const Variant& v : variants(device, create)) {
        if (looser_only && v.math_precision == CAGR_MATH_F32) continue;
        for (cagr_constant_lifetime lifetime : {CAGR_CONSTANT_COPIED, CAGR_CONSTANT_BORROWED}) {
          const std::string where = plugin_->name() + " device " + std::to_string(device) + ", variant " +
                                    std::to_string(v.index) + " '" + v.name + "', " + run.label + ", constants " +
                                    (lifetime == CAGR_CONSTANT_COPIED ? "copied" : "borrowed") + ", " + seed_note(seed);
          try {
            const std::vector<Bytes> got = run_on_plugin(*plugin_, device, v.index, create, run, lifetime);
            const std::string mismatch = compare(run, want, got, v.math_precision);
            EXPECT_TRUE(mismatch.empty()) << where << ": " << mismatch;
          } catch (const Error& e) {
            ADD_FAILURE() << where << ": " << e.what();
          }
        }
      }
    }
  }

  static std::shared_ptr<Plugin> plugin_;
  static int device_count_;
  static std::string load_error_, no_device_reason_;
  static std::set<std::string> refusals_noted_;  // "op on device N", printed once each
};

std::shared_ptr<Plugin> Conformance::plugin_;
int Conformance::device_count_ = 0;
std::string Conformance::load_error_;
std::string Conformance::no_device_reason_;
std::set<std::string> Conformance::refusals_noted_;

// Every op of OPS.md, on its set of random cases.
class OpConformance : public Conformance, public ::testing::WithParamInterface<std::string> {};

TEST_P(OpConformance, MatchesReference) {
  const uint64_t seed = base_seed() + std::hash<std::string>{}(GetParam());
  Rng rng(seed);
  for (Case& c : cases_for(GetParam(), rng)) check_against_reference(c, c, seed);
}

// ABI 1.2 and 1.3: with int8 allowed (which allows TF32 and bf16 too), a plugin may add variants
// that round the operands of products (TF32, bf16) or quantise them (int8); each is held to its
// precision's bound (case_runner.hpp).
TEST_P(OpConformance, LooserPrecisionWithinItsBound) {
  const uint64_t seed = base_seed() + std::hash<std::string>{}(GetParam()) + 1;
  Rng rng(seed);
  for (Case& c : cases_for(GetParam(), rng)) {
    c.op.allow_math_precision(CAGR_MATH_INT8);
    check_against_reference(c, c, seed, true);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpConformance, ::testing::ValuesIn(contract::op_types()),
                         [](const auto& info) { return info.param; });

// Shapes at kernel_run may differ from those at kernel_create in the dims OPS.md says vary per run.
TEST_F(Conformance, RunShapesVaryInBatchDims) {
  const uint64_t seed = base_seed() + 1;
  Rng rng(seed);
  const uint64_t constants_seed = rng();
  for (const auto& [create_batch, run_batch] : {std::pair<int64_t, int64_t>{17, 5}, {3, 33}}) {
    const EmbeddingBagParams p{{100, 7, 1000}, 19, create_batch, 6, CAGR_DTYPE_I64, CAGR_DTYPE_I32, true};
    EmbeddingBagParams q = p;
    q.batch = run_batch;
    q.max_pooling = 11;  // and a different L
    Case create = embedding_bag_case(rng, constants_seed, p);
    Case run = embedding_bag_case(rng, constants_seed, q);
    check_against_reference(create, run, seed);
    // Where offered: max with padding rows, and a weighted sum with them (the weights follow L).
    for (const bool weighted : {false, true}) {
      EmbeddingBagParams pe = p, qe = q;
      pe.mean = qe.mean = false;
      pe.max = qe.max = !weighted;
      pe.weighted = qe.weighted = weighted;
      pe.padded = qe.padded = true;
      Case create_extended = embedding_bag_case(rng, constants_seed, pe);
      Case run_extended = embedding_bag_case(rng, constants_seed, qe);
      check_against_reference(create_extended, run_extended, seed);
    }

    Case create_fused = dlrm_embedding_case(rng, constants_seed, {p, true, 4});  // where the device offers it
    Case run_fused = dlrm_embedding_case(rng, constants_seed, {q, true, 4});
    check_against_reference(create_fused, run_fused, seed);

    // linear and cross_layer with every precision allowed, so that looser variants (bf16, int8:
    // their scratch buffers and scales follow the run's batch) are checked too.
    Case create_linear = linear_case(rng, constants_seed, {create_batch, 65, 31, true, "relu"});
    Case run_linear = linear_case(rng, constants_seed, {run_batch, 65, 31, true, "relu"});
    create_linear.op.allow_math_precision(CAGR_MATH_INT8);
    run_linear.op.allow_math_precision(CAGR_MATH_INT8);
    check_against_reference(create_linear, run_linear, seed);

    Case create_cross = cross_layer_case(rng, constants_seed, {create_batch, 29, 29, false});  // where offered
    Case run_cross = cross_layer_case(rng, constants_seed, {run_batch, 29, 29, false});
    create_cross.op.allow_math_precision(CAGR_MATH_INT8);
    run_cross.op.allow_math_precision(CAGR_MATH_INT8);
    check_against_reference(create_cross, run_cross, seed);

    Case create_mlp = mlp_case(rng, constants_seed, {create_batch, {13, 50, 24, 1}, "relu,relu,sigmoid"});  // where offered
    Case run_mlp = mlp_case(rng, constants_seed, {run_batch, {13, 50, 24, 1}, "relu,relu,sigmoid"});
    check_against_reference(create_mlp, run_mlp, seed);

    Case create_gather = gather_case(rng, constants_seed, {50, 9}, {create_batch}, CAGR_DTYPE_I32);
    Case run_gather = gather_case(rng, constants_seed, {50, 9}, {run_batch}, CAGR_DTYPE_I32);
    check_against_reference(create_gather, run_gather, seed);

    for (const char* op : {"relu", "dot_interaction", "dlrm_interaction", "fm_interaction", "top_k"}) {
      std::vector<Case> cases = cases_for(op, rng);
      Case& create_case = cases[1];
      Case run_case = rebatched(create_case, run_batch, rng);
      check_against_reference(create_case, run_case, seed);
    }
  }
}

// An index out of range fails with INVALID_ARGUMENT naming the op, position and value; the
// plugin stays usable. For embedding_bag and for dlrm_embedding_interaction where offered, whose
// indices and offsets are inputs 1 and 2.
TEST_F(Conformance, OutOfRangeIndexIsAnError) {
  const uint64_t seed = base_seed() + 2;
  Rng rng(seed);
  for (int device = 0; device < device_count_; ++device) {
    // With padding rows too, where table 1 has none: its index -1 is out of range, not padding.
    for (const std::string op : {"embedding_bag", "dlrm_embedding_interaction", "embedding_bag padded"}) {
      const size_t first = op == "dlrm_embedding_interaction" ? 1 : 0;  // the indices' input
      auto draw_case = [&] {
        EmbeddingBagParams p{{10, 1000, 20}, 8, 4, 3, CAGR_DTYPE_I32, CAGR_DTYPE_I64, false};
        p.padded = op == "embedding_bag padded";
        return first == 0 ? embedding_bag_case(rng, rng(), p) : dlrm_embedding_case(rng, rng(), {p, false, 1});
      };
      for (int64_t bad_value : {int64_t{1000}, int64_t{-1}}) {
        Case c = draw_case();
        // A position within table 1 (1000 rows): index 1000 is one past its end.
        const int64_t* offsets = reinterpret_cast<const int64_t*>(c.inputs[first + 1].data());
        int64_t position = offsets[4];
        if (offsets[8] == position) {  // table 1's bags are all empty: give bag 0 of it one index
          c = draw_case();
          offsets = reinterpret_cast<const int64_t*>(c.inputs[first + 1].data());
          position = offsets[4];
          if (offsets[8] == position) continue;
        }
        reinterpret_cast<int32_t*>(c.inputs[first].data())[position] = static_cast<int32_t>(bad_value);
        for (const Variant& v : variants(device, c)) {
          const std::string where = plugin_->name() + " device " + std::to_string(device) + " variant '" + v.name +
                                    "', " + c.label + ", index " + std::to_string(bad_value) + " at position " +
                                    std::to_string(position) + ", " + seed_note(seed);
          try {
            run_on_plugin(*plugin_, device, v.index, c, c);
            ADD_FAILURE() << where << ": no error";
          } catch (const Error& e) {
            EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << where << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find(c.op.type()), std::string::npos) << where << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find(std::to_string(bad_value)), std::string::npos) << where << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find(std::to_string(position)), std::string::npos) << where << ": " << e.what();
          }
        }
      }
    }
    Case g = gather_case(rng, rng(), {33, 4}, {17}, CAGR_DTYPE_I64);
    reinterpret_cast<int64_t*>(g.inputs[1].data())[16] = 33;
    for (const Variant& v : variants(device, g)) {
      try {
        run_on_plugin(*plugin_, device, v.index, g, g);
        ADD_FAILURE() << "gather variant '" << v.name << "' with index 33 of 33 rows: no error";
      } catch (const Error& e) {
        EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << e.what();
      }
    }
    // Still usable afterwards.
    for (Case& c : cases_for("embedding_bag", rng)) check_against_reference(c, c, seed);
  }
}

// Descriptions outside OPS.md are refused by op_query with a reason and by kernel_create.
TEST_F(Conformance, UnsupportedDescsAreRefused) {
  using OpDesc = abi::OwnedOpDesc;
  std::vector<OpDesc> bad;
  bad.push_back(OpDesc("linear").input(CAGR_DTYPE_I8, {3, 4}).input(CAGR_DTYPE_F32, {5, 4}).output(CAGR_DTYPE_F32, {3, 5}));
  bad.push_back(OpDesc("linear").input(CAGR_DTYPE_F32, {3, 4, 1}).input(CAGR_DTYPE_F32, {5, 4}).output(CAGR_DTYPE_F32, {3, 5}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_F32, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2}).output(CAGR_DTYPE_F32, {2, 1, 2}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2}).output(CAGR_DTYPE_F32, {2, 1, 2}).attr("mode", "min"));
  // Per-sample weights with mode mean; weights not one per index; padding rows not one per table.
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2})
                    .input(CAGR_DTYPE_F32, {4}).output(CAGR_DTYPE_F32, {2, 1, 2}).attr("weighted", int64_t{1}).attr("mode", "mean"));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2})
                    .input(CAGR_DTYPE_F32, {5}).output(CAGR_DTYPE_F32, {2, 1, 2}).attr("weighted", int64_t{1}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2})
                    .input(CAGR_DTYPE_I64, {2}).output(CAGR_DTYPE_F32, {2, 1, 2}).attr("padded", int64_t{1}));
  // The weights or padding rows without their attribute: what a plugin built before them sees.
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2})
                    .input(CAGR_DTYPE_F32, {4}).output(CAGR_DTYPE_F32, {2, 1, 2}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2})
                    .input(CAGR_DTYPE_I64, {1}).output(CAGR_DTYPE_F32, {2, 1, 2}));
  // Tables of two dtypes in one op; a u8 table without room for its scale and bias; i32 tables.
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F16, {9, 2})
                    .input(CAGR_DTYPE_F32, {9, 2}).output(CAGR_DTYPE_F32, {1, 2, 2}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_U8, {9, 5})
                    .output(CAGR_DTYPE_F32, {2, 1, 5}));
  bad.push_back(OpDesc("embedding_bag").input(CAGR_DTYPE_I64, {4}).input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_I32, {9, 2})
                    .output(CAGR_DTYPE_F32, {2, 1, 2}));
  // dlrm_embedding_interaction takes f32 tables only (OPS.md: the 16-bit and u8 ones are embedding_bag's).
  bad.push_back(OpDesc("dlrm_embedding_interaction").input(CAGR_DTYPE_F32, {2, 2}).input(CAGR_DTYPE_I64, {3})
                    .input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F16, {9, 2}).output(CAGR_DTYPE_F32, {2, 3}));
  // dlrm_embedding_interaction pools by sum or mean only.
  bad.push_back(OpDesc("dlrm_embedding_interaction").input(CAGR_DTYPE_F32, {2, 2}).input(CAGR_DTYPE_I64, {3})
                    .input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2}).output(CAGR_DTYPE_F32, {2, 3}).attr("mode", "max"));
  bad.push_back(OpDesc("dot_interaction").input(CAGR_DTYPE_F32, {2, 3}).output(CAGR_DTYPE_F32, {2, 3}));
  // dense D = 4, tables' D = 2.
  bad.push_back(OpDesc("dlrm_embedding_interaction").input(CAGR_DTYPE_F32, {2, 4}).input(CAGR_DTYPE_I64, {3})
                    .input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 2}).output(CAGR_DTYPE_F32, {2, 5}));
  // An output_dtype outside OPS.md (f32 or bf16).
  bad.push_back(OpDesc("dlrm_embedding_interaction").input(CAGR_DTYPE_F32, {2, 4}).input(CAGR_DTYPE_I64, {2})
                    .input(CAGR_DTYPE_I64, {3}).input(CAGR_DTYPE_F32, {9, 4}).output(CAGR_DTYPE_F16, {2, 5})
                    .attr("output_dtype", "f16"));
  // Two layers, one activation.
  bad.push_back(OpDesc("mlp").input(CAGR_DTYPE_F32, {3, 4}).input(CAGR_DTYPE_F32, {5, 4}).input(CAGR_DTYPE_F32, {5})
                    .input(CAGR_DTYPE_F32, {2, 5}).input(CAGR_DTYPE_F32, {2}).output(CAGR_DTYPE_F32, {3, 2}).attr("activations", "relu"));
  bad.push_back(OpDesc("top_k").input(CAGR_DTYPE_F32, {2, 3}).output(CAGR_DTYPE_F32, {2, 4}).output(CAGR_DTYPE_I64, {2, 4}).attr("k", int64_t{4}));
  bad.push_back(OpDesc("no_such_op").input(CAGR_DTYPE_F32, {2}).output(CAGR_DTYPE_F32, {2}));
  for (int device = 0; device < device_count_; ++device) {
    for (OpDesc& op : bad) {
      const OpSupport support = plugin_->query(device, op.desc());
      EXPECT_FALSE(support.supported) << op.type() << " (malformed) accepted by op_query";
      EXPECT_FALSE(support.reason.empty()) << op.type() << ": refused without a reason";
      try {
        plugin_->create_kernel(device, op.desc(), 0, {});
        ADD_FAILURE() << op.type() << " (malformed): kernel_create accepted it";
      } catch (const Error& e) {
        EXPECT_TRUE(e.status() == CAGR_ERROR_INVALID_ARGUMENT || e.status() == CAGR_ERROR_UNSUPPORTED) << e.what();
      }
    }
  }
}

// host -> device -> device -> host at odd offsets gives the bytes back.
TEST_F(Conformance, BufferCopiesRoundTrip) {
  Rng rng(base_seed() + 3);
  for (int device = 0; device < device_count_; ++device) {
    for (const uint64_t bytes : {uint64_t{1}, uint64_t{3}, uint64_t{4097}, uint64_t{1} << 20}) {
      Bytes src(bytes), back(bytes);
      for (std::byte& b : src) b = static_cast<std::byte>(rng());
      Buffer a = plugin_->alloc(device, bytes + 7);
      Buffer b = plugin_->alloc(device, bytes + 13);
      Stream s = plugin_->create_stream(device);
      a.copy_from_host(s, src.data(), bytes, 5);
      b.copy_from(s, a, bytes, 5, 11);
      b.copy_to_host(s, back.data(), bytes, 11);
      s.synchronize();
      EXPECT_EQ(back, src) << "device " << device << ", " << bytes << " bytes via offsets 5 and 11";
      if (plugin_->device(device).host_accessible) {
        ASSERT_NE(b.host_pointer(), nullptr) << "host_accessible device without a host pointer";
        EXPECT_EQ(std::memcmp(static_cast<const std::byte*>(b.host_pointer()) + 11, src.data(), bytes), 0);
      }
    }
  }
}

// Work ordered by an event across two streams sees the first stream's writes.
TEST_F(Conformance, EventsOrderStreams) {
  Rng rng(base_seed() + 4);
  for (int device = 0; device < device_count_; ++device) {
    const uint64_t bytes = 1 << 20;
    Bytes src(bytes), back(bytes);
    for (std::byte& b : src) b = static_cast<std::byte>(rng());
    Buffer a = plugin_->alloc(device, bytes);
    Buffer b = plugin_->alloc(device, bytes);
    Stream first = plugin_->create_stream(device);
    Stream second = plugin_->create_stream(device);
    Event done = plugin_->create_event(device);
    a.copy_from_host(first, src.data(), bytes);
    b.copy_from(first, a, bytes);
    done.record(first);
    second.wait(done);
    b.copy_to_host(second, back.data(), bytes);
    done.synchronize();
    second.synchronize();
    EXPECT_EQ(back, src) << "device " << device;
    first.synchronize();
  }
}

TEST_F(Conformance, DevicePropertiesAreSane) {
  for (int device = 0; device < device_count_; ++device) {
    const DeviceInfo d = plugin_->device(device);
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.compute_units, 0) << d.name;
    EXPECT_GE(d.peak_gflops_f32, 0) << d.name;
    EXPECT_GE(d.memory_bandwidth_gbps, 0) << d.name;
  }
}

// OPS.md, "Non-finite values and empty batches": NaN and +-Inf in an op's inputs give what IEEE
// arithmetic gives, as the reference computes it (relu(NaN) = NaN, sigmoid(-Inf) = 0, a sum with a
// NaN is NaN, Inf - Inf is NaN); compare() matches NaN with NaN and Inf with the same Inf only.
TEST_F(Conformance, NonFiniteInputsGiveWhatIeeeArithmeticGives) {
  const uint64_t seed = base_seed() + 5;
  Rng rng(seed);
  for (const std::string& op : contract::op_types()) {
    if (op == "cast") continue;  // NaN or Inf to an integer has no IEEE value (OPS.md)
    for (Case& c : cases_for(op, rng)) {
      if (!with_non_finite_inputs(c, rng)) continue;
      check_against_reference(c, c, seed);
      // Looser variants too: int8 has no code for NaN or Inf, so such a run must not quantise them.
      c.op.allow_math_precision(CAGR_MATH_INT8);
      check_against_reference(c, c, seed, true);
    }
  }
  // The same for a constant W (quantised once, at kernel_create): one NaN and one Inf in it.
  for (const cagr_math_precision allowed : {CAGR_MATH_F32, CAGR_MATH_INT8}) {
    Case c = linear_case(rng, rng(), {17, 13, 5, true, "relu"});
    float* w = reinterpret_cast<float*>(c.inputs[1].data());
    w[7] = std::numeric_limits<float>::quiet_NaN();
    w[40] = -std::numeric_limits<float>::infinity();
    c.label += " with NaN and -Inf in W";
    c.op.allow_math_precision(allowed);
    check_against_reference(c, c, seed);
  }
  // embedding_bag's max takes a bag's first row, then a value wherever it is greater, so a NaN counts
  // only in a bag's first row: NaN and Inf in the tables (constants, which the loop above leaves
  // finite), bags of up to 7 rows, with and without padding rows, D with and without 4-wide lanes
  // (and, f32 and f16 tables, 16-wide blocks: the f16 tables then hold NaN halves, an f32 NaN's or
  // infinity's high bits).
  for (const cagr_dtype table : {CAGR_DTYPE_F32, CAGR_DTYPE_F16}) {
    for (const bool padded : {false, true}) {
      for (const int64_t dim : {int64_t{8}, int64_t{5}, int64_t{17}}) {
        EmbeddingBagParams p{{17, 50, 3}, dim, 33, 7, CAGR_DTYPE_I64, CAGR_DTYPE_I32, false};
        p.max = true;
        p.padded = padded;
        p.table_dtype = table;
        Case c = embedding_bag_case(rng, rng(), p);
        with_non_finite_tables(c, static_cast<int64_t>(p.rows.size()), rng);
        check_against_reference(c, c, seed);
      }
    }
  }
}

// A batch of 0 rows (each dimension OPS.md says varies per run set to 0) is valid: kernel_run
// succeeds and writes nothing, whether the kernel was made for 0 rows or for more; the buffers of
// empty tensors hold 0 bytes and their copies move 0 bytes from or to NULL (run_on_plugin).
TEST_F(Conformance, EmptyBatchIsValid) {
  const uint64_t seed = base_seed() + 6;
  Rng rng(seed);
  const uint64_t constants = rng();
  auto both_ways = [&](Case& made_for_rows, Case& empty) {
    check_against_reference(made_for_rows, empty, seed);
    check_against_reference(empty, empty, seed);
  };
  for (const bool mean : {false, true}) {
    EmbeddingBagParams p{{10, 1000, 20}, 8, 5, 3, CAGR_DTYPE_I32, CAGR_DTYPE_I64, mean};
    Case rows = embedding_bag_case(rng, constants, p);
    Case fused_rows = dlrm_embedding_case(rng, constants, {p, false, 4});
    p.batch = 0;
    Case empty = embedding_bag_case(rng, constants, p);
    Case fused_empty = dlrm_embedding_case(rng, constants, {p, false, 4});
    both_ways(rows, empty);
    both_ways(fused_rows, fused_empty);  // where the device offers it
  }
  for (const char* activation : {"none", "relu", "sigmoid"}) {
    Case rows = linear_case(rng, constants, {7, 33, 5, true, activation});
    Case empty = linear_case(rng, constants, {0, 33, 5, true, activation});
    both_ways(rows, empty);
  }
  Case cross_rows = cross_layer_case(rng, constants, {7, 5, 11, true});
  Case cross_empty = cross_layer_case(rng, constants, {0, 5, 11, true});
  both_ways(cross_rows, cross_empty);
  Case mlp_rows = mlp_case(rng, constants, {7, {13, 50, 1}, "relu,sigmoid"});
  Case mlp_empty = mlp_case(rng, constants, {0, {13, 50, 1}, "relu,sigmoid"});
  both_ways(mlp_rows, mlp_empty);
  Case gather_rows = gather_case(rng, constants, {50, 9}, {6}, CAGR_DTYPE_I64);
  Case gather_empty = gather_case(rng, constants, {50, 9}, {0}, CAGR_DTYPE_I64);
  both_ways(gather_rows, gather_empty);
  for (const char* op : {"relu", "sigmoid", "dot_interaction", "dlrm_interaction", "fm_interaction", "top_k"}) {
    std::vector<Case> cases = cases_for(op, rng);
    Case empty = rebatched(cases[1], 0, rng);
    both_ways(cases[1], empty);
  }
}

}  // namespace
}  // namespace cagr::conformance
