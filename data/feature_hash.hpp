// feature_hash.hpp - the stable hash that turns a categorical string into an embedding row.
//
// Stability is the point: a model trained on rows hashed today must see the same rows tomorrow, on
// any platform, so the function is spelled out byte by byte (docs/DATA.md) instead of using
// std::hash, whose values are unspecified and differ between standard libraries.
#ifndef CAGR_DATA_FEATURE_HASH_HPP_
#define CAGR_DATA_FEATURE_HASH_HPP_

#include <cstdint>
#include <string_view>

namespace cagr::data {

// 64-bit FNV-1a over the field index as 4 little-endian bytes, then the value's bytes. Hashing the
// field index in keeps equal strings in different fields apart.
uint64_t feature_hash(uint32_t field, std::string_view value);

// The embedding row of `value` in a table of `rows` rows (rows >= 2): the empty string (a missing
// value) is row 0, every other value 1 + feature_hash % (rows - 1).
int64_t feature_row(uint32_t field, std::string_view value, int64_t rows);

}  // namespace cagr::data

#endif  // CAGR_DATA_FEATURE_HASH_HPP_
