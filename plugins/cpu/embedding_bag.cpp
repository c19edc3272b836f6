// embedding_bag.cpp - multi-table pooled lookups, the memory-bound heart of recommendation models.
//
// Each bag (table t, sample b) is pooled into its output row: blocks of columns are summed (or
// weighted-summed, or maximised) in vector registers across the bag's rows (combine_rows, compiled
// per instruction set and table dtype: f32, f16, bf16, u8 row-wise quantised, summed in f32), and rows a few indices ahead are prefetched, since the lookups are random
// and each row costs a memory latency. Bags are spread over threads; indices
// are bounds-checked in the same pass, and the first bad one (lowest position) is reported.
#include <algorithm>
#include <cstring>

#include "cpu_kernel.hpp"
#include "index_check.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {

namespace {

using contract::EmbeddingBag;

// How many indices ahead the rows are prefetched: enough to cover a memory latency with the
// adds of the rows in between, few enough that prefetched lines are not evicted before use.
constexpr int64_t kPrefetchDistance = 16;
// Cache lines of a row that are prefetched (a row of D=128 f32 is 8 lines).
constexpr int64_t kPrefetchLines = 8;
constexpr int64_t kLineBytes = 64;
// Rows summed per call of add_rows: their pointers are gathered (and checked) first.
constexpr int kRowsPerStep = 32;
// Columns summed in registers at a time: one AVX-512 register, two AVX2 ones, four SSE ones.
constexpr int64_t kColumnBlock = 16;

// How a step of rows is folded into a bag's output row.
enum class Combine { add, add_weighted, max };

// A column block in GCC's generic vectors, which each clone compiles to its widest registers.
using BlockFloats = float __attribute__((vector_size(4 * kColumnBlock)));
using BlockBits32 = uint32_t __attribute__((vector_size(4 * kColumnBlock)));
using BlockBits16 = uint16_t __attribute__((vector_size(2 * kColumnBlock)));

// A stored table row read as f32 (OPS.md: f32, f16, bf16, or u8 codes * the row's scale + its
// bias). Inlined into the folds, each compiled per table dtype, so that the conversions vectorise
// with the sums: f16 by abi::float_from_f16's branch-free rebiasing, bf16 by a shift, u8 by a
// widening and a multiply-add.
template <cagr_dtype DT>
struct StoredRow {
  const unsigned char* bytes;
  float scale = 1.0f, bias = 0.0f;  // u8's, read once per row

  StoredRow(const unsigned char* row, int64_t dim) : bytes(row) {
    if constexpr (DT == CAGR_DTYPE_U8) {
      std::memcpy(&scale, row + dim, 4);
      std::memcpy(&bias, row + dim + 4, 4);
    }
  }
  // Element d, for the columns after the last whole block.
  float operator[](int64_t d) const {
    float v[1];
    read<1>(d, v);
    return v[0];
  }
  // Elements d .. d + N - 1. A whole column block is converted in forms GCC vectorises (it leaves
  // the plain scalar conversions unvectorised): u8 codes widened to i32, then floats times the row's
  // scale plus its bias; in generic vectors, bf16 shifted into f32's high half and f16 by
  // abi::float_from_f16's rebiasing (the 15 bits shifted into f32's place times 2^112, f32's all-ones
  // exponent for infinity and NaN, the sign put back).
  template <int64_t N>
  void read(int64_t d, float* out) const {
    if constexpr (DT == CAGR_DTYPE_F32) {
      std::memcpy(out, bytes + 4 * d, 4 * N);
    } else if constexpr (N != kColumnBlock) {  // the columns after the last whole block, one by one
      for (int64_t i = 0; i < N; ++i) {
        uint16_t bits;
        if constexpr (DT != CAGR_DTYPE_U8) std::memcpy(&bits, bytes + 2 * (d + i), 2);
        out[i] = DT == CAGR_DTYPE_U8 ? static_cast<float>(bytes[d + i]) * scale + bias
                 : DT == CAGR_DTYPE_F16 ? abi::float_from_f16(bits) : abi::float_from_bf16(bits);
      }
    } else if constexpr (DT == CAGR_DTYPE_U8) {
      // Widened to i32 in a loop of its own, which GCC vectorises (vpmovzx), where it converts u8
      // generic vectors element by element.
      int32_t codes[kColumnBlock];
      for (int64_t i = 0; i < kColumnBlock; ++i) codes[i] = bytes[d + i];
      for (int64_t i = 0; i < kColumnBlock; ++i) out[i] = static_cast<float>(codes[i]) * scale + bias;
    } else {
      BlockBits16 bits;
      std::memcpy(&bits, bytes + 2 * d, sizeof bits);
      const BlockBits32 wide = __builtin_convertvector(bits, BlockBits32);
      BlockBits32 value;
      if constexpr (DT == CAGR_DTYPE_BF16) {
        value = wide << 16;
      } else {
        const BlockBits32 magnitude = wide & 0x7fffu;
        const BlockBits32 shifted = magnitude << 13;
        BlockFloats rebiased;
        std::memcpy(&rebiased, &shifted, sizeof shifted);
        rebiased *= 5.192296858534828e33f;  // 2^112
        const auto special = magnitude >= 0x7c00u;  // all ones where infinity or NaN
        BlockBits32 special_bits, rebiased_bits;
        std::memcpy(&special_bits, &special, sizeof special_bits);
        std::memcpy(&rebiased_bits, &rebiased, sizeof rebiased_bits);
        value = rebiased_bits | (special_bits & 0x7f800000u) | ((wide & 0x8000u) << 16);
      }
      std::memcpy(out, &value, sizeof value);
    }
  }
};

// dst[0, dim) = fold of (accumulate ? dst : the fold's start) and rows[0 .. count)[0, dim) (stored
// as DT): their sum, their sum weighted by weights[0 .. count), or their column-wise maximum, which
// starts from the first row and takes a value only where it is greater, as PyTorch's does (a NaN
// is kept only from the first row).
// The fold of a column block stays in registers across all the rows (a running value in dst would
// be a load and a store per row). Inlined into one function per Combine and table dtype, each
// compiled for AVX-512, AVX2 and the baseline; the loader picks the best the CPU has when the
// plugin is loaded (GCC function multi-versioning).
template <Combine C, cagr_dtype DT>
__attribute__((always_inline)) inline void combine_rows(float* __restrict dst, const unsigned char* const* rows,
                                                        const float* weights, int count, int64_t dim, bool accumulate) {
  const bool from_first = C == Combine::max && count > 0 && !accumulate;  // else the fold starts at dst or 0
  int64_t d = 0;
  for (; d + kColumnBlock <= dim; d += kColumnBlock) {
    float acc[kColumnBlock];
    if (from_first) {
      StoredRow<DT>(rows[0], dim).template read<kColumnBlock>(d, acc);
    } else {
      for (int64_t i = 0; i < kColumnBlock; ++i) acc[i] = accumulate ? dst[d + i] : 0.0f;
    }
    for (int r = 0; r < count; ++r) {
      float src[kColumnBlock];
      StoredRow<DT>(rows[r], dim).template read<kColumnBlock>(d, src);
      for (int64_t i = 0; i < kColumnBlock; ++i) {
        if constexpr (C == Combine::add) acc[i] += src[i];
        else if constexpr (C == Combine::add_weighted) acc[i] += weights[r] * src[i];
        else acc[i] = src[i] > acc[i] ? src[i] : acc[i];
      }
    }
    for (int64_t i = 0; i < kColumnBlock; ++i) dst[d + i] = acc[i];
  }
  for (; d < dim; ++d) {
    float acc = accumulate ? dst[d] : from_first ? StoredRow<DT>(rows[0], dim)[d] : 0.0f;
    for (int r = 0; r < count; ++r) {
      const float v = StoredRow<DT>(rows[r], dim)[d];
      if constexpr (C == Combine::add) acc += v;
      else if constexpr (C == Combine::add_weighted) acc += weights[r] * v;
      else acc = v > acc ? v : acc;
    }
    dst[d] = acc;
  }
}

using Fold = void (*)(float* __restrict, const unsigned char* const*, const float*, int, int64_t, bool);

#define CAGR_ROW_FOLD(name, combine, dtype)                                                                          \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void name(                                            \
      float* __restrict dst, const unsigned char* const* rows, const float* weights, int count, int64_t dim,         \
      bool accumulate) {                                                                                             \
    combine_rows<combine, dtype>(dst, rows, weights, count, dim, accumulate);                                        \
  }
#define CAGR_ROW_FOLDS(suffix, dtype)                                   \
  CAGR_ROW_FOLD(add_rows_##suffix, Combine::add, dtype)                 \
  CAGR_ROW_FOLD(add_weighted_rows_##suffix, Combine::add_weighted, dtype) \
  CAGR_ROW_FOLD(max_rows_##suffix, Combine::max, dtype)
CAGR_ROW_FOLDS(f32, CAGR_DTYPE_F32)
CAGR_ROW_FOLDS(f16, CAGR_DTYPE_F16)
CAGR_ROW_FOLDS(bf16, CAGR_DTYPE_BF16)
CAGR_ROW_FOLDS(u8, CAGR_DTYPE_U8)
#undef CAGR_ROW_FOLDS
#undef CAGR_ROW_FOLD

// The fold of the op's pooling and table dtype.
Fold fold_for(const EmbeddingBag& e) {
  struct Folds {
    Fold add, add_weighted, max;
  };
  const Folds folds = e.table_dtype == CAGR_DTYPE_F16    ? Folds{add_rows_f16, add_weighted_rows_f16, max_rows_f16}
                      : e.table_dtype == CAGR_DTYPE_BF16 ? Folds{add_rows_bf16, add_weighted_rows_bf16, max_rows_bf16}
                      : e.table_dtype == CAGR_DTYPE_U8   ? Folds{add_rows_u8, add_weighted_rows_u8, max_rows_u8}
                                                         : Folds{add_rows_f32, add_weighted_rows_f32, max_rows_f32};
  return e.pooling == contract::Pooling::max ? folds.max : e.weighted ? folds.add_weighted : folds.add;
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

// What a bag pools beyond its rows: per-sample weights (or nullptr) and each table's padding row
// (negative: none).
struct BagExtras {
  const float* weights = nullptr;
  std::vector<int64_t> padding;
};

// Extras: whether the bags have per-sample weights or padding rows (the plain case reads neither per
// index).
template <bool Prefetch, bool Extras, class Index, class Offset>
int64_t pool(const EmbeddingBag& e, const Index* indices, const Offset* offsets, const unsigned char* const* tables,
             const BagExtras& extras, float* out, bool parallel) {
  const int64_t bags = e.tables * e.batch;
  const int64_t dim = e.dim;
  const int64_t row_bytes = e.row_bytes();
  const int64_t prefetch_lines = std::min(kPrefetchLines, (row_bytes + kLineBytes - 1) / kLineBytes);
  const Fold fold = fold_for(e);
  return parallel_min<8>(bags, parallel && e.num_indices * dim >= kParallelThreshold, kNoBadIndex, [&](int64_t bag) {
    int64_t first_bad = kNoBadIndex;
    const int64_t t = bag / e.batch;
    const int64_t b = bag % e.batch;
    const int64_t rows = e.rows[t];
    const int64_t padding = extras.padding[t];
    const unsigned char* table = tables[t];
    float* __restrict dst = out + (b * e.tables + t) * dim;
    const int64_t begin = offsets[bag];
    const int64_t end = offsets[bag + 1];
    // Prefetching looks past the bag into the next bags of the same table (with pooling 1 a bag
    // holds one index), which this thread usually takes next (chunks of 8 bags).
    const int64_t table_end = offsets[(t + 1) * e.batch];
    const unsigned char* rows_of_step[kRowsPerStep];
    float weights_of_step[kRowsPerStep];
    int pending = 0;
    int64_t pooled = 0;  // rows folded into dst so far
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (Prefetch) {
        if (i + kPrefetchDistance < table_end) {
          const int64_t ahead = indices[i + kPrefetchDistance];
          if (ahead >= 0 && ahead < rows) {
            const unsigned char* p = table + ahead * row_bytes;
            for (int64_t line = 0; line < prefetch_lines; ++line) __builtin_prefetch(p + line * kLineBytes, 0, 0);
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
      rows_of_step[pending++] = table + row * row_bytes;
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
    return first_bad;
  });
}

template <bool Prefetch, bool Parallel>
void embedding_bag(const EmbeddingBag& e, const void* const* inputs, void* const* outputs) {
  check_offsets(e, inputs[1]);
  std::vector<const unsigned char*> tables;  // of e.table_dtype, read by the fold
  for (int64_t t = 0; t < e.tables; ++t) tables.push_back(static_cast<const unsigned char*>(inputs[2 + t]));
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
  const double row_bytes = static_cast<double>(e.num_indices) * static_cast<double>(e.row_bytes());
  const double index_bytes = static_cast<double>(e.num_indices) * (abi::dtype_size(e.index_dtype) + (e.weighted ? 4 : 0)) +
                             static_cast<double>(e.tables * e.batch + 1) * abi::dtype_size(e.offset_dtype);
  double footprint = 0;
  for (int64_t r : e.rows) footprint += static_cast<double>(r) * static_cast<double>(e.row_bytes());
  return Cost{static_cast<double>(e.num_indices) * e.dim,
              row_bytes + index_bytes + static_cast<double>(e.batch) * e.tables * e.dim * sizeof(float), row_bytes, footprint};
}

}  // namespace

OpImpl embedding_bag_impl() {
  return OpImpl{{{"prefetch_parallel", true, FunctionKernel<EmbeddingBag, embedding_bag<true, true>>::create, CAGR_MATH_F32, true},
                 {"simple", false, FunctionKernel<EmbeddingBag, embedding_bag<false, false>>::create}},
                cost};
}

}  // namespace cagr::cpu
