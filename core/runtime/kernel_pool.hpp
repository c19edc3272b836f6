// kernel_pool.hpp - kernels shared by the executors of one session. A session keeps a plan per
// batch range (api/c_api.cpp); the plan made at batch 1 and the one made at batch 2048 run many
// nodes the same way (op, weights, device, variant), and a kernel serves every batch (OPS.md: the
// first dimension varies per run), so such nodes share one kernel and their weights are handed to
// the plugin once. A node with large weights (an embedding table) reuses a kernel of another
// variant rather than have them copied a second time. Executors of a pool do not record streams
// (Executor::captures): a kernel may reallocate its scratch for one executor's batch under a graph
// another recorded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "plugin.hpp"
#include "targets.hpp"

namespace cagr {

class KernelPool {
 public:
  // Weights of at least this many bytes are not copied to a plugin twice for two variants.
  static constexpr uint64_t kLargeWeightBytes = uint64_t{64} << 20;

  // What a kernel is made from, apart from its variant.
  struct Request {
    const Target* target = nullptr;
    const cagr_op_desc* op = nullptr;                 // at its compiled shapes
    std::vector<const void*> weights;                 // the constants handed to kernel_create
    uint64_t weight_bytes = 0;
    std::vector<size_t> hot_rows;                     // per table, the hot rows handed over (ABI 1.4)
  };

  // A live kernel for `request` in `variant` (or, with `any_variant` and weights of at least
  // kLargeWeightBytes, in any variant: `variant` and `variant_name` are then set to its), else the
  // one `make` creates. Kernels live as long as an executor holds them.
  std::shared_ptr<Kernel> get(const Request& request, bool any_variant, int& variant, std::string& variant_name,
                              const std::function<Kernel()>& make);

  size_t made() const { return made_; }      // kernels created through the pool
  size_t shared() const { return shared_; }  // requests answered with a kernel made before

 private:
  struct Made {
    int variant = 0;
    std::string variant_name;
    std::weak_ptr<Kernel> kernel;
  };
  std::map<std::string, std::vector<Made>> kernels_;  // by the request's key
  size_t made_ = 0, shared_ = 0;
};

}  // namespace cagr
