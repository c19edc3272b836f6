// cagr-run: load plugins and a model, place it, run it on data, and report placement, per-node and
// end-to-end latency (p50/p99) and throughput.
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "avazu_reader.hpp"
#include "criteo_reader.hpp"
#include "executor.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
#include "npz.hpp"
#include "plan.hpp"
#include "planner.hpp"
#include "registry.hpp"
#include "targets.hpp"

DEFINE_string(model, "", "model.xml or .onnx file to run");
DEFINE_string(plugins, "auto", "auto (every plugin found), a list of plugin names (cpu,opencl), or plugin files/folders");
DEFINE_string(plugin_manifest, "", "a plugins.xml to apply");
DEFINE_bool(list_plugins, false, "print every plugin found, its status and devices, and exit");
DEFINE_bool(probe, true, "load each plugin in a child process first, so one that crashes is skipped");
DEFINE_int64(batch, 128, "samples per batch");
DEFINE_int64(iterations, 100, "timed runs (with --data: passes over the file's batches, at least one)");
DEFINE_int64(warmup, 3, "untimed runs before timing");
DEFINE_string(data, "", "a click-log CSV in the Avazu or Criteo layout (told apart by the header)");
DEFINE_bool(skip_malformed, false, "with --data: skip malformed rows (reported) instead of stopping");
DEFINE_string(inputs, "", "an .npz holding one array per model input");
DEFINE_string(save_outputs, "", "write the outputs of the first batch to this .npz");
DEFINE_bool(print_plan, false, "print the placement of every node");
DEFINE_bool(profile, true, "time every node in an extra profiled pass");
DEFINE_string(report, "text", "text or json");
DEFINE_bool(resident_inputs, false,
            "time only the forward pass over inputs already in device memory (bound before each timed run), "
            "leaving its outputs there, as for a caller whose data lives there; the default times host inputs "
            "to host outputs");
DEFINE_string(optimizer, "hints",
              "none: no fusion, each node's default variant (the unoptimised baseline); "
              "hints: every fusion, the plugins' cost hints, checked on the first batch against each device alone where there are several; "
              "policy: the learned policy (--policy) ranks every fusion choice and device set, the best few are timed; "
              "tune: every fusion choice and device set with every variant timed on the first batch (docs/OPTIMISER.md)");
DEFINE_string(policy, "", "with --optimizer=policy: the policy file (default: the one shipped, policy/cagr_policy.xml, or $CAGR_POLICY)");
DEFINE_double(tune_time_box, 0, "with --optimizer=tune: seconds after which no new candidate is tried (0: no limit)");
DEFINE_bool(tune, false, "the same as --optimizer=tune");
DEFINE_int32(tune_repetitions, 10, "passes per measurement when planning (the fastest counts)");
DEFINE_string(measurement_cache, "",
              "with --optimizer=tune: the file of node timings to reuse and extend (default: measurements.tsv in the "
              "cache folder, CAGR_CACHE_DIR or ~/.cache/cagr); 'off': measure everything, keep nothing");
DEFINE_string(save_plan, "", "write the plan (fusions; each node's plugin, device and variant, after --tune if given) to this file");
DEFINE_string(load_plan, "", "place the nodes by this plan file (from --save-plan) instead of deciding, measuring nothing");
DEFINE_bool(graph_capture, true, "record the kernels once and replay them (CUDA / HIP graphs) where the device can");
DEFINE_int64(show_predictions, 10, "predictions to print (text report)");

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) if (!item.empty()) out.push_back(item);
  return out;
}

cagr::DiscoveryOptions discovery_options() {
  cagr::DiscoveryOptions o;
  o.probe = FLAGS_probe;
  if (!FLAGS_plugin_manifest.empty()) o.manifest = FLAGS_plugin_manifest;
  // Paths (anything with a '/' or ending in .so) are searched first, instead of the default
  // folders, and everything found there is used; names select among what is found.
  std::string names;
  for (const std::string& item : split(FLAGS_plugins)) {
    if (item.find('/') != std::string::npos || item.ends_with(".so")) {
      o.paths.push_back(item);
    } else if (item != "auto") {
      names += (names.empty() ? "" : ",") + item;
    }
  }
  o.selection = names.empty() ? "auto" : names;
  if (!o.paths.empty()) o.use_default_folders = false;
  return o;
}

// All batches the run will use: read from --data or --inputs, or one random batch.
struct Workload {
  std::vector<std::vector<cagr::HostTensor>> batches;
  std::vector<std::vector<float>> labels;  // per batch, when the data has labels
  std::string source;
};

Workload load_workload(const cagr::Graph& graph) {
  Workload w;
  if (!FLAGS_inputs.empty()) {
    w.batches.push_back(cagr::run::inputs_from_arrays(graph, cagr::data::read_npz(FLAGS_inputs), FLAGS_inputs));
    w.source = FLAGS_inputs;
    return w;
  }
  if (!FLAGS_data.empty()) {
    std::ifstream probe(FLAGS_data);
    std::string header;
    if (!probe || !std::getline(probe, header)) throw std::runtime_error(FLAGS_data + ": cannot read");
    cagr::data::ReaderOptions options;
    options.table_rows = cagr::run::model_table_rows(graph);
    options.malformed_rows = FLAGS_skip_malformed ? cagr::data::MalformedRowPolicy::kSkip : cagr::data::MalformedRowPolicy::kStop;
    std::unique_ptr<cagr::data::TabularReader> reader;
    if (header.rfind("id,click", 0) == 0) reader = std::make_unique<cagr::data::AvazuReader>(FLAGS_data, options);
    else reader = std::make_unique<cagr::data::CriteoReader>(FLAGS_data, options);
    while (auto batch = reader->next_batch(FLAGS_batch)) {
      w.batches.push_back(cagr::run::inputs_from_batch(graph, *batch));
      w.labels.push_back(batch->labels);
    }
    if (reader->skipped_rows() > 0) {
      std::fprintf(stderr, "cagr-run: skipped %lld malformed rows, first: %s\n", (long long)reader->skipped_rows(),
                   reader->skipped_messages().front().c_str());
    }
    if (w.batches.empty()) throw std::runtime_error(FLAGS_data + ": no rows");
    w.source = FLAGS_data;
    return w;
  }
  const cagr::data::Batch batch = cagr::run::random_batch(graph, FLAGS_batch, 1);
  w.batches.push_back(cagr::run::inputs_from_batch(graph, batch));
  w.source = "random ids, batch " + std::to_string(FLAGS_batch);
  return w;
}

int64_t batch_samples(const std::vector<cagr::HostTensor>& inputs) {
  return inputs.empty() || inputs[0].dims.empty() ? 1 : inputs[0].dims[0];
}

int run() {
  const cagr::Registry registry = cagr::Registry::discover(discovery_options());
  if (FLAGS_list_plugins) {
    std::fputs(cagr::format_plugin_list(registry).c_str(), stdout);
    return 0;
  }
  if (FLAGS_model.empty()) throw std::invalid_argument("--model is required (or --list-plugins)");
  const cagr::Graph graph = cagr::load_any_model(FLAGS_model);
  const Workload work = load_workload(graph);

  std::vector<cagr::Dims> example;
  for (const auto& t : work.batches.front()) example.push_back(t.dims);
  const std::vector<cagr::Target> targets = cagr::targets_of(registry);
  const cagr::OptimizerMode mode = FLAGS_tune ? cagr::OptimizerMode::tune : cagr::optimizer_mode(FLAGS_optimizer);
  std::unique_ptr<cagr::PlacementPolicy> policy;
  cagr::PlannedPlacement* planned = nullptr;
  std::vector<std::string> planning;  // what the planner measured
  std::string decided_by = "hints";
  if (!FLAGS_load_plan.empty() || targets.size() > 1 || mode != cagr::OptimizerMode::hints) {
    cagr::Plan plan;
    if (!FLAGS_load_plan.empty()) {
      plan = cagr::load_plan(FLAGS_load_plan);
      cagr::check_plan_fits(plan, graph, FLAGS_load_plan);
      decided_by = "plan";
    } else {
      std::optional<cagr::MeasurementCache> cache;
      if (FLAGS_measurement_cache != "off")
        cache.emplace(FLAGS_measurement_cache.empty() ? cagr::MeasurementCache::default_file()
                                                      : std::filesystem::path(FLAGS_measurement_cache));
      std::optional<cagr::LearnedPolicy> learned;
      if (mode == cagr::OptimizerMode::policy)
        learned.emplace(cagr::LearnedPolicy::load(FLAGS_policy.empty() ? cagr::LearnedPolicy::default_file() : std::filesystem::path(FLAGS_policy)));
      cagr::PlannerOptions options;
      options.cache = cache ? &*cache : nullptr;
      options.policy = learned ? &*learned : nullptr;
      options.time_box_seconds = FLAGS_tune_time_box;
      options.mode = mode;
      options.repetitions = FLAGS_tune_repetitions;
      options.progress = [](const std::string& step) { std::fprintf(stderr, "\r%-100.100s", step.c_str()); };
      cagr::PlannedModel made = cagr::plan_model(graph, targets, work.batches.front(), options);
      std::fprintf(stderr, "\r%-100s\r", "");
      planning = std::move(made.report);
      plan = std::move(made.plan);
      decided_by = plan.decided_by;
    }
    auto p = std::make_unique<cagr::PlannedPlacement>(std::move(plan));
    planned = p.get();
    policy = std::move(p);
  } else {
    policy = std::make_unique<cagr::CostHintPlacement>();  // one device, hints: nothing to measure
  }
  cagr::Executor executor(graph, targets, example, *policy);
  if (planned)
    for (const std::string& w : planned->warnings()) std::fprintf(stderr, "cagr-run: %s\n", w.c_str());
  executor.set_graph_capture(FLAGS_graph_capture);
  if (!FLAGS_save_plan.empty())
    cagr::save_plan(cagr::make_plan(graph, executor, decided_by),
                    FLAGS_save_plan);
  const bool json = FLAGS_report == "json";
  if (!json) {
    std::printf("model %s (%zu nodes) on %s\n", FLAGS_model.c_str(), graph.nodes().size(), work.source.c_str());
    if (!planning.empty()) {
      std::printf("\nplanned (forward-pass times on the first batch: the candidate placements, then each variant of a node):\n");
      for (const std::string& line : planning) std::printf("  %s\n", line.c_str());
    }
    if (FLAGS_print_plan) std::printf("\nplacement:\n%s\n", executor.plan_table().c_str());
  }

  // The first batch's outputs: saved and shown.
  const std::vector<cagr::HostTensor> first = executor.run(work.batches.front());
  if (!FLAGS_save_outputs.empty()) {
    std::map<std::string, cagr::data::NpyArray> arrays;
    for (size_t i = 0; i < first.size(); ++i) arrays[graph.tensor(graph.outputs()[i]).name] = cagr::run::to_npy(first[i]);
    cagr::data::write_npz(FLAGS_save_outputs, arrays);
  }

  for (int64_t i = 0; i < FLAGS_warmup; ++i) executor.run(work.batches[static_cast<size_t>(i) % work.batches.size()]);
  std::vector<double> latency_us;
  int64_t samples = 0;
  const int64_t runs = std::max<int64_t>(FLAGS_iterations, 1) * (FLAGS_data.empty() ? 1 : static_cast<int64_t>(work.batches.size()));
  const auto start = Clock::now();
  for (int64_t i = 0; i < runs; ++i) {
    const auto& inputs = work.batches[static_cast<size_t>(i) % work.batches.size()];
    if (FLAGS_resident_inputs) executor.bind(inputs);
    const auto t0 = Clock::now();
    if (FLAGS_resident_inputs) executor.run_bound();
    else executor.run(inputs);
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    samples += batch_samples(inputs);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (FLAGS_profile) {
    executor.set_profiling(true);
    for (int64_t i = 0; i < std::min<int64_t>(runs, 20); ++i) executor.run(work.batches[static_cast<size_t>(i) % work.batches.size()]);
  }

  const double p50 = percentile(latency_us, 50), p99 = percentile(latency_us, 99);
  const double throughput = static_cast<double>(samples) / seconds;
  const cagr::HostTensor& out0 = first.front();
  if (json) {
    std::printf("{\"model\": \"%s\", \"source\": \"%s\", \"runs\": %lld, \"latency_us\": {\"p50\": %.3f, \"p99\": %.3f}, "
                "\"throughput_samples_per_s\": %.1f, \"resident_inputs\": %s, \"nodes\": [",
                FLAGS_model.c_str(), work.source.c_str(), (long long)runs, p50, p99, throughput,
                FLAGS_resident_inputs ? "true" : "false");
    const auto& prof = executor.profile();
    for (size_t i = 0; i < prof.size(); ++i) {
      std::printf("%s{\"node\": \"%s\", \"op\": \"%s\", \"device\": \"%s\", \"variant\": \"%s\", \"p50_us\": %.3f, "
                  "\"device_timed\": %s}",
                  i ? ", " : "", prof[i].node.c_str(), prof[i].op.c_str(), prof[i].target.c_str(), prof[i].variant.c_str(),
                  percentile(prof[i].microseconds, 50), prof[i].device_timed ? "true" : "false");
    }
    std::printf("]}\n");
    return 0;
  }
  if (out0.dtype == CAGR_DTYPE_F32) {
    const int64_t show = std::min<int64_t>(FLAGS_show_predictions, out0.numel());
    std::printf("\npredictions (%s, first batch):\n", graph.tensor(graph.outputs()[0]).name.c_str());
    for (int64_t i = 0; i < show; ++i) {
      std::printf("  %3lld  %.6f", (long long)i, out0.as<float>()[i]);
      if (!work.labels.empty() && i < static_cast<int64_t>(work.labels[0].size())) std::printf("   label %.0f", work.labels[0][static_cast<size_t>(i)]);
      std::printf("\n");
    }
  }
  if (FLAGS_profile) {
    std::printf("\nper node (profiled pass, p50; timed by: device = events around the node, host = the stream\n"
                "synchronised after it, which adds launch and wake-up latency):\n%-24s %-16s %-12s %-26s %10s  %s\n",
                "node", "op", "device", "variant", "us", "timed by");
    for (const auto& p : executor.profile())
      std::printf("%-24s %-16s %-12s %-26s %10.2f  %s\n", p.node.c_str(), p.op.c_str(), p.target.c_str(), p.variant.c_str(),
                  percentile(p.microseconds, 50), p.device_timed ? "device" : "host");
  }
  std::printf("\n%s: %lld runs, latency p50 %.1f us, p99 %.1f us, throughput %.0f samples/s\n",
              FLAGS_resident_inputs ? "forward pass (inputs and outputs resident on the device)" : "end to end", (long long)runs, p50, p99,
              throughput);
  return 0;
}

}  // namespace

// Flags whose value makes no sense are refused before anything runs, naming the flag.
void check_flags() {
  auto at_least = [](const char* flag, int64_t value, int64_t least) {
    if (value < least)
      throw std::invalid_argument("--" + std::string(flag) + "=" + std::to_string(value) + ": must be at least " + std::to_string(least));
  };
  at_least("batch", FLAGS_batch, 1);
  at_least("iterations", FLAGS_iterations, 1);
  at_least("warmup", FLAGS_warmup, 0);
  at_least("tune_repetitions", FLAGS_tune_repetitions, 1);
  at_least("show_predictions", FLAGS_show_predictions, 0);
  if (!(FLAGS_tune_time_box >= 0)) throw std::invalid_argument("--tune_time_box=" + std::to_string(FLAGS_tune_time_box) + ": must be at least 0");
  cagr::optimizer_mode(FLAGS_optimizer);  // throws naming the modes
  if (FLAGS_report != "text" && FLAGS_report != "json")
    throw std::invalid_argument("--report=" + FLAGS_report + ": the reports are text and json");
}

int main(int argc, char** argv) {
  gflags::SetUsageMessage("cagr-run --model=model.xml [--plugins=auto] [--data=file.csv | --inputs=x.npz] [--batch=N]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    check_flags();
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-run: %s\n", e.what());
    return 1;
  }
}
