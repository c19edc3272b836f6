// npy.hpp - one NumPy array and its .npy encoding (format versions 1.0 to 3.0).
//
// Only what CAGR exchanges with Python is supported: little-endian '<f4', '<f8', '<f2', '<i4',
// '<i8' and '|u1', '|i1', C order (fortran_order False), any rank. The bytes are kept raw; typed
// access checks the dtype.
#ifndef CAGR_DATA_NPY_HPP_
#define CAGR_DATA_NPY_HPP_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "data_error.hpp"

namespace cagr::data {

// The numpy descr of a C++ element type.
template <class T> constexpr const char* npy_descr_of() = delete;
template <> constexpr const char* npy_descr_of<float>() { return "<f4"; }
template <> constexpr const char* npy_descr_of<double>() { return "<f8"; }
template <> constexpr const char* npy_descr_of<int32_t>() { return "<i4"; }
template <> constexpr const char* npy_descr_of<int64_t>() { return "<i8"; }
template <> constexpr const char* npy_descr_of<uint8_t>() { return "|u1"; }
template <> constexpr const char* npy_descr_of<int8_t>() { return "|i1"; }

// Bytes per element of a supported descr; 0 for any other.
size_t npy_element_size(const std::string& descr);
// The tensor dtype of a descr; CAGR_DTYPE_INVALID for '<f8', which has none.
cagr_dtype npy_cagr_dtype(const std::string& descr);
// The descr of a tensor dtype; nullptr for bf16, which numpy has no descr for.
const char* npy_descr_of_dtype(cagr_dtype dtype);

struct NpyArray {
  std::string dtype;  // numpy descr, e.g. "<f4"
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // element_count() * npy_element_size(dtype) bytes, C order

  int64_t element_count() const;

  template <class T>
  static NpyArray from(std::vector<int64_t> shape, std::span<const T> values) {
    NpyArray array{npy_descr_of<T>(), std::move(shape), std::vector<std::byte>(values.size_bytes())};
    if (array.element_count() != static_cast<int64_t>(values.size())) {
      throw DataError("NpyArray: shape holds " + std::to_string(array.element_count()) + " elements, given " +
                      std::to_string(values.size()));
    }
    if (!values.empty()) std::memcpy(array.data.data(), values.data(), values.size_bytes());
    return array;
  }

  // A copy of the elements as T; throws unless dtype is T's descr.
  template <class T>
  std::vector<T> values() const {
    if (dtype != npy_descr_of<T>()) {
      throw DataError(std::string("NpyArray: elements are '") + dtype + "', asked for '" + npy_descr_of<T>() + "'");
    }
    std::vector<T> out(data.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
};

// The .npy file bytes of `array` (format 1.0, or 2.0 for a header too long for 1.0).
std::vector<std::byte> encode_npy(const NpyArray& array);
// Parses .npy file bytes; `what` names the array in errors, e.g. "x.npz: array 'dense'".
NpyArray decode_npy(std::span<const std::byte> bytes, const std::string& what);

}  // namespace cagr::data

#endif  // CAGR_DATA_NPY_HPP_
