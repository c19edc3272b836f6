// linear_small_k.hpp - linear (Y = act(X Wᵀ + bias)) for a short K, such as a model's dense input
// (DLRM: 13 features). At such K the layer does almost no arithmetic and its cost is writing Y;
// GEMM libraries tile K and, when K is not a multiple of 4 (unaligned rows), fall back to slow
// paths (cuBLASLt on the H100: about a third of the copy bandwidth, see docs/PERF.md). Here each
// thread keeps one column of W in registers and writes Y row by row, coalesced.
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

constexpr int64_t kSmallKMax = 32;  // W's column lives in registers: at most this many per thread

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major; 1 <= K <= kSmallKMax.
void launch_linear_small_k(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
                           int64_t k, Activation act, hipStream_t stream);

}  // namespace cagr::gpu
