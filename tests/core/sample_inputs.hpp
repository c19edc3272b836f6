// sample_inputs.hpp - inputs for the zoo's sample DLRM in tests (dense features, and 0-2 ids per bag
// so that empty bags come too), and the error measure the tests compare outputs by.
#pragma once

#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"

namespace cagr::testing {

std::vector<Dims> dims_of(const std::vector<HostTensor>& inputs);

// Max relative error with an absolute floor: |a-b| / max(|b|, 1e-3).
double max_relative_error(const HostTensor& got, const HostTensor& want);

// Inputs for a graph with one embedding_bag and a 'dense' input, drawn from `seed`.
std::vector<HostTensor> random_inputs(const Graph& graph, int64_t batch, uint64_t seed);

}  // namespace cagr::testing
