// op_cases.hpp - random test cases for every op of abi/OPS.md: an op description plus input data,
// with the odd sizes, dtypes and attributes that break kernels (1, 3, 17, 33, 127, 1000+; i32 and
// i64 indices; empty bags; sum and mean; several tables of different row counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"

namespace cagr::conformance {

using Bytes = std::vector<std::byte>;
using Rng = std::mt19937_64;

struct Case {
  std::string label;  // what the case is, for failure messages
  abi::OwnedOpDesc op;
  std::vector<Bytes> inputs;  // data of every input, constants included, in input order
  bool optional = false;      // a plugin may refuse it (op_query with a reason), as it may an optional op
};

// Several cases of `op_type`, drawn from `rng`.
std::vector<Case> cases_for(const std::string& op_type, Rng& rng);

struct EmbeddingBagParams {
  std::vector<int64_t> rows;  // per table
  int64_t dim = 1;
  int64_t batch = 1;
  int64_t max_pooling = 1;    // bag lengths are drawn from min_pooling..max_pooling
  cagr_dtype index_dtype = CAGR_DTYPE_I64;
  cagr_dtype offset_dtype = CAGR_DTYPE_I64;
  bool mean = false;
  int64_t min_pooling = 0;    // 0: bags may be empty
  // OPS.md's later additions, which a plugin may refuse:
  bool max = false;           // mode max (rather than sum or mean)
  bool weighted = false;      // per-sample weights (mode sum)
  bool padded = false;        // a padding row per table, about a third of the indices (table 1 has none;
                              // table 2's is one past its end, skipped unchecked)
  // The tables' dtype (OPS.md's optional extension): f32, f16, bf16, or u8 row-wise quantised.
  cagr_dtype table_dtype = CAGR_DTYPE_F32;
};
// Tables (and padding rows) are drawn from `table_seed` alone, so cases with equal seed, rows and
// dim share them.
Case embedding_bag_case(Rng& rng, uint64_t table_seed, const EmbeddingBagParams& p);

// dlrm_embedding_interaction: dense [B, D] (input 0), then embedding_bag_case's inputs for `lookup`.
struct DlrmEmbeddingParams {
  EmbeddingBagParams lookup;
  bool self = false;
  int64_t pad_to = 1;
};
// Tables are drawn from `table_seed` alone, as embedding_bag_case's.
Case dlrm_embedding_case(Rng& rng, uint64_t table_seed, const DlrmEmbeddingParams& p);

struct LinearParams {
  int64_t m = 1, k = 1, n = 1;
  bool bias = false;
  const char* activation = "none";
};
// W and bias are drawn from `weight_seed` alone.
Case linear_case(Rng& rng, uint64_t weight_seed, const LinearParams& p);

struct CrossLayerParams {
  int64_t m = 1, k = 1, n = 1;  // without `residual`, k must equal n (X is then the residual)
  bool residual = false;        // R as input 4
};
// W and bias are drawn from `weight_seed` alone; x0, X and R from `rng`.
Case cross_layer_case(Rng& rng, uint64_t weight_seed, const CrossLayerParams& p);

struct MlpParams {
  int64_t m = 1;
  std::vector<int64_t> widths;   // K_0, N_0, .., N_{L-1}
  const char* activations = "";  // L names, comma-separated
};
// The W_l and b_l are drawn from `weight_seed` alone.
Case mlp_case(Rng& rng, uint64_t weight_seed, const MlpParams& p);

Case gather_case(Rng& rng, uint64_t data_seed, const std::vector<int64_t>& data_dims,
                 const std::vector<int64_t>& index_dims, cagr_dtype index_dtype);

// Puts NaN, +Inf and -Inf among the f32 values of `c`'s inputs that are not usually constant (about
// one value in 12, at least one per such input); false when `c` has no such input.
bool with_non_finite_inputs(Case& c, Rng& rng);

// Puts NaN, +Inf and -Inf among the values of an embedding_bag case's `tables` tables (about one in
// 6), which with_non_finite_inputs leaves finite (they are usually constant).
void with_non_finite_tables(Case& c, int64_t tables, Rng& rng);

// `c` with the first dimension of its inputs and outputs set to `batch` and the inputs redrawn:
// for ops whose every input is [B, ...] (relu, sigmoid, dot_interaction, dlrm_interaction,
// fm_interaction, top_k).
Case rebatched(const Case& c, int64_t batch, Rng& rng);

// Whether a plugin may refuse every description of the op: the fused ops that the core uses only
// where a device offers them (OPS.md), keeping the ops they fuse where none does.
bool optional_op(const std::string& op_type);

// Whether an output element of the op is a sum of many terms (its rounding error scales with the
// sum of the terms' magnitudes rather than with the result).
bool accumulates(const std::string& op_type);

template <class T>
Bytes to_bytes(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace cagr::conformance
