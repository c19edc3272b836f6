// model_zoo.hpp - the models CAGR ships as samples and benchmarks, built with deterministic weights.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"

namespace cagr::zoo {

struct ModelSpec {
  std::string name;
  std::string description;
  Graph (*build)(uint64_t seed);
};

// Every model the zoo can make.
const std::vector<ModelSpec>& models();
const ModelSpec& find_model(const std::string& name);  // throws std::invalid_argument listing the names

// Table sizes are the data set's (data/schema.hpp), capped at `max_rows` (0: no cap).
//
// Click models take inputs dense [B, num_dense] (when the model has a bottom MLP), indices [L] and
// offsets [T*B+1] (the embedding_bag layout of abi/OPS.md) and output prob [B, 1].

// DLRM: bottom MLP over the dense features, embedding_bag over every sparse field, dot interaction
// of all feature vectors, top MLP. `bottom` ends at `dim`; `top` starts after the interaction.
struct DlrmConfig {
  std::string schema;               // "avazu" or "criteo"
  int64_t dim = 16;
  int64_t max_rows = 0;
  std::vector<int64_t> bottom;      // hidden sizes after the dense input, ending at dim
  std::vector<int64_t> top;         // hidden sizes before the final 1
  std::string pooling = "sum";
};
Graph dlrm(const std::string& name, const DlrmConfig& config, uint64_t seed);

// DeepFM over the Avazu fields: first-order weights (a dim-1 embedding_bag), the FM second-order
// term and a deep MLP over the concatenated field embeddings, summed, then sigmoid.
Graph deepfm_avazu(uint64_t seed, int64_t dim, int64_t max_rows, const std::vector<int64_t>& hidden);

// NGCF inference: user and item embeddings already propagated through the graph-convolution layers
// (NGCF's final representation, the concatenation of every layer's embedding, computed offline),
// scoring C candidate items for B users and keeping the best k. Inputs users [B] and items [C] (i64);
// outputs scores [B,k] and their item positions [B,k].
Graph ngcf(uint64_t seed, int64_t users, int64_t items, int64_t dim, int64_t k);

}  // namespace cagr::zoo
