// linear_3xtf32.hpp - linear (Y = act(X Wᵀ + bias)) in f32 on NVIDIA's tensor cores, by split
// precision ("3xTF32"). Each f32 operand x is split into big = tf32(x) and small = tf32(x - big);
// X Wᵀ is summed as small·big + big·small + big·big with f32 accumulation. What is dropped (small·
// small, and small's own rounding) is about 2^-22 of each product, so the result keeps f32's
// accuracy (the conformance tolerance, 1e-5 relative, fails a TF32 result by ~50x), while the
// multiplications run on the matrix units: sm_80 / sm_90 do 8x more TF32 than f32 FMA work per
// clock, and cuBLAS's f32 GEMMs use the FMA units. NVIDIA only (inline PTX mma.sync).
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major; any M, N, K (rows that
// are 16-byte aligned with K a multiple of 4 load 16 bytes at a time, others 4).
void launch_linear_3xtf32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, hipStream_t stream);

}  // namespace cagr::gpu
