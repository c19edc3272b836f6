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

// DLRM over the 22 Avazu fields (data/schema.hpp), tables capped at `max_rows` rows so the sample
// stays small; inputs dense [B,2], indices [L], offsets [22*B+1]; output prob [B,1].
Graph dlrm_avazu(uint64_t seed, int64_t max_rows, int64_t dim);

}  // namespace cagr::zoo
