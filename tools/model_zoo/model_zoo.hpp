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

// MLPerf's DLRM-v2 (DCNv2; the MLPerf inference and training recommendation benchmark, torchrec's
// DLRM_DCN): bottom MLP over the 13 dense features, 26 multi-hot tables of MLPerf's sizes
// (dlrm_v2_table_rows, capped at `max_rows`) pooled by sum, the bottom output and the 26 pooled rows
// flattened into one [B, 27 * dim] row x0, `cross_layers` low-rank cross layers
// x_{l+1} = x0 * (U_l (V_l x_l) + b_l) + x_l (V_l: [rank, 27 dim] without bias, U_l: [27 dim, rank]),
// written as linear + linear + mul + add (the "cross" fusion makes each layer's U, mul and add one
// cross_layer where a device offers it), then the top MLP and a sigmoid.
struct DlrmV2Config {
  int64_t max_rows = 0;  // 0: MLPerf's table sizes, up to 40M rows
  int64_t dim = 128;
  std::vector<int64_t> bottom{512, 256};  // hidden sizes after the 13 dense features, before dim
  int64_t cross_layers = 3;
  int64_t rank = 512;
  std::vector<int64_t> top{1024, 1024, 512, 256};  // hidden sizes before the final 1
};
Graph dlrm_v2(const std::string& name, const DlrmV2Config& config, uint64_t seed);
// MLPerf's rows per table (the Criteo 1TB tables hashed to at most 40M rows), in input order.
const std::vector<int64_t>& dlrm_v2_table_rows();
// MLPerf's ids per sample and table (its synthetic multi-hot Criteo: 214 per sample in all).
const std::vector<int64_t>& dlrm_v2_multi_hot_sizes();

// DeepFM over the Avazu fields: first-order weights (a dim-1 embedding_bag), the FM second-order
// term and a deep MLP over the concatenated field embeddings, summed, then sigmoid.
Graph deepfm_avazu(uint64_t seed, int64_t dim, int64_t max_rows, const std::vector<int64_t>& hidden);

// NGCF inference: user and item embeddings already propagated through the graph-convolution layers
// (NGCF's final representation, the concatenation of every layer's embedding, computed offline),
// scoring C candidate items for B users and keeping the best k. Inputs users [B] and items [C] (i64);
// outputs scores [B,k] and their item positions [B,k].
Graph ngcf(uint64_t seed, int64_t users, int64_t items, int64_t dim, int64_t k);

}  // namespace cagr::zoo
