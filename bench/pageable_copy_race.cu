// pageable_copy_race.cu - does cudaMemcpy from pageable memory return before its data is on the
// device, as a kernel on a non-blocking stream launched right after sees it? For each size, counts
// the runs whose kernel saw stale values, with a plain cudaMemcpy and with the GPU plugin's upload
// (the copy on the default stream, then a wait for that stream: plugins/hip/device_memory.hpp).
// Standalone, no CAGR code:
//   nvcc -O2 -arch=sm_90 bench/pageable_copy_race.cu -o /tmp/race && /tmp/race
// H100, driver 580 (docs/PERF.md): 1 MB plain copies were stale in 300 of 300 runs; other sizes and
// every waited-for copy in none.
#include <cstdio>
#include <vector>

__global__ void count_stale(const float* p, size_t n, unsigned* stale) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    if (p[i] != 1.0f + float(i % 7)) atomicAdd(stale, 1u);
}

int main() {
  cudaStream_t stream;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  unsigned* stale;
  cudaMalloc(&stale, sizeof(unsigned));
  for (size_t bytes : {size_t(6464), size_t(192) << 10, size_t(1) << 20, size_t(16) << 20, size_t(64) << 20}) {
    const size_t n = bytes / 4;
    std::vector<float> host(n);
    for (size_t i = 0; i < n; ++i) host[i] = 1.0f + float(i % 7);
    const int runs = bytes > (size_t(1) << 20) ? 20 : 300;
    for (bool waited : {false, true}) {
      int stale_runs = 0;
      for (int r = 0; r < runs; ++r) {
        float* device;
        cudaMalloc(&device, bytes);
        cudaMemset(device, 0, bytes);
        cudaDeviceSynchronize();
        cudaMemsetAsync(stale, 0, sizeof(unsigned), stream);
        if (waited) {
          cudaMemcpyAsync(device, host.data(), bytes, cudaMemcpyHostToDevice, nullptr);
          cudaStreamSynchronize(nullptr);
        } else {
          cudaMemcpy(device, host.data(), bytes, cudaMemcpyHostToDevice);
        }
        count_stale<<<264, 256, 0, stream>>>(device, n, stale);
        unsigned found = 0;
        cudaMemcpyAsync(&found, stale, sizeof found, cudaMemcpyDeviceToHost, stream);
        cudaStreamSynchronize(stream);
        stale_runs += found != 0;
        cudaFree(device);
      }
      std::printf("%9zu bytes, %-44s stale in %d of %d runs\n", bytes,
                  waited ? "cudaMemcpyAsync + cudaStreamSynchronize(0):" : "plain cudaMemcpy:", stale_runs, runs);
    }
  }
  return 0;
}
