// cagr_dtype.hpp - sizes and names of cagr_dtype, for both sides of the ABI.
#ifndef CAGR_DTYPE_HPP_
#define CAGR_DTYPE_HPP_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "cagr_plugin.h"

namespace cagr::abi {

inline size_t dtype_size(cagr_dtype dtype) {
  switch (dtype) {
    case CAGR_DTYPE_F32: case CAGR_DTYPE_I32: return 4;
    case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: return 2;
    case CAGR_DTYPE_I64: return 8;
    case CAGR_DTYPE_I8: case CAGR_DTYPE_U8: return 1;
    default: return 0;
  }
}

// The names used in model.xml, .npy headers aside: "f32", "i64", ...
inline const char* dtype_name(cagr_dtype dtype) {
  switch (dtype) {
    case CAGR_DTYPE_F32: return "f32";
    case CAGR_DTYPE_F16: return "f16";
    case CAGR_DTYPE_BF16: return "bf16";
    case CAGR_DTYPE_I32: return "i32";
    case CAGR_DTYPE_I64: return "i64";
    case CAGR_DTYPE_I8: return "i8";
    case CAGR_DTYPE_U8: return "u8";
    default: return "invalid";
  }
}

inline cagr_dtype dtype_from_name(const std::string& name) {
  for (cagr_dtype d : {CAGR_DTYPE_F32, CAGR_DTYPE_F16, CAGR_DTYPE_BF16, CAGR_DTYPE_I32, CAGR_DTYPE_I64, CAGR_DTYPE_I8,
                       CAGR_DTYPE_U8}) {
    if (name == dtype_name(d)) return d;
  }
  return CAGR_DTYPE_INVALID;
}

// bf16 values as their bits: rounded to the nearest, ties to even (a NaN stays a NaN), and back.
inline uint16_t bf16_from_float(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float float_from_bf16(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &u, 4);
  return value;
}

// IEEE half (f16) values as their bits: rounded to the nearest, ties to even (beyond 65504 to
// infinity, a NaN stays a NaN), and back (exactly).
inline uint16_t f16_from_float(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
  if (u >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // 65520 and up round to infinity
  if (u < 0x38800000u) {  // below 2^-14: a subnormal (or zero) in units of 2^-24; 1024 is the smallest normal
    float magnitude;
    std::memcpy(&magnitude, &u, 4);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(magnitude * 16777216.0f)));
  }
  // Exponent rebiased (127 -> 15), mantissa cut to 10 bits; a carry of the rounding moves into the exponent.
  return static_cast<uint16_t>(sign | (((u + 0xfffu + ((u >> 13) & 1u)) >> 13) - (112u << 10)));
}
// Branch-free, so that a loop over it vectorises (the CPU plugin's f16 tables): the 15 bits shifted
// into f32's place read as a number 2^112 too small (f32's exponent bias is 127, f16's 15), which the
// product rebiases exactly for normals and subnormals alike; infinity and NaN get f32's all-ones exponent.
inline float float_from_f16(uint16_t bits) {
  const uint32_t magnitude = static_cast<uint32_t>(bits & 0x7fffu);
  const uint32_t shifted = magnitude << 13;
  float rebiased;
  std::memcpy(&rebiased, &shifted, 4);
  rebiased *= 5.192296858534828e33f;  // 2^112
  uint32_t u;
  std::memcpy(&u, &rebiased, 4);
  u |= (magnitude >= 0x7c00u ? 0x7f800000u : 0u) | (static_cast<uint32_t>(bits & 0x8000u) << 16);
  float value;
  std::memcpy(&value, &u, 4);
  return value;
}

}  // namespace cagr::abi

#endif  // CAGR_DTYPE_HPP_
