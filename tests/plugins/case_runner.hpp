// case_runner.hpp - running a Case on a plugin device (as the runtime would: buffers, copies, a
// kernel with constants, a stream) and on the reference, and comparing the two.
#pragma once

#include <string>
#include <vector>

#include "op_cases.hpp"
#include "plugin.hpp"

namespace cagr::conformance {

// Creates the kernel from `create`'s description (constants: the inputs OPS.md calls usually
// constant; copied ones are scribbled over after kernel_create to check the plugin copied them,
// borrowed ones (ABI 1.5) are lent to two kernels, the first destroyed before the second runs),
// then runs it with `run`'s shapes and non-constant inputs. Returns the outputs. Throws
// cagr::Error on failure.
std::vector<Bytes> run_on_plugin(Plugin& plugin, int device, int variant, Case& create, Case& run,
                                 cagr_constant_lifetime lifetime = CAGR_CONSTANT_COPIED);

// The reference's outputs for `c`; with `magnitude`, every f32 input is replaced by its absolute
// value first, which for sums gives the sum of the terms' magnitudes (the scale of rounding error).
std::vector<Bytes> run_on_reference(Case& c, bool magnitude = false);

// "" when `got` matches `want` (f32: |got - want| <= 1e-6 + 1e-5 * scale, scale being |want| or,
// for ops that accumulate, the magnitude of the sum; NaN matches NaN; integers exactly), else a
// message naming the output, its shape, the first mismatching index and the mismatch count.
// For a variant computing in `precision`: f32 outputs within 1e-6 + relative_tolerance(precision) x
// the scale (|want|, or for ops that sum products, the sum of the products' magnitudes: the bound
// of rounding the operands), plus for int8 the bound of quantising the operands (case_runner.cpp);
// other dtypes exactly. NaN matches NaN and an infinity the same one; in a looser precision than
// f32, any non-finite value matches a non-finite one (never a finite one).
std::string compare(Case& c, const std::vector<Bytes>& want, const std::vector<Bytes>& got,
                    cagr_math_precision precision = CAGR_MATH_F32);

// The `relative` tolerance of a variant computing in `precision` (ABI 1.2): 1e-5 for f32 (and for
// int8's f32 part); for TF32 and bf16 twice the operands' rounding (2^-11, 2^-8) plus margin: 2e-3
// and 1e-2.
double relative_tolerance(cagr_math_precision precision);

}  // namespace cagr::conformance
