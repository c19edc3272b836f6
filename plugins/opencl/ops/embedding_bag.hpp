// embedding_bag.hpp - what the two embedding_bag kernels share: the variants, the build options of
// embedding_bag.cl and one launch of it. embedding_bag.cpp runs it on tables held on the device,
// embedding_bag_cached.cpp on a device cache of tables kept in host memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "op_registry.hpp"

namespace cagr::opencl {

using EmbeddingBagSizes = contract::EmbeddingBag;

// A variant: loads of `vec` table values, work-groups of `group` work-items.
struct BagLayout {
  const char* name;
  int vec;
  size_t group;
  double efficiency;
};
const BagLayout& bag_layout(const std::string& variant);  // unsupported() for an unknown name

// embedding_bag.cl's build options, for the index, offset and padding dtypes given.
std::string bag_build_options(const EmbeddingBagSizes& s, const BagLayout& layout, cagr_dtype index_dtype,
                              cagr_dtype offset_dtype, cagr_dtype padding_dtype);

// The tables' sizes as the kernel reads them: rows of each, and each one's first row in the one
// buffer holding them all.
struct TableLayout {
  MemHandle rows, first;
  TableLayout(const Device& device, const std::vector<cl_long>& row_counts);
};

// The buffers of one launch; inputs the kernel does not read (no weights, no padding rows) may be
// any buffer.
struct BagArgs {
  cl_mem indices;
  int64_t num_indices;
  cl_mem offsets, tables;
  const TableLayout& tables_layout;
  cl_mem weights, padding, pooled;
  int64_t num_tables, batch;
};
void enqueue_bags(cl_command_queue queue, cl_kernel kernel, const BagLayout& layout, int64_t dim, const BagArgs& a,
                  cl_mem error_record);

// The kernel on a device cache of tables kept in host memory (embedding_bag_cached.cpp), or nullptr
// where the constant tables fit `budget_bytes` of device memory (or some table is not a constant).
// Hot rows chained to `extensions` (ABI 1.4) fill up to half of each table's cache for good.
std::unique_ptr<OpKernel> create_cached_embedding_bag(Device& device, const EmbeddingBagSizes& s, const std::string& variant,
                                                      const std::vector<const void*>& host_constants, uint64_t budget_bytes,
                                                      const cagr_extension* extensions);

}  // namespace cagr::opencl
