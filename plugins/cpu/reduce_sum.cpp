// reduce_sum.cpp - sums over any set of axes: each output element walks its reduced sub-block
// through precomputed strides, output elements split over threads.
#include <vector>

#include "cpu_kernel.hpp"

namespace cagr::cpu {

namespace {

using contract::ReduceSum;

// Sizes and element strides of a subset of the input's dims, in input order.
struct Axes {
  std::vector<int64_t> sizes, strides;
  int64_t count = 1;
  // Element offset of the `index`-th point (row-major over these axes).
  int64_t offset(int64_t index) const {
    int64_t off = 0;
    for (size_t a = sizes.size(); a-- > 0;) {
      off += (index % sizes[a]) * strides[a];
      index /= sizes[a];
    }
    return off;
  }
};

void reduce_sum(const ReduceSum& r, const void* const* inputs, void* const* outputs) {
  const float* x = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  Axes kept, reduced;
  int64_t stride = 1;
  for (size_t d = r.dims.size(); d-- > 0;) {
    Axes& axes = r.reduced[d] ? reduced : kept;
    axes.sizes.insert(axes.sizes.begin(), r.dims[d]);
    axes.strides.insert(axes.strides.begin(), stride);
    axes.count *= r.dims[d];
    stride *= r.dims[d];
  }
#pragma omp parallel for schedule(static) if (kept.count * reduced.count >= (1 << 15))
  for (int64_t o = 0; o < kept.count; ++o) {
    const float* base = x + kept.offset(o);
    double acc = 0;  // a reduced block may be long; double keeps the sum order-independent enough
    for (int64_t i = 0; i < reduced.count; ++i) acc += base[reduced.offset(i)];
    y[o] = static_cast<float>(acc);
  }
}

Cost cost(const contract::Checked& shapes) {
  const auto& r = std::get<ReduceSum>(shapes);
  double n = 1;
  for (int64_t d : r.dims) n *= static_cast<double>(d);
  return Cost{n, sizeof(float) * n};
}

}  // namespace

OpImpl reduce_sum_impl() { return OpImpl{{{"strided_omp", true, FunctionKernel<ReduceSum, reduce_sum>::create}}, cost}; }

}  // namespace cagr::cpu
