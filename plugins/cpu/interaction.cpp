// interaction.cpp - DLRM's pairwise dots (alone, or with the dense vector: dlrm_interaction) and
// DeepFM's second-order term, one sample at a time per thread (the F x D block of a sample stays in
// L1/L2 while all its pairs are formed).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu_kernel.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {

namespace {

using contract::DotInteraction;
using contract::FmInteraction;

constexpr int64_t kLanes = 8;  // dots per block: one AVX2 register (GCC's vector type; the
                               // loops over lanes written out were vectorised along dim instead)
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));
constexpr int64_t kRows = 4;   // rows of the Gram matrix formed together: four independent sums

// The pairs of one sample as rows of its Gram matrix X X^T, row i holding the dots of feature i
// with features 0 .. i (self) or 0 .. i-1, one after another in `out`. X^T (dim x stride, the
// features padded with zeros to `stride`, a multiple of kLanes) is gathered once; then four rows
// at a time take kLanes dots per pass over dim, a broadcast of x_i[k] times a load of X^T's row k
// each. A dot per pair ended in a horizontal sum of 16 products: 72 us of DLRM's 27 x 16 at
// batch 64 on one thread of the 2-core VM.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void sample_pairs(const float* const* features, int64_t count,
                                                                                 int64_t dim, bool self, int64_t stride,
                                                                                 const float* zeros, float* xt, float* out) {
  for (int64_t k = 0; k < dim; ++k)
    for (int64_t j = 0; j < stride; ++j) xt[k * stride + j] = j < count ? features[j][k] : 0.0f;
  const auto dots_of = [self](int64_t i) { return self ? i + 1 : i; };
  const auto first_of = [self](int64_t i) { return self ? i * (i + 1) / 2 : i * (i - 1) / 2; };
  for (int64_t i0 = 0; i0 < count; i0 += kRows) {
    const float* rows[kRows];
    for (int64_t r = 0; r < kRows; ++r) rows[r] = i0 + r < count ? features[i0 + r] : zeros;
    const int64_t widest = dots_of(std::min(i0 + kRows, count) - 1);
    for (int64_t j0 = 0; j0 < widest; j0 += kLanes) {
      Lanes acc[kRows] = {};
      for (int64_t k = 0; k < dim; ++k) {
        Lanes col;
        std::memcpy(&col, xt + k * stride + j0, sizeof col);
        for (int64_t r = 0; r < kRows; ++r) acc[r] += rows[r][k] * col;
      }
      for (int64_t r = 0; r < kRows && i0 + r < count; ++r) {
        float dots[kLanes];
        std::memcpy(dots, &acc[r], sizeof dots);
        std::copy_n(dots, std::clamp<int64_t>(dots_of(i0 + r) - j0, 0, kLanes), out + first_of(i0 + r) + j0);
      }
    }
  }
}

void dot_interaction(const DotInteraction& d, const void* const* inputs, void* const* outputs) {
  float* y = static_cast<float*>(outputs[0]);
  const int64_t stride = (d.features + kLanes - 1) / kLanes * kLanes;
  parallel_ranges(d.batch, d.batch * d.pairs * d.dim >= kParallelThreshold, [&](int64_t begin, int64_t end) {
    std::vector<float> xt(static_cast<size_t>(d.dim * stride)), zeros(static_cast<size_t>(d.dim));
    std::vector<const float*> features(static_cast<size_t>(d.features));
    for (int64_t b = begin; b < end; ++b) {
      float* row = y + b * d.out_cols();
      if (d.dense_input) std::copy_n(d.feature(inputs, b, 0), d.dim, row);
      for (int64_t f = 0; f < d.features; ++f) features[static_cast<size_t>(f)] = d.feature(inputs, b, f);
      sample_pairs(features.data(), d.features, d.dim, d.self, stride, zeros.data(), xt.data(), row + d.dots_offset());
      std::fill(row + d.used_cols(), row + d.out_cols(), 0.0f);
    }
  });
}

// One sample's second-order term: 0.5 * sum_d ((sum_k v_kd)^2 - sum_k v_kd^2). A function with
// restrict pointers so that the loops over d vectorise (inlined into the loop over samples they ran
// at half speed: DeepFM at batch 2048, 330-356 us against 150-215).
float sample_fm(const float* __restrict x, int64_t features, int64_t dim, float* __restrict sum, float* __restrict sum_sq) {
  std::fill_n(sum, dim, 0.0f);
  std::fill_n(sum_sq, dim, 0.0f);
  for (int64_t k = 0; k < features; ++k) {
    const float* v = x + k * dim;
    for (int64_t d = 0; d < dim; ++d) {
      sum[d] += v[d];
      sum_sq[d] += v[d] * v[d];
    }
  }
  float total = 0;
  for (int64_t d = 0; d < dim; ++d) total += sum[d] * sum[d] - sum_sq[d];
  return 0.5f * total;
}

void fm_interaction(const FmInteraction& f, const void* const* inputs, void* const* outputs) {
  const float* x = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  parallel_ranges(f.batch, f.batch * f.features * f.dim >= kParallelThreshold, [&](int64_t begin, int64_t end) {
    std::vector<float> sum(static_cast<size_t>(f.dim)), sum_sq(static_cast<size_t>(f.dim));
    for (int64_t b = begin; b < end; ++b) y[b] = sample_fm(x + b * f.features * f.dim, f.features, f.dim, sum.data(), sum_sq.data());
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
