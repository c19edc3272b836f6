// embedding_bag.cpp - multi-table embedding lookup and pooling in one launch (OPS.md).
#include <algorithm>

#include "device.hpp"
#include "embedding_bag_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::EmbeddingBag;

// A variant: loads of `vec` table values, work-groups of `group` work-items.
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

// The kernel's TABLE_DTYPE (embedding_bag.cl).
int table_dtype_code(cagr_dtype dtype) {
  switch (dtype) {
    case CAGR_DTYPE_F16: return 1;
    case CAGR_DTYPE_BF16: return 2;
    case CAGR_DTYPE_U8: return 3;
    default: return 0;
  }
}

std::vector<VariantCost> variants(const contract::Checked& checked, const Device& device) {
  const Sizes& s = std::get<Sizes>(checked);
  const double rows_read = static_cast<double>(s.num_indices) * static_cast<double>(s.row_bytes());
  const double index_bytes = static_cast<double>(plugin::dtype_size(s.index_dtype)) * s.num_indices +
                             static_cast<double>(plugin::dtype_size(s.offset_dtype)) * (s.tables * s.batch + 1);
  const double weight_bytes = s.weighted ? 4.0 * s.num_indices : 0.0;
  const double bytes = rows_read + index_bytes + weight_bytes + 4.0 * s.batch * s.tables * s.dim;
  std::vector<VariantCost> out;
  for (const Layout& layout : kLayouts) {
    if (s.dim % layout.vec != 0 || layout.group > device.max_work_group_size()) continue;
    out.push_back({layout.name, static_cast<double>(s.num_indices * s.dim), bytes, layout.efficiency});
  }
  return out;
}

class EmbeddingBag final : public OpKernel {
 public:
  EmbeddingBag(Device& device, const Sizes& s, const Layout& layout, const std::vector<cl_mem>& constants)
      : device_(device), layout_(layout), dim_(s.dim), row_bytes_(s.row_bytes()), rows_(s.rows.begin(), s.rows.end()) {
    const std::string options =
        std::string("-DINDEX_T=") + cl_index_type(s.index_dtype) + " -DOFFSET_T=" + cl_index_type(s.offset_dtype) +
        " -DPADDING_T=" + cl_index_type(s.padded ? s.padding_dtype : CAGR_DTYPE_I64) +
        " -DVEC=" + std::to_string(layout.vec) + " -DMODE=" + std::to_string(static_cast<int>(s.pooling)) +
        " -DWEIGHTED=" + std::to_string(int{s.weighted}) + " -DPADDED=" + std::to_string(int{s.padded}) +
        " -DTABLE_DTYPE=" + std::to_string(table_dtype_code(s.table_dtype));
    kernel_ = make_kernel(device, source::embedding_bag, options, "embedding_bag");

    std::vector<cl_long> first;
    for (size_t t = 0; t < rows_.size(); ++t) first.push_back(t == 0 ? 0 : first.back() + rows_[t - 1]);
    table_rows_ = upload(rows_);
    table_first_ = upload(first);
    // One launch must see every table in one buffer. A single table is used where it is; several
    // are packed into one buffer: once here when all are constants, else at every run (a
    // device-side copy).
    if (s.tables == 1) return;
    const auto first_table = constants.begin() + 2, end_table = first_table + s.tables;
    packed_once_ = std::all_of(first_table, end_table, [](cl_mem m) { return m != nullptr; });
    cl_int status = CL_SUCCESS;
    const size_t bytes = static_cast<size_t>((first.back() + rows_.back()) * row_bytes_);
    packed_ = MemHandle(clCreateBuffer(device.context(), CL_MEM_READ_ONLY, std::max<size_t>(4, bytes), nullptr, &status));
    check_cl(status, "embedding_bag: allocating the packed tables");
    if (packed_once_) {
      QueueHandle queue(clCreateCommandQueue(device.context(), device.id(), 0, &status));
      check_cl(status, "clCreateCommandQueue");
      pack(queue.get(), std::vector<cl_mem>(first_table, end_table));
      check_cl(clFinish(queue.get()), "embedding_bag: packing the tables");
    }
  }

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    const auto first_table = launch.inputs.begin() + 2;
    if (packed_ && !packed_once_) pack(launch.queue, std::vector<cl_mem>(first_table, first_table + s.tables));
    const cl_mem tables = packed_ ? packed_.get() : launch.inputs[2];
    // Inputs the kernel does not read (no weights, no padding rows) are given the indices' buffer.
    const cl_mem weights = launch.inputs[s.weighted ? s.weights_input() : 0];
    const cl_mem padding = launch.inputs[s.padded ? s.padding_input() : 0];
    const cl_int lanes = static_cast<cl_int>(dim_ / layout_.vec);
    const cl_int lanes_per_bag = static_cast<cl_int>(std::min<size_t>(static_cast<size_t>(lanes), layout_.group));
    const int64_t bags_per_group = static_cast<int64_t>(layout_.group) / lanes_per_bag;
    const int64_t groups = (s.tables * s.batch + bags_per_group - 1) / bags_per_group;
    set_args(kernel_.get(), launch.inputs[0], static_cast<cl_long>(s.num_indices), launch.inputs[1], tables,
             table_rows_.get(), table_first_.get(), weights, padding, launch.outputs[0], static_cast<cl_int>(s.tables),
             static_cast<cl_int>(s.batch), lanes, lanes_per_bag, launch.error_record);
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
      const size_t bytes = static_cast<size_t>(rows_[t] * row_bytes_);
      if (bytes > 0)
        check_cl(clEnqueueCopyBuffer(queue, tables[t], packed_.get(), 0, offset, bytes, 0, nullptr, nullptr),
                 "embedding_bag: packing a table");
      offset += bytes;
    }
  }

  Device& device_;
  Layout layout_;
  int64_t dim_;
  int64_t row_bytes_;  // of a stored table row
  std::vector<cl_long> rows_;  // of each table
  bool packed_once_ = false;
  KernelHandle kernel_;
  MemHandle table_rows_, table_first_;
  MemHandle packed_;  // all tables in one buffer; empty with a single table
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked& checked, const std::string& variant,
                                 const std::vector<cl_mem>& constants) {
  for (const Layout& layout : kLayouts)
    if (variant == layout.name) return std::make_unique<EmbeddingBag>(device, std::get<Sizes>(checked), layout, constants);
  plugin::unsupported(std::string("embedding_bag: no variant named ") + variant);
}

}  // namespace

const OpDefinition kEmbeddingBag = {"embedding_bag", variants, create};

}  // namespace cagr::opencl
