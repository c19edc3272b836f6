// interaction.cpp - DLRM's pairwise dots (alone, or with the dense vector: dlrm_interaction) and
// DeepFM's second-order term, one sample per thread iteration (the F x D block of a sample stays in
// L1/L2 while all its pairs are formed).
#include <algorithm>
#include <vector>

#include "cpu_kernel.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {

namespace {

using contract::DotInteraction;
using contract::FmInteraction;

float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void dot_interaction(const DotInteraction& d, const void* const* inputs, void* const* outputs) {
  float* y = static_cast<float*>(outputs[0]);
  parallel_for(d.batch, d.batch * d.pairs * d.dim >= kParallelThreshold, [&](int64_t b) {
    float* row = y + b * d.out_cols();
    if (d.dense_input) std::copy_n(d.feature(inputs, b, 0), d.dim, row);
    float* out = row + d.dots_offset();
    for (int64_t i = 0; i < d.features; ++i) {
      const float* fi = d.feature(inputs, b, i);
      const int64_t last = d.self ? i : i - 1;
      for (int64_t j = 0; j <= last; ++j) *out++ = dot(fi, d.feature(inputs, b, j), d.dim);
    }
    std::fill(row + d.used_cols(), row + d.out_cols(), 0.0f);
  });
}

void fm_interaction(const FmInteraction& f, const void* const* inputs, void* const* outputs) {
  const float* x = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  parallel_ranges(f.batch, f.batch * f.features * f.dim >= kParallelThreshold, [&](int64_t begin, int64_t end) {
    std::vector<float> sum(static_cast<size_t>(f.dim)), sum_sq(static_cast<size_t>(f.dim));
    for (int64_t b = begin; b < end; ++b) {
      std::fill(sum.begin(), sum.end(), 0.0f);
      std::fill(sum_sq.begin(), sum_sq.end(), 0.0f);
      for (int64_t k = 0; k < f.features; ++k) {
        const float* __restrict v = x + (b * f.features + k) * f.dim;
        for (int64_t d = 0; d < f.dim; ++d) {
          sum[d] += v[d];
          sum_sq[d] += v[d] * v[d];
        }
      }
      float total = 0;
      for (int64_t d = 0; d < f.dim; ++d) total += sum[d] * sum[d] - sum_sq[d];
      y[b] = 0.5f * total;
    }
  });
}

Cost dot_cost(const contract::Checked& shapes) {
  const auto& d = std::get<DotInteraction>(shapes);
  return Cost{2.0 * d.batch * d.pairs * d.dim, sizeof(float) * (static_cast<double>(d.batch) * d.features * d.dim + d.batch * d.out_cols())};
}

Cost fm_cost(const contract::Checked& shapes) {
  const auto& f = std::get<FmInteraction>(shapes);
  return Cost{3.0 * f.batch * f.features * f.dim, sizeof(float) * (static_cast<double>(f.batch) * f.features * f.dim + f.batch)};
}

}  // namespace

OpImpl dot_interaction_impl() {
  return OpImpl{{{"per_sample_omp", true, FunctionKernel<DotInteraction, dot_interaction>::create}}, dot_cost};
}
OpImpl fm_interaction_impl() {
  return OpImpl{{{"per_sample_omp", true, FunctionKernel<FmInteraction, fm_interaction>::create}}, fm_cost};
}

}  // namespace cagr::cpu
