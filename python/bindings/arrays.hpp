// arrays.hpp - arrays between Python and the C API: the inputs of a run as cagr_tensor views of
// the caller's arrays (numpy, torch CPU tensors, anything with __dlpack__ or the buffer protocol;
// nothing copied unless an array is not C-contiguous), and outputs copied out of the session into
// numpy arrays that own their memory.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "cagr.h"

namespace cagr_python {

namespace nb = nanobind;

// numpy's name of a CAGR element type ("float32"), or "" for none.
const char* dtype_name(int32_t dtype);

// The inputs of one run: views of the arrays in a {name: array} mapping, which they keep alive (a
// run releases the GIL, and another thread may change the mapping meanwhile).
class InputViews {
 public:
  // Throws Error naming the input where a value is not a host array of a CAGR element type.
  explicit InputViews(const nb::dict& inputs);
  const cagr_tensor* tensors() const { return tensors_.data(); }
  size_t size() const { return tensors_.size(); }

 private:
  using HostArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;
  std::vector<nb::str> names_;
  std::vector<HostArray> arrays_;
  std::vector<cagr_tensor> tensors_;
};

// An output copied out of a session (whose outputs last only until its next run), made without
// the GIL, then handed to Python as a numpy array that owns the copy.
class OutputCopy {
 public:
  explicit OutputCopy(const cagr_tensor& output);
  nb::object to_numpy();

 private:
  int32_t dtype_;
  std::vector<size_t> shape_;
  std::unique_ptr<std::byte[]> data_;
};

}  // namespace cagr_python
