// case_runner.cpp
#include "case_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "cagr_plugin_support.hpp"
#include "op_contract.hpp"
#include "reference_ops.hpp"

namespace cagr::conformance {

namespace {

size_t bytes_of(const cagr_tensor_desc& d) {
  size_t n = plugin::dtype_size(d.dtype);
  for (int i = 0; i < d.rank; ++i) n *= static_cast<size_t>(d.dims[i]);
  return n;
}

std::vector<int64_t> dims_of(const cagr_tensor_desc& d) { return std::vector<int64_t>(d.dims, d.dims + d.rank); }

// Row-major coordinates of flat index `i` in `dims`.
std::string coords(const std::vector<int64_t>& dims, size_t i) {
  std::vector<int64_t> c(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    c[d] = static_cast<int64_t>(i) % std::max<int64_t>(dims[d], 1);
    i /= static_cast<size_t>(std::max<int64_t>(dims[d], 1));
  }
  return contract::dims_string(c);
}

// An element of a non-f32 output as a number (signed where its dtype is; f16 / bf16 as their bits).
int64_t integer_value(const std::byte* at, cagr_dtype dtype) {
  int32_t i32 = 0;
  int64_t i64 = 0;
  switch (dtype) {
    case CAGR_DTYPE_I8: return static_cast<int8_t>(*at);
    case CAGR_DTYPE_I32: std::memcpy(&i32, at, sizeof i32); return i32;
    case CAGR_DTYPE_I64: std::memcpy(&i64, at, sizeof i64); return i64;
    default: break;
  }
  uint64_t bits = 0;  // u8, f16, bf16: zero-extended
  std::memcpy(&bits, at, std::min(plugin::dtype_size(dtype), sizeof bits));
  return static_cast<int64_t>(bits);
}

}  // namespace

std::vector<Bytes> run_on_plugin(Plugin& plugin, int device, int variant, Case& create, Case& run, cagr_constant_lifetime lifetime) {
  const cagr_op_desc& desc = create.op.desc();
  const plugin::OpView view(&desc);
  auto owner = std::make_shared<std::vector<Bytes>>();  // the constants' data, lent where borrowed
  std::vector<Bytes>& constant_data = *owner;
  std::vector<size_t> constant_index;
  for (size_t i = 0; i < create.inputs.size(); ++i) {
    if (!contract::usually_constant(view, i)) continue;
    constant_data.push_back(create.inputs[i]);
    constant_index.push_back(i);
  }
  std::vector<cagr_constant> constants;
  for (size_t c = 0; c < constant_data.size(); ++c) {
    auto k = abi::make_struct<cagr_constant>();
    k.input_index = constant_index[c];
    k.data = constant_data[c].data();
    k.lifetime = lifetime;
    constants.push_back(k);
  }
  Kernel kernel;
  if (lifetime == CAGR_CONSTANT_BORROWED) {
    // A kernel made from the same borrowed data before this one, and destroyed before it runs: a
    // plugin that shares one copy among such kernels must keep it for the one still living.
    Kernel earlier = plugin.create_kernel(device, desc, variant, constants, nullptr, {owner});
    kernel = plugin.create_kernel(device, desc, variant, constants, nullptr, {owner});
  } else {
    kernel = plugin.create_kernel(device, desc, variant, constants);
    for (Bytes& b : constant_data) std::fill(b.begin(), b.end(), std::byte{0xff});  // NaN if still read
  }

  Stream stream = plugin.create_stream(device);
  std::vector<Buffer> buffers;
  std::vector<cagr_buffer*> in_bufs, out_bufs;
  std::vector<cagr_tensor_desc> in_descs, out_descs;
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    if (contract::usually_constant(view, i)) continue;
    const Bytes& data = run.inputs[i];
    // Empty tensors (no indices, a batch of 0) as the runtime has them: a buffer of 0 bytes and a
    // copy of 0 bytes from NULL, both valid (OPS.md).
    buffers.push_back(plugin.alloc(device, data.size()));
    buffers.back().copy_from_host(stream, data.data(), data.size());
    in_bufs.push_back(buffers.back().get());
    in_descs.push_back(run.op.inputs()[i]);
  }
  std::vector<Bytes> outputs;
  for (const auto& d : run.op.outputs()) {
    outputs.emplace_back(bytes_of(d), std::byte{0xcd});  // garbage where the plugin writes nothing
    buffers.push_back(plugin.alloc(device, outputs.back().size()));
    buffers.back().copy_from_host(stream, outputs.back().data(), outputs.back().size());
    out_bufs.push_back(buffers.back().get());
    out_descs.push_back(d);
  }
  kernel.run(stream, in_bufs, in_descs, out_bufs, out_descs);
  for (size_t o = 0; o < outputs.size(); ++o) {
    buffers[in_bufs.size() + o].copy_to_host(stream, outputs[o].data(), outputs[o].size());
  }
  stream.synchronize();
  return outputs;
}

std::vector<Bytes> run_on_reference(Case& c, bool magnitude) {
  std::vector<Bytes> inputs = c.inputs;
  if (magnitude) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (c.op.inputs()[i].dtype != CAGR_DTYPE_F32) continue;
      float* f = reinterpret_cast<float*>(inputs[i].data());
      for (size_t e = 0; e < inputs[i].size() / sizeof(float); ++e) f[e] = std::fabs(f[e]);
    }
  }
  std::vector<Bytes> outputs;
  for (const auto& d : c.op.outputs()) outputs.emplace_back(bytes_of(d));
  std::vector<const void*> in_ptrs;
  std::vector<void*> out_ptrs;
  for (const Bytes& b : inputs) in_ptrs.push_back(b.data());
  for (Bytes& b : outputs) out_ptrs.push_back(b.data());
  reference::run(c.op.desc(), in_ptrs.data(), out_ptrs.data());
  return outputs;
}

double relative_tolerance(cagr_math_precision precision) {
  return precision == CAGR_MATH_BF16 ? 1e-2 : precision == CAGR_MATH_TF32 ? 2e-3 : 1e-5;
}

namespace {

// int8 (ABI 1.3) quantises each operand of a product to 8-bit codes times a scale: W per output
// channel (at worst symmetric s8: a half step of max|W[n,:]| / 254), X per tensor or finer (at
// worst symmetric s8 per tensor: max|X| / 254; the CPU plugin's per row is finer). A product
// x*w then errs by at most |x| dw + |w| dx + dx dw, so the sum over k by at most
//   (1/254) (max|W[n,:]| sum_k |x_mk| + (1 + 1/254) max|X| sum_k |w_nk|)
// (the int32 sums are exact). That is relative to the operands' ranges, not to each product: a
// row of X far smaller than X's largest value loses most of its digits, which a tolerance
// relative to the products (as for bf16) would call wrong. Both terms are the op before its
// activation on magnitudes (the activations change an error by at most 1x), with W's rows, or
// X, replaced by their largest magnitude; a bias and cross_layer's R are exact, so 0 here, while
// its x0 multiplies the error. Ops other than linear and cross_layer have no int8 form here.
std::vector<Bytes> int8_quantisation_bound(const Case& c) {
  const std::string& op = c.op.type();
  if (op != "linear" && op != "cross_layer")
    throw std::runtime_error("an int8 variant of " + op + ": the suite knows int8's error bound only for linear and cross_layer");
  const size_t x = op == "linear" ? 0 : 1;  // cross_layer: x0, X, W, bias, R
  const size_t w = x + 1;
  const auto floats = [](Bytes& b) { return std::make_pair(reinterpret_cast<float*>(b.data()), b.size() / sizeof(float)); };
  Case magnitudes{c.label, c.op.without_attr("activation"), c.inputs, c.optional};
  for (size_t i = 0; i < magnitudes.inputs.size(); ++i) {
    auto [f, n] = floats(magnitudes.inputs[i]);
    const bool operand = i == x || i == w || (op == "cross_layer" && i == 0);
    for (size_t e = 0; e < n; ++e) f[e] = operand ? std::fabs(f[e]) : 0.0f;
  }
  const int64_t k = c.op.inputs()[w].dims[1];
  Case w_rows = magnitudes, x_largest = magnitudes;
  auto [wf, wn] = floats(w_rows.inputs[w]);
  for (size_t row = 0; row < wn / std::max<int64_t>(k, 1); ++row) {
    float* r = wf + row * k;
    std::fill(r, r + k, *std::max_element(r, r + k));
  }
  auto [xf, xn] = floats(x_largest.inputs[x]);
  if (xn > 0) std::fill(xf, xf + xn, *std::max_element(xf, xf + xn));
  std::vector<Bytes> bound = run_on_reference(w_rows);
  const std::vector<Bytes> second = run_on_reference(x_largest);
  for (size_t o = 0; o < bound.size(); ++o) {
    auto [b, n] = floats(bound[o]);
    const float* s = reinterpret_cast<const float*>(second[o].data());
    for (size_t e = 0; e < n; ++e) b[e] = static_cast<float>((b[e] + (1.0 + 1.0 / 254) * s[e]) / 254);
  }
  return bound;
}

}  // namespace

std::string compare(Case& c, const std::vector<Bytes>& want, const std::vector<Bytes>& got, cagr_math_precision precision) {
  const double relative = relative_tolerance(precision);
  const bool sums = accumulates(c.op.type());
  // The scale of a sum is its products' magnitudes before any activation: relu and sigmoid change
  // an error by at most 1x and 1/4x, while sigmoid of the magnitudes would saturate at 1.
  Case before_activation{c.label, c.op.without_attr("activation"), c.inputs, c.optional};
  const std::vector<Bytes> scale = sums ? run_on_reference(before_activation, true) : std::vector<Bytes>();
  const std::vector<Bytes> quantisation = precision == CAGR_MATH_INT8 ? int8_quantisation_bound(c) : std::vector<Bytes>();
  std::ostringstream message;
  for (size_t o = 0; o < want.size(); ++o) {
    const cagr_tensor_desc& d = c.op.outputs()[o];
    const std::vector<int64_t> dims = dims_of(d);
    size_t mismatches = 0;
    std::ostringstream first;
    if (d.dtype == CAGR_DTYPE_F32) {
      const float* w = reinterpret_cast<const float*>(want[o].data());
      const float* g = reinterpret_cast<const float*>(got[o].data());
      const float* s = sums ? reinterpret_cast<const float*>(scale[o].data()) : w;
      const float* q = quantisation.empty() ? nullptr : reinterpret_cast<const float*>(quantisation[o].data());
      for (size_t i = 0; i < want[o].size() / sizeof(float); ++i) {
        // A scale made non-finite by NaN or Inf inputs elsewhere in the sum says nothing: |want| then.
        const double scale_i = std::isfinite(s[i]) ? std::max(std::fabs(double{w[i]}), std::fabs(double{s[i]})) : std::fabs(double{w[i]});
        const double tolerance = 1e-6 + relative * scale_i + (q != nullptr && std::isfinite(q[i]) ? q[i] : 0.0);
        // NaN matches NaN, an infinity only the same infinity (OPS.md: non-finite values). Except
        // in a looser precision, where any non-finite value matches: an infinity times a sum that
        // rounding moved across 0 (cross_layer's x0 * (X W + b)) is the other infinity, or NaN.
        const bool ok = std::isfinite(w[i]) ? std::fabs(double{g[i]} - w[i]) <= tolerance
                        : precision != CAGR_MATH_F32 ? !std::isfinite(g[i])
                                                     : (std::isnan(w[i]) ? std::isnan(g[i]) : g[i] == w[i]);
        if (ok) continue;
        if (mismatches++ == 0)
          first << "first mismatch at flat index " << i << " " << coords(dims, i) << ": got " << g[i] << ", want "
                << w[i] << " (tolerance " << tolerance << ")";
      }
    } else {
      const size_t elem = plugin::dtype_size(d.dtype);
      for (size_t i = 0; i < want[o].size() / elem; ++i) {
        if (std::memcmp(want[o].data() + i * elem, got[o].data() + i * elem, elem) == 0) continue;
        if (mismatches++ == 0) {
          first << "first mismatch at flat index " << i << " " << coords(dims, i) << ": got "
                << integer_value(got[o].data() + i * elem, d.dtype) << ", want " << integer_value(want[o].data() + i * elem, d.dtype);
        }
      }
    }
    if (mismatches > 0) {
      message << "output " << o << " " << contract::dims_string(dims) << " " << plugin::dtype_name(d.dtype) << ": "
              << first.str() << "; " << mismatches << " of " << want[o].size() / plugin::dtype_size(d.dtype)
              << " elements differ. ";
    }
  }
  return message.str();
}

}  // namespace cagr::conformance
