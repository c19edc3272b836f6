// reference_graph.hpp - runs a whole graph with the reference ops: the oracle for the executor.
#pragma once

#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"

namespace cagr::testing {

std::vector<HostTensor> run_reference(const Graph& graph, const std::vector<HostTensor>& inputs);

}  // namespace cagr::testing
