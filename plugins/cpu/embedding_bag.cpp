// embedding_bag.cpp - multi-table pooled lookups, the memory-bound heart of recommendation models.
//
// Each bag (table t, sample b) is summed into its output row: blocks of columns are summed in
// vector registers across the bag's rows (add_rows, compiled per instruction set), and rows a few
// indices ahead are prefetched, since the
// lookups are random and each row costs a memory latency. Bags are spread over threads; indices
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

// dst[0, dim) = (accumulate ? dst : 0) + sum of rows[0 .. count)[0, dim).
// The sum of a column block stays in registers across all the rows (a running sum in dst would be
// a load and a store per row). Compiled for AVX-512, AVX2 and the baseline; the loader picks the
// best the CPU has when the plugin is loaded (GCC function multi-versioning).
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_rows(float* __restrict dst,
                                                                             const float* const* rows, int count,
                                                                             int64_t dim, bool accumulate) {
  int64_t d = 0;
  for (; d + kColumnBlock <= dim; d += kColumnBlock) {
    float acc[kColumnBlock];
    for (int64_t i = 0; i < kColumnBlock; ++i) acc[i] = accumulate ? dst[d + i] : 0.0f;
    for (int r = 0; r < count; ++r) {
      const float* __restrict src = rows[r] + d;
      for (int64_t i = 0; i < kColumnBlock; ++i) acc[i] += src[i];
    }
    for (int64_t i = 0; i < kColumnBlock; ++i) dst[d + i] = acc[i];
  }
  for (; d < dim; ++d) {
    float acc = accumulate ? dst[d] : 0.0f;
    for (int r = 0; r < count; ++r) acc += rows[r][d];
    dst[d] = acc;
  }
}

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

template <bool Prefetch, class Index, class Offset>
int64_t pool(const EmbeddingBag& e, const Index* indices, const Offset* offsets, const float* const* tables,
             float* out, bool parallel) {
  const int64_t bags = e.tables * e.batch;
  const int64_t dim = e.dim;
  int64_t first_bad = kNoBadIndex;
#pragma omp parallel for schedule(dynamic, 8) reduction(min : first_bad) \
    if (parallel && e.num_indices * dim >= kParallelThreshold)
  for (int64_t bag = 0; bag < bags; ++bag) {
    const int64_t t = bag / e.batch;
    const int64_t b = bag % e.batch;
    const int64_t rows = e.rows[t];
    const float* table = tables[t];
    float* __restrict dst = out + (b * e.tables + t) * dim;
    const int64_t begin = offsets[bag];
    const int64_t end = offsets[bag + 1];
    // Prefetching looks past the bag into the next bags of the same table (with pooling 1 a bag
    // holds one index), which this thread usually takes next (chunks of 8 bags).
    const int64_t table_end = offsets[(t + 1) * e.batch];
    const float* rows_of_step[kRowsPerStep];
    int pending = 0;
    bool accumulate = false;
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
      if (row < 0 || row >= rows) {
        first_bad = std::min(first_bad, i);
        continue;
      }
      rows_of_step[pending++] = table + row * dim;
      if (pending == kRowsPerStep) {
        add_rows(dst, rows_of_step, pending, dim, accumulate);
        accumulate = true;
        pending = 0;
      }
    }
    if (pending > 0 || !accumulate) add_rows(dst, rows_of_step, pending, dim, accumulate);  // an empty bag: zeros
    if (e.mean && end > begin) {
      const float scale = 1.0f / static_cast<float>(end - begin);
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
  float* out = static_cast<float*>(outputs[0]);
  int64_t first_bad = kNoBadIndex;
  with_index_type(e.index_dtype, inputs[0], [&](const auto* indices) {
    with_index_type(e.offset_dtype, inputs[1], [&](const auto* offsets) {
      first_bad = pool<Prefetch>(e, indices, offsets, tables.data(), out, Parallel);
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
  const double index_bytes = static_cast<double>(e.num_indices) * abi::dtype_size(e.index_dtype) +
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
