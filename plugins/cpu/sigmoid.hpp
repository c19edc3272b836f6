// sigmoid.hpp - y = 1 / (1 + exp(-x)) over an array, in vector registers, keeping NaN.
#pragma once

#include <cstdint>

namespace cagr::cpu {

// Within 2e-7 relative of the exact sigmoid where it is above 1e-30; NaN stays NaN, sigmoid(+Inf) =
// 1, and sigmoid(x) for x below -87 (exactly 0 to 4e-39) is 4e-39. x and y do not overlap.
void sigmoid_keeping_nan(const float* x, float* y, int64_t n);
// The same in place: y = sigmoid(y).
void sigmoid_keeping_nan(float* y, int64_t n);

}  // namespace cagr::cpu
