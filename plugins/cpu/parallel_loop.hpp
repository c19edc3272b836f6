// parallel_loop.hpp - the kernels' loops over the OpenMP team, or on the calling thread alone
// without entering a parallel region. libgomp enters a region even where its `if` clause is false
// or the team has one thread: about 0.4 us and a futex wake each on the 2-core VM, a fifth of DIN's
// pass at batch 1 (ten regions). Below a kernel's threshold, or with one thread, these loops are
// plain loops.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace cagr::cpu {

// Whether a loop that may go parallel (`parallel`: its work is above the kernel's threshold) runs
// on the team.
inline bool use_team(bool parallel) { return parallel && omp_get_max_threads() > 1; }

// body(i) for i in [0, count), in static shares of the team where `parallel`.
template <class Body>
void parallel_for(int64_t count, bool parallel, const Body& body) {
  if (!use_team(parallel)) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) body(i);
}

// body(begin, end) once per member of the team over its contiguous share of [0, count), or once
// over all of it: for loops that keep scratch per thread.
template <class Body>
void parallel_ranges(int64_t count, bool parallel, const Body& body) {
  if (!use_team(parallel)) return body(int64_t{0}, count);
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    body(count * t / threads, count * (t + 1) / threads);
  }
}

// The least of value(i) over i in [0, count), each called once (in chunks of `Chunk` handed out as
// threads free up where Chunk > 0, else static shares), or `none` where count is 0. The kernels'
// first bad index: value(i) is the first bad position of piece i, `none` where it has none.
template <int64_t Chunk = 0, class Value>
int64_t parallel_min(int64_t count, bool parallel, int64_t none, const Value& value) {
  int64_t least = none;
  if (!use_team(parallel)) {
    for (int64_t i = 0; i < count; ++i) least = std::min(least, value(i));
  } else if constexpr (Chunk > 0) {
#pragma omp parallel for schedule(dynamic, Chunk) reduction(min : least)
    for (int64_t i = 0; i < count; ++i) least = std::min(least, value(i));
  } else {
#pragma omp parallel for schedule(static) reduction(min : least)
    for (int64_t i = 0; i < count; ++i) least = std::min(least, value(i));
  }
  return least;
}

}  // namespace cagr::cpu
