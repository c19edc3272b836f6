// linear_short_k.hpp - linear (Y = act(X Wᵀ + bias)) for a short K (DLRM's first layer: 13 dense
// features in, 512 out). Such a layer does 2K FLOPs per 4-byte output, so writing Y should bound
// it (32 MB at batch 16384: ~11 us at an H100's copy bandwidth). Measured there it is at parity
// with cuBLASLt's f32 kernel, not at that bound: 22.9 against 23.5 us (docs/PERF.md). Exact f32
// (FMAs), every vendor.
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
