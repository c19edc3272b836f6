// tensor_movement.cpp - the general data-movement ops: transpose, slice and expand (one strided
// copy), take (ONNX Gather on any axis) and gather_elements. No arithmetic; elements are moved as
// raw words of their size.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_kernel.hpp"
#include "index_check.hpp"
#include "parallel_loop.hpp"

namespace cagr::cpu {
namespace {

using contract::GatherElements;
using contract::StridedCopy;
using contract::Take;

// One row of `inner` contiguous words: rows of 16, 32 and 64 bytes (AutoInt's heads of 8 floats,
// FiBiNET's and DLRM's rows of 16) as fixed-size copies the compiler turns into a few vector moves,
// since a memcpy call per such row cost more than the bytes (5.5 ns a 32-byte row).
template <class Word>
void copy_row(Word* dst, const Word* src, int64_t inner) {
  switch (static_cast<size_t>(inner) * sizeof(Word)) {
    case 16: std::memcpy(dst, src, 16); return;
    case 32: std::memcpy(dst, src, 32); return;
    case 64: std::memcpy(dst, src, 64); return;
    default: std::memcpy(dst, src, static_cast<size_t>(inner) * sizeof(Word));
  }
}

// Rows of a copy that swaps two axes above the contiguous last one ([A, J, D] read from [J, A, D],
// as a transpose that moves a batch back in front of a field axis): the output's rows in tiles of
// kTile rows of axis A, each tile taking its J rows in turn, so that the reads walk kTile
// neighbouring source rows instead of one row a page apart (FiBiNET's [325, 2048, 16] -> [2048,
// 325, 16] at benchmark size took 10.5 ms row by row on the 2-core VM, 6.5 ms in tiles).
template <class Word>
void swapped_rows(const StridedCopy& s, const Word* x, Word* y) {
  constexpr int64_t kTile = 16;
  const size_t rank = s.out_dims.size(), a = rank - 3, j = rank - 2;
  const int64_t A = s.out_dims[a], J = s.out_dims[j], inner = s.out_dims.back();
  const int64_t tiles = (A + kTile - 1) / kTile, outer = s.numel / (A * J * inner);
  parallel_for(outer * tiles, s.numel >= kParallelThreshold, [&](int64_t tile) {
    const int64_t o = tile / tiles, a0 = tile % tiles * kTile, a1 = std::min(a0 + kTile, A);
    int64_t src = s.offset, rest = o;
    for (size_t d = a; d-- > 0;) {
      src += rest % s.out_dims[d] * s.strides[d];
      rest /= s.out_dims[d];
    }
    Word* dst = y + o * A * J * inner;
    for (int64_t r = 0; r < J; ++r)
      for (int64_t c = a0; c < a1; ++c)
        copy_row(dst + (c * J + r) * inner, x + src + c * s.strides[a] + r * s.strides[j], inner);
  });
}

template <class Word>
void strided_rows(const StridedCopy& s, const void* in, void* out) {
  const Word* x = static_cast<const Word*>(in);
  Word* y = static_cast<Word*>(out);
  const int rank = static_cast<int>(s.out_dims.size());
  const int64_t inner = rank > 0 ? s.out_dims.back() : 1;
  const int64_t step = rank > 0 ? s.strides.back() : 0;
  if (inner == 0 || s.numel == 0) return;
  if (rank >= 3 && step == 1 && s.out_dims[static_cast<size_t>(rank - 3)] > 1 &&
      std::abs(s.strides[static_cast<size_t>(rank - 2)]) > std::abs(s.strides[static_cast<size_t>(rank - 3)]))
    return swapped_rows(s, x, y);
  const int64_t rows = s.numel / inner;
  parallel_for(rows, s.numel >= kParallelThreshold, [&](int64_t row) {
    int64_t src = s.offset, rest = row;
    for (int d = rank - 2; d >= 0; --d) {
      src += rest % s.out_dims[static_cast<size_t>(d)] * s.strides[static_cast<size_t>(d)];
      rest /= s.out_dims[static_cast<size_t>(d)];
    }
    Word* dst = y + row * inner;
    if (step == 1) copy_row(dst, x + src, inner);
    else
      for (int64_t j = 0; j < inner; ++j) dst[j] = x[src + j * step];
  });
}

// The same copy over the fewest dims: dims of size 1 dropped, and each dim merged into the one
// before it where the source steps over both as over one (AutoInt's [1, 26, 2048, 3, 16] ->
// [3, 26, 2048, 1, 16] heads split is [53248, 3, 16] -> [3, 53248, 16]: rows the tiles see, and
// fewer divisions per row). Written into `m`, whose vectors keep their capacity from run to run
// (a kernel run allocates nothing once warm).
void merge_dims(const StridedCopy& s, StridedCopy& m) {
  m.elem_size = s.elem_size;
  m.offset = s.offset;
  m.numel = s.numel;
  m.out_dims.clear();
  m.strides.clear();
  for (size_t d = 0; d < s.out_dims.size(); ++d) {
    if (s.out_dims[d] == 1) continue;
    if (!m.out_dims.empty() && m.strides.back() == s.strides[d] * s.out_dims[d]) {
      m.out_dims.back() *= s.out_dims[d];
      m.strides.back() = s.strides[d];
    } else {
      m.out_dims.push_back(s.out_dims[d]);
      m.strides.push_back(s.strides[d]);
    }
  }
}

void strided_copy(const StridedCopy& given, const void* const* in, void* const* out) {
  thread_local StridedCopy s;
  merge_dims(given, s);
  switch (s.elem_size) {
    case 8: return strided_rows<uint64_t>(s, in[0], out[0]);
    case 4: return strided_rows<uint32_t>(s, in[0], out[0]);
    case 2: return strided_rows<uint16_t>(s, in[0], out[0]);
    default: return strided_rows<uint8_t>(s, in[0], out[0]);
  }
}

// An index in [-len, len) counted from the end when negative (ONNX), or -1 when out of range.
int64_t wrapped(int64_t index, int64_t len) {
  if (index < 0) index += len;
  return index >= 0 && index < len ? index : -1;
}

// The output's blocks in order, so that the writes stream: where the axis is not the first, each
// outer slice's picks in turn (FiBiNET's field pairs at benchmark size, [2048, 26, 16] -> [2048,
// 325, 16], took 6.5 ms pick by pick over all slices, 1.8 ms in order, on one thread of the VM).
void take(const Take& t, const void* const* in, void* const* out) {
  const auto* data = static_cast<const std::byte*>(in[0]);
  auto* y = static_cast<std::byte*>(out[0]);
  const size_t block = static_cast<size_t>(t.inner) * t.elem_size;
  int64_t first_bad = kNoBadIndex;
  with_index_type(t.index_dtype, in[1], [&](const auto* indices) {
    first_bad = parallel_min(t.count, t.count >= kParallelThreshold, kNoBadIndex,
                             [&](int64_t j) { return wrapped(indices[j], t.axis_len) < 0 ? j : kNoBadIndex; });
    if (first_bad != kNoBadIndex || t.count == 0) return;
    parallel_ranges(t.outer * t.count, t.outer * t.count * t.inner >= kParallelThreshold, [&](int64_t begin, int64_t end) {
      int64_t o = begin / t.count, j = begin % t.count;
      for (int64_t i = begin; i < end; ++i) {
        std::memcpy(y + static_cast<size_t>(i) * block, data + static_cast<size_t>(o * t.axis_len + wrapped(indices[j], t.axis_len)) * block, block);
        if (++j == t.count) j = 0, ++o;
      }
    });
  });
  if (first_bad != kNoBadIndex)
    bad_index("take", first_bad, index_at(in[1], t.index_dtype, first_bad), "an axis of " + std::to_string(t.axis_len));
}

void gather_elements(const GatherElements& g, const void* const* in, void* const* out) {
  const auto* data = static_cast<const std::byte*>(in[0]);
  auto* y = static_cast<std::byte*>(out[0]);
  const size_t rank = g.index_dims.size();
  std::vector<int64_t> data_strides(rank, 1);
  for (size_t d = rank; d-- > 1;) data_strides[d - 1] = data_strides[d] * g.data_dims[d];
  int64_t count = 1;
  for (int64_t d : g.index_dims) count *= d;
  const int64_t axis_len = g.data_dims[static_cast<size_t>(g.axis)];
  with_index_type(g.index_dtype, in[1], [&](const auto* indices) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t src = 0, rest = i;
      for (size_t d = rank; d-- > 0;) {
        const int64_t c = rest % g.index_dims[d];
        rest /= g.index_dims[d];
        if (static_cast<int64_t>(d) != g.axis) src += c * data_strides[d];
      }
      const int64_t at = wrapped(indices[i], axis_len);
      if (at < 0) bad_index("gather_elements", i, indices[i], "an axis of " + std::to_string(axis_len));
      src += at * data_strides[static_cast<size_t>(g.axis)];
      std::memcpy(y + static_cast<size_t>(i) * g.elem_size, data + static_cast<size_t>(src) * g.elem_size, g.elem_size);
    }
  });
}

void bag_offsets(const contract::BagOffsets& b, const void* const*, void* const* out) {
  int64_t* y = static_cast<int64_t*>(out[0]);
  for (int64_t i = 0; i <= b.bags; ++i) y[i] = i * b.bag_size;
}

// Table t's bag b starts at t * L + offsets[t, b]. Each table's first offset must be 0 and none may
// pass L (as nn.EmbeddingBag requires): else a bag would take indices of the next table.
void table_offsets(const contract::TableOffsets& t, const void* const* in, void* const* out) {
  int64_t* y = static_cast<int64_t*>(out[0]);
  for (int64_t row = 0; row < t.tables; ++row)
    for (int64_t b = 0; b < t.batch; ++b) {
      const int64_t position = row * t.batch + b, offset = index_at(in[0], t.offset_dtype, position);
      if ((b == 0 && offset != 0) || offset < 0 || offset > t.row_length)
        plugin::invalid("table_offsets: offset " + std::to_string(offset) + " at position " + std::to_string(position) + " (table " +
                        std::to_string(row) + ", bag " + std::to_string(b) + ") must be " +
                        (b == 0 ? std::string("0 (a table's first bag starts its row)") : "in 0.." + std::to_string(t.row_length)));
      y[position] = row * t.row_length + offset;
    }
  y[t.tables * t.batch] = t.tables * t.row_length;
}

Cost strided_copy_cost(const contract::Checked& shapes) {
  const auto& s = std::get<StridedCopy>(shapes);
  return Cost{0, 2.0 * static_cast<double>(s.numel * static_cast<int64_t>(s.elem_size))};
}

Cost take_cost(const contract::Checked& shapes) {
  const auto& t = std::get<Take>(shapes);
  return Cost{0, 2.0 * static_cast<double>(t.outer * t.count * t.inner * static_cast<int64_t>(t.elem_size))};
}

Cost gather_elements_cost(const contract::Checked& shapes) {
  const auto& g = std::get<GatherElements>(shapes);
  double count = 1;
  for (int64_t d : g.index_dims) count *= static_cast<double>(d);
  return Cost{0, count * (2.0 * static_cast<double>(g.elem_size) + 8.0)};
}

}  // namespace

OpImpl strided_copy_impl() { return OpImpl{{{"omp_rows", true, FunctionKernel<StridedCopy, strided_copy>::create}}, strided_copy_cost}; }
OpImpl bag_offsets_impl() {
  return OpImpl{{{"loop", false, FunctionKernel<contract::BagOffsets, bag_offsets>::create}},
                [](const contract::Checked& shapes) { return Cost{0, 8.0 * static_cast<double>(std::get<contract::BagOffsets>(shapes).bags + 1)}; }};
}
OpImpl table_offsets_impl() {
  return OpImpl{{{"loop", false, FunctionKernel<contract::TableOffsets, table_offsets>::create}},
                [](const contract::Checked& shapes) {
                  const auto& t = std::get<contract::TableOffsets>(shapes);
                  return Cost{0, 16.0 * static_cast<double>(t.tables * t.batch + 1)};
                }};
}
OpImpl take_impl() { return OpImpl{{{"memcpy_blocks", true, FunctionKernel<Take, take>::create}}, take_cost}; }
OpImpl gather_elements_impl() {
  return OpImpl{{{"loop", false, FunctionKernel<GatherElements, gather_elements>::create}}, gather_elements_cost};
}

}  // namespace cagr::cpu
