// embedding_bag_gpu_bench.cpp - embedding_bag on the GPU plugin (cagr_cuda / cagr_hip), every
// variant, against the device's own device-to-device copy measured in the same process. Driven by
// bench/gpu_vs_pytorch.py, which also runs PyTorch on the same table and indices and checks that
// the outputs agree (docs/PERF.md, "## GPU plugin").
//
// The table is one f32 [rows, dim] table whose values are a formula of (row, column), so that
// PyTorch can build the identical table without a 10 GB file:
//   value(r, c) = ((r * 2654435761 + c * 40503) mod 2^20) / 2^20 - 0.5      (exact in f32)
// It is handed to the kernels as a run input, uploaded once for every variant.
//
// Bandwidth = bytes of table rows read / time (indices, offsets and output not counted); the copy's
// = bytes read + bytes written / time, as memory bandwidth is quoted. Output: one JSON object per line.
//
//   bench_embedding_bag_gpu --plugin PATH --rows R --dim D [--iterations I]
//                           --case NAME:INDICES_FILE:OFFSETS_FILE:BATCH[:OUT_PREFIX] ...
// INDICES_FILE / OFFSETS_FILE hold raw little-endian int32 (offsets: batch + 1 entries); with
// OUT_PREFIX the pooled output of variant V is written to OUT_PREFIX.V.f32.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "owned_op_desc.hpp"
#include "plugin.hpp"

namespace {

struct Case {
  std::string name, indices_file, offsets_file, out_prefix;
  int64_t batch = 0;
};

struct Options {
  std::string plugin;
  int64_t rows = 0, dim = 0, iterations = 20;
  std::vector<Case> cases;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_embedding_bag_gpu: %s\n", why.c_str());
  std::exit(2);
}

Case parse_case(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream in(spec);
  for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
  if (parts.size() < 4) usage("--case wants NAME:INDICES:OFFSETS:BATCH[:OUT_PREFIX], got " + spec);
  return {parts[0], parts[1], parts[2], parts.size() > 4 ? parts[4] : "", std::atoll(parts[3].c_str())};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--plugin") o.plugin = value;
    else if (key == "--rows") o.rows = std::atoll(value.c_str());
    else if (key == "--dim") o.dim = std::atoll(value.c_str());
    else if (key == "--iterations") o.iterations = std::atoll(value.c_str());
    else if (key == "--case") o.cases.push_back(parse_case(value));
    else usage("unknown option " + key);
  }
  if (o.plugin.empty() || o.rows <= 0 || o.dim <= 0 || o.cases.empty()) usage("--plugin, --rows, --dim and --case are required");
  return o;
}

std::vector<int32_t> read_int32(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) usage("cannot read " + path);
  std::vector<int32_t> v(static_cast<size_t>(in.tellg()) / sizeof(int32_t));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(int32_t)));
  return v;
}

float table_value(int64_t row, int64_t col) {
  const uint64_t h = (static_cast<uint64_t>(row) * 2654435761ull + static_cast<uint64_t>(col) * 40503ull) & 0xfffffull;
  return static_cast<float>(h) / 1048576.f - 0.5f;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Device-to-device copy bandwidth through the plugin: best of 10 copies of 1 GiB, read + written.
double copy_gbps(cagr::Plugin& plugin, cagr::Stream& stream) {
  const uint64_t bytes = 1ull << 30;
  cagr::Buffer a = plugin.alloc(0, bytes), b = plugin.alloc(0, bytes);
  double best = 1e30;
  for (int r = 0; r < 11; ++r) {
    stream.synchronize();
    const auto start = std::chrono::steady_clock::now();
    b.copy_from(stream, a, bytes);
    stream.synchronize();
    if (r > 0) best = std::min(best, seconds_since(start));
  }
  return 2.0 * bytes / best * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::shared_ptr<cagr::Plugin> plugin;
  try {
    plugin = cagr::Plugin::load(o.plugin);
  } catch (const cagr::Error& e) {  // the loader's message names the library and why
    usage(e.what());
  }
  if (plugin->device_count() == 0) usage("plugin " + plugin->name() + " sees no device");
  cagr::Stream stream = plugin->create_stream(0);
  std::printf("{\"kind\": \"device\", \"name\": \"%s\", \"plugin\": \"%s\"}\n", plugin->device(0).name.c_str(),
              plugin->name().c_str());
  std::printf("{\"kind\": \"copy\", \"gbps\": %.1f}\n", copy_gbps(*plugin, stream));
  std::fflush(stdout);

  // The table, built on the host in slices and uploaded once.
  const uint64_t table_bytes = static_cast<uint64_t>(o.rows * o.dim) * sizeof(float);
  cagr::Buffer table = plugin->alloc(0, table_bytes);
  {
    const int64_t slice_rows = std::max<int64_t>(1, (256ll << 20) / (o.dim * 4));
    std::vector<float> slice(static_cast<size_t>(slice_rows * o.dim));
    for (int64_t r0 = 0; r0 < o.rows; r0 += slice_rows) {
      const int64_t n = std::min(slice_rows, o.rows - r0);
#pragma omp parallel for
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < o.dim; ++c) slice[static_cast<size_t>(r * o.dim + c)] = table_value(r0 + r, c);
      table.copy_from_host(stream, slice.data(), static_cast<uint64_t>(n * o.dim) * 4, static_cast<uint64_t>(r0 * o.dim) * 4);
      stream.synchronize();  // the slice is reused
    }
  }

  for (const Case& c : o.cases) {
    const std::vector<int32_t> indices = read_int32(c.indices_file), offsets = read_int32(c.offsets_file);
    if (static_cast<int64_t>(offsets.size()) != c.batch + 1) usage(c.name + ": offsets must hold batch + 1 entries");
    cagr::abi::OwnedOpDesc op("embedding_bag");
    op.input(CAGR_DTYPE_I32, {static_cast<int64_t>(indices.size())})
        .input(CAGR_DTYPE_I32, {static_cast<int64_t>(offsets.size())})
        .input(CAGR_DTYPE_F32, {o.rows, o.dim})
        .output(CAGR_DTYPE_F32, {c.batch, 1, o.dim})
        .attr("mode", "sum");
    cagr::Buffer idx = plugin->alloc(0, std::max<size_t>(indices.size() * 4, 4));
    cagr::Buffer off = plugin->alloc(0, offsets.size() * 4);
    const uint64_t out_bytes = static_cast<uint64_t>(c.batch * o.dim) * 4;
    cagr::Buffer out = plugin->alloc(0, out_bytes);
    idx.copy_from_host(stream, indices.data(), indices.size() * 4);
    off.copy_from_host(stream, offsets.data(), offsets.size() * 4);
    const double row_bytes = static_cast<double>(indices.size()) * o.dim * 4;

    const cagr::OpSupport support = plugin->query(0, op.desc());
    if (!support.supported) usage(c.name + ": refused: " + support.reason);
    for (const cagr::Variant& v : support.variants) {
      cagr::Kernel kernel;
      try {
        kernel = plugin->create_kernel(0, op.desc(), v.index, {});
      } catch (const cagr::Error& e) {  // one variant failing here must not hide the others' numbers
        std::printf("{\"kind\": \"error\", \"case\": \"%s\", \"variant\": \"%s\", \"message\": \"%s\"}\n",
                    c.name.c_str(), v.name.c_str(), e.what());
        continue;
      }
      auto run = [&] {
        kernel.run(stream, {idx.get(), off.get(), table.get()}, op.inputs(), {out.get()}, op.outputs());
      };
      for (int w = 0; w < 3; ++w) run();
      stream.synchronize();
      const auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < o.iterations; ++i) run();
      stream.synchronize();
      const double seconds = seconds_since(start) / static_cast<double>(o.iterations);
      std::printf("{\"kind\": \"case\", \"case\": \"%s\", \"variant\": \"%s\", \"ms\": %.4f, \"gbps\": %.1f}\n",
                  c.name.c_str(), v.name.c_str(), seconds * 1e3, row_bytes / seconds * 1e-9);
      std::fflush(stdout);
      if (!c.out_prefix.empty()) {
        std::vector<float> pooled(static_cast<size_t>(c.batch * o.dim));
        out.copy_to_host(stream, pooled.data(), out_bytes);
        stream.synchronize();
        std::ofstream(c.out_prefix + "." + v.name + ".f32", std::ios::binary)
            .write(reinterpret_cast<const char*>(pooled.data()), static_cast<std::streamsize>(out_bytes));
      }
    }
  }
  return 0;
}
