// row_scramble.hpp - a cheap bijection of [0, n) onto itself, keyed by a seed, that spreads
// popularity ranks over a table: with it the hottest rows are not all at the start of the table
// (which would flatter caches and hide the cost of real, scattered lookups).
//
// A keyed mix of odd multiplications, additions and xor-shifts, each invertible modulo 2^k for the
// smallest 2^k >= n, is a permutation of [0, 2^k); "cycle walking" (re-applying it until the value
// falls below n) restricts it to a permutation of [0, n), with fewer than 2 applications on average.
#ifndef CAGR_DATA_ROW_SCRAMBLE_HPP_
#define CAGR_DATA_ROW_SCRAMBLE_HPP_

#include <cstdint>

namespace cagr::data {

class RowScramble {
 public:
  RowScramble(int64_t n, uint64_t key);
  int64_t operator()(int64_t x) const;

 private:
  uint64_t permute(uint64_t x) const;  // a permutation of [0, 2^bits)

  uint64_t n_;
  uint64_t mask_;
  int shift_;
  uint64_t multiplier1_, multiplier2_, addend_;
};

}  // namespace cagr::data

#endif  // CAGR_DATA_ROW_SCRAMBLE_HPP_
