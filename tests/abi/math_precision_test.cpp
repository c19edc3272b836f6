// The math-precision allowance as a plugin reads it (abi/math_precision.hpp): every allowance this
// header knows, f32 for a value it does not know, and the names the host's flags and files use.
#include <gtest/gtest.h>

#include "math_precision.hpp"
#include "owned_op_desc.hpp"

namespace cagr::abi_test {
namespace {

cagr_math_precision read_back(cagr_math_precision allowed) {
  abi::OwnedOpDesc op("linear");
  op.allow_math_precision(allowed);
  return abi::allowed_math_precision(op.desc());
}

// The extension's field as a newer host may fill it: an int32_t that need not be a value of this
// header's enum (so it is never held in the enum type here: UBSan refuses such a load).
cagr_math_precision read_back_raw(int32_t allowed) {
  abi::OwnedOpDesc op("linear");
  cagr_op_desc desc = op.desc();
  auto extension = abi::make_struct<cagr_math_precision_extension>();
  extension.type = CAGR_EXTENSION_MATH_PRECISION;
  extension.allowed = allowed;
  desc.extensions = reinterpret_cast<const cagr_extension*>(&extension);
  return abi::allowed_math_precision(desc);
}

TEST(MathPrecision, EveryKnownAllowanceReadsBack) {
  for (const cagr_math_precision p : {CAGR_MATH_F32, CAGR_MATH_TF32, CAGR_MATH_BF16, CAGR_MATH_INT8}) EXPECT_EQ(read_back(p), p);
}

// A value from a newer host is a looser precision this plugin has no variant for; f32 is always
// allowed. 1.2's reader returned the value only for TF32 and bf16 (git show 9fa2409:abi/math_precision.hpp),
// so a 1.2 plugin reads 1.3's CAGR_MATH_INT8 as f32 and offers its f32 variants; 1.3's reader keeps
// that rule for whatever comes after int8.
TEST(MathPrecision, UnknownAllowanceReadsAsF32) {
  EXPECT_EQ(read_back_raw(CAGR_MATH_INT8), CAGR_MATH_INT8);
  EXPECT_EQ(read_back_raw(CAGR_MATH_INT8 + 1), CAGR_MATH_F32);
  EXPECT_EQ(read_back_raw(-1), CAGR_MATH_F32);
  EXPECT_EQ(abi::allowed_math_precision(abi::OwnedOpDesc("linear").desc()), CAGR_MATH_F32) << "no extension chained";
}

TEST(MathPrecision, NamesRoundTrip) {
  for (const cagr_math_precision p : {CAGR_MATH_F32, CAGR_MATH_TF32, CAGR_MATH_BF16, CAGR_MATH_INT8})
    EXPECT_EQ(abi::math_precision_named(abi::math_precision_name(p)), p);
  EXPECT_EQ(std::string(abi::math_precision_name(CAGR_MATH_INT8)), "int8");
  EXPECT_FALSE(abi::math_precision_named("fp8").has_value());
  EXPECT_FALSE(abi::math_precision_named("INT8").has_value());
}

}  // namespace
}  // namespace cagr::abi_test
