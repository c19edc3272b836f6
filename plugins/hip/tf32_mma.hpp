// tf32_mma.hpp - NVIDIA's TF32 matrix multiply-accumulate (mma.sync m16n8k8) and the f32 split that
// lets it compute in f32 precision ("3xTF32"): used by linear_3xtf32.cpp and by the interaction
// kernels' tensor_core variants. NVIDIA only (PTX); include it under CAGR_GPU_VENDOR_NVIDIA.
//
// PTX's fragment layout for m16n8k8 (lane g = lane / 4, t = lane % 4): A (16 x 8, row-major) rows g
// and g + 8 at k slots t and t + 4; B (8 x 8, column-major) column g at slots t and t + 4; C (16 x 8)
// rows g and g + 8 at columns 2t and 2t + 1.
#pragma once

#include <cstdint>

#include "gpu_runtime.h"

namespace cagr::gpu {

// The matrix unit reads a .tf32 operand as an f32 bit pattern and ignores its low 13 bits, so a
// split costs three integer/float operations (cvt.rna.tf32 is emulated on sm_90 and cost ~4 each;
// ncu: the ALU pipe was the busiest and the kernel ran 7 instructions per mma):
//   big   = x's bits + 0x1000: truncated by the unit, that is x rounded to nearest (ties away);
//   small = x - (those bits with the low 13 cleared), exact; the unit truncates it, which costs
//           at most 2^-21 of x.
// An infinite or NaN x is its own big (adding 0x1000 would carry into the exponent or the sign:
// inf would read as NaN, a NaN as a number) and its small is 0 (x - x would be NaN for inf), so
// products with it give what f32 gives (conformance: NonFiniteInputsGiveWhatIeeeArithmeticGives).
__device__ __forceinline__ bool finite_bits(uint32_t bits) { return (bits & 0x7f800000u) != 0x7f800000u; }
__device__ __forceinline__ uint32_t tf32_rounded(float x) {
  const uint32_t bits = __float_as_uint(x);
  return finite_bits(bits) ? bits + 0x1000u : bits;
}
__device__ __forceinline__ void split(float x, uint32_t& big, uint32_t& small) {
  big = tf32_rounded(x);
  small = finite_bits(big) ? __float_as_uint(x - __uint_as_float(big & 0xffffe000u)) : 0u;
}
__device__ __forceinline__ void split(const float4& v, uint32_t (&big)[4], uint32_t (&small)[4]) {
  split(v.x, big[0], small[0]), split(v.y, big[1], small[1]), split(v.z, big[2], small[2]), split(v.w, big[3], small[3]);
}

// 3xTF32 gives NaN where f32 gives +-inf: an infinite operand's big times the other operand's small
// (0, or of the other sign) is inf * 0 or inf - inf. A sum that came out NaN (which finite operands
// do not give) is taken again in plain f32 from the K floats of `a` and `b`, giving f32's inf or
// NaN; every other sum costs one compare.
__device__ __forceinline__ float f32_sum_where_nan(float split_sum, const float* a, const float* b, int64_t k) {
  if (!isnan(split_sum)) return split_sum;
  float sum = 0.f;
  for (int64_t i = 0; i < k; ++i) sum = fmaf(a[i], b[i], sum);
  return sum;
}

// d += a b for one 16x8 (m x n) tile over k = 8, TF32 inputs, f32 accumulation.
__device__ __forceinline__ void mma(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

}  // namespace cagr::gpu
