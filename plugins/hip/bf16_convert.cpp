#include "bf16_convert.hpp"

#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

// A thread rounds 8 values of a destination row and writes them with one 16-byte store; the reads
// of a warp's 32 threads cover 256 consecutive floats of a row, so they coalesce.
__global__ void __launch_bounds__(kBlockThreads)
    to_bf16_kernel(const float* src, int64_t rows, int64_t cols, uint16_t* dst, int64_t dst_rows, int64_t dst_cols) {
  const int64_t groups_per_row = dst_cols / 8, groups = dst_rows * groups_per_row;
  for (int64_t g = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = g / groups_per_row, c0 = g % groups_per_row * 8;
    uint32_t packed[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t c = c0 + 2 * i;
      const bool row_in = r < rows;
      const float lo = row_in && c < cols ? src[r * cols + c] : 0.f;
      const float hi = row_in && c + 1 < cols ? src[r * cols + c + 1] : 0.f;
      packed[i] = uint32_t(float_to_bf16_bits(lo)) | uint32_t(float_to_bf16_bits(hi)) << 16;
    }
    *reinterpret_cast<uint4*>(dst + r * dst_cols + c0) = make_uint4(packed[0], packed[1], packed[2], packed[3]);
  }
}

}  // namespace

void launch_to_bf16(const float* src, int64_t rows, int64_t cols, uint16_t* dst, int64_t dst_rows, int64_t dst_cols,
                    hipStream_t stream) {
  if (dst_rows < rows || dst_cols < cols || dst_cols % 8 != 0 || reinterpret_cast<uintptr_t>(dst) % 16 != 0)
    plugin::invalid("to_bf16: the destination [" + std::to_string(dst_rows) + ", " + std::to_string(dst_cols) +
                    "] must hold [" + std::to_string(rows) + ", " + std::to_string(cols) +
                    "] in rows of a multiple of 8 values, 16-byte aligned");
  if (dst_rows == 0 || dst_cols == 0) return;
  to_bf16_kernel<<<blocks_for(dst_rows * (dst_cols / 8)), kBlockThreads, 0, stream>>>(src, rows, cols, dst, dst_rows, dst_cols);
  check_launch("to_bf16_kernel");
}

}  // namespace cagr::gpu
