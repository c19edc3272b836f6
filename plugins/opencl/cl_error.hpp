// cl_error.hpp - OpenCL status codes turned into the plugin's errors, in one place.
#pragma once

#include <CL/cl.h>

#include <string>

namespace cagr::opencl {

// The symbolic name of an OpenCL status ("CL_OUT_OF_RESOURCES"), or its number.
std::string cl_status_name(cl_int status);

// Throws cagr::plugin::Error when `status` is not CL_SUCCESS: out-of-memory codes become
// CAGR_ERROR_OUT_OF_MEMORY, everything else CAGR_ERROR_DEVICE; the message names `what`.
void check_cl(cl_int status, const char* what);

}  // namespace cagr::opencl
