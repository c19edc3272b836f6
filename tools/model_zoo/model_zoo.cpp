// model_zoo.cpp - sample and benchmark models.
#include "model_zoo.hpp"

#include <algorithm>
#include <stdexcept>

#include "graph_builder.hpp"
#include "schema.hpp"

namespace cagr::zoo {

Graph dlrm_avazu(uint64_t seed, int64_t max_rows, int64_t dim) {
  const data::Schema& schema = data::avazu_schema();
  std::vector<int64_t> rows = data::table_rows(schema);
  for (int64_t& r : rows) r = std::min(r, max_rows);
  const int64_t tables = static_cast<int64_t>(rows.size());
  const int64_t dense = static_cast<int64_t>(schema.dense.size());

  GraphBuilder b("dlrm_avazu", seed);
  b.input("dense", CAGR_DTYPE_F32, {kDynamic, dense});
  b.input("indices", CAGR_DTYPE_I64, {kDynamic});
  b.input("offsets", CAGR_DTYPE_I64, {kDynamic});
  const std::string bottom = b.mlp("bottom_mlp", "dense", {dense, 64, dim}, "relu");
  const std::string emb = b.embedding_bag("embeddings", "indices", "offsets", rows, dim, "sum");
  const std::string bottom3 = b.op("bottom_as_feature", "reshape", {bottom}, {{"shape", std::vector<int64_t>{0, 1, dim}}});
  const std::string features = b.op("features", "concat", {bottom3, emb}, {{"axis", int64_t{1}}});
  const std::string dots = b.op("interaction", "dot_interaction", {features});
  const std::string top_in = b.op("top_input", "concat", {bottom, dots}, {{"axis", int64_t{1}}});
  const int64_t f = tables + 1;
  const std::string hidden = b.mlp("top_mlp", top_in, {dim + f * (f - 1) / 2, 128, 64}, "relu");
  b.output(b.linear("prob", hidden, 64, 1, "sigmoid"));
  return b.finish();
}

const std::vector<ModelSpec>& models() {
  static const std::vector<ModelSpec> all = {
      {"dlrm_avazu_sample", "DLRM over the 22 Avazu fields, tables of at most 10000 rows, dim 16 (the bundled sample)",
       [](uint64_t seed) { return dlrm_avazu(seed, 10000, 16); }},
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
