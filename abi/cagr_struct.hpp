// cagr_struct.hpp - reading and writing ABI structs whose size the other side chose.
//
// Used by both sides of the ABI (host and plugins). A struct received from the other side may be
// older (smaller) or newer (larger) than ours: read only the bytes both know, and leave unknown
// fields zero; write only the bytes the other side allocated.
#ifndef CAGR_STRUCT_HPP_
#define CAGR_STRUCT_HPP_

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace cagr::abi {

// A copy of `*src` as this side's version of T: fields the sender did not know are zero.
template <class T>
T read_struct(const T* src) {
  static_assert(std::is_trivially_copyable_v<T>);
  T out;
  std::memset(&out, 0, sizeof(T));
  if (src != nullptr) std::memcpy(&out, src, std::min(sizeof(T), src->struct_size));
  out.struct_size = sizeof(T);
  return out;
}

// Writes `value` into `*dst`, which the other side allocated with dst->struct_size bytes: fields
// beyond that size are not written, and dst->struct_size is kept.
template <class T>
void write_struct(T* dst, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const size_t size = dst->struct_size;
  std::memcpy(dst, &value, std::min(sizeof(T), size));
  dst->struct_size = size;
}

// A zeroed T with struct_size set: the way to make a struct to hand to the other side.
template <class T>
T make_struct() {
  static_assert(std::is_trivially_copyable_v<T>);
  T out;
  std::memset(&out, 0, sizeof(T));
  out.struct_size = sizeof(T);
  return out;
}

}  // namespace cagr::abi

#endif  // CAGR_STRUCT_HPP_
