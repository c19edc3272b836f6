// linear_3xtf32.hpp - linear (Y = act(X Wᵀ + bias)) in f32 on NVIDIA's tensor cores, by split
// precision ("3xTF32"). Each f32 operand x is split into big = tf32(x) and small = x - big;
// X Wᵀ is summed as small·big + big·small + big·big with f32 accumulation. What is dropped (small·
// small, and small's truncation) is about 2^-21 of each product: on DLRM's shapes the error is
// 3-5x cuBLAS's f32 and 70-200x below TF32's (bench/linear_gpu_bench.cpp), inside the conformance
// tolerance that a TF32 result fails. The multiplications run on the matrix units, which on sm_80 /
// sm_90 peak at about 8x the f32 FMA rate that cuBLAS's f32 GEMMs use: on the H100 this kernel runs
// DLRM's large layers 1.13-1.37x faster than cuBLASLt's f32 (docs/PERF.md). NVIDIA only (PTX).
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major; any M, N, K (rows that
// are 16-byte aligned with K a multiple of 4 load 16 bytes at a time, others 4). `k_groups` (1, 2
// or 4): groups of warps that split K inside a block (linear_3xtf32.cpp says when that pays).
void launch_linear_3xtf32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int k_groups, hipStream_t stream);

}  // namespace cagr::gpu
