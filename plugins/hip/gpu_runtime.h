// gpu_runtime.h - the one place that knows which vendor compiles us.
//
// The plugin's kernels and runtime calls are written once, in HIP's names. hipcc (AMD) gets HIP's
// own headers; nvcc (NVIDIA) gets the CUDA runtime and the small set of hip* names we use mapped
// onto their cuda* twins below. Debian's HIP headers are deliberately not used for NVIDIA: their
// nvidia_detail layer does not compile with CUDA 13.
//
// Also defines the few device helpers whose spelling differs between vendors (sub-warp shuffles,
// 16-bit float conversions), so the kernels carry no #ifdefs of their own.
#pragma once

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define CAGR_GPU_VENDOR_NVIDIA 1
#define CAGR_GPU_PLUGIN_NAME "cuda"

using hipError_t = cudaError_t;
using hipStream_t = cudaStream_t;
using hipEvent_t = cudaEvent_t;
using hipGraph_t = cudaGraph_t;
using hipGraphExec_t = cudaGraphExec_t;
using hipDeviceProp_t = cudaDeviceProp;
using hipDeviceAttribute_t = cudaDeviceAttr;

#define hipSuccess cudaSuccess
#define hipErrorMemoryAllocation cudaErrorMemoryAllocation
#define hipGetErrorString cudaGetErrorString
#define hipGetErrorName cudaGetErrorName
#define hipGetLastError cudaGetLastError
#define hipGetDeviceCount cudaGetDeviceCount
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorInsufficientDriver cudaErrorInsufficientDriver
#define hipDriverGetVersion cudaDriverGetVersion
#define hipRuntimeGetVersion cudaRuntimeGetVersion
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipDeviceGetAttribute cudaDeviceGetAttribute
#define hipDeviceGetPCIBusId cudaDeviceGetPCIBusId
#define hipDeviceAttributeMultiprocessorCount cudaDevAttrMultiProcessorCount
#define hipDeviceAttributeL2CacheSize cudaDevAttrL2CacheSize
#define hipDeviceAttributeClockRate cudaDevAttrClockRate
#define hipDeviceAttributeMaxRegistersPerMultiprocessor cudaDevAttrMaxRegistersPerMultiprocessor
#define hipDeviceAttributeMaxThreadsPerMultiProcessor cudaDevAttrMaxThreadsPerMultiProcessor
#define hipMemGetInfo cudaMemGetInfo
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipHostMalloc(ptr, bytes, flags) cudaHostAlloc(ptr, bytes, flags)
#define hipHostMallocMapped cudaHostAllocMapped
#define hipHostFree cudaFreeHost
#define hipHostGetDevicePointer cudaHostGetDevicePointer
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemsetAsync cudaMemsetAsync
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipStreamWaitEvent cudaStreamWaitEvent
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy
#define hipEventCreate cudaEventCreate
#define hipEventCreateWithFlags cudaEventCreateWithFlags
#define hipEventDefault cudaEventDefault
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipEventDestroy cudaEventDestroy
#define hipOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor

#elif defined(__HIPCC__)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

#define CAGR_GPU_VENDOR_AMD 1
#define CAGR_GPU_PLUGIN_NAME "hip"

#else
#error "plugins/hip sources are compiled by hipcc or nvcc only"
#endif

#include <cstdint>

namespace cagr::gpu {

// A shuffle among the `width` lanes of one sub-warp group. All lanes of that group must take part;
// `group_mask` names them (NVIDIA needs it; AMD's wavefronts always run converged).
template <class T>
__device__ __forceinline__ T shfl(unsigned group_mask, T value, int src_lane, int width) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  return __shfl_sync(group_mask, value, src_lane, width);
#else
  (void)group_mask;
  return __shfl(value, src_lane, width);
#endif
}

// The sum over the `width` lanes of a group (butterfly), on every lane of it.
__device__ __forceinline__ float group_sum(unsigned group_mask, float value, int width) {
  for (int step = width / 2; step > 0; step /= 2) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    value += __shfl_xor_sync(group_mask, value, step, width);
#else
    (void)group_mask;
    value += __shfl_xor(value, step, width);
#endif
  }
  return value;
}

// Whether `predicate` holds on every lane of the 32-lane group (`group_mask`: all of them) that
// holds the calling thread. AMD votes over its whole 64-lane wavefront, which holds two such groups:
// stricter, so a caller that takes a fast path only where the vote holds stays correct there.
__device__ __forceinline__ bool group_all(unsigned group_mask, bool predicate) {
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  return __all_sync(group_mask, predicate) != 0;
#else
  (void)group_mask;
  return __all(predicate) != 0;
#endif
}

// The lanes of the `width`-lane group that holds the calling thread, as a mask of its warp.
__device__ __forceinline__ unsigned group_lane_mask(int width) {
  const unsigned lane = threadIdx.x % 32u;
  const unsigned group_bits = width >= 32 ? 0xffffffffu : ((1u << width) - 1u);
  return width >= 32 ? group_bits : group_bits << (lane / width * width);
}

__device__ __forceinline__ float half_bits_to_float(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
__device__ __forceinline__ float bf16_bits_to_float(uint16_t bits) { return __uint_as_float(uint32_t(bits) << 16); }
// Rounded to the nearest bf16, ties to even (as PyTorch's .to(torch.bfloat16)); a NaN stays a NaN.
__device__ __forceinline__ uint16_t float_to_bf16_bits(float value) {
  const uint32_t u = __float_as_uint(value);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace cagr::gpu
