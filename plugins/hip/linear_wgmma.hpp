// linear_wgmma.hpp - linear (Y = act(X Wᵀ + bias)) in f32 by split precision (3xTF32, as
// linear_3xtf32.hpp) on Hopper's warpgroup matrix instructions (wgmma), which run at about twice
// the rate of the mma.sync that linear_3xtf32 issues. W is split into its big and small TF32 parts
// once, ahead of the GEMM (at kernel creation when W is a constant), in the order in which the
// matrix units read it from shared memory; only X is split while multiplying. NVIDIA sm_90 only
// (the plugin's sm_90a build): wgmma does not exist on sm_80 and was replaced on sm_100.
// (A one-pass TF32 form was measured too and dropped: 0.60-0.67x of cuBLASLt's TF32 on DLRM's
// layers, docs/PERF.md.)
#pragma once

#include <cstdint>
#include <string>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// Whether a device of compute architecture `arch` ("sm_90") runs the wgmma kernel.
bool linear_wgmma_runs_on(const std::string& arch);

// The blocks the kernel comes in, rows x columns of Y: 256 x 128 and 128 x 128 for large batches,
// 64 x 64 where a layer at a small batch would give too few larger blocks to fill the device.
struct WgmmaTile {
  int rows, cols;
};
inline constexpr WgmmaTile kWgmmaTiles[] = {{256, 128}, {128, 128}, {64, 64}};

// Floats of the split copy of an [n, k] W for blocks `cols` wide (both parts, zero-padded to whole
// tiles).
int64_t linear_wgmma_split_floats(int64_t n, int64_t k, int cols);

// Writes W [n, k] (row-major f32) split for blocks `cols` wide, into `split`
// (linear_wgmma_split_floats(n, k, cols) floats).
void split_linear_wgmma_weights(const float* w, int64_t n, int64_t k, int cols, float* split, hipStream_t stream);

// X [M, K] with 16-byte aligned rows and K a multiple of 4, W [N, K] itself (read only to sum again
// in f32 where a split sum came out NaN: tf32_mma.hpp) and as split above for `tile.cols`, bias [N]
// or nullptr, Y [M, N]; `tile` one of kWgmmaTiles.
void launch_linear_wgmma(WgmmaTile tile, const float* x, const float* w, const float* w_split, const float* bias, float* y,
                         int64_t m, int64_t n, int64_t k, Activation act, hipStream_t stream);

}  // namespace cagr::gpu
