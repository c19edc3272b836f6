// program.hpp - building an OpenCL program for one device, through the on-disk binary cache.
#pragma once

#include <string>

#include "cl_handle.hpp"
#include "disk_cache.hpp"

namespace cagr::opencl {

class Device;

// The program for `device` built from `source` with `options`. A binary cached on disk under a key
// of the device's identity (name, driver version), the source and the options is used when present
// (compilers like PoCL's take seconds per program); otherwise the source is compiled and its binary
// stored. A failed build throws CAGR_ERROR_DEVICE carrying the compiler's build log.
ProgramHandle build_program(const Device& device, const std::string& source, const std::string& options,
                            const DiskCache& cache);

}  // namespace cagr::opencl
