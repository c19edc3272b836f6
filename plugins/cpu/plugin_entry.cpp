// plugin_entry.cpp - the CPU plugin's hooks for the plugin kit (abi/cagr_plugin_kit.hpp): one device
// (the host CPU), with the host-memory buffers and synchronous streams of
// abi/cagr_plugin_host_device.hpp. Parallelism comes from inside the kernels (OpenMP over bags,
// rows, samples), so there is nothing to capture into a graph.
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "cagr_plugin_host_device.hpp"
#include "cagr_plugin_kit.hpp"
#include "cpu_device.hpp"
#include "cpu_kernel.hpp"
#include "math_precision.hpp"
#include "op_contract.hpp"
#include "shared_cores.hpp"

namespace kit = cagr::plugin::kit;
namespace contract = cagr::contract;
using cagr::plugin::invalid;
using cagr::plugin::OpView;

struct cagr_context {
  cagr::cpu::CpuDevice device;
  int threads = 0;  // option "threads": OpenMP threads for the kernels; 0: OpenMP's default
  std::unique_ptr<cagr::cpu::TeamSize> team;  // option "wait_policy": the team on shared cores
  kit::Log log;
};

namespace {

// Option "threads": a whole number of threads, 1 or more.
int threads_option(const kit::InitArgs& args) {
  const auto value = args.option("threads");
  if (!value) return 0;
  char* end = nullptr;
  const long n = std::strtol(value->c_str(), &end, 10);
  if (value->empty() || *end != '\0' || n < 1 || n > 4096)
    invalid("option threads='" + *value + "': must be a whole number of threads, 1 to 4096");
  return static_cast<int>(n);
}

// Option "wait_policy": auto, active or passive (shared_cores.hpp), checked against the
// environment libgomp was started with.
cagr::cpu::WaitPolicy wait_policy_option(const kit::InitArgs& args) {
  try {
    return cagr::cpu::parse_wait_policy(args.option("wait_policy"), std::getenv("OMP_WAIT_POLICY"),
                                        std::getenv("GOMP_SPINCOUNT"));
  } catch (const std::invalid_argument& e) {
    invalid(e.what());
  }
}

// The kernels' thread count is OpenMP's per-thread setting: set it on whichever thread calls.
void use_threads(const cagr_context& context) {
  const int threads = context.team ? context.team->threads() : context.threads;
  if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

// The thread ids of the OpenMP team of n threads that kernels called on this thread run on (a
// parallel region asks each member; libgomp keeps a calling thread's workers between regions).
std::vector<int> team_thread_ids(int n) {
  std::vector<int> ids(static_cast<size_t>(n), 0);
#pragma omp parallel num_threads(n)
  ids[static_cast<size_t>(omp_get_thread_num())] = static_cast<int>(syscall(SYS_gettid));
  return ids;
}

// bf16 dot products (vdpbf16ps) do twice the multiply-adds of an f32 FMA per instruction: the
// peak from the instruction's width, not measured; 0 where the CPU has none.
double bf16_peak_gflops(const cagr::cpu::CpuDevice& d) { return cagr::cpu::has_bf16_dot_products() ? 2 * d.peak_gflops_f32 : 0; }

// The peak of a variant computing in `precision`: int8 dot products (vpdpbusd) do four times the
// multiply-adds of an f32 FMA per instruction (from the width, not measured).
double peak_gflops(const cagr::cpu::CpuDevice& d, cagr_math_precision precision) {
  switch (precision) {
    case CAGR_MATH_BF16: return bf16_peak_gflops(d);
    case CAGR_MATH_INT8: return cagr::cpu::has_int8_dot_products() ? 4 * d.peak_gflops_f32 : 0;
    default: return d.peak_gflops_f32;
  }
}

// A prepared op: the plugin's copies of the constants, the variant's kernel, and the last run's
// checked contract with the dims it was checked at. A run at the same dims (the common case: a
// model served at one batch) reuses it: checking the contract anew, with its messages' strings,
// was a good part of a small op's run at batch 1.
struct CpuKernel {
  std::vector<std::shared_ptr<const kit::HostMemory>> constants;  // per input; null when the input comes at run
  std::unique_ptr<cagr::cpu::Kernel> impl;
  std::mutex last_mutex;
  std::vector<int64_t> last_dims;  // every input's and output's dims, each after its rank
  std::shared_ptr<const contract::Checked> last_checked;

  // The contract of `op` checked: last_checked where op's dims are last_dims, else checked now.
  std::shared_ptr<const contract::Checked> checked(const cagr::plugin::OpView& op) {
    std::lock_guard<std::mutex> lock(last_mutex);
    if (!last_checked || !same_dims(op)) {
      last_checked = std::make_shared<const contract::Checked>(contract::check(op));
      last_dims.clear();
      for (size_t i = 0; i < op.num_inputs(); ++i) append_dims(op.input(i));
      for (size_t o = 0; o < op.num_outputs(); ++o) append_dims(op.output(o));
    }
    return last_checked;
  }

 private:
  void append_dims(const cagr::plugin::Shape& s) {
    last_dims.push_back(s.rank());
    last_dims.insert(last_dims.end(), s.dims.begin(), s.dims.end());
  }
  bool same_dims(const cagr::plugin::OpView& op) const {
    size_t k = 0;
    auto same = [&](const cagr::plugin::Shape& s) {
      if (k >= last_dims.size() || last_dims[k++] != s.rank() || k + s.dims.size() > last_dims.size()) return false;
      const bool equal = std::equal(s.dims.begin(), s.dims.end(), last_dims.begin() + static_cast<std::ptrdiff_t>(k));
      k += s.dims.size();
      return equal;
    };
    for (size_t i = 0; i < op.num_inputs(); ++i)
      if (!same(op.input(i))) return false;
    for (size_t o = 0; o < op.num_outputs(); ++o)
      if (!same(op.output(o))) return false;
    return k == last_dims.size();
  }
};

struct CpuPlugin : kit::HostDevice {
  static constexpr kit::Identity kIdentity = {"cpu", "0.1.0", "CAGR"};
  using Kernel = CpuKernel;

  static cagr_context* init(const kit::InitArgs& args) {
    auto context = std::make_unique<cagr_context>();
    context->threads = threads_option(args);
    const auto policy = wait_policy_option(args);
    use_threads(*context);  // the device is measured, and its cache file named, with these threads
    context->log = args.log;
    context->device = cagr::cpu::probe_cpu_device(args.log);
    // Shrinking the team helps only while OpenMP spins: sleeping workers cost a wake-up per region,
    // not a time slice, and two of them still beat one thread under load (docs/PERF.md).
    const bool adapt = policy == cagr::cpu::WaitPolicy::kAuto &&
                       !cagr::cpu::openmp_waits_sleep(std::getenv("OMP_WAIT_POLICY"), std::getenv("GOMP_SPINCOUNT"));
    context->team = std::make_unique<cagr::cpu::TeamSize>(omp_get_max_threads(), omp_get_num_procs(), adapt, team_thread_ids);
    return context.release();
  }

  static int32_t device_count(cagr_context&) { return 1; }

  static void device_properties(cagr_context& context, int32_t, cagr_device_properties& p) {
    const auto& d = context.device;
    p.name = d.name.c_str();
    p.kind = CAGR_DEVICE_CPU;
    p.compute_units = d.cores;
    p.peak_gflops_f32 = d.peak_gflops_f32;
    p.peak_gflops_f16 = bf16_peak_gflops(d);
    p.memory_bandwidth_gbps = d.bandwidth_gbps;
    p.memory_bytes = d.memory_bytes;
    p.last_level_cache_bytes = d.llc_bytes;
    p.numa_node = d.numa_node;
    p.pci_bus_id = "";
    p.host_accessible = 1;
  }

  // The variants the op's allowed math precision admits (cpu_kernel.hpp: f32 ones first), each
  // estimated by roofline: the slower of compute and memory, on one thread's share when the
  // variant uses one; random reads from tables beyond a core's L2 slower where the variant does not
  // prefetch them.
  static kit::Offer offer(cagr_context& context, int32_t, const OpView& op) {
    const auto checked = contract::check(op);
    const auto& impl = cagr::cpu::op_impl(checked);
    const auto cost = impl.cost(checked);
    const auto& d = context.device;
    kit::Offer offer;
    const size_t count = cagr::cpu::offered_variants(impl, cagr::abi::allowed_math_precision(op.desc()));
    for (size_t i = 0; i < count; ++i) {
      const auto& variant = impl.variants[i];
      const double share = variant.parallel ? 1.0 : 1.0 / d.threads;
      const double peak = peak_gflops(d, variant.precision);
      const bool waits = !variant.prefetches && cost.footprint_bytes > cagr::cpu::kGatherCacheBytes;
      const double bytes = cost.bytes + (waits ? (cagr::cpu::kUnprefetchedGatherSlowdown - 1.0) * cost.gathered_bytes : 0.0);
      const double ns = (peak > 0 && d.bandwidth_gbps > 0)
                            ? std::max(cost.flops / (peak * share), bytes / (d.bandwidth_gbps * share)) +
                                  (variant.parallel ? cagr::cpu::kParallelRegionNs : 0.0)
                            : 0;
      offer.variants.push_back({variant.name, cost.flops, cost.bytes, ns, variant.precision});
    }
    return offer;
  }

  static std::unique_ptr<CpuKernel> create_kernel(cagr_context& context, const kit::KernelSetup& setup) {
    use_threads(context);
    const auto checked = contract::check(setup.op);
    auto kernel = std::make_unique<CpuKernel>();
    kernel->constants.resize(setup.op.num_inputs());
    std::vector<const void*> constants(setup.op.num_inputs(), nullptr);
    for (size_t i = 0; i < constants.size(); ++i) {
      if (setup.constants[i] == nullptr) continue;
      kernel->constants[i] = kit::constant_copy(setup.constants[i], setup.op.input(i).bytes(), setup.borrowed[i]);
      constants[i] = kernel->constants[i]->data();
    }
    kernel->impl = cagr::cpu::op_impl(checked).variants[setup.variant].create(cagr::cpu::KernelInit{checked, constants});
    return kernel;
  }

  static void run_kernel(cagr_context& context, CpuKernel& kernel, const kit::Run& run) {
    use_threads(context);
    thread_local std::vector<const void*> inputs;  // per thread, so that a warm run allocates nothing
    thread_local std::vector<void*> outputs;
    inputs.clear();
    outputs.clear();
    for (size_t i = 0; i < run.inputs.size(); ++i)
      inputs.push_back(run.inputs[i] != nullptr ? data(run.inputs[i]) : kernel.constants[i] ? kernel.constants[i]->data() : nullptr);
    for (cagr_buffer* buffer : run.outputs) outputs.push_back(data(buffer));
    kernel.impl->run(*kernel.checked(run.op), inputs.data(), outputs.data());
  }
};

}  // namespace

CAGR_PLUGIN_KIT_ENTRY(CpuPlugin)
