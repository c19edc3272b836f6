// dot_interaction and fm_interaction (OPS.md): the feature-interaction layers of DLRM and DeepFM,
// each one fused kernel reading a sample's features once.
#include <algorithm>
#include <cmath>

#include "device_memory.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

constexpr int64_t kMaxSharedFeatureBytes = 48 * 1024;  // what every GPU gives a block without opting in

struct FeatureShape {
  int64_t batch, features, dim;
  FeatureShape(const std::vector<Shape>& in, const std::vector<Shape>& out, const std::string& op, int64_t cols) {
    if (in.size() != 1 || out.size() != 1) plugin::invalid(op + ": takes one input and one output");
    if (in[0].dtype != CAGR_DTYPE_F32 || in[0].rank() != 3) plugin::invalid(op + ": features must be f32 [B, F, D]");
    batch = in[0].dims[0], features = in[0].dims[1], dim = in[0].dims[2];
    if (out[0].dtype != CAGR_DTYPE_F32 || out[0].rank() != 2 || out[0].dims[0] != batch || out[0].dims[1] != cols)
      plugin::invalid(op + ": output must be f32 [" + std::to_string(batch) + ", " + std::to_string(cols) + "]");
  }
};

int64_t pair_count(int64_t features, bool self) { return self ? features * (features + 1) / 2 : features * (features - 1) / 2; }

// The pairs of OPS.md's order as (i << 8 | j), made once per kernel on the host: the kernel looks a
// pair up instead of solving for it (a square root and a correction loop per pair).
std::vector<uint16_t> pair_table(int64_t features, bool self) {
  std::vector<uint16_t> table;
  for (int64_t i = 0; i < features; ++i)
    for (int64_t j = 0; j < (self ? i + 1 : i); ++j) table.push_back(static_cast<uint16_t>(i << 8 | j));
  return table;
}

// 32 lanes per sample, up to kMaxSamplesPerBlock samples per block (as many as 48 KiB of shared
// memory holds): each group copies its sample's [F, D] features into shared memory (coalesced) and
// its lanes take the pairs in turn, so consecutive lanes write consecutive outputs. Rows are stored `dim + 1` floats apart: with D a multiple of the
// 32 banks' width (D = 16, 32 ...) lanes reading different rows at the same d would otherwise hit
// the same banks.
constexpr int kMaxSamplesPerBlock = 8;
constexpr int kLanesPerSample = 32;

__global__ void dot_interaction_kernel(const float* features, float* dots, int64_t batch, int features_per_sample,
                                       int dim, int64_t pairs, const uint16_t* pair_ij, int samples_per_block) {
  extern __shared__ float shared[];
  const int group = int(threadIdx.x) / kLanesPerSample;
  const int lane = int(threadIdx.x) % kLanesPerSample;
  const int64_t b = int64_t(blockIdx.x) * samples_per_block + group;
  const bool active = b < batch;  // no early return: every thread reaches the barrier
  const int stride = dim + 1;
  float* sample = shared + group * features_per_sample * stride;
  const float* src = features + b * features_per_sample * int64_t(dim);
  if (active)
    for (int e = lane; e < features_per_sample * dim; e += kLanesPerSample) sample[(e / dim) * stride + e % dim] = src[e];
  __syncthreads();
  if (!active) return;
  for (int64_t p = lane; p < pairs; p += kLanesPerSample) {
    const int i = pair_ij[p] >> 8, j = pair_ij[p] & 0xff;
    float sum = 0.f;
    for (int d = 0; d < dim; ++d) sum = fmaf(sample[i * stride + d], sample[j * stride + d], sum);
    dots[b * pairs + p] = sum;
  }
}

class DotInteractionKernel : public GpuKernel {
 public:
  DotInteractionKernel(bool self, int64_t features) : self_(self), features_(features) {
    const std::vector<uint16_t> table = pair_table(features, self);
    pairs_ = DeviceMemory(table.size() * sizeof(uint16_t));
    if (!table.empty())
      check(hipMemcpy(pairs_.get(), table.data(), table.size() * sizeof(uint16_t), hipMemcpyHostToDevice), "pair table upload");
  }
  void run(const RunTensors& t) override {
    const int64_t f = t.input_shapes[0].rank() == 3 ? t.input_shapes[0].dims[1] : 0;
    const FeatureShape s(t.input_shapes, t.output_shapes, "dot_interaction", pair_count(f, self_));
    const int64_t pairs = pair_count(s.features, self_);
    if (s.batch == 0 || pairs == 0) return;
    if (s.features != features_) plugin::invalid("dot_interaction: the number of features changed since kernel_create");
    const int64_t sample_bytes = s.features * (s.dim + 1) * 4;
    const int per_block = int(std::min<int64_t>(kMaxSamplesPerBlock, kMaxSharedFeatureBytes / sample_bytes));
    const auto blocks = static_cast<unsigned>((s.batch + per_block - 1) / per_block);
    dot_interaction_kernel<<<blocks, per_block * kLanesPerSample, static_cast<size_t>(per_block * sample_bytes), t.stream>>>(
        static_cast<const float*>(t.inputs[0]), static_cast<float*>(t.outputs[0]), s.batch, int(s.features), int(s.dim),
        pairs, static_cast<const uint16_t*>(pairs_.get()), per_block);
    check_launch("dot_interaction_kernel");
  }

 private:
  bool self_;
  int64_t features_;
  DeviceMemory pairs_;
};

class DotInteractionOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&) const override {
    const bool self = op.attr_int("self_interaction", 0) != 0;
    const int64_t f = op.num_inputs() == 1 && op.input(0).rank() == 3 ? op.input(0).dims[1] : 0;
    const FeatureShape s(input_shapes(op), output_shapes(op), "dot_interaction", pair_count(f, self));
    if (s.features > 255) plugin::unsupported("dot_interaction: more than 255 features per sample");
    if (s.features * (s.dim + 1) * 4 > kMaxSharedFeatureBytes)
      plugin::unsupported("dot_interaction: a sample's features (" + std::to_string(s.features * (s.dim + 1) * 4) +
                          " bytes) exceed the 48 KiB of shared memory this kernel keeps them in");
    const double pairs = double(pair_count(s.features, self));
    return {{{"warp_per_sample", 2.0 * s.batch * pairs * s.dim, 4.0 * s.batch * (s.features * s.dim + pairs)}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device);
    return std::make_unique<DotInteractionKernel>(setup.op.attr_int("self_interaction", 0) != 0, setup.op.input(0).dims[1]);
  }
};

// 32 lanes per sample, each lane a slice of D; sums of a column and of its squares per lane, then
// reduced across the lanes. Double accumulation: the term is a difference of two similar sums.
constexpr int kFmLanes = 32;

__global__ void fm_interaction_kernel(const float* features, float* fm, int64_t batch, int features_per_sample, int dim) {
  const int64_t b = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kFmLanes;
  if (b >= batch) return;  // whole groups leave together
  const int lane = threadIdx.x % kFmLanes;
  const float* x = features + b * features_per_sample * int64_t(dim);
  double term = 0;
  for (int d = lane; d < dim; d += kFmLanes) {
    double sum = 0, squares = 0;
    for (int f = 0; f < features_per_sample; ++f) {
      const double v = x[int64_t(f) * dim + d];
      sum += v;
      squares += v * v;
    }
    term += sum * sum - squares;
  }
  const float total = group_sum(group_lane_mask(kFmLanes), float(term), kFmLanes);
  if (lane == 0) fm[b] = 0.5f * total;
}

class FmInteractionKernel : public GpuKernel {
 public:
  void run(const RunTensors& t) override {
    const FeatureShape s(t.input_shapes, t.output_shapes, "fm_interaction", 1);
    if (s.batch == 0) return;
    fm_interaction_kernel<<<blocks_for(s.batch * kFmLanes), kBlockThreads, 0, t.stream>>>(
        static_cast<const float*>(t.inputs[0]), static_cast<float*>(t.outputs[0]), s.batch, int(s.features), int(s.dim));
    check_launch("fm_interaction_kernel");
  }
};

class FmInteractionOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&) const override {
    const FeatureShape s(input_shapes(op), output_shapes(op), "fm_interaction", 1);
    return {{{"group_per_sample", 3.0 * s.batch * s.features * s.dim, 4.0 * s.batch * (s.features * s.dim + 1)}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device);
    return std::make_unique<FmInteractionKernel>();
  }
};

}  // namespace

const GpuOp& dot_interaction_op() {
  static const DotInteractionOp op;
  return op;
}
const GpuOp& fm_interaction_op() {
  static const FmInteractionOp op;
  return op;
}

}  // namespace cagr::gpu
