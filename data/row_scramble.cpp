#include "row_scramble.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#include "random.hpp"

namespace cagr::data {

RowScramble::RowScramble(int64_t n, uint64_t key) : n_(static_cast<uint64_t>(n)) {
  if (n < 1) throw std::invalid_argument("RowScramble: needs at least 1 row, got " + std::to_string(n));
  const int bits = std::max(1, static_cast<int>(std::bit_width(n_ - 1)));
  mask_ = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  shift_ = bits / 2 + 1;
  multiplier1_ = mix64(key) | 1;  // odd: invertible modulo 2^bits
  multiplier2_ = mix64(key + 1) | 1;
  addend_ = mix64(key + 2);
}

uint64_t RowScramble::permute(uint64_t x) const {
  x = (x * multiplier1_ + addend_) & mask_;
  x ^= x >> shift_;
  x = (x * multiplier2_) & mask_;
  x ^= x >> shift_;
  return x;
}

int64_t RowScramble::operator()(int64_t x) const {
  uint64_t y = permute(static_cast<uint64_t>(x));
  while (y >= n_) y = permute(y);
  return static_cast<int64_t>(y);
}

}  // namespace cagr::data
