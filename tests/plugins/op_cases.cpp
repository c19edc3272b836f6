// op_cases.cpp - the random case generators.
#include "op_cases.hpp"

#include <cmath>
#include <limits>

#include "cagr_dtype.hpp"

namespace cagr::conformance {

using OpDesc = abi::OwnedOpDesc;

namespace {

constexpr cagr_dtype F32 = CAGR_DTYPE_F32;
constexpr cagr_dtype I32 = CAGR_DTYPE_I32;
constexpr cagr_dtype I64 = CAGR_DTYPE_I64;

std::string dims_label(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

Bytes uniform(Rng& rng, int64_t count, float bound = 1.0f) {
  std::uniform_real_distribution<float> u(-bound, bound);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = u(rng);
  return to_bytes(v);
}

// Integers in [0, bound) as `dtype`.
Bytes index_values(const std::vector<int64_t>& values, cagr_dtype dtype) {
  if (dtype == I64) return to_bytes(values);
  return to_bytes(std::vector<int32_t>(values.begin(), values.end()));
}

int64_t draw(Rng& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

Case unary_case(Rng& rng, const char* op, const std::vector<int64_t>& dims) {
  Case c{std::string(op) + " " + dims_label(dims), OpDesc(op), {uniform(rng, numel(dims))}};
  c.op.input(F32, dims).output(F32, dims);
  return c;
}

Case binary_case(Rng& rng, const char* op, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  Case c{std::string(op) + " A" + dims_label(a) + " B" + dims_label(b), OpDesc(op),
         {uniform(rng, numel(a)), uniform(rng, numel(b))}};
  c.op.input(F32, a).input(F32, b).output(F32, a);
  return c;
}

Case concat_case(Rng& rng, const std::vector<std::vector<int64_t>>& inputs, int64_t axis) {
  Case c{"concat axis " + std::to_string(axis), OpDesc("concat"), {}};
  std::vector<int64_t> out = inputs[0];
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(out.size()) : axis);
  out[a] = 0;
  for (const auto& dims : inputs) {
    c.label += " " + dims_label(dims);
    c.op.input(F32, dims);
    c.inputs.push_back(uniform(rng, numel(dims)));
    out[a] += dims[a];
  }
  c.op.output(F32, out).attr("axis", axis);
  return c;
}

Case reshape_case(Rng& rng, const std::vector<int64_t>& in, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& out) {
  Case c{"reshape " + dims_label(in) + " by " + dims_label(shape), OpDesc("reshape"), {uniform(rng, numel(in))}};
  c.op.input(F32, in).output(F32, out).attr("shape", shape);
  return c;
}

Case dot_case(Rng& rng, int64_t b, int64_t f, int64_t d, bool self) {
  const int64_t pairs = self ? f * (f + 1) / 2 : f * (f - 1) / 2;
  Case c{"dot_interaction B=" + std::to_string(b) + " F=" + std::to_string(f) + " D=" + std::to_string(d) +
             (self ? " self" : ""),
         OpDesc("dot_interaction"), {uniform(rng, b * f * d)}};
  c.op.input(F32, {b, f, d}).output(F32, {b, pairs}).attr("self_interaction", int64_t{self ? 1 : 0});
  return c;
}

// Output columns of DLRM's interaction layer: D, then the dots among T + 1 features, rounded up to pad_to.
int64_t interaction_cols(int64_t t, int64_t d, bool self, int64_t pad_to) {
  const int64_t f = t + 1;
  const int64_t pairs = self ? f * (f + 1) / 2 : f * (f - 1) / 2;
  return (d + pairs + pad_to - 1) / pad_to * pad_to;
}

// DLRM's interaction layer: dense [B, D] and T pooled embeddings [B, T, D].
Case dlrm_case(Rng& rng, int64_t b, int64_t t, int64_t d, bool self, int64_t pad_to) {
  Case c{"dlrm_interaction B=" + std::to_string(b) + " T=" + std::to_string(t) + " D=" + std::to_string(d) +
             (self ? " self" : "") + " pad_to " + std::to_string(pad_to),
         OpDesc("dlrm_interaction"), {uniform(rng, b * d), uniform(rng, b * t * d)}};
  c.op.input(F32, {b, d}).input(F32, {b, t, d}).output(F32, {b, interaction_cols(t, d, self, pad_to)});
  c.op.attr("self_interaction", int64_t{self ? 1 : 0});
  if (pad_to != 1) c.op.attr("pad_to", pad_to);
  return c;
}

Case fm_case(Rng& rng, int64_t b, int64_t f, int64_t d) {
  Case c{"fm_interaction B=" + std::to_string(b) + " F=" + std::to_string(f) + " D=" + std::to_string(d),
         OpDesc("fm_interaction"), {uniform(rng, b * f * d)}};
  c.op.input(F32, {b, f, d}).output(F32, {b, 1});
  return c;
}

Case reduce_case(Rng& rng, const std::vector<int64_t>& in, const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<bool> reduced(in.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(in.size()) : a)] = true;
  std::vector<int64_t> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  Case c{"reduce_sum " + dims_label(in) + " axes " + dims_label(axes) + (keepdims ? " keepdims" : ""),
         OpDesc("reduce_sum"), {uniform(rng, numel(in))}};
  c.op.input(F32, in).output(F32, out).attr("axes", axes).attr("keepdims", int64_t{keepdims ? 1 : 0});
  return c;
}

// Scores with many ties (values on a coarse grid) and, when `nans`, a few NaNs: the cases where
// the order rule of OPS.md (NaN first, equal values by lower index) matters.
Case top_k_case(Rng& rng, int64_t b, int64_t n, int64_t k, bool ties, bool nans) {
  std::vector<float> scores(static_cast<size_t>(b * n));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& s : scores) s = ties ? std::round(u(rng) * 4) / 4 : u(rng);
  if (nans) {
    for (int64_t i = 0; i < b * n / 7 + 1; ++i) scores[static_cast<size_t>(draw(rng, 0, b * n - 1))] = std::numeric_limits<float>::quiet_NaN();
  }
  Case c{"top_k B=" + std::to_string(b) + " N=" + std::to_string(n) + " k=" + std::to_string(k) + (ties ? " ties" : "") +
             (nans ? " NaN" : ""),
         OpDesc("top_k"), {to_bytes(scores)}};
  c.op.input(F32, {b, n}).output(F32, {b, k}).output(I64, {b, k}).attr("k", k);
  return c;
}

}  // namespace

Case embedding_bag_case(Rng& rng, uint64_t table_seed, const EmbeddingBagParams& p) {
  const int64_t tables = static_cast<int64_t>(p.rows.size());
  std::vector<int64_t> offsets = {0};
  std::vector<int64_t> indices;
  for (int64_t t = 0; t < tables; ++t) {
    for (int64_t b = 0; b < p.batch; ++b) {
      const int64_t len = draw(rng, p.min_pooling, p.max_pooling);
      for (int64_t i = 0; i < len; ++i) indices.push_back(draw(rng, 0, p.rows[t] - 1));
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  std::string rows = "rows";
  for (int64_t r : p.rows) rows += " " + std::to_string(r);
  Case c{"embedding_bag T=" + std::to_string(tables) + " (" + rows + ") D=" + std::to_string(p.dim) + " B=" +
             std::to_string(p.batch) + " L=" + std::to_string(indices.size()) + " indices " +
             abi::dtype_name(p.index_dtype) + " offsets " + abi::dtype_name(p.offset_dtype) +
             (p.mean ? " mean" : " sum"),
         OpDesc("embedding_bag"),
         {index_values(indices, p.index_dtype), index_values(offsets, p.offset_dtype)}};
  c.op.input(p.index_dtype, {static_cast<int64_t>(indices.size())}).input(p.offset_dtype, {static_cast<int64_t>(offsets.size())});
  Rng table_rng(table_seed);
  for (int64_t t = 0; t < tables; ++t) {
    c.op.input(F32, {p.rows[t], p.dim});
    c.inputs.push_back(uniform(table_rng, p.rows[t] * p.dim));
  }
  c.op.output(F32, {p.batch, tables, p.dim}).attr("mode", p.mean ? "mean" : "sum");
  return c;
}

Case dlrm_embedding_case(Rng& rng, uint64_t table_seed, const DlrmEmbeddingParams& p) {
  const EmbeddingBagParams& e = p.lookup;
  Case lookup = embedding_bag_case(rng, table_seed, e);
  Case c{"dlrm_embedding_interaction of " + lookup.label + (p.self ? ", self" : "") + ", pad_to " +
             std::to_string(p.pad_to),
         OpDesc("dlrm_embedding_interaction"), {uniform(rng, e.batch * e.dim)}};
  c.op.input(F32, {e.batch, e.dim});
  for (size_t i = 0; i < lookup.inputs.size(); ++i) {  // indices, offsets, tables
    c.op.inputs().push_back(lookup.op.inputs()[i]);
    c.inputs.push_back(std::move(lookup.inputs[i]));
  }
  const int64_t tables = static_cast<int64_t>(e.rows.size());
  c.op.output(F32, {e.batch, interaction_cols(tables, e.dim, p.self, p.pad_to)});
  c.op.attr("mode", e.mean ? "mean" : "sum").attr("self_interaction", int64_t{p.self ? 1 : 0});
  if (p.pad_to != 1) c.op.attr("pad_to", p.pad_to);
  return c;
}

Case linear_case(Rng& rng, uint64_t weight_seed, const LinearParams& p) {
  Rng weight_rng(weight_seed);
  Case c{"linear M=" + std::to_string(p.m) + " K=" + std::to_string(p.k) + " N=" + std::to_string(p.n) +
             (p.bias ? " bias" : " no bias") + " activation " + p.activation,
         OpDesc("linear"), {uniform(rng, p.m * p.k), uniform(weight_rng, p.n * p.k)}};
  c.op.input(F32, {p.m, p.k}).input(F32, {p.n, p.k});
  if (p.bias) {
    c.op.input(F32, {p.n});
    c.inputs.push_back(uniform(weight_rng, p.n));
  }
  c.op.output(F32, {p.m, p.n}).attr("activation", p.activation);
  return c;
}

// W_l and b_l uniform(+-1/sqrt(K_l)), PyTorch's default: the activations then stay near 1 through
// the chain (a sigmoid is not saturated), and so does the tolerance, which grows with the sum of the
// terms' magnitudes through every layer.
Case mlp_case(Rng& rng, uint64_t weight_seed, const MlpParams& p) {
  Rng weight_rng(weight_seed);
  Case c{"mlp M=" + std::to_string(p.m) + " widths " + dims_label(p.widths) + " activations " + p.activations, OpDesc("mlp"),
         {uniform(rng, p.m * p.widths[0])}};
  c.op.input(F32, {p.m, p.widths[0]});
  for (size_t l = 0; l + 1 < p.widths.size(); ++l) {
    c.op.input(F32, {p.widths[l + 1], p.widths[l]}).input(F32, {p.widths[l + 1]});
    const float bound = 1.0f / std::sqrt(static_cast<float>(p.widths[l]));
    c.inputs.push_back(uniform(weight_rng, p.widths[l + 1] * p.widths[l], bound));
    c.inputs.push_back(uniform(weight_rng, p.widths[l + 1], bound));
  }
  c.op.output(F32, {p.m, p.widths.back()}).attr("activations", p.activations);
  return c;
}

Case gather_case(Rng& rng, uint64_t data_seed, const std::vector<int64_t>& data_dims,
                 const std::vector<int64_t>& index_dims, cagr_dtype index_dtype) {
  std::vector<int64_t> idx(static_cast<size_t>(numel(index_dims)));
  for (int64_t& i : idx) i = draw(rng, 0, data_dims[0] - 1);
  std::vector<int64_t> out = index_dims;
  out.insert(out.end(), data_dims.begin() + 1, data_dims.end());
  Rng data_rng(data_seed);
  Case c{"gather data " + dims_label(data_dims) + " indices " + dims_label(index_dims) + " " +
             abi::dtype_name(index_dtype),
         OpDesc("gather"), {uniform(data_rng, numel(data_dims)), index_values(idx, index_dtype)}};
  c.op.input(F32, data_dims).input(index_dtype, index_dims).output(F32, out);
  return c;
}

Case rebatched(const Case& c, int64_t batch, Rng& rng) {
  Case r = c;
  r.label += " run with B=" + std::to_string(batch);
  for (auto& out : r.op.outputs()) out.dims[0] = batch;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    auto& in = r.op.inputs()[i];
    in.dims[0] = batch;
    r.inputs[i] = uniform(rng, numel(std::vector<int64_t>(in.dims, in.dims + in.rank)));
  }
  return r;
}

bool optional_op(const std::string& op_type) { return op_type == "dlrm_embedding_interaction" || op_type == "mlp"; }

bool accumulates(const std::string& op_type) {
  return op_type == "embedding_bag" || op_type == "linear" || op_type == "mlp" || op_type == "dot_interaction" ||
         op_type == "dlrm_interaction" || op_type == "dlrm_embedding_interaction" || op_type == "fm_interaction" ||
         op_type == "reduce_sum";
}

std::vector<Case> cases_for(const std::string& op, Rng& rng) {
  std::vector<Case> cases;
  const uint64_t seed = rng();
  if (op == "embedding_bag") {
    cases.push_back(embedding_bag_case(rng, seed, {{1}, 1, 1, 1, I32, I32, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 33, 17, 5, I64, I64, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{127, 1031}, 127, 33, 40, I32, I64, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{5, 1, 64, 300}, 3, 3, 2, I64, I32, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{2000, 50}, 64, 1, 100, I32, I32, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{37}, 1027, 3, 4, I64, I64, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{3, 9}, 16, 5, 0, I32, I32, true}));  // every bag empty
  } else if (op == "linear") {
    cases.push_back(linear_case(rng, seed, {1, 1, 1, false, "none"}));
    cases.push_back(linear_case(rng, seed, {3, 17, 33, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {17, 127, 3, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {33, 1000, 127, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {127, 64, 1001, true, "none"}));
    cases.push_back(linear_case(rng, seed, {5, 3, 1, true, "sigmoid"}));
    // A short, unaligned K (a model's dense input: DLRM's 13 features) and K = 32.
    cases.push_back(linear_case(rng, seed, {515, 13, 300, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {70, 32, 65, false, "none"}));
    cases.push_back(linear_case(rng, seed, {1000, 13, 512, true, "relu"}));  // DLRM's first layer, a partial row block
    // Every K rounded up to 4 that the GPU's short_k kernel is built for (4 .. 32), N not a multiple of 4.
    cases.push_back(linear_case(rng, seed, {1033, 7, 5, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {3, 10, 64, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {77, 23, 131, true, "none"}));
    cases.push_back(linear_case(rng, seed, {200, 27, 129, true, "relu"}));
    // Narrow outputs (a ranking model's logit layer: the GPU's warp_per_row path), 16-byte rows and not.
    cases.push_back(linear_case(rng, seed, {515, 256, 1, true, "sigmoid"}));
    // More rows than a wave of warps on a 132-SM GPU (where the GPU's warp_per_row takes 4 per warp).
    cases.push_back(linear_case(rng, seed, {9001, 256, 1, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {8999, 37, 3, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {33, 64, 8, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {9, 37, 2, true, "none"}));
    // wgmma (Hopper): partial blocks of 128 / 256 rows and of 128 columns, a K tail of 4.
    cases.push_back(linear_case(rng, seed, {300, 516, 257, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {131, 36, 128, false, "sigmoid"}));
  } else if (op == "mlp") {
    cases.push_back(mlp_case(rng, seed, {1, {1, 1}, "none"}));
    cases.push_back(mlp_case(rng, seed, {37, {13, 50, 24, 1}, "relu,relu,sigmoid"}));
    cases.push_back(mlp_case(rng, seed, {70, {368, 512, 256}, "relu,none"}));  // DLRM's top MLP after the padded interaction
    cases.push_back(mlp_case(rng, seed, {33, {20, 7}, "relu"}));  // one layer
    cases.push_back(mlp_case(rng, seed, {17, {9, 33, 5, 3}, "sigmoid,none,relu"}));
    cases.push_back(mlp_case(rng, seed, {515, {13, 512, 256, 64, 16}, "relu,relu,relu,relu"}));  // DLRM's bottom MLP
  } else if (op == "relu" || op == "sigmoid") {
    for (const auto& dims : std::vector<std::vector<int64_t>>{{1}, {3, 17}, {127, 33}, {2, 3, 1001}})
      cases.push_back(unary_case(rng, op.c_str(), dims));
  } else if (op == "add" || op == "mul") {
    cases.push_back(binary_case(rng, op.c_str(), {1}, {1}));
    cases.push_back(binary_case(rng, op.c_str(), {17, 33}, {17, 33}));
    cases.push_back(binary_case(rng, op.c_str(), {3, 5, 7}, {7}));
    cases.push_back(binary_case(rng, op.c_str(), {3, 5, 7}, {5, 7}));
    cases.push_back(binary_case(rng, op.c_str(), {127, 1000}, {1000}));
    cases.push_back(binary_case(rng, op.c_str(), {4, 3}, {}));
  } else if (op == "concat") {
    cases.push_back(concat_case(rng, {{17, 3}, {17, 1}, {17, 33}}, 1));
    cases.push_back(concat_case(rng, {{3, 5}, {1, 5}, {127, 5}}, 0));
    cases.push_back(concat_case(rng, {{2, 3, 4}, {2, 3, 1}}, -1));
    cases.push_back(concat_case(rng, {{3, 7, 5}, {3, 1, 5}, {3, 2, 5}}, 1));
    cases.push_back(concat_case(rng, {{33, 1000}}, 1));
  } else if (op == "reshape") {
    cases.push_back(reshape_case(rng, {17, 33}, {0, -1, 1}, {17, 33, 1}));
    cases.push_back(reshape_case(rng, {17, 3, 11}, {0, 33}, {17, 33}));
    cases.push_back(reshape_case(rng, {1}, {-1}, {1}));
    cases.push_back(reshape_case(rng, {127, 1000}, {-1, 8, 125}, {127, 8, 125}));
  } else if (op == "dot_interaction") {
    cases.push_back(dot_case(rng, 1, 1, 1, false));
    cases.push_back(dot_case(rng, 1, 2, 1, true));
    cases.push_back(dot_case(rng, 17, 27, 16, false));
    cases.push_back(dot_case(rng, 33, 8, 127, true));
    cases.push_back(dot_case(rng, 3, 3, 1000, false));
    // Short rows (the GPU's row_per_lane path): more features than a warp's lanes, a partial last block.
    cases.push_back(dot_case(rng, 9, 40, 32, true));
    cases.push_back(dot_case(rng, 70, 5, 4, false));
    // The GPU's tensor_core path: 32 features (its most), D = 24 (three k steps of 8).
    cases.push_back(dot_case(rng, 7, 32, 24, true));
  } else if (op == "dlrm_interaction") {
    cases.push_back(dlrm_case(rng, 1, 1, 1, false, 1));
    cases.push_back(dlrm_case(rng, 17, 26, 16, false, 4));  // the Kaggle DLRM's layer, as fused: 367 -> 368
    cases.push_back(dlrm_case(rng, 33, 7, 127, true, 1));
    cases.push_back(dlrm_case(rng, 5, 3, 12, true, 64));
    cases.push_back(dlrm_case(rng, 3, 2, 1000, false, 3));
    cases.push_back(dlrm_case(rng, 19, 33, 8, true, 4));   // 34 features: lanes take two rows
    cases.push_back(dlrm_case(rng, 6, 4, 8, false, 1));    // 18 columns: no 16-byte output rows
    cases.push_back(dlrm_case(rng, 11, 16, 32, false, 1));  // 17 features: one row in a second m-tile
  } else if (op == "dlrm_embedding_interaction") {
    std::vector<int64_t> kaggle_rows;  // 26 tables of assorted sizes, as the Kaggle DLRM's
    for (int64_t t = 0; t < 26; ++t) kaggle_rows.push_back(1 + (t * 7919) % 3000);
    cases.push_back(dlrm_embedding_case(rng, seed, {{{1}, 1, 1, 1, I32, I32, false}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{17, 1000, 3}, 16, 37, 5, I64, I64, false}, false, 4}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{5, 1, 64, 300}, 8, 3, 2, I64, I32, true}, true, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{37, 9}, 6, 17, 4, I32, I64, true}, false, 1}));  // 24-byte rows
    cases.push_back(dlrm_embedding_case(rng, seed, {{{1031, 127}, 127, 9, 40, I32, I32, false}, true, 3}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{3, 9}, 16, 5, 0, I32, I32, true}, false, 64}));  // every bag empty
    cases.push_back(dlrm_embedding_case(rng, seed, {{kaggle_rows, 16, 33, 3, I64, I64, false}, false, 4}));  // 367 -> 368
    // One id per bag, as DLRM's inputs: bag k's id is indices[k], which the GPU kernel loads early.
    cases.push_back(dlrm_embedding_case(rng, seed, {{kaggle_rows, 16, 33, 1, I32, I64, false, 1}, false, 4}));
    // More of one id per bag, where the GPU loads rows with D / 4 lanes each: D = 4 with 32 features
    // (the most it takes that way), D = 8 with mean pooling, D = 32 (four rows per load); D = 24 and
    // 33 features, which it loads a lane per row.
    std::vector<int64_t> tables31 = kaggle_rows;
    for (int64_t r : {5, 1, 300, 64, 2}) tables31.push_back(r);
    std::vector<int64_t> tables32 = tables31;
    tables32.push_back(11);
    cases.push_back(dlrm_embedding_case(rng, seed, {{tables31, 4, 9, 1, I64, I64, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{7, 3000, 2}, 8, 21, 1, I32, I32, true, 1}, true, 4}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{40, 1, 9, 600, 2, 77, 3}, 32, 10, 1, I64, I32, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{40, 9, 600, 2, 77}, 24, 12, 1, I32, I64, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{tables32, 16, 5, 1, I64, I64, false, 1}, false, 1}));
  } else if (op == "fm_interaction") {
    cases.push_back(fm_case(rng, 1, 1, 1));
    cases.push_back(fm_case(rng, 17, 27, 16));
    cases.push_back(fm_case(rng, 33, 39, 10));
    cases.push_back(fm_case(rng, 3, 2, 1000));
  } else if (op == "reduce_sum") {
    cases.push_back(reduce_case(rng, {17, 33}, {1}, true));
    cases.push_back(reduce_case(rng, {3, 5, 7}, {0, 2}, false));
    cases.push_back(reduce_case(rng, {127, 1000}, {0}, true));
    cases.push_back(reduce_case(rng, {2, 3, 4, 5}, {-1, 1}, true));
    cases.push_back(reduce_case(rng, {1}, {0}, false));
  } else if (op == "top_k") {
    cases.push_back(top_k_case(rng, 1, 1, 1, false, false));
    cases.push_back(top_k_case(rng, 17, 33, 5, false, false));
    cases.push_back(top_k_case(rng, 3, 1000, 127, false, false));
    cases.push_back(top_k_case(rng, 33, 127, 127, true, true));
    cases.push_back(top_k_case(rng, 5, 17, 1, true, true));
  } else if (op == "gather") {
    cases.push_back(gather_case(rng, seed, {1, 1}, {1}, I32));
    cases.push_back(gather_case(rng, seed, {1000, 33}, {17}, I64));
    cases.push_back(gather_case(rng, seed, {127, 3, 5}, {3, 4}, I32));
    cases.push_back(gather_case(rng, seed, {17, 127}, {127}, I64));
    cases.push_back(gather_case(rng, seed, {33}, {2, 2, 5}, I32));
  }
  return cases;
}

}  // namespace cagr::conformance
