// bf16_convert.hpp - an f32 matrix rounded to bf16 into a zero-padded one: the input and weights of
// an mlp whose activations are kept in bf16 (mlp.cpp), their rows padded to a multiple of 8 values
// (16 bytes), which the bf16 tensor-core GEMMs need.
#pragma once

#include <cstdint>

#include "gpu_runtime.h"

namespace cagr::gpu {

// The bf16 row length that holds `cols` values and starts every row on 16 bytes.
inline int64_t bf16_padded(int64_t cols) { return (cols + 7) / 8 * 8; }

// dst [dst_rows, dst_cols] (bf16 bits) = src [rows, cols] (f32, row-major) rounded to nearest even,
// zeros beyond; queued on `stream`. dst_rows >= rows, dst_cols >= cols, dst_cols a multiple of 8,
// dst 16-byte aligned.
void launch_to_bf16(const float* src, int64_t rows, int64_t cols, uint16_t* dst, int64_t dst_rows, int64_t dst_cols,
                    hipStream_t stream);

}  // namespace cagr::gpu
