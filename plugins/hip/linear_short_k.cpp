#include "linear_short_k.hpp"

#include <algorithm>
#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

// A block owns 128 columns of Y and walks tiles of 32 rows (grid-stride): W's 128 x K tile is read
// into shared memory once, transposed and zero-padded to K4 = K rounded up to 4; each row tile of
// X is read into shared memory (rows K4 floats apart) while the previous one is summed, so its
// load latency is hidden. Lane l of warp w sums columns 4l..4l+3 for rows 4w..4w+3 four k at a
// time: four 16-byte words of W (neighbouring lanes, neighbouring words) and one broadcast
// 16-byte word of x per row, then stores 16-byte words.
constexpr int kWarp = 32, kWarps = 8, kThreads = kWarps * kWarp, kRowsPerWarp = 4;
constexpr int kBlockRows = kWarps * kRowsPerWarp, kBlockCols = 4 * kWarp;
constexpr int kTileLoads = kBlockRows * kShortMaxK / kThreads;  // X's words per thread per tile, at most

__global__ void __launch_bounds__(kThreads)
    linear_short_k_kernel(const float* x, const float* w, const float* bias, float* y, int64_t m, int n, int k,
                          Activation act, bool vector_stores) {
  __shared__ float4 wt[kShortMaxK][kWarp];               // wt[k][l]: the tile's columns 4l..4l+3 at k
  __shared__ float4 xs[kBlockRows][kShortMaxK / 4];      // xs[r]: row r's K4 floats
  const int tid = int(threadIdx.x), lane = tid % kWarp, warp = tid / kWarp;
  const int col0 = int(blockIdx.y) * kBlockCols, k4 = (k + 3) / 4 * 4;
  const int64_t row_tiles = (m + kBlockRows - 1) / kBlockRows;
  float* wt_words = reinterpret_cast<float*>(wt);
  for (int e = tid; e < kBlockCols * k4; e += kThreads) {
    const int c = e / k4, kk = e % k4;  // consecutive threads read consecutive words of W
    wt_words[kk * kBlockCols + c] = col0 + c < n && kk < k ? w[int64_t(col0 + c) * k + kk] : 0.f;
  }
  float* xs_words = reinterpret_cast<float*>(xs);
  for (int e = tid; e < kBlockRows * kShortMaxK; e += kThreads) xs_words[e] = 0.f;  // the K4 padding stays 0

  float next[kTileLoads];  // the next tile's X, held in registers while the current one is summed
  auto fetch = [&](int64_t tile) {
    const int64_t row0 = tile * kBlockRows;
    const int words = int(m - row0 < kBlockRows ? m - row0 : kBlockRows) * k;
    const float* rows = x + row0 * k;  // X's rows are contiguous
#pragma unroll
    for (int i = 0; i < kTileLoads; ++i)
      if (tid + i * kThreads < words) next[i] = rows[tid + i * kThreads];
  };
  const int col = col0 + 4 * lane;
  float b[4];
#pragma unroll
  for (int j = 0; j < 4; ++j) b[j] = bias != nullptr && col + j < n ? bias[col + j] : 0.f;
  if (blockIdx.x < row_tiles) fetch(blockIdx.x);
  for (int64_t tile = blockIdx.x; tile < row_tiles; tile += gridDim.x) {
    const int64_t row0 = tile * kBlockRows;
    const int words = int(m - row0 < kBlockRows ? m - row0 : kBlockRows) * k;
    __syncthreads();  // the previous tile's sums have read xs (and, the first time, W and the zeros are in)
#pragma unroll
    for (int i = 0; i < kTileLoads; ++i) {
      const int e = tid + i * kThreads;
      if (e < words) xs_words[e / k * kShortMaxK + e % k] = next[i];
    }
    __syncthreads();
    if (tile + gridDim.x < row_tiles) fetch(tile + gridDim.x);

    float acc[kRowsPerWarp][4] = {};
#pragma unroll 1
    for (int q = 0; q < k4 / 4; ++q) {
      float4 v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = wt[4 * q + j][lane];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float4 a = xs[warp * kRowsPerWarp + r][q];
        const float av[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          acc[r][0] = fmaf(av[j], v[j].x, acc[r][0]), acc[r][1] = fmaf(av[j], v[j].y, acc[r][1]);
          acc[r][2] = fmaf(av[j], v[j].z, acc[r][2]), acc[r][3] = fmaf(av[j], v[j].w, acc[r][3]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int64_t row = row0 + warp * kRowsPerWarp + r;
      if (row >= m) break;
      float out[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) out[j] = activate(act, acc[r][j] + b[j]);
      float* dst = y + row * n + col;
      if (vector_stores && col + 3 < n) {
        *reinterpret_cast<float4*>(dst) = make_float4(out[0], out[1], out[2], out[3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (col + j < n) dst[j] = out[j];
      }
    }
  }
}

}  // namespace

int64_t linear_short_k_resident_blocks(int multiprocessors) {
  int per_multiprocessor = 0;
  check(hipOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, linear_short_k_kernel, kThreads, 0),
        "reading linear_short_k_kernel's occupancy");
  return int64_t(std::max(1, per_multiprocessor)) * std::max(1, multiprocessors);
}

void launch_linear_short_k(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                           Activation act, int64_t resident_blocks, hipStream_t stream) {
  if (k < 1 || k > kShortMaxK) plugin::invalid("linear short_k: K must be 1.." + std::to_string(kShortMaxK));
  if (m == 0 || n == 0) return;
  // One wave of blocks; each walks its share of the row tiles.
  const int64_t row_tiles = (m + kBlockRows - 1) / kBlockRows, col_blocks = (n + kBlockCols - 1) / kBlockCols;
  if (col_blocks > 65535)
    plugin::invalid("linear short_k: N = " + std::to_string(n) + " needs more than 65535 blocks of " + std::to_string(kBlockCols) + " columns");
  const int64_t row_blocks = std::clamp<int64_t>(resident_blocks / col_blocks, 1, row_tiles);
  const bool vector_stores = n % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  linear_short_k_kernel<<<dim3(unsigned(row_blocks), unsigned(col_blocks)), kThreads, 0, stream>>>(
      x, w, bias, y, m, int(n), int(k), act, vector_stores);
  check_launch("linear_short_k_kernel");
}

}  // namespace cagr::gpu
