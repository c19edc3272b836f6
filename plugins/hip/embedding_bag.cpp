// embedding_bag: validation, variants with their costs, and the launch of embedding_bag_kernel.
#include <algorithm>
#include <memory>

#include "embedding_bag_kernel.hpp"
#include "embedding_l2_pinning.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "op_contract.hpp"

namespace cagr::gpu {
namespace {

// `extended` (ExtendedBagPooler) is the only variant of bags with max pooling, per-sample weights or
// padding rows, and is never offered for the others.
enum class Variant { baseline, occupancy, prefetch, l2_pinned, short_bags, extended };
constexpr const char* kVariantNames[] = {"group_per_bag", "group_per_bag_occupancy", "group_per_bag_prefetch",
                                         "group_per_bag_l2_pinned", "short_bags", "group_per_bag_in_order"};
// The occupancy variant's __launch_bounds__ target. The A100 study capped registers at 42 (6 blocks
// of 256 on a 64K-register multiprocessor); our kernel then spills (ptxas: 40 registers, ~500 bytes
// of spill stores, and half the bandwidth on an H100), so the cap is 64 registers: 4 blocks, twice
// the 2 blocks the uncapped kernel (80-90 registers) gets.
constexpr int kOccupancyMinBlocks = 4;
constexpr int kPrefetchMinBagsPerGroup = 2;  // prefetching needs a next bag in the same group

// The op's attributes: how bags are pooled, and which optional inputs follow the tables.
struct BagAttributes {
  std::string mode = "sum";
  bool weighted = false;  // per-sample weights [L] after the tables
  bool padded = false;    // padding rows [T] last

  explicit BagAttributes(const OpView& op)
      : mode(op.attr_string("mode", "sum")), weighted(op.attr_int("weighted", 0) != 0), padded(op.attr_int("padded", 0) != 0) {}
  // Beyond plain sum/mean pooling of every index (OPS.md's later additions): ExtendedBagPooler's.
  bool extended() const { return mode == "max" || weighted || padded; }
};

// The op's fixed facts, checked once against OPS.md (and its u8 row-wise extension).
struct EmbeddingShape {
  int tables = 0;
  int64_t batch = 0;
  int dim = 0;
  cagr_dtype table_dtype = CAGR_DTYPE_INVALID;
  int64_t row_bytes = 0;
  bool mean = false;
  bool max = false;
  bool weighted = false;
  bool padded = false;
  int64_t num_indices = 0;
  std::vector<int64_t> rows;

  EmbeddingShape(const std::vector<Shape>& inputs, const std::vector<Shape>& outputs, const BagAttributes& a)
      : weighted(a.weighted), padded(a.padded) {
    const size_t optional = (weighted ? 1 : 0) + (padded ? 1 : 0);
    if (inputs.size() < 3 + optional) plugin::invalid("embedding_bag: needs indices, offsets and at least one table");
    if (outputs.size() != 1) plugin::invalid("embedding_bag: has exactly one output");
    tables = static_cast<int>(inputs.size() - 2 - optional);
    if (tables > kMaxEmbeddingTables)
      plugin::unsupported("embedding_bag: " + std::to_string(tables) + " tables, this plugin takes at most " +
                          std::to_string(kMaxEmbeddingTables) + " in one op");
    const Shape& indices = inputs[0];
    const Shape& offsets = inputs[1];
    if (indices.rank() != 1 || !is_index_dtype(indices.dtype))
      plugin::invalid("embedding_bag: indices must be a 1-d i32/i64 tensor");
    if (offsets.rank() != 1 || !is_index_dtype(offsets.dtype) || offsets.dims[0] < 1 ||
        (offsets.dims[0] - 1) % tables != 0)
      plugin::invalid("embedding_bag: offsets must be a 1-d i32/i64 tensor of T*B+1 entries (T = " +
                      std::to_string(tables) + ")");
    num_indices = indices.dims[0];
    batch = (offsets.dims[0] - 1) / tables;
    const Shape& out = outputs[0];
    if (out.rank() != 3 || out.dtype != CAGR_DTYPE_F32 || out.dims[0] != batch || out.dims[1] != tables)
      plugin::invalid("embedding_bag: output must be f32 [B, T, D] = [" + std::to_string(batch) + ", " +
                      std::to_string(tables) + ", D]");
    dim = static_cast<int>(out.dims[2]);
    table_dtype = inputs[2].dtype;
    for (int t = 0; t < tables; ++t) {
      const Shape& table = inputs[2 + t];
      const std::string name = "embedding_bag: table " + std::to_string(t);
      if (table.dtype != table_dtype) plugin::unsupported(name + ": every table must have the same dtype in one op");
      const int64_t stored_dim = table_dtype == CAGR_DTYPE_U8 ? dim + 8 : dim;
      if (table.rank() != 2 || table.dims[1] != stored_dim)
        plugin::invalid(name + ": must be [R, " + std::to_string(stored_dim) + "]" +
                        (table_dtype == CAGR_DTYPE_U8 ? " (D codes, then f32 scale and f32 bias)" : ""));
      rows.push_back(table.dims[0]);
    }
    switch (table_dtype) {
      case CAGR_DTYPE_F32: row_bytes = dim * 4; break;
      case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: row_bytes = dim * 2; break;
      case CAGR_DTYPE_U8: row_bytes = dim + 8; break;
      default: plugin::invalid(std::string("embedding_bag: table dtype ") + plugin::dtype_name(table_dtype) +
                               " is not one of f32, f16, bf16, u8 (row-wise quantised)");
    }
    if (a.mode != "sum" && a.mode != "mean" && a.mode != "max")
      plugin::invalid("embedding_bag: mode must be \"sum\", \"mean\" or \"max\", not \"" + a.mode + "\"");
    mean = a.mode == "mean";
    max = a.mode == "max";
    if (a.extended() && table_dtype != CAGR_DTYPE_F32)
      plugin::unsupported(std::string("embedding_bag: mode max, per-sample weights and padding rows take f32 tables on "
                                      "this plugin, not ") + plugin::dtype_name(table_dtype));
    // The optional inputs' shapes; the op's description was checked by the op contract (describe).
    if (weighted && (inputs[weights_input()].dtype != CAGR_DTYPE_F32 || inputs[weights_input()].rank() != 1 ||
                     inputs[weights_input()].dims[0] != num_indices))
      plugin::invalid("embedding_bag: per-sample weights must be f32 [L] = [" + std::to_string(num_indices) + "]");
    if (padded && (!is_index_dtype(inputs[padding_input()].dtype) || inputs[padding_input()].rank() != 1 ||
                   inputs[padding_input()].dims[0] != tables))
      plugin::invalid("embedding_bag: padding rows must be i32/i64 [T] = [" + std::to_string(tables) + "]");
  }

  size_t weights_input() const { return 2 + static_cast<size_t>(tables); }
  size_t padding_input() const { return 2 + static_cast<size_t>(tables) + (weighted ? 1 : 0); }
  bool extended() const { return max || weighted || padded; }

  double bytes(const Shape& indices, const Shape& offsets) const {
    return double(num_indices) * (row_bytes + (weighted ? 4 : 0)) + double(indices.bytes()) + double(offsets.bytes()) +
           double(batch) * tables * dim * 4;
  }
};

bool has_l2_controls(const DeviceState& device) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  return device.facts().persisting_l2_max_bytes > 0;
#else
  (void)device;
  return false;
#endif
}

// ---- kernel selection: values per lane, lanes per bag, then the variant's template -------------

using KernelFn = void (*)(EmbeddingBagParams);

template <cagr_dtype DT, int VEC, int G>
KernelFn kernel_for_variant(Variant variant) {
  if constexpr (DT == CAGR_DTYPE_F32) {
    if (variant == Variant::extended) return embedding_bag_kernel<ExtendedBagPooler<VEC>, G, VEC, 0>;
  }
  switch (variant) {
    case Variant::occupancy: return embedding_bag_kernel<BagPooler<DT, VEC, G, false>, G, VEC, kOccupancyMinBlocks>;
    case Variant::prefetch: return embedding_bag_kernel<BagPooler<DT, VEC, G, true>, G, VEC, 0>;
    case Variant::short_bags: return embedding_bag_kernel<ShortBagPooler<DT, VEC, G>, G, VEC, kShortBagsMinBlocks>;
    default: return embedding_bag_kernel<BagPooler<DT, VEC, G, false>, G, VEC, 0>;
  }
}

template <cagr_dtype DT, int VEC>
KernelFn kernel_for_group(Variant variant, int group) {
  if constexpr (VEC == 1) {
    return kernel_for_variant<DT, 1, 32>(variant);
  } else {
    switch (group) {
      case 4: return kernel_for_variant<DT, VEC, 4>(variant);
      case 8: return kernel_for_variant<DT, VEC, 8>(variant);
      case 16: return kernel_for_variant<DT, VEC, 16>(variant);
      default: return kernel_for_variant<DT, VEC, 32>(variant);
    }
  }
}

// The widest load the row layout allows: 16 bytes of f32/f16/bf16, 4 codes of u8, else one value.
int values_per_lane(cagr_dtype dtype, int dim) {
  switch (dtype) {
    case CAGR_DTYPE_F32: return dim % 4 == 0 ? 4 : 1;
    case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: return dim % 8 == 0 ? 8 : 1;
    default: return dim % 4 == 0 ? 4 : 1;
  }
}

// Lanes per bag: enough for one load per lane per row, at least 4, at most 32 (longer rows loop).
int lanes_per_bag(int vec, int dim) {
  if (vec == 1) return 32;
  const int chunks = dim / vec;
  return chunks <= 4 ? 4 : chunks <= 8 ? 8 : chunks <= 16 ? 16 : 32;
}

KernelFn select_kernel(cagr_dtype dtype, int vec, Variant variant, int group) {
  switch (dtype) {
    case CAGR_DTYPE_F32:
      return vec == 4 ? kernel_for_group<CAGR_DTYPE_F32, 4>(variant, group)
                      : kernel_for_group<CAGR_DTYPE_F32, 1>(variant, group);
    case CAGR_DTYPE_F16:
      return vec == 8 ? kernel_for_group<CAGR_DTYPE_F16, 8>(variant, group)
                      : kernel_for_group<CAGR_DTYPE_F16, 1>(variant, group);
    case CAGR_DTYPE_BF16:
      return vec == 8 ? kernel_for_group<CAGR_DTYPE_BF16, 8>(variant, group)
                      : kernel_for_group<CAGR_DTYPE_BF16, 1>(variant, group);
    default:
      return vec == 4 ? kernel_for_group<CAGR_DTYPE_U8, 4>(variant, group)
                      : kernel_for_group<CAGR_DTYPE_U8, 1>(variant, group);
  }
}

class EmbeddingBagKernel : public GpuKernel {
 public:
  EmbeddingBagKernel(const BagAttributes& attributes, const EmbeddingShape& shape, Variant variant, DeviceState& device)
      : attributes_(attributes), shape_(shape), variant_(variant), device_(device) {
    const int vec = values_per_lane(shape.table_dtype, shape.dim);
    group_ = lanes_per_bag(vec, shape.dim);
    kernel_ = select_kernel(shape.table_dtype, vec, variant, group_);
    min_bags_per_group_ = variant == Variant::prefetch ? kPrefetchMinBagsPerGroup : 1;
    int blocks_per_multiprocessor = 0;
    check(hipOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_multiprocessor, kernel_, kBlockThreads, 0),
          "reading embedding_bag_kernel's occupancy");
    resident_groups_ = int64_t(std::max(1, blocks_per_multiprocessor)) * device.facts().multiprocessors *
                       (kBlockThreads / group_);
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    if (variant == Variant::l2_pinned)
      l2_reservation_ = std::make_unique<PersistingL2Reservation>(device.facts().persisting_l2_max_bytes);
#endif
  }

  void run(const RunTensors& tensors) override {
    const EmbeddingShape shape(tensors.input_shapes, tensors.output_shapes, attributes_);
    if (shape.dim != shape_.dim || shape.table_dtype != shape_.table_dtype || shape.rows != shape_.rows ||
        shape.tables != shape_.tables)
      plugin::invalid("embedding_bag: tables or D differ from those the kernel was created with");
    EmbeddingBagParams p = lookup_params(tensors, 0, shape.batch, shape.dim, shape.row_bytes, shape.mean, shape.rows,
                                         device_.error_record_for_kernels(), ErrorOp::embedding_bag);
    p.max = shape.max;
    if (shape.weighted) p.weights = static_cast<const float*>(tensors.inputs[shape.weights_input()]);
    if (shape.padded)
      p.padding = {tensors.inputs[shape.padding_input()], tensors.input_shapes[shape.padding_input()].dtype == CAGR_DTYPE_I64};
    // One wave: every group stays resident and pools a contiguous run of bags, so no block waits
    // for a second wave and the tail is one bag long.
    const int64_t bags = int64_t(shape.tables) * shape.batch;
    p.bags_per_group = static_cast<int>(std::max<int64_t>(min_bags_per_group_, (bags + resident_groups_ - 1) / resident_groups_));
    p.pooled = static_cast<float*>(tensors.outputs[0]);

    if (bags == 0) return;
    const int64_t groups = (bags + p.bags_per_group - 1) / p.bags_per_group;
    const unsigned blocks = static_cast<unsigned>((groups * group_ + kBlockThreads - 1) / kBlockThreads);
    if (variant_ == Variant::l2_pinned) {
      launch_pinned(p, blocks, tensors.stream);
    } else {
      kernel_<<<blocks, kBlockThreads, 0, tensors.stream>>>(p);
      check_launch("embedding_bag_kernel");
    }
  }

 private:
  void launch_pinned(const EmbeddingBagParams& p, unsigned blocks, hipStream_t stream) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    const std::vector<HotRegion> regions = hot_regions(p, device_.facts().persisting_l2_max_bytes);
    prefetch_hot_rows(regions, stream);
    const auto largest = std::max_element(regions.begin(), regions.end(),
                                          [](const HotRegion& a, const HotRegion& b) { return a.bytes < b.bytes; });
    cudaLaunchAttribute window{};
    window.id = cudaLaunchAttributeAccessPolicyWindow;
    window.val.accessPolicyWindow.base_ptr = const_cast<uint8_t*>(largest->begin);
    window.val.accessPolicyWindow.num_bytes = largest->bytes;
    window.val.accessPolicyWindow.hitRatio = 1.0f;
    window.val.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
    window.val.accessPolicyWindow.missProp = cudaAccessPropertyStreaming;
    cudaLaunchConfig_t config{};
    config.gridDim = dim3(blocks);
    config.blockDim = dim3(kBlockThreads);
    config.stream = stream;
    config.attrs = &window;
    config.numAttrs = 1;
    check(cudaLaunchKernelEx(&config, kernel_, p), "launching embedding_bag_kernel with an L2 window");
#else
    (void)p, (void)blocks, (void)stream;
    plugin::unsupported("embedding_bag: L2 pinning needs NVIDIA's persisting L2");
#endif
  }

  BagAttributes attributes_;
  EmbeddingShape shape_;
  Variant variant_;
  DeviceState& device_;
  int group_ = 32;
  int min_bags_per_group_ = 1;
  int64_t resident_groups_ = 1;  // groups of group_ lanes the device holds at once
  KernelFn kernel_ = nullptr;
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  std::unique_ptr<PersistingL2Reservation> l2_reservation_;  // l2_pinned only
#endif
};

// The variants offered for a shape, in the order op_query reports them (a variant's index is its
// position here).
std::vector<Variant> offered_variants(const EmbeddingShape& shape, DeviceState& device) {
  if (shape.extended()) return {Variant::extended};
  std::vector<Variant> offered{Variant::baseline, Variant::occupancy, Variant::prefetch};
  if (has_l2_controls(device)) offered.push_back(Variant::l2_pinned);
  offered.push_back(Variant::short_bags);
  return offered;
}

// The share of the copy bandwidth a variant reaches with bags of `pooling` ids on average, fit to
// the pooling sweep of bench/gpu_vs_pytorch.py on an H100 (dim 128, uniform ids): short bags leave
// a group too few row loads in flight, p / (p + 2.7) of the pooling-32 figure (measured 0.27 at
// pooling 1, 0.51 at 2, 0.76 at 8, 0.90 at 16). short_bags keeps several bags in flight: 1.19x the
// baseline at pooling 1, about 0.9x where bags are longer. The in-order pooler (extended bags) has
// kExtendedUnroll rows in flight where the baseline has kUnroll: taken as the baseline's share at
// pooling scaled by that ratio (an estimate: not measured yet).
double bandwidth_share(Variant v, double pooling) {
  if (v == Variant::extended) pooling *= double(kExtendedUnroll) / kUnroll;
  const double p = std::max(pooling, 0.5);
  const double share = p / (p + 2.7);
  if (v == Variant::short_bags) return share * (p <= 1.5 ? 1.19 : 0.9);
  return share;
}

class EmbeddingBagOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState& device, const cagr_context&) const override {
    const EmbeddingShape shape = describe(op, BagAttributes(op));
    const double bytes = shape.bytes(op.input(0), op.input(1));
    const double pinned = std::min<double>(double(kHotRowsTotal) * shape.row_bytes, double(device.facts().persisting_l2_max_bytes));
    OpVariants out;
    const double pooling = shape.batch > 0 ? double(shape.num_indices) / double(shape.batch * shape.tables) : 1.0;
    for (Variant v : offered_variants(shape, device))
      out.variants.push_back({kVariantNames[static_cast<int>(v)], 0, v == Variant::l2_pinned ? bytes + pinned : bytes,
                              bandwidth_share(v, pooling)});
    if (!has_l2_controls(device) && !shape.extended()) out.note = "variant group_per_bag_l2_pinned unavailable: this device has no persisting-L2 control";
    return out;
  }

  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    const BagAttributes attributes(setup.op);
    const EmbeddingShape shape = describe(setup.op, attributes);
    const std::vector<Variant> offered = offered_variants(shape, setup.device);
    if (setup.variant < 0 || setup.variant >= static_cast<int>(offered.size()))
      plugin::invalid("embedding_bag: variant " + std::to_string(setup.variant) + " does not exist here");
    return std::make_unique<EmbeddingBagKernel>(attributes, shape, offered[static_cast<size_t>(setup.variant)], setup.device);
  }

 private:
  static EmbeddingShape describe(const OpView& op, const BagAttributes& attributes) {
    // Max pooling, per-sample weights and padding rows (f32 tables): checked by the op contract
    // first, so that a bad description is refused with the same message as on every plugin.
    if (attributes.extended() && op.num_inputs() > 2 && op.input(2).dtype == CAGR_DTYPE_F32) contract::check(op);
    return EmbeddingShape(input_shapes(op), output_shapes(op), attributes);
  }
};

}  // namespace

const GpuOp& embedding_bag_op() {
  static const EmbeddingBagOp op;
  return op;
}

}  // namespace cagr::gpu
