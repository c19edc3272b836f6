// model_zoo.cpp - sample and benchmark models.
#include "model_zoo.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "graph_builder.hpp"
#include "schema.hpp"

namespace cagr::zoo {

namespace {

std::vector<int64_t> capped_rows(const data::Schema& schema, int64_t max_rows) {
  std::vector<int64_t> rows = data::table_rows(schema);
  if (max_rows > 0)
    for (int64_t& r : rows) r = std::min(r, max_rows);
  return rows;
}

std::vector<int64_t> concat_sizes(int64_t first, const std::vector<int64_t>& rest, int64_t last) {
  std::vector<int64_t> sizes{first};
  sizes.insert(sizes.end(), rest.begin(), rest.end());
  if (last > 0) sizes.push_back(last);
  return sizes;
}

}  // namespace

Graph dlrm(const std::string& name, const DlrmConfig& config, uint64_t seed) {
  const data::Schema& schema = data::schema_by_name(config.schema);
  const std::vector<int64_t> rows = capped_rows(schema, config.max_rows);
  const int64_t tables = static_cast<int64_t>(rows.size());
  const int64_t dense = static_cast<int64_t>(schema.dense.size());
  const int64_t dim = config.dim;

  GraphBuilder b(name, seed);
  b.input("dense", CAGR_DTYPE_F32, {kDynamic, dense});
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string bottom = b.mlp("bottom_mlp", "dense", concat_sizes(dense, config.bottom, 0), "relu");
  const std::string emb = b.embedding_bag("embeddings", "indices", "offsets", rows, dim, config.pooling);
  const std::string bottom3 = b.op("bottom_as_feature", "reshape", {bottom}, {{"shape", std::vector<int64_t>{0, 1, dim}}});
  const std::string features = b.op("features", "concat", {bottom3, emb}, {{"axis", int64_t{1}}});
  const std::string dots = b.op("interaction", "dot_interaction", {features});
  const std::string top_in = b.op("top_input", "concat", {bottom, dots}, {{"axis", int64_t{1}}});
  const int64_t f = tables + 1;
  const std::vector<int64_t> top = concat_sizes(dim + f * (f - 1) / 2, config.top, 0);
  const std::string hidden = b.mlp("top_mlp", top_in, top, "relu");
  b.output(b.linear("prob", hidden, top.back(), 1, "sigmoid"));
  return b.finish();
}

// The MLPerf inference reference's values (recommendation/dlrm_v2: num_embeddings_per_feature and
// the multi-hot Criteo's multi_hot_sizes).
const std::vector<int64_t>& dlrm_v2_table_rows() {
  static const std::vector<int64_t> rows{40000000, 39060, 17295, 7424,   20265, 3,     7122, 1543,     63,
                                         40000000, 3067956, 405282, 10,     2209,  11938, 155,  4,        976,
                                         14,       40000000, 40000000, 40000000, 590152, 12973, 108, 36};
  return rows;
}

const std::vector<int64_t>& dlrm_v2_multi_hot_sizes() {
  static const std::vector<int64_t> sizes{3, 2, 1, 2, 6, 1, 1, 1, 1, 7, 3, 8, 1, 6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1};
  return sizes;
}

Graph dlrm_v2(const std::string& name, const DlrmV2Config& config, uint64_t seed) {
  std::vector<int64_t> rows = dlrm_v2_table_rows();
  if (config.max_rows > 0)
    for (int64_t& r : rows) r = std::min(r, config.max_rows);
  const int64_t dense = 13, dim = config.dim;
  const int64_t width = (static_cast<int64_t>(rows.size()) + 1) * dim;  // x0: the bottom output and every pooled row

  GraphBuilder b(name, seed);
  b.input("dense", CAGR_DTYPE_F32, {kDynamic, dense});
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string bottom = b.mlp("bottom_mlp", "dense", concat_sizes(dense, config.bottom, dim), "relu");
  const std::string emb = b.embedding_bag("embeddings", "indices", "offsets", rows, dim, "sum");
  const std::string bottom3 = b.op("bottom_as_feature", "reshape", {bottom}, {{"shape", std::vector<int64_t>{0, 1, dim}}});
  const std::string features = b.op("features", "concat", {bottom3, emb}, {{"axis", int64_t{1}}});
  const std::string x0 = b.op("cross_input", "reshape", {features}, {{"shape", std::vector<int64_t>{0, width}}});
  std::string x = x0;
  const float v_bound = 1.0f / std::sqrt(static_cast<float>(width));
  for (int64_t l = 0; l < config.cross_layers; ++l) {
    const std::string layer = "cross" + std::to_string(l);
    const std::string v = b.op(layer + ".v", "linear", {x, b.random_constant(layer + ".v.weight", {config.rank, width}, v_bound)});
    const std::string u = b.linear(layer + ".u", v, config.rank, width, "none");
    x = b.op(layer, "add", {b.op(layer + ".scaled", "mul", {x0, u}), x});
  }
  const std::string hidden = b.mlp("top_mlp", x, concat_sizes(width, config.top, 0), "relu");
  b.output(b.linear("prob", hidden, config.top.back(), 1, "sigmoid"));
  return b.finish();
}

Graph deepfm_avazu(uint64_t seed, int64_t dim, int64_t max_rows, const std::vector<int64_t>& hidden) {
  const std::vector<int64_t> rows = capped_rows(data::avazu_schema(), max_rows);
  const int64_t fields = static_cast<int64_t>(rows.size());
  GraphBuilder b("deepfm_avazu", seed);
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string first = b.embedding_bag("first_order", "indices", "offsets", rows, 1, "sum");
  const std::string linear_term = b.op("first_order_sum", "reduce_sum", {first}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}});
  const std::string emb = b.embedding_bag("embeddings", "indices", "offsets", rows, dim, "sum");
  const std::string fm = b.op("fm", "fm_interaction", {emb});
  const std::string flat = b.op("deep_input", "reshape", {emb}, {{"shape", std::vector<int64_t>{0, fields * dim}}});
  const std::string deep = b.mlp("deep", flat, concat_sizes(fields * dim, hidden, 1), "none");
  const std::string sum1 = b.op("fm_plus_linear", "add", {fm, linear_term});
  const std::string logit = b.op("logit", "add", {sum1, deep});
  b.output(b.op("prob", "sigmoid", {logit}));
  return b.finish();
}

Graph ngcf(uint64_t seed, int64_t users, int64_t items, int64_t dim, int64_t k) {
  GraphBuilder b("ngcf", seed);
  b.input("users", CAGR_DTYPE_I64, {kDynamic});
  b.input("items", CAGR_DTYPE_I64, {kDynamic});
  const float bound = 1.0f / std::sqrt(static_cast<float>(dim));
  const std::string user_table = b.random_constant("user_embeddings", {users, dim}, bound);
  const std::string item_table = b.random_constant("item_embeddings", {items, dim}, bound);
  const std::string u = b.op("user_vectors", "gather", {user_table, "users"});
  const std::string v = b.op("item_vectors", "gather", {item_table, "items"});
  // scores[b, c] = <u_b, v_c>: a linear layer whose weight matrix is the candidates' vectors.
  const std::string scores = b.op("scores", "linear", {u, v});
  b.op_with_outputs("top", "top_k", {scores}, {{"k", k}}, {"top_scores", "top_items"});
  b.output("top_scores");
  b.output("top_items");
  return b.finish();
}

const std::vector<ModelSpec>& models() {
  static const std::vector<ModelSpec> all = {
      {"dlrm_avazu_sample", "DLRM over the 22 Avazu fields, tables of at most 10000 rows, dim 16 (the bundled sample)",
       [](uint64_t seed) { return dlrm("dlrm_avazu", {"avazu", 16, 10000, {64, 16}, {128, 64}, "sum"}, seed); }},
      {"dlrm_kaggle", "DLRM, Criteo Kaggle configuration: 26 tables of the Kaggle sizes (2.2 GB), dim 16, MLPs 13-512-256-64-16 and 512-256-1",
       [](uint64_t seed) { return dlrm("dlrm_kaggle", {"criteo", 16, 0, {512, 256, 64, 16}, {512, 256}, "sum"}, seed); }},
      {"dlrm_kaggle_small", "DLRM Kaggle configuration with tables capped at 100000 rows (for tests and quick runs)",
       [](uint64_t seed) { return dlrm("dlrm_kaggle_small", {"criteo", 16, 100000, {512, 256, 64, 16}, {512, 256}, "sum"}, seed); }},
      {"dlrm_large", "DLRM, dim 128, Criteo fields with tables capped at 1M rows, for multi-hot bags (pooling 20-100)",
       [](uint64_t seed) { return dlrm("dlrm_large", {"criteo", 128, 1000000, {512, 256, 128}, {1024, 512, 256}, "sum"}, seed); }},
      {"dlrm_v2", "MLPerf DLRM-v2 (DCNv2): 26 multi-hot tables of MLPerf's sizes (up to 40M rows: 97 GiB), dim 128, MLPs 13-512-256-128 and 3456-1024-1024-512-256-1, 3 low-rank (512) cross layers",
       [](uint64_t seed) { return dlrm_v2("dlrm_v2", {}, seed); }},
      {"dlrm_v2_small", "MLPerf DLRM-v2 with tables capped at 100000 rows (450 MiB of tables; 61 MiB of dense weights), every other size MLPerf's",
       [](uint64_t seed) { return dlrm_v2("dlrm_v2_small", {100000}, seed); }},
      {"deepfm_avazu", "DeepFM over the 22 Avazu fields, dim 16, tables capped at 100000 rows, deep MLP 352-400-400-1",
       [](uint64_t seed) { return deepfm_avazu(seed, 16, 100000, {400, 400}); }},
      {"ngcf", "NGCF inference: 50000 users, 100000 items, propagated dim 256 (64 x 4 layers), top-20 of the candidates",
       [](uint64_t seed) { return ngcf(seed, 50000, 100000, 256, 20); }},
      {"two_stage_filter", "Light first stage of a two-stage ranking: DLRM over Avazu, dim 4, tables capped at 100000, MLPs 2-16-4 and 8-1",
       [](uint64_t seed) { return dlrm("two_stage_filter", {"avazu", 4, 100000, {16, 4}, {8}, "sum"}, seed); }},
      {"two_stage_ranker", "Heavy second stage: DLRM over Avazu, dim 64, tables capped at 1M rows, MLPs 2-256-64 and 1024-512-256-1",
       [](uint64_t seed) { return dlrm("two_stage_ranker", {"avazu", 64, 1000000, {256, 64}, {1024, 512, 256}, "sum"}, seed); }},
  };
  return all;
}

const ModelSpec& find_model(const std::string& name) {
  std::string names;
  for (const ModelSpec& m : models()) {
    if (m.name == name) return m;
    names += " " + m.name;
  }
  throw std::invalid_argument("no model '" + name + "' in the zoo; it has:" + names);
}

}  // namespace cagr::zoo
