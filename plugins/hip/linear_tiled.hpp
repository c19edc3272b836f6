// linear_tiled.hpp - linear (Y = act(X Wᵀ + bias)) as our own shared-memory tiled kernel: the path
// on AMD, and a second variant on NVIDIA.
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major.
void launch_linear_tiled(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                         Activation act, hipStream_t stream);

}  // namespace cagr::gpu
