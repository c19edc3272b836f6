#include "device_properties.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "device_memory.hpp"
#include "device_timer.hpp"
#include "gpu_check.hpp"
#if defined(CAGR_GPU_VENDOR_NVIDIA)
#include "linear_blaslt.hpp"
#endif

namespace cagr::gpu {
namespace {

int attribute(hipDeviceAttribute_t attr, int ordinal) {
  int value = 0;
  check(hipDeviceGetAttribute(&value, attr, ordinal), "reading a device attribute");
  return value;
}

// Dependent FMA chains, 8 independent ones per thread so the pipeline stays full.
constexpr int kFmaChains = 8;
constexpr int kFmaIterations = 4096;

__global__ void fma_probe_kernel(float* out, float a, float b) {
  float acc[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) acc[c] = threadIdx.x * 1e-3f + c;
  for (int i = 0; i < kFmaIterations; ++i) {
#pragma unroll
    for (int c = 0; c < kFmaChains; ++c) acc[c] = fmaf(acc[c], a, b);
  }
  float sum = 0;
  for (int c = 0; c < kFmaChains; ++c) sum += acc[c];
  if (sum == 12345.678f) out[0] = sum;  // keeps the work alive; never true for the inputs we pass
}

// Seconds of the fastest of `reps` runs of `work` on `stream`.
template <class Work>
double best_seconds(hipStream_t stream, int reps, Work work) {
  DeviceTimer timer;
  float best_ms = 1e30f;
  for (int r = 0; r < reps + 1; ++r) {  // the first run warms up
    const float ms = timer.milliseconds(stream, work);
    if (r > 0) best_ms = std::min(best_ms, ms);
  }
  return best_ms * 1e-3;
}

MeasuredPeaks probe(const RuntimeFacts& facts) {
  MeasuredPeaks peaks;
  hipStream_t stream;
  check(hipStreamCreateWithFlags(&stream, hipStreamNonBlocking), "creating the probe stream");

  const uint64_t copy_bytes = std::min<uint64_t>(512ull << 20, facts.memory_bytes / 8);
  DeviceMemory src(copy_bytes), dst(copy_bytes);
  check(hipMemsetAsync(src.get(), 1, copy_bytes, stream), "filling the probe buffer");
  const double copy_s = best_seconds(stream, 5, [&] {
    check(hipMemcpyAsync(dst.get(), src.get(), copy_bytes, hipMemcpyDeviceToDevice, stream), "probe copy");
  });
  peaks.copy_gbps = 2.0 * copy_bytes / copy_s * 1e-9;

  DeviceMemory sink(sizeof(float));
  const int threads = 256;
  const int blocks = facts.multiprocessors * std::max(1, facts.max_threads_per_multiprocessor / threads);
  const double fma_s = best_seconds(stream, 3, [&] {
    fma_probe_kernel<<<blocks, threads, 0, stream>>>(static_cast<float*>(sink.get()), 0.999f, 1e-3f);
    check_launch("fma_probe_kernel");
  });
  peaks.gflops_f32 = 2.0 * kFmaChains * kFmaIterations * double(blocks) * threads / fma_s * 1e-9;

#if defined(CAGR_GPU_VENDOR_NVIDIA)
  peaks.gflops_f16 = measure_f16_gemm_gflops(stream);
#endif
  check(hipStreamSynchronize(stream), "finishing the probe");
  (void)hipStreamDestroy(stream);
  return peaks;
}

std::filesystem::path cache_file(const RuntimeFacts& facts) {
  const std::filesystem::path dir = plugin::cache_dir();
  if (dir.empty()) return {};
  return dir / ("peaks-" + plugin::file_key(std::string(CAGR_GPU_PLUGIN_NAME) + "-" + facts.name + "-" + facts.pci_bus_id) + ".txt");
}

}  // namespace

RuntimeFacts query_runtime_facts(int ordinal) {
  RuntimeFacts facts;
  hipDeviceProp_t props{};
  check(hipGetDeviceProperties(&props, ordinal), "reading device properties");
  facts.name = props.name;
  char bus[32] = {0};
  check(hipDeviceGetPCIBusId(bus, sizeof bus, ordinal), "reading the PCI bus id");
  facts.pci_bus_id = bus;
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  facts.arch = "sm_" + std::to_string(props.major) + std::to_string(props.minor);
  facts.persisting_l2_max_bytes = static_cast<uint64_t>(props.persistingL2CacheMaxSize);
#else
  facts.arch = props.gcnArchName;
#endif
  facts.multiprocessors = attribute(hipDeviceAttributeMultiprocessorCount, ordinal);
  facts.registers_per_multiprocessor = attribute(hipDeviceAttributeMaxRegistersPerMultiprocessor, ordinal);
  facts.max_threads_per_multiprocessor = attribute(hipDeviceAttributeMaxThreadsPerMultiProcessor, ordinal);
  facts.l2_bytes = static_cast<uint64_t>(attribute(hipDeviceAttributeL2CacheSize, ordinal));
  facts.memory_bytes = props.totalGlobalMem;
  return facts;
}

MeasuredPeaks measured_peaks(int ordinal, const RuntimeFacts& facts) {
  const std::filesystem::path file = cache_file(facts);
  if (!file.empty()) {
    std::ifstream in(file);
    MeasuredPeaks cached;
    if (in >> cached.gflops_f32 >> cached.gflops_f16 >> cached.copy_gbps && cached.copy_gbps > 0) return cached;
  }
  use_device(ordinal);
  const MeasuredPeaks peaks = probe(facts);
  if (!file.empty()) {
    std::error_code ignored;  // a read-only home only costs the next process another probe
    std::filesystem::create_directories(file.parent_path(), ignored);
    std::ofstream(file) << peaks.gflops_f32 << ' ' << peaks.gflops_f16 << ' ' << peaks.copy_gbps << '\n';
  }
  return peaks;
}

}  // namespace cagr::gpu
