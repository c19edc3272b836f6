// vector_exp.cpp - the sigmoid of the CPU plugin's sigmoid op and of linear's fused activation, and
// softmax's lines.
//
// std::exp is a libm call per element (glibc declares its vector expf only under -ffast-math), so a
// loop over std::exp stays scalar: 1-12 ns an element on the 2-core VM, which made the sigmoid of
// DIN's first attention linear ([64 * 8, 80] at batch 64) most of that node's time. exp here is
// Cephes' expf written without branches - x = n ln2 + r, e^r by a degree-6 polynomial, 2^n put into
// the exponent bits - so that the compiler vectorises the loop (14x std::exp's loop with AVX-512 on
// that VM). This file is compiled with -fno-trapping-math (plugins/cpu/CMakeLists.txt): with
// floating-point traps honoured GCC keeps the clamps and the NaN select as branches and vectorises
// nothing; no code of the plugin reads the floating-point exception flags.
#include "vector_exp.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace cagr::cpu {

namespace {

// e^x for x in [-87.3, 88.3] (clamped to it: e^-87.3 is near the smallest normal float, e^88.3 near
// the largest); within 2 ulp of expf.
inline float exp_in_range(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // x / ln 2, rounded (1.5 * 2^23 trick)
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;              // x - n ln 2, ln 2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // times 2^n
}

inline float sigmoid_of(float x) {
  const float s = 1.0f / (1.0f + exp_in_range(-x));
  return x != x ? x : s;  // the clamps would turn NaN into a number
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void sigmoid_keeping_nan(const float* __restrict x,
                                                                                      float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_of(x[i]);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void sigmoid_keeping_nan(float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_of(y[i]);
}

namespace {

// The max and the sum keep four partial results each: one running value would chain every element's
// compare or add on the previous one's (about 4 cycles each; a line of attention scores is short).
inline float line_max(const float* x, int64_t n, int64_t step) {
  constexpr float kLowest = -std::numeric_limits<float>::infinity();
  float tops[4] = {kLowest, kLowest, kLowest, kLowest};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) tops[k] = x[(j + k) * step] > tops[k] ? x[(j + k) * step] : tops[k];
  for (; j < n; ++j) tops[0] = x[j * step] > tops[0] ? x[j * step] : tops[0];
  return std::max(std::max(tops[0], tops[1]), std::max(tops[2], tops[3]));
}
inline double line_sum(const float* y, int64_t n, int64_t step) {
  double sums[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) sums[k] += y[(j + k) * step];
  for (; j < n; ++j) sums[0] += y[j * step];
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}
inline float exp_or_zero(float shifted) { return shifted < -87.3f ? 0.0f : exp_in_range(shifted); }

// One line's exps are written to y in one loop that vectorises where the line is contiguous;
// softmax_rows below does many short lines' exps in one loop (a line of 26 leaves most of itself to
// the vector loop's scalar remainder).
template <bool Contiguous>
void softmax_line_of(const float* __restrict x, float* __restrict y, int64_t n, int64_t stride, bool log) {
  const int64_t step = Contiguous ? 1 : stride;
  const float top = line_max(x, n, step);
  for (int64_t j = 0; j < n; ++j) y[j * step] = exp_or_zero(x[j * step] - top);
  const double sum = line_sum(y, n, step);
  if (log) {
    const float log_sum = static_cast<float>(std::log(sum));
    for (int64_t j = 0; j < n; ++j) y[j * step] = (x[j * step] - top) - log_sum;
    return;
  }
  const float scale = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) y[j * step] *= scale;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_line(const float* x, float* y, int64_t n, int64_t stride,
                                                                               bool log) {
  if (stride == 1) return softmax_line_of<true>(x, y, n, 1, log);
  softmax_line_of<false>(x, y, n, stride, log);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_rows(const float* __restrict x, float* __restrict y,
                                                                               int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float top = line_max(x + r * n, n, 1);
    for (int64_t j = 0; j < n; ++j) y[r * n + j] = x[r * n + j] - top;
  }
  for (int64_t i = 0; i < rows * n; ++i) y[i] = exp_or_zero(y[i]);
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = static_cast<float>(1.0 / line_sum(y + r * n, n, 1));
    for (int64_t j = 0; j < n; ++j) y[r * n + j] *= scale;
  }
}

}  // namespace cagr::cpu
