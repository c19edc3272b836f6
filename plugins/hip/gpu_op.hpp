// gpu_op.hpp - what every operator of the plugin provides: its variants for an op description,
// and a prepared kernel that runs them on a stream.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "context.hpp"
#include "gpu_runtime.h"
#include "math_precision.hpp"

namespace cagr::gpu {

using plugin::OpView;
using plugin::Shape;

struct VariantInfo {
  std::string name;
  double flops = 0;  // of one run at the shapes in the op description
  double bytes = 0;  // moved to and from device memory by that run
  // The share of the device's copy bandwidth the variant is expected to reach on those bytes: below
  // 1 for kernels bound by memory latency (too few loads in flight), which the cost hint then shows.
  double bandwidth_share = 1.0;
  cagr_math_precision precision = CAGR_MATH_F32;  // what it computes in (ABI 1.2)
};

struct OpVariants {
  std::vector<VariantInfo> variants;  // empty: never; an op that cannot run throws invalid/unsupported
  std::string note;                   // why a variant is missing on this device (e.g. no L2 control); may be empty
};

// The tensors of one run: every op input in order (constants given at kernel_create substituted in
// place), every output, and the shapes of this run.
struct RunTensors {
  hipStream_t stream;
  std::vector<const void*> inputs;
  std::vector<Shape> input_shapes;
  std::vector<void*> outputs;
  std::vector<Shape> output_shapes;
};

class GpuKernel {
 public:
  virtual ~GpuKernel() = default;
  // Queues the work on `tensors.stream`: no synchronisation and no allocation, so runs can be
  // captured into a graph.
  virtual void run(const RunTensors& tensors) = 0;
};

// TF32 / bf16 arithmetic where the plugin options allow it for every op (allow_tf32, allow_bf16:
// docs/PLUGINS.md) or the op's own allowance does (ABI 1.2: per session, docs/PLANS.md).
inline bool tf32_allowed(const OpView& op, const cagr_context& context) {
  return context.allow_tf32 || abi::allowed_math_precision(op.desc()) >= CAGR_MATH_TF32;
}
inline bool bf16_allowed(const OpView& op, const cagr_context& context) {
  return context.allow_bf16 || abi::allowed_math_precision(op.desc()) >= CAGR_MATH_BF16;
}

struct KernelSetup {
  const OpView& op;
  int variant;
  DeviceState& device;
  const cagr_context& context;
  // Per op input: where its constant (copied to the device at kernel_create) lives, or nullptr.
  std::vector<const void*> constants;
};

class GpuOp {
 public:
  virtual ~GpuOp() = default;
  // Throws Error(INVALID_ARGUMENT / UNSUPPORTED) naming what is wrong when the op cannot run here.
  virtual OpVariants variants(const OpView& op, DeviceState& device, const cagr_context& context) const = 0;
  virtual std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const = 0;
};

inline std::vector<Shape> input_shapes(const OpView& op) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < op.num_inputs(); ++i) shapes.push_back(op.input(i));
  return shapes;
}
inline std::vector<Shape> output_shapes(const OpView& op) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < op.num_outputs(); ++i) shapes.push_back(op.output(i));
  return shapes;
}

// The operator named `type`, or nullptr.
const GpuOp* find_op(const std::string& type);

// Each operator family's instance (defined next to its kernels).
const GpuOp& embedding_bag_op();
const GpuOp& linear_op();
const GpuOp& relu_op();
const GpuOp& sigmoid_op();
const GpuOp& add_op();
const GpuOp& mul_op();
const GpuOp& concat_op();
const GpuOp& reshape_op();
const GpuOp& gather_op();
const GpuOp& dot_interaction_op();
const GpuOp& embedding_interaction_op();
const GpuOp& fm_interaction_op();
const GpuOp& mlp_op();
const GpuOp& reduce_sum_op();
const GpuOp& top_k_op();
// The general tensor ops (OPS.md, ONNX semantics): tensor_copy.cpp, tensor_elementwise.cpp.
const GpuOp& strided_copy_op();  // transpose, slice, expand
const GpuOp& take_op();
const GpuOp& fixed_bag_offsets_op();
const GpuOp& table_offsets_op();
const GpuOp& elementwise_op();

}  // namespace cagr::gpu
