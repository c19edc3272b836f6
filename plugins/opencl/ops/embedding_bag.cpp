// embedding_bag.cpp - multi-table embedding lookup and pooling in one launch (OPS.md), on tables
// held in device memory.
#include "ops/embedding_bag.hpp"

#include <algorithm>

#include "device.hpp"
#include "embedding_bag_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

using Sizes = EmbeddingBagSizes;

// Efficiencies from bench_embedding_bag_opencl (docs/PERF.md): on an H100 and on PoCL's CPU device
// vec4_wg64 was the fastest at large batches.
constexpr BagLayout kLayouts[] = {
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

MemHandle upload_longs(const Device& device, const std::vector<cl_long>& values) {
  cl_int status = CL_SUCCESS;
  MemHandle mem(clCreateBuffer(device.context(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               std::max<size_t>(1, values.size()) * sizeof(cl_long), const_cast<cl_long*>(values.data()),
                               &status));
  check_cl(status, "embedding_bag: uploading table sizes");
  return mem;
}

std::vector<VariantCost> variants(const contract::Checked& checked, const Device& device) {
  const Sizes& s = std::get<Sizes>(checked);
  const double rows_read = static_cast<double>(s.num_indices) * static_cast<double>(s.row_bytes());
  const double index_bytes = static_cast<double>(plugin::dtype_size(s.index_dtype)) * s.num_indices +
                             static_cast<double>(plugin::dtype_size(s.offset_dtype)) * (s.tables * s.batch + 1);
  const double weight_bytes = s.weighted ? 4.0 * s.num_indices : 0.0;
  const double bytes = rows_read + index_bytes + weight_bytes + 4.0 * s.batch * s.tables * s.dim;
  std::vector<VariantCost> out;
  for (const BagLayout& layout : kLayouts) {
    if (s.dim % layout.vec != 0 || layout.group > device.max_work_group_size()) continue;
    out.push_back({layout.name, static_cast<double>(s.num_indices * s.dim), bytes, layout.efficiency});
  }
  return out;
}

class EmbeddingBag final : public OpKernel {
 public:
  EmbeddingBag(Device& device, const Sizes& s, const BagLayout& layout, const std::vector<cl_mem>& constants)
      : layout_(layout), dim_(s.dim), row_bytes_(s.row_bytes()), rows_(s.rows.begin(), s.rows.end()),
        tables_layout_(device, rows_) {
    kernel_ = make_kernel(device, source::embedding_bag,
                          bag_build_options(s, layout, s.index_dtype, s.offset_dtype, s.padding_dtype), "embedding_bag");
    // One launch must see every table in one buffer. A single table is used where it is; several
    // are packed into one buffer: once here when all are constants, else at every run (a
    // device-side copy).
    if (s.tables == 1) return;
    const auto first_table = constants.begin() + 2, end_table = first_table + s.tables;
    packed_once_ = std::all_of(first_table, end_table, [](cl_mem m) { return m != nullptr; });
    int64_t total_rows = 0;
    for (cl_long r : rows_) total_rows += r;
    cl_int status = CL_SUCCESS;
    const size_t bytes = static_cast<size_t>(total_rows * row_bytes_);
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
    enqueue_bags(launch.queue, kernel_.get(), layout_, dim_,
                 BagArgs{launch.inputs[0], s.num_indices, launch.inputs[1], packed_ ? packed_.get() : launch.inputs[2],
                         tables_layout_, launch.inputs[s.weighted ? s.weights_input() : 0],
                         launch.inputs[s.padded ? s.padding_input() : 0], launch.outputs[0], s.tables, s.batch},
                 launch.error_record);
  }

 private:
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

  BagLayout layout_;
  int64_t dim_;
  int64_t row_bytes_;  // of a stored table row
  std::vector<cl_long> rows_;  // of each table
  TableLayout tables_layout_;
  bool packed_once_ = false;
  KernelHandle kernel_;
  MemHandle packed_;  // all tables in one buffer; empty with a single table
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked& checked, const std::string& variant,
                                 const std::vector<cl_mem>& constants) {
  return std::make_unique<EmbeddingBag>(device, std::get<Sizes>(checked), bag_layout(variant), constants);
}

std::unique_ptr<OpKernel> create_from_host(Device& device, const contract::Checked& checked, const std::string& variant,
                                           const std::vector<const void*>& host_constants, uint64_t budget_bytes,
                                           const cagr_extension* extensions) {
  return create_cached_embedding_bag(device, std::get<Sizes>(checked), variant, host_constants, budget_bytes, extensions);
}

}  // namespace

const BagLayout& bag_layout(const std::string& variant) {
  for (const BagLayout& layout : kLayouts)
    if (variant == layout.name) return layout;
  plugin::unsupported(std::string("embedding_bag: no variant named ") + variant);
}

std::string bag_build_options(const Sizes& s, const BagLayout& layout, cagr_dtype index_dtype, cagr_dtype offset_dtype,
                              cagr_dtype padding_dtype) {
  return std::string("-DINDEX_T=") + cl_index_type(index_dtype) + " -DOFFSET_T=" + cl_index_type(offset_dtype) +
         " -DPADDING_T=" + cl_index_type(s.padded ? padding_dtype : CAGR_DTYPE_I64) + " -DVEC=" + std::to_string(layout.vec) +
         " -DMODE=" + std::to_string(static_cast<int>(s.pooling)) + " -DWEIGHTED=" + std::to_string(int{s.weighted}) +
         " -DPADDED=" + std::to_string(int{s.padded}) + " -DTABLE_DTYPE=" + std::to_string(table_dtype_code(s.table_dtype));
}

TableLayout::TableLayout(const Device& device, const std::vector<cl_long>& row_counts) {
  std::vector<cl_long> firsts;
  for (size_t t = 0; t < row_counts.size(); ++t) firsts.push_back(t == 0 ? 0 : firsts.back() + row_counts[t - 1]);
  rows = upload_longs(device, row_counts);
  first = upload_longs(device, firsts);
}

void enqueue_bags(cl_command_queue queue, cl_kernel kernel, const BagLayout& layout, int64_t dim, const BagArgs& a,
                  cl_mem error_record) {
  const cl_int lanes = static_cast<cl_int>(dim / layout.vec);
  const cl_int lanes_per_bag = static_cast<cl_int>(std::min<size_t>(static_cast<size_t>(lanes), layout.group));
  const int64_t bags_per_group = static_cast<int64_t>(layout.group) / lanes_per_bag;
  const int64_t groups = (a.num_tables * a.batch + bags_per_group - 1) / bags_per_group;
  set_args(kernel, a.indices, static_cast<cl_long>(a.num_indices), a.offsets, a.tables, a.tables_layout.rows.get(),
           a.tables_layout.first.get(), a.weights, a.padding, a.pooled, static_cast<cl_int>(a.num_tables),
           static_cast<cl_int>(a.batch), lanes, lanes_per_bag, error_record);
  launch_1d(queue, kernel, static_cast<size_t>(groups) * layout.group, layout.group);
}

const OpDefinition kEmbeddingBag = {"embedding_bag", variants, create, create_from_host};

}  // namespace cagr::opencl
