// sample_inputs.cpp - see sample_inputs.hpp.
#include "sample_inputs.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "graph_builder.hpp"

namespace cagr::testing {

std::vector<Dims> dims_of(const std::vector<HostTensor>& inputs) {
  std::vector<Dims> d;
  for (const auto& t : inputs) d.push_back(t.dims);
  return d;
}

double max_relative_error(const HostTensor& got, const HostTensor& want) {
  EXPECT_EQ(got.dims, want.dims);
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.as<float>()[i], b = want.as<float>()[i];
    worst = std::max(worst, std::abs(a - b) / std::max(std::abs(b), 1e-3));
  }
  return worst;
}

std::vector<HostTensor> random_inputs(const Graph& graph, int64_t batch, uint64_t seed) {
  WeightRng rng(seed);
  std::vector<HostTensor> inputs;
  const Node* emb = nullptr;
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag") emb = &n;
  const int64_t tables = static_cast<int64_t>(emb->inputs.size()) - 2;
  HostTensor dense(CAGR_DTYPE_F32, {batch, graph.tensor(graph.tensor_id("dense")).dims[1]});
  for (int64_t i = 0; i < dense.numel(); ++i) dense.as<float>()[i] = rng.uniform(0, 1);
  std::vector<int64_t> indices, offsets{0};
  for (int64_t t = 0; t < tables; ++t) {
    const int64_t rows = graph.tensor(emb->inputs[static_cast<size_t>(2 + t)]).dims[0];
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t pooling = static_cast<int64_t>(rng.next_u64() % 3);  // 0..2 ids: empty bags too
      for (int64_t p = 0; p < pooling; ++p) indices.push_back(static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(rows)));
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  inputs.push_back(std::move(dense));
  inputs.push_back(HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}, indices));
  inputs.push_back(HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets));
  return inputs;
}

}  // namespace cagr::testing
