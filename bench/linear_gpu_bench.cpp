// linear_gpu_bench.cpp - every linear variant of the GPU plugin on the given GEMM shapes (by default
// DLRM Kaggle's layers at batch 2048 and 16384), side by side in one process: device time per run
// (events around a captured graph of `--iterations` runs, as the executor replays a forward pass:
// host-side launch costs, which would hide small kernels, are left out), TFLOP/s, the speed-up over cuBLASLt's first
// suggestion, and the error against a double-precision reference on a sample of rows, as a
// fraction of sum |x||w| (the scale the conformance tolerance, 1e-5, applies to). A markdown table.
//
//   bench_linear_gpu --plugin PATH [--iterations I] [--allow-tf32 1] [--shapes M,K,N[,act];...]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"

namespace {

struct Shape {
  int64_t m, k, n;
  std::string activation;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_linear_gpu: %s\n", why.c_str());
  std::exit(2);
}

// DLRM Kaggle: bottom MLP 13-512-256-64-16, top MLP 368-512-256 (the logit layer is narrow and
// has its own kernel), at the two batches of the targets.
const char* kDlrmShapes =
    "2048,13,512;2048,512,256;2048,256,64;2048,64,16;2048,368,512;2048,512,256;"
    "16384,13,512;16384,512,256;16384,256,64;16384,64,16;16384,368,512;16384,512,256";

std::vector<Shape> parse_shapes(const std::string& spec) {
  std::vector<Shape> shapes;
  std::stringstream list(spec);
  for (std::string item; std::getline(list, item, ';');) {
    std::vector<std::string> f;
    std::stringstream fields(item);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() < 3) usage("a shape is M,K,N[,activation], got '" + item + "'");
    shapes.push_back({std::atoll(f[0].c_str()), std::atoll(f[1].c_str()), std::atoll(f[2].c_str()), f.size() > 3 ? f[3] : "relu"});
    if (shapes.back().m <= 0 || shapes.back().k <= 0 || shapes.back().n <= 0) usage("shape sizes must be positive: " + item);
    const std::string& act = shapes.back().activation;
    if (act != "none" && act != "relu" && act != "sigmoid") usage("activation must be none, relu or sigmoid: " + item);
  }
  return shapes;
}

// max over sampled rows of |y - y_ref| / sum_k |x w|, with y_ref in double (relu and sigmoid,
// whose slope is at most 1, scale an error in the sum by at most 1).
double sampled_error(const Shape& s, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                     const std::vector<float>& y) {
  double worst = 0;
  const int64_t step = std::max<int64_t>(1, s.m / 64);
  for (int64_t r = 0; r < s.m; r += step) {
    for (int64_t c = 0; c < s.n; ++c) {
      double sum = bias[static_cast<size_t>(c)], scale = std::fabs(sum);
      for (int64_t i = 0; i < s.k; ++i) {
        const double p = double{x[static_cast<size_t>(r * s.k + i)]} * w[static_cast<size_t>(c * s.k + i)];
        sum += p, scale += std::fabs(p);
      }
      const double want = s.activation == "relu" ? std::max(sum, 0.0) : s.activation == "sigmoid" ? 1 / (1 + std::exp(-sum)) : sum;
      worst = std::max(worst, std::fabs(y[static_cast<size_t>(r * s.n + c)] - want) / std::max(scale, 1e-30));
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  std::string plugin_path, shape_spec = kDlrmShapes;
  int iterations = 50;
  cagr::Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--plugin") plugin_path = value;
    else if (key == "--iterations") iterations = std::max(1, std::atoi(value.c_str()));
    else if (key == "--allow-tf32") options.push_back({"allow_tf32", value});
    else if (key == "--shapes") shape_spec = value;
    else usage("unknown option " + key);
  }
  if (plugin_path.empty()) usage("--plugin is required");
  std::shared_ptr<cagr::Plugin> plugin;
  try {
    plugin = cagr::Plugin::load(plugin_path, options);
  } catch (const cagr::Error& e) {  // the loader's message names the library and why
    usage(e.what());
  }
  if (plugin->device_count() == 0) usage("plugin " + plugin->name() + " sees no device");
  if (!plugin->supports_event_timing() || !plugin->supports_capture())
    usage("plugin " + plugin->name() + " cannot capture graphs or time events on the device");
  cagr::Stream stream = plugin->create_stream(0);
  cagr::Event start = plugin->create_event(0), stop = plugin->create_event(0);
  std::printf("%s, plugin %s%s, %d runs per variant, device time per run\n\n", plugin->device(0).name.c_str(),
              plugin->name().c_str(), options.empty() ? "" : " (allow_tf32)", iterations);
  std::printf("| M | K | N | variant | us | TFLOP/s | vs cublaslt | max error / sum abs(xw) |\n");
  std::printf("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");

  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (const Shape& s : parse_shapes(shape_spec)) {
    std::vector<float> x(static_cast<size_t>(s.m * s.k)), w(static_cast<size_t>(s.n * s.k)), bias(static_cast<size_t>(s.n));
    for (float& v : x) v = uniform(rng);
    for (float& v : w) v = uniform(rng);
    for (float& v : bias) v = uniform(rng);
    cagr::abi::OwnedOpDesc op("linear");
    op.input(CAGR_DTYPE_F32, {s.m, s.k}).input(CAGR_DTYPE_F32, {s.n, s.k}).input(CAGR_DTYPE_F32, {s.n});
    op.output(CAGR_DTYPE_F32, {s.m, s.n}).attr("activation", s.activation);
    cagr::Buffer xb = plugin->alloc(0, x.size() * 4);
    cagr::Buffer yb = plugin->alloc(0, static_cast<uint64_t>(s.m * s.n) * 4);
    xb.copy_from_host(stream, x.data(), x.size() * 4);

    const cagr::OpSupport support = plugin->query(0, op.desc());
    if (!support.supported) usage("linear refused: " + support.reason);
    struct Row {
      std::string variant, failure;
      double us = 0, error = 0;
    };
    std::vector<Row> rows;
    for (const cagr::Variant& v : support.variants) {
      if (v.name.rfind("cublaslt_suggestion", 0) == 0) continue;  // the tuning alternatives: within a few percent of the first
      Row row{v.name, "", 0, 0};
      try {
        // W and bias as constants, as the executor gives a model's weights.
        auto w_constant = cagr::abi::make_struct<cagr_constant>(), b_constant = cagr::abi::make_struct<cagr_constant>();
        w_constant.input_index = 1, w_constant.data = w.data();
        b_constant.input_index = 2, b_constant.data = bias.data();
        cagr::Kernel kernel = plugin->create_kernel(0, op.desc(), v.index, {w_constant, b_constant});
        auto run = [&] { kernel.run(stream, {xb.get()}, {op.inputs()[0]}, {yb.get()}, op.outputs()); };
        for (int i = 0; i < 3; ++i) run();
        stream.begin_capture();
        for (int i = 0; i < iterations; ++i) run();
        cagr::CapturedGraph graph = stream.end_capture();
        graph.launch(stream);
        start.record(stream);
        graph.launch(stream);
        stop.record(stream);
        stop.synchronize();
        row.us = stop.microseconds_since(start) / iterations;
        std::vector<float> y(static_cast<size_t>(s.m * s.n));
        yb.copy_to_host(stream, y.data(), y.size() * 4);
        stream.synchronize();
        row.error = sampled_error(s, x, w, bias, y);
      } catch (const cagr::Error& e) {  // one variant failing must not hide the others' numbers
        row.failure = e.what();
      }
      rows.push_back(row);
    }
    double cublaslt_us = 0;
    for (const Row& r : rows)
      if (r.variant == "cublaslt" && r.failure.empty()) cublaslt_us = r.us;
    for (const Row& r : rows) {
      std::printf("| %lld | %lld | %lld | %s | ", (long long)s.m, (long long)s.k, (long long)s.n, r.variant.c_str());
      if (!r.failure.empty()) {
        std::printf("failed: %s | | | |\n", r.failure.c_str());
        continue;
      }
      char ratio[32] = "";
      if (cublaslt_us > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", cublaslt_us / r.us);
      std::printf("%.1f | %.1f | %s | %.1e |\n", r.us, 2.0 * s.m * s.n * s.k / r.us * 1e-6, ratio, r.error);
    }
    std::fflush(stdout);
  }
  return 0;
}
