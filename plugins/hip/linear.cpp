// linear (OPS.md): the op's checks and variants; the work is done by linear_narrow (every vendor,
// N <= 8), linear_short_k (every vendor, K <= 32), linear_tiled (every vendor), linear_wgmma
// (NVIDIA sm_90), linear_3xtf32 or linear_blaslt (NVIDIA).
#include <algorithm>
#include <memory>
#include <string>

#include "activation.hpp"
#include "device_memory.hpp"
#include "gpu_op.hpp"
#include "linear_narrow.hpp"
#include "linear_short_k.hpp"
#include "linear_tiled.hpp"
#if defined(CAGR_GPU_VENDOR_NVIDIA)
#include "linear_3xtf32.hpp"
#include "linear_blaslt.hpp"
#include "linear_wgmma.hpp"
#endif

namespace cagr::gpu {
namespace {

struct LinearShape {
  int64_t m, n, k;
  bool has_bias;

  LinearShape(const std::vector<Shape>& in, const std::vector<Shape>& out) {
    if (in.size() < 2 || in.size() > 3 || out.size() != 1) plugin::invalid("linear: takes X, W, optional bias; one output Y");
    for (const Shape& s : in)
      if (s.dtype != CAGR_DTYPE_F32) plugin::invalid("linear: inputs must be f32");
    if (out[0].dtype != CAGR_DTYPE_F32) plugin::invalid("linear: Y must be f32");
    if (in[0].rank() != 2 || in[1].rank() != 2 || in[0].dims[1] != in[1].dims[1])
      plugin::invalid("linear: X must be [M, K] and W [N, K] with the same K");
    m = in[0].dims[0], k = in[0].dims[1], n = in[1].dims[0];
    has_bias = in.size() == 3;
    if (has_bias && (in[2].rank() != 1 || in[2].dims[0] != n)) plugin::invalid("linear: bias must be [N] = [" + std::to_string(n) + "]");
    if (out[0].rank() != 2 || out[0].dims[0] != m || out[0].dims[1] != n)
      plugin::invalid("linear: Y must be [M, N] = [" + std::to_string(m) + ", " + std::to_string(n) + "]");
  }
};

// How a linear runs: cuBLASLt with one of its suggested algorithms, f32 on the tensor cores by
// split precision (mma.sync, with K split over 1, 2 or 4 groups of warps, or Hopper's wgmma in
// blocks of 256 x 128, 128 x 128 or 64 x 64), our tiled kernel, or, for a narrow output, a warp
// per row, and for a short K the write-bound short_k kernel.
struct Path {
  enum Kind { blaslt, split_tf32, split_tf32_wgmma, tiled, narrow, short_k } kind = tiled;
  int suggestion = 0;  // cuBLASLt's; for split_tf32_wgmma, the rows of a block; for split_tf32, its K groups (0: one)
  int cols = 0;        // for split_tf32_wgmma, the columns of a block
  std::string name() const {
    if (kind == tiled) return "tiled_64x64";
    if (kind == narrow) return "warp_per_row";
    if (kind == short_k) return "short_k";
    if (kind == split_tf32) return suggestion > 1 ? "3xtf32_ksplit" + std::to_string(suggestion) : "3xtf32";
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    if (kind == split_tf32_wgmma) return "3xtf32_wgmma_" + std::to_string(suggestion) + "x" + std::to_string(cols);
#endif
    return suggestion == 0 ? "cublaslt" : "cublaslt_suggestion_" + std::to_string(suggestion);
  }
};

class LinearKernel : public GpuKernel {
 public:
  // `constant_w`: W on the device when it was given at creation, else nullptr.
  LinearKernel(const LinearShape& shape, Activation act, Path path, bool allow_tf32, const DeviceState& device,
               const void* constant_w)
      : shape_(shape), act_(act), path_(path) {
    multiprocessors_ = device.facts().multiprocessors;
    if (path.kind == Path::short_k) short_k_blocks_ = linear_short_k_resident_blocks(multiprocessors_);
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    if (path.kind == Path::blaslt)
      blaslt_ = std::make_unique<BlasLtLinear>(shape.n, shape.k, shape.has_bias, act, BlasLtTypes::f32(allow_tf32), path.suggestion);
    if (path.kind == Path::split_tf32_wgmma) {
      split_w_ = DeviceMemory(size_t(linear_wgmma_split_floats(shape.n, shape.k, path.cols)) * sizeof(float));
      if (constant_w != nullptr) {  // split once; runs then read only the split copy
        split_linear_wgmma_weights(static_cast<const float*>(constant_w), shape.n, shape.k, path.cols, split_data(), nullptr);
        check(hipStreamSynchronize(nullptr), "splitting linear's W");  // the run's stream does not wait for this one
        split_is_current_ = true;
      }
    }
#else
    (void)path, (void)allow_tf32, (void)constant_w;
#endif
  }

  void run(const RunTensors& t) override {
    const LinearShape s(t.input_shapes, t.output_shapes);
    if (s.n != shape_.n || s.k != shape_.k || s.has_bias != shape_.has_bias)
      plugin::invalid("linear: N, K or the bias differ from those the kernel was created with");
    const auto* x = static_cast<const float*>(t.inputs[0]);
    const auto* w = static_cast<const float*>(t.inputs[1]);
    const auto* bias = s.has_bias ? static_cast<const float*>(t.inputs[2]) : nullptr;
    auto* y = static_cast<float*>(t.outputs[0]);
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    if (blaslt_) return blaslt_->run(x, w, bias, y, s.m, t.stream);
    if (path_.kind == Path::split_tf32_wgmma && reinterpret_cast<uintptr_t>(x) % 16 == 0) {
      if (!split_is_current_) split_linear_wgmma_weights(w, s.n, s.k, path_.cols, split_data(), t.stream);  // W may change between runs
      return launch_linear_wgmma({path_.suggestion, path_.cols}, x, w, split_data(), bias, y, s.m, s.n, s.k, act_, t.stream);
    }
    // (An X that is not 16-byte aligned, a view into another tensor, takes the mma.sync kernel.)
    if (path_.kind == Path::split_tf32_wgmma) return launch_linear_3xtf32(x, w, bias, y, s.m, s.n, s.k, act_, 1, t.stream);
    if (path_.kind == Path::split_tf32)
      return launch_linear_3xtf32(x, w, bias, y, s.m, s.n, s.k, act_, std::max(1, path_.suggestion), t.stream);
#endif
    if (path_.kind == Path::narrow) return launch_linear_narrow(x, w, bias, y, s.m, s.n, s.k, act_, multiprocessors_, t.stream);
    if (path_.kind == Path::short_k) return launch_linear_short_k(x, w, bias, y, s.m, s.n, s.k, act_, short_k_blocks_, t.stream);
    launch_linear_tiled(x, w, bias, y, s.m, s.n, s.k, act_, t.stream);
  }

 private:
  LinearShape shape_;
  Activation act_;
  Path path_;
  int multiprocessors_ = 0;
  int64_t short_k_blocks_ = 0;
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  float* split_data() const { return static_cast<float*>(split_w_.get()); }
  std::unique_ptr<BlasLtLinear> blaslt_;
  DeviceMemory split_w_;           // W in linear_wgmma's split layout (one per kernel: runs do not overlap, cagr_plugin.h)
  bool split_is_current_ = false;  // W was a constant, split at creation
#endif
};

// The order is the default choice (the first) and then the alternatives tuning tries. For a narrow
// output the warp-per-row kernel comes first (one pass over X, the activation fused), then for a
// short K the short_k kernel - except where TF32 is allowed on NVIDIA, where cuBLASLt's TF32 kernel
// was faster on DLRM's 16384 x 13 -> 512 (19.8 against 23.0 us on the H100, ncu; in f32 short_k
// and cuBLASLt took 22.9 and 23.5 us, docs/PERF.md). On NVIDIA, in
// f32, 3xTF32 comes next where K allows its 16-byte loads (with 4-byte loads cuBLAS is faster, and
// where TF32 is allowed cuBLAS's TF32 is 3-4x faster: bench/linear_gpu_bench.cpp); then cuBLASLt's
// first suggestion, our tiled kernel, and cuBLASLt's other suggestions. On sm_90, in f32, where K
// allows 16-byte loads, the wgmma kernel comes too, in each of its blocks (256 x 128, 128 x 128,
// 64 x 64) that N fills: the largest whose blocks number at least half the multiprocessors comes
// before the mma.sync 3xTF32 kernel, the others after it. On the H100, DLRM's 16384 x 512 -> 256
// took 45.6 us in 256-row blocks (128 of them), 50.3 in 128-row blocks and 76.9 with mma.sync; at
// 2048 rows 41.3, 24.2 and 15.2 us (docs/PERF.md): too few large blocks to fill the device. On the
// H200 the 64 x 64 block took 2048 x 512 -> 256 in 11.1 us and 2048 x 368 -> 512 in 12.7 (mma.sync:
// 13.3 and 18.2). The mma.sync kernel also comes with its K split over 2 or 4 groups of warps in a
// block (more warps on one tile of Y): where Y's 64 x 64 tiles do not outnumber the SMs, the most
// groups that leave each group two K tiles go first.
// On the H100, 2048 x 512 -> 256 (128 tiles) took 13.8 us with 4 groups, 14.5 with 2 and 15.4 with
// one; 2048 x 368 -> 512 (256 tiles) 22.8-22.9 against 17.9 with one.
std::vector<Path> paths(const LinearShape& s, bool allow_tf32, const RuntimeFacts& device) {
  std::vector<Path> all;
  if (s.n <= kNarrowMaxN) all.push_back({Path::narrow});
  const bool short_k = s.k <= kShortMaxK;
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  const bool vectors = s.k % 4 == 0;  // the tensor-core kernels' 16-byte loads
  if (allow_tf32) {
    all.push_back({Path::blaslt});
    all.push_back({Path::split_tf32});
    if (short_k) all.push_back({Path::short_k});
  } else {
    if (short_k) all.push_back({Path::short_k});
    auto fills_half = [&](const Path& p) {
      return 2 * ((s.m + p.suggestion - 1) / p.suggestion) * ((s.n + p.cols - 1) / p.cols) >= device.multiprocessors;
    };
    std::vector<Path> wgmma;  // the largest tile that fills half the device first
    if (vectors && linear_wgmma_runs_on(device.arch))
      for (const WgmmaTile& tile : kWgmmaTiles)
        if (s.n >= tile.cols) wgmma.push_back({Path::split_tf32_wgmma, tile.rows, tile.cols});
    const auto filling = std::find_if(wgmma.begin(), wgmma.end(), fills_half);
    if (filling != wgmma.end()) std::rotate(wgmma.begin(), filling, filling + 1);
    const size_t wgmma_first = filling != wgmma.end() ? 1 : 0;
    std::vector<Path> mma_sync;  // split_tf32 with 1, 2 or 4 K groups, each group with a K tile at least
    if (vectors) {
      const int64_t k_tiles = (s.k + 31) / 32, tiles = ((s.m + 63) / 64) * ((s.n + 63) / 64);
      int first = 1;  // where the tiles do not outnumber the SMs, the most groups that leave each two K tiles
      if (tiles <= device.multiprocessors) first = k_tiles >= 8 ? 4 : k_tiles >= 4 ? 2 : 1;
      mma_sync.push_back({Path::split_tf32, first});
      for (int groups : {1, 2, 4})
        if (groups != first && k_tiles >= groups) mma_sync.push_back({Path::split_tf32, groups});
    }
    all.insert(all.end(), wgmma.begin(), wgmma.begin() + wgmma_first);
    all.insert(all.end(), mma_sync.begin(), mma_sync.begin() + (mma_sync.empty() ? 0 : 1));
    all.insert(all.end(), wgmma.begin() + wgmma_first, wgmma.end());
    all.insert(all.end(), mma_sync.begin() + (mma_sync.empty() ? 0 : 1), mma_sync.end());
    all.push_back({Path::blaslt});
    if (!vectors) all.push_back({Path::split_tf32});
  }
#else
  (void)allow_tf32, (void)device;
  if (short_k) all.push_back({Path::short_k});
#endif
  all.push_back({Path::tiled});
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  for (int i = 1; i < kBlasLtSuggestions; ++i) all.push_back({Path::blaslt, i});
#endif
  return all;
}

class LinearOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState& device, const cagr_context& context) const override {
    const LinearShape s(input_shapes(op), output_shapes(op));
    parse_activation(op.attr_string("activation", "none"), "linear");
    const double flops = 2.0 * s.m * s.n * s.k;
    const double bytes = 4.0 * (s.m * s.k + s.n * s.k + s.m * s.n + (s.has_bias ? s.n : 0));
    const bool tf32 = tf32_allowed(op, context);
    OpVariants out;
    for (const Path& p : paths(s, tf32, device.facts()))  // cuBLASLt computes in TF32 where allowed; 3xTF32 is f32-accurate
      out.variants.push_back({p.name(), flops, bytes, 1.0, tf32 && p.kind == Path::blaslt ? CAGR_MATH_TF32 : CAGR_MATH_F32});
    return out;
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    const LinearShape s(input_shapes(setup.op), output_shapes(setup.op));
    const Activation act = parse_activation(setup.op.attr_string("activation", "none"), "linear");
    const bool tf32 = tf32_allowed(setup.op, setup.context);
    const std::vector<Path> available = paths(s, tf32, setup.device.facts());
    if (setup.variant < 0 || setup.variant >= static_cast<int>(available.size()))
      plugin::invalid("linear: variant " + std::to_string(setup.variant) + " does not exist here");
    return std::make_unique<LinearKernel>(s, act, available[static_cast<size_t>(setup.variant)], tf32,
                                          setup.device, setup.constants.size() > 1 ? setup.constants[1] : nullptr);
  }
};

}  // namespace

const GpuOp& linear_op() {
  static const LinearOp op;
  return op;
}

}  // namespace cagr::gpu
