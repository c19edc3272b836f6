#include "linear_small_k.hpp"

#include <algorithm>
#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

// A block covers kRows rows of Y and `cols` (a multiple of 32, at most kBlockThreads) columns; its
// threads split into kBlockThreads / cols row lanes. The block's rows of X are one contiguous
// stretch of memory, read once into shared memory and then broadcast (every lane of a warp reads
// the same word).
constexpr int kRows = 32;

__global__ void __launch_bounds__(kBlockThreads)
    linear_small_k_kernel(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int k,
                          int cols, Activation act) {
  __shared__ float xs[kRows * kSmallKMax];
  const int64_t row0 = int64_t(blockIdx.x) * kRows;
  const int rows = static_cast<int>(std::min<int64_t>(kRows, m - row0));
  for (int e = threadIdx.x; e < rows * k; e += blockDim.x) xs[e] = x[row0 * k + e];

  const int lane_col = threadIdx.x % cols, lane_row = threadIdx.x / cols, row_lanes = blockDim.x / cols;
  const int64_t col = int64_t(blockIdx.y) * cols + lane_col;
  const bool active = col < n;
  float wc[kSmallKMax];
#pragma unroll
  for (int kk = 0; kk < kSmallKMax; ++kk) wc[kk] = active && kk < k ? w[col * k + kk] : 0.f;
  const float b = active && bias != nullptr ? bias[col] : 0.f;
  __syncthreads();
  if (!active) return;

  for (int r = lane_row; r < rows; r += row_lanes) {
    const float* xr = xs + r * k;
    float acc = b;
#pragma unroll
    for (int kk = 0; kk < kSmallKMax; ++kk)
      if (kk < k) acc = fmaf(xr[kk], wc[kk], acc);
    y[(row0 + r) * n + col] = activate(act, acc);
  }
}

}  // namespace

void launch_linear_small_k(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
                           int64_t k, Activation act, hipStream_t stream) {
  if (m == 0 || n == 0) return;
  if (k < 1 || k > kSmallKMax) plugin::invalid("linear_small_k: K must be 1.." + std::to_string(kSmallKMax));
  const int cols = static_cast<int>(std::min<int64_t>(kBlockThreads, (n + 31) / 32 * 32));
  // Rows on x (up to 2^31 - 1 blocks), column tiles on y (N / 256 is small).
  const dim3 grid(static_cast<unsigned>((m + kRows - 1) / kRows), static_cast<unsigned>((n + cols - 1) / cols));
  linear_small_k_kernel<<<grid, kBlockThreads, 0, stream>>>(x, w, bias, y, m, n, static_cast<int>(k), cols, act);
  check_launch("linear_small_k_kernel");
}

}  // namespace cagr::gpu
