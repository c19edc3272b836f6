// tensor_math.cpp - the general ops that compute along an axis: matmul (oneDNN's sgemm per product),
// softmax, reduce and layer_norm.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_kernel.hpp"
#include "index_check.hpp"
#include "oneapi/dnnl/dnnl.h"
#include "parallel_loop.hpp"
#include "vector_exp.hpp"

namespace cagr::cpu {
namespace {

using contract::LayerNorm;
using contract::MatMul;
using contract::Reduce;
using contract::ReduceFn;
using contract::Softmax;

void matmul(const MatMul& m, const void* const* in, void* const* out) {
  const float* a = static_cast<const float*>(in[0]);
  const float* b = static_cast<const float*>(in[1]);
  float* y = static_cast<float*>(out[0]);
  const int64_t batches = static_cast<int64_t>(m.a_offsets.size());
  if (m.m == 0 || m.n == 0) return;
  if (m.k == 0) {
    std::fill(y, y + batches * m.m * m.n, 0.0f);
    return;
  }
  // Many small products (AutoInt's attention: 4,096 of [26, 8] x [8, 26] at batch 2048) are shared
  // out over the team, one sgemm per product on its thread (oneDNN runs sgemm on the calling thread
  // inside a parallel region); a few large ones each take the whole team inside sgemm. (A plain
  // loop per small product, rows of b scaled and summed in vector lanes, was 2-3x slower than
  // sgemm on them: 3.6 and 6.2 ms against 2.1 and 2.0 ms per matmul on one thread.)
  constexpr int64_t kSmallProduct = 1 << 16;  // multiply-adds
  const bool many_small = batches > 1 && m.m * m.n * m.k <= kSmallProduct;
  const int64_t failed = parallel_min(batches, many_small && batches * m.m * m.n * m.k >= kParallelThreshold, kNoBadIndex, [&](int64_t i) {
    const dnnl_status_t status = dnnl_sgemm('N', 'N', m.m, m.n, m.k, 1.0f, a + m.a_offsets[static_cast<size_t>(i)], m.k,
                                            b + m.b_offsets[static_cast<size_t>(i)], m.n, 0.0f, y + i * m.m * m.n, m.n);
    return status == dnnl_success ? kNoBadIndex : i;
  });
  if (failed != kNoBadIndex) plugin::invalid("matmul: oneDNN's sgemm failed on product " + std::to_string(failed));
}

void softmax(const Softmax& s, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  const bool parallel = s.outer * s.n * s.inner >= kParallelThreshold;
  if (s.inner == 1 && !s.log)
    return parallel_ranges(s.outer, parallel, [&](int64_t begin, int64_t end) { softmax_rows(x + begin * s.n, y + begin * s.n, end - begin, s.n); });
  parallel_for(s.outer * s.inner, parallel, [&](int64_t line) {
    const int64_t first = line / s.inner * s.n * s.inner + line % s.inner;
    softmax_line(x + first, y + first, s.n, s.inner, s.log);
  });
}

// Each output element reduces the input elements at its kept coordinates, over every combination of
// the reduced ones (listed once as offsets).
void reduce(const Reduce& r, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  const size_t rank = r.dims.size();
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * r.dims[d];
  std::vector<int64_t> reduced_offsets{0}, kept_dims, kept_strides;
  for (size_t d = 0; d < rank; ++d) {
    if (!r.reduced[d]) {
      kept_dims.push_back(r.dims[d]);
      kept_strides.push_back(strides[d]);
      continue;
    }
    std::vector<int64_t> grown;
    for (int64_t o : reduced_offsets)
      for (int64_t c = 0; c < r.dims[d]; ++c) grown.push_back(o + c * strides[d]);
    reduced_offsets = std::move(grown);
  }
  int64_t outputs = 1;
  for (int64_t d : kept_dims) outputs *= d;
  const int64_t n = static_cast<int64_t>(reduced_offsets.size());
  parallel_for(outputs, outputs * n >= kParallelThreshold, [&](int64_t o) {
    int64_t base = 0, rest = o;
    for (size_t d = kept_dims.size(); d-- > 0;) {
      base += rest % kept_dims[d] * kept_strides[d];
      rest /= kept_dims[d];
    }
    double acc = r.fn == ReduceFn::prod ? 1.0 : 0.0;
    if (r.fn == ReduceFn::max) acc = -std::numeric_limits<double>::infinity();
    if (r.fn == ReduceFn::min) acc = std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < n; ++k) {
      const double v = x[base + reduced_offsets[static_cast<size_t>(k)]];
      switch (r.fn) {
        case ReduceFn::sum: case ReduceFn::mean: acc += v; break;
        case ReduceFn::prod: acc *= v; break;
        case ReduceFn::max: acc = std::isnan(v) || v > acc ? v : acc; break;
        case ReduceFn::min: acc = std::isnan(v) || v < acc ? v : acc; break;
      }
    }
    y[o] = static_cast<float>(r.fn == ReduceFn::mean ? acc / static_cast<double>(n) : acc);
  });
}

void layer_norm(const LayerNorm& l, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const float* scale = static_cast<const float*>(in[1]);
  const float* bias = l.has_bias ? static_cast<const float*>(in[2]) : nullptr;
  float* y = static_cast<float*>(out[0]);
  float* mean_out = l.outputs > 1 ? static_cast<float*>(out[1]) : nullptr;
  float* inv_std_out = l.outputs > 2 ? static_cast<float*>(out[2]) : nullptr;
  parallel_for(l.outer, l.outer * l.n >= kParallelThreshold, [&](int64_t row) {
    const float* xr = x + row * l.n;
    double sum = 0, squares = 0;
    for (int64_t j = 0; j < l.n; ++j) sum += xr[j];
    const double mean = l.n > 0 ? sum / static_cast<double>(l.n) : 0.0;
    for (int64_t j = 0; j < l.n; ++j) squares += (xr[j] - mean) * (xr[j] - mean);
    const double inv_std = 1.0 / std::sqrt((l.n > 0 ? squares / static_cast<double>(l.n) : 0.0) + l.epsilon);
    for (int64_t j = 0; j < l.n; ++j)
      y[row * l.n + j] = static_cast<float>((xr[j] - mean) * inv_std * scale[j] + (bias ? bias[j] : 0.0f));
    if (mean_out) mean_out[row] = static_cast<float>(mean);
    if (inv_std_out) inv_std_out[row] = static_cast<float>(inv_std);
  });
}

Cost matmul_cost(const contract::Checked& shapes) {
  const auto& m = std::get<MatMul>(shapes);
  const double batches = static_cast<double>(m.a_offsets.size());
  return Cost{2.0 * batches * m.m * m.n * m.k, 4.0 * batches * (m.m * m.k + m.k * m.n + m.m * m.n)};
}

Cost softmax_cost(const contract::Checked& shapes) {
  const auto& s = std::get<Softmax>(shapes);
  const double n = static_cast<double>(s.outer * s.n * s.inner);
  return Cost{20.0 * n, 8.0 * n};
}

Cost reduce_cost(const contract::Checked& shapes) {
  const auto& r = std::get<Reduce>(shapes);
  double n = 1;
  for (int64_t d : r.dims) n *= static_cast<double>(d);
  return Cost{n, 4.0 * n};
}

Cost layer_norm_cost(const contract::Checked& shapes) {
  const auto& l = std::get<LayerNorm>(shapes);
  const double n = static_cast<double>(l.outer * l.n);
  return Cost{8.0 * n, 8.0 * n};
}

}  // namespace

OpImpl matmul_impl() { return OpImpl{{{"onednn_sgemm", true, FunctionKernel<MatMul, matmul>::create}}, matmul_cost}; }
OpImpl softmax_impl() { return OpImpl{{{"omp_lines", true, FunctionKernel<Softmax, softmax>::create}}, softmax_cost}; }
OpImpl reduce_impl() { return OpImpl{{{"omp_outputs", true, FunctionKernel<Reduce, reduce>::create}}, reduce_cost}; }
OpImpl layer_norm_impl() { return OpImpl{{{"omp_rows", true, FunctionKernel<LayerNorm, layer_norm>::create}}, layer_norm_cost}; }

}  // namespace cagr::cpu
