// embedding_bag.cpp - multi-table embedding lookup and pooling in one launch (OPS.md).
#include <algorithm>

#include "device.hpp"
#include "embedding_bag_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

constexpr const char* kOp = "embedding_bag";

struct Sizes {
  int64_t tables = 0, batch = 0, dim = 0, indices = 0;
};

Sizes check_shapes(const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() >= 3, kOp, "needs indices, offsets and at least one table");
  require(out.size() == 1, kOp, "has exactly one output");
  Sizes s;
  s.tables = static_cast<int64_t>(in.size()) - 2;
  require_index_type(in[0], kOp, "indices");
  require_index_type(in[1], kOp, "offsets");
  require(in[0].rank() == 1, kOp, "indices must be 1-D, got " + dims_text(in[0].dims));
  require(in[1].rank() == 1 && in[1].dims[0] >= 1, kOp, "offsets must be 1-D and non-empty, got " + dims_text(in[1].dims));
  require((in[1].dims[0] - 1) % s.tables == 0, kOp,
          "offsets has " + std::to_string(in[1].dims[0]) + " entries, not T*B+1 for T=" + std::to_string(s.tables));
  s.indices = in[0].dims[0];
  s.batch = (in[1].dims[0] - 1) / s.tables;
  for (size_t t = 2; t < in.size(); ++t) {
    const std::string what = "table " + std::to_string(t - 2);
    require_f32(in[t], kOp, what);
    require(in[t].rank() == 2, kOp, what + " must be 2-D [rows, D], got " + dims_text(in[t].dims));
    if (t == 2) s.dim = in[t].dims[1];
    require(in[t].dims[1] == s.dim && s.dim >= 1, kOp, what + " has D=" + std::to_string(in[t].dims[1]) +
                                                            ", table 0 has D=" + std::to_string(s.dim));
  }
  require_f32(out[0], kOp, "output");
  require_dims(out[0], {s.batch, s.tables, s.dim}, kOp, "output");
  return s;
}

std::string check_mode(const plugin::OpView& op) {
  const std::string mode = op.attr_string("mode", "sum");
  require(mode == "sum" || mode == "mean", kOp, "mode must be \"sum\" or \"mean\", got \"" + mode + "\"");
  return mode;
}

// A variant: loads of `vec` floats, work-groups of `group` work-items.
struct Layout {
  const char* name;
  int vec;
  size_t group;
  double efficiency;
};
// Efficiencies from bench_embedding_bag_opencl (docs/PERF.md): on an H100 and on PoCL's CPU device
// vec4_wg64 was the fastest at large batches.
constexpr Layout kLayouts[] = {
    {"vec4_wg64", 4, 64, 0.7},
    {"vec4_wg256", 4, 256, 0.65},
    {"scalar_wg128", 1, 128, 0.4},
};

std::vector<VariantCost> variants(const plugin::OpView& op, const Device& device) {
  check_mode(op);
  const Sizes s = check_shapes(input_shapes(op), output_shapes(op));
  const double pooled = static_cast<double>(s.batch * s.tables * s.dim);
  const double rows_read = static_cast<double>(s.indices) * s.dim * 4.0;
  const double bytes = rows_read + static_cast<double>(op.input(0).bytes() + op.input(1).bytes()) + pooled * 4.0;
  std::vector<VariantCost> out;
  for (const Layout& layout : kLayouts) {
    if (s.dim % layout.vec != 0 || layout.group > device.max_work_group_size()) continue;
    out.push_back({layout.name, static_cast<double>(s.indices * s.dim), bytes, layout.efficiency});
  }
  return out;
}

class EmbeddingBag final : public OpKernel {
 public:
  EmbeddingBag(Device& device, const plugin::OpView& op, const Layout& layout, const std::vector<cl_mem>& constants)
      : device_(device), layout_(layout), mean_(check_mode(op) == "mean") {
    const Sizes s = check_shapes(input_shapes(op), output_shapes(op));
    dim_ = s.dim;
    const std::string options = std::string("-DINDEX_T=") + cl_index_type(op.input(0).dtype) +
                                " -DOFFSET_T=" + cl_index_type(op.input(1).dtype) + " -DVEC=" + std::to_string(layout.vec);
    kernel_ = make_kernel(device, source::embedding_bag, options, "embedding_bag");

    std::vector<cl_long> first;
    for (int64_t t = 0; t < s.tables; ++t) {
      first.push_back(t == 0 ? 0 : first.back() + rows_.back());
      rows_.push_back(op.input(static_cast<size_t>(t + 2)).dims[0]);
    }
    table_rows_ = upload(rows_);
    table_first_ = upload(first);
    // One launch must see every table in one buffer. A single table is used where it is; several
    // are packed into one buffer: once here when all are constants, else at every run (a
    // device-side copy).
    if (s.tables == 1) return;
    packed_once_ = std::all_of(constants.begin() + 2, constants.end(), [](cl_mem m) { return m != nullptr; });
    cl_int status = CL_SUCCESS;
    const size_t bytes = static_cast<size_t>((first.back() + rows_.back()) * dim_) * 4;
    packed_ = MemHandle(clCreateBuffer(device.context(), CL_MEM_READ_ONLY, std::max<size_t>(4, bytes), nullptr, &status));
    check_cl(status, "embedding_bag: allocating the packed tables");
    if (packed_once_) {
      QueueHandle queue(clCreateCommandQueue(device.context(), device.id(), 0, &status));
      check_cl(status, "clCreateCommandQueue");
      pack(queue.get(), std::vector<cl_mem>(constants.begin() + 2, constants.end()));
      check_cl(clFinish(queue.get()), "embedding_bag: packing the tables");
    }
  }

  void run(const Launch& launch) override {
    const Sizes s = check_shapes(launch.input_shapes, launch.output_shapes);
    require(s.dim == dim_, kOp, "tables changed D since the kernel was created");
    if (packed_ && !packed_once_) pack(launch.queue, std::vector<cl_mem>(launch.inputs.begin() + 2, launch.inputs.end()));
    const cl_mem tables = packed_ ? packed_.get() : launch.inputs[2];
    const cl_int lanes = static_cast<cl_int>(dim_ / layout_.vec);
    const cl_int lanes_per_bag = static_cast<cl_int>(std::min<size_t>(static_cast<size_t>(lanes), layout_.group));
    const int64_t bags_per_group = static_cast<int64_t>(layout_.group) / lanes_per_bag;
    const int64_t bags = s.tables * s.batch;
    const int64_t groups = (bags + bags_per_group - 1) / bags_per_group;
    set_args(kernel_.get(), launch.inputs[0], static_cast<cl_long>(s.indices), launch.inputs[1], tables,
             table_rows_.get(), table_first_.get(), launch.outputs[0], static_cast<cl_int>(s.tables),
             static_cast<cl_int>(s.batch), lanes, lanes_per_bag, static_cast<cl_int>(mean_), launch.error_record);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(groups) * layout_.group, layout_.group);
  }

 private:
  MemHandle upload(std::vector<cl_long> values) {
    cl_int status = CL_SUCCESS;
    MemHandle mem(clCreateBuffer(device_.context(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                 values.size() * sizeof(cl_long), values.data(), &status));
    check_cl(status, "embedding_bag: uploading table sizes");
    return mem;
  }

  void pack(cl_command_queue queue, const std::vector<cl_mem>& tables) {
    size_t offset = 0;
    for (size_t t = 0; t < tables.size(); ++t) {
      const size_t bytes = static_cast<size_t>(rows_[t] * dim_) * 4;
      if (bytes > 0)
        check_cl(clEnqueueCopyBuffer(queue, tables[t], packed_.get(), 0, offset, bytes, 0, nullptr, nullptr),
                 "embedding_bag: packing a table");
      offset += bytes;
    }
  }

  Device& device_;
  Layout layout_;
  bool mean_;
  int64_t dim_ = 0;
  std::vector<cl_long> rows_;  // of each table
  bool packed_once_ = false;
  KernelHandle kernel_;
  MemHandle table_rows_, table_first_;
  MemHandle packed_;  // all tables in one buffer; empty with a single table
};

std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string& variant,
                                 const std::vector<cl_mem>& constants) {
  for (const Layout& layout : kLayouts)
    if (variant == layout.name) return std::make_unique<EmbeddingBag>(device, op, layout, constants);
  plugin::unsupported(std::string(kOp) + ": no variant named " + variant);
}

}  // namespace

const OpDefinition kEmbeddingBag = {kOp, variants, create};

}  // namespace cagr::opencl
