// row_odometer.hpp - visiting the rows of a broadcast N-d tensor without a division per row, for
// the general element-wise op. (The strided copies, transpose, slice and expand, keep a division
// per row: their rows are memcpy calls, and stepping measured no faster there.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "parallel_loop.hpp"

namespace cagr::cpu {

// Calls body(row, offsets) for rows [0, rows) of a tensor of `dims` (a row: the elements along the
// last dim), offsets[i] being operand i's element at the row's start: start[i] plus, over the dims
// before the last, the row's coordinate times strides[i][d] (at most 3 operands). The rows are cut
// into contiguous ranges, one per thread where `parallel`; a range divides once for its first row's
// coordinates and steps the rest like an odometer. A division per dimension for every row took
// most of the time of DIN's [64, 20, 1] x [64, 20, 16] multiply (rows of 16: 26 us for 20,480
// elements, 9.5 us stepping).
template <class Body>
void for_each_row(const std::vector<int64_t>& dims, int64_t rows, const std::vector<const std::vector<int64_t>*>& strides,
                  const int64_t* start, bool parallel, Body body) {
  const int rank = static_cast<int>(dims.size());
  const size_t operands = strides.size();
  auto run_rows = [&](int64_t begin, int64_t end) {
    std::vector<int64_t> coord(static_cast<size_t>(std::max(rank - 1, 0)));
    int64_t offsets[3] = {0, 0, 0};
    for (size_t i = 0; i < operands; ++i) offsets[i] = start[i];
    int64_t rest = begin;
    for (int d = rank - 2; d >= 0; --d) {
      const auto du = static_cast<size_t>(d);
      coord[du] = rest % dims[du];
      rest /= dims[du];
      for (size_t i = 0; i < operands; ++i) offsets[i] += coord[du] * (*strides[i])[du];
    }
    for (int64_t row = begin; row < end; ++row) {
      body(row, static_cast<const int64_t*>(offsets));
      for (int d = rank - 2; d >= 0; --d) {
        const auto du = static_cast<size_t>(d);
        for (size_t i = 0; i < operands; ++i) offsets[i] += (*strides[i])[du];
        if (++coord[du] < dims[du]) break;
        for (size_t i = 0; i < operands; ++i) offsets[i] -= coord[du] * (*strides[i])[du];
        coord[du] = 0;
      }
    }
  };
  parallel_ranges(rows, parallel, run_rows);
}

}  // namespace cagr::cpu
