// relu, sigmoid, add, mul (OPS.md): one thread per output element, grid-stride.
#include "activation.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"

namespace cagr::gpu {

Activation parse_activation(const std::string& name, const std::string& op) {
  if (name == "none") return Activation::none;
  if (name == "relu") return Activation::relu;
  if (name == "sigmoid") return Activation::sigmoid;
  plugin::invalid(op + ": activation must be \"none\", \"relu\" or \"sigmoid\", not \"" + name + "\"");
}

namespace {

__global__ void activation_kernel(Activation act, const float* x, float* y, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = activate(act, x[i]);
}

enum class Binary { add, mul };

// B repeats every `b_count` elements of A (B's shape is a suffix of A's).
__global__ void binary_kernel(Binary op, const float* a, const float* b, float* y, int64_t count, int64_t b_count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const float rhs = b[i % b_count];
    y[i] = op == Binary::add ? a[i] + rhs : a[i] * rhs;
  }
}

void require_f32(const Shape& s, const std::string& what) {
  if (s.dtype != CAGR_DTYPE_F32) plugin::invalid(what + " must be f32, not " + plugin::dtype_name(s.dtype));
}

class UnaryKernel : public GpuKernel {
 public:
  explicit UnaryKernel(Activation act) : act_(act) {}
  void run(const RunTensors& t) override {
    if (t.input_shapes[0].dims != t.output_shapes[0].dims) plugin::invalid("elementwise: output shape differs from input's");
    launch_activation(act_, static_cast<const float*>(t.inputs[0]), static_cast<float*>(t.outputs[0]),
                      t.input_shapes[0].numel(), t.stream);
  }

 private:
  Activation act_;
};

class UnaryOp : public GpuOp {
 public:
  UnaryOp(const char* name, Activation act) : name_(name), act_(act) {}
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    if (op.num_inputs() != 1 || op.num_outputs() != 1) plugin::invalid(name_ + ": takes one input and one output");
    require_f32(op.input(0), name_ + ": input");
    require_f32(op.output(0), name_ + ": output");
    if (op.input(0).dims != op.output(0).dims) plugin::invalid(name_ + ": output shape must equal the input's");
    const double n = double(op.input(0).numel());
    return {{{"elementwise", n, 8 * n}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<UnaryKernel>(act_);
  }

 private:
  std::string name_;
  Activation act_;
};

// B's element count when B is A's shape or a suffix of it; throws otherwise.
int64_t broadcast_count(const Shape& a, const Shape& b, const std::string& op) {
  const bool suffix = b.rank() <= a.rank() && std::equal(b.dims.begin(), b.dims.end(), a.dims.end() - b.rank());
  if (!suffix) plugin::invalid(op + ": B's shape must equal A's or be a suffix of it");
  return b.numel();
}

class BinaryKernel : public GpuKernel {
 public:
  BinaryKernel(Binary op, std::string name) : op_(op), name_(std::move(name)) {}
  void run(const RunTensors& t) override {
    const Shape& a = t.input_shapes[0];
    const int64_t b_count = broadcast_count(a, t.input_shapes[1], name_);
    if (t.output_shapes[0].dims != a.dims) plugin::invalid(name_ + ": output shape must equal A's");
    const int64_t count = a.numel();
    if (count == 0) return;
    if (b_count == 0) plugin::invalid(name_ + ": B is empty while A is not");
    binary_kernel<<<blocks_for(count), kBlockThreads, 0, t.stream>>>(op_, static_cast<const float*>(t.inputs[0]),
                                                                      static_cast<const float*>(t.inputs[1]),
                                                                      static_cast<float*>(t.outputs[0]), count, b_count);
    check_launch("binary_kernel");
  }

 private:
  Binary op_;
  std::string name_;
};

class BinaryOp : public GpuOp {
 public:
  BinaryOp(const char* name, Binary op) : name_(name), op_(op) {}
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    if (op.num_inputs() != 2 || op.num_outputs() != 1) plugin::invalid(name_ + ": takes inputs A, B and one output");
    require_f32(op.input(0), name_ + ": A");
    require_f32(op.input(1), name_ + ": B");
    require_f32(op.output(0), name_ + ": output");
    broadcast_count(op.input(0), op.input(1), name_);
    if (op.output(0).dims != op.input(0).dims) plugin::invalid(name_ + ": output shape must equal A's");
    const double n = double(op.input(0).numel());
    return {{{"elementwise", n, 8 * n + double(op.input(1).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<BinaryKernel>(op_, name_);
  }

 private:
  std::string name_;
  Binary op_;
};

}  // namespace

void launch_activation(Activation act, const float* x, float* y, int64_t count, hipStream_t stream) {
  if (count == 0) return;
  activation_kernel<<<blocks_for(count), kBlockThreads, 0, stream>>>(act, x, y, count);
  check_launch("activation_kernel");
}

const GpuOp& relu_op() {
  static const UnaryOp op("relu", Activation::relu);
  return op;
}
const GpuOp& sigmoid_op() {
  static const UnaryOp op("sigmoid", Activation::sigmoid);
  return op;
}
const GpuOp& add_op() {
  static const BinaryOp op("add", Binary::add);
  return op;
}
const GpuOp& mul_op() {
  static const BinaryOp op("mul", Binary::mul);
  return op;
}

}  // namespace cagr::gpu
