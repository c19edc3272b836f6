// relu_plugin.cpp - a complete CAGR plugin built outside the CAGR source tree: one device (the host
// CPU), one op (relu, abi/OPS.md), two variants with cost hints. Copy this folder, rename the
// plugin, and replace the op; docs/PLUGINS.md says what each hook must do.
//
// The plugin kit (cagr_plugin_kit.hpp) makes the table of entry points and checks every argument
// the host passes before a hook runs; cagr_plugin_host_device.hpp supplies the buffers, streams
// and events of a device that computes in host memory. What is left is the plugin itself.
#include "cagr_plugin_host_device.hpp"
#include "cagr_plugin_kit.hpp"
#include "op_contract.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace kit = cagr::plugin::kit;
namespace contract = cagr::contract;

// One initialised instance of the plugin: what init read from its options.
struct cagr_context {
  kit::Log log;
};

namespace {

// Rough speeds for the cost hints. A real plugin measures its device once and keeps the figures
// (the in-tree CPU plugin: plugins/cpu/cpu_device.cpp); a hint only has to rank variants and
// devices sensibly, and 0 means "no estimate".
constexpr double kScalarBytesPerNs = 4.0;   // one element per iteration
constexpr double kBlockedBytesPerNs = 8.0;  // eight elements per iteration, which compilers vectorise

// relu(x) = max(x, 0), keeping NaN (OPS.md: what IEEE arithmetic gives; x < 0 is false for NaN).
float relu(float x) { return x < 0 ? 0.0f : x; }

void relu_scalar(const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = relu(in[i]);
}

void relu_blocked(const float* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int64_t j = 0; j < 8; ++j) out[i + j] = relu(in[i + j]);
  for (; i < n; ++i) out[i] = relu(in[i]);  // the odd tail
}

// A prepared op: which loop runs it.
struct ReluKernel {
  void (*loop)(const float*, float*, int64_t);
};

struct ReluPlugin : kit::HostDevice {
  static constexpr kit::Identity kIdentity = {"relu_example", "0.1.0", "CAGR plugin template"};
  using Kernel = ReluKernel;

  // Options come from plugins.xml; this plugin knows none, and says so rather than ignore a typo.
  static cagr_context* init(const kit::InitArgs& args) {
    for (const auto& option : args.options) cagr::plugin::invalid("relu_example: unknown option '" + option.first + "'");
    return new cagr_context{args.log};
  }

  static int32_t device_count(cagr_context&) { return 1; }

  // Strings handed out must outlive the call: these are literals.
  static void device_properties(cagr_context&, int32_t, cagr_device_properties& p) {
    p.name = "host CPU (relu_example)";
    p.kind = CAGR_DEVICE_CPU;
    p.compute_units = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    p.memory_bandwidth_gbps = kBlockedBytesPerNs;  // GB/s = bytes/ns
    p.numa_node = -1;
    p.pci_bus_id = "";
    p.host_accessible = 1;  // buffers are host memory (kit::HostDevice)
  }

  // The op contract checks the description against OPS.md (shapes, dtypes, attributes) and refuses
  // a malformed one with a message naming what is wrong; any other op is refused as unsupported.
  static kit::Offer offer(cagr_context&, int32_t, const cagr::plugin::OpView& op) {
    if (op.type() != "relu") cagr::plugin::unsupported("relu_example: runs relu only, not " + op.type());
    const auto sizes = std::get<contract::Unary>(contract::check(op));
    const double n = static_cast<double>(sizes.numel);
    const double bytes = 8 * n;  // read and write one f32 each
    return {{{"scalar", n, bytes, bytes / kScalarBytesPerNs, CAGR_MATH_F32},
             {"blocked8", n, bytes, bytes / kBlockedBytesPerNs, CAGR_MATH_F32}},
            ""};
  }

  // The kit has checked the variant index and the constants; relu has none.
  static std::unique_ptr<ReluKernel> create_kernel(cagr_context&, const kit::KernelSetup& setup) {
    return std::make_unique<ReluKernel>(ReluKernel{setup.chosen.name == "scalar" ? relu_scalar : relu_blocked});
  }

  // The kit has checked the buffers against this run's shapes (which may differ from kernel_create's
  // in the first dim); the run's sizes come from the contract again.
  static void run_kernel(cagr_context&, ReluKernel& kernel, const kit::Run& run) {
    const auto sizes = std::get<contract::Unary>(contract::check(run.op));
    kernel.loop(reinterpret_cast<const float*>(data(run.inputs[0])), reinterpret_cast<float*>(data(run.outputs[0])),
                sizes.numel);
  }
};

}  // namespace

CAGR_PLUGIN_KIT_ENTRY(ReluPlugin)
