// elementwise.cpp - relu, sigmoid, add, mul (OPS.md): one work-item per output element.
#include "device.hpp"
#include "elementwise_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

struct Elementwise {
  const char* type;   // op type, which is also the kernel's name
  bool binary;        // add / mul: B repeated over A's leading dims
  double flops;       // per element
};

constexpr Elementwise kReluOp{"relu", false, 1};
constexpr Elementwise kSigmoidOp{"sigmoid", false, 4};
constexpr Elementwise kAddOp{"add", true, 1};
constexpr Elementwise kMulOp{"mul", true, 1};

// Elements of A, and of B (its suffix) for binary ops.
std::pair<int64_t, int64_t> check_shapes(const Elementwise& e, const std::vector<plugin::Shape>& in,
                                         const std::vector<plugin::Shape>& out) {
  require(in.size() == (e.binary ? 2u : 1u) && out.size() == 1, e.type,
          e.binary ? "takes inputs A and B and has one output" : "takes one input and has one output");
  require_f32(in[0], e.type, e.binary ? "A" : "input");
  require_f32(out[0], e.type, "output");
  require_dims(out[0], in[0].dims, e.type, "output");
  if (!e.binary) return {in[0].numel(), 1};
  const plugin::Shape& b = in[1];
  require_f32(b, e.type, "B");
  const bool suffix = b.rank() <= in[0].rank() &&
                      std::equal(b.dims.begin(), b.dims.end(), in[0].dims.end() - b.rank());
  require(suffix, e.type, "B " + dims_text(b.dims) + " is neither A's shape " + dims_text(in[0].dims) + " nor a suffix of it");
  return {in[0].numel(), b.numel()};
}

template <const Elementwise& E>
std::vector<VariantCost> variants(const plugin::OpView& op, const Device&) {
  const auto [n, nb] = check_shapes(E, input_shapes(op), output_shapes(op));
  return {{"wg256", E.flops * n, 4.0 * (2 * n + (E.binary ? nb : 0)), 0.7}};
}

template <const Elementwise& E>
class ElementwiseKernel final : public OpKernel {
 public:
  explicit ElementwiseKernel(Device& device)
      : kernel_(make_kernel(device, source::elementwise, "", E.type)), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const auto [n, nb] = check_shapes(E, launch.input_shapes, launch.output_shapes);
    if (E.binary) {
      if (n > 0) require(nb > 0, E.type, "B is empty");
      set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], launch.outputs[0], static_cast<cl_long>(n),
               static_cast<cl_long>(nb));
    } else {
      set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(n));
    }
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(n), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

template <const Elementwise& E>
std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string&,
                                 const std::vector<cl_mem>&) {
  check_shapes(E, input_shapes(op), output_shapes(op));
  return std::make_unique<ElementwiseKernel<E>>(device);
}

}  // namespace

const OpDefinition kRelu = {"relu", variants<kReluOp>, create<kReluOp>};
const OpDefinition kSigmoid = {"sigmoid", variants<kSigmoidOp>, create<kSigmoidOp>};
const OpDefinition kAdd = {"add", variants<kAddOp>, create<kAddOp>};
const OpDefinition kMul = {"mul", variants<kMulOp>, create<kMulOp>};

}  // namespace cagr::opencl
