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
// The activation is applied after the matmul, in a loop that keeps NaN, not as oneDNN's post-op:
// its relu and logistic turn NaN into a number (a max / clamp that keeps the non-NaN operand), and
// OPS.md wants NaN to propagate. On the sample DLRM (2 threads, idle VM) the end-to-end p50 did not
// visibly change at batch 64 or 2048; scanning X for NaN instead, to keep the fused post-op for
// finite inputs, cost 11% at 2048. The sigmoid is sigmoid.cpp's vectorised one: a loop over std::exp
// took most of the 50 us of DIN's [512, 64] x [64, 80] attention linear at batch 64.
#include <omp.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "cpu_kernel.hpp"
#include "oneapi/dnnl/dnnl.hpp"
#include "sigmoid.hpp"

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

class LinearKernel final : public Kernel {
 public:
  // `math`: f32, or bf16 for X and W (Y, the bias and the sums stay f32).
  LinearKernel(const KernelInit& init, memory::data_type math)
      : operands_(contract::linear_operands(init.shapes)), math_(math) {
    if (const void* bias = init.constants.size() > operands_.bias ? init.constants[operands_.bias] : nullptr)
      bias_ = static_cast<const float*>(bias);
    if (const void* w = init.constants[operands_.w]) {
      // Pack for the batch the kernel was compiled for; other batches reuse the packing if they can.
      const int64_t m = std::max<int64_t>(shape_.m, 1);
      auto pd = make_primitive_desc(m);
      packed_ = memory(pd.weights_desc(), cpu_engine());
      reorder_plain_weights(static_cast<const float*>(w), packed_);
      cache_.emplace(m, Entry{pd, dnnl::matmul(pd), packed_});
    }
  }

  void run(const contract::Checked& shapes, const void* const* inputs, void* const* outputs) override {
    const Linear l = contract::linear_operands(shapes).sizes;
    if (l.m == 0 || l.n == 0) return;
    // One run at a time per kernel: the cache, and the reordered copy of a W given at run, are shared.
    std::lock_guard<std::mutex> lock(mutex_);
    const Entry& entry = entry_for(l.m, packed_ ? nullptr : static_cast<const float*>(inputs[operands_.w]));
    const auto& pd = entry.primitive_desc;
    memory src = source_of(pd, l, inputs[operands_.x]);
    memory dst(pd.dst_desc(), cpu_engine(), outputs[0]);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, entry.weights}, {DNNL_ARG_DST, dst}};
    if (shape_.has_bias) {
      const float* bias = bias_ ? bias_ : static_cast<const float*>(inputs[operands_.bias]);
      args.emplace(DNNL_ARG_BIAS, memory(pd.bias_desc(), cpu_engine(), const_cast<float*>(bias)));
    }
    if (operands_.cross) {
      const memory::desc rows = rows_desc(l.m);
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                   memory(rows, cpu_engine(), const_cast<void*>(inputs[operands_.x0])));
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1,
                   memory(rows, cpu_engine(), const_cast<void*>(inputs[operands_.residual])));
    }
    // oneDNN's OpenMP build uses omp_get_max_threads() workers per execution: a small product runs
    // on this thread alone (kParallelThreshold: a parallel region would cost more than it saves).
    const OmpThreadsFor threads(l.m * l.n * l.k < 4 * kParallelThreshold ? 1 : omp_get_max_threads());
    dnnl::stream stream(cpu_engine());
    entry.primitive.execute(stream, args);
    stream.wait();
    activate_keeping_nan(static_cast<float*>(outputs[0]), l.m * l.n);
  }

 private:
  // relu(NaN) = NaN: `y < 0 ? 0 : y`, not max(y, 0) as a max instruction may compute it.
  void activate_keeping_nan(float* y, int64_t count) const {
    if (shape_.activation == contract::Activation::relu) {
      for (int64_t i = 0; i < count; ++i) y[i] = y[i] < 0.0f ? 0.0f : y[i];
    } else if (shape_.activation == contract::Activation::sigmoid) {
      sigmoid_keeping_nan(y, count);
    }
  }

  // X as the matmul reads it: the caller's f32 rows, or their bf16 rounding in a scratch buffer.
  memory source_of(const dnnl::matmul::primitive_desc& pd, const Linear& l, const void* x) {
    memory given(memory::desc({l.m, shape_.k}, memory::data_type::f32, Tag::ab), cpu_engine(), const_cast<void*>(x));
    if (math_ == memory::data_type::f32) return given;
    if (!rounded_ || rounded_.get_desc() != pd.src_desc()) rounded_ = memory(pd.src_desc(), cpu_engine());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(given, rounded_).execute(stream, given, rounded_);
    stream.wait();
    return rounded_;
  }

  struct Entry {
    dnnl::matmul::primitive_desc primitive_desc;
    dnnl::matmul primitive;
    memory weights;  // in primitive_desc's layout
  };

  // An [m, N] f32 row-major tensor: Y, and cross_layer's x0 and R.
  memory::desc rows_desc(int64_t m) const { return memory::desc({m, shape_.n}, memory::data_type::f32, Tag::ab); }

  dnnl::matmul::primitive_desc make_primitive_desc(int64_t m) const {
    const memory::desc src({m, shape_.k}, math_, Tag::ab);
    const memory::desc weights({shape_.k, shape_.n}, math_, Tag::any);
    const memory::desc dst = rows_desc(m);
    dnnl::primitive_attr attr;
    if (operands_.cross) {
      dnnl::post_ops ops;
      ops.append_binary(dnnl::algorithm::binary_mul, rows_desc(m));
      ops.append_binary(dnnl::algorithm::binary_add, rows_desc(m));
      attr.set_post_ops(ops);
    }
    if (shape_.has_bias) {
      const memory::desc bias({1, shape_.n}, memory::data_type::f32, Tag::ab);
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), attr, cpu_engine());
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, cpu_engine());
  }

  // W is [N, K] row-major: as the matmul's [K, N] weights that is layout "ba".
  void reorder_plain_weights(const float* w, memory& into) const {
    const memory::desc plain({shape_.k, shape_.n}, memory::data_type::f32, Tag::ba);
    memory source(plain, cpu_engine(), const_cast<float*>(w));
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(source, into).execute(stream, source, into);
    stream.wait();
  }

  // The cached primitive for batch m. Its weights: the packed ones (reordered further if this
  // primitive wants another layout), or, for a W given at run, `run_weights` reordered now.
  const Entry& entry_for(int64_t m, const float* run_weights) {
    auto it = cache_.find(m);
    if (it == cache_.end()) {
      auto pd = make_primitive_desc(m);
      Entry entry{pd, dnnl::matmul(pd), memory()};
      if (packed_) {
        if (pd.weights_desc() == packed_.get_desc()) {
          entry.weights = packed_;
        } else {
          entry.weights = memory(pd.weights_desc(), cpu_engine());
          dnnl::stream stream(cpu_engine());
          dnnl::reorder(packed_, entry.weights).execute(stream, packed_, entry.weights);
          stream.wait();
        }
      }
      it = cache_.emplace(m, std::move(entry)).first;
    }
    if (run_weights != nullptr) {
      if (!it->second.weights) it->second.weights = memory(it->second.primitive_desc.weights_desc(), cpu_engine());
      reorder_plain_weights(run_weights, it->second.weights);
    }
    return it->second;
  }

  contract::LinearOperands operands_;  // as created; the run's M may differ
  const Linear& shape_ = operands_.sizes;
  memory::data_type math_;
  memory rounded_;               // bf16: X rounded, reused across runs of the same batch
  const float* bias_ = nullptr;  // the plugin's copy when constant
  memory packed_;                // W in the compiled batch's layout, when constant
  std::mutex mutex_;
  std::map<int64_t, Entry> cache_;
};

template <memory::data_type Math>
std::unique_ptr<Kernel> create(const KernelInit& init) {
  try {
    return std::make_unique<LinearKernel>(init, Math);
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
  OpImpl impl{{{"onednn_matmul", true, create<memory::data_type::f32>}}, cost};
  if (has_bf16_dot_products())
    impl.variants.push_back({"onednn_matmul_bf16", true, create<memory::data_type::bf16>, CAGR_MATH_BF16});
  return impl;
}

bool has_bf16_dot_products() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;  // oneDNN's ISA values are bit sets: AMX includes AVX512_BF16
}

}  // namespace cagr::cpu
