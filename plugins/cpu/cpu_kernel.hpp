// cpu_kernel.hpp - how the CPU plugin's ops plug in: each op offers variants, a variant makes a
// kernel, a kernel runs on host pointers with the run's checked shapes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cpu_device.hpp"
#include "op_contract.hpp"

namespace cagr::cpu {

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs: every input of the op in order, constants included; shapes: the run's, checked.
  virtual void run(const contract::Checked& shapes, const void* const* inputs, void* const* outputs) = 0;
};

// What a variant's kernel is made from at kernel_create.
struct KernelInit {
  const contract::Checked& shapes;
  const std::vector<const void*>& constants;  // per input: the plugin's copy, or nullptr when given at run
};

// Below about this many element operations, starting a parallel region (waking the workers and
// waiting for all of them at its end) costs more than the work: small batches run on the calling
// thread. Also what keeps latency steady on an oversubscribed machine, where a parallel region
// waits for every descheduled worker.
constexpr int64_t kParallelThreshold = 1 << 15;
// What one parallel region costs, for the cost estimates of parallel variants.
constexpr double kParallelRegionNs = 3000.0;

struct Variant {
  const char* name;
  bool parallel;  // uses every thread (else one): the cost estimate's divisor
  std::unique_ptr<Kernel> (*create)(const KernelInit&);
  cagr_math_precision precision = CAGR_MATH_F32;  // what it computes in (ABI 1.2; int8 1.3)
  bool prefetches = false;  // issues its random reads ahead (Cost::gathered_bytes move at the bandwidth)
};

// Rows gathered at random from tables larger than a core's L2 wait on memory one by one unless
// the kernel asks for them ahead: the embedding_bag without prefetching read DeepFM's rows
// (53,248 a pass from 26 tables of up to 100k rows) 1.8x (rows of 4 bytes, 10 MB of tables, inside
// the 32 MB L3) and 2.7x (64-byte rows, 166 MB) slower than the prefetching variant on the 2-core
// VM, one thread each.
constexpr double kUnprefetchedGatherSlowdown = 2.0;
constexpr double kGatherCacheBytes = 1 << 20;  // a core's L2 on current x86 (1-2 MiB)

struct Cost {
  double flops = 0;
  double bytes = 0;           // to and from memory, gathered_bytes included
  double gathered_bytes = 0;  // of `bytes`, read at random addresses from tables of footprint_bytes
  double footprint_bytes = 0;
};

// Variants in order of precision, f32 first: an op allowed precision P is offered the leading
// variants whose precision P allows (offered_variants), so variant indices mean the same under
// every allowance and variant 0 is always f32.
struct OpImpl {
  std::vector<Variant> variants;
  Cost (*cost)(const contract::Checked&);
};

inline size_t offered_variants(const OpImpl& impl, cagr_math_precision allowed) {
  size_t n = 0;
  while (n < impl.variants.size() && impl.variants[n].precision <= allowed) ++n;
  return n;
}

// Whether this CPU computes bf16 dot products natively (AVX512_BF16 or AMX), as oneDNN sees it.
bool has_bf16_dot_products();
// Whether it computes u8 x s8 dot products natively (AVX512 VNNI, AVX-VNNI or AMX), as oneDNN sees it.
bool has_int8_dot_products();

// The implementation of the op that `shapes` checked.
const OpImpl& op_impl(const contract::Checked& shapes);

// A kernel that is one function of the shapes and the data, for ops without prepared state.
template <class Shapes, void (*Body)(const Shapes&, const void* const*, void* const*)>
class FunctionKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelInit&) { return std::make_unique<FunctionKernel>(); }
  void run(const contract::Checked& shapes, const void* const* inputs, void* const* outputs) override {
    Body(std::get<Shapes>(shapes), inputs, outputs);
  }
};

// One OpImpl per op family; defined next to the kernels.
OpImpl embedding_bag_impl();
OpImpl linear_impl();  // and cross_layer's: the same matmul with its epilogue as post-ops
OpImpl unary_impl();
OpImpl binary_impl();
OpImpl concat_impl();
OpImpl reshape_impl();
OpImpl gather_impl();
OpImpl dot_interaction_impl();
OpImpl fm_interaction_impl();
OpImpl reduce_sum_impl();
OpImpl top_k_impl();
// The general tensor ops (abi/tensor_ops.hpp).
OpImpl elementwise_impl();
OpImpl cast_impl();
OpImpl strided_copy_impl();
OpImpl take_impl();
OpImpl gather_elements_impl();
OpImpl matmul_impl();
OpImpl softmax_impl();
OpImpl reduce_impl();
OpImpl layer_norm_impl();
OpImpl bag_offsets_impl();
OpImpl table_offsets_impl();

}  // namespace cagr::cpu
