// mlp (OPS.md): offered on NVIDIA (sm_80 and later) where the user allows bf16 (plugin option
// allow_bf16=1). The layers run as cuBLASLt GEMMs on the bf16 tensor cores, summing in f32, with
// the activations between them kept in bf16 in device memory: at DLRM's shapes the layers cost
// mostly the bytes of those activations (the TF32 pass at batch 16384 writes and reads two
// 512-wide ones, 33.5 MB each way in f32; docs/PERF.md), and bf16 halves them. A first pass rounds
// X to bf16 (its rows padded to 16 bytes) unless X comes in bf16 (OPS.md: the core asks for that
// where X is written by a dlrm_embedding_interaction for the mlp alone, which then writes it in
// bf16); the last layer writes Y in f32, through a warp per row
// where Y is narrow (linear's warp_per_row, reading bf16). Without allow_bf16 the op is refused
// with the reason, and the core keeps the linears: in f32 and TF32 kernels that kept the
// activations on chip were slower than cuBLASLt's layer by layer (PERF.md, stops 16 and 18).
#include <algorithm>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gpu_op.hpp"
#include "op_contract.hpp"
#if defined(CAGR_GPU_VENDOR_NVIDIA)
#include "bf16_convert.hpp"
#include "device_memory.hpp"
#include "linear_blaslt.hpp"
#include "linear_narrow.hpp"
#endif

namespace cagr::gpu {
namespace {

#if defined(CAGR_GPU_VENDOR_NVIDIA)
Activation activation_of(contract::Activation a) {
  switch (a) {
    case contract::Activation::relu: return Activation::relu;
    case contract::Activation::sigmoid: return Activation::sigmoid;
    default: return Activation::none;
  }
}

// The op's sizes (op contract); refuses what the bf16 chain does not run, naming why.
contract::Mlp mlp_sizes(const OpView& op, const DeviceState& device, const cagr_context& context) {
  const auto s = std::get<contract::Mlp>(contract::check(op));
  const std::string keep = "; the linears run one by one";
  if (!bf16_allowed(op, context))
    plugin::unsupported("mlp: runs as one op only where bf16 is allowed (--precision=bf16, or plugin option allow_bf16=1); in f32 and TF32 the "
                        "linears one by one are as fast" + keep);
  if (s.k.size() < 2) plugin::unsupported("mlp: one layer is a linear; the chain starts at two" + keep);
  if (s.x_dtype == CAGR_DTYPE_BF16 && s.k[0] % 8 != 0)
    plugin::unsupported("mlp: a bf16 X needs K_0 a multiple of 8 (16-byte rows), got " + std::to_string(s.k[0]));
  const std::string& arch = device.facts().arch;
  if (arch.rfind("sm_", 0) != 0 || std::stoi(arch.substr(3)) < 80)
    plugin::unsupported("mlp: the bf16 tensor cores start at sm_80, this device is " + arch + keep);
  for (size_t l = 0; l + 1 < s.n.size(); ++l) {
    if (s.n[l] % 8 != 0)
      plugin::unsupported("mlp: hidden width " + std::to_string(s.n[l]) + " (layer " + std::to_string(l) +
                          ") is not a multiple of 8, the bf16 GEMMs' 16-byte rows" + keep);
    if (s.activations[l] == contract::Activation::sigmoid)
      plugin::unsupported("mlp: a sigmoid inside the chain (layer " + std::to_string(l) +
                          ") has no bf16 epilogue in cuBLASLt" + keep);
  }
  return s;
}

// The last layer through linear_narrow (a warp per row, the activation fused) where Y is that narrow.
bool narrow_last(const contract::Mlp& s) { return s.n.back() <= kNarrowMaxN; }

class Bf16ChainKernel : public GpuKernel {
 public:
  Bf16ChainKernel(const KernelSetup& setup, const contract::Mlp& s)
      : s_(s), layers_(s.k.size()), x_bf16_(s.x_dtype == CAGR_DTYPE_BF16), k0_padded_(bf16_padded(s.k[0])),
        multiprocessors_(setup.device.facts().multiprocessors) {
    for (size_t l = 0; l < layers_; ++l) {
      const bool last = l + 1 == layers_;
      if (last && narrow_last(s)) break;  // reads the f32 W and bias as given
      w16_.emplace_back(size_t(s.n[l] * k_padded(l)) * 2);
      if (!last) b16_.emplace_back(size_t(s.n[l]) * 2);  // a bf16 Y takes its bias in bf16; the last layer's f32 as given
      gemms_.push_back(std::make_unique<BlasLtLinear>(s.n[l], k_padded(l), true, activation_of(s.activations[l]),
                                                      BlasLtTypes::bf16(last ? CUDA_R_32F : CUDA_R_16BF), 0));
    }
    weights_constant_ = setup.constants.size() == 1 + 2 * layers_;
    for (size_t i = 1; i < setup.constants.size(); ++i) weights_constant_ = weights_constant_ && setup.constants[i] != nullptr;
    if (weights_constant_) {  // rounded once; runs then read only the bf16 copies
      round_weights(setup.constants, nullptr);
      check(hipStreamSynchronize(nullptr), "rounding mlp's weights to bf16");  // the run's stream does not wait for this one
    }
    int64_t widest = 0;
    for (size_t l = 0; l + 1 < layers_; ++l) widest = std::max(widest, s.n[l]);
    if (!x_bf16_) x16_ = DeviceMemory(size_t(chunk_rows() * k0_padded_) * 2);
    for (DeviceMemory& h : hidden_) h = DeviceMemory(size_t(chunk_rows() * widest) * 2);
    choose_algorithms(setup.constants);
  }

  void run(const RunTensors& t) override {
    const int64_t m = t.input_shapes[0].dims.at(0);
    if (t.input_shapes[0].dims != std::vector<int64_t>{m, s_.k[0]} || t.output_shapes[0].dims != std::vector<int64_t>{m, s_.n.back()} ||
        t.input_shapes[0].dtype != s_.x_dtype)
      plugin::invalid("mlp: run shapes or X's dtype differ from the kernel's beyond M");
    if (!weights_constant_) round_weights(t.inputs, t.stream);  // W may change between runs
    auto* y = static_cast<float*>(t.outputs[0]);
    // Rows go through in chunks of the created M, the rows the scratch tensors hold.
    for (int64_t r0 = 0; r0 < m; r0 += chunk_rows()) {
      const int64_t rows = std::min(chunk_rows(), m - r0);
      const uint16_t* in = static_cast<const uint16_t*>(t.inputs[0]) + r0 * s_.k[0];
      if (!x_bf16_) {
        launch_to_bf16(static_cast<const float*>(t.inputs[0]) + r0 * s_.k[0], rows, s_.k[0], x16(), rows, k0_padded_, t.stream);
        in = x16();
      }
      for (size_t l = 0; l < layers_; ++l) {
        if (l + 1 == layers_) {
          float* out = y + r0 * s_.n[l];
          if (narrow_last(s_)) {
            launch_linear_narrow(in, static_cast<const float*>(t.inputs[1 + 2 * l]), static_cast<const float*>(t.inputs[2 + 2 * l]),
                                 out, rows, s_.n[l], k_padded(l), activation_of(s_.activations[l]), multiprocessors_, t.stream);
          } else {
            gemms_[l]->run(in, w16_[l].get(), t.inputs[2 + 2 * l], out, rows, t.stream);
          }
        } else {
          uint16_t* out = hidden(l % 2);
          gemms_[l]->run(in, w16_[l].get(), b16_[l].get(), out, rows, t.stream);
          in = out;
        }
      }
    }
  }

 private:
  // Layer l's K as stored: X's columns padded to 16-byte rows; the hidden widths are multiples of 8.
  int64_t k_padded(size_t l) const { return l == 0 ? k0_padded_ : s_.k[l]; }
  int64_t chunk_rows() const { return std::max<int64_t>(s_.m, 1); }
  uint16_t* x16() const { return static_cast<uint16_t*>(x16_.get()); }
  uint16_t* hidden(size_t i) const { return static_cast<uint16_t*>(hidden_[i].get()); }

  // Each GEMM runs the fastest of cuBLASLt's suggestions at the created M, timed here on the scratch
  // tensors (filled with 0x3c3c, bf16 0.0115: the timing of zeros can flatter an algorithm).
  void choose_algorithms(const std::vector<const void*>& constants) {
    DeviceMemory x(x_bf16_ ? size_t(chunk_rows() * k0_padded_) * 2 : 0);  // where runs read X as given
    void* x_scratch = x_bf16_ ? x.get() : x16_.get();
    check(hipMemsetAsync(x_scratch, 0x3c, size_t(chunk_rows() * k0_padded_) * 2, nullptr), "filling mlp's scratch");
    const void* in = x_scratch;
    for (DeviceMemory& h : hidden_) check(hipMemsetAsync(h.get(), 0x3c, h.bytes(), nullptr), "filling mlp's scratch");
    DeviceMemory y(size_t(chunk_rows() * s_.n.back()) * 4);
    DeviceMemory bias(size_t(s_.n.back()) * 4);  // the last layer's f32 bias, where it was not given
    check(hipMemsetAsync(bias.get(), 0, bias.bytes(), nullptr), "filling mlp's scratch");
    for (size_t l = 0; l < gemms_.size(); ++l) {
      const bool last = l + 1 == layers_;
      const void* b = !last ? b16_[l].get() : 2 + 2 * l < constants.size() && constants[2 + 2 * l] ? constants[2 + 2 * l] : bias.get();
      void* out = last ? y.get() : hidden_[l % 2].get();
      gemms_[l]->choose_fastest(in, w16_[l].get(), b, out, chunk_rows(), nullptr);
      in = out;
    }
  }

  // W_l and b_l (op inputs 1 + 2l, 2 + 2l, f32 on the device) into the bf16 copies the GEMMs read.
  void round_weights(const std::vector<const void*>& inputs, hipStream_t stream) {
    for (size_t l = 0; l < w16_.size(); ++l) {
      launch_to_bf16(static_cast<const float*>(inputs[1 + 2 * l]), s_.n[l], s_.k[l], static_cast<uint16_t*>(w16_[l].get()),
                     s_.n[l], k_padded(l), stream);
      if (l < b16_.size())
        launch_to_bf16(static_cast<const float*>(inputs[2 + 2 * l]), 1, s_.n[l], static_cast<uint16_t*>(b16_[l].get()), 1,
                       s_.n[l], stream);
    }
  }

  contract::Mlp s_;
  size_t layers_;
  bool x_bf16_;        // X comes in bf16, read as given
  int64_t k0_padded_;  // the K of layer 0's GEMM: X's columns, padded to 16-byte rows when X is rounded here
  int multiprocessors_;
  std::vector<DeviceMemory> w16_;  // per GEMM layer: W_l in bf16, [N_l, K_l padded]
  std::vector<DeviceMemory> b16_;  // per layer with a bf16 Y: b_l in bf16
  std::vector<std::unique_ptr<BlasLtLinear>> gemms_;
  bool weights_constant_ = false;
  DeviceMemory x16_;        // X rounded to bf16, [chunk, K_0 padded], where X comes in f32
  DeviceMemory hidden_[2];  // the activations between layers, alternately (one kernel's: runs do not overlap)
};
#endif

class MlpOp : public GpuOp {
 public:
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  OpVariants variants(const OpView& op, DeviceState& device, const cagr_context& context) const override {
    const contract::Mlp s = mlp_sizes(op, device, context);
    // X read (in f32 also rounded: written and read in bf16), each hidden activation written and
    // read in bf16, Y written in f32, the bf16 weights read once.
    const bool x_f32 = s.x_dtype == CAGR_DTYPE_F32;
    double flops = 0, bytes = (x_f32 ? 4.0 * s.m * s.k[0] + 4.0 * s.m * bf16_padded(s.k[0]) : 2.0 * s.m * s.k[0]) + 4.0 * s.m * s.n.back();
    for (size_t l = 0; l < s.k.size(); ++l) {
      flops += 2.0 * s.m * s.k[l] * s.n[l];
      bytes += 2.0 * (s.k[l] + 1) * s.n[l];
      if (l + 1 < s.k.size()) bytes += 4.0 * s.m * s.n[l];
    }
    OpVariants out;
    out.variants.push_back({"bf16_cublaslt", flops, bytes, 1.0, CAGR_MATH_BF16});
    return out;
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    const contract::Mlp s = mlp_sizes(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid("mlp: variant " + std::to_string(setup.variant) + " does not exist here");
    return std::make_unique<Bf16ChainKernel>(setup, s);
  }
#else
  OpVariants variants(const OpView&, DeviceState&, const cagr_context&) const override { refuse(); }
  std::unique_ptr<GpuKernel> create(const KernelSetup&) const override { refuse(); }

 private:
  [[noreturn]] static void refuse() {
    plugin::unsupported("mlp: the bf16 chain runs on NVIDIA's cuBLASLt; this build runs the linears one by one");
  }
#endif
};

}  // namespace

const GpuOp& mlp_op() {
  static const MlpOp op;
  return op;
}

}  // namespace cagr::gpu
