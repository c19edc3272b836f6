// linear.cpp - the fully connected layer with bias and activation fused (OPS.md, linear).
#include "device.hpp"
#include "linear_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::Linear;

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
  const Sizes& s = std::get<Sizes>(checked);
  const double flops = 2.0 * s.m * s.n * s.k;
  const double bytes = 4.0 * (s.m * s.k + s.n * s.k + s.m * s.n + (s.has_bias ? s.n : 0));
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
    const Sizes& s = std::get<Sizes>(launch.sizes);
    if (s.m == 0 || s.n == 0) return;
    const cl_mem bias = s.has_bias ? launch.inputs[2] : nullptr;
    set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], bias, launch.outputs[0], static_cast<cl_int>(s.m),
             static_cast<cl_int>(s.n), static_cast<cl_int>(s.k), static_cast<cl_int>(s.has_bias),
             activation_code(s.activation));
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

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked&, const std::string& variant,
                                 const std::vector<cl_mem>&) {
  for (const Tiling& t : kTilings)
    if (variant == t.name) return std::make_unique<Linear>(device, t);
  plugin::unsupported("linear: no variant named " + variant);
}

}  // namespace

const OpDefinition kLinear = {"linear", variants, create};

}  // namespace cagr::opencl
