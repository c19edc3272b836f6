#include "linear_narrow.hpp"

#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

constexpr int kWarp = 32;

// kRows rows of X per warp at a time (grid-stride over row groups): the lanes split K, the
// loads of all the rows' slices are issued before any is summed, each lane keeps kRows x N partial
// sums, and a butterfly leaves the totals on every lane. V = 4 reads X and W as float4 (K a
// multiple of 4, 16-byte aligned rows); kN is N's bound, 1 for a logit layer so that it keeps
// kRows sums, not kRows x kNarrowMaxN. On the H100 (ncu, DLRM's logit layer, 256 -> 1): at 16384
// rows four rows per warp took 10.3 us against 13.2-13.8 for one (which read 1.2 TB/s, 36% of
// DRAM, each short-lived warp waiting on its two loads); at 2048 rows, where one row per warp
// fits in one wave, one row took 5.3-5.5 us and four 6.6-6.8.
template <int V, int kN, int kRows>
__global__ void __launch_bounds__(kBlockThreads)
    linear_narrow_kernel(const float* x, const float* w, const float* bias, float* y, int64_t m, int n, int64_t k,
                         Activation act) {
  const unsigned mask = group_lane_mask(kWarp);
  const int lane = int(threadIdx.x) % kWarp;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row0 = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp * kRows; row0 < m;
       row0 += warps * kRows) {
    float sum[kRows][kN] = {};
    for (int64_t c = int64_t(lane) * V; c < k; c += int64_t(kWarp) * V) {
      float a[kRows][V];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const bool in = row0 + r < m;
        if constexpr (V == 4) {
          const float4 v = in ? *reinterpret_cast<const float4*>(x + (row0 + r) * k + c) : make_float4(0.f, 0.f, 0.f, 0.f);
          a[r][0] = v.x, a[r][1] = v.y, a[r][2] = v.z, a[r][3] = v.w;
        } else {
          a[r][0] = in ? x[(row0 + r) * k + c] : 0.f;
        }
      }
#pragma unroll
      for (int o = 0; o < kN; ++o) {
        if (o < n) {
          float b[V];
          if constexpr (V == 4) {
            const float4 v = *reinterpret_cast<const float4*>(w + o * k + c);
            b[0] = v.x, b[1] = v.y, b[2] = v.z, b[3] = v.w;
          } else {
            b[0] = w[o * k + c];
          }
#pragma unroll
          for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int i = 0; i < V; ++i) sum[r][o] = fmaf(a[r][i], b[i], sum[r][o]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
      for (int o = 0; o < kN; ++o) {
        if (o < n) {  // n is the same on every lane: the shuffles stay converged
          const float total = group_sum(mask, sum[r][o], kWarp);
          if (lane == o && row0 + r < m) y[(row0 + r) * n + o] = activate(act, total + (bias != nullptr ? bias[o] : 0.f));
        }
      }
    }
  }
}

template <int V, int kRows>
void launch_narrow(int64_t n, hipStream_t stream, const float* x, const float* w, const float* bias, float* y, int64_t m,
                   int64_t k, Activation act) {
  const unsigned blocks = blocks_for((m + kRows - 1) / kRows * kWarp);
  if (n == 1) linear_narrow_kernel<V, 1, kRows><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, 1, k, act);
  else linear_narrow_kernel<V, kNarrowMaxN, kRows><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, int(n), k, act);
}

}  // namespace

void launch_linear_narrow(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int multiprocessors, hipStream_t stream) {
  if (n < 1 || n > kNarrowMaxN) plugin::invalid("linear_narrow: N must be 1.." + std::to_string(kNarrowMaxN));
  if (m == 0) return;
  // One row per warp while the rows fit in one wave of warps (at most 64 per SM), four beyond.
  const bool four_rows = m > int64_t(multiprocessors) * 64;
  const bool vectors = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (vectors && four_rows) launch_narrow<4, 4>(n, stream, x, w, bias, y, m, k, act);
  else if (vectors) launch_narrow<4, 1>(n, stream, x, w, bias, y, m, k, act);
  else if (four_rows) launch_narrow<1, 4>(n, stream, x, w, bias, y, m, k, act);
  else launch_narrow<1, 1>(n, stream, x, w, bias, y, m, k, act);
  check_launch("linear_narrow_kernel");
}

}  // namespace cagr::gpu
