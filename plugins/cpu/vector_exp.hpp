// vector_exp.hpp - the CPU plugin's functions of exp that run in vector registers: the sigmoid
// (y = 1 / (1 + exp(-x)), keeping NaN) and softmax along a line.
#pragma once

#include <cstdint>

namespace cagr::cpu {

// Within 2e-7 relative of the exact sigmoid where it is above 1e-30; NaN stays NaN, sigmoid(+Inf) =
// 1, and sigmoid(x) for x below -87 (exactly 0 to 4e-39) is 4e-39. x and y do not overlap.
void sigmoid_keeping_nan(const float* x, float* y, int64_t n);
// The same in place: y = sigmoid(y).
void sigmoid_keeping_nan(float* y, int64_t n);

// softmax (or, with `log`, log-softmax) of the n elements x[0], x[stride], ... into y at the same
// places: exp(x - max) / sum, the sum in double; an element more than 87 below the max gives 0 (its
// exp is below the smallest normal float); a NaN, or +Inf, gives NaN everywhere, as exp does.
void softmax_line(const float* x, float* y, int64_t n, int64_t stride, bool log);
// softmax of `rows` contiguous lines of n (the same results as softmax_line), their exps in one
// loop: short lines (attention scores over 26 fields) would leave most of each to a scalar tail.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t n);

}  // namespace cagr::cpu
