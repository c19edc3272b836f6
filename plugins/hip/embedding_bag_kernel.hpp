// embedding_bag_kernel.hpp - the multi-table embedding_bag lookup kernel (OPS.md, embedding_bag).
//
// Memory-bound by design: every byte of a looked-up row is read once, so the kernel is built to keep
// as many independent row loads in flight as the memory system can take:
//  - one launch for all tables; a group of G lanes (G <= 32) pools one bag, and a block holds
//    256 / G groups, so short rows (dim 16: 4 lanes) still fill whole warps;
//  - each lane owns VEC consecutive columns and reads them with one 16-byte load where the row
//    layout allows (f32: 4 values, f16/bf16: 8, u8 row-wise quantised: 4 bytes);
//  - the indices of a bag are read cooperatively (one per lane), broadcast by shuffles, and the
//    rows are loaded kUnroll at a time before any is summed;
//  - Prefetch: the first kUnroll rows of the group's next bag are loaded into registers before the
//    current bag is summed, so a group never waits on a bag's first rows (the software prefetching
//    of the A100 embedding study);
//  - MinBlocks: __launch_bounds__ occupancy target (a register cap); 0 leaves the compiler free;
//  - ShortBagPooler (below) instead pools several short bags at once;
//  - ExtendedBagPooler (below) pools the bags of OPS.md's later additions (max, per-sample weights,
//    padding rows), which the two above never see: their loops stay as tuned for sum and mean;
//  - the host sizes the grid to one wave of resident groups, each pooling a contiguous run of bags.
// Bad offsets or indices are reported through the device error record and contribute nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "device_error.hpp"
#include "gpu_op.hpp"
#include "gpu_runtime.h"
#include "launch.hpp"

namespace cagr::gpu {

constexpr int kMaxEmbeddingTables = 128;  // table pointers travel by value in the kernel's parameters
constexpr int kUnroll = 8;                // rows loaded before any of them is summed

struct EmbeddingTableRef {
  const uint8_t* rows;
  int64_t num_rows;
};

struct EmbeddingBagParams {
  IndexInput indices;
  IndexInput offsets;
  int64_t num_indices;
  int tables;
  int batch;
  int dim;
  int64_t row_bytes;  // bytes from one row to the next (u8: dim + 8, scale and bias after the codes)
  int bags_per_group;
  bool mean;
  // Read by ExtendedBagPooler alone: mode max, per-sample weights [L] (nullptr: none) and each
  // table's padding row (data nullptr: none).
  bool max;
  const float* weights;
  IndexInput padding;
  float* pooled;
  DeviceErrorRecord* error;
  ErrorOp op;  // the op named in error reports (embedding_bag, or an op that looks up as part of its work)
  EmbeddingTableRef table[kMaxEmbeddingTables];
};

// The lookup of one run: indices, offsets and tables at run inputs `first`, `first` + 1, `first` + 2
// .. (rows[t] rows of table t, row_bytes apart). `pooled` and `bags_per_group` are the caller's.
inline EmbeddingBagParams lookup_params(const RunTensors& t, size_t first, int64_t batch, int dim, int64_t row_bytes,
                                        bool mean, const std::vector<int64_t>& rows, DeviceErrorRecord* error, ErrorOp op) {
  EmbeddingBagParams p{};
  p.indices = {t.inputs[first], t.input_shapes[first].dtype == CAGR_DTYPE_I64};
  p.offsets = {t.inputs[first + 1], t.input_shapes[first + 1].dtype == CAGR_DTYPE_I64};
  p.num_indices = t.input_shapes[first].dims[0];
  p.tables = static_cast<int>(rows.size());
  p.batch = static_cast<int>(batch);
  p.dim = dim;
  p.row_bytes = row_bytes;
  p.mean = mean;
  p.error = error;
  p.op = op;
  for (size_t i = 0; i < rows.size(); ++i) p.table[i] = {static_cast<const uint8_t*>(t.inputs[first + 2 + i]), rows[i]};
  return p;
}

// 16 bytes of a table row; with `fetch_256`, on NVIDIA, with the hint that L2 fetch 256 bytes from
// memory at once. BagPooler asks for it on rows of 256 bytes or more (dim >= 64 in f32), which its
// group reads whole: random rows then take fewer, longer memory bursts. On the H100 this took the
// baseline from 85.3% to 86.4% of the copy at dim 128 (uniform ids) and from 170% to 184% on Zipf
// ids (docs/PERF.md). Shorter rows are read plainly: the hint would fetch bytes no one reads.
__device__ __forceinline__ uint4 load_row_piece(const uint8_t* piece, bool fetch_256) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  if (fetch_256) {
    uint4 v;
    asm("ld.global.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(piece));
    return v;
  }
#else
  (void)fetch_256;
#endif
  return *reinterpret_cast<const uint4*>(piece);
}

// How a table's element type is read: VEC values of one row starting at column `col`, as floats;
// `fetch_256` as load_row_piece's (used by the 16-byte reads).
template <cagr_dtype DT, int VEC>
struct RowReader;

template <>
struct RowReader<CAGR_DTYPE_F32, 4> {
  __device__ static void read(const uint8_t* row, int col, int, bool fetch_256, float (&v)[4]) {
    const uint4 x = load_row_piece(row + col * 4, fetch_256);
    v[0] = __uint_as_float(x.x), v[1] = __uint_as_float(x.y), v[2] = __uint_as_float(x.z), v[3] = __uint_as_float(x.w);
  }
};
template <>
struct RowReader<CAGR_DTYPE_F32, 1> {
  __device__ static void read(const uint8_t* row, int col, int, bool, float (&v)[1]) {
    v[0] = reinterpret_cast<const float*>(row)[col];
  }
};

// f16 and bf16 rows: 8 values with one 16-byte load, or one value.
template <bool Bf16, int VEC>
struct Row16Reader {
  __device__ static float convert(uint16_t bits) { return Bf16 ? bf16_bits_to_float(bits) : half_bits_to_float(bits); }
  __device__ static void read(const uint8_t* row, int col, int, bool fetch_256, float (&v)[VEC]) {
    if constexpr (VEC == 8) {
      const uint4 x = load_row_piece(row + col * 2, fetch_256);
      const uint32_t w[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) v[2 * i] = convert(w[i] & 0xffffu), v[2 * i + 1] = convert(w[i] >> 16);
    } else {
      v[0] = convert(reinterpret_cast<const uint16_t*>(row)[col]);
    }
  }
};
template <>
struct RowReader<CAGR_DTYPE_F16, 8> : Row16Reader<false, 8> {};
template <>
struct RowReader<CAGR_DTYPE_F16, 1> : Row16Reader<false, 1> {};
template <>
struct RowReader<CAGR_DTYPE_BF16, 8> : Row16Reader<true, 8> {};
template <>
struct RowReader<CAGR_DTYPE_BF16, 1> : Row16Reader<true, 1> {};

// Row-wise quantised rows (OPS.md, "embedding_bag: u8 row-wise tables"): `dim` codes, then the
// row's f32 scale and f32 bias; value = code * scale + bias.
template <int VEC>
struct QuantizedRowReader {
  __device__ static void read(const uint8_t* row, int col, int dim, bool, float (&v)[VEC]) {
    float scale_bias[2];
    if (dim % 4 == 0) {
      scale_bias[0] = reinterpret_cast<const float*>(row + dim)[0];
      scale_bias[1] = reinterpret_cast<const float*>(row + dim)[1];
    } else {
      memcpy(scale_bias, row + dim, sizeof scale_bias);  // rows are not 4-byte aligned then
    }
    if constexpr (VEC == 4) {
      const uint32_t codes = *reinterpret_cast<const uint32_t*>(row + col);
#pragma unroll
      for (int i = 0; i < 4; ++i) v[i] = float((codes >> (8 * i)) & 0xffu) * scale_bias[0] + scale_bias[1];
    } else {
      v[0] = float(row[col]) * scale_bias[0] + scale_bias[1];
    }
  }
};
template <>
struct RowReader<CAGR_DTYPE_U8, 4> : QuantizedRowReader<4> {};
template <>
struct RowReader<CAGR_DTYPE_U8, 1> : QuantizedRowReader<1> {};

// The indices of one bag in batches of S (one to S/G per lane), checked against the table's rows.
// An index out of range is reported once and replaced by -1, which the summing loop skips.
template <int G, int S>
struct IndexBatch {
  static constexpr int kPerLane = S / G;
  int64_t idx[kPerLane];

  __device__ void load(const EmbeddingBagParams& p, int64_t pos, int count, int lane, int table, int64_t rows) {
#pragma unroll
    for (int m = 0; m < kPerLane; ++m) {
      const int k = m * G + lane;
      int64_t v = -1;
      if (k < count) {
        v = p.indices[pos + k];
        if (v < 0 || v >= rows) {
          report_device_error(p.error, p.op, ErrorKind::index_out_of_range, table, pos + k, v, rows);
          v = -1;
        }
      }
      idx[m] = v;
    }
  }
  // The k-th index of the batch (k a compile-time constant after unrolling), on every lane.
  __device__ int64_t at(unsigned mask, int k) const { return shfl(mask, idx[k / G], k % G, G); }
};

// One bag's extent, checked; an invalid extent is reported and treated as empty.
__device__ inline void bag_extent(const EmbeddingBagParams& p, int64_t bag, int table, int lane, int64_t& begin,
                                  int64_t& end) {
  begin = p.offsets[bag];
  end = p.offsets[bag + 1];
  const int64_t last_bag = int64_t(p.tables) * p.batch - 1;
  const bool bad_first = bag == 0 && begin != 0;
  const bool bad_last = bag == last_bag && end != p.num_indices;
  const bool out_of_range = begin < 0 || end > p.num_indices || bad_first || bad_last;
  if (out_of_range || end < begin) {
    if (lane == 0) {
      if (out_of_range)
        report_device_error(p.error, p.op, ErrorKind::offset_out_of_range, table,
                            bad_first || begin < 0 ? bag : bag + 1, bad_first || begin < 0 ? begin : end, p.num_indices);
      else
        report_device_error(p.error, p.op, ErrorKind::offsets_decrease, table, bag + 1, end, begin);
    }
    begin = end = 0;
  }
}

template <cagr_dtype DT, int VEC, int G, bool Prefetch>
struct BagPooler {
  static constexpr int S = G > kUnroll ? G : kUnroll;
  using Reader = RowReader<DT, VEC>;

  // Sums rows[k] for k in [k0, k0 + kUnroll) of `batch` (count valid) into acc.
  __device__ static void load_rows(const EmbeddingBagParams& p, const uint8_t* base, const IndexBatch<G, S>& batch,
                                   unsigned mask, int k0, int count, int col, bool col_ok, float (&v)[kUnroll][VEC]) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t row = batch.at(mask, k0 + u);
      if (k0 + u < count && row >= 0 && col_ok) {
        Reader::read(base + row * p.row_bytes, col, p.dim, p.row_bytes >= 256, v[u]);
      } else {
#pragma unroll
        for (int i = 0; i < VEC; ++i) v[u][i] = 0.f;
      }
    }
  }

  __device__ static void accumulate(const float (&v)[kUnroll][VEC], float (&acc)[VEC]) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int i = 0; i < VEC; ++i) acc[i] += v[u][i];
  }

  // Pools bags [first, last) for the columns chunk `chunk` (VEC columns per lane).
  __device__ static void run(const EmbeddingBagParams& p, int64_t first, int64_t last, int lane, unsigned mask,
                             int chunk) {
    const int col = chunk * VEC;
    const bool col_ok = col < p.dim;
    float head[kUnroll][VEC];  // Prefetch: the first rows of the bag about to be pooled
    IndexBatch<G, S> head_batch;
    int64_t head_begin = 0, head_end = 0;
    if (Prefetch && first < last) {
      const int table = int(first / p.batch);
      bag_extent(p, first, table, lane, head_begin, head_end);
      head_batch.load(p, head_begin, int(head_end - head_begin < S ? head_end - head_begin : S), lane, table,
                      p.table[table].num_rows);
      load_rows(p, p.table[table].rows, head_batch, mask, 0, int(head_end - head_begin), col, col_ok, head);
    }
    for (int64_t bag = first; bag < last; ++bag) {
      const int table = int(bag / p.batch);
      const EmbeddingTableRef t = p.table[table];
      int64_t begin, end;
      float acc[VEC];
#pragma unroll
      for (int i = 0; i < VEC; ++i) acc[i] = 0.f;
      int64_t pos;
      IndexBatch<G, S> batch;
      int k_start = 0;  // rows of the first batch already summed
      if (Prefetch) {
        begin = head_begin, end = head_end, batch = head_batch;
        accumulate_next_head(p, bag + 1, last, lane, mask, col, col_ok, head, head_batch, head_begin, head_end, acc);
        k_start = kUnroll;
      } else {
        bag_extent(p, bag, table, lane, begin, end);
      }
      for (pos = begin; pos < end; pos += S) {
        const int count = int(end - pos < S ? end - pos : S);
        if (!Prefetch || pos != begin) batch.load(p, pos, count, lane, table, t.num_rows);
#pragma unroll
        for (int k0 = 0; k0 < S; k0 += kUnroll) {
          if (k0 >= count || (pos == begin && k0 < k_start)) continue;
          float v[kUnroll][VEC];
          load_rows(p, t.rows, batch, mask, k0, count, col, col_ok, v);
          accumulate(v, acc);
        }
      }
      if (col_ok) {
        const int64_t b = bag - int64_t(table) * p.batch;
        float* out = p.pooled + (b * p.tables + table) * p.dim + col;
        const float scale = p.mean && end > begin ? 1.f / float(end - begin) : 1.f;
#pragma unroll
        for (int i = 0; i < VEC; ++i) out[i] = acc[i] * scale;
      }
    }
  }

  // Prefetch step: adds the rows held for the current bag to acc after issuing the loads of the next
  // bag's first rows, which then become the held rows.
  __device__ static void accumulate_next_head(const EmbeddingBagParams& p, int64_t next, int64_t last, int lane,
                                              unsigned mask, int col, bool col_ok, float (&head)[kUnroll][VEC],
                                              IndexBatch<G, S>& head_batch, int64_t& head_begin, int64_t& head_end,
                                              float (&acc)[VEC]) {
    float current[kUnroll][VEC];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int i = 0; i < VEC; ++i) current[u][i] = head[u][i];
    if (next < last) {
      const int table = int(next / p.batch);
      bag_extent(p, next, table, lane, head_begin, head_end);
      head_batch.load(p, head_begin, int(head_end - head_begin < S ? head_end - head_begin : S), lane, table,
                      p.table[table].num_rows);
      load_rows(p, p.table[table].rows, head_batch, mask, 0, int(head_end - head_begin), col, col_ok, head);
    }
    accumulate(current, acc);
  }
};

// Short bags (one-hot features: a bag of one id): a group loads the first row of kShortBags bags
// before summing any, so it has kShortBags row loads in flight where BagPooler, which works a bag at
// a time, has one. Further rows of a bag are added one at a time (fine while bags stay short). No
// shuffles: every lane reads a bag's offsets and index itself (one broadcast load per group).
// 4 bags x 24 warps x 8 groups of a 4-lane row (dim 16) is 768 row loads in flight per
// multiprocessor, some 6 MB on an H100: twice what its bandwidth-latency product asks for.
constexpr int kShortBags = 4;
constexpr int kShortBagsMinBlocks = 3;  // 85 registers at most (no spills): 24 warps per multiprocessor

template <cagr_dtype DT, int VEC, int G>
struct ShortBagPooler {
  using Reader = RowReader<DT, VEC>;

  // The bag's row at `pos`, or -1 when out of range (reported once per group).
  __device__ static int64_t row_at(const EmbeddingBagParams& p, int64_t pos, int table, int lane) {
    const int64_t row = p.indices[pos];
    const int64_t rows = p.table[table].num_rows;
    if (row >= 0 && row < rows) return row;
    if (lane == 0) report_device_error(p.error, p.op, ErrorKind::index_out_of_range, table, pos, row, rows);
    return -1;
  }

  __device__ static void add_row(const EmbeddingBagParams& p, int table, int64_t row, int col, float (&acc)[VEC]) {
    float v[VEC];
    // No 256-byte fetch hint: it cost this kernel 77% -> 64% of the copy (H100, dim 128, pooling 32).
    Reader::read(p.table[table].rows + row * p.row_bytes, col, p.dim, false, v);
#pragma unroll
    for (int i = 0; i < VEC; ++i) acc[i] += v[i];
  }

  // Only the sums live across the two passes over a run of bags (a bag's extent is read again in
  // the second, from L1), so that the kernel fits the register cap of kShortBagsMinBlocks.
  __device__ static void run(const EmbeddingBagParams& p, int64_t first, int64_t last, int lane, unsigned, int chunk) {
    const int col = chunk * VEC;
    const bool col_ok = col < p.dim;
    for (int64_t bag0 = first; bag0 < last; bag0 += kShortBags) {
      float acc[kShortBags][VEC];
#pragma unroll
      for (int u = 0; u < kShortBags; ++u) {
#pragma unroll
        for (int i = 0; i < VEC; ++i) acc[u][i] = 0.f;
        const int64_t bag = bag0 + u;
        if (bag < last) {
          const int table = int(bag / p.batch);
          int64_t begin, end;
          bag_extent(p, bag, table, lane, begin, end);
          const int64_t row = begin < end ? row_at(p, begin, table, lane) : -1;
          if (row >= 0 && col_ok) add_row(p, table, row, col, acc[u]);
        }
      }
#pragma unroll
      for (int u = 0; u < kShortBags; ++u) {
        const int64_t bag = bag0 + u;
        if (bag < last) {
          const int table = int(bag / p.batch);
          int64_t begin, end;
          bag_extent(p, bag, table, lane, begin, end);
          for (int64_t pos = begin + 1; pos < end; ++pos) {
            const int64_t row = row_at(p, pos, table, lane);
            if (row >= 0 && col_ok) add_row(p, table, row, col, acc[u]);
          }
          if (col_ok) {
            const int64_t b = bag - int64_t(table) * p.batch;
            float* out = p.pooled + (b * p.tables + table) * p.dim + col;
            const float scale = p.mean && end > begin ? 1.f / float(end - begin) : 1.f;
#pragma unroll
            for (int i = 0; i < VEC; ++i) out[i] = acc[u][i] * scale;
          }
        }
      }
    }
  }
};

// Bags with max pooling, per-sample weights or padding rows (OPS.md, embedding_bag; f32 tables): a
// group pools a bag as BagPooler does, but every lane reads each position's index itself (one
// broadcast load per group) and the rows are folded in the bag's order, kExtendedUnroll of them
// loaded before any is folded. The order matters to max, which takes the first row and then a value
// wherever it is greater, as PyTorch does (so a NaN counts only in a bag's first row). A padding row
// is skipped: neither pooled nor counted (mean divides by the rows pooled), nor range-checked.
constexpr int kExtendedUnroll = 4;

template <int VEC>
struct ExtendedBagPooler {
  using Reader = RowReader<CAGR_DTYPE_F32, VEC>;

  // The row at `pos`, or -1 where it is the table's padding row (`padding` < 0: the table has none)
  // or out of range (reported once per group).
  __device__ static int64_t row_at(const EmbeddingBagParams& p, int64_t pos, int table, int64_t padding, int lane) {
    const int64_t row = p.indices[pos];
    if (padding >= 0 && row == padding) return -1;
    const int64_t rows = p.table[table].num_rows;
    if (row >= 0 && row < rows) return row;
    if (lane == 0) report_device_error(p.error, p.op, ErrorKind::index_out_of_range, table, pos, row, rows);
    return -1;
  }

  __device__ static void run(const EmbeddingBagParams& p, int64_t first, int64_t last, int lane, unsigned, int chunk) {
    const int col = chunk * VEC;
    const bool col_ok = col < p.dim;
    for (int64_t bag = first; bag < last; ++bag) {
      const int table = int(bag / p.batch);
      int64_t begin, end;
      bag_extent(p, bag, table, lane, begin, end);
      const int64_t padding = p.padding.data != nullptr ? p.padding[table] : -1;
      const uint8_t* rows = p.table[table].rows;
      float acc[VEC];
#pragma unroll
      for (int i = 0; i < VEC; ++i) acc[i] = 0.f;
      int64_t count = 0;  // rows pooled
      for (int64_t pos = begin; pos < end; pos += kExtendedUnroll) {
        int64_t row[kExtendedUnroll];
        float v[kExtendedUnroll][VEC];
#pragma unroll
        for (int u = 0; u < kExtendedUnroll; ++u) {
          row[u] = pos + u < end ? row_at(p, pos + u, table, padding, lane) : -1;
          if (row[u] >= 0 && col_ok) {
            Reader::read(rows + row[u] * p.row_bytes, col, p.dim, false, v[u]);
          } else {
#pragma unroll
            for (int i = 0; i < VEC; ++i) v[u][i] = 0.f;
          }
        }
#pragma unroll
        for (int u = 0; u < kExtendedUnroll; ++u) {
          if (row[u] < 0) continue;
          const float w = p.weights != nullptr ? p.weights[pos + u] : 1.f;
#pragma unroll
          for (int i = 0; i < VEC; ++i) {
            if (p.max) acc[i] = count == 0 || v[u][i] > acc[i] ? v[u][i] : acc[i];
            else acc[i] += w * v[u][i];
          }
          ++count;
        }
      }
      if (col_ok) {  // a bag without rows keeps its zeros, in every mode
        const int64_t b = bag - int64_t(table) * p.batch;
        float* out = p.pooled + (b * p.tables + table) * p.dim + col;
        const float scale = p.mean && count > 0 ? 1.f / float(count) : 1.f;
#pragma unroll
        for (int i = 0; i < VEC; ++i) out[i] = acc[i] * scale;
      }
    }
  }
};

// Pooler: BagPooler, ShortBagPooler or ExtendedBagPooler for G lanes; MinBlocks as above.
template <class Pooler, int G, int VEC, int MinBlocks>
__global__ void __launch_bounds__(kBlockThreads, MinBlocks > 0 ? MinBlocks : 1)
    embedding_bag_kernel(const EmbeddingBagParams p) {
  const int lane = int(threadIdx.x) % G;
  const int64_t group = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / G;
  const int64_t total_bags = int64_t(p.tables) * p.batch;
  const int64_t first = group * p.bags_per_group;
  if (first >= total_bags) return;  // whole groups leave together, so group shuffles stay complete
  const int64_t last = first + p.bags_per_group < total_bags ? first + p.bags_per_group : total_bags;
  const unsigned mask = group_lane_mask(G);
  const int chunks = (p.dim + VEC - 1) / VEC;
  for (int chunk = lane; chunk - lane < chunks; chunk += G)
    Pooler::run(p, first, last, lane, mask, chunk);
}

}  // namespace cagr::gpu
