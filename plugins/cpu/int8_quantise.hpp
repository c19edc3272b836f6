// int8_quantise.hpp - f32 tensors as 8-bit integers times f32 scales, for the int8 matmul (ABI
// 1.3's CAGR_MATH_INT8; linear_onednn.cpp). Both operands symmetric s8 (x ~ scale * q, q in
// [-127, 127]), so the matmul's int32 sums need one multiply each to become f32:
//
// - W once, per output channel (W is [N, K]: its rows, quantised as X's are): scale[n] =
//   max|W[n,:]| / 127, so each row uses the whole range whatever its magnitude.
// - X per run, per row (dynamic: each row's range is read, then the row, still in L1, quantised):
//   one pass over X. Per tensor would need a first pass over all of X before any row could be
//   quantised, and at DLRM's sizes X is larger than L2: measured, that scan cost as much as the
//   int8 matmul itself (2048 x 512 f32: three SSE2 passes 1.5 ms against a 1.2 ms matmul, one
//   thread).
//   Per row is also finer: a row of small values keeps its digits. Symmetric s8 because oneDNN
//   2.6's source zero point is one per tensor, not per row. (Speed did not decide it: 2048 x 512 x
//   256 on VNNI took 1.16-1.18 ms as u8 or s8 without attributes, 1.24-1.29 ms with runtime
//   scales and zero point, oneDNN then taking its gemm:jit path instead of brgemm.)
#pragma once

#include <cstdint>

namespace cagr::cpu::int8 {

// q (row-major [rows, k], s8) and scales (rows) for x (row-major [rows, k]). False, leaving q and
// scales unspecified, when x holds a NaN or an infinity (which no code represents: the caller
// computes in f32 instead, so they propagate as OPS.md wants). A row of zeros, or one so small
// that 1/scale would overflow, gets scale 1 and codes 0 (an error below 2^-126 * 127). `parallel`:
// rows split over the OpenMP team.
bool quantise_rows(const float* x, int64_t rows, int64_t k, int8_t* q, float* scales, bool parallel);

// y (row-major [rows, n]) holds the int8 matmul's sums (as f32): y = y * row_scales[r] *
// column_scales[c] + bias[c] (no bias when nullptr). Its own loop: oneDNN 2.6's output scales are
// per column or a whole [rows, n] buffer, not a row's times a column's.
void dequantise_rows(float* y, int64_t rows, int64_t n, const float* row_scales, const float* column_scales, const float* bias);

}  // namespace cagr::cpu::int8
