// isolation_bench - the cost per pass of running plugins isolated (cagr_runtime_options.isolate_plugins,
// loader/isolated_plugin.hpp) against in-process, on a zoo model through the C API, the CPU plugin
// alone. Contenders alternate within each round (which goes first alternates too); each round times
// --passes passes of each and keeps the median; the ranges over --rounds rounds are printed, with
// the per-round ratio isolated / in-process. Checks first that both give bitwise the same outputs.
//
//   OMP_NUM_THREADS=1 nice -n -15 isolation_bench --model=dlrm_avazu_sample --batches=64,2048
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cagr.h"
#include "command_line.hpp"
#include "inputs.hpp"
#include "model_format.hpp"
#include "model_zoo.hpp"

DEFINE_string(model, "dlrm_avazu_sample", "the zoo model (cagr-zoo --list)");
DEFINE_string(batches, "64,2048", "batch sizes, comma-separated");
DEFINE_int32(rounds, 7, "rounds; each times both contenders");
DEFINE_int32(passes, 40, "timed passes per contender per round (the median counts)");
DEFINE_string(cpu_plugin, CAGR_CPU_PLUGIN_PATH, "the CPU plugin's file");

namespace {

void check(cagr_api_status status, const char* what) {
  if (status != CAGR_API_OK) throw std::runtime_error(std::string(what) + ": " + cagr_last_error());
}

struct Contender {
  const char* name;
  cagr_runtime* runtime = nullptr;
  cagr_model* model = nullptr;
  cagr_session* session = nullptr;

  Contender(const char* label, const std::string& model_path, bool isolate) : name(label) {
    cagr_runtime_options o{};
    o.struct_size = sizeof o;
    o.plugins = FLAGS_cpu_plugin.c_str();
    o.probe_in_child = 0;
    o.isolate_plugins = isolate;
    check(cagr_runtime_create(&o, &runtime), "cagr_runtime_create");
    check(cagr_model_load(runtime, model_path.c_str(), &model), "cagr_model_load");
    check(cagr_session_create(model, nullptr, &session), "cagr_session_create");
  }
  ~Contender() {
    cagr_session_destroy(session);
    cagr_model_destroy(model);
    cagr_runtime_destroy(runtime);
  }

  void run(const std::vector<cagr_tensor>& inputs) { check(cagr_session_run(session, inputs.size(), inputs.data()), "cagr_session_run"); }
  std::vector<unsigned char> output_bytes() {
    cagr_tensor out{};
    out.struct_size = sizeof out;
    check(cagr_session_output(session, cagr_model_output_name(model, 0), &out), "cagr_session_output");
    size_t n = 4;
    for (int d = 0; d < out.rank; ++d) n *= static_cast<size_t>(out.dims[d]);
    const auto* p = static_cast<const unsigned char*>(out.data);
    return std::vector<unsigned char>(p, p + n);
  }
  // Median microseconds of one pass over `passes` passes.
  double median_us(const std::vector<cagr_tensor>& inputs, int passes) {
    std::vector<double> us;
    for (int i = 0; i < passes; ++i) {
      const auto start = std::chrono::steady_clock::now();
      run(inputs);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
    return us[us.size() / 2];
  }
};

std::string range(std::vector<double> v, const char* format) {
  std::sort(v.begin(), v.end());
  char text[128];
  std::snprintf(text, sizeof text, format, v.front(), v[v.size() / 2], v.back());
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    const auto dir = std::filesystem::temp_directory_path() / ("cagr_isolation_bench_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string model_path = (dir / "model.xml").string();
    const cagr::Graph graph = cagr::zoo::find_model(FLAGS_model).build(5);
    cagr::save_model(graph, model_path);
    Contender in_process("in-process", model_path, false), isolated("isolated", model_path, true);
    std::printf("model %s, CPU plugin alone, %d rounds x %d passes each, medians per round: min / median / max\n",
                FLAGS_model.c_str(), FLAGS_rounds, FLAGS_passes);
    for (const std::string& b : cagr::cli::comma_list(FLAGS_batches)) {
      const int64_t batch = std::stoll(b);
      std::vector<cagr::HostTensor> inputs = cagr::run::random_inputs(graph, batch, 11);
      std::vector<cagr_tensor> given;
      for (size_t i = 0; i < inputs.size(); ++i)
        given.push_back({sizeof(cagr_tensor), graph.tensor(graph.inputs()[i]).name.c_str(), inputs[i].dtype,
                         static_cast<int32_t>(inputs[i].dims.size()), inputs[i].dims.data(), inputs[i].data.data()});
      for (Contender* c : {&in_process, &isolated})
        for (int i = 0; i < 5; ++i) c->run(given);  // compile at this batch, warm caches
      if (in_process.output_bytes() != isolated.output_bytes()) throw std::runtime_error("outputs differ at batch " + b);
      std::vector<double> base, iso, ratio, added;
      for (int r = 0; r < FLAGS_rounds; ++r) {
        const bool base_first = r % 2 == 0;
        const double first = (base_first ? in_process : isolated).median_us(given, FLAGS_passes);
        const double second = (base_first ? isolated : in_process).median_us(given, FLAGS_passes);
        base.push_back(base_first ? first : second);
        iso.push_back(base_first ? second : first);
        ratio.push_back(iso.back() / base.back());
        added.push_back(iso.back() - base.back());
      }
      std::printf("batch %5lld  in-process %s us  isolated %s us  ratio %s  added %s us per pass  (outputs bitwise equal)\n",
                  static_cast<long long>(batch), range(base, "%.0f/%.0f/%.0f").c_str(), range(iso, "%.0f/%.0f/%.0f").c_str(),
                  range(ratio, "%.2f/%.2f/%.2f").c_str(), range(added, "%.0f/%.0f/%.0f").c_str());
    }
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isolation_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
