// embedding_bag.cpp - multi-table pooled lookups, the memory-bound heart of recommendation models.
//
// Each bag (table t, sample b) is pooled into its output row: blocks of columns are summed (or
// weighted-summed, or maximised) in vector registers across the bag's rows (combine_rows, compiled
// per instruction set), and rows a few indices ahead are prefetched, since the lookups are random
// and each row costs a memory latency. Bags are spread over threads; indices
// are bounds-checked in the same pass, and the first bad one (lowest position) is reported.
#include <algorithm>

#include "cpu_kernel.hpp"
#include "index_check.hpp"

namespace cagr::cpu {

namespace {

using contract::EmbeddingBag;

// How many indices ahead the rows are prefetched: enough to cover a memory latency with the
// adds of the rows in between, few enough that prefetched lines are not evicted before use.
constexpr int64_t kPrefetchDistance = 16;
// Cache lines of a row that are prefetched (a row of D=128 f32 is 8 lines).
constexpr int64_t kPrefetchLines = 8;
constexpr int64_t kFloatsPerLine = 64 / sizeof(float);
// Rows summed per call of add_rows: their pointers are gathered (and checked) first.
constexpr int kRowsPerStep = 32;
// Columns summed in registers at a time: one AVX-512 register, two AVX2 ones, four SSE ones.
constexpr int64_t kColumnBlock = 16;

// How a step of rows is folded into a bag's output row.
enum class Combine { add, add_weighted, max };

// dst[0, dim) = fold of (accumulate ? dst : the fold's start) and rows[0 .. count)[0, dim): their
// sum, their sum weighted by weights[0 .. count), or their column-wise maximum, which starts from
// the first row and takes a value only where it is greater, as PyTorch's does (a NaN is kept only
// from the first row).
// The fold of a column block stays in registers across all the rows (a running value in dst would
// be a load and a store per row). Inlined into one function per Combine, each compiled for
// AVX-512, AVX2 and the baseline; the loader picks the best the CPU has when the plugin is loaded
// (GCC function multi-versioning).
template <Combine C>
__attribute__((always_inline)) inline void combine_rows(float* __restrict dst, const float* const* rows,
                                                        const float* weights, int count, int64_t dim, bool accumulate) {
  const float* start = C == Combine::max && count > 0 ? rows[0] : nullptr;  // else the fold starts at 0
  int64_t d = 0;
  for (; d + kColumnBlock <= dim; d += kColumnBlock) {
    float acc[kColumnBlock];
    for (int64_t i = 0; i < kColumnBlock; ++i) acc[i] = accumulate ? dst[d + i] : start ? start[d + i] : 0.0f;
    for (int r = 0; r < count; ++r) {
      const float* __restrict src = rows[r] + d;
      for (int64_t i = 0; i < kColumnBlock; ++i) {
        if constexpr (C == Combine::add) acc[i] += src[i];
        else if constexpr (C == Combine::add_weighted) acc[i] += weights[r] * src[i];
        else acc[i] = src[i] > acc[i] ? src[i] : acc[i];
      }
    }
    for (int64_t i = 0; i < kColumnBlock; ++i) dst[d + i] = acc[i];
  }
  for (; d < dim; ++d) {
    float acc = accumulate ? dst[d] : start ? start[d] : 0.0f;
    for (int r = 0; r < count; ++r) {
      if constexpr (C == Combine::add) acc += rows[r][d];
      else if constexpr (C == Combine::add_weighted) acc += weights[r] * rows[r][d];
      else acc = rows[r][d] > acc ? rows[r][d] : acc;
    }
    dst[d] = acc;
  }
}

#define CAGR_ROW_FOLD(name, combine)                                                                                  \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void name(                                            \
      float* __restrict dst, const float* const* rows, const float* weights, int count, int64_t dim, bool accumulate) { \
    combine_rows<combine>(dst, rows, weights, count, dim, accumulate);                                                \
  }
CAGR_ROW_FOLD(add_rows, Combine::add)
CAGR_ROW_FOLD(add_weighted_rows, Combine::add_weighted)
CAGR_ROW_FOLD(max_rows, Combine::max)
#undef CAGR_ROW_FOLD

void check_offsets(const EmbeddingBag& e, const void* offsets) {
  const int64_t bags = e.tables * e.batch;
  const int64_t first = index_at(offsets, e.offset_dtype, 0);
  const int64_t last = index_at(offsets, e.offset_dtype, bags);
  if (first != 0) plugin::invalid("embedding_bag: offsets[0] must be 0, got " + std::to_string(first));
  if (last != e.num_indices)
    plugin::invalid("embedding_bag: offsets[" + std::to_string(bags) + "] must be L = " + std::to_string(e.num_indices) +
                    ", got " + std::to_string(last));
  for (int64_t j = 0; j < bags; ++j) {
    if (index_at(offsets, e.offset_dtype, j + 1) < index_at(offsets, e.offset_dtype, j))
      plugin::invalid("embedding_bag: offsets decrease at position " + std::to_string(j + 1));
  }
}

// What a bag pools beyond its rows: per-sample weights (or nullptr) and each table's padding row
// (negative: none).
struct BagExtras {
  const float* weights = nullptr;
  std::vector<int64_t> padding;
};

// Extras: whether the bags have per-sample weights or padding rows (the plain case reads neither per
// index).
template <bool Prefetch, bool Extras, class Index, class Offset>
int64_t pool(const EmbeddingBag& e, const Index* indices, const Offset* offsets, const float* const* tables,
             const BagExtras& extras, float* out, bool parallel) {
  const int64_t bags = e.tables * e.batch;
  const int64_t dim = e.dim;
  const auto fold = e.pooling == contract::Pooling::max ? max_rows : extras.weights ? add_weighted_rows : add_rows;
  int64_t first_bad = kNoBadIndex;
#pragma omp parallel for schedule(dynamic, 8) reduction(min : first_bad) \
    if (parallel && e.num_indices * dim >= kParallelThreshold)
  for (int64_t bag = 0; bag < bags; ++bag) {
    const int64_t t = bag / e.batch;
    const int64_t b = bag % e.batch;
    const int64_t rows = e.rows[t];
    const int64_t padding = extras.padding[t];
    const float* table = tables[t];
    float* __restrict dst = out + (b * e.tables + t) * dim;
    const int64_t begin = offsets[bag];
    const int64_t end = offsets[bag + 1];
    // Prefetching looks past the bag into the next bags of the same table (with pooling 1 a bag
    // holds one index), which this thread usually takes next (chunks of 8 bags).
    const int64_t table_end = offsets[(t + 1) * e.batch];
    const float* rows_of_step[kRowsPerStep];
    float weights_of_step[kRowsPerStep];
    int pending = 0;
    int64_t pooled = 0;  // rows folded into dst so far
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (Prefetch) {
        if (i + kPrefetchDistance < table_end) {
          const int64_t ahead = indices[i + kPrefetchDistance];
          if (ahead >= 0 && ahead < rows) {
            const float* p = table + ahead * dim;
            for (int64_t line = 0; line < std::min(kPrefetchLines, (dim + kFloatsPerLine - 1) / kFloatsPerLine); ++line)
              __builtin_prefetch(p + line * kFloatsPerLine, 0, 0);
          }
        }
      }
      const int64_t row = indices[i];
      if constexpr (Extras) {
        if (padding >= 0 && row == padding) continue;  // PyTorch's padding_idx: neither pooled nor counted
      }
      if (row < 0 || row >= rows) {
        first_bad = std::min(first_bad, i);
        continue;
      }
      if constexpr (Extras) {
        if (extras.weights) weights_of_step[pending] = extras.weights[i];
      }
      rows_of_step[pending++] = table + row * dim;
      if (pending == kRowsPerStep) {
        fold(dst, rows_of_step, weights_of_step, pending, dim, pooled > 0);
        pooled += pending;
        pending = 0;
      }
    }
    if (pending > 0) fold(dst, rows_of_step, weights_of_step, pending, dim, pooled > 0);
    pooled += pending;
    if (pooled == 0) std::fill(dst, dst + dim, 0.0f);  // a bag without rows: zeros, in every mode
    if (e.pooling == contract::Pooling::mean && pooled > 1) {
      const float scale = 1.0f / static_cast<float>(pooled);
      for (int64_t d = 0; d < dim; ++d) dst[d] *= scale;
    }
  }
  return first_bad;
}

template <bool Prefetch, bool Parallel>
void embedding_bag(const EmbeddingBag& e, const void* const* inputs, void* const* outputs) {
  check_offsets(e, inputs[1]);
  std::vector<const float*> tables;
  for (int64_t t = 0; t < e.tables; ++t) tables.push_back(static_cast<const float*>(inputs[2 + t]));
  BagExtras extras;
  if (e.weighted) extras.weights = static_cast<const float*>(inputs[e.weights_input()]);
  for (int64_t t = 0; t < e.tables; ++t) {
    const int64_t padding = e.padded ? index_at(inputs[e.padding_input()], e.padding_dtype, t) : -1;
    extras.padding.push_back(padding);
  }
  float* out = static_cast<float*>(outputs[0]);
  int64_t first_bad = kNoBadIndex;
  with_index_type(e.index_dtype, inputs[0], [&](const auto* indices) {
    with_index_type(e.offset_dtype, inputs[1], [&](const auto* offsets) {
      first_bad = e.weighted || e.padded ? pool<Prefetch, true>(e, indices, offsets, tables.data(), extras, out, Parallel)
                                         : pool<Prefetch, false>(e, indices, offsets, tables.data(), extras, out, Parallel);
    });
  });
  if (first_bad == kNoBadIndex) return;
  // The table of the bad position: the last bag starting at or before it.
  int64_t bag = 0;
  while (bag + 1 < e.tables * e.batch && index_at(inputs[1], e.offset_dtype, bag + 1) <= first_bad) ++bag;
  const int64_t t = bag / e.batch;
  bad_index("embedding_bag", first_bad, index_at(inputs[0], e.index_dtype, first_bad),
            "table " + std::to_string(t) + " of " + std::to_string(e.rows[t]) + " rows");
}

Cost cost(const contract::Checked& shapes) {
  const auto& e = std::get<EmbeddingBag>(shapes);
  const double row_bytes = static_cast<double>(e.num_indices) * e.dim * sizeof(float);
  const double index_bytes = static_cast<double>(e.num_indices) * (abi::dtype_size(e.index_dtype) + (e.weighted ? 4 : 0)) +
                             static_cast<double>(e.tables * e.batch + 1) * abi::dtype_size(e.offset_dtype);
  return Cost{static_cast<double>(e.num_indices) * e.dim,
              row_bytes + index_bytes + static_cast<double>(e.batch) * e.tables * e.dim * sizeof(float)};
}

}  // namespace

OpImpl embedding_bag_impl() {
  return OpImpl{{{"prefetch_parallel", true, FunctionKernel<EmbeddingBag, embedding_bag<true, true>>::create},
                 {"simple", false, FunctionKernel<EmbeddingBag, embedding_bag<false, false>>::create}},
                cost};
}

}  // namespace cagr::cpu
