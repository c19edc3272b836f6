// graph_builder.hpp - building graphs in code: layers with deterministic weights drawn from a
// seeded generator, so that tools and tests make the same model on every machine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph.hpp"

namespace cagr {

// splitmix64 with our own float mapping: identical on every platform and standard library
// (std::uniform_real_distribution is not).
class WeightRng {
 public:
  explicit WeightRng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  float uniform(float lo, float hi);  // [lo, hi)

 private:
  uint64_t state_;
};

class GraphBuilder {
 public:
  GraphBuilder(std::string name, uint64_t seed);

  std::string input(const std::string& name, cagr_dtype dtype, Dims dims);
  // A constant of uniform(-scale, scale) values.
  std::string random_constant(const std::string& name, Dims dims, float scale);
  // Y = act(X W^T + b); weights uniform(+-1/sqrt(in)) like PyTorch's default init.
  std::string linear(const std::string& name, const std::string& x, int64_t in, int64_t out, const std::string& activation);
  // Linear layers in[0]->in[1]->...; relu between them, `last_activation` after the last.
  std::string mlp(const std::string& name, const std::string& x, const std::vector<int64_t>& sizes, const std::string& last_activation);
  // One embedding_bag over freshly made tables (uniform(+-1/sqrt(rows)) like DLRM's init), output [B, T, dim].
  std::string embedding_bag(const std::string& name, const std::string& indices, const std::string& offsets,
                            const std::vector<int64_t>& table_rows, int64_t dim, const std::string& mode);
  // A node and its single output tensor, both called `name`.
  std::string op(const std::string& name, const std::string& op_type, const std::vector<std::string>& inputs,
                 std::map<std::string, AttrValue> attrs = {});
  // A node with several outputs, named `outputs`.
  void op_with_outputs(const std::string& name, const std::string& op_type, const std::vector<std::string>& inputs,
                       std::map<std::string, AttrValue> attrs, const std::vector<std::string>& outputs);
  void output(const std::string& tensor);

  // Validates (shape inference) and hands the graph over.
  Graph finish();

 private:
  Graph graph_;
  WeightRng rng_;
};

}  // namespace cagr
