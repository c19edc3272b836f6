// op_registry.hpp - what every op of OPS.md provides to the plugin: its variants with cost hints,
// and a prepared kernel that runs it on a stream. Op descriptions are checked against OPS.md by
// the shared contract (abi/op_contract.hpp) before an op sees them, so ops only read sizes.
#pragma once

#include <CL/cl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cl_handle.hpp"
#include "op_contract.hpp"

namespace cagr::opencl {

class Device;

// One implementation variant. The cost hint's time is derived from flops and bytes at the
// device's measured peak rates scaled by `efficiency`, the fraction of peak the variant reaches.
struct VariantCost {
  std::string name;
  double flops = 0;
  double bytes = 0;
  double efficiency = 0.5;
};

// One kernel_run, as an op sees it: every input in op order (constants included) and the sizes of
// this run, checked.
struct Launch {
  cl_command_queue queue;
  cl_mem error_record;  // the stream's ErrorRecord (error_record.hpp)
  std::vector<cl_mem> inputs;
  std::vector<cl_mem> outputs;
  const contract::Checked& sizes;
};

// A prepared op: compiled kernels, attributes, packed weights.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual void run(const Launch& launch) = 0;
  // Counters and times the kernel keeps since it was made, for kernel_statistics (ABI 1.4); most
  // kernels keep none.
  virtual std::vector<std::pair<std::string, double>> statistics() const { return {}; }
};

struct OpDefinition {
  const char* type;
  // The variants `device` can run for an op of these sizes, best first.
  std::vector<VariantCost> (*variants)(const contract::Checked& sizes, const Device& device);
  // `constants[i]` is the device copy of input i when it was given as a constant, else nullptr.
  std::unique_ptr<OpKernel> (*create)(Device& device, const contract::Checked& sizes, const std::string& variant,
                                      const std::vector<cl_mem>& constants);
  // Optional, asked before any constant is uploaded: a kernel that keeps its constants (given as
  // the host's data per input, nullptr for the others) in host memory because they exceed
  // `budget_bytes` of device memory (embedding tables: docs/EMBEDDING_CACHE.md), or nullptr to be
  // made by `create` as usual. `extensions`: kernel_create's chain (hot rows, ABI 1.4).
  std::unique_ptr<OpKernel> (*create_from_host)(Device& device, const contract::Checked& sizes, const std::string& variant,
                                                const std::vector<const void*>& host_constants, uint64_t budget_bytes,
                                                const cagr_extension* extensions) = nullptr;
};

// The definition of `type`, or nullptr for an op this plugin does not know.
const OpDefinition* find_op(const std::string& type);

// Kernel `name` of the program built from `source` with `options` on `device`.
KernelHandle make_kernel(Device& device, const char* source, const std::string& options, const char* name);

// Work-group size of the simple one-item-per-element kernels.
size_t simple_group(const Device& device);

// OpenCL C's name for an index dtype (i32 -> "int", i64 -> "long"), for build options.
const char* cl_index_type(cagr_dtype dtype);

}  // namespace cagr::opencl
