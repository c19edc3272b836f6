// ranking_pipeline_format.hpp - pipeline.xml: a multi-stage ranking pipeline (RecPipe) described beside the
// model files it chains. A light model scores a query's N candidates, the best k go on to a heavier
// model, and so on; docs/PIPELINES.md describes the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cagr {

// How one query's candidates are laid out in the models' inputs, so a stage's chosen candidates
// can be cut out of them for the next stage.
struct CandidateLayout {
  // Inputs whose first dimension is the candidate (dense features [N, 13]).
  std::vector<std::string> rows;
  // Pairs of inputs in embedding_bag's layout (abi/OPS.md): `offsets` holds T*N + 1 entries, table
  // 0's N bags first; bag b of table t is indices[offsets[t*N + b] .. offsets[t*N + b + 1]).
  struct Bags {
    std::string indices, offsets;
    int64_t tables = 0;  // T where no rows input tells N; 0: T = (offsets - 1) / N
  };
  std::vector<Bags> bags;
};

struct RankingStage {
  std::string name;
  std::string model;                 // the model file, resolved against the pipeline file's folder
  std::vector<std::string> devices;  // target labels ("cpu:0") or plugin names ("opencl"); empty: every device
  std::string score;                 // the model output holding one score per candidate
  int64_t keep = 0;                  // the k best candidates passed on (or, last, returned); 0 (last only): all
  int line = 0;                      // in the pipeline file, for messages
};

struct RankingPipelineDescription {
  std::string path;  // the pipeline file, for messages
  std::string name;
  CandidateLayout candidates;
  std::vector<RankingStage> stages;
};

// Reads and checks a pipeline.xml: unknown elements and attributes, a missing model file, a keep
// below 1 or above the previous stage's are refused naming the file and line. Throws std::runtime_error.
RankingPipelineDescription load_ranking_pipeline(const std::string& path);

}  // namespace cagr
