// op_registry.hpp - what every op of OPS.md provides to the plugin: checking an op description
// and listing its variants with cost hints, and a prepared kernel that runs it on a stream.
#pragma once

#include <CL/cl.h>

#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "cl_handle.hpp"

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

// One kernel_run, as an op sees it: every input in op order (constants included), this run's shapes.
struct Launch {
  cl_command_queue queue;
  cl_mem error_record;  // the stream's ErrorRecord (error_record.hpp)
  std::vector<cl_mem> inputs;
  std::vector<plugin::Shape> input_shapes;
  std::vector<cl_mem> outputs;
  std::vector<plugin::Shape> output_shapes;
};

// A prepared op: compiled kernels, parsed attributes, packed weights.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  // Checks this run's shapes (INVALID_ARGUMENT naming what is wrong) and enqueues the work.
  virtual void run(const Launch& launch) = 0;
};

struct OpDefinition {
  const char* type;
  // Checks `op` (throws INVALID_ARGUMENT naming what is wrong) and lists the variants `device`
  // can run, best first.
  std::vector<VariantCost> (*variants)(const plugin::OpView& op, const Device& device);
  // `constants[i]` is the device copy of input i when it was given as a constant, else nullptr.
  std::unique_ptr<OpKernel> (*create)(Device& device, const plugin::OpView& op, const std::string& variant,
                                      const std::vector<cl_mem>& constants);
};

// The definition of `type`, or nullptr for an op this plugin does not know.
const OpDefinition* find_op(const std::string& type);

std::vector<plugin::Shape> input_shapes(const plugin::OpView& op);
std::vector<plugin::Shape> output_shapes(const plugin::OpView& op);

// Shared checks, each throwing INVALID_ARGUMENT with `op` and `what` in the message.
void require(bool condition, const std::string& op, const std::string& what);
void require_f32(const plugin::Shape& shape, const std::string& op, const std::string& what);
void require_index_type(const plugin::Shape& shape, const std::string& op, const std::string& what);
void require_dims(const plugin::Shape& shape, const std::vector<int64_t>& dims, const std::string& op,
                  const std::string& what);
std::string dims_text(const std::vector<int64_t>& dims);
// Kernel `name` of the program built from `source` with `options` on `device`.
KernelHandle make_kernel(Device& device, const char* source, const std::string& options, const char* name);

// Work-group size of the simple one-item-per-element kernels.
size_t simple_group(const Device& device);

// OpenCL C's name for an index dtype (i32 -> "int", i64 -> "long"), for build options.
const char* cl_index_type(cagr_dtype dtype);

}  // namespace cagr::opencl
