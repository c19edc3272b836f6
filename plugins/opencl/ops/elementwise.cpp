// elementwise.cpp - relu, sigmoid, add, mul (OPS.md): one work-item per output element.
#include "device.hpp"
#include "elementwise_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

// The kernel (named after the op) and the elements of A and B (B: a suffix of A, or 1 when absent).
struct Elementwise {
  const char* kernel;
  int64_t numel;
  int64_t b_numel;
  bool binary;
  double flops_per_element;
};

Elementwise elementwise(const contract::Checked& checked) {
  if (const auto* u = std::get_if<contract::Unary>(&checked)) {
    const bool relu = u->activation == contract::Activation::relu;
    return {relu ? "relu" : "sigmoid", u->numel, 1, false, relu ? 1.0 : 4.0};
  }
  const auto& b = std::get<contract::Binary>(checked);
  return {b.multiply ? "mul" : "add", b.numel, b.b_numel, true, 1.0};
}

std::vector<VariantCost> variants(const contract::Checked& checked, const Device&) {
  const Elementwise e = elementwise(checked);
  return {{"wg256", e.flops_per_element * e.numel, 4.0 * (2 * e.numel + (e.binary ? e.b_numel : 0)), 0.7}};
}

class ElementwiseKernel final : public OpKernel {
 public:
  ElementwiseKernel(Device& device, const char* kernel)
      : kernel_(make_kernel(device, source::elementwise, "", kernel)), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Elementwise e = elementwise(launch.sizes);
    if (e.binary)
      set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], launch.outputs[0], static_cast<cl_long>(e.numel),
               static_cast<cl_long>(std::max<int64_t>(e.b_numel, 1)));
    else
      set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(e.numel));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(e.numel), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked& checked, const std::string&,
                                 const std::vector<cl_mem>&) {
  return std::make_unique<ElementwiseKernel>(device, elementwise(checked).kernel);
}

}  // namespace

const OpDefinition kRelu = {"relu", variants, create};
const OpDefinition kSigmoid = {"sigmoid", variants, create};
const OpDefinition kAdd = {"add", variants, create};
const OpDefinition kMul = {"mul", variants, create};

}  // namespace cagr::opencl
