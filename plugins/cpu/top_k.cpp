// top_k.cpp - the k largest of each row by partial sort, rows split over threads.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cpu_kernel.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {

namespace {

using contract::TopK;

void top_k(const TopK& t, const void* const* inputs, void* const* outputs) {
  const float* x = static_cast<const float*>(inputs[0]);
  float* values = static_cast<float*>(outputs[0]);
  int64_t* indices = static_cast<int64_t*>(outputs[1]);
  parallel_ranges(t.batch, t.batch * t.n >= kParallelThreshold, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> order(static_cast<size_t>(t.n));
    for (int64_t b = begin; b < end; ++b) {
      const float* row = x + b * t.n;
      // OPS.md's order: larger first, NaN above every number, equal values by lower index.
      const auto before = [row](int64_t i, int64_t j) {
        const float a = row[i], c = row[j];
        const bool a_nan = std::isnan(a), c_nan = std::isnan(c);
        if (a_nan != c_nan) return a_nan;
        if (!a_nan && a != c) return a > c;
        return i < j;
      };
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + t.k, order.end(), before);
      for (int64_t k = 0; k < t.k; ++k) {
        values[b * t.k + k] = row[order[k]];
        indices[b * t.k + k] = order[k];
      }
    }
  });
}

Cost cost(const contract::Checked& shapes) {
  const auto& t = std::get<TopK>(shapes);
  return Cost{static_cast<double>(t.batch) * t.n * std::log2(static_cast<double>(t.k) + 1),
              sizeof(float) * static_cast<double>(t.batch) * t.n + 12.0 * t.batch * t.k};
}

}  // namespace

OpImpl top_k_impl() { return OpImpl{{{"partial_sort_omp", true, FunctionKernel<TopK, top_k>::create}}, cost}; }

}  // namespace cagr::cpu
