// linear_short_k.hpp - linear (Y = act(X Wᵀ + bias)) for a short K (DLRM's first layer: 13 dense
// features in, 512 out). Such a layer does 2K FLOPs per 4-byte output, so it is bound by writing
// Y; a general GEMM's K loop and tile setup cost more than the whole sum (cuBLASLt: 20-24 us on
// 16384 x 13 x 512 on the H100, where Y's 32 MB take ~11 us to write). Exact f32 (FMAs), every
// vendor.
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

constexpr int64_t kShortMaxK = 32;  // W's tile and X's rows stay in shared memory whole

// The kernel's blocks resident at once on a device of `multiprocessors` SMs: the grid it is given.
int64_t linear_short_k_resident_blocks(int multiprocessors);

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major; K <= kShortMaxK, any M, N.
void launch_linear_short_k(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                           Activation act, int64_t resident_blocks, hipStream_t stream);

}  // namespace cagr::gpu
