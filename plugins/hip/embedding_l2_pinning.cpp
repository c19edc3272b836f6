#include "embedding_l2_pinning.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "gpu_check.hpp"

namespace cagr::gpu {

std::vector<HotRegion> hot_regions(const EmbeddingBagParams& params, uint64_t persisting_l2_bytes) {
  std::vector<HotRegion> regions;
  if (params.tables == 0 || params.row_bytes == 0) return regions;
  const int64_t by_cache = static_cast<int64_t>(persisting_l2_bytes / static_cast<uint64_t>(params.row_bytes));
  const int64_t per_table = std::min(kHotRowsTotal, by_cache) / params.tables;
  for (int t = 0; t < params.tables; ++t) {
    const int64_t rows = std::min(per_table, params.table[t].num_rows);
    regions.push_back({params.table[t].rows, static_cast<uint64_t>(rows * params.row_bytes)});
  }
  return regions;
}

#if defined(CAGR_GPU_VENDOR_NVIDIA)
namespace {

constexpr int kLineBytes = 128;

__global__ void prefetch_evict_last_kernel(const uint8_t* begin, uint64_t lines) {
  for (uint64_t line = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; line < lines;
       line += uint64_t(gridDim.x) * blockDim.x) {
    const uint8_t* address = begin + line * kLineBytes;
    asm volatile("prefetch.global.L2::evict_last [%0];" ::"l"(address));
  }
}

// Per device: how many reservations are held, and the set-aside before the first.
struct SetAside {
  int holders = 0;
  size_t before = 0;
};
std::mutex set_aside_mutex;
std::map<int, SetAside> set_asides;

}  // namespace

PersistingL2Reservation::PersistingL2Reservation(uint64_t bytes) {
  check(cudaGetDevice(&device_), "reading the current device");
  const std::lock_guard<std::mutex> lock(set_aside_mutex);
  SetAside& s = set_asides[device_];
  size_t current = 0;
  check(cudaDeviceGetLimit(&current, cudaLimitPersistingL2CacheSize), "reading the persisting-L2 limit");
  if (s.holders == 0) s.before = current;
  if (current < bytes) check(cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, bytes), "setting the persisting-L2 limit");
  ++s.holders;
}

PersistingL2Reservation::~PersistingL2Reservation() {
  const std::lock_guard<std::mutex> lock(set_aside_mutex);
  SetAside& s = set_asides[device_];
  if (--s.holders > 0) return;
  int current_device = 0;
  (void)cudaGetDevice(&current_device);
  (void)cudaSetDevice(device_);
  (void)cudaDeviceSynchronize();  // no pinned lookup may still be running
  (void)cudaCtxResetPersistingL2Cache();
  (void)cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, s.before);
  (void)cudaSetDevice(current_device);
}

void prefetch_hot_rows(const std::vector<HotRegion>& regions, hipStream_t stream) {
  for (const HotRegion& region : regions) {
    const uint64_t lines = (region.bytes + kLineBytes - 1) / kLineBytes;
    if (lines == 0) continue;
    prefetch_evict_last_kernel<<<blocks_for(static_cast<int64_t>(lines)), kBlockThreads, 0, stream>>>(region.begin, lines);
    check_launch("prefetch_evict_last_kernel");
  }
}
#endif

}  // namespace cagr::gpu
