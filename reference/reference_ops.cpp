// reference_ops.cpp - one plain loop nest per op, double accumulation wherever a sum happens.
// Speed is no goal here: every line should be checkable against abi/OPS.md by eye.
#include "reference_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "cagr_dtype.hpp"
#include "op_contract.hpp"
#include "reference_tensor_ops.hpp"

namespace cagr::reference {

using namespace contract;

namespace {

int64_t read_index(const void* data, cagr_dtype dtype, int64_t i) {
  return dtype == CAGR_DTYPE_I32 ? static_cast<const int32_t*>(data)[i] : static_cast<const int64_t*>(data)[i];
}

// NaN stays NaN through both (OPS.md: non-finite values), as in IEEE arithmetic and PyTorch.
double activate(Activation a, double x) {
  switch (a) {
    case Activation::relu: return x < 0 ? 0.0 : x;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::none: break;
  }
  return x;
}

// `op` names the op being run in the messages (embedding_bag, or the fused op that looks up first).
void embedding_bag(const EmbeddingBag& e, const void* const* in, void* const* out,
                   const std::string& op = "embedding_bag") {
  const int64_t bags = e.tables * e.batch;
  const void* offsets = in[1];
  if (read_index(offsets, e.offset_dtype, 0) != 0)
    throw std::invalid_argument(op + ": offsets[0] must be 0, got " + std::to_string(read_index(offsets, e.offset_dtype, 0)));
  if (read_index(offsets, e.offset_dtype, bags) != e.num_indices)
    throw std::invalid_argument(op + ": offsets[" + std::to_string(bags) + "] must be L = " +
                                std::to_string(e.num_indices) + ", got " +
                                std::to_string(read_index(offsets, e.offset_dtype, bags)));
  for (int64_t j = 0; j < bags; ++j) {
    if (read_index(offsets, e.offset_dtype, j + 1) < read_index(offsets, e.offset_dtype, j))
      throw std::invalid_argument(op + ": offsets decrease at position " + std::to_string(j + 1));
  }
  const float* weights = e.weighted ? static_cast<const float*>(in[e.weights_input()]) : nullptr;
  float* pooled = static_cast<float*>(out[0]);
  std::vector<double> acc(static_cast<size_t>(e.dim));
  for (int64_t t = 0; t < e.tables; ++t) {
    const void* table = in[2 + t];  // of any table dtype: read as OPS.md defines its values
    const int64_t padding = e.padded ? read_index(in[e.padding_input()], e.padding_dtype, t) : -1;
    for (int64_t b = 0; b < e.batch; ++b) {
      const int64_t begin = read_index(offsets, e.offset_dtype, t * e.batch + b);
      const int64_t end = read_index(offsets, e.offset_dtype, t * e.batch + b + 1);
      std::fill(acc.begin(), acc.end(), 0.0);
      int64_t count = 0;  // rows pooled: padding rows do not count
      for (int64_t i = begin; i < end; ++i) {
        const int64_t row = read_index(in[0], e.index_dtype, i);
        if (padding >= 0 && row == padding) continue;
        if (row < 0 || row >= e.rows[t])
          throw std::invalid_argument(op + ": index " + std::to_string(row) + " at position " + std::to_string(i) +
                                      " is out of range for table " + std::to_string(t) + " of " +
                                      std::to_string(e.rows[t]) + " rows");
        const double w = weights ? weights[i] : 1.0;
        for (int64_t d = 0; d < e.dim; ++d) {
          const double v = contract::table_value(e, table, row, d);
          if (e.pooling != Pooling::max) acc[d] += w * v;
          else if (count == 0 || v > acc[d]) acc[d] = v;
        }
        ++count;
      }
      const double scale = (e.pooling == Pooling::mean && count > 0) ? 1.0 / static_cast<double>(count) : 1.0;
      for (int64_t d = 0; d < e.dim; ++d) pooled[(b * e.tables + t) * e.dim + d] = static_cast<float>(acc[d] * scale);
    }
  }
}

void linear(const Linear& l, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const float* w = static_cast<const float*>(in[1]);
  const float* bias = l.has_bias ? static_cast<const float*>(in[2]) : nullptr;
  float* y = static_cast<float*>(out[0]);
  for (int64_t m = 0; m < l.m; ++m) {
    for (int64_t n = 0; n < l.n; ++n) {
      double acc = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < l.k; ++k) acc += static_cast<double>(x[m * l.k + k]) * w[n * l.k + k];
      y[m * l.n + n] = static_cast<float>(activate(l.activation, acc));
    }
  }
}

// The layers as linears, each one's f32 output the next one's X.
void mlp(const Mlp& p, const void* const* in, void* const* out) {
  std::vector<float> x, y;  // the previous layer's output, this layer's
  if (p.x_dtype == CAGR_DTYPE_BF16) {  // X's values, exactly, in f32
    const auto* bits = static_cast<const uint16_t*>(in[0]);
    for (int64_t i = 0; i < p.m * p.k[0]; ++i) x.push_back(abi::float_from_bf16(bits[i]));
  }
  for (size_t l = 0; l < p.k.size(); ++l) {
    const bool last = l + 1 == p.k.size();
    if (!last) y.resize(static_cast<size_t>(p.m * p.n[l]));
    const void* const layer_in[] = {l == 0 && x.empty() ? in[0] : x.data(), in[1 + 2 * l], in[2 + 2 * l]};
    void* const layer_out[] = {last ? out[0] : y.data()};
    linear(p.layer(l), layer_in, layer_out);
    x.swap(y);
  }
}

// The product and bias in double as linear's, then x0 * that + R, rounded once.
void cross_layer(const CrossLayer& c, const void* const* in, void* const* out) {
  const Linear& l = c.linear;
  const float* x0 = static_cast<const float*>(in[0]);
  const float* x = static_cast<const float*>(in[1]);
  const float* w = static_cast<const float*>(in[2]);
  const float* bias = static_cast<const float*>(in[3]);
  const float* r = static_cast<const float*>(in[c.residual_input ? 4 : 1]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t m = 0; m < l.m; ++m) {
    for (int64_t n = 0; n < l.n; ++n) {
      double acc = bias[n];
      for (int64_t k = 0; k < l.k; ++k) acc += static_cast<double>(x[m * l.k + k]) * w[n * l.k + k];
      y[m * l.n + n] = static_cast<float>(x0[m * l.n + n] * acc + r[m * l.n + n]);
    }
  }
}

void unary(const Unary& u, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t i = 0; i < u.numel; ++i) y[i] = static_cast<float>(activate(u.activation, x[i]));
}

void binary(const Binary& b, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const float* z = static_cast<const float*>(in[1]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t i = 0; i < b.numel; ++i) y[i] = b.multiply ? x[i] * z[i % b.b_numel] : x[i] + z[i % b.b_numel];
}

void concat(const Concat& c, const void* const* in, void* const* out) {
  float* y = static_cast<float*>(out[0]);
  for (int64_t o = 0; o < c.outer; ++o) {
    for (size_t i = 0; i < c.chunk.size(); ++i) {
      const float* x = static_cast<const float*>(in[i]) + o * c.chunk[i];
      for (int64_t e = 0; e < c.chunk[i]; ++e) *y++ = x[e];
    }
  }
}

void dot_interaction(const DotInteraction& d, const void* const* in, void* const* out) {
  float* y = static_cast<float*>(out[0]);
  for (int64_t b = 0; b < d.batch; ++b) {
    float* row = y + b * d.out_cols();
    if (d.dense_input) std::memcpy(row, d.feature(in, b, 0), static_cast<size_t>(d.dim) * sizeof(float));
    float* dots = row + d.dots_offset();
    int64_t p = 0;
    for (int64_t i = 0; i < d.features; ++i) {
      const float* fi = d.feature(in, b, i);
      const int64_t last = d.self ? i : i - 1;
      for (int64_t j = 0; j <= last; ++j) {
        const float* fj = d.feature(in, b, j);
        double acc = 0;
        for (int64_t k = 0; k < d.dim; ++k) acc += static_cast<double>(fi[k]) * fj[k];
        dots[p++] = static_cast<float>(acc);
      }
    }
    std::fill(row + d.used_cols(), row + d.out_cols(), 0.0f);
  }
}

void fm_interaction(const FmInteraction& f, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t b = 0; b < f.batch; ++b) {
    double total = 0;
    for (int64_t d = 0; d < f.dim; ++d) {
      double sum = 0, sum_sq = 0;
      for (int64_t k = 0; k < f.features; ++k) {
        const double v = x[(b * f.features + k) * f.dim + d];
        sum += v;
        sum_sq += v * v;
      }
      total += sum * sum - sum_sq;
    }
    y[b] = static_cast<float>(0.5 * total);
  }
}

void reduce_sum(const ReduceSum& r, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const size_t rank = r.dims.size();
  int64_t numel = 1, out_numel = 1;
  for (size_t d = 0; d < rank; ++d) {
    numel *= r.dims[d];
    if (!r.reduced[d]) out_numel *= r.dims[d];
  }
  std::vector<double> acc(static_cast<size_t>(out_numel), 0.0);
  std::vector<int64_t> coord(rank, 0);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t o = 0;
    for (size_t d = 0; d < rank; ++d)
      if (!r.reduced[d]) o = o * r.dims[d] + coord[d];
    acc[o] += x[i];
    for (size_t d = rank; d-- > 0;) {  // next row-major coordinate
      if (++coord[d] < r.dims[d]) break;
      coord[d] = 0;
    }
  }
  float* y = static_cast<float*>(out[0]);
  for (int64_t o = 0; o < out_numel; ++o) y[o] = static_cast<float>(acc[o]);
}

// Whether a ranks before b: larger first, NaN above every number (ties are left to a stable sort).
bool ranks_before(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  if (std::isnan(b)) return false;
  return a > b;
}

void top_k(const TopK& t, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* values = static_cast<float*>(out[0]);
  int64_t* indices = static_cast<int64_t*>(out[1]);
  std::vector<int64_t> order(static_cast<size_t>(t.n));
  for (int64_t b = 0; b < t.batch; ++b) {
    const float* row = x + b * t.n;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [row](int64_t i, int64_t j) { return ranks_before(row[i], row[j]); });
    for (int64_t k = 0; k < t.k; ++k) {
      values[b * t.k + k] = row[order[k]];
      indices[b * t.k + k] = order[k];
    }
  }
}

void gather(const Gather& g, const void* const* in, void* const* out) {
  const float* data = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t i = 0; i < g.count; ++i) {
    const int64_t row = read_index(in[1], g.index_dtype, i);
    if (row < 0 || row >= g.rows)
      throw std::invalid_argument("gather: index " + std::to_string(row) + " at position " + std::to_string(i) +
                                  " is out of range for data of " + std::to_string(g.rows) + " rows");
    for (int64_t e = 0; e < g.row_elems; ++e) y[i * g.row_elems + e] = data[row * g.row_elems + e];
  }
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

void run(const cagr_op_desc& op, const void* const* inputs, void* const* outputs) {
  Checked checked;
  try {
    checked = check(plugin::OpView(&op));
  } catch (const plugin::Error& e) {
    throw std::invalid_argument(e.what());
  }
  std::visit(Overloaded{
                 [&](const EmbeddingBag& e) { embedding_bag(e, inputs, outputs); },
                 [&](const Linear& l) { linear(l, inputs, outputs); },
                 [&](const Mlp& p) { mlp(p, inputs, outputs); },
                 [&](const CrossLayer& c) { cross_layer(c, inputs, outputs); },
                 [&](const Unary& u) { unary(u, inputs, outputs); },
                 [&](const Binary& b) { binary(b, inputs, outputs); },
                 [&](const Concat& c) { concat(c, inputs, outputs); },
                 [&](const Reshape& r) {
                   if (r.bytes > 0) std::memcpy(outputs[0], inputs[0], r.bytes);
                 },
                 [&](const DotInteraction& d) { dot_interaction(d, inputs, outputs); },
                 [&](const DlrmEmbeddingInteraction& f) {
                   std::vector<float> pooled(static_cast<size_t>(f.lookup.batch * f.lookup.tables * f.lookup.dim));
                   void* const pooled_out[] = {pooled.data()};
                   embedding_bag(f.lookup, inputs + 1, pooled_out, "dlrm_embedding_interaction");
                   const void* const features[] = {inputs[0], pooled.data()};
                   if (f.output_dtype == CAGR_DTYPE_F32) return dot_interaction(f.interaction, features, outputs);
                   std::vector<float> top(static_cast<size_t>(f.interaction.batch * f.interaction.out_cols()));
                   void* const top_out[] = {top.data()};
                   dot_interaction(f.interaction, features, top_out);
                   auto* bits = static_cast<uint16_t*>(outputs[0]);  // rounded to bf16 (OPS.md: output_dtype)
                   for (size_t i = 0; i < top.size(); ++i) bits[i] = abi::bf16_from_float(top[i]);
                 },
                 [&](const FmInteraction& f) { fm_interaction(f, inputs, outputs); },
                 [&](const ReduceSum& r) { reduce_sum(r, inputs, outputs); },
                 [&](const TopK& t) { top_k(t, inputs, outputs); },
                 [&](const Gather& g) { gather(g, inputs, outputs); },
                 // The general tensor ops (tensor_ops.cpp).
                 [&](const Elementwise& e) { elementwise(e, inputs, outputs); },
                 [&](const Cast& c) { cast(c, inputs, outputs); },
                 [&](const StridedCopy& s) { strided_copy(s, inputs, outputs); },
                 [&](const MatMul& m) { matmul(m, inputs, outputs); },
                 [&](const Take& t) { take(t, inputs, outputs); },
                 [&](const GatherElements& g) { gather_elements(g, inputs, outputs); },
                 [&](const Softmax& s) { softmax(s, inputs, outputs); },
                 [&](const Reduce& r) { reduce(r, inputs, outputs); },
                 [&](const LayerNorm& l) { layer_norm(l, inputs, outputs); },
                 [&](const BagOffsets& b) { fixed_bag_offsets(b, inputs, outputs); },
                 [&](const TableOffsets& t) { table_offsets(t, inputs, outputs); },
             },
             checked);
}

}  // namespace cagr::reference
