// program.cpp - program builds with a binary cache on disk.
#include "program.hpp"

#include "cagr_plugin_support.hpp"
#include "device.hpp"

namespace cagr::opencl {

namespace {

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS) return "";
  std::string log(size, '\0');
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr) != CL_SUCCESS) return "";
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

// The binary of a program built for exactly one device; empty when the driver gives none.
std::string program_binary(cl_program program) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr) != CL_SUCCESS || size == 0)
    return "";
  std::string binary(size, '\0');
  unsigned char* data = reinterpret_cast<unsigned char*>(binary.data());
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(data), &data, nullptr) != CL_SUCCESS) return "";
  return binary;
}

// A program from a cached binary, or nothing when the driver no longer accepts it (a stale or
// foreign file): the caller then compiles from source and overwrites the entry.
ProgramHandle from_binary(const Device& device, const std::string& binary, const std::string& options) {
  const cl_device_id id = device.id();
  const size_t size = binary.size();
  const auto* data = reinterpret_cast<const unsigned char*>(binary.data());
  cl_int binary_status = CL_SUCCESS, status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithBinary(device.context(), 1, &id, &size, &data, &binary_status, &status));
  if (status != CL_SUCCESS || binary_status != CL_SUCCESS) return {};
  if (clBuildProgram(program.get(), 1, &id, options.c_str(), nullptr, nullptr) != CL_SUCCESS) return {};
  return program;
}

}  // namespace

ProgramHandle build_program(const Device& device, const std::string& source, const std::string& options,
                            const DiskCache& cache) {
  const std::string key = "program-" + hex(stable_hash(source, stable_hash(device.identity() + '\n' + options))) + ".bin";
  if (auto binary = cache.read(key)) {
    if (ProgramHandle program = from_binary(device, *binary, options)) return program;
  }
  const char* text = source.c_str();
  const size_t length = source.size();
  cl_int status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithSource(device.context(), 1, &text, &length, &status));
  check_cl(status, "clCreateProgramWithSource");
  const cl_device_id id = device.id();
  status = clBuildProgram(program.get(), 1, &id, options.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS) {
    throw plugin::Error(CAGR_ERROR_DEVICE, "building OpenCL program for " + device.name() + " with options '" + options +
                                               "' failed (" + cl_status_name(status) + "); build log:\n" +
                                               build_log(program.get(), id));
  }
  if (std::string binary = program_binary(program.get()); !binary.empty()) cache.write(key, binary);
  return program;
}

}  // namespace cagr::opencl
