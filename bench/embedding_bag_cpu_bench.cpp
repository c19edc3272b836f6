// embedding_bag_cpu_bench.cpp - the CPU plugin's embedding_bag variants, run through the loader as
// the runtime runs them, side by side with the plain reference loop on the same data.
//
// Reports GB/s of embedding-row bytes read (L * the stored row's bytes per run: 4 D for f32 tables,
// 2 D for f16 / bf16, D + 8 for u8 row-wise quantised; every config runs with each table dtype). Each benchmark's name carries its
// config, and the config is also written as counters, so bench/embedding_bag_cpu_torch.py can
// read --benchmark_out JSON, time PyTorch's nn.EmbeddingBag on the same configs and print ratios.
//
//   bench_embedding_bag_cpu [--quick] [google benchmark flags]
// --quick: small tables, for a run of seconds. The plugin: CAGR_BENCH_PLUGIN or the one built here.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"
#include "reference_ops.hpp"
#include "table_precision.hpp"

namespace {

using OpDesc = cagr::abi::OwnedOpDesc;

struct Config {
  int64_t tables, rows, dim, pooling, batch;
  cagr_dtype table_dtype = CAGR_DTYPE_F32;
  std::string label() const {
    return std::to_string(tables) + "x" + std::to_string(rows) + "x" + std::to_string(dim) + "/pool" +
           std::to_string(pooling) + "/batch" + std::to_string(batch) + "/" + cagr::abi::dtype_name(table_dtype);
  }
  int64_t num_indices() const { return tables * batch * pooling; }
  int64_t stored_row_bytes() const {
    return table_dtype == CAGR_DTYPE_U8 ? dim + 8 : dim * static_cast<int64_t>(cagr::abi::dtype_size(table_dtype));
  }
  double row_bytes() const { return static_cast<double>(num_indices()) * static_cast<double>(stored_row_bytes()); }
};

// One config's op and data, i64 indices uniformly random, every bag `pooling` long. Built for the
// first benchmark of a config and kept until the next config's first one (the tables are GBs).
struct Workload {
  Config config;
  OpDesc op{"embedding_bag"};
  std::vector<int64_t> indices, offsets;
  std::vector<std::vector<std::byte>> tables;  // stored as config.table_dtype

  explicit Workload(const Config& c) : config(c) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> row(0, c.rows - 1);
    std::uniform_real_distribution<float> value(-1, 1);
    indices.resize(static_cast<size_t>(c.num_indices()));
    for (auto& i : indices) i = row(rng);
    for (int64_t b = 0; b <= c.tables * c.batch; ++b) offsets.push_back(b * c.pooling);
    op.input(CAGR_DTYPE_I64, {c.num_indices()}).input(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())});
    for (int64_t t = 0; t < c.tables; ++t) {
      std::vector<float> values(static_cast<size_t>(c.rows * c.dim));
      // Tables are mostly cold in real models; random values only in a prefix keeps setup fast
      // without changing what is read.
      for (size_t i = 0; i < std::min<size_t>(values.size(), 1 << 16); ++i) values[i] = value(rng);
      if (c.table_dtype == CAGR_DTYPE_F32) {
        tables.emplace_back(values.size() * sizeof(float));
        std::memcpy(tables.back().data(), values.data(), tables.back().size());
      } else {
        tables.push_back(cagr::converted_table(values.data(), c.rows, c.dim, c.table_dtype));  // as --table-precision makes them
      }
      op.input(c.table_dtype, {c.rows, c.table_dtype == CAGR_DTYPE_U8 ? c.dim + 8 : c.dim});
    }
    op.output(CAGR_DTYPE_F32, {c.batch, c.tables, c.dim});
  }
};

Workload& workload(const Config& c) {
  static std::unique_ptr<Workload> current;
  if (!current || current->config.label() != c.label()) {
    current.reset();
    current = std::make_unique<Workload>(c);
  }
  return *current;
}

void set_counters(benchmark::State& state, const Config& c) {
  state.counters["GB/s"] = benchmark::Counter(c.row_bytes() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tables"] = static_cast<double>(c.tables);
  state.counters["rows"] = static_cast<double>(c.rows);
  state.counters["dim"] = static_cast<double>(c.dim);
  state.counters["pooling"] = static_cast<double>(c.pooling);
  state.counters["batch"] = static_cast<double>(c.batch);
}

void bench_reference(benchmark::State& state, Config c) {
  Workload& w = workload(c);
  std::vector<const void*> inputs = {w.indices.data(), w.offsets.data()};
  for (const auto& t : w.tables) inputs.push_back(t.data());
  std::vector<float> out(static_cast<size_t>(c.batch * c.tables * c.dim));
  void* outputs[] = {out.data()};
  for (auto _ : state) {
    cagr::reference::run(w.op.desc(), inputs.data(), outputs);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, c);
}

void bench_plugin(benchmark::State& state, std::shared_ptr<cagr::Plugin> plugin, int variant, Config c) {
  Workload& w = workload(c);
  std::vector<cagr_constant> constants;
  for (size_t t = 0; t < w.tables.size(); ++t) {
    auto k = cagr::abi::make_struct<cagr_constant>();
    k.input_index = 2 + t;
    k.data = w.tables[t].data();
    constants.push_back(k);
  }
  cagr::Kernel kernel = plugin->create_kernel(0, w.op.desc(), variant, constants);
  cagr::Stream stream = plugin->create_stream(0);
  cagr::Buffer indices = plugin->alloc(0, w.indices.size() * sizeof(int64_t));
  cagr::Buffer offsets = plugin->alloc(0, w.offsets.size() * sizeof(int64_t));
  cagr::Buffer out = plugin->alloc(0, static_cast<uint64_t>(c.batch * c.tables * c.dim) * sizeof(float));
  indices.copy_from_host(stream, w.indices.data(), indices.bytes());
  offsets.copy_from_host(stream, w.offsets.data(), offsets.bytes());
  const std::vector<cagr_tensor_desc> in_descs = {w.op.inputs()[0], w.op.inputs()[1]};
  for (auto _ : state) {
    kernel.run(stream, {indices.get(), offsets.get()}, in_descs, {out.get()}, w.op.outputs());
    stream.synchronize();
  }
  set_counters(state, c);
}

std::vector<Config> configs(bool quick) {
  const std::vector<Config> shapes = quick ? std::vector<Config>{{4, 100000, 64, 1, 512}, {4, 100000, 64, 32, 512}}
                                           : std::vector<Config>{{8, 1000000, 64, 1, 2048}, {8, 1000000, 64, 32, 2048}, {4, 1000000, 128, 8, 1024}};
  std::vector<Config> all;
  for (Config c : shapes) {
    for (cagr_dtype d : {CAGR_DTYPE_F32, CAGR_DTYPE_F16, CAGR_DTYPE_BF16, CAGR_DTYPE_U8}) {
      c.table_dtype = d;
      all.push_back(c);
    }
  }
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else args.push_back(argv[i]);
  }
  int nargs = static_cast<int>(args.size());
  benchmark::Initialize(&nargs, args.data());

  const char* env = std::getenv("CAGR_BENCH_PLUGIN");
  std::shared_ptr<cagr::Plugin> plugin = cagr::Plugin::load(env != nullptr ? env : CAGR_CPU_PLUGIN_PATH);
  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("cpu_device", plugin->device(0).name);
  for (const Config& c : configs(quick)) {
    benchmark::RegisterBenchmark(("reference/" + c.label()).c_str(), bench_reference, c)->UseRealTime()->Unit(benchmark::kMillisecond);
    const cagr::OpSupport support = plugin->query(0, workload(c).op.desc());
    for (const cagr::Variant& v : support.variants) {
      benchmark::RegisterBenchmark(("cpu_" + v.name + "/" + c.label()).c_str(), bench_plugin, plugin, v.index, c)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
