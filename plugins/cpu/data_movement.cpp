// data_movement.cpp - concat, reshape and gather: copies of rows, no arithmetic.
#include <algorithm>
#include <cstring>

#include "cpu_kernel.hpp"
#include "index_check.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {

namespace {

using contract::Concat;
using contract::Gather;
using contract::Reshape;

void concat(const Concat& c, const void* const* inputs, void* const* outputs) {
  int64_t block = 0;
  for (int64_t chunk : c.chunk) block += chunk;
  float* y = static_cast<float*>(outputs[0]);
  parallel_for(c.outer, c.outer * block >= (1 << 15), [&](int64_t o) {
    float* dst = y + o * block;
    for (size_t i = 0; i < c.chunk.size(); ++i) {
      std::memcpy(dst, static_cast<const float*>(inputs[i]) + o * c.chunk[i], c.chunk[i] * sizeof(float));
      dst += c.chunk[i];
    }
  });
}

void reshape(const Reshape& r, const void* const* inputs, void* const* outputs) {
  if (r.bytes > 0 && inputs[0] != outputs[0]) std::memcpy(outputs[0], inputs[0], r.bytes);
}

void gather(const Gather& g, const void* const* inputs, void* const* outputs) {
  const float* data = static_cast<const float*>(inputs[0]);
  float* y = static_cast<float*>(outputs[0]);
  int64_t first_bad = kNoBadIndex;
  with_index_type(g.index_dtype, inputs[1], [&](const auto* indices) {
    first_bad = parallel_min(g.count, g.count * g.row_elems >= (1 << 15), kNoBadIndex, [&](int64_t i) {
      const int64_t row = indices[i];
      if (row < 0 || row >= g.rows) return i;
      std::memcpy(y + i * g.row_elems, data + row * g.row_elems, g.row_elems * sizeof(float));
      return kNoBadIndex;
    });
  });
  if (first_bad != kNoBadIndex)
    bad_index("gather", first_bad, index_at(inputs[1], g.index_dtype, first_bad),
              "data of " + std::to_string(g.rows) + " rows");
}

Cost concat_cost(const contract::Checked& shapes) {
  const auto& c = std::get<Concat>(shapes);
  double elems = 0;
  for (int64_t chunk : c.chunk) elems += static_cast<double>(chunk) * c.outer;
  return Cost{0, 2.0 * sizeof(float) * elems};
}

Cost reshape_cost(const contract::Checked& shapes) { return Cost{0, 2.0 * std::get<Reshape>(shapes).bytes}; }

Cost gather_cost(const contract::Checked& shapes) {
  const auto& g = std::get<Gather>(shapes);
  return Cost{0, 2.0 * sizeof(float) * g.count * g.row_elems + abi::dtype_size(g.index_dtype) * g.count};
}

}  // namespace

OpImpl concat_impl() { return OpImpl{{{"memcpy_rows", true, FunctionKernel<Concat, concat>::create}}, concat_cost}; }
OpImpl reshape_impl() { return OpImpl{{{"memcpy", false, FunctionKernel<Reshape, reshape>::create}}, reshape_cost}; }
OpImpl gather_impl() { return OpImpl{{{"memcpy_rows", true, FunctionKernel<Gather, gather>::create}}, gather_cost}; }

}  // namespace cagr::cpu
