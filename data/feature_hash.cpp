#include "feature_hash.hpp"

#include <stdexcept>
#include <string>

namespace cagr::data {

namespace {
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t fnv1a_step(uint64_t hash, uint8_t byte) { return (hash ^ byte) * kFnvPrime; }
}  // namespace

uint64_t feature_hash(uint32_t field, std::string_view value) {
  uint64_t hash = kFnvOffsetBasis;
  for (int shift = 0; shift < 32; shift += 8) hash = fnv1a_step(hash, static_cast<uint8_t>(field >> shift));
  for (char c : value) hash = fnv1a_step(hash, static_cast<uint8_t>(c));
  return hash;
}

int64_t feature_row(uint32_t field, std::string_view value, int64_t rows) {
  if (rows < 2) {
    throw std::invalid_argument("feature_row: a hashed table needs at least 2 rows (row 0 is 'missing'), got " +
                                std::to_string(rows));
  }
  if (value.empty()) return 0;
  return 1 + static_cast<int64_t>(feature_hash(field, value) % static_cast<uint64_t>(rows - 1));
}

}  // namespace cagr::data
