// sigmoid.cpp - the sigmoid of the CPU plugin's sigmoid op and of linear's fused activation.
//
// std::exp is a libm call per element (glibc declares its vector expf only under -ffast-math), so a
// loop over std::exp stays scalar: 1-12 ns an element on the 2-core VM, which made the sigmoid of
// DIN's first attention linear ([64 * 8, 80] at batch 64) most of that node's time. exp here is
// Cephes' expf written without branches - x = n ln2 + r, e^r by a degree-6 polynomial, 2^n put into
// the exponent bits - so that the compiler vectorises the loop (14x std::exp's loop with AVX-512 on
// that VM). This file is compiled with -fno-trapping-math (plugins/cpu/CMakeLists.txt): with
// floating-point traps honoured GCC keeps the clamps and the NaN select as branches and vectorises
// nothing; no code of the plugin reads the floating-point exception flags.
#include "sigmoid.hpp"

#include <bit>

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

}  // namespace cagr::cpu
