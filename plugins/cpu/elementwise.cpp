// elementwise.cpp - relu, sigmoid, add, mul: one pass over memory, split over threads.
#include <algorithm>

#include "cpu_kernel.hpp"
#include "parallel_loop.hpp"
#include "vector_exp.hpp"

namespace cagr::cpu {

namespace {

using contract::Binary;
using contract::Unary;

constexpr int64_t kBlock = 4096;  // elements per piece of parallel work

void relu_rows(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f);
}

void unary(const Unary& u, const void* const* inputs, void* const* outputs) {
  const float* x = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  const bool relu = u.activation == contract::Activation::relu;
  parallel_for((u.numel + kBlock - 1) / kBlock, u.numel >= kParallelThreshold, [&](int64_t b) {
    const int64_t begin = b * kBlock, count = std::min(kBlock, u.numel - begin);
    if (relu) relu_rows(x + begin, y + begin, count);
    else sigmoid_keeping_nan(x + begin, y + begin, count);
  });
}

template <bool Multiply>
void combine(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = Multiply ? a[i] * b[i] : a[i] + b[i];
}

template <bool Multiply>
void binary(const Binary& op, const void* const* inputs, void* const* outputs) {
  const float* a = static_cast<const float*>(inputs[0]);
  const float* b = static_cast<const float*>(inputs[1]);
  float* y = static_cast<float*>(outputs[0]);
  if (op.numel == 0) return;
  // A is `rows` repetitions of B's shape; with equal shapes (one row) split the row instead.
  const int64_t rows = op.numel / op.b_numel;
  const bool parallel = op.numel >= kParallelThreshold;
  if (rows == 1) {
    parallel_for((op.numel + kBlock - 1) / kBlock, parallel, [&](int64_t block) {
      const int64_t start = block * kBlock;
      combine<Multiply>(a + start, b + start, y + start, std::min(kBlock, op.numel - start));
    });
  } else {
    parallel_for(rows, parallel, [&](int64_t r) { combine<Multiply>(a + r * op.b_numel, b, y + r * op.b_numel, op.b_numel); });
  }
}

void binary_dispatch(const Binary& op, const void* const* inputs, void* const* outputs) {
  if (op.multiply) binary<true>(op, inputs, outputs);
  else binary<false>(op, inputs, outputs);
}

Cost unary_cost(const contract::Checked& shapes) {
  const auto& u = std::get<Unary>(shapes);
  return Cost{static_cast<double>(u.numel), 2.0 * sizeof(float) * u.numel};
}

Cost binary_cost(const contract::Checked& shapes) {
  const auto& b = std::get<Binary>(shapes);
  return Cost{static_cast<double>(b.numel), sizeof(float) * (2.0 * b.numel + b.b_numel)};
}

}  // namespace

OpImpl unary_impl() { return OpImpl{{{"omp_loop", true, FunctionKernel<Unary, unary>::create}}, unary_cost}; }
OpImpl binary_impl() { return OpImpl{{{"omp_loop", true, FunctionKernel<Binary, binary_dispatch>::create}}, binary_cost}; }

}  // namespace cagr::cpu
