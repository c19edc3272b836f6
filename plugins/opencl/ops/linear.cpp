// linear.cpp - the fully connected layer with bias and activation fused (OPS.md, linear).
#include "device.hpp"
#include "linear_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

constexpr const char* kOp = "linear";

struct Sizes {
  int64_t m = 0, n = 0, k = 0;
  bool bias = false;
};

Sizes check_shapes(const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require((in.size() == 2 || in.size() == 3) && out.size() == 1, kOp, "takes X, W and an optional bias, and has one output");
  require_f32(in[0], kOp, "X");
  require_f32(in[1], kOp, "W");
  require(in[0].rank() == 2, kOp, "X must be [M, K], got " + dims_text(in[0].dims));
  require(in[1].rank() == 2, kOp, "W must be [N, K], got " + dims_text(in[1].dims));
  Sizes s{in[0].dims[0], in[1].dims[0], in[0].dims[1], in.size() == 3};
  require(in[1].dims[1] == s.k, kOp, "W " + dims_text(in[1].dims) + " does not match X " + dims_text(in[0].dims) + " in K");
  if (s.bias) {
    require_f32(in[2], kOp, "bias");
    require_dims(in[2], {s.n}, kOp, "bias");
  }
  require_f32(out[0], kOp, "Y");
  require_dims(out[0], {s.m, s.n}, kOp, "Y");
  return s;
}

int activation(const plugin::OpView& op) {
  const std::string name = op.attr_string("activation", "none");
  if (name == "none") return 0;
  if (name == "relu") return 1;  // ACTIVATION_RELU in linear.cl
  if (name == "sigmoid") return 2;
  plugin::invalid(std::string(kOp) + ": activation must be \"none\", \"relu\" or \"sigmoid\", got \"" + name + "\"");
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

std::vector<VariantCost> variants(const plugin::OpView& op, const Device& device) {
  activation(op);
  const Sizes s = check_shapes(input_shapes(op), output_shapes(op));
  const double flops = 2.0 * s.m * s.n * s.k;
  const double bytes = 4.0 * (s.m * s.k + s.n * s.k + s.m * s.n + (s.bias ? s.n : 0));
  std::vector<VariantCost> out;
  for (const Tiling& t : kTilings)
    if (group_size(t) <= device.max_work_group_size() && local_bytes(t) <= device.local_memory_bytes())
      out.push_back({t.name, flops, bytes, t.efficiency});
  return out;
}

class Linear final : public OpKernel {
 public:
  Linear(Device& device, const plugin::OpView& op, const Tiling& tiling)
      : tiling_(tiling), activation_(activation(op)) {
    check_shapes(input_shapes(op), output_shapes(op));
    kernel_ = make_kernel(device, source::linear, "-DTILE=" + std::to_string(tiling.tile) + " -DWPT=" + std::to_string(tiling.per_item), "linear");
    size_t limit = 0;
    check_cl(clGetKernelWorkGroupInfo(kernel_.get(), device.id(), CL_KERNEL_WORK_GROUP_SIZE, sizeof(limit), &limit, nullptr),
             "clGetKernelWorkGroupInfo");
    if (group_size(tiling) > limit)
      plugin::unsupported(std::string(kOp) + ": variant " + tiling.name + " needs work-groups of " +
                          std::to_string(group_size(tiling)) + ", the compiled kernel allows " + std::to_string(limit));
  }

  void run(const Launch& launch) override {
    const Sizes s = check_shapes(launch.input_shapes, launch.output_shapes);
    if (s.m == 0 || s.n == 0) return;
    const cl_mem bias = s.bias ? launch.inputs[2] : nullptr;
    set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], bias, launch.outputs[0], static_cast<cl_int>(s.m),
             static_cast<cl_int>(s.n), static_cast<cl_int>(s.k), static_cast<cl_int>(s.bias), activation_);
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
  cl_int activation_;
  KernelHandle kernel_;
};

std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string& variant,
                                 const std::vector<cl_mem>&) {
  for (const Tiling& t : kTilings)
    if (variant == t.name) return std::make_unique<Linear>(device, op, t);
  plugin::unsupported(std::string(kOp) + ": no variant named " + variant);
}

}  // namespace

const OpDefinition kLinear = {kOp, variants, create};

}  // namespace cagr::opencl
