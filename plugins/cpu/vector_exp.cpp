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

// The exps are written to y in one loop that vectorises where the line is contiguous (stride 1, as
// attention's scores are); the sum stays a scalar loop (a vectorised sum would need reassociation),
// in double. Softmax with std::exp in double took 814 us of AutoInt's 1,238 us pass at batch 64.
template <bool Contiguous>
void softmax_line_of(const float* __restrict x, float* __restrict y, int64_t n, int64_t stride, bool log) {
  const int64_t step = Contiguous ? 1 : stride;
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) top = x[j * step] > top ? x[j * step] : top;
  for (int64_t j = 0; j < n; ++j) {
    const float shifted = x[j * step] - top;
    y[j * step] = shifted < -87.3f ? 0.0f : exp_in_range(shifted);
  }
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += y[j * step];
  if (log) {
    const float log_sum = static_cast<float>(std::log(sum));
    for (int64_t j = 0; j < n; ++j) y[j * step] = (x[j * step] - top) - log_sum;
    return;
  }
  const float scale = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) y[j * step] *= scale;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_line(const float* x, float* y, int64_t n, int64_t stride,
                                                                               bool log) {
  if (stride == 1) return softmax_line_of<true>(x, y, n, 1, log);
  softmax_line_of<false>(x, y, n, stride, log);
}

}  // namespace cagr::cpu
