#include "linear_tiled.hpp"

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

// A 64x64 tile of Y per block of 16x16 threads, each thread 4x4 outputs strided by 16 so that
// neighbouring threads read neighbouring shared-memory words; K is walked 16 at a time.
constexpr int kTile = 64;
constexpr int kDepth = 16;
constexpr int kSide = 16;
constexpr int kPerThread = kTile / kSide;

__global__ void __launch_bounds__(kSide * kSide)
    linear_tiled_kernel(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                        Activation act) {
  __shared__ float xs[kDepth][kTile + 1];
  __shared__ float ws[kDepth][kTile + 1];
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
  float acc[kPerThread][kPerThread] = {};
  for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
    for (int e = threadIdx.x; e < kTile * kDepth; e += kSide * kSide) {
      const int r = e / kDepth, c = e % kDepth;  // consecutive threads read consecutive k: coalesced
      const int64_t kk = k0 + c;
      xs[c][r] = row0 + r < m && kk < k ? x[(row0 + r) * k + kk] : 0.f;
      ws[c][r] = col0 + r < n && kk < k ? w[(col0 + r) * k + kk] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int c = 0; c < kDepth; ++c) {
      float a[kPerThread], b[kPerThread];
#pragma unroll
      for (int i = 0; i < kPerThread; ++i) a[i] = xs[c][ty + kSide * i], b[i] = ws[c][tx + kSide * i];
#pragma unroll
      for (int i = 0; i < kPerThread; ++i)
#pragma unroll
        for (int j = 0; j < kPerThread; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const int64_t row = row0 + ty + kSide * i;
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t col = col0 + tx + kSide * j;
      if (row < m && col < n) y[row * n + col] = activate(act, acc[i][j] + (bias != nullptr ? bias[col] : 0.f));
    }
  }
}

}  // namespace

void launch_linear_tiled(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                         Activation act, hipStream_t stream) {
  if (m == 0 || n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
  linear_tiled_kernel<<<grid, kSide * kSide, 0, stream>>>(x, w, bias, y, m, n, k, act);
  check_launch("linear_tiled_kernel");
}

}  // namespace cagr::gpu
