// linear.cpp - the fully connected layer with bias and activation fused (OPS.md, linear), and
// cross_layer: the same tiled product with its multiply-add epilogue (linear.cl's `cross`).
#include "device.hpp"
#include "linear_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::Linear;
using Operands = contract::LinearOperands;

// ACTIVATION_* of linear.cl.
cl_int activation_code(contract::Activation a) {
  return a == contract::Activation::relu ? 1 : a == contract::Activation::sigmoid ? 2 : 0;
}

// A variant: output tiles of tile × tile, each work-item computing per_item × per_item of them.
struct Tiling {
  const char* name;
  int tile;
  int per_item;
  double efficiency;
};
constexpr Tiling kTilings[] = {{"tiled32", 32, 2, 0.4}, {"tiled16", 16, 1, 0.25}};

size_t group_size(const Tiling& t) { return static_cast<size_t>(t.tile / t.per_item) * static_cast<size_t>(t.tile / t.per_item); }
uint64_t local_bytes(const Tiling& t) { return 2ull * t.tile * (t.tile + 1) * sizeof(float); }

std::vector<VariantCost> variants(const contract::Checked& checked, const Device& device) {
  const Operands o = contract::linear_operands(checked);
  const Sizes& s = o.sizes;
  const double epilogue = o.cross ? 2.0 * s.m * s.n : 0.0;  // x0 and R: a multiply-add and two reads
  const double flops = 2.0 * s.m * s.n * s.k + epilogue;
  const double bytes = 4.0 * (s.m * s.k + s.n * s.k + s.m * s.n + (s.has_bias ? s.n : 0) + epilogue);
  std::vector<VariantCost> out;
  for (const Tiling& t : kTilings)
    if (group_size(t) <= device.max_work_group_size() && local_bytes(t) <= device.local_memory_bytes())
      out.push_back({t.name, flops, bytes, t.efficiency});
  return out;
}

class Linear final : public OpKernel {
 public:
  Linear(Device& device, const Tiling& tiling) : tiling_(tiling) {
    kernel_ = make_kernel(device, source::linear,
                          "-DTILE=" + std::to_string(tiling.tile) + " -DWPT=" + std::to_string(tiling.per_item), "linear");
    size_t limit = 0;
    check_cl(clGetKernelWorkGroupInfo(kernel_.get(), device.id(), CL_KERNEL_WORK_GROUP_SIZE, sizeof(limit), &limit, nullptr),
             "clGetKernelWorkGroupInfo");
    if (group_size(tiling) > limit)
      plugin::unsupported(std::string("linear: variant ") + tiling.name + " needs work-groups of " +
                          std::to_string(group_size(tiling)) + ", the compiled kernel allows " + std::to_string(limit));
  }

  void run(const Launch& launch) override {
    const Operands o = contract::linear_operands(launch.sizes);
    const Sizes& s = o.sizes;
    if (s.m == 0 || s.n == 0) return;
    const cl_mem bias = s.has_bias ? launch.inputs[o.bias] : nullptr;
    const cl_mem x0 = o.cross ? launch.inputs[o.x0] : nullptr;
    const cl_mem residual = o.cross ? launch.inputs[o.residual] : nullptr;
    set_args(kernel_.get(), launch.inputs[o.x], launch.inputs[o.w], bias, x0, residual, launch.outputs[0],
             static_cast<cl_int>(s.m), static_cast<cl_int>(s.n), static_cast<cl_int>(s.k), static_cast<cl_int>(s.has_bias),
             activation_code(s.activation), static_cast<cl_int>(o.cross));
    const size_t threads = static_cast<size_t>(tiling_.tile / tiling_.per_item);
    const size_t tiles_n = static_cast<size_t>((s.n + tiling_.tile - 1) / tiling_.tile);
    const size_t tiles_m = static_cast<size_t>((s.m + tiling_.tile - 1) / tiling_.tile);
    const size_t global[2] = {tiles_n * threads, tiles_m * threads};
    const size_t local[2] = {threads, threads};
    check_cl(clEnqueueNDRangeKernel(launch.queue, kernel_.get(), 2, nullptr, global, local, 0, nullptr, nullptr),
             "clEnqueueNDRangeKernel (linear)");
  }

 private:
  Tiling tiling_;
  KernelHandle kernel_;
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked& checked, const std::string& variant,
                                 const std::vector<cl_mem>&) {
  for (const Tiling& t : kTilings)
    if (variant == t.name) return std::make_unique<Linear>(device, t);
  plugin::unsupported(std::string(contract::linear_operands(checked).cross ? "cross_layer" : "linear") + ": no variant named " + variant);
}

}  // namespace

const OpDefinition kLinear = {"linear", variants, create};
const OpDefinition kCrossLayer = {"cross_layer", variants, create};

}  // namespace cagr::opencl
