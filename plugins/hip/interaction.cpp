// dot_interaction, dlrm_interaction, dlrm_embedding_interaction and fm_interaction (OPS.md): the
// feature-interaction layers of DLRM and DeepFM, each one fused kernel reading a sample's features
// once (dlrm_embedding_interaction looks them up and pools them itself).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "device_memory.hpp"
#include "embedding_bag_kernel.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"
#include "op_contract.hpp"
#if defined(CAGR_GPU_VENDOR_NVIDIA)
#include "tf32_mma.hpp"
#endif

namespace cagr::gpu {
namespace {

constexpr int64_t kMaxSharedFeatureBytes = 48 * 1024;  // what every GPU gives a block without opting in

struct FeatureShape {
  int64_t batch, features, dim;
  FeatureShape(const std::vector<Shape>& in, const std::vector<Shape>& out, const std::string& op, int64_t cols) {
    if (in.size() != 1 || out.size() != 1) plugin::invalid(op + ": takes one input and one output");
    if (in[0].dtype != CAGR_DTYPE_F32 || in[0].rank() != 3) plugin::invalid(op + ": features must be f32 [B, F, D]");
    batch = in[0].dims[0], features = in[0].dims[1], dim = in[0].dims[2];
    if (out[0].dtype != CAGR_DTYPE_F32 || out[0].rank() != 2 || out[0].dims[0] != batch || out[0].dims[1] != cols)
      plugin::invalid(op + ": output must be f32 [" + std::to_string(batch) + ", " + std::to_string(cols) + "]");
  }
};

// dot_interaction's or dlrm_interaction's sizes, checked by the op contract (abi/op_contract.hpp)
// at the description's shapes.
contract::DotInteraction interaction_sizes(const OpView& op) { return std::get<contract::DotInteraction>(contract::check(op)); }

// The op's input and output dims at batch `b` (what a run must pass).
std::vector<std::vector<int64_t>> interaction_dims(const contract::DotInteraction& d, int64_t b) {
  if (!d.dense_input) return {{b, d.features, d.dim}, {b, d.out_cols()}};
  return {{b, d.dim}, {b, d.features - 1, d.dim}, {b, d.out_cols()}};
}

// The pairs of OPS.md's order as (i << 8 | j), made once per kernel on the host: the kernel looks a
// pair up instead of solving for it (a square root and a correction loop per pair).
std::vector<uint16_t> pair_table(int64_t features, bool self) {
  std::vector<uint16_t> table;
  for (int64_t i = 0; i < features; ++i)
    for (int64_t j = 0; j < (self ? i + 1 : i); ++j) table.push_back(static_cast<uint16_t>(i << 8 | j));
  return table;
}

// 32 lanes per sample, up to kMaxSamplesPerBlock samples per block (as many as 48 KiB of shared
// memory holds): each group copies its sample's F x D features into shared memory (coalesced, V
// floats per load) and its lanes take the pairs in turn, so consecutive lanes write consecutive
// outputs. Rows are stored `dim + V` floats apart: with D a multiple of the 32 banks' width
// (D = 16, 32 ...) lanes reading different rows at the same d would otherwise hit the same banks,
// and V = 4 keeps every row 16-byte aligned for vector reads. dlrm_interaction's dense vector is
// row 0 and is also written to the front of the output row, so the top MLP's input is made in
// one pass.
constexpr int kMaxSamplesPerBlock = 8;
constexpr int kLanesPerSample = 32;

struct InteractionParams {
  const float* dense;   // row 0 of each sample when dense_rows = 1
  const float* pooled;  // the other rows: [B, F - dense_rows, D]
  float* out;           // [B, out_cols]; columns from used_cols on are padding (zeros)
  uint16_t* out_bf16;   // instead of out where dlrm_embedding_interaction's output_dtype is bf16 (staged kernels)
  int64_t batch, pairs, used_cols, out_cols;
  int features, dense_rows, dim, samples_per_block;
  const uint16_t* pair_ij;
};

template <int V>
__device__ __forceinline__ float dot_rows(const float* a, const float* b, int dim) {
  float sum = 0.f;
  for (int d = 0; d < dim; d += V) {
    if constexpr (V == 4) {
      const float4 x = *reinterpret_cast<const float4*>(a + d), y = *reinterpret_cast<const float4*>(b + d);
      sum = fmaf(x.x, y.x, sum), sum = fmaf(x.y, y.y, sum), sum = fmaf(x.z, y.z, sum), sum = fmaf(x.w, y.w, sum);
    } else {
      sum = fmaf(a[d], b[d], sum);
    }
  }
  return sum;
}

template <int V>
__global__ void dot_interaction_kernel(const InteractionParams p) {
  extern __shared__ float4 shared_vectors[];  // float4: 16-byte aligned rows
  const int group = int(threadIdx.x) / kLanesPerSample;
  const int lane = int(threadIdx.x) % kLanesPerSample;
  const int64_t b = int64_t(blockIdx.x) * p.samples_per_block + group;
  const bool active = b < p.batch;  // no early return: every thread reaches the barrier
  const int stride = p.dim + V;
  float* sample = reinterpret_cast<float*>(shared_vectors) + group * p.features * stride;
  if (active) {
    const int row_vectors = p.dim / V;
    const int pooled_rows = p.features - p.dense_rows;
    for (int e = lane; e < p.features * row_vectors; e += kLanesPerSample) {
      const int f = e / row_vectors, c = (e - f * row_vectors) * V;
      const float* src = f < p.dense_rows ? p.dense + b * p.dim : p.pooled + (b * pooled_rows + f - p.dense_rows) * p.dim;
      if constexpr (V == 4)
        *reinterpret_cast<float4*>(sample + f * stride + c) = *reinterpret_cast<const float4*>(src + c);
      else
        sample[f * stride + c] = src[c];
    }
  }
  __syncthreads();
  if (!active) return;
  float* row = p.out + b * p.out_cols;
  for (int c = lane; c < p.dense_rows * p.dim; c += kLanesPerSample) row[c] = sample[c];
  float* dots = row + p.dense_rows * p.dim;
  for (int64_t q = lane; q < p.pairs; q += kLanesPerSample) {
    const int i = p.pair_ij[q] >> 8, j = p.pair_ij[q] & 0xff;
    dots[q] = dot_rows<V>(sample + i * stride, sample + j * stride, p.dim);
  }
  for (int64_t c = p.used_cols + lane; c < p.out_cols; c += kLanesPerSample) row[c] = 0.f;
}

// The same op for short rows (D a multiple of 4, at most kRowLaneMaxDim: DLRM's 16), as three
// steps of one warp per sample: its rows are fetched into shared memory (a Rows policy below), its
// dots computed into a staged copy of its output row there (a Dots policy), and the row written
// out with 16-byte stores. kVectors = D / 4 is a template argument so that a row takes only the
// registers it needs and no index is divided at run time (ncu on the H100, D = 16, with the row
// sized for D = 32 and divided at run time: 71 registers, occupancy 37.5%, the SM 67% busy - bound
// by issue, not memory). Timings: docs/PERF.md.
constexpr int kRowLaneMaxDim = 32;
constexpr int kLoadsInFlight = 4;

// Where the rows come from: the dense input and the pooled tensor (dot_interaction,
// dlrm_interaction), fetched kLoadsInFlight vectors per lane at a time, all loads issued before
// the first is stored ... Row f's vector c is stored at rows[f * kStride + c].
struct PooledRows {
  struct Params {};
  template <int kVectors, int kStride>
  __device__ static void load(const InteractionParams& p, const Params&, int64_t b, int lane, float4* rows) {
    const float4* dense = reinterpret_cast<const float4*>(p.dense + b * p.dim);
    const float4* pooled = reinterpret_cast<const float4*>(p.pooled + b * (p.features - p.dense_rows) * p.dim);
    const int dense_vectors = p.dense_rows * kVectors;  // row f of the sample starts at e = f * kVectors
    const int total = p.features * kVectors;
    for (int e0 = lane; e0 < total; e0 += kLoadsInFlight * kLanesPerSample) {
      float4 v[kLoadsInFlight];
#pragma unroll
      for (int u = 0; u < kLoadsInFlight; ++u) {
        const int e = e0 + u * kLanesPerSample;
        if (e < total) v[u] = e < dense_vectors ? dense[e] : pooled[e - dense_vectors];
      }
#pragma unroll
      for (int u = 0; u < kLoadsInFlight; ++u) {
        const int e = e0 + u * kLanesPerSample;
        if (e < total) rows[e / kVectors * kStride + e % kVectors] = v[u];
      }
    }
  }
};

// ... or the dense input and the rows of each table's bag, pooled here (dlrm_embedding_interaction:
// the pooled tensor is never written). A lane pools one whole bag (row 1 + t: table t's) with
// D / 4 16-byte loads per row, all issued together; lane 0 copies the dense row. A lane per bag
// reads the bag's extent and checks it once, where a lane per 16-byte chunk did it D / 4 times
// over: ncu (H100, D = 16, batch 16384) had found that form issuing an instruction every 1.8
// cycles per scheduler with DRAM 18% busy - bound by instructions, not memory. The kernel went
// from 46.4 to 34.3 us with TF32 and from 50.0 to 36.1 us in f32 (docs/PERF.md). DLRM's common case
// is one id per bag, where bag k's id is indices[k]: that id is loaded alongside the bag's extent
// and used if the extent says the bag is exactly [k, k + 1), which takes one of the chain's three
// dependent loads (extent, id, row) off the critical path.
struct LookedUpRows {
  using Params = EmbeddingBagParams;

  // Adds row `row` of `table` (the id at indices[pos]); an id out of range is reported and adds
  // nothing.
  template <int kVectors>
  __device__ static void add_row(const EmbeddingBagParams& l, int table, int64_t pos, int64_t row, float4 (&acc)[kVectors]) {
    const int64_t rows = l.table[table].num_rows;
    if (row < 0 || row >= rows) {
      report_device_error(l.error, l.op, ErrorKind::index_out_of_range, table, pos, row, rows);
      return;
    }
    const float4* v = reinterpret_cast<const float4*>(l.table[table].rows + row * l.row_bytes);
    float4 x[kVectors];
#pragma unroll
    for (int c = 0; c < kVectors; ++c) x[c] = v[c];
#pragma unroll
    for (int c = 0; c < kVectors; ++c) acc[c].x += x[c].x, acc[c].y += x[c].y, acc[c].z += x[c].z, acc[c].w += x[c].w;
  }

  // DLRM's common case: a warp whose bags hold one id each (found by the lane of each bag) loads
  // the rows with kVectors lanes per row, each lane one 16-byte chunk of it, the row's address
  // shuffled from the lane that found it. Lane-per-row loads touch up to 32 rows per instruction;
  // these touch 32 / kVectors, which for D = 16 cuts the L1 wavefronts of the row loads by four.
  // ncu on the H200 (D = 16, batch 16384, base clocks) had the kernel's L1 77% busy; this took it
  // from 35.9-36.5 to 33.3-34.2 us with TF32 and from 9.1-9.6 to 8.7-8.8 us at batch 2048
  // (docs/PERF.md).
  // Returns false, having stored nothing, where some bag of the warp holds another number of ids.
  template <int kVectors, int kStride>
  __device__ static bool load_single_ids(const InteractionParams& p, const EmbeddingBagParams& l, int64_t b, int lane,
                                         float4* rows) {
    constexpr int kRowsPerLoad = kLanesPerSample / kVectors;
    uintptr_t source = 0;  // the row's address; 0 for an id out of range, whose row adds nothing
    bool single = true;
    if (lane == 0) {
      source = reinterpret_cast<uintptr_t>(p.dense + b * p.dim);
    } else if (lane < p.features) {
      const int table = lane - 1;
      const int64_t bag = int64_t(table) * l.batch + b;
      const int64_t id = bag < l.num_indices ? l.indices[bag] : 0;
      int64_t begin, end;
      bag_extent(l, bag, table, 0, begin, end);
      single = begin == bag && end == begin + 1;
      if (single && id >= 0 && id < l.table[table].num_rows)
        source = reinterpret_cast<uintptr_t>(l.table[table].rows + id * l.row_bytes);
      else if (single)
        report_device_error(l.error, l.op, ErrorKind::index_out_of_range, table, begin, id, l.table[table].num_rows);
    }
    if (!group_all(0xffffffffu, single)) return false;
    const int chunk = lane % kVectors;
    float4 v[kVectors];
#pragma unroll
    for (int u = 0; u < kVectors; ++u) {  // row u * kRowsPerLoad + lane / kVectors, all loads issued first
      const int f = u * kRowsPerLoad + lane / kVectors;
      const auto from = reinterpret_cast<const float4*>(shfl(0xffffffffu, static_cast<unsigned long long>(source), f, kLanesPerSample));
      v[u] = f < p.features && from != nullptr ? from[chunk] : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int u = 0; u < kVectors; ++u) {
      const int f = u * kRowsPerLoad + lane / kVectors;
      if (f < p.features) rows[f * kStride + chunk] = v[u];
    }
    return true;
  }

  template <int kVectors, int kStride>
  __device__ static void load(const InteractionParams& p, const EmbeddingBagParams& l, int64_t b, int lane, float4* rows) {
    if constexpr (kLanesPerSample % kVectors == 0)
      if (p.features <= kLanesPerSample && load_single_ids<kVectors, kStride>(p, l, b, lane, rows)) return;
    for (int f = lane; f < p.features; f += kLanesPerSample) {
      float4 acc[kVectors];
      if (f == 0) {
        const float4* dense = reinterpret_cast<const float4*>(p.dense + b * p.dim);
#pragma unroll
        for (int c = 0; c < kVectors; ++c) acc[c] = dense[c];
      } else {
#pragma unroll
        for (int c = 0; c < kVectors; ++c) acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
        const int table = f - 1;
        const int64_t bag = int64_t(table) * l.batch + b;
        const int64_t guess = bag < l.num_indices ? l.indices[bag] : 0;
        int64_t begin, end;
        bag_extent(l, bag, table, 0, begin, end);
        if (begin == bag && end == begin + 1) {
          add_row(l, table, begin, guess, acc);
        } else {
          for (int64_t pos = begin; pos < end; ++pos) add_row(l, table, pos, l.indices[pos], acc);
          if (l.mean && end > begin + 1) {
            const float scale = 1.f / float(end - begin);
#pragma unroll
            for (int c = 0; c < kVectors; ++c) acc[c].x *= scale, acc[c].y *= scale, acc[c].z *= scale, acc[c].w *= scale;
          }
        }
      }
#pragma unroll
      for (int c = 0; c < kVectors; ++c) rows[f * kStride + c] = acc[c];
    }
  }
};

// How the warp computes its sample's dots from the rows, in OPS.md's pair order. A policy says how
// it wants the rows stored: padded to a multiple of kRowMultiple rows, kPadVectors apart.
//
// row_per_lane: lane i holds feature i in registers and walks j = 0, 1, ... while the other lanes do
// the same, so every shared-memory read of row j is one broadcast to the warp, where a lane per
// pair reads two rows of its own. Lane i does i dots, so the warp's lanes are half idle on average.
struct RowPerLaneDots {
  static constexpr int kRowMultiple = 1, kPadVectors = 0, kVectorMultiple = 1;

  template <int kVectors>
  __device__ static void compute(const float4* rows, float* dots, int features, bool self, int lane) {
    for (int i = lane; i < features; i += kLanesPerSample) {
      float4 mine[kVectors];
#pragma unroll
      for (int c = 0; c < kVectors; ++c) mine[c] = rows[i * kVectors + c];
      const int first = self ? i * (i + 1) / 2 : i * (i - 1) / 2;
      const int count = self ? i + 1 : i;
      for (int j = 0; j < count; ++j) {
        float even = 0.f, odd = 0.f;  // two chains of FMAs instead of one
#pragma unroll
        for (int c = 0; c < kVectors; ++c) {
          const float4 y = rows[j * kVectors + c];
          even = fmaf(mine[c].x, y.x, even), odd = fmaf(mine[c].y, y.y, odd);
          even = fmaf(mine[c].z, y.z, even), odd = fmaf(mine[c].w, y.w, odd);
        }
        dots[first + j] = even + odd;
      }
    }
  }
};

constexpr int kTensorCoreMaxFeatures = 32;

#if defined(CAGR_GPU_VENDOR_NVIDIA)
// tensor_core (NVIDIA): the sample's Gram matrix E Eᵀ (F <= 32 rows of E padded to 32, D a multiple
// of 8) as m16n8k8 TF32 tiles of the lower triangle - six tiles for F > 16 - in 3xTF32 (f32
// precision, tf32_mma.hpp) or, where the user allows TF32, in one pass. A B fragment of Eᵀ is half
// of an A fragment of E (column g of Eᵀ is row g of E), so each lane reads its fragments of E once.
// All 32 lanes work on every tile (padding and the diagonal tiles' upper halves are the waste),
// and 12-36 mma per sample replace row_per_lane's 351 dots of D FMAs spread unevenly over 27
// lanes. Rows are stored D + 4 floats apart: the 8 rows x 4 k slots of a fragment read then fall
// in 32 different banks.
template <int kPasses>
struct TensorCoreDots {
  static_assert(kPasses == 1 || kPasses == 3, "one TF32 pass, or three for f32 precision");
  static constexpr int kRowMultiple = 16, kPadVectors = 1, kVectorMultiple = 2;

  template <int kVectors>
  __device__ static void compute(const float4* rows4, float* dots, int features, bool self, int lane) {
    constexpr int kStride = 4 * (kVectors + kPadVectors);  // floats from one row to the next
    const float* rows = reinterpret_cast<const float*>(rows4);
    const int g = lane / 4, t = lane % 4;
    const int m_tiles = features > 16 ? 2 : 1;
    // The lower triangle's tiles (m-tile m: rows 16m..16m+15, n-tile n: columns 8n..8n+7), each
    // summed over D in k steps of 8 (k outermost, so that only one step's fragments are held).
    constexpr int kTiles = 6, kTileM[kTiles] = {0, 0, 1, 1, 1, 1}, kTileN[kTiles] = {0, 1, 0, 1, 2, 3};
    float acc[kTiles][4] = {};
#pragma unroll
    for (int k = 0; k < kVectors / 2; ++k) {
      // Fragment r of m-tile m: row 16m + g + 8 (r % 2), column 8k + t + 4 (r / 2).
      uint32_t big[2][4], small[2][4];
#pragma unroll
      for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          const float x = m < m_tiles ? rows[(16 * m + g + 8 * (r % 2)) * kStride + 8 * k + t + 4 * (r / 2)] : 0.f;
          if constexpr (kPasses == 3) split(x, big[m][r], small[m][r]);
          else big[m][r] = tf32_rounded(x);
        }
#pragma unroll
      for (int u = 0; u < kTiles; ++u) {
        const int m = kTileM[u], n = kTileN[u];
        if (m >= m_tiles || 8 * n >= features) continue;  // uniform across the warp
        const uint32_t(&a)[4] = big[m];
        const uint32_t(&b)[4] = big[n / 2];  // column g of n-tile n is row 8n + g of E
        if constexpr (kPasses == 3) {  // small terms first, as in linear_3xtf32
          mma(acc[u], small[m][0], small[m][1], small[m][2], small[m][3], b[n % 2], b[n % 2 + 2]);
          mma(acc[u], a[0], a[1], a[2], a[3], small[n / 2][n % 2], small[n / 2][n % 2 + 2]);
        }
        mma(acc[u], a[0], a[1], a[2], a[3], b[n % 2], b[n % 2 + 2]);
      }
    }
#pragma unroll
    for (int u = 0; u < kTiles; ++u) {
#pragma unroll
      for (int r = 0; r < 4; ++r) {  // C fragment r: row 16m + g + 8 (r / 2), column 8n + 2t + r % 2
        const int i = 16 * kTileM[u] + g + 8 * (r / 2), j = 8 * kTileN[u] + 2 * t + r % 2;
        if (i < features && (self ? j <= i : j < i))
          dots[(self ? i * (i + 1) / 2 : i * (i - 1) / 2) + j] =
              kPasses == 3 ? f32_sum_where_nan(acc[u][r], rows + i * kStride, rows + j * kStride, 4 * kVectors) : acc[u][r];
      }
    }
  }
};
#endif

// At most four blocks of 256 threads per SM (64 registers): the fused lookup's speculative id load
// took the TF32 kernel to 72 registers and three blocks; capped, D = 16 spills nothing.
template <int kVectors, class Rows, class Dots>
__global__ void __launch_bounds__(kMaxSamplesPerBlock * kLanesPerSample, 4) staged_interaction_kernel(const InteractionParams p, const typename Rows::Params rows_params, bool self) {
  extern __shared__ float4 shared_vectors[];
  constexpr int kStride = kVectors + Dots::kPadVectors;
  const int group = int(threadIdx.x) / kLanesPerSample;
  const int lane = int(threadIdx.x) % kLanesPerSample;
  const int64_t b = int64_t(blockIdx.x) * p.samples_per_block + group;
  const bool active = b < p.batch;  // no early return: every thread reaches the barriers
  const int staged_cols = (int(p.out_cols) + 3) / 4 * 4;
  const int row_vectors = (p.features + Dots::kRowMultiple - 1) / Dots::kRowMultiple * Dots::kRowMultiple * kStride;
  float4* rows = shared_vectors + group * (row_vectors + staged_cols / 4);
  float* staged = reinterpret_cast<float*>(rows + row_vectors);

  if (active) Rows::template load<kVectors, kStride>(p, rows_params, b, lane, rows);
  __syncthreads();
  if (active) {
    const float* flat = reinterpret_cast<const float*>(rows);  // the dense row, if any, is row 0
    for (int c = lane; c < p.dense_rows * p.dim; c += kLanesPerSample) staged[c] = flat[c];
    Dots::template compute<kVectors>(rows, staged + p.dense_rows * p.dim, p.features, self, lane);
    for (int c = int(p.used_cols) + lane; c < staged_cols; c += kLanesPerSample) staged[c] = 0.f;
  }
  __syncthreads();
  if (!active) return;
  if (p.out_bf16 != nullptr) {  // rounded to bf16, 8 values per 16-byte store where the row allows
    uint16_t* out = p.out_bf16 + b * p.out_cols;
    if (p.out_cols % 8 == 0) {
      for (int c = lane; c < p.out_cols / 8; c += kLanesPerSample) {
        const float4 lo = reinterpret_cast<const float4*>(staged)[2 * c], hi = reinterpret_cast<const float4*>(staged)[2 * c + 1];
        const auto pack = [](float a, float b) { return uint32_t(float_to_bf16_bits(a)) | uint32_t(float_to_bf16_bits(b)) << 16; };
        reinterpret_cast<uint4*>(out)[c] = make_uint4(pack(lo.x, lo.y), pack(lo.z, lo.w), pack(hi.x, hi.y), pack(hi.z, hi.w));
      }
    } else {
      for (int c = lane; c < p.out_cols; c += kLanesPerSample) out[c] = float_to_bf16_bits(staged[c]);
    }
    return;
  }
  float* out = p.out + b * p.out_cols;
  if (p.out_cols % 4 == 0) {
    for (int c = lane; c < p.out_cols / 4; c += kLanesPerSample)
      reinterpret_cast<float4*>(out)[c] = reinterpret_cast<const float4*>(staged)[c];
  } else {
    for (int c = lane; c < p.out_cols; c += kLanesPerSample) out[c] = staged[c];
  }
}

// staged_interaction_kernel<D / 4, Rows, Dots> for D = 4 .. kRowLaneMaxDim.
template <class Rows, class Dots, int kVectors = 1>
void launch_staged(int vectors, unsigned blocks, unsigned threads, size_t shared, hipStream_t stream,
                   const InteractionParams& p, const typename Rows::Params& rows_params, bool self) {
  if constexpr (kVectors <= kRowLaneMaxDim / 4) {
    if (vectors != kVectors)
      return launch_staged<Rows, Dots, kVectors + 1>(vectors, blocks, threads, shared, stream, p, rows_params, self);
    if constexpr (kVectors % Dots::kVectorMultiple == 0) {
      staged_interaction_kernel<kVectors, Rows, Dots><<<blocks, threads, shared, stream>>>(p, rows_params, self);
      check_launch("staged_interaction_kernel");
      return;
    }
  }
  plugin::invalid("interaction: D = " + std::to_string(4 * vectors) + " is not one this kernel was built for");
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Shared memory per sample of staged_interaction_kernel with `Dots`: its rows as Dots stores them,
// then its staged output row (whole vectors).
template <class Dots>
int64_t staged_sample_bytes(const contract::DotInteraction& s) {
  const int64_t rows = (s.features + Dots::kRowMultiple - 1) / Dots::kRowMultiple * Dots::kRowMultiple;
  return (rows * (s.dim + 4 * Dots::kPadVectors) + (s.out_cols() + 3) / 4 * 4) * 4;
}
template <class Dots>
bool staged_fits(const contract::DotInteraction& s) {
  return s.dim % (4 * Dots::kVectorMultiple) == 0 && s.dim <= kRowLaneMaxDim &&
         staged_sample_bytes<Dots>(s) <= kMaxSharedFeatureBytes;
}

// The staged kernel for s (which fits it) with as many samples per block as shared memory holds;
// p's pointers and sizes set, the rest filled in here.
template <class Rows, class Dots>
void launch_staged(const contract::DotInteraction& s, InteractionParams& p, const typename Rows::Params& rows_params,
                   hipStream_t stream) {
  const int64_t sample_bytes = staged_sample_bytes<Dots>(s);
  p.samples_per_block = int(std::min<int64_t>(kMaxSamplesPerBlock, kMaxSharedFeatureBytes / sample_bytes));
  const auto blocks = static_cast<unsigned>((s.batch + p.samples_per_block - 1) / p.samples_per_block);
  launch_staged<Rows, Dots>(int(s.dim / 4), blocks, unsigned(p.samples_per_block * kLanesPerSample),
                            static_cast<size_t>(p.samples_per_block * sample_bytes), stream, p, rows_params, s.self);
}

// The staged kernels a shape can take, in the order they are offered: on NVIDIA tensor_core first
// (in f32 precision unless `allow_tf32`; on the H100 it took the Kaggle DLRM's forward pass from
// 383 to 373 us in f32 and from 180 to 160 us with TF32 at batch 16384, docs/PERF.md), then
// row_per_lane.
enum class Staged { row_per_lane, tensor_core };

std::vector<Staged> staged_methods(const contract::DotInteraction& s) {
  std::vector<Staged> out;
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  if (s.features <= kTensorCoreMaxFeatures && staged_fits<TensorCoreDots<1>>(s)) out.push_back(Staged::tensor_core);
#endif
  if (staged_fits<RowPerLaneDots>(s)) out.push_back(Staged::row_per_lane);
  return out;
}

const char* staged_name(Staged method) { return method == Staged::row_per_lane ? "row_per_lane" : "tensor_core"; }

template <class Rows>
void launch_staged(Staged method, bool allow_tf32, const contract::DotInteraction& s, InteractionParams& p,
                   const typename Rows::Params& rows_params, hipStream_t stream) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  if (method == Staged::tensor_core) {
    if (allow_tf32) return launch_staged<Rows, TensorCoreDots<1>>(s, p, rows_params, stream);
    return launch_staged<Rows, TensorCoreDots<3>>(s, p, rows_params, stream);
  }
#else
  (void)allow_tf32;
#endif
  launch_staged<Rows, RowPerLaneDots>(s, p, rows_params, stream);
}

class DotInteractionKernel : public GpuKernel {
 public:
  // `staged`: the staged kernel to run where the run's pointers allow it, else warp_per_sample.
  DotInteractionKernel(std::string op, const contract::DotInteraction& created, std::optional<Staged> staged,
                       bool allow_tf32)
      : op_(std::move(op)), created_(created), staged_(staged), allow_tf32_(allow_tf32) {
    const std::vector<uint16_t> table = pair_table(created.features, created.self);
    pairs_ = DeviceMemory(table.size() * sizeof(uint16_t));
    pairs_.upload(table.data(), table.size() * sizeof(uint16_t), "pair table upload");
  }
  void run(const RunTensors& t) override {
    // Only the batch may differ from the shapes the kernel was made for (OPS.md).
    contract::DotInteraction s = created_;
    s.batch = t.input_shapes.empty() || t.input_shapes[0].rank() == 0 ? -1 : t.input_shapes[0].dims[0];
    std::vector<std::vector<int64_t>> got;
    for (const Shape& shape : t.input_shapes) got.push_back(shape.dims);
    for (const Shape& shape : t.output_shapes) got.push_back(shape.dims);
    if (got != interaction_dims(s, s.batch))
      plugin::invalid(op_ + ": run shapes differ from the kernel's beyond the batch dimension");
    if (s.batch == 0 || s.out_cols() == 0) return;
    InteractionParams p{};
    p.dense = static_cast<const float*>(t.inputs[0]);
    p.pooled = static_cast<const float*>(t.inputs[s.dense_input ? 1 : 0]);
    p.out = static_cast<float*>(t.outputs[0]);
    p.batch = s.batch, p.pairs = s.pairs, p.used_cols = s.used_cols(), p.out_cols = s.out_cols();
    p.features = int(s.features), p.dense_rows = s.dense_input ? 1 : 0, p.dim = int(s.dim);
    p.pair_ij = static_cast<const uint16_t*>(pairs_.get());
    const bool vectors = s.dim % 4 == 0 && aligned16(p.dense) && aligned16(p.pooled);
    auto blocks = [&] { return static_cast<unsigned>((s.batch + p.samples_per_block - 1) / p.samples_per_block); };
    if (staged_ && vectors && aligned16(p.out)) return launch_staged<PooledRows>(*staged_, allow_tf32_, s, p, {}, t.stream);
    const int64_t sample_bytes = s.features * (s.dim + (vectors ? 4 : 1)) * 4;
    p.samples_per_block = int(std::min<int64_t>(kMaxSamplesPerBlock, kMaxSharedFeatureBytes / sample_bytes));
    const unsigned threads = unsigned(p.samples_per_block * kLanesPerSample);
    const auto shared = static_cast<size_t>(p.samples_per_block * sample_bytes);
    if (vectors) dot_interaction_kernel<4><<<blocks(), threads, shared, t.stream>>>(p);
    else dot_interaction_kernel<1><<<blocks(), threads, shared, t.stream>>>(p);
    check_launch("dot_interaction_kernel");
  }

 private:
  std::string op_;
  contract::DotInteraction created_;
  std::optional<Staged> staged_;
  bool allow_tf32_;
  DeviceMemory pairs_;
};

// dot_interaction, and dlrm_interaction (the same kernels with the dense vector as feature 0):
// the staged kernels where rows are short, warp_per_sample for every shape.
class DotInteractionOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context& context) const override {
    const contract::DotInteraction s = interaction_sizes(op);
    if (s.features > 255) plugin::unsupported(op.type() + ": more than 255 features per sample");
    if (s.features * (s.dim + 4) * 4 > kMaxSharedFeatureBytes)
      plugin::unsupported(op.type() + ": a sample's features (" + std::to_string(s.features * (s.dim + 4) * 4) +
                          " bytes) exceed the 48 KiB of shared memory this kernel keeps them in");
    const double flops = 2.0 * s.batch * s.pairs * s.dim;
    const double bytes = 4.0 * s.batch * (s.features * s.dim + s.out_cols());
    // The staged kernels take the tensor cores' TF32 dot products where allowed (launch_staged).
    const cagr_math_precision staged_precision = tf32_allowed(op, context) ? CAGR_MATH_TF32 : CAGR_MATH_F32;
    OpVariants out;
    for (Staged method : staged_methods(s)) out.variants.push_back({staged_name(method), flops, bytes, 1.0, staged_precision});
    out.variants.push_back({"warp_per_sample", flops, bytes});
    return out;
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    const OpVariants offered = variants(setup.op, setup.device, setup.context);
    if (setup.variant < 0 || setup.variant >= static_cast<int>(offered.variants.size()))
      plugin::invalid(setup.op.type() + ": variant " + std::to_string(setup.variant) + " does not exist here");
    const contract::DotInteraction s = interaction_sizes(setup.op);
    const std::vector<Staged> staged = staged_methods(s);
    std::optional<Staged> method;
    if (setup.variant < static_cast<int>(staged.size())) method = staged[static_cast<size_t>(setup.variant)];
    return std::make_unique<DotInteractionKernel>(setup.op.type(), s, method, tf32_allowed(setup.op, setup.context));
  }
};

// dlrm_embedding_interaction: the staged kernels with the rows looked up and pooled in the kernel
// (LookedUpRows), a variant per staged method; shapes none of them can take are refused, so the
// core keeps embedding_bag and dlrm_interaction apart for them.
class EmbeddingInteractionKernel : public GpuKernel {
 public:
  // The output is written in created.output_dtype: f32, or bf16 (OPS.md: output_dtype).
  EmbeddingInteractionKernel(const contract::DlrmEmbeddingInteraction& created, Staged method, bool allow_tf32,
                             DeviceState& device)
      : created_(created), method_(method), allow_tf32_(allow_tf32), device_(device) {}

  void run(const RunTensors& t) override {
    const contract::EmbeddingBag& e = created_.lookup;
    contract::DotInteraction s = created_.interaction;
    // Only B and L may differ from the shapes the kernel was made for (OPS.md).
    s.batch = t.input_shapes[0].rank() == 2 ? t.input_shapes[0].dims[0] : -1;
    bool same = s.batch >= 0 && t.input_shapes[0].dims[1] == s.dim && t.input_shapes[1].rank() == 1 &&
                t.input_shapes[2].dims == std::vector<int64_t>{e.tables * s.batch + 1} &&
                t.output_shapes[0].dims == std::vector<int64_t>{s.batch, s.out_cols()};
    // The tables too (given at run when not constant): indices are checked against the rows here.
    for (int64_t i = 0; i < e.tables; ++i)
      same = same && t.input_shapes[size_t(3 + i)].dims == std::vector<int64_t>{e.rows[size_t(i)], s.dim};
    if (!same) plugin::invalid("dlrm_embedding_interaction: run shapes differ from the kernel's beyond B and L");
    if (s.batch == 0) return;
    InteractionParams p{};
    p.dense = static_cast<const float*>(t.inputs[0]);
    if (created_.output_dtype == CAGR_DTYPE_BF16) p.out_bf16 = static_cast<uint16_t*>(t.outputs[0]);
    else p.out = static_cast<float*>(t.outputs[0]);
    p.batch = s.batch, p.pairs = s.pairs, p.used_cols = s.used_cols(), p.out_cols = s.out_cols();
    p.features = int(s.features), p.dense_rows = 1, p.dim = int(s.dim);
    bool aligned = aligned16(p.dense) && aligned16(t.outputs[0]);
    for (int64_t i = 0; i < e.tables; ++i) aligned = aligned && aligned16(t.inputs[size_t(3 + i)]);
    if (!aligned) plugin::invalid("dlrm_embedding_interaction: dense, tables and output must be 16-byte aligned");
    const bool mean = e.pooling == contract::Pooling::mean;
    const EmbeddingBagParams lookup = lookup_params(t, 1, s.batch, int(s.dim), s.dim * 4, mean, e.rows,
                                                    device_.error_record_for_kernels(), ErrorOp::dlrm_embedding_interaction);
    launch_staged<LookedUpRows>(method_, allow_tf32_, s, p, lookup, t.stream);
  }

 private:
  contract::DlrmEmbeddingInteraction created_;
  Staged method_;
  bool allow_tf32_;
  DeviceState& device_;
};

// The op's sizes (op contract); refuses the shapes the kernel cannot run, and a bf16 output where
// the user has not allowed bf16 (plugin option allow_bf16=1).
contract::DlrmEmbeddingInteraction embedding_interaction_sizes(const OpView& op, const cagr_context& context) {
  auto f = std::get<contract::DlrmEmbeddingInteraction>(contract::check(op));
  if (f.output_dtype == CAGR_DTYPE_BF16 && !bf16_allowed(op, context))
    plugin::unsupported(op.type() + ": output_dtype bf16 only where bf16 is allowed (--precision=bf16, or plugin option allow_bf16=1)");
  if (f.lookup.tables > kMaxEmbeddingTables)
    plugin::unsupported(op.type() + ": " + std::to_string(f.lookup.tables) + " tables, this plugin takes at most " +
                        std::to_string(kMaxEmbeddingTables));
  if (staged_methods(f.interaction).empty())
    plugin::unsupported(op.type() + ": needs D a multiple of 4 up to " + std::to_string(kRowLaneMaxDim) +
                        " and a sample's rows within " + std::to_string(kMaxSharedFeatureBytes) + " bytes of shared memory");
  return f;
}

class EmbeddingInteractionOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context& context) const override {
    const contract::DlrmEmbeddingInteraction f = embedding_interaction_sizes(op, context);
    const contract::DotInteraction& s = f.interaction;
    const double flops = 2.0 * s.batch * s.pairs * s.dim + double(f.lookup.num_indices) * s.dim;
    const double bytes = double(s.batch) * (4.0 * s.dim + double(abi::dtype_size(f.output_dtype)) * s.out_cols()) +
                         4.0 * double(f.lookup.num_indices) * s.dim +
                         double(op.input(1).bytes() + op.input(2).bytes());
    const cagr_math_precision precision = f.output_dtype == CAGR_DTYPE_BF16 ? CAGR_MATH_BF16
                                          : tf32_allowed(op, context)      ? CAGR_MATH_TF32
                                                                           : CAGR_MATH_F32;
    OpVariants out;
    for (Staged method : staged_methods(s))
      out.variants.push_back({staged_name(method) + std::string("_lookup"), flops, bytes, 1.0, precision});
    return out;
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    const contract::DlrmEmbeddingInteraction f = embedding_interaction_sizes(setup.op, setup.context);
    const std::vector<Staged> methods = staged_methods(f.interaction);
    if (setup.variant < 0 || setup.variant >= static_cast<int>(methods.size()))
      plugin::invalid(setup.op.type() + ": variant " + std::to_string(setup.variant) + " does not exist here");
    return std::make_unique<EmbeddingInteractionKernel>(f, methods[static_cast<size_t>(setup.variant)],
                                                        tf32_allowed(setup.op, setup.context), setup.device);
  }
};

// 32 lanes per sample, each lane a slice of D; sums of a column and of its squares per lane, then
// reduced across the lanes. Double accumulation: the term is a difference of two similar sums.
constexpr int kFmLanes = 32;

__global__ void fm_interaction_kernel(const float* features, float* fm, int64_t batch, int features_per_sample, int dim) {
  const int64_t b = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kFmLanes;
  if (b >= batch) return;  // whole groups leave together
  const int lane = threadIdx.x % kFmLanes;
  const float* x = features + b * features_per_sample * int64_t(dim);
  double term = 0;
  for (int d = lane; d < dim; d += kFmLanes) {
    double sum = 0, squares = 0;
    for (int f = 0; f < features_per_sample; ++f) {
      const double v = x[int64_t(f) * dim + d];
      sum += v;
      squares += v * v;
    }
    term += sum * sum - squares;
  }
  const float total = group_sum(group_lane_mask(kFmLanes), float(term), kFmLanes);
  if (lane == 0) fm[b] = 0.5f * total;
}

class FmInteractionKernel : public GpuKernel {
 public:
  void run(const RunTensors& t) override {
    const FeatureShape s(t.input_shapes, t.output_shapes, "fm_interaction", 1);
    if (s.batch == 0) return;
    fm_interaction_kernel<<<blocks_for(s.batch * kFmLanes), kBlockThreads, 0, t.stream>>>(
        static_cast<const float*>(t.inputs[0]), static_cast<float*>(t.outputs[0]), s.batch, int(s.features), int(s.dim));
    check_launch("fm_interaction_kernel");
  }
};

class FmInteractionOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const FeatureShape s(input_shapes(op), output_shapes(op), "fm_interaction", 1);
    return {{{"group_per_sample", 3.0 * s.batch * s.features * s.dim, 4.0 * s.batch * (s.features * s.dim + 1)}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<FmInteractionKernel>();
  }
};

}  // namespace

const GpuOp& dot_interaction_op() {
  static const DotInteractionOp op;
  return op;
}
const GpuOp& embedding_interaction_op() {
  static const EmbeddingInteractionOp op;
  return op;
}
const GpuOp& fm_interaction_op() {
  static const FmInteractionOp op;
  return op;
}

}  // namespace cagr::gpu
