// host_tensor.hpp - a dense tensor in host memory: what users hand to the runtime and get back.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "graph.hpp"

namespace cagr {

struct HostTensor {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;
  std::vector<std::byte> data;

  HostTensor() = default;
  HostTensor(cagr_dtype t, Dims d) : dtype(t), dims(std::move(d)), data(static_cast<size_t>(element_count(dims)) * dtype_size(t)) {}

  template <class T>
  static HostTensor from(cagr_dtype t, Dims d, const std::vector<T>& values) {
    HostTensor h(t, std::move(d));
    if (values.size() * sizeof(T) != h.data.size()) throw std::invalid_argument("HostTensor::from: size mismatch");
    if (!values.empty()) std::memcpy(h.data.data(), values.data(), h.data.size());  // data() may be null when empty
    return h;
  }
  template <class T>
  const T* as() const { return reinterpret_cast<const T*>(data.data()); }
  template <class T>
  T* as() { return reinterpret_cast<T*>(data.data()); }
  int64_t numel() const { return element_count(dims); }
};

}  // namespace cagr
