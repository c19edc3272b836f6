// Hand-computed cases for the general tensor ops (abi/tensor_ops.hpp, ONNX semantics): expected
// values are worked out in the comments from ONNX's operator pages, not taken from the code under
// test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "reference_ops.hpp"
#include "run_reference_op.hpp"

namespace {

using OpDesc = cagr::abi::OwnedOpDesc;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

constexpr cagr_dtype F32 = CAGR_DTYPE_F32;
constexpr cagr_dtype I32 = CAGR_DTYPE_I32;
constexpr cagr_dtype I64 = CAGR_DTYPE_I64;
constexpr cagr_dtype U8 = CAGR_DTYPE_U8;
constexpr cagr_dtype I8 = CAGR_DTYPE_I8;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

using cagr::testing::error_of;
using cagr::testing::run;

// elementwise `fn` of two inputs of `dtype` and shapes a, b, output `out_dtype` of shape `out`.
OpDesc binary(const char* fn, cagr_dtype dtype, const std::vector<int64_t>& a, const std::vector<int64_t>& b,
              cagr_dtype out_dtype, const std::vector<int64_t>& out) {
  OpDesc op("elementwise");
  op.input(dtype, a).input(dtype, b).output(out_dtype, out).attr("fn", fn);
  return op;
}

OpDesc unary(const char* fn, cagr_dtype dtype, const std::vector<int64_t>& dims) {
  OpDesc op("elementwise");
  op.input(dtype, dims).output(dtype, dims).attr("fn", fn);
  return op;
}

// ---- elementwise ------------------------------------------------------------------------------

TEST(ReferenceElementwise, BroadcastsBothWays) {
  // [2, 1] + [3] -> [2, 3]: a row of B added to each element of A's column.
  const std::vector<float> a = {1, 2}, b = {10, 20, 30};
  std::vector<float> y(6, -7);
  OpDesc add = binary("add", F32, {2, 1}, {3}, F32, {2, 3});
  run(add, {a.data(), b.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(11, 21, 31, 12, 22, 32));

  // [1, 3] - [2, 1] -> [2, 3]: out[i][j] = a[j] - b[i].
  const std::vector<int32_t> ai = {1, 2, 3}, bi = {10, 20};
  std::vector<int32_t> yi(6, -7);
  OpDesc sub = binary("sub", I32, {1, 3}, {2, 1}, I32, {2, 3});
  run(sub, {ai.data(), bi.data()}, {yi.data()});
  EXPECT_THAT(yi, ElementsAre(-9, -8, -7, -19, -18, -17));

  // i64 mul with a scalar (rank 0) B, values past 32 bits: 3e9 * 2 = 6e9.
  const std::vector<int64_t> al = {3000000000, -5}, bl = {2};
  std::vector<int64_t> yl(2);
  OpDesc mul = binary("mul", I64, {2}, {}, I64, {2});
  run(mul, {al.data(), bl.data()}, {yl.data()});
  EXPECT_THAT(yl, ElementsAre(6000000000, -10));

  OpDesc bad = binary("add", F32, {2, 3}, {2}, F32, {2, 3});
  EXPECT_THAT(error_of(bad, {nullptr, nullptr}, {nullptr}), HasSubstr("do not broadcast"));
}

TEST(ReferenceElementwise, IntegerDivTruncatesTowardZero) {
  // ONNX Div on integers: 7/2 = 3, -7/2 = -3, 7/-2 = -3, -7/-2 = 3 (C++'s `/`).
  const std::vector<int32_t> a = {7, -7, 7, -7}, b = {2, 2, -2, -2};
  std::vector<int32_t> y(4);
  OpDesc div = binary("div", I32, {4}, {4}, I32, {4});
  run(div, {a.data(), b.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(3, -3, -3, 3));

  const std::vector<int64_t> al = {-9, 9}, bl = {4};
  std::vector<int64_t> yl(2);
  OpDesc div64 = binary("div", I64, {2}, {1}, I64, {2});
  run(div64, {al.data(), bl.data()}, {yl.data()});
  EXPECT_THAT(yl, ElementsAre(-2, 2));

  // A zero divisor, and the lowest value divided by -1 (whose quotient does not fit), are errors (OPS.md).
  const std::vector<int32_t> zero = {1, 0, 1, 1};
  EXPECT_THAT(error_of(div, {a.data(), zero.data()}, {y.data()}), HasSubstr("division by zero at output position 1"));
  const std::vector<int32_t> lowest = {1, 2, 3, std::numeric_limits<int32_t>::min()}, minus_one = {-1, -1, -1, -1};
  EXPECT_THAT(error_of(div, {lowest.data(), minus_one.data()}, {y.data()}),
              HasSubstr("-2147483648 / -1 at output position 3"));

  // f32 div and pow: 1/4, -3/2; 2^3, 4^0.5, (-2)^2.
  const std::vector<float> fa = {1, -3, 2, 4, -2}, fb = {4, 2, 3, 0.5f, 2};
  std::vector<float> fy(5);
  OpDesc fdiv = binary("div", F32, {5}, {5}, F32, {5});
  run(fdiv, {fa.data(), fb.data()}, {fy.data()});
  EXPECT_THAT(fy, ElementsAre(0.25f, -1.5f, 2.0f / 3.0f, 8, -1));
  OpDesc pow = binary("pow", F32, {5}, {5}, F32, {5});
  run(pow, {fa.data(), fb.data()}, {fy.data()});
  EXPECT_THAT(fy, Pointwise(FloatNear(1e-6f), std::vector<float>{1, 9, 8, 2, 4}));
}

TEST(ReferenceElementwise, UnaryFunctions) {
  std::vector<float> y(2);
  auto apply = [&](const char* fn, std::vector<float> x) {
    OpDesc op = unary(fn, F32, {2});
    run(op, {x.data()}, {y.data()});
    return y;
  };
  EXPECT_THAT(apply("neg", {1.5f, -2}), ElementsAre(-1.5f, 2));
  EXPECT_THAT(apply("abs", {1.5f, -2}), ElementsAre(1.5f, 2));
  EXPECT_THAT(apply("sqrt", {4, 2.25f}), ElementsAre(2, 1.5f));
  EXPECT_THAT(apply("exp", {0, 1}), Pointwise(FloatNear(1e-6f), std::vector<float>{1, 2.7182818f}));
  EXPECT_THAT(apply("log", {1, 2.7182818f}), Pointwise(FloatNear(1e-6f), std::vector<float>{0, 1}));
  EXPECT_THAT(apply("tanh", {0, 0.5f}), Pointwise(FloatNear(1e-6f), std::vector<float>{0, 0.46211716f}));
  EXPECT_THAT(apply("reciprocal", {4, -0.5f}), ElementsAre(0.25f, -2));
  EXPECT_THAT(apply("floor", {-1.5f, 2.5f}), ElementsAre(-2, 2));
  EXPECT_THAT(apply("ceil", {-1.5f, 2.5f}), ElementsAre(-1, 3));
  y = apply("sqrt", {-1, 0});
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0);

  // Integer neg and abs wrap at the lowest value (two's complement).
  const std::vector<int64_t> x = {-5, 3, std::numeric_limits<int64_t>::min()};
  std::vector<int64_t> yl(3);
  OpDesc neg = unary("neg", I64, {3});
  run(neg, {x.data()}, {yl.data()});
  EXPECT_THAT(yl, ElementsAre(5, -3, std::numeric_limits<int64_t>::min()));
  OpDesc abs = unary("abs", I64, {3});
  run(abs, {x.data()}, {yl.data()});
  EXPECT_THAT(yl, ElementsAre(5, 3, std::numeric_limits<int64_t>::min()));

  OpDesc no_fn = unary("softplus", F32, {2});
  EXPECT_THAT(error_of(no_fn, {nullptr}, {nullptr}), HasSubstr("'fn' = 'softplus'"));
  OpDesc int_sqrt = unary("sqrt", I32, {2});
  EXPECT_THAT(error_of(int_sqrt, {nullptr}, {nullptr}), HasSubstr("input 0 must be f32"));
}

TEST(ReferenceElementwise, MaxMinPropagateNaN) {
  const std::vector<float> a = {1, kNaN, 3}, b = {2, 0, kNaN};
  std::vector<float> y(3);
  OpDesc max = binary("max", F32, {3}, {3}, F32, {3});
  run(max, {a.data(), b.data()}, {y.data()});
  EXPECT_EQ(y[0], 2);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_TRUE(std::isnan(y[2]));
  OpDesc min = binary("min", F32, {3}, {3}, F32, {3});
  run(min, {a.data(), b.data()}, {y.data()});
  EXPECT_EQ(y[0], 1);
  EXPECT_TRUE(std::isnan(y[1]));

  const std::vector<int32_t> ai = {-4, 9}, bi = {1};
  std::vector<int32_t> yi(2);
  OpDesc imax = binary("max", I32, {2}, {1}, I32, {2});
  run(imax, {ai.data(), bi.data()}, {yi.data()});
  EXPECT_THAT(yi, ElementsAre(1, 9));
}

TEST(ReferenceElementwise, ComparisonsGiveU8) {
  // {1, 2, 3} against the scalar 2.
  const std::vector<int64_t> a = {1, 2, 3}, b = {2};
  std::vector<uint8_t> y(3, 7);
  auto compare = [&](const char* fn) {
    OpDesc op = binary(fn, I64, {3}, {}, U8, {3});
    run(op, {a.data(), b.data()}, {y.data()});
    return y;
  };
  EXPECT_THAT(compare("equal"), ElementsAre(0, 1, 0));
  EXPECT_THAT(compare("less"), ElementsAre(1, 0, 0));
  EXPECT_THAT(compare("greater"), ElementsAre(0, 0, 1));
  EXPECT_THAT(compare("less_or_equal"), ElementsAre(1, 1, 0));
  EXPECT_THAT(compare("greater_or_equal"), ElementsAre(0, 1, 1));

  // f32 [2, 1] against [2]: out[i][j] = a[i] < b[j]; NaN compares false.
  const std::vector<float> fa = {0.5f, kNaN}, fb = {0.5f, 1};
  std::vector<uint8_t> fy(4, 7);
  OpDesc less = binary("less", F32, {2, 1}, {2}, U8, {2, 2});
  run(less, {fa.data(), fb.data()}, {fy.data()});
  EXPECT_THAT(fy, ElementsAre(0, 1, 0, 0));

  const std::vector<uint8_t> ua = {0, 200}, ub = {200, 200};
  std::vector<uint8_t> uy(2, 7);
  OpDesc ueq = binary("equal", U8, {2}, {2}, U8, {2});
  run(ueq, {ua.data(), ub.data()}, {uy.data()});
  EXPECT_THAT(uy, ElementsAre(0, 1));

  OpDesc wrong_out = binary("equal", I64, {3}, {}, I64, {3});
  EXPECT_THAT(error_of(wrong_out, {nullptr, nullptr}, {nullptr}), HasSubstr("output 0 must be u8"));
}

TEST(ReferenceElementwise, LogicalAndWhere) {
  // [2, 1] op [2]: out[i][j] = a[i] op b[j] with a = b = {0, 1}.
  const std::vector<uint8_t> a = {0, 1}, b = {0, 1};
  std::vector<uint8_t> y(4, 7);
  auto logical = [&](const char* fn) {
    OpDesc op = binary(fn, U8, {2, 1}, {2}, U8, {2, 2});
    run(op, {a.data(), b.data()}, {y.data()});
    return y;
  };
  EXPECT_THAT(logical("and"), ElementsAre(0, 0, 0, 1));
  EXPECT_THAT(logical("or"), ElementsAre(0, 1, 1, 1));
  EXPECT_THAT(logical("xor"), ElementsAre(0, 1, 1, 0));
  std::vector<uint8_t> n(2, 7);
  OpDesc no = unary("not", U8, {2});
  run(no, {a.data()}, {n.data()});
  EXPECT_THAT(n, ElementsAre(1, 0));

  // where(cond [2, 1], x [3], y [] scalar) -> [2, 3]: row 0 takes x, row 1 takes y.
  const std::vector<uint8_t> cond = {1, 0};
  const std::vector<float> x = {1, 2, 3}, other = {-1};
  std::vector<float> out(6, -7);
  OpDesc where("elementwise");
  where.input(U8, {2, 1}).input(F32, {3}).input(F32, {}).output(F32, {2, 3}).attr("fn", "where");
  run(where, {cond.data(), x.data(), other.data()}, {out.data()});
  EXPECT_THAT(out, ElementsAre(1, 2, 3, -1, -1, -1));

  // i64 values, condition broadcast over columns: cond [2] = {0, 1} picks y then x in each row.
  const std::vector<uint8_t> cond2 = {0, 1};
  const std::vector<int64_t> xl = {10, 11, 12, 13}, yl = {-1, -2};
  std::vector<int64_t> outl(4);
  OpDesc where64("elementwise");
  where64.input(U8, {2}).input(I64, {2, 2}).input(I64, {2, 1}).output(I64, {2, 2}).attr("fn", "where");
  run(where64, {cond2.data(), xl.data(), yl.data()}, {outl.data()});
  EXPECT_THAT(outl, ElementsAre(-1, 11, -2, 13));

  OpDesc f32_cond("elementwise");
  f32_cond.input(F32, {2}).input(F32, {2}).input(F32, {2}).output(F32, {2}).attr("fn", "where");
  EXPECT_THAT(error_of(f32_cond, {nullptr, nullptr, nullptr}, {nullptr}), HasSubstr("input 0 must be u8"));
}

// ---- cast -------------------------------------------------------------------------------------

TEST(ReferenceCast, FloatToIntTruncatesAndSaturates) {
  // Toward zero; beyond the range (undefined in ONNX) the reference saturates, NaN gives 0.
  const std::vector<float> x = {1.9f, -1.9f, -0.5f, 3e9f, -3e9f, kNaN};
  std::vector<int32_t> y(6);
  OpDesc op("cast");
  op.input(F32, {6}).output(I32, {6}).attr("to", "i32");
  run(op, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(1, -1, 0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0));

  const std::vector<float> xu = {-1, 255.9f, 256, 3.7f};
  std::vector<uint8_t> yu(4);
  OpDesc to_u8("cast");
  to_u8.input(F32, {4}).output(U8, {4}).attr("to", "u8");
  run(to_u8, {xu.data()}, {yu.data()});
  EXPECT_THAT(yu, ElementsAre(0, 255, 255, 3));

  const std::vector<float> xl = {-1e12f, 9.5e18f, 2.5f};  // -1e12f is an integer-valued f32 near -1e12
  std::vector<int64_t> yl(3);
  OpDesc to_i64("cast");
  to_i64.input(F32, {3}).output(I64, {3}).attr("to", "i64");
  run(to_i64, {xl.data()}, {yl.data()});
  EXPECT_EQ(yl[0], static_cast<int64_t>(-1e12f));  // in range: the value itself
  EXPECT_EQ(yl[1], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(yl[2], 2);
}

TEST(ReferenceCast, Integers) {
  // i64 -> f32 rounds to nearest, ties to even: 2^24 + 1 -> 2^24, 2^24 + 3 -> 2^24 + 4.
  const std::vector<int64_t> x = {16777217, 16777219, -3};
  std::vector<float> y(3);
  OpDesc to_f32("cast");
  to_f32.input(I64, {3}).output(F32, {3}).attr("to", "f32");
  run(to_f32, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(16777216.0f, 16777220.0f, -3.0f));

  // Narrowing keeps the low bits: 2^32 + 1 -> 1; 200 -> -56 in i8, -129 -> 127.
  const std::vector<int64_t> wide = {4294967297, -1};
  std::vector<int32_t> narrow(2);
  OpDesc to_i32("cast");
  to_i32.input(I64, {2}).output(I32, {2}).attr("to", "i32");
  run(to_i32, {wide.data()}, {narrow.data()});
  EXPECT_THAT(narrow, ElementsAre(1, -1));
  const std::vector<int32_t> small = {200, -129, 5};
  std::vector<int8_t> bytes(3);
  OpDesc to_i8("cast");
  to_i8.input(I32, {3}).output(I8, {3}).attr("to", "i8");
  run(to_i8, {small.data()}, {bytes.data()});
  EXPECT_THAT(bytes, ElementsAre(-56, 127, 5));

  const std::vector<uint8_t> u = {255, 0};
  std::vector<int64_t> widened(2);
  OpDesc u8_to_i64("cast");
  u8_to_i64.input(U8, {2}).output(I64, {2}).attr("to", "i64");
  run(u8_to_i64, {u.data()}, {widened.data()});
  EXPECT_THAT(widened, ElementsAre(255, 0));

  OpDesc bad("cast");
  bad.input(F32, {2}).output(F32, {2}).attr("to", "f16");
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("'to' = 'f16'"));
}

// ---- transpose, slice, expand -----------------------------------------------------------------

TEST(ReferenceTranspose, Permutes) {
  // [2, 3] = {{0, 1, 2}, {3, 4, 5}}, default perm (reversed): [3, 2] = {{0, 3}, {1, 4}, {2, 5}}.
  const std::vector<float> x = {0, 1, 2, 3, 4, 5};
  std::vector<float> y(6);
  OpDesc t2("transpose");
  t2.input(F32, {2, 3}).output(F32, {3, 2});
  run(t2, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(0, 3, 1, 4, 2, 5));

  // [2, 2, 2] with x[a][b][c] = 4a + 2b + c, perm (1, 0, 2): out[b][a][c] in order b, a, c.
  const std::vector<uint8_t> x3 = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<uint8_t> y3(8);
  OpDesc t3("transpose");
  t3.input(U8, {2, 2, 2}).output(U8, {2, 2, 2}).attr("perm", std::vector<int64_t>{1, 0, 2});
  run(t3, {x3.data()}, {y3.data()});
  EXPECT_THAT(y3, ElementsAre(0, 1, 4, 5, 2, 3, 6, 7));

  // [1, 2, 3] i64, perm (2, 0, 1) -> [3, 1, 2]: out[c][0][b] = x[0][b][c] = 3b + c.
  const std::vector<int64_t> x4 = {0, 1, 2, 3, 4, 5};
  std::vector<int64_t> y4(6);
  OpDesc t4("transpose");
  t4.input(I64, {1, 2, 3}).output(I64, {3, 1, 2}).attr("perm", std::vector<int64_t>{2, 0, 1});
  run(t4, {x4.data()}, {y4.data()});
  EXPECT_THAT(y4, ElementsAre(0, 3, 1, 4, 2, 5));

  OpDesc bad("transpose");
  bad.input(F32, {2, 3}).output(F32, {3, 2}).attr("perm", std::vector<int64_t>{1, 1});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("not a permutation"));
}

TEST(ReferenceSlice, StepsClampingAndNegatives) {
  const std::vector<float> x = {0, 1, 2, 3, 4};
  // starts -1 (= 4), ends -6 (= -1: clamped to -1 for a negative step), step -1: the whole reversed.
  std::vector<float> y(5);
  OpDesc rev("slice");
  rev.input(F32, {5}).output(F32, {5}).attr("starts", std::vector<int64_t>{-1}).attr("ends", std::vector<int64_t>{-6});
  rev.attr("steps", std::vector<int64_t>{-1});
  run(rev, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(4, 3, 2, 1, 0));

  // starts 1, ends 1000 (clamped to 5), step 2: 1, 3.
  std::vector<float> y2(2);
  OpDesc every2("slice");
  every2.input(F32, {5}).output(F32, {2}).attr("starts", std::vector<int64_t>{1}).attr("ends", std::vector<int64_t>{1000});
  every2.attr("steps", std::vector<int64_t>{2});
  run(every2, {x.data()}, {y2.data()});
  EXPECT_THAT(y2, ElementsAre(1, 3));

  // [3, 4] i32 = 0..11. Axis 0: 0 to INT64_MAX step 2 -> rows 0, 2; axis -1: 3 to 0 step -2 -> cols 3, 1.
  const std::vector<int32_t> m = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  std::vector<int32_t> ym(4);
  OpDesc two_axes("slice");
  two_axes.input(I32, {3, 4}).output(I32, {2, 2});
  two_axes.attr("starts", std::vector<int64_t>{0, 3}).attr("ends", std::vector<int64_t>{std::numeric_limits<int64_t>::max(), 0});
  two_axes.attr("axes", std::vector<int64_t>{0, -1}).attr("steps", std::vector<int64_t>{2, -2});
  run(two_axes, {m.data()}, {ym.data()});
  EXPECT_THAT(ym, ElementsAre(3, 1, 11, 9));

  // starts 4, ends 1, step 1: nothing.
  OpDesc empty("slice");
  empty.input(F32, {5}).output(F32, {0}).attr("starts", std::vector<int64_t>{4}).attr("ends", std::vector<int64_t>{1});
  std::vector<float> none(1, -7);
  run(empty, {x.data()}, {none.data()});
  EXPECT_EQ(none[0], -7);

  OpDesc wrong_out("slice");
  wrong_out.input(F32, {5}).output(F32, {3}).attr("starts", std::vector<int64_t>{1}).attr("ends", std::vector<int64_t>{1000});
  wrong_out.attr("steps", std::vector<int64_t>{2});
  EXPECT_THAT(error_of(wrong_out, {nullptr}, {nullptr}), HasSubstr("must have shape [2]"));
}

// An axis of length 0 sliced with a negative step gives nothing (numpy: x[::-1] of an empty array).
// (The contract's slice_axis clamps start into [0, len - 1] = [0, -1] here, a std::clamp with
// hi < lo: libstdc++ happens to give a count of 0, with _GLIBCXX_ASSERTIONS it aborts.)
TEST(ReferenceSlice, EmptyAxisWithNegativeStep) {
  const std::vector<float> x = {0, 1, 2};  // [0, 3]: no element at all
  OpDesc op("slice");
  op.input(F32, {0, 3}).output(F32, {0, 3}).attr("starts", std::vector<int64_t>{-1}).attr("ends", std::vector<int64_t>{-10});
  op.attr("steps", std::vector<int64_t>{-1});
  std::vector<float> none(1, -7);
  EXPECT_EQ(error_of(op, {x.data()}, {none.data()}), "");
}

TEST(ReferenceExpand, Broadcasts) {
  // [3, 1] = {1, 2, 3} to shape [2, 1, 2]: [2, 3, 2], each row's value twice, the whole twice.
  const std::vector<float> x = {1, 2, 3};
  std::vector<float> y(12);
  OpDesc op("expand");
  op.input(F32, {3, 1}).output(F32, {2, 3, 2}).attr("shape", std::vector<int64_t>{2, 1, 2});
  run(op, {x.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3));

  OpDesc bad("expand");
  bad.input(F32, {3, 2}).output(F32, {3, 4}).attr("shape", std::vector<int64_t>{3, 4});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("do not broadcast"));
}

// ---- matmul -----------------------------------------------------------------------------------

TEST(ReferenceMatMul, VectorsAndBatches) {
  // 1-D x 1-D: a dot product, rank 0. 1*4 + 2*5 + 3*6 = 32.
  const std::vector<float> a = {1, 2, 3}, b = {4, 5, 6};
  float dot = -7;
  OpDesc vv("matmul");
  vv.input(F32, {3}).input(F32, {3}).output(F32, {});
  run(vv, {a.data(), b.data()}, {&dot});
  EXPECT_EQ(dot, 32);

  // 1-D [2] x 2-D [2, 3]: {1, 2} . columns of {{1, 2, 3}, {4, 5, 6}} = {9, 12, 15}.
  const std::vector<float> v = {1, 2}, m = {1, 2, 3, 4, 5, 6};
  std::vector<float> y(3);
  OpDesc vm("matmul");
  vm.input(F32, {2}).input(F32, {2, 3}).output(F32, {3});
  run(vm, {v.data(), m.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(9, 12, 15));

  // 2-D [2, 3] x 1-D [3] = {1, 0, -1}: {1 - 3, 4 - 6}.
  const std::vector<float> w = {1, 0, -1};
  std::vector<float> y2(2);
  OpDesc mv("matmul");
  mv.input(F32, {2, 3}).input(F32, {3}).output(F32, {2});
  run(mv, {m.data(), w.data()}, {y2.data()});
  EXPECT_THAT(y2, ElementsAre(-2, -2));

  // Batch dims broadcast: A [2, 1, 1, 2] (rows {1, 2}, {3, 4}), B [3, 2, 1] (columns {1, 1}, {1, 0},
  // {0, 1}) -> [2, 3, 1, 1], out[i][j] = A_i . B_j = {3, 1, 2}, {7, 3, 4}.
  const std::vector<float> ab = {1, 2, 3, 4}, bb = {1, 1, 1, 0, 0, 1};
  std::vector<float> yb(6);
  OpDesc batched("matmul");
  batched.input(F32, {2, 1, 1, 2}).input(F32, {3, 2, 1}).output(F32, {2, 3, 1, 1});
  run(batched, {ab.data(), bb.data()}, {yb.data()});
  EXPECT_THAT(yb, ElementsAre(3, 1, 2, 7, 3, 4));

  // 1-D x 3-D: [2] x [2, 2, 1] -> [2, 1]: {1, 2} . {1, 1} = 3, {1, 2} . {1, 0} = 1.
  const std::vector<float> b3 = {1, 1, 1, 0};
  std::vector<float> y3(2);
  OpDesc v3("matmul");
  v3.input(F32, {2}).input(F32, {2, 2, 1}).output(F32, {2, 1});
  run(v3, {v.data(), b3.data()}, {y3.data()});
  EXPECT_THAT(y3, ElementsAre(3, 1));

  OpDesc bad_k("matmul");
  bad_k.input(F32, {2, 3}).input(F32, {2, 3}).output(F32, {2, 3});
  EXPECT_THAT(error_of(bad_k, {nullptr, nullptr}, {nullptr}), HasSubstr("differ in K"));
  OpDesc bad_out("matmul");
  bad_out.input(F32, {3}).input(F32, {3}).output(F32, {1});
  EXPECT_THAT(error_of(bad_out, {nullptr, nullptr}, {nullptr}), HasSubstr("must have shape []"));
}

// ---- take (ONNX Gather), gather_elements ------------------------------------------------------

TEST(ReferenceTake, NegativeIndicesWrapOnce) {
  // data [3, 2], axis 0, indices {-1, 0}: rows 2 and 0.
  const std::vector<float> data = {1, 2, 3, 4, 5, 6};
  const std::vector<int64_t> idx = {-1, 0};
  std::vector<float> y(4);
  OpDesc rows("take");
  rows.input(F32, {3, 2}).input(I64, {2}).output(F32, {2, 2});
  run(rows, {data.data(), idx.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(5, 6, 1, 2));

  // data [2, 3] i64 = 0..5, axis -1, indices [2, 2] i32 = {2, -3, 1, -1}: out [2, 2, 2],
  // out[r][i][j] = data[r][idx[i][j]]: row 0 {2, 0, 1, 2}, row 1 {5, 3, 4, 5}.
  const std::vector<int64_t> d2 = {0, 1, 2, 3, 4, 5};
  const std::vector<int32_t> idx2 = {2, -3, 1, -1};
  std::vector<int64_t> y2(8);
  OpDesc cols("take");
  cols.input(I64, {2, 3}).input(I32, {2, 2}).output(I64, {2, 2, 2}).attr("axis", int64_t{-1});
  run(cols, {d2.data(), idx2.data()}, {y2.data()});
  EXPECT_THAT(y2, ElementsAre(2, 0, 1, 2, 5, 3, 4, 5));

  // A rank-0 index drops the axis: data [3] at -2 -> data[1], rank 0.
  const std::vector<float> d3 = {7, 8, 9};
  const int64_t scalar = -2;
  float one = -7;
  OpDesc pick("take");
  pick.input(F32, {3}).input(I64, {}).output(F32, {});
  run(pick, {d3.data(), &scalar}, {&one});
  EXPECT_EQ(one, 8);
}

TEST(ReferenceTake, OutOfRangeNamesPositionAndValue) {
  const std::vector<float> data = {1, 2, 3, 4, 5, 6};
  std::vector<float> y(6);
  OpDesc op("take");
  op.input(F32, {3, 2}).input(I32, {3}).output(F32, {3, 2});
  for (int32_t bad : {3, -4}) {
    const std::vector<int32_t> idx = {0, bad, 1};
    const std::string e = error_of(op, {data.data(), idx.data()}, {y.data()});
    EXPECT_THAT(e, HasSubstr("take"));
    EXPECT_THAT(e, HasSubstr("index " + std::to_string(bad) + " at position 1"));
    EXPECT_THAT(e, HasSubstr("length 3"));
  }
}

TEST(ReferenceGatherElements, OnnxExamples) {
  // ONNX's example 1: data {{1, 2}, {3, 4}}, indices {{0, 0}, {1, 0}}, axis 1 -> {{1, 1}, {4, 3}}.
  const std::vector<float> d1 = {1, 2, 3, 4};
  const std::vector<int64_t> i1 = {0, 0, 1, 0};
  std::vector<float> y1(4);
  OpDesc op1("gather_elements");
  op1.input(F32, {2, 2}).input(I64, {2, 2}).output(F32, {2, 2}).attr("axis", int64_t{1});
  run(op1, {d1.data(), i1.data()}, {y1.data()});
  EXPECT_THAT(y1, ElementsAre(1, 1, 4, 3));

  // ONNX's example 2: data 1..9 as [3, 3], indices {{1, 2, 0}, {2, 0, 0}}, axis 0 -> {{4, 8, 3}, {7, 2, 3}}.
  // Here with negative indices for two of them (-2 = 1, -1 = 2) and i32.
  const std::vector<int32_t> d2 = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int32_t> i2 = {-2, 2, 0, -1, 0, 0};
  std::vector<int32_t> y2(6);
  OpDesc op2("gather_elements");
  op2.input(I32, {3, 3}).input(I32, {2, 3}).output(I32, {2, 3});
  run(op2, {d2.data(), i2.data()}, {y2.data()});
  EXPECT_THAT(y2, ElementsAre(4, 8, 3, 7, 2, 3));

  // Indices longer than data along the axis: data [2, 2], indices [2, 3] on axis -1.
  const std::vector<int64_t> i3 = {1, 1, 0, -1, 0, 0};
  std::vector<float> y3(6);
  OpDesc op3("gather_elements");
  op3.input(F32, {2, 2}).input(I64, {2, 3}).output(F32, {2, 3}).attr("axis", int64_t{-1});
  run(op3, {d1.data(), i3.data()}, {y3.data()});
  EXPECT_THAT(y3, ElementsAre(2, 2, 1, 4, 3, 3));

  // Out of range: 2 for an axis of 2 at position 4 (coordinates [1, 1]).
  const std::vector<int64_t> bad = {0, 0, 1, 0, 2, 0};
  const std::string e = error_of(op3, {d1.data(), bad.data()}, {y3.data()});
  EXPECT_THAT(e, HasSubstr("gather_elements: index 2 at position 4"));
  EXPECT_THAT(e, HasSubstr("[1, 1]"));
  const std::vector<int64_t> bad_neg = {0, -3, 1, 0, 0, 0};
  EXPECT_THAT(error_of(op3, {d1.data(), bad_neg.data()}, {y3.data()}), HasSubstr("index -3 at position 1"));
}

// ---- softmax ----------------------------------------------------------------------------------

TEST(ReferenceSoftmax, LastAndMiddleAxes) {
  // softmax(1, 2, 3): e^-2, e^-1, 1 over their sum 1.5032147 = 0.0900306, 0.2447285, 0.6652410;
  // log: x - 3 - log(1.5032147) = x - 3.4076059.
  const std::vector<float> x = {1, 2, 3};
  std::vector<float> y(3);
  OpDesc op("softmax");
  op.input(F32, {3}).output(F32, {3});
  run(op, {x.data()}, {y.data()});
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), std::vector<float>{0.09003057f, 0.24472847f, 0.66524096f}));
  OpDesc log = op;
  log.attr("log", int64_t{1});
  run(log, {x.data()}, {y.data()});
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), std::vector<float>{-2.40760596f, -1.40760596f, -0.40760596f}));

  // [1, 2, 2] over axis 1: column r = 0 holds {0, ln 3} -> {1/4, 3/4}; column 1 {0, 0} -> {1/2, 1/2}.
  const std::vector<float> m = {0, 0, std::log(3.0f), 0};
  std::vector<float> ym(4);
  OpDesc middle("softmax");
  middle.input(F32, {1, 2, 2}).output(F32, {1, 2, 2}).attr("axis", int64_t{1});
  run(middle, {m.data()}, {ym.data()});
  EXPECT_THAT(ym, Pointwise(FloatNear(1e-6f), std::vector<float>{0.25f, 0.5f, 0.75f, 0.5f}));

  // Large values stay finite: the maximum is subtracted first.
  const std::vector<float> big = {1000, 1000};
  std::vector<float> yb(2);
  OpDesc two("softmax");
  two.input(F32, {2}).output(F32, {2}).attr("axis", int64_t{-1});
  run(two, {big.data()}, {yb.data()});
  EXPECT_THAT(yb, ElementsAre(0.5f, 0.5f));

  OpDesc bad_axis("softmax");
  bad_axis.input(F32, {2}).output(F32, {2}).attr("axis", int64_t{1});
  EXPECT_THAT(error_of(bad_axis, {nullptr}, {nullptr}), HasSubstr("out of range for rank 1"));
}

// ---- reduce -----------------------------------------------------------------------------------

TEST(ReferenceReduce, FunctionsAxesKeepdims) {
  // [2, 3] = {{1, 2, 3}, {4, 5, 6}}.
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  auto reduce = [&](const char* fn, const std::vector<int64_t>& axes, int64_t keepdims, const std::vector<int64_t>& out) {
    OpDesc op("reduce");
    op.input(F32, {2, 3}).output(F32, out).attr("fn", fn).attr("keepdims", keepdims);
    if (!axes.empty()) op.attr("axes", axes);
    int64_t n = 1;
    for (int64_t d : out) n *= d;
    std::vector<float> y(static_cast<size_t>(n), -7);
    run(op, {x.data()}, {y.data()});
    return y;
  };
  EXPECT_THAT(reduce("sum", {1}, 0, {2}), ElementsAre(6, 15));
  EXPECT_THAT(reduce("mean", {0}, 1, {1, 3}), ElementsAre(2.5f, 3.5f, 4.5f));
  EXPECT_THAT(reduce("max", {}, 1, {1, 1}), ElementsAre(6));  // no axes: all
  EXPECT_THAT(reduce("min", {-1}, 1, {2, 1}), ElementsAre(1, 4));
  EXPECT_THAT(reduce("prod", {0, 1}, 0, {}), ElementsAre(720));

  // [2, 2, 2] = 0..7 summed over axes 0 and 2: j = 0: 0+1+4+5 = 10, j = 1: 2+3+6+7 = 18.
  const std::vector<float> c = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<float> y(2);
  OpDesc op("reduce");
  op.input(F32, {2, 2, 2}).output(F32, {2}).attr("fn", "sum").attr("axes", std::vector<int64_t>{0, -1}).attr("keepdims", int64_t{0});
  run(op, {c.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(10, 18));

  // max with a NaN gives NaN.
  const std::vector<float> n = {1, kNaN, 2};
  float m = 0;
  OpDesc nan_max("reduce");
  nan_max.input(F32, {3}).output(F32, {}).attr("fn", "max").attr("keepdims", int64_t{0});
  run(nan_max, {n.data()}, {&m});
  EXPECT_TRUE(std::isnan(m));

  OpDesc bad("reduce");
  bad.input(F32, {2, 3}).output(F32, {2}).attr("fn", "l2").attr("axes", std::vector<int64_t>{1}).attr("keepdims", int64_t{0});
  EXPECT_THAT(error_of(bad, {nullptr}, {nullptr}), HasSubstr("'fn' = 'l2'"));
}

// ---- layer_norm -------------------------------------------------------------------------------

TEST(ReferenceLayerNorm, RowsWithAndWithoutBias) {
  // X [2, 2] = {{1, 3}, {2, 2}}, default epsilon 1e-5. Row 0: mean 2, var 1, InvStdDev
  // 1 / sqrt(1.00001) = 0.999995; normalised {-0.999995, 0.999995}. Row 1: mean 2, var 0,
  // InvStdDev 1 / sqrt(1e-5) = 316.22777; normalised {0, 0}.
  // scale {2, 0.5}, bias {1, -1}: row 0 {-0.99999, -0.5000025}, row 1 {1, -1}.
  const std::vector<float> x = {1, 3, 2, 2}, scale = {2, 0.5f}, bias = {1, -1};
  std::vector<float> y(4), mean(2), inv_std(2);
  OpDesc full("layer_norm");
  full.input(F32, {2, 2}).input(F32, {2}).input(F32, {2});
  full.output(F32, {2, 2}).output(F32, {2, 1}).output(F32, {2, 1});
  run(full, {x.data(), scale.data(), bias.data()}, {y.data(), mean.data(), inv_std.data()});
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), std::vector<float>{-0.99999f, -0.5000025f, 1, -1}));
  EXPECT_THAT(mean, ElementsAre(2, 2));
  EXPECT_THAT(inv_std, Pointwise(FloatNear(1e-4f), std::vector<float>{0.999995f, 316.22777f}));

  // No bias, one output: row 0 {-1.99999, 0.4999975}, row 1 {0, 0}.
  OpDesc plain("layer_norm");
  plain.input(F32, {2, 2}).input(F32, {2}).output(F32, {2, 2});
  std::vector<float> y1(4);
  run(plain, {x.data(), scale.data()}, {y1.data()});
  EXPECT_THAT(y1, Pointwise(FloatNear(1e-6f), std::vector<float>{-1.99999f, 0.4999975f, 0, 0}));
}

TEST(ReferenceLayerNorm, SeveralNormalisedDims) {
  // X [1, 2, 2] = 1..4 normalised over axis 1 (both dims): mean 2.5, var 1.25; epsilon 0.75 makes
  // var + epsilon = 2, InvStdDev 1 / sqrt(2); Y = {-1.5, -0.5, 0.5, 1.5} / sqrt(2). Two outputs.
  const std::vector<float> x = {1, 2, 3, 4}, scale = {1, 1, 1, 1};
  std::vector<float> y(4), mean(1);
  OpDesc op("layer_norm");
  op.input(F32, {1, 2, 2}).input(F32, {2, 2}).output(F32, {1, 2, 2}).output(F32, {1, 1, 1});
  op.attr("axis", int64_t{1}).attr("epsilon", 0.75);
  run(op, {x.data(), scale.data()}, {y.data(), mean.data()});
  const float r = 1 / std::sqrt(2.0f);
  EXPECT_THAT(y, Pointwise(FloatNear(1e-6f), std::vector<float>{-1.5f * r, -0.5f * r, 0.5f * r, 1.5f * r}));
  EXPECT_THAT(mean, ElementsAre(2.5f));

  OpDesc bad_scale("layer_norm");
  bad_scale.input(F32, {1, 2, 2}).input(F32, {2}).output(F32, {1, 2, 2}).attr("axis", int64_t{1});
  EXPECT_THAT(error_of(bad_scale, {nullptr, nullptr}, {nullptr}), HasSubstr("scale (input 1) [2] must have X's normalised dims [2, 2]"));
  OpDesc four_outputs("layer_norm");
  four_outputs.input(F32, {2, 2}).input(F32, {2}).output(F32, {2, 2}).output(F32, {2, 1}).output(F32, {2, 1}).output(F32, {2, 1});
  EXPECT_THAT(error_of(four_outputs, {nullptr, nullptr}, {nullptr, nullptr, nullptr, nullptr}), HasSubstr("at most, got 4"));
}

// ---- fixed_bag_offsets ------------------------------------------------------------------------

TEST(ReferenceFixedBagOffsets, EveryBagSizeIndices) {
  // 6 indices (any shape, values unread) in bags of 3: offsets 0, 3, 6; in bags of 1: 0 .. 6.
  const std::vector<int32_t> idx = {9, 9, 9, 9, 9, 9};
  std::vector<int64_t> y(3, -7);
  OpDesc threes("fixed_bag_offsets");
  threes.input(I32, {2, 3}).output(I64, {3}).attr("bag_size", int64_t{3});
  run(threes, {idx.data()}, {y.data()});
  EXPECT_THAT(y, ElementsAre(0, 3, 6));
  std::vector<int64_t> ones(7, -7);
  OpDesc single("fixed_bag_offsets");
  single.input(I64, {6}).output(I64, {7});
  run(single, {idx.data()}, {ones.data()});
  EXPECT_THAT(ones, ElementsAre(0, 1, 2, 3, 4, 5, 6));
  // No indices: one offset, 0.
  std::vector<int64_t> empty(1, -7);
  OpDesc none("fixed_bag_offsets");
  none.input(I64, {0}).output(I64, {1}).attr("bag_size", int64_t{4});
  run(none, {idx.data()}, {empty.data()});
  EXPECT_THAT(empty, ElementsAre(0));

  OpDesc uneven("fixed_bag_offsets");
  uneven.input(I32, {2, 3}).output(I64, {2}).attr("bag_size", int64_t{4});
  EXPECT_THAT(error_of(uneven, {nullptr}, {nullptr}), HasSubstr("not a multiple of bag_size 4"));
}

}  // namespace
