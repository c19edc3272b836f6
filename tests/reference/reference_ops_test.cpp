// Hand-computed cases for every op of abi/OPS.md: expected values are worked out in the comments
// from the op's definition, not taken from the code under test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cagr_dtype.hpp"
#include "owned_op_desc.hpp"
#include "reference_ops.hpp"
#include "run_reference_op.hpp"

namespace {

using OpDesc = cagr::abi::OwnedOpDesc;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using ::testing::FloatNear;

constexpr cagr_dtype F32 = CAGR_DTYPE_F32;
constexpr cagr_dtype I32 = CAGR_DTYPE_I32;
constexpr cagr_dtype I64 = CAGR_DTYPE_I64;

using cagr::testing::error_of;
using cagr::testing::run;

TEST(ReferenceEmbeddingBag, SumTwoTablesI64) {
  // T=2, B=2, D=2. Table 0 has 3 rows, table 1 has 2.
  const std::vector<float> t0 = {1, 2, 10, 20, 100, 200};
  const std::vector<float> t1 = {-1, -2, 5, 5};
  // bags: t0b0 = {0, 2}, t0b1 = {}, t1b0 = {1}, t1b1 = {0, 1, 1}
  const std::vector<int64_t> indices = {0, 2, 1, 0, 1, 1};
  const std::vector<int64_t> offsets = {0, 2, 2, 3, 6};
  OpDesc op("embedding_bag");
  op.input(I64, {6}).input(I64, {5}).input(F32, {3, 2}).input(F32, {2, 2}).output(F32, {2, 2, 2});
  std::vector<float> out(8, -7);
  run(op, {indices.data(), offsets.data(), t0.data(), t1.data()}, {out.data()});
  // pooled[b][t]: b0t0 = (1+100, 2+200), b0t1 = (5, 5), b1t0 = empty = 0, b1t1 = (-1+5+5, -2+5+5)
  EXPECT_THAT(out, ElementsAre(101, 202, 5, 5, 0, 0, 9, 8));
}

TEST(ReferenceEmbeddingBag, MeanI32) {
  const std::vector<float> t0 = {1, 2, 3, 4, 5, 6};  // 3 rows, D=2
  const std::vector<int32_t> indices = {0, 1, 2, 2};
  const std::vector<int32_t> offsets = {0, 3, 3, 4};  // B=3: {0,1,2}, {}, {2}
  OpDesc op("embedding_bag");
  op.input(I32, {4}).input(I32, {4}).input(F32, {3, 2}).output(F32, {3, 1, 2}).attr("mode", "mean");
  std::vector<float> out(6, -7);
  run(op, {indices.data(), offsets.data(), t0.data()}, {out.data()});
  // (1+3+5)/3 = 3, (2+4+6)/3 = 4; empty bag 0; row 2 alone.
  EXPECT_THAT(out, ElementsAre(3, 4, 0, 0, 5, 6));
}

TEST(ReferenceEmbeddingBag, MaxTakesEachColumnsLargestAndZerosForEmptyBags) {
  const std::vector<float> t0 = {1, -8, -3, 4, -5, -6};  // 3 rows, D=2
  const std::vector<int64_t> indices = {0, 1, 2, 2, 1};
  const std::vector<int64_t> offsets = {0, 3, 3, 4, 5};  // B=4: {0,1,2}, {}, {2}, {1}
  OpDesc op("embedding_bag");
  op.input(I64, {5}).input(I64, {5}).input(F32, {3, 2}).output(F32, {4, 1, 2}).attr("mode", "max");
  std::vector<float> out(8, -7);
  run(op, {indices.data(), offsets.data(), t0.data()}, {out.data()});
  // max(1, -3, -5) = 1, max(-8, 4, -6) = 4; the empty bag 0 (not the lowest float); rows alone.
  EXPECT_THAT(out, ElementsAre(1, 4, 0, 0, -5, -6, -3, 4));

  // In order, as PyTorch: the first row, then a value where greater, so a NaN counts only first.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> t1 = {nan, 5, 2, nan, 0, 0};  // 3 rows, D=2
  const std::vector<int64_t> orders = {0, 1, 1, 0, 2, 2};
  const std::vector<int64_t> pairs = {0, 2, 4, 6};  // B=3: {0,1}, {1,0}, {2,2}
  OpDesc nan_op("embedding_bag");
  nan_op.input(I64, {6}).input(I64, {4}).input(F32, {3, 2}).output(F32, {3, 1, 2}).attr("mode", "max");
  std::vector<float> got(6, -7);
  run(nan_op, {orders.data(), pairs.data(), t1.data()}, {got.data()});
  EXPECT_TRUE(std::isnan(got[0]));  // NaN first: kept (2 > NaN is false)
  EXPECT_EQ(got[1], 5);             // NaN after 5: dropped (NaN > 5 is false)
  EXPECT_EQ(got[2], 2);
  EXPECT_TRUE(std::isnan(got[3]));
  EXPECT_THAT(std::vector<float>(got.begin() + 4, got.end()), ElementsAre(0, 0));
}

TEST(ReferenceEmbeddingBag, PerSampleWeightsScaleEachRowOfASum) {
  const std::vector<float> t0 = {1, 2, 3, 4, 5, 6};  // 3 rows, D=2
  const std::vector<int32_t> indices = {0, 2, 1};
  const std::vector<int32_t> offsets = {0, 2, 3};  // B=2: {0,2}, {1}
  const std::vector<float> weights = {2, -1, 0.5};
  OpDesc op("embedding_bag");
  op.input(I32, {3}).input(I32, {3}).input(F32, {3, 2}).input(F32, {3}).output(F32, {2, 1, 2}).attr("weighted", int64_t{1});
  std::vector<float> out(4, -7);
  run(op, {indices.data(), offsets.data(), t0.data(), weights.data()}, {out.data()});
  // 2*(1,2) - (5,6) = (-3,-2); 0.5*(3,4) = (1.5, 2).
  EXPECT_THAT(out, ElementsAre(-3, -2, 1.5, 2));
}

TEST(ReferenceEmbeddingBag, PaddingRowsAreSkippedAndNotCounted) {
  // T=2, B=2, D=1. Table 0 (3 rows) pads with row 1; table 1 (2 rows) has no padding row (-1).
  const std::vector<float> t0 = {10, 20, 30};
  const std::vector<float> t1 = {-1, -2};
  // t0b0 = {1, 2, 1, 0}, t0b1 = {1, 1} (only padding), t1b0 = {0, 1}, t1b1 = {}
  const std::vector<int64_t> indices = {1, 2, 1, 0, 1, 1, 0, 1};
  const std::vector<int64_t> offsets = {0, 4, 6, 8, 8};
  const std::vector<int32_t> padding = {1, -1};
  std::vector<float> out(4, -7);
  // out[b][t]: t0b0 pools rows 2 and 0 only (30, 10); t0b1 has no row left: 0.
  const std::map<std::string, std::vector<float>> want = {
      {"sum", {40, -3, 0, 0}}, {"mean", {20, -1.5, 0, 0}}, {"max", {30, -1, 0, 0}}};
  for (const char* mode : {"sum", "mean", "max"}) {
    OpDesc op("embedding_bag");
    op.input(I64, {8}).input(I64, {5}).input(F32, {3, 1}).input(F32, {2, 1}).input(I32, {2}).output(F32, {2, 2, 1});
    op.attr("mode", mode).attr("padded", int64_t{1});
    run(op, {indices.data(), offsets.data(), t0.data(), t1.data(), padding.data()}, {out.data()});
    EXPECT_THAT(out, ElementsAreArray(want.at(mode))) << mode;
  }
  // A padding row past the table's end is skipped unchecked; with none, -1 stays out of range.
  const std::vector<int64_t> past_end = {3, -1};
  const std::vector<int64_t> wild = {3, 2, 3, 3, 3, 3, 0, -1};
  OpDesc op("embedding_bag");
  op.input(I64, {8}).input(I64, {5}).input(F32, {3, 1}).input(F32, {2, 1}).input(I64, {2}).output(F32, {2, 2, 1});
  op.attr("padded", int64_t{1});
  EXPECT_THAT(error_of(op, {wild.data(), offsets.data(), t0.data(), t1.data(), past_end.data()}, {out.data()}),
              HasSubstr("index -1 at position 7 is out of range for table 1"));
}

TEST(ReferenceEmbeddingBag, Errors) {
  const std::vector<float> t0 = {1, 2, 3};  // 3 rows, D=1
  std::vector<int64_t> indices = {0, 3};
  std::vector<int64_t> offsets = {0, 1, 2};
  std::vector<float> out(2);
  OpDesc op("embedding_bag");
  op.input(I64, {2}).input(I64, {3}).input(F32, {3, 1}).output(F32, {2, 1, 1});
  const std::string bad_index = error_of(op, {indices.data(), offsets.data(), t0.data()}, {out.data()});
  EXPECT_THAT(bad_index, HasSubstr("embedding_bag"));
  EXPECT_THAT(bad_index, HasSubstr("index 3 at position 1"));
  EXPECT_THAT(bad_index, HasSubstr("table 0"));
  indices = {0, -1};
  EXPECT_THAT(error_of(op, {indices.data(), offsets.data(), t0.data()}, {out.data()}), HasSubstr("index -1 at position 1"));
  indices = {0, 1};
  offsets = {0, 2, 1};
  EXPECT_THAT(error_of(op, {indices.data(), offsets.data(), t0.data()}, {out.data()}), HasSubstr("offsets[2] must be L"));
  offsets = {1, 1, 2};
  EXPECT_THAT(error_of(op, {indices.data(), offsets.data(), t0.data()}, {out.data()}), HasSubstr("offsets[0] must be 0"));

  OpDesc bad_mode = op;
  bad_mode.attr("mode", "min");
  EXPECT_THAT(error_of(bad_mode, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("'mode' must be sum, mean or max"));
  OpDesc weighted_mean = op;
  weighted_mean.input(F32, {2}).attr("weighted", int64_t{1}).attr("mode", "mean");
  EXPECT_THAT(error_of(weighted_mean, {nullptr, nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("need mode sum"));
  OpDesc weighted = op;
  weighted.input(I64, {2}).attr("weighted", int64_t{1});
  EXPECT_THAT(error_of(weighted, {nullptr, nullptr, nullptr, nullptr}, {nullptr}),
              HasSubstr("per-sample weights (input 3) must be f32"));
  OpDesc padded = op;
  padded.input(I64, {2}).attr("padded", int64_t{1});
  EXPECT_THAT(error_of(padded, {nullptr, nullptr, nullptr, nullptr}, {nullptr}),
              HasSubstr("padding rows (input 3), one per table, must have shape [1]"));
  OpDesc bad_out("embedding_bag");
  bad_out.input(I64, {2}).input(I64, {3}).input(F32, {3, 1}).output(F32, {2, 1, 2});
  EXPECT_THAT(error_of(bad_out, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("pooled (output 0) must have shape [2, 1, 1]"));
  OpDesc bad_dtype("embedding_bag");
  bad_dtype.input(F32, {2}).input(I64, {3}).input(F32, {3, 1}).output(F32, {2, 1, 1});
  EXPECT_THAT(error_of(bad_dtype, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("indices (input 0) must be i32 or i64"));
  OpDesc bad_dim("embedding_bag");
  bad_dim.input(I64, {2}).input(I64, {3}).input(F32, {3, 1}).input(F32, {3, 2}).output(F32, {1, 2, 1});
  EXPECT_THAT(error_of(bad_dim, {nullptr, nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("table 1 (input 3) has dim 2"));
}

TEST(ReferenceLinear, BiasAndActivations) {
  const std::vector<float> x = {1, 2, -1, 0};       // M=2, K=2
  const std::vector<float> w = {1, 1, 2, -1, 0, 3};  // N=3
  const std::vector<float> bias = {0.5f, 0, -10};
  // row 0: (1+2, 2-2, 0+6) + bias = (3.5, 0, -4); row 1: (-1, -2, 0) + bias = (-0.5, -2, -10)
  std::vector<float> y(6);
  OpDesc plain("linear");
  plain.input(F32, {2, 2}).input(F32, {3, 2}).input(F32, {3}).output(F32, {2, 3});
  run(plain, {x.data(), w.data(), bias.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(3.5f, 0, -4, -0.5f, -2, -10));

  OpDesc relu = plain;
  relu.attr("activation", "relu");
  run(relu, {x.data(), w.data(), bias.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(3.5f, 0, 0, 0, 0, 0));

  OpDesc sigmoid("linear");
  sigmoid.input(F32, {2, 2}).input(F32, {3, 2}).output(F32, {2, 3}).attr("activation", "sigmoid");
  run(sigmoid, {x.data(), w.data()}, {y.data()});
  // no bias: (3, 0, 6), (-1, -2, 0)
  const std::vector<float> want = {1 / (1 + std::exp(-3.0f)), 0.5f, 1 / (1 + std::exp(-6.0f)),
                                   1 / (1 + std::exp(1.0f)), 1 / (1 + std::exp(2.0f)), 0.5f};
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), want));

  OpDesc bad_k("linear");
  bad_k.input(F32, {2, 2}).input(F32, {3, 4}).output(F32, {2, 3});
  EXPECT_THAT(error_of(bad_k, {nullptr, nullptr}, {nullptr}), HasSubstr("W (input 1) [3, 4] does not match X"));
  OpDesc bad_act = plain;
  bad_act.attr("activation", "tanh");
  EXPECT_THAT(error_of(bad_act, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("'activation'"));
  OpDesc bad_bias("linear");
  bad_bias.input(F32, {2, 2}).input(F32, {3, 2}).input(F32, {2}).output(F32, {2, 3});
  EXPECT_THAT(error_of(bad_bias, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("bias (input 2) must have shape [3]"));
}

// OPS.md, non-finite values: NaN stays NaN through relu and sigmoid (a max(x, 0) or a clamp loses
// it), and the infinities give IEEE's limits.
TEST(ReferenceLinear, NonFiniteValuesPropagate) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {nan, inf, -inf};  // M=3, K=1
  const std::vector<float> w = {1};               // N=1
  std::vector<float> y(3);
  OpDesc relu("linear");
  relu.input(F32, {3, 1}).input(F32, {1, 1}).output(F32, {3, 1}).attr("activation", "relu");
  run(relu, {x.data(), w.data()}, {y.data()});
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], inf);
  EXPECT_EQ(y[2], 0.0f);
  OpDesc sigmoid("linear");
  sigmoid.input(F32, {3, 1}).input(F32, {1, 1}).output(F32, {3, 1}).attr("activation", "sigmoid");
  run(sigmoid, {x.data(), w.data()}, {y.data()});
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], 0.0f);
}

// An mlp of M rows through `widths` (K_0, N_0, .., N_{L-1}).
OpDesc mlp_desc(int64_t m, const std::vector<int64_t>& widths, const std::string& activations) {
  OpDesc op("mlp");
  op.input(F32, {m, widths[0]});
  for (size_t l = 0; l + 1 < widths.size(); ++l) op.input(F32, {widths[l + 1], widths[l]}).input(F32, {widths[l + 1]});
  op.output(F32, {m, widths.back()}).attr("activations", activations);
  return op;
}

// mlp is its linears run one by one, each one's f32 output the next one's X: on random inputs of
// odd sizes, the same values bit for bit.
TEST(ReferenceMlp, EqualsItsLinearsOneByOne) {
  struct Chain {
    int64_t m;
    std::vector<int64_t> widths;
    std::vector<std::string> activations;
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const Chain& c : {Chain{37, {13, 50, 24, 1}, {"relu", "relu", "sigmoid"}}, Chain{5, {33, 17, 9}, {"none", "relu"}},
                         Chain{3, {7, 3}, {"sigmoid"}}}) {
    SCOPED_TRACE(std::to_string(c.widths.size() - 1) + " layers");
    std::string activations;
    for (const std::string& a : c.activations) activations += (activations.empty() ? "" : ",") + a;
    OpDesc op = mlp_desc(c.m, c.widths, activations);
    std::vector<std::vector<float>> tensors;  // X, then W_l and b_l
    std::vector<const void*> in;
    for (const cagr_tensor_desc& t : op.inputs()) {
      tensors.emplace_back(static_cast<size_t>(t.rank == 2 ? t.dims[0] * t.dims[1] : t.dims[0]));
      for (float& v : tensors.back()) v = u(rng);
      in.push_back(tensors.back().data());
    }
    std::vector<float> got(static_cast<size_t>(c.m * c.widths.back()), -7);
    run(op, in, {got.data()});

    std::vector<float> h = tensors[0];
    for (size_t l = 0; l < c.activations.size(); ++l) {
      OpDesc linear("linear");
      linear.input(F32, {c.m, c.widths[l]}).input(F32, {c.widths[l + 1], c.widths[l]}).input(F32, {c.widths[l + 1]});
      linear.output(F32, {c.m, c.widths[l + 1]}).attr("activation", c.activations[l]);
      std::vector<float> next(static_cast<size_t>(c.m * c.widths[l + 1]));
      run(linear, {h.data(), tensors[1 + 2 * l].data(), tensors[2 + 2 * l].data()}, {next.data()});
      h = std::move(next);
    }
    EXPECT_THAT(got, ElementsAreArray(h));
  }
}

// A bf16 X (OPS.md: optional) is taken exactly: the mlp on its bits equals the mlp on the same
// values in f32, bit for bit; an X of another dtype is refused.
TEST(ReferenceMlp, Bf16XIsTakenExactly) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  OpDesc f32 = mlp_desc(6, {8, 5, 3}, "relu,none"), bf16 = mlp_desc(6, {8, 5, 3}, "relu,none");
  bf16.inputs()[0].dtype = CAGR_DTYPE_BF16;
  std::vector<std::vector<float>> tensors;
  for (const cagr_tensor_desc& t : f32.inputs()) {
    tensors.emplace_back(static_cast<size_t>(t.rank == 2 ? t.dims[0] * t.dims[1] : t.dims[0]));
    for (float& v : tensors.back()) v = u(rng);
  }
  std::vector<uint16_t> x_bits;
  for (float& v : tensors[0]) {
    x_bits.push_back(cagr::abi::bf16_from_float(v));
    v = cagr::abi::float_from_bf16(x_bits.back());
  }
  std::vector<const void*> in;
  for (const auto& t : tensors) in.push_back(t.data());
  std::vector<float> want(18, -7), got(18, -7);
  run(f32, in, {want.data()});
  in[0] = x_bits.data();
  run(bf16, in, {got.data()});
  EXPECT_THAT(got, ElementsAreArray(want));
  bf16.inputs()[0].dtype = CAGR_DTYPE_F16;
  EXPECT_THAT(error_of(bf16, in, {got.data()}), HasSubstr("X (input 0) must be f32 or bf16, got f16"));
}

TEST(ReferenceMlp, BadChainsAreRefusedNamingWhatIsWrong) {
  const std::vector<const void*> in(7, nullptr);
  OpDesc too_few = mlp_desc(37, {13, 50, 24, 1}, "relu,relu");
  EXPECT_THAT(error_of(too_few, in, {nullptr}), HasSubstr("mlp: attribute 'activations' = 'relu,relu' names 2 activations for 3 layers"));
  OpDesc unknown = mlp_desc(37, {13, 50, 24, 1}, "relu,tanh,none");
  EXPECT_THAT(error_of(unknown, in, {nullptr}),
              HasSubstr("activation 1 of attribute 'activations' must be none, relu or sigmoid, got 'tanh'"));
  OpDesc bad_k = mlp_desc(37, {13, 50, 24, 1}, "relu,relu,none");
  bad_k.inputs()[3].dims[1] = 49;  // W_1 [24, 49] after W_0 [50, 13]
  EXPECT_THAT(error_of(bad_k, in, {nullptr}), HasSubstr("W_1 (input 3) [24, 49] must have K = 50 columns, the rows of W_0"));
  OpDesc bad_bias = mlp_desc(37, {13, 50, 24, 1}, "relu,relu,none");
  bad_bias.inputs()[6].dims[0] = 2;
  EXPECT_THAT(error_of(bad_bias, in, {nullptr}), HasSubstr("b_2 (input 6) must have shape [1], got [2]"));
  OpDesc no_bias("mlp");
  no_bias.input(F32, {3, 4}).input(F32, {2, 4}).output(F32, {3, 2}).attr("activations", "none");
  EXPECT_THAT(error_of(no_bias, {nullptr, nullptr}, {nullptr}), HasSubstr("an odd number >= 3 of inputs"));
  OpDesc bad_out = mlp_desc(37, {13, 50}, "relu");
  bad_out.outputs()[0].dims[1] = 13;
  EXPECT_THAT(error_of(bad_out, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("Y (output 0) must have shape [37, 50]"));
}

TEST(ReferenceElementwise, ReluSigmoid) {
  const std::vector<float> x = {-2, 0, 3};
  std::vector<float> y(3);
  OpDesc relu("relu");
  relu.input(F32, {1, 3}).output(F32, {1, 3});
  run(relu, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(0, 0, 3));
  OpDesc sigmoid("sigmoid");
  sigmoid.input(F32, {3}).output(F32, {3});
  run(sigmoid, {x.data()}, {y.data()});
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), std::vector<float>{1 / (1 + std::exp(2.0f)), 0.5f, 1 / (1 + std::exp(-3.0f))}));
  OpDesc bad("relu");
  bad.input(F32, {3}).output(F32, {4});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("relu: output 0 must have shape [3]"));
}

TEST(ReferenceElementwise, AddMulBroadcastSuffix) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};  // [2, 3]
  const std::vector<float> row = {10, 20, 30};      // [3]
  std::vector<float> y(6);
  OpDesc add("add");
  add.input(F32, {2, 3}).input(F32, {3}).output(F32, {2, 3});
  run(add, {a.data(), row.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(11, 22, 33, 14, 25, 36));
  OpDesc mul("mul");
  mul.input(F32, {2, 3}).input(F32, {2, 3}).output(F32, {2, 3});
  run(mul, {a.data(), a.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(1, 4, 9, 16, 25, 36));
  OpDesc bad("add");
  bad.input(F32, {2, 3}).input(F32, {2}).output(F32, {2, 3});
  EXPECT_THAT(error_of(bad, {nullptr, nullptr}, {nullptr}), HasSubstr("suffix"));
}

TEST(ReferenceConcat, AxisOneAndNegative) {
  const std::vector<float> a = {1, 2, 3, 4};  // [2, 2]
  const std::vector<float> b = {5, 6};        // [2, 1]
  std::vector<float> y(6);
  OpDesc op("concat");
  op.input(F32, {2, 2}).input(F32, {2, 1}).output(F32, {2, 3});
  run(op, {a.data(), b.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(1, 2, 5, 3, 4, 6));
  OpDesc axis0("concat");
  axis0.input(F32, {2, 2}).input(F32, {1, 2}).output(F32, {3, 2}).attr("axis", int64_t{-2});
  run(axis0, {a.data(), b.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(1, 2, 3, 4, 5, 6));
  OpDesc bad("concat");
  bad.input(F32, {2, 2}).input(F32, {3, 1}).output(F32, {2, 3});
  EXPECT_THAT(error_of(bad, {nullptr, nullptr}, {nullptr}), HasSubstr("input 1 [3, 1] differs from input 0"));
  OpDesc bad_axis("concat");
  bad_axis.input(F32, {2, 2}).output(F32, {2, 2}).attr("axis", int64_t{2});
  EXPECT_THAT(error_of(bad_axis, {nullptr}, {nullptr}), HasSubstr("'axis' = 2 is out of range"));
}

TEST(ReferenceReshape, InferAndCopyDims) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  std::vector<float> y(6);
  OpDesc op("reshape");
  op.input(F32, {2, 3}).output(F32, {2, 3, 1}).attr("shape", std::vector<int64_t>{0, -1, 1});
  run(op, {x.data()}, {y.data()});
  EXPECT_EQ(y, x);
  OpDesc bad("reshape");
  bad.input(F32, {2, 3}).output(F32, {4, 2}).attr("shape", std::vector<int64_t>{4, -1});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("cannot hold"));
  OpDesc two("reshape");
  two.input(F32, {2, 3}).output(F32, {6}).attr("shape", std::vector<int64_t>{-1, -1});
  EXPECT_THAT(error_of(two, {nullptr}, {nullptr}), HasSubstr("more than one -1"));
}

TEST(ReferenceInteraction, DotWithAndWithoutSelf) {
  // B=1, F=3, D=2: f0=(1,0), f1=(2,3), f2=(-1,4)
  const std::vector<float> x = {1, 0, 2, 3, -1, 4};
  std::vector<float> y(6);
  OpDesc op("dot_interaction");
  op.input(F32, {1, 3, 2}).output(F32, {1, 3});
  run(op, {x.data()}, {y.data()});
  // (1,0) f1.f0 = 2, (2,0) f2.f0 = -1, (2,1) f2.f1 = -2+12 = 10
  EXPECT_THAT(std::vector<float>(y.begin(), y.begin() + 3), ElementsAre(2, -1, 10));
  OpDesc self("dot_interaction");
  self.input(F32, {1, 3, 2}).output(F32, {1, 6}).attr("self_interaction", int64_t{1});
  run(self, {x.data()}, {y.data()});
  // (0,0)=1, (1,0)=2, (1,1)=13, (2,0)=-1, (2,1)=10, (2,2)=17
  EXPECT_THAT(y, ElementsAre(1, 2, 13, -1, 10, 17));
  OpDesc bad("dot_interaction");
  bad.input(F32, {1, 3, 2}).output(F32, {1, 6});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("dots (output 0) must have shape [1, 3]"));
}

TEST(ReferenceInteraction, DlrmInteractionPutsDenseFirst) {
  // B=2, D=2, T=2. Sample 0: dense (1,0), pooled (2,3), (-1,4) - the features of the test above.
  // Sample 1: dense (0,1), pooled (1,1), (2,-1).
  const std::vector<float> dense = {1, 0, 0, 1};
  const std::vector<float> pooled = {2, 3, -1, 4, 1, 1, 2, -1};
  std::vector<float> y(10);
  OpDesc op("dlrm_interaction");
  op.input(F32, {2, 2}).input(F32, {2, 2, 2}).output(F32, {2, 5});
  run(op, {dense.data(), pooled.data()}, {y.data()});
  // Sample 1: (1,0) = 1, (2,0) = -1, (2,1) = 2 - 1 = 1.
  EXPECT_THAT(y, ElementsAre(1, 0, 2, -1, 10, 0, 1, 1, -1, 1));
  std::vector<float> padded(16, -7.0f);
  OpDesc pad("dlrm_interaction");
  pad.input(F32, {2, 2}).input(F32, {2, 2, 2}).output(F32, {2, 8}).attr("pad_to", int64_t{4});
  run(pad, {dense.data(), pooled.data()}, {padded.data()});
  EXPECT_THAT(padded, ElementsAre(1, 0, 2, -1, 10, 0, 0, 0, 0, 1, 1, -1, 1, 0, 0, 0));
  OpDesc bad("dlrm_interaction");
  bad.input(F32, {2, 2}).input(F32, {2, 2, 3}).output(F32, {2, 5});
  EXPECT_THAT(error_of(bad, {nullptr, nullptr}, {nullptr}), HasSubstr("pooled (input 1) must have shape [2, 2, 2]"));
}

TEST(ReferenceInteraction, DlrmEmbeddingInteractionIsTheLookupThenTheInteraction) {
  // T=2, B=3, D=3; table 0 has 4 rows, table 1 has 2. Bags of table 0: {0, 3}, {}, {2}; of table 1:
  // {1}, {0, 1, 1}, {} - empty bags and, with mean, lengths 1 to 3.
  const std::vector<float> dense = {1, 0, 2, -1, 3, 0.5f, 0, 0, 1};
  const std::vector<float> t0 = {1, 2, 3, -4, 5, 6, 0.25f, 8, -9, 10, 11, 12};
  const std::vector<float> t1 = {-1, 2, -3, 4, 5, -6};
  const std::vector<int32_t> indices = {0, 3, 2, 1, 0, 1, 1};
  const std::vector<int64_t> offsets = {0, 2, 2, 3, 4, 7, 7};
  for (const char* mode : {"sum", "mean"}) {
    SCOPED_TRACE(mode);
    OpDesc lookup("embedding_bag");
    lookup.input(I32, {7}).input(I64, {7}).input(F32, {4, 3}).input(F32, {2, 3}).output(F32, {3, 2, 3}).attr("mode", mode);
    std::vector<float> pooled(18, -7);
    run(lookup, {indices.data(), offsets.data(), t0.data(), t1.data()}, {pooled.data()});
    // 3 features with self_interaction: D + 6 dots = 9 columns, padded to 12.
    OpDesc interaction("dlrm_interaction");
    interaction.input(F32, {3, 3}).input(F32, {3, 2, 3}).output(F32, {3, 12});
    interaction.attr("self_interaction", int64_t{1}).attr("pad_to", int64_t{4});
    std::vector<float> want(36, -7);
    run(interaction, {dense.data(), pooled.data()}, {want.data()});

    OpDesc fused("dlrm_embedding_interaction");
    fused.input(F32, {3, 3}).input(I32, {7}).input(I64, {7}).input(F32, {4, 3}).input(F32, {2, 3}).output(F32, {3, 12});
    fused.attr("mode", mode).attr("self_interaction", int64_t{1}).attr("pad_to", int64_t{4});
    std::vector<float> got(36, -7);
    run(fused, {dense.data(), indices.data(), offsets.data(), t0.data(), t1.data()}, {got.data()});
    EXPECT_THAT(got, ElementsAreArray(want));
    // Sample 1: dense (-1, 3, 0.5), pooled embedding of table 0 zero (empty bag): dots (0,0) = 10.25,
    // (1,0) = (1,1) = 0; and the padding is zeros.
    EXPECT_THAT(std::vector<float>(got.begin() + 12, got.begin() + 18), ElementsAre(-1, 3, 0.5f, 10.25f, 0, 0));
    EXPECT_THAT(std::vector<float>(got.begin() + 21, got.begin() + 24), ElementsAre(0, 0, 0));

    const std::vector<int32_t> out_of_range = {0, 3, 2, 2, 0, 1, 1};  // position 3: row 2 of table 1's 2 rows
    const std::string bad_index =
        error_of(fused, {dense.data(), out_of_range.data(), offsets.data(), t0.data(), t1.data()}, {got.data()});
    EXPECT_THAT(bad_index, HasSubstr("dlrm_embedding_interaction"));
    EXPECT_THAT(bad_index, HasSubstr("index 2 at position 3 is out of range for table 1 of 2 rows"));
  }

  OpDesc bad_offsets("dlrm_embedding_interaction");  // T*B+1 = 7 entries for T = 2, B = 3
  bad_offsets.input(F32, {3, 3}).input(I32, {7}).input(I64, {6}).input(F32, {4, 3}).input(F32, {2, 3}).output(F32, {3, 6});
  const std::string offsets_error = error_of(bad_offsets, {nullptr, nullptr, nullptr, nullptr, nullptr}, {nullptr});
  EXPECT_THAT(offsets_error, HasSubstr("dlrm_embedding_interaction"));
  EXPECT_THAT(offsets_error, HasSubstr("offsets (input 2) must have T*B+1 entries with T = 2, got 6"));
  OpDesc bad_dense("dlrm_embedding_interaction");  // 4 rows for B = 3 bags per table
  bad_dense.input(F32, {4, 3}).input(I32, {7}).input(I64, {7}).input(F32, {4, 3}).input(F32, {2, 3}).output(F32, {4, 6});
  EXPECT_THAT(error_of(bad_dense, {nullptr, nullptr, nullptr, nullptr, nullptr}, {nullptr}),
              HasSubstr("dense (input 0) must have shape [3, 3], got [4, 3]"));
}

// output_dtype = "bf16" (OPS.md: optional): the f32 output rounded to the nearest bf16, ties to even
// (1 + 2^-8 rounds to 1, 1 + 3 * 2^-8 up to 1 + 2^-6); another dtype is refused, naming it.
TEST(ReferenceInteraction, DlrmEmbeddingInteractionRoundsItsOutputToBf16) {
  EXPECT_EQ(cagr::abi::bf16_from_float(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(cagr::abi::bf16_from_float(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(cagr::abi::float_from_bf16(0x3f82), 1.0f + std::ldexp(1.0f, -6));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> dense(8), table(40);
  for (float& v : dense) v = u(rng);
  for (float& v : table) v = u(rng);
  const std::vector<int32_t> indices = {3, 9}, offsets = {0, 1, 2};
  auto op = [](cagr_dtype out, const char* out_dtype) {
    OpDesc d("dlrm_embedding_interaction");
    d.input(F32, {2, 4}).input(I32, {2}).input(I32, {3}).input(F32, {10, 4}).output(out, {2, 8}).attr("pad_to", int64_t{8});
    if (out_dtype != nullptr) d.attr("output_dtype", out_dtype);
    return d;
  };
  OpDesc f32 = op(F32, nullptr), bf16 = op(CAGR_DTYPE_BF16, "bf16");
  std::vector<float> want(16, -7);
  std::vector<uint16_t> got(16, 0xffff);
  run(f32, {dense.data(), indices.data(), offsets.data(), table.data()}, {want.data()});
  run(bf16, {dense.data(), indices.data(), offsets.data(), table.data()}, {got.data()});
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], cagr::abi::bf16_from_float(want[i])) << "element " << i;
  OpDesc f16 = op(CAGR_DTYPE_F16, "f16"), mismatch = op(F32, "bf16");
  EXPECT_THAT(error_of(f16, {nullptr, nullptr, nullptr, nullptr}, {nullptr}),
              HasSubstr("attribute 'output_dtype' must be f32 or bf16, got 'f16'"));
  EXPECT_THAT(error_of(mismatch, {nullptr, nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("output 0 must be bf16, got f32"));
}

TEST(ReferenceInteraction, FactorisationMachine) {
  // B=2, F=2, D=2. b0: (1,2),(3,4): d0: 16-10=6, d1: 36-20=16 -> 0.5*22 = 11
  // b1: (1,1),(-1,2): d0: 0-2=-2, d1: 9-5=4 -> 0.5*2 = 1
  const std::vector<float> x = {1, 2, 3, 4, 1, 1, -1, 2};
  std::vector<float> y(2);
  OpDesc op("fm_interaction");
  op.input(F32, {2, 2, 2}).output(F32, {2, 1});
  run(op, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(11, 1));
}

TEST(ReferenceReduceSum, AxesAndKeepdims) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // [2, 3, 2]
  std::vector<float> y(12);
  OpDesc mid("reduce_sum");
  mid.input(F32, {2, 3, 2}).output(F32, {2, 1, 2}).attr("axes", std::vector<int64_t>{1});
  run(mid, {x.data()}, {y.data()});
  // b0: 1+3+5, 2+4+6; b1: 7+9+11, 8+10+12
  EXPECT_THAT(std::vector<float>(y.begin(), y.begin() + 4), ElementsAre(9, 12, 27, 30));
  OpDesc outer("reduce_sum");
  outer.input(F32, {2, 3, 2}).output(F32, {3}).attr("axes", std::vector<int64_t>{0, -1}).attr("keepdims", int64_t{0});
  run(outer, {x.data()}, {y.data()});
  // j: (1+2+7+8), (3+4+9+10), (5+6+11+12)
  EXPECT_THAT(std::vector<float>(y.begin(), y.begin() + 3), ElementsAre(18, 26, 34));
  OpDesc twice("reduce_sum");
  twice.input(F32, {2, 3, 2}).output(F32, {2, 3, 1}).attr("axes", std::vector<int64_t>{2, -1});
  EXPECT_THAT(error_of(twice, {nullptr}, {nullptr}), HasSubstr("twice"));
  OpDesc missing("reduce_sum");
  missing.input(F32, {2}).output(F32, {1});
  EXPECT_THAT(error_of(missing, {nullptr}, {nullptr}), HasSubstr("'axes' is required"));
}

TEST(ReferenceTopK, OrderTiesAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {3, 1, 3, nan, 2, /* row 1 */ -1, -2, -3, -4, -5};
  std::vector<float> values(6);
  std::vector<int64_t> indices(6);
  OpDesc op("top_k");
  op.input(F32, {2, 5}).output(F32, {2, 3}).output(I64, {2, 3}).attr("k", int64_t{3});
  run(op, {x.data()}, {values.data(), indices.data()});
  // row 0: NaN first, then the two 3s by lower index: 0, 2
  EXPECT_THAT(indices, ElementsAre(3, 0, 2, 0, 1, 2));
  EXPECT_TRUE(std::isnan(values[0]));
  EXPECT_THAT(std::vector<float>(values.begin() + 1, values.end()), ElementsAre(3, 3, -1, -2, -3));
  OpDesc bad_k("top_k");
  bad_k.input(F32, {2, 5}).output(F32, {2, 6}).output(I64, {2, 6}).attr("k", int64_t{6});
  EXPECT_THAT(error_of(bad_k, {nullptr}, {nullptr, nullptr}), HasSubstr("'k' = 6 must be in 1..5"));
}

TEST(ReferenceGather, RowsAndRange) {
  const std::vector<float> data = {0, 1, 10, 11, 20, 21};  // [3, 2]
  const std::vector<int32_t> idx = {2, 0, 2, 1};          // [2, 2]
  std::vector<float> y(8);
  OpDesc op("gather");
  op.input(F32, {3, 2}).input(I32, {2, 2}).output(F32, {2, 2, 2});
  run(op, {data.data(), idx.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(20, 21, 0, 1, 20, 21, 10, 11));
  const std::vector<int32_t> bad_idx = {0, 1, 3, 0};
  EXPECT_THAT(error_of(op, {data.data(), bad_idx.data()}, {y.data()}), HasSubstr("index 3 at position 2"));
  const std::vector<int32_t> negative = {0, -1, 1, 0};
  EXPECT_THAT(error_of(op, {data.data(), negative.data()}, {y.data()}), HasSubstr("index -1 at position 1"));
}

TEST(ReferenceOps, UnknownOpIsRejected) {
  OpDesc op("no_such_op");
  op.input(F32, {2}).output(F32, {2});
  EXPECT_THAT(error_of(op, {nullptr}, {nullptr}), HasSubstr("unknown op_type 'no_such_op'"));
}

}  // namespace
