// embedding_cache_opencl_bench.cpp - embedding_bag on the OpenCL plugin with its tables kept in
// host memory behind a device cache of a given fraction of the rows (plugin option
// table_budget_bytes; docs/EMBEDDING_CACHE.md), or resident on the device (--cache 1), on a stream
// of batches of uniform or Zipf ids. One configuration per process; bench/embedding_cache.sh
// interleaves them (docs/PERF.md, "Embedding cache").
//
// Each timed batch: its ids and offsets copied to the device, the kernel run, the stream
// synchronised (the output stays on the device). Every batch of the stream is new, so the hit rate
// is that of the policy on the id distribution, not of batches seen before.
//
//   bench_embedding_cache_opencl [--rows N] [--dim D] [--batch B] [--pooling P] [--batches N]
//                                [--warmup N] [--ids uniform|zipf] [--exponent S] [--cache F]
// Prints one line: ids=... cache=F hit_rate=H samples_per_s=X ms_per_batch=Y, plus the kernel's
// times split (host gather, copies) where cached.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"
#include "random.hpp"
#include "zipf_sampler.hpp"

namespace {

struct Options {
  int64_t rows = 400000, dim = 64, batch = 2048, pooling = 20, batches = 20, warmup = 5;
  std::string ids = "zipf";
  double exponent = 1.05, cache = 0.1;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--rows") o.rows = std::atoll(value.c_str());
    else if (key == "--dim") o.dim = std::atoll(value.c_str());
    else if (key == "--batch") o.batch = std::atoll(value.c_str());
    else if (key == "--pooling") o.pooling = std::atoll(value.c_str());
    else if (key == "--batches") o.batches = std::atoll(value.c_str());
    else if (key == "--warmup") o.warmup = std::atoll(value.c_str());
    else if (key == "--ids") o.ids = value;
    else if (key == "--exponent") o.exponent = std::atof(value.c_str());
    else if (key == "--cache") o.cache = std::atof(value.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  if (o.ids != "uniform" && o.ids != "zipf") {
    std::fprintf(stderr, "--ids must be uniform or zipf\n");
    std::exit(2);
  }
  return o;
}

std::map<std::string, double> figures(const cagr::Kernel& kernel) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : kernel.statistics()) out[name] = value;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const uint64_t table_bytes = static_cast<uint64_t>(o.rows * o.dim) * 4;
  cagr::Options plugin_options;
  // Resident: a budget above the table; cached: the fraction of its rows.
  plugin_options.emplace_back("table_budget_bytes",
                              std::to_string(o.cache >= 1 ? table_bytes : static_cast<uint64_t>(o.cache * table_bytes)));
  std::shared_ptr<cagr::Plugin> plugin;
  try {
    plugin = cagr::Plugin::load(CAGR_OPENCL_PLUGIN_PATH, plugin_options);
  } catch (const cagr::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  if (plugin->device_count() == 0) {
    std::fprintf(stderr, "no OpenCL device\n");
    return 1;
  }

  // The table, and the stream of batches: warm-up batches, then timed ones, all different.
  cagr::data::Random random({7, o.ids == "zipf" ? 1u : 0u});
  std::vector<float> table(static_cast<size_t>(o.rows * o.dim));
  for (float& v : table) v = static_cast<float>(random.uniform() - 0.5);
  const cagr::data::ZipfSampler zipf(o.rows, o.exponent);
  const int64_t num_indices = o.batch * o.pooling;
  std::vector<std::vector<int64_t>> stream_ids(static_cast<size_t>(o.warmup + o.batches));
  for (auto& ids : stream_ids)
    for (int64_t i = 0; i < num_indices; ++i)
      // Zipf ranks scattered over the table, as hashed ids are.
      ids.push_back(o.ids == "zipf" ? static_cast<int64_t>((static_cast<uint64_t>(zipf(random) - 1) * 2654435761u) %
                                                           static_cast<uint64_t>(o.rows))
                                    : static_cast<int64_t>(random.below(static_cast<uint64_t>(o.rows))));
  std::vector<int64_t> offsets;
  for (int64_t b = 0; b <= o.batch; ++b) offsets.push_back(b * o.pooling);

  cagr::abi::OwnedOpDesc op("embedding_bag");
  op.input(CAGR_DTYPE_I64, {num_indices}).input(CAGR_DTYPE_I64, {o.batch + 1}).input(CAGR_DTYPE_F32, {o.rows, o.dim});
  op.output(CAGR_DTYPE_F32, {o.batch, 1, o.dim});
  auto constant = cagr::abi::make_struct<cagr_constant>();
  constant.input_index = 2;
  constant.data = table.data();
  cagr::Kernel kernel = plugin->create_kernel(0, op.desc(), 0, {constant});
  cagr::Stream stream = plugin->create_stream(0);
  cagr::Buffer ids = plugin->alloc(0, static_cast<uint64_t>(num_indices) * 8);
  cagr::Buffer offs = plugin->alloc(0, offsets.size() * 8);
  cagr::Buffer out = plugin->alloc(0, static_cast<uint64_t>(o.batch * o.dim) * 4);
  offs.copy_from_host(stream, offsets.data(), offsets.size() * 8);
  auto run = [&](const std::vector<int64_t>& batch_ids) {
    ids.copy_from_host(stream, batch_ids.data(), batch_ids.size() * 8);
    kernel.run(stream, {ids.get(), offs.get()}, {op.inputs()[0], op.inputs()[1]}, {out.get()}, op.outputs());
    stream.synchronize();
  };
  for (int64_t i = 0; i < o.warmup; ++i) run(stream_ids[static_cast<size_t>(i)]);
  const auto before = figures(kernel);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = o.warmup; i < o.warmup + o.batches; ++i) run(stream_ids[static_cast<size_t>(i)]);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto after = figures(kernel);
  auto delta = [&](const std::string& name) { return after.count(name) ? after.at(name) - before.at(name) : 0.0; };
  const double lookups = delta("table0.lookups");
  std::printf("ids=%s cache=%g hit_rate=%.4f samples_per_s=%.0f ms_per_batch=%.3f", o.ids.c_str(), o.cache,
              lookups > 0 ? delta("table0.hits") / lookups : 1.0, static_cast<double>(o.batch * o.batches) / seconds,
              seconds * 1e3 / static_cast<double>(o.batches));
  if (lookups > 0)
    std::printf(" read_ids_ms=%.3f host_gather_ms=%.3f copy_ms=%.3f pieces_per_batch=%.1f",
                delta("read_ids_us") / 1e3 / o.batches, delta("host_gather_us") / 1e3 / o.batches,
                delta("copy_us") / 1e3 / o.batches, delta("pieces") / o.batches);
  std::printf("\n");
  return 0;
}
