// linear_onednn.cpp - Y = act(X · Wᵀ + bias) through oneDNN's matmul, and cross_layer,
// Y = x0 * (X · Wᵀ + bias) + R, as the same matmul with two binary post-ops (multiply by x0, add R):
// the product's tile is still in registers when it is multiplied and added, so [M, N] is written
// once instead of three times (linear, mul, add). The post-ops are plain IEEE multiplies and adds,
// so NaN propagates as OPS.md wants (unlike oneDNN's relu and logistic, below).
//
// W, when constant, is reordered once at kernel_create into the layout oneDNN prefers (blocked for
// its JIT kernels), so runs never touch the PyTorch layout again. The batch M varies per run, and a
// primitive is built per M, so they are cached by M; an M whose primitive prefers another weight
// layout gets its own reordered copy.
//
// With bf16 allowed (ABI 1.2's math precision) and a CPU with bf16 dot products (AVX512_BF16,
// AMX), a second variant keeps W in bf16 and rounds X to bf16 before the matmul (one reorder per
// run), summing in f32: about twice the f32 matmul's speed on DLRM's layers (2-core Zen 5 VM,
// M=2048: 512x256 10.2 ms against 19.9 ms, one thread, loaded machine).
//
// With int8 allowed (ABI 1.3) and a CPU with int8 dot products (VNNI), a third variant keeps W as
// s8 per output channel and quantises X to s8 per row each run (int8_quantise.hpp), through
// oneDNN's s8 x s8 matmul summing in int32 and giving f32 without attributes; its own loop then
// scales each sum by its row's and column's scales and adds the bias, before cross_layer's
// multiply and add and the activation. X or W holding NaN or an infinity has no int8 form: that run
// computes in f32 (the kernel keeps an f32 twin for it), so NaN propagates.
//
// The activation is applied after the matmul, in a loop that keeps NaN, not as oneDNN's post-op:
// its relu and logistic turn NaN into a number (a max / clamp that keeps the non-NaN operand), and
// OPS.md wants NaN to propagate. On the sample DLRM (2 threads, idle VM) the end-to-end p50 did not
// visibly change at batch 64 or 2048; scanning X for NaN instead, to keep the fused post-op for
// finite inputs, cost 11% at 2048. The sigmoid is vector_exp.cpp's vectorised one: a loop over std::exp
// took most of the 50 us of DIN's [512, 64] x [64, 80] attention linear at batch 64.
#include <omp.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cpu_kernel.hpp"
#include "int8_quantise.hpp"
#include "oneapi/dnnl/dnnl.hpp"
#include "parallel_loop.hpp"
#include "vector_exp.hpp"

namespace cagr::cpu {

namespace {

// Sets this thread's OpenMP team size for the scope, then restores it.
class OmpThreadsFor {
 public:
  explicit OmpThreadsFor(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~OmpThreadsFor() { omp_set_num_threads(previous_); }
  OmpThreadsFor(const OmpThreadsFor&) = delete;
  OmpThreadsFor& operator=(const OmpThreadsFor&) = delete;

 private:
  int previous_;
};

using contract::Linear;
using dnnl::memory;
using Tag = memory::format_tag;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// What the products' operands are (Y, the bias and the sums stay f32).
enum class Math { f32, bf16, int8 };

class LinearKernel final : public Kernel {
 public:
  LinearKernel(const KernelInit& init, Math math) : operands_(contract::linear_operands(init.shapes)), math_(math) {
    if (const void* bias = init.constants.size() > operands_.bias ? init.constants[operands_.bias] : nullptr)
      bias_ = static_cast<const float*>(bias);
    if (math_ == Math::int8) {
      exact_ = std::make_unique<LinearKernel>(init, Math::f32);
      w_scales_.resize(shape_.n);
    }
    if (const void* w = init.constants[operands_.w]; w != nullptr && math_ == Math::f32 && shape_.n == 1 && !operands_.cross)
      w_row_.assign(static_cast<const float*>(w), static_cast<const float*>(w) + shape_.k);
    if (const void* w = init.constants[operands_.w]) {
      // Pack for the batch the kernel was compiled for; other batches reuse the packing if they can.
      const int64_t m = std::max<int64_t>(shape_.m, 1);
      auto pd = make_primitive_desc(m);
      packed_ = memory(pd.weights_desc(), cpu_engine());
      reorder_plain_weights(static_cast<const float*>(w), packed_);
      Entry& entry = cache_.emplace(m, bound_entry(pd, m)).first->second;
      entry.args[DNNL_ARG_WEIGHTS] = entry.weights = packed_;
    }
  }

  void run(const contract::Checked& shapes, const void* const* inputs, void* const* outputs) override {
    const Linear l = contract::linear_operands(shapes).sizes;
    if (l.m == 0 || l.n == 0) return;
    if (!w_row_.empty()) return row_dots(l, static_cast<const float*>(inputs[operands_.x]),
                                         shape_.has_bias ? bias_ ? bias_ : static_cast<const float*>(inputs[operands_.bias]) : nullptr,
                                         static_cast<float*>(outputs[0]));
    // One run at a time per kernel: the cache, and the reordered copy of a W given at run, are shared.
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entry_for(l.m, packed_ ? nullptr : static_cast<const float*>(inputs[operands_.w]));
    entry.dst.set_data_handle(outputs[0]);
    entry.x.set_data_handle(const_cast<void*>(inputs[operands_.x]));
    // oneDNN's OpenMP build uses omp_get_max_threads() workers per execution: a small product runs
    // on this thread alone (kParallelThreshold: a parallel region would cost more than it saves).
    const bool parallel = l.m * l.n * l.k >= 4 * kParallelThreshold;
    const OmpThreadsFor threads(parallel ? omp_get_max_threads() : 1);
    const float* bias = !shape_.has_bias ? nullptr : bias_ ? bias_ : static_cast<const float*>(inputs[operands_.bias]);
    if (math_ == Math::int8) {
      if (!weights_finite_ || !quantise_source(entry, l, static_cast<const float*>(inputs[operands_.x]), parallel))
        return exact_->run(shapes, inputs, outputs);
    } else {
      if (math_ == Math::bf16) entry.rounding.execute(stream_, entry.x, entry.rounded);
      if (bias != nullptr) entry.bias.set_data_handle(const_cast<float*>(bias));
      if (operands_.cross) {
        entry.x0.set_data_handle(const_cast<void*>(inputs[operands_.x0]));
        entry.residual.set_data_handle(const_cast<void*>(inputs[operands_.residual]));
      }
    }
    entry.primitive.execute(stream_, entry.args);
    stream_.wait();
    float* y = static_cast<float*>(outputs[0]);
    if (math_ == Math::int8) {
      int8::dequantise_rows(y, l.m, l.n, x_scales_.data(), w_scales_.data(), bias);
      if (operands_.cross)
        cross_epilogue(y, l.m * l.n, static_cast<const float*>(inputs[operands_.x0]),
                       static_cast<const float*>(inputs[operands_.residual]));
    }
    activate_keeping_nan(y, l.m * l.n);
  }

 private:
  // One batch size's matmul, with its operands bound once: a run only points them at its buffers
  // (at batch 1, making the memory objects, the argument map and a stream per run cost more than
  // the product).
  struct Entry {
    dnnl::matmul::primitive_desc primitive_desc;
    dnnl::matmul primitive;
    memory weights;                 // in primitive_desc's layout
    memory x, dst, bias, x0, residual;  // the run's f32 buffers
    memory rounded;                 // bf16, int8: X rounded or quantised
    dnnl::reorder rounding;         // bf16: x -> rounded
    std::unordered_map<int, memory> args;
  };

  // N = 1 with a constant W in f32 (DIN's attention score, a model's last layer): a dot product per
  // row, vectorised over K. oneDNN's matmul took 34 us for DIN's [1280, 80] x [80, 1] at batch 64
  // (2 threads), most of it its fixed cost per execution.
  void row_dots(const Linear& l, const float* x, const float* bias, float* y) const {
    const int64_t k = shape_.k;
    const float* w = w_row_.data();
    const float b = bias != nullptr ? bias[0] : 0.0f;
    parallel_for(l.m, l.m * k >= 4 * kParallelThreshold, [&](int64_t r) { y[r] = dot(x + r * k, w, k) + b; });
    activate_keeping_nan(y, l.m);
  }

  // A function of its own: written inside row_dots' lambda, the sum was neither vectorised nor kept
  // in a register (DIN's [40960, 80] x [80, 1] at batch 2048: 2.1-3.6 ms against 0.6 ms).
  static float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) sum += a[j] * b[j];
    return sum;
  }

  // relu(NaN) = NaN: `y < 0 ? 0 : y`, not max(y, 0) as a max instruction may compute it.
  void activate_keeping_nan(float* y, int64_t count) const {
    if (shape_.activation == contract::Activation::relu) {
      for (int64_t i = 0; i < count; ++i) y[i] = y[i] < 0.0f ? 0.0f : y[i];
    } else if (shape_.activation == contract::Activation::sigmoid) {
      sigmoid_keeping_nan(y, count);
    }
  }

  // int8: X quantised per row into entry.rounded (scales: x_scales_); false when X has no int8 form
  // (NaN, infinities: int8_quantise.hpp).
  bool quantise_source(Entry& entry, const Linear& l, const float* x, bool parallel) {
    x_scales_.resize(static_cast<size_t>(l.m));
    return int8::quantise_rows(x, l.m, shape_.k, static_cast<int8_t*>(entry.rounded.get_data_handle()), x_scales_.data(), parallel);
  }

  // int8's cross_layer: y = x0 * y + R, after the scales and bias (the f32 variants' post-ops).
  static void cross_epilogue(float* y, int64_t count, const float* x0, const float* residual) {
    for (int64_t i = 0; i < count; ++i) y[i] = x0[i] * y[i] + residual[i];
  }


  // An [m, N] f32 row-major tensor: Y, and cross_layer's x0 and R.
  memory::desc rows_desc(int64_t m) const { return memory::desc({m, shape_.n}, memory::data_type::f32, Tag::ab); }

  memory::data_type operand_type() const {
    return math_ == Math::int8 ? memory::data_type::s8 : math_ == Math::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  }

  // int8's matmul is the bare product: its scales, bias and cross_layer's epilogue follow in run().
  dnnl::matmul::primitive_desc make_primitive_desc(int64_t m) const {
    const memory::desc src({m, shape_.k}, operand_type(), Tag::ab);
    const memory::desc weights({shape_.k, shape_.n}, operand_type(), Tag::any);
    const memory::desc dst = rows_desc(m);
    dnnl::primitive_attr attr;
    if (operands_.cross && math_ != Math::int8) {
      dnnl::post_ops ops;
      ops.append_binary(dnnl::algorithm::binary_mul, rows_desc(m));
      ops.append_binary(dnnl::algorithm::binary_add, rows_desc(m));
      attr.set_post_ops(ops);
    }
    if (shape_.has_bias && math_ != Math::int8) {
      const memory::desc bias({1, shape_.n}, memory::data_type::f32, Tag::ab);
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), attr, cpu_engine());
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, cpu_engine());
  }

  // W is [N, K] row-major: as the matmul's [K, N] weights that is layout "ba". int8 quantises it
  // first (quantised_w_, w_scales_, weights_finite_).
  void reorder_plain_weights(const float* w, memory& into) {
    if (math_ == Math::int8) {
      quantised_w_.resize(static_cast<size_t>(shape_.n * shape_.k));
      weights_finite_ = int8::quantise_rows(w, shape_.n, shape_.k, quantised_w_.data(), w_scales_.data(), false);
      return reorder(quantised_weights(), into);
    }
    memory source(memory::desc({shape_.k, shape_.n}, memory::data_type::f32, Tag::ba), cpu_engine(), const_cast<float*>(w));
    reorder(source, into);
  }

  // int8: quantised_w_ as the matmul's plain [K, N] weights. A source for every layout: oneDNN's
  // blocked s8 layouts carry compensation terms that are not reordered from one to another.
  memory quantised_weights() {
    return memory(memory::desc({shape_.k, shape_.n}, memory::data_type::s8, Tag::ba), cpu_engine(), quantised_w_.data());
  }

  static void reorder(memory from, memory to) {  // handles: copies share the data
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
  }

  // The cached primitive for batch m. Its weights: the packed ones (reordered further if this
  // primitive wants another layout), or, for a W given at run, `run_weights` reordered now.
  Entry& entry_for(int64_t m, const float* run_weights) {
    auto it = cache_.find(m);
    if (it == cache_.end()) {
      it = cache_.emplace(m, bound_entry(make_primitive_desc(m), m)).first;
      Entry& entry = it->second;
      if (packed_) {
        if (entry.primitive_desc.weights_desc() == packed_.get_desc()) {
          entry.weights = packed_;
        } else {
          entry.weights = memory(entry.primitive_desc.weights_desc(), cpu_engine());
          reorder(math_ == Math::int8 ? quantised_weights() : packed_, entry.weights);
        }
        entry.args[DNNL_ARG_WEIGHTS] = entry.weights;
      }
    }
    if (run_weights != nullptr) {
      if (!it->second.weights) it->second.weights = memory(it->second.primitive_desc.weights_desc(), cpu_engine());
      reorder_plain_weights(run_weights, it->second.weights);
      it->second.args[DNNL_ARG_WEIGHTS] = it->second.weights;
    }
    return it->second;
  }

  // An entry for batch m with every operand but the weights bound to a memory object without data.
  Entry bound_entry(const dnnl::matmul::primitive_desc& pd, int64_t m) const {
    Entry e;
    e.primitive_desc = pd;
    e.primitive = dnnl::matmul(pd);
    const auto none = [](const memory::desc& d) { return memory(d, cpu_engine(), DNNL_MEMORY_NONE); };
    e.x = none(memory::desc({m, shape_.k}, memory::data_type::f32, Tag::ab));
    e.dst = none(pd.dst_desc());
    e.args[DNNL_ARG_DST] = e.dst;
    if (math_ != Math::f32) e.rounded = memory(pd.src_desc(), cpu_engine());
    if (math_ == Math::bf16) e.rounding = dnnl::reorder(e.x, e.rounded);
    e.args[DNNL_ARG_SRC] = math_ == Math::f32 ? e.x : e.rounded;
    if (math_ == Math::int8) return e;  // the bare product: scales, bias and epilogue follow in run()
    if (shape_.has_bias) e.args[DNNL_ARG_BIAS] = e.bias = none(pd.bias_desc());
    if (operands_.cross) {
      e.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = e.x0 = none(rows_desc(m));
      e.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1] = e.residual = none(rows_desc(m));
    }
    return e;
  }

  contract::LinearOperands operands_;  // as created; the run's M may differ
  const Linear& shape_ = operands_.sizes;
  Math math_;
  // int8: W quantised ([N, K]) with each output channel's scale, whether W had an int8 form, the
  // run's scale of each row of X, and the f32 kernel for runs without an int8 form.
  std::vector<int8_t> quantised_w_;
  std::vector<float> w_scales_;
  bool weights_finite_ = true;
  std::vector<float> x_scales_;
  std::unique_ptr<LinearKernel> exact_;
  const float* bias_ = nullptr;  // the plugin's copy when constant
  std::vector<float> w_row_;     // N = 1, f32, constant W: row_dots' weights (empty otherwise)
  memory packed_;                // W in the compiled batch's layout, when constant
  std::mutex mutex_;             // one run at a time: the entries' operands and stream_ are shared
  std::map<int64_t, Entry> cache_;
  dnnl::stream stream_{cpu_engine()};
};

template <Math M>
std::unique_ptr<Kernel> create(const KernelInit& init) {
  try {
    return std::make_unique<LinearKernel>(init, M);
  } catch (const dnnl::error& e) {
    const char* op = contract::linear_operands(init.shapes).cross ? "cross_layer" : "linear";
    plugin::unsupported(std::string(op) + ": oneDNN refused the matmul: " + e.what());
  }
}

// cross_layer adds a multiply and an add per output, and reads x0 and R.
Cost cost(const contract::Checked& shapes) {
  const contract::LinearOperands o = contract::linear_operands(shapes);
  const Linear& l = o.sizes;
  const double epilogue = o.cross ? 2.0 * l.m * l.n : 0.0;
  return Cost{2.0 * l.m * l.k * l.n + epilogue,
              sizeof(float) * (static_cast<double>(l.m) * l.k + static_cast<double>(l.k) * l.n + l.m * l.n + l.n + epilogue)};
}

}  // namespace

OpImpl linear_impl() {
  OpImpl impl{{{"onednn_matmul", true, create<Math::f32>}}, cost};
  if (has_bf16_dot_products()) impl.variants.push_back({"onednn_matmul_bf16", true, create<Math::bf16>, CAGR_MATH_BF16});
  if (has_int8_dot_products()) impl.variants.push_back({"onednn_matmul_int8", true, create<Math::int8>, CAGR_MATH_INT8});
  return impl;
}

namespace {
// oneDNN's ISA values are bit sets: a later ISA includes the earlier ones' bits (AMX includes
// AVX512_BF16 and VNNI).
bool isa_includes(dnnl::cpu_isa wanted) {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted);
}
}  // namespace

bool has_bf16_dot_products() { return isa_includes(dnnl::cpu_isa::avx512_core_bf16); }

bool has_int8_dot_products() { return isa_includes(dnnl::cpu_isa::avx512_core_vnni) || isa_includes(dnnl::cpu_isa::avx2_vnni); }

}  // namespace cagr::cpu
