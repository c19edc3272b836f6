// candidates.hpp - one query's N candidates as model inputs, laid out as a pipeline's
// CandidateLayout says, and the cutting out of a chosen few (in a chosen order) for the next stage:
// rows of per-candidate inputs, and each table's bags of an embedding_bag pair with its offsets
// made anew.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"
#include "ranking_pipeline_format.hpp"

namespace cagr {

class Candidates {
 public:
  // Checks `inputs` against `layout`: every input it names is there, row inputs agree on N, every
  // offsets array has T*N + 1 non-decreasing entries within its indices. Throws
  // std::invalid_argument naming the input.
  Candidates(const CandidateLayout& layout, std::map<std::string, HostTensor> inputs);

  int64_t count() const { return count_; }
  // Candidates chosen[0], chosen[1], ... of these (each in [0, count())), in that order.
  Candidates select(const std::vector<int64_t>& chosen) const;
  // A model's inputs in its graph input order; an input the candidates lack is an error naming it.
  std::vector<HostTensor> inputs_of(const Graph& graph) const;
  const std::map<std::string, HostTensor>& inputs() const { return inputs_; }

 private:
  Candidates() = default;
  const HostTensor& named(const std::string& name) const;

  CandidateLayout layout_;
  std::map<std::string, HostTensor> inputs_;
  int64_t count_ = 0;
};

}  // namespace cagr
