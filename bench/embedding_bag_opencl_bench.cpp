// embedding_bag_opencl_bench.cpp - embedding_bag on the OpenCL plugin against the device's own
// device-to-device copy, measured side by side in one run (docs/PERF.md, "## OpenCL plugin").
//
// Bandwidth of embedding_bag = bytes of table rows read / time (indices, offsets and output not
// counted); of the copy = bytes read + bytes written / time, as memory bandwidth is usually
// quoted. Every variant the plugin offers is timed. Everything goes through the plugin's ABI.
//
//   bench_embedding_bag_opencl [--rows N] [--dim D] [--tables T] [--batch B] [--pooling P]
//                              [--iterations I] [--device K] [--plugin path/libcagr_opencl.so]
// Without --device: the plugin's first GPU, else its device 0.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"

namespace {

struct Options {
  int64_t rows = 4 << 20, dim = 128, tables = 1, batch = 16384, pooling = 32, iterations = 50;
  int device = -1;  // -1: the first GPU, else device 0
  std::string plugin = CAGR_OPENCL_PLUGIN_PATH;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--rows") o.rows = std::atoll(value);
    else if (key == "--dim") o.dim = std::atoll(value);
    else if (key == "--tables") o.tables = std::atoll(value);
    else if (key == "--batch") o.batch = std::atoll(value);
    else if (key == "--pooling") o.pooling = std::atoll(value);
    else if (key == "--iterations") o.iterations = std::atoll(value);
    else if (key == "--device") o.device = std::atoi(value);
    else if (key == "--plugin") o.plugin = value;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return o;
}

// A fast deterministic generator: uniform rows and table contents, same for every run.
struct XorShift {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  uint64_t operator()() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

// Seconds per call of `body`, averaged over `iterations` after two untimed calls.
template <class F>
double seconds_per_call(cagr::Stream& stream, int64_t iterations, F&& body) {
  for (int i = 0; i < 2; ++i) body();
  stream.synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) body();
  stream.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(iterations);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::shared_ptr<cagr::Plugin> plugin;
  try {
    plugin = cagr::Plugin::load(o.plugin, {}, [](cagr_log_level level, const std::string&, const std::string& message) {
      if (level >= CAGR_LOG_WARNING) std::fprintf(stderr, "plugin: %s\n", message.c_str());
    });
  } catch (const cagr::Error& e) {  // the loader's message names the library and why
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  if (o.device < 0) {
    o.device = 0;
    for (int d = plugin->device_count() - 1; d >= 0; --d)
      if (plugin->device(d).kind == CAGR_DEVICE_GPU) o.device = d;
  }
  if (plugin->device_count() <= o.device) {
    std::fprintf(stderr, "no OpenCL device %d (the plugin has %d)\n", o.device, plugin->device_count());
    return 1;
  }
  const cagr::DeviceInfo info = plugin->device(o.device);
  std::printf("device %d: %s, %d compute units, probe: %.0f GB/s, %.0f GFLOP/s\n", o.device, info.name.c_str(),
              info.compute_units, info.memory_bandwidth_gbps, info.peak_gflops_f32);

  XorShift rng;
  const int64_t rows_per_table = o.rows / o.tables;
  const int64_t bags = o.tables * o.batch, num_indices = bags * o.pooling;
  std::vector<std::vector<float>> tables(static_cast<size_t>(o.tables), std::vector<float>(static_cast<size_t>(rows_per_table * o.dim)));
  for (auto& table : tables)
    for (float& v : table) v = static_cast<float>(rng() >> 40) * 0x1p-24f - 0.5f;
  std::vector<int64_t> indices(static_cast<size_t>(num_indices)), offsets(static_cast<size_t>(bags + 1));
  for (int64_t& index : indices) index = static_cast<int64_t>(rng() % static_cast<uint64_t>(rows_per_table));
  for (int64_t b = 0; b <= bags; ++b) offsets[static_cast<size_t>(b)] = b * o.pooling;

  cagr::abi::OwnedOpDesc op("embedding_bag");
  op.input(CAGR_DTYPE_I64, {num_indices}).input(CAGR_DTYPE_I64, {bags + 1});
  for (int64_t t = 0; t < o.tables; ++t) op.input(CAGR_DTYPE_F32, {rows_per_table, o.dim});
  op.output(CAGR_DTYPE_F32, {o.batch, o.tables, o.dim});
  std::vector<cagr_constant> constants;
  for (int64_t t = 0; t < o.tables; ++t) {
    auto c = cagr::abi::make_struct<cagr_constant>();
    c.input_index = static_cast<size_t>(t + 2);
    c.data = tables[static_cast<size_t>(t)].data();
    constants.push_back(c);
  }

  cagr::Stream stream = plugin->create_stream(o.device);
  const uint64_t index_bytes = indices.size() * 8, offset_bytes = offsets.size() * 8;
  const uint64_t output_bytes = static_cast<uint64_t>(bags * o.dim) * 4;
  cagr::Buffer index_buffer = plugin->alloc(o.device, index_bytes);
  cagr::Buffer offset_buffer = plugin->alloc(o.device, offset_bytes);
  cagr::Buffer output_buffer = plugin->alloc(o.device, output_bytes);
  index_buffer.copy_from_host(stream, indices.data(), index_bytes);
  offset_buffer.copy_from_host(stream, offsets.data(), offset_bytes);
  stream.synchronize();

  // The copy moves as many bytes as embedding_bag reads from the tables.
  const uint64_t rows_bytes = static_cast<uint64_t>(num_indices * o.dim) * 4;
  cagr::Buffer copy_src = plugin->alloc(o.device, rows_bytes);
  cagr::Buffer copy_dst = plugin->alloc(o.device, rows_bytes);
  const double copy_s = seconds_per_call(stream, o.iterations, [&] { copy_dst.copy_from(stream, copy_src, rows_bytes); });
  const double copy_gbps = 2.0 * static_cast<double>(rows_bytes) / copy_s * 1e-9;
  std::printf("rows=%lld dim=%lld tables=%lld batch=%lld pooling=%lld: %.1f MB of rows per run\n",
              static_cast<long long>(o.rows), static_cast<long long>(o.dim), static_cast<long long>(o.tables),
              static_cast<long long>(o.batch), static_cast<long long>(o.pooling), static_cast<double>(rows_bytes) * 1e-6);
  std::printf("device-to-device copy of %.1f MB: %.3f ms, %.0f GB/s (read + written)\n",
              static_cast<double>(rows_bytes) * 1e-6, copy_s * 1e3, copy_gbps);

  const std::vector<cagr_tensor_desc> input_descs = {op.inputs()[0], op.inputs()[1]};
  const std::vector<cagr_tensor_desc> output_descs = op.outputs();
  const cagr::OpSupport support = plugin->query(o.device, op.desc());
  if (!support.supported) {
    std::fprintf(stderr, "embedding_bag refused: %s\n", support.reason.c_str());
    return 1;
  }
  for (const cagr::Variant& v : support.variants) {
    cagr::Kernel kernel = plugin->create_kernel(o.device, op.desc(), v.index, constants);
    const double s = seconds_per_call(stream, o.iterations, [&] {
      kernel.run(stream, {index_buffer.get(), offset_buffer.get()}, input_descs, {output_buffer.get()}, output_descs);
    });
    const double gbps = static_cast<double>(rows_bytes) / s * 1e-9;
    std::printf("embedding_bag %-14s %.3f ms, rows read %.0f GB/s = %.2f of the copy (estimate %.3f ms)\n",
                v.name.c_str(), s * 1e3, gbps, gbps / copy_gbps, v.estimated_ns * 1e-6);
  }
  return 0;
}
