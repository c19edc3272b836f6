// cagr-run: load plugins and a model, place it, run it on data, and report the placement, per-node
// and end-to-end latency (mean, min, max, p50 ... p99.9) and throughput, as text or JSON.
// docs/CLI.md describes every flag; `cagr-run --help` lists them.
#include <gflags/gflags.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "avazu_reader.hpp"
#include "command_line.hpp"
#include "criteo_reader.hpp"
#include "executor.hpp"
#include "id_profile.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
#include "npz.hpp"
#include "pipelined.hpp"
#include "plan.hpp"
#include "planned_executor.hpp"
#include "planner.hpp"
#include "registry.hpp"
#include "run_report.hpp"
#include "shape_inference.hpp"
#include "table_precision.hpp"
#include "targets.hpp"

#ifndef CAGR_VERSION
#define CAGR_VERSION "unknown"
#endif

DEFINE_string(model, "", "model.xml or .onnx file to run");
DEFINE_string(plugins, "auto", "auto (every plugin found), a list of plugin names (cpu,opencl), or plugin files/folders");
DEFINE_string(plugin_manifest, "", "a plugins.xml to apply");
DEFINE_bool(list_plugins, false, "print every plugin found, its status (and why any was skipped) and devices, and exit");
DEFINE_bool(probe, true, "load each plugin in a child process first, so one that crashes is skipped");
DEFINE_bool(isolate_plugins, false,
            "run each plugin in a worker process of its own: a plugin that crashes or hangs while running becomes an "
            "error naming it and the node, not the end of cagr-run (costs time per kernel: docs/RELIABILITY.md)");
DEFINE_int64(plugin_timeout_ms, 60000, "with --isolate-plugins: a plugin call not answered within this is a hang (the worker is killed)");
DEFINE_int32(threads, 0,
             "threads of the CPU plugin's kernels (its option 'threads'); default: OpenMP's, OMP_NUM_THREADS or every "
             "logical CPU");
DEFINE_int64(batch, 128,
             "samples per batch of the random inputs and of --data; with --inputs the file sets it (a --batch that "
             "differs is refused)");
DEFINE_int64(iterations, 100, "timed runs (with --data: passes over the file's batches, at least one)");
DEFINE_double(time, 0, "run for this many seconds instead of --iterations times (whole runs, at least one); default: --iterations");
DEFINE_int64(warmup, 3, "untimed runs before timing");
DEFINE_string(data, "", "a click-log CSV in the Avazu or Criteo layout (told apart by the header)");
DEFINE_bool(skip_malformed, false, "with --data: skip malformed rows (reported) instead of stopping");
DEFINE_string(inputs, "", "an .npz holding one array per model input (from --save-inputs, or cagr-gen --model)");
DEFINE_string(save_inputs, "",
              "write the inputs of the first batch (generated or read) to this .npz, to replay the run with --inputs");
DEFINE_string(save_outputs, "", "write the outputs of the first batch to this .npz");
DEFINE_bool(print_plan, false, "print the placement of every node (the JSON report always has it)");
DEFINE_bool(profile, true, "time every node in an extra profiled pass");
DEFINE_string(report, "text", "text or json");
DEFINE_string(report_file, "",
              "write the report to this file instead of stdout; a plugin that prints cannot disturb it either way");
DEFINE_bool(progress, true, "show a progress line on stderr while planning and timing take more than a second");
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
DEFINE_string(pipeline, "off",
              "off; N: cut the placed model into stages where the device changes and stream each batch through them in N "
              "sub-batches, a thread per stage (docs/PIPELINE_SCHEDULE.md); auto: N chosen from the stages' times measured on "
              "the first batch, hints: from the plugins' cost hints; a loaded plan's pipeline is followed unless this is given");
DEFINE_int64(device_memory_budget, 0,
             "bytes of memory each device may use for a batch (weights and buffers); a batch that needs more runs in "
             "sub-batches (as --pipeline does); 0: each device's own memory size");
DEFINE_string(load_plan, "", "place the nodes by this plan file (from --save-plan) instead of deciding, measuring nothing");
DEFINE_string(precision, "f32",
              "the loosest arithmetic allowed: f32, tf32, bf16 or int8 (products' operands rounded or quantised; sums and tensors "
              "stay f32); "
              "plugins then offer such variants too, and the optimiser chooses; a loaded plan brings its own");
DEFINE_string(table_precision, "f32",
              "store embedding_bag's constant f32 tables as f32, f16, bf16 or u8 (row-wise quantised: per row "
              "scale = (max - min) / 255, bias = min), where the device's plugin accepts them; others stay f32 with a "
              "warning; a loaded plan brings its own");
DEFINE_string(profile_ids, "",
              "count how often each id of every embedding_bag is looked up over the run's batches and write it to this "
              "file (for --hot-ids; docs/EMBEDDING_CACHE.md)");
DEFINE_string(hot_ids, "",
              "an id profile from --profile-ids: each embedding_bag's most looked-up rows go to its plugin, which may keep "
              "them in its device cache for good (docs/EMBEDDING_CACHE.md)");
DEFINE_bool(graph_capture, true, "record the kernels once and replay them (CUDA / HIP graphs) where the device can");
DEFINE_int64(show_predictions, 10, "predictions to print (text report)");

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using cagr::cli::given;
using cagr::cli::UsageError;

// The report goes to the stdout cagr-run was started with; from then on anything else that writes
// to stdout (a plugin's printf, a library's message) lands on stderr, so it cannot corrupt it.
FILE* report_stream() {
  static FILE* const stream = [] {
    std::fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    FILE* f = saved >= 0 ? fdopen(saved, "w") : nullptr;
    if (f == nullptr) return stdout;
    dup2(STDERR_FILENO, STDOUT_FILENO);
    return f;
  }();
  return stream;
}

void write_report(const std::string& text, bool to_report_file = true) {
  if (to_report_file && !FLAGS_report_file.empty() && FLAGS_report_file != "-") {
    std::ofstream file(FLAGS_report_file, std::ios::binary);
    file << text;
    if (!file.flush()) throw std::runtime_error("--report-file=" + FLAGS_report_file + ": cannot write");
    return;
  }
  FILE* out = report_stream();
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0)
    throw std::runtime_error("cannot write the report to stdout");
}

using ProgressLine = cagr::cli::ProgressLine;

cagr::DiscoveryOptions discovery_options() {
  cagr::DiscoveryOptions o;
  o.probe = FLAGS_probe;
  if (FLAGS_isolate_plugins) o.isolation = cagr::IsolationOptions{std::chrono::milliseconds(FLAGS_plugin_timeout_ms)};
  if (!FLAGS_plugin_manifest.empty()) o.manifest = FLAGS_plugin_manifest;
  if (FLAGS_threads > 0) o.plugin_options["cpu"] = {{"threads", std::to_string(FLAGS_threads)}};
  // Paths (anything with a '/' or ending in .so) are searched first, instead of the default
  // folders, and everything found there is used; names select among what is found.
  std::string names;
  for (const std::string& item : cagr::cli::comma_list(FLAGS_plugins)) {
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

// Samples in one batch of inputs: the rows of "dense", else the bags per table of "offsets", else
// the first dimension of the first input.
int64_t batch_of(const cagr::Graph& graph, const std::vector<cagr::HostTensor>& inputs) {
  for (size_t i = 0; i < inputs.size() && i < graph.inputs().size(); ++i)
    if (graph.tensor(graph.inputs()[i]).name == "dense" && !inputs[i].dims.empty()) return inputs[i].dims[0];
  for (size_t i = 0; i < inputs.size() && i < graph.inputs().size(); ++i) {
    if (graph.tensor(graph.inputs()[i]).name != "offsets" || inputs[i].dims.size() != 1) continue;
    try {
      const int64_t tables = static_cast<int64_t>(cagr::run::model_table_rows(graph).size());
      if (tables > 0) return (inputs[i].dims[0] - 1) / tables;
    } catch (const std::exception&) {
    }
  }
  return inputs.empty() || inputs[0].dims.empty() ? 1 : inputs[0].dims[0];
}

Workload load_workload(const cagr::Graph& graph) {
  Workload w;
  if (!FLAGS_inputs.empty()) {
    w.batches.push_back(cagr::run::inputs_from_arrays(graph, cagr::data::read_npz(FLAGS_inputs), FLAGS_inputs));
    const int64_t batch = batch_of(graph, w.batches.front());
    if (given("batch") && batch != FLAGS_batch)
      throw UsageError("--batch=" + std::to_string(FLAGS_batch) + ": --inputs=" + FLAGS_inputs + " holds a batch of " +
                       std::to_string(batch) + " samples, and a run uses the file as it is (drop --batch, or write the "
                       "file at that batch: cagr-gen --model=... --batch-size=N)");
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
  w.batches.push_back(cagr::run::random_inputs(graph, FLAGS_batch, 1));
  w.source = "random ids, batch " + std::to_string(FLAGS_batch);
  return w;
}

void save_inputs(const cagr::Graph& graph, const std::vector<cagr::HostTensor>& inputs, const std::string& path) {
  std::map<std::string, cagr::data::NpyArray> arrays;
  for (size_t i = 0; i < inputs.size(); ++i) arrays[graph.tensor(graph.inputs()[i]).name] = cagr::run::to_npy(inputs[i]);
  cagr::data::write_npz(path, arrays);
}

// Why there is nothing to run on: every plugin's reason, instead of a bare "no device".
std::string no_device_message(const cagr::Registry& registry) {
  std::string reasons;
  for (const auto& r : registry.records())
    if (r.status != cagr::PluginRecord::Status::loaded && r.reason.find(": not selected (") == std::string::npos)
      reasons += (reasons.empty() ? "" : "; ") + r.reason;
  if (registry.records().empty()) return "no device to run on: no plugin found (cagr-run --list-plugins says where it looked)";
  return "no device to run on: " + reasons;
}

const char* kind_name(cagr_device_kind kind) {
  switch (kind) {
    case CAGR_DEVICE_CPU: return "cpu";
    case CAGR_DEVICE_GPU: return "gpu";
    case CAGR_DEVICE_OTHER: return "other";
  }
  return "other";
}

std::vector<cagr::run::PluginEntry> plugin_entries(const cagr::Registry& registry) {
  std::vector<cagr::run::PluginEntry> entries;
  for (const auto& r : registry.records()) {
    cagr::run::PluginEntry e;
    e.name = r.name;
    e.status = cagr::to_string(r.status);
    e.origin = r.origin;
    e.path = r.path;
    e.reason = r.reason;
    e.priority = r.priority;
    e.options = r.options;
    if (r.plugin) {
      const cagr::Plugin& p = *r.plugin;
      e.version = p.version();
      e.vendor = p.vendor();
      e.abi_built = std::to_string(p.built_abi_major()) + "." + std::to_string(p.built_abi_minor());
      e.abi_negotiated = std::to_string(p.abi_major()) + "." + std::to_string(p.abi_minor());
      try {
        for (int i = 0; i < p.device_count(); ++i) {
          const cagr::DeviceInfo d = p.device(i);
          e.devices.push_back({i, d.name, kind_name(d.kind), d.pci_bus_id, d.compute_units, d.peak_gflops_f32, d.peak_gflops_f16,
                               d.memory_bandwidth_gbps, d.memory_bytes});
        }
      } catch (const std::exception&) {
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string abi_version() { return std::to_string(CAGR_ABI_VERSION_MAJOR) + "." + std::to_string(CAGR_ABI_VERSION_MINOR); }

// Discovery, with a progress line should probing and loading the plugins take a while.
cagr::Registry discover_plugins() {
  cagr::cli::ProgressLine progress("cagr-run", FLAGS_progress);
  cagr::DiscoveryOptions options = discovery_options();
  options.progress = [&progress](const std::string& step) { progress.update(step); };
  return cagr::Registry::discover(options);
}

int print_version() {
  std::string text = "cagr-run " CAGR_VERSION "\nplugin ABI " + abi_version() + " (plugins of ABI major " +
                     std::to_string(CAGR_ABI_OLDEST_SUPPORTED_MAJOR) + " to " + std::to_string(CAGR_ABI_VERSION_MAJOR) + " load)\n";
  const cagr::Registry registry = discover_plugins();
  text += "plugins:" + std::string(registry.records().empty() ? " none found (cagr-run --list-plugins says where it looked)" : "") + "\n";
  for (const auto& e : plugin_entries(registry)) {
    if (e.status == "loaded")
      text += "  " + e.name + " " + e.version + " (ABI built " + e.abi_built + ", negotiated " + e.abi_negotiated + "): " + e.path + "\n";
    else
      text += "  " + e.name + " " + e.status + ": " + e.reason + "\n";
  }
  write_report(text, false);
  return 0;
}

int run() {
  const cagr::Registry registry = discover_plugins();
  if (FLAGS_list_plugins) {
    write_report(cagr::format_plugin_list(registry));
    return registry.loaded().empty() ? 1 : 0;  // nothing a run could use
  }
  if (FLAGS_threads > 0 && (registry.find("cpu") == nullptr || registry.find("cpu")->status != cagr::PluginRecord::Status::loaded))
    std::fprintf(stderr, "cagr-run: --threads=%d sets the CPU plugin's threads, and the CPU plugin is not loaded\n", FLAGS_threads);
  cagr::Graph graph = cagr::load_any_model(FLAGS_model);
  cagr::allow_math_precision(graph, cagr::cli::math_precision("precision", FLAGS_precision));
  cagr::request_table_dtype(graph, cagr::table_precision_named(FLAGS_table_precision, "--table-precision"));
  if (!FLAGS_hot_ids.empty()) cagr::run::read_hot_rows(graph, FLAGS_hot_ids);
  const Workload work = load_workload(graph);
  cagr::run::RunReport report;
  if (!FLAGS_profile_ids.empty()) {
    for (const std::string& line : cagr::run::write_id_profile(graph, work.batches, FLAGS_profile_ids))
      std::fprintf(stderr, "cagr-run: %s\n", line.c_str());
    report.saved_profile = FLAGS_profile_ids;
  }
  if (!FLAGS_save_inputs.empty()) {
    save_inputs(graph, work.batches.front(), FLAGS_save_inputs);
    report.saved_inputs = FLAGS_save_inputs;
  }

  std::vector<cagr::Dims> example;
  for (const auto& t : work.batches.front()) example.push_back(t.dims);
  std::vector<cagr::Target> targets = cagr::targets_of(registry);
  if (targets.empty()) throw std::runtime_error(no_device_message(registry));
  const cagr::OptimizerMode mode = FLAGS_tune ? cagr::OptimizerMode::tune : cagr::optimizer_mode(FLAGS_optimizer);
  std::optional<cagr::Plan> plan;
  std::optional<cagr::MeasurementCache> cache;
  std::optional<cagr::LearnedPolicy> learned;
  std::optional<cagr::PlannerOptions> planner;  // none: one device and cost hints, nothing to measure
  std::optional<ProgressLine> planning_progress;
  if (!FLAGS_load_plan.empty()) {
    plan = cagr::load_plan(FLAGS_load_plan);
    cagr::check_plan_fits(*plan, graph, FLAGS_load_plan);
  } else if (targets.size() > 1 || mode != cagr::OptimizerMode::hints) {
    if (FLAGS_measurement_cache != "off")
      cache.emplace(FLAGS_measurement_cache.empty() ? cagr::MeasurementCache::default_file()
                                                    : std::filesystem::path(FLAGS_measurement_cache));
    if (mode == cagr::OptimizerMode::policy)
      learned.emplace(cagr::LearnedPolicy::load(FLAGS_policy.empty() ? cagr::LearnedPolicy::default_file() : std::filesystem::path(FLAGS_policy)));
    planner.emplace();
    planner->cache = cache ? &*cache : nullptr;
    planner->policy = learned ? &*learned : nullptr;
    planner->time_box_seconds = FLAGS_tune_time_box;
    planner->mode = mode;
    planner->repetitions = FLAGS_tune_repetitions;
    planning_progress.emplace("cagr-run", FLAGS_progress);
    planner->progress = [&planning_progress](const std::string& step) { planning_progress->update(step); };
  }
  // The model compiled for `targets`: planned (or following the loaded plan) and pipelined where
  // asked. Compiled again on the devices left when an isolated plugin fails while running.
  struct Compiled {
    cagr::PlannedExecutor made;
    std::optional<cagr::PipelinedModel> pipelined;
    std::vector<std::string> pipeline_warnings;
  };
  auto compile = [&] {
    auto c = std::make_unique<Compiled>();
    c->made = cagr::make_executor(graph, targets, work.batches.front(), plan, planner);
    if (planning_progress) planning_progress->clear();
    for (const std::string& w : c->made.warnings) std::fprintf(stderr, "cagr-run: %s\n", w.c_str());
    cagr::Executor& executor = *c->made.executor;
    executor.set_graph_capture(FLAGS_graph_capture);
    c->pipelined = cagr::run::pipelined_model(
        executor, work.batches.front(), cagr::run::pipeline_flag(FLAGS_pipeline),
        FLAGS_load_plan.empty() || given("pipeline") ? cagr::PlannedPipeline{} : cagr::load_plan(FLAGS_load_plan).pipeline,
        cagr::min_sub_batches_for_memory(executor, work.batches.front(), static_cast<uint64_t>(FLAGS_device_memory_budget)),
        c->pipeline_warnings);
    for (const std::string& w : c->pipeline_warnings) std::fprintf(stderr, "cagr-run: %s\n", w.c_str());
    if (c->pipelined && FLAGS_resident_inputs)
      throw std::invalid_argument("--resident-inputs: the batch runs in " + std::to_string(c->pipelined->schedule.sub_batches) +
                                  " sub-batches (" + c->pipelined->schedule.decided_by + "), whose inputs come from the host");
    return c;
  };
  // `step` on the compiled model, compiling it first where it is not. A plugin that fails while
  // planning or running (isolated: its worker crashed or hung) is left out and the model compiled
  // again on the devices left, once per plugin lost, as the C API's cagr_session_run does; the first
  // error stands where no plugin was lost or none is left.
  std::unique_ptr<Compiled> compiled;
  std::vector<std::string> replaced;
  auto resilient = [&](auto&& step) {
    for (;;) {
      try {
        if (!compiled) compiled = compile();
        return step(*compiled);
      } catch (const cagr::Error& e) {
        const std::vector<std::string> dropped = cagr::drop_failed_targets(targets);
        if (dropped.empty()) throw;
        if (targets.empty()) throw cagr::Error(e.status(), std::string(e.what()) + "; no other device is left to run it");
        for (const std::string& d : dropped) {
          std::fprintf(stderr, "cagr-run: %s; its nodes are placed again\n", d.c_str());
          replaced.push_back(d + "; its nodes were placed again");
        }
        compiled.reset();
      }
    }
  };
  // One forward pass, pipelined where asked.
  auto forward = [&](const std::vector<cagr::HostTensor>& inputs) {
    return resilient([&](Compiled& c) {
      return c.pipelined ? c.pipelined->runner->run(inputs, c.pipelined->schedule.sub_batches) : c.made.executor->run(inputs);
    });
  };
  resilient([](Compiled&) {});  // plan and compile now (the plan is saved before the first pass)
  if (!FLAGS_save_plan.empty()) {
    cagr::save_plan(cagr::make_plan(graph, *compiled->made.executor, compiled->made.decided_by,
                                    compiled->pipelined ? &compiled->pipelined->schedule : nullptr),
                    FLAGS_save_plan);
    report.saved_plan = FLAGS_save_plan;
  }

  // The first batch's outputs: saved and shown.
  const std::vector<cagr::HostTensor> first = forward(work.batches.front());
  if (!FLAGS_save_outputs.empty()) {
    std::map<std::string, cagr::data::NpyArray> arrays;
    for (size_t i = 0; i < first.size(); ++i) arrays[graph.tensor(graph.outputs()[i]).name] = cagr::run::to_npy(first[i]);
    cagr::data::write_npz(FLAGS_save_outputs, arrays);
    report.saved_outputs = FLAGS_save_outputs;
  }

  for (int64_t i = 0; i < FLAGS_warmup; ++i) forward(work.batches[static_cast<size_t>(i) % work.batches.size()]);

  // Timed runs: --iterations passes (over every batch of --data), or whole runs for --time seconds.
  std::vector<double> latency_us;
  int64_t samples = 0;
  const bool for_time = FLAGS_time > 0;
  const int64_t passes = FLAGS_data.empty() ? 1 : static_cast<int64_t>(work.batches.size());
  const int64_t planned_runs = std::max<int64_t>(FLAGS_iterations, 1) * passes;
  ProgressLine progress("cagr-run", FLAGS_progress);
  const auto start = Clock::now();
  for (int64_t i = 0;; ++i) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (for_time ? (i > 0 && elapsed >= FLAGS_time) : i >= planned_runs) break;
    const auto& inputs = work.batches[static_cast<size_t>(i) % work.batches.size()];
    const Compiled* bound = nullptr;
    if (FLAGS_resident_inputs) resilient([&](Compiled& c) {
        c.made.executor->bind(inputs);
        bound = &c;
      });
    const auto t0 = Clock::now();
    if (FLAGS_resident_inputs)
      resilient([&](Compiled& c) {
        if (&c != bound) c.made.executor->bind(inputs);  // compiled again after a plugin failed
        c.made.executor->run_bound();
      });
    else forward(inputs);
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    samples += batch_of(graph, inputs);
    char line[128];
    if (for_time) std::snprintf(line, sizeof line, "timing: %lld runs, %.0f of %g s", (long long)(i + 1), elapsed, FLAGS_time);
    else std::snprintf(line, sizeof line, "timing: %lld of %lld runs, %.0f s", (long long)(i + 1), (long long)planned_runs, elapsed);
    progress.update(line);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  progress.clear();
  const int64_t runs = static_cast<int64_t>(latency_us.size());
  if (FLAGS_profile)
    for (int64_t i = 0; i < std::min<int64_t>(runs, 20); ++i)
      resilient([&](Compiled& c) {
        c.made.executor->set_profiling(true);
        c.made.executor->run(work.batches[static_cast<size_t>(i) % work.batches.size()]);
      });
  const cagr::Executor& executor = *compiled->made.executor;

  // The report.
  report.version = CAGR_VERSION;
  report.abi = abi_version();
  report.arguments = cagr::cli::given_arguments();
  report.model = FLAGS_model;
  report.model_name = graph.name;
  report.model_nodes = graph.nodes().size();
  report.source = work.source;
  report.batch = batch_of(graph, work.batches.front());
  report.batches = work.batches.size();
  report.machine = cagr::run::machine_info();
  report.plugins = plugin_entries(registry);
  report.threads = FLAGS_threads;
  report.decided_by = compiled->made.decided_by;
  report.planning = compiled->made.planning;
  report.warnings = compiled->made.warnings;
  report.warnings.insert(report.warnings.end(), replaced.begin(), replaced.end());
  report.fusions = executor.fusions();
  report.placement_table = executor.plan_table();
  if (compiled->pipelined) report.pipeline = cagr::run::pipeline_entry(*compiled->pipelined, executor);
  report.warnings.insert(report.warnings.end(), compiled->pipeline_warnings.begin(), compiled->pipeline_warnings.end());
  std::vector<cagr::TensorShape> shapes;
  try {
    shapes = cagr::infer_shapes(executor.graph(), example);
  } catch (const std::exception&) {
  }
  for (size_t n = 0; n < executor.graph().nodes().size(); ++n) {
    const cagr::Node& node = executor.graph().nodes()[n];
    const cagr::NodePlacement& p = executor.placement().nodes[n];
    cagr::run::PlacedNode placed;
    placed.node = node.name;
    placed.op = node.op;
    placed.device = p.target >= 0 ? executor.targets()[static_cast<size_t>(p.target)].label() : "";
    placed.view = executor.graph().is_view(static_cast<int>(n));
    placed.variant = placed.view ? "view (no copy)" : p.variant_name;
    placed.estimated_us = placed.view ? 0.0 : p.estimated_ns / 1000.0;
    if (!node.outputs.empty() && static_cast<size_t>(node.outputs[0]) < shapes.size())
      placed.output_shape = "[" + cagr::dims_to_string(shapes[static_cast<size_t>(node.outputs[0])].dims) + "]";
    report.placement.push_back(std::move(placed));
  }
  report.warmup = FLAGS_warmup;
  report.runs = runs;
  report.seconds = seconds;
  report.time_limit = FLAGS_time;
  report.resident_inputs = FLAGS_resident_inputs;
  report.graph_capture = FLAGS_graph_capture;
  report.captured = executor.captures();
  report.latency = cagr::run::latency_stats(latency_us);
  report.throughput = seconds > 0 ? static_cast<double>(samples) / seconds : 0;
  report.profiled = FLAGS_profile;
  if (FLAGS_profile)
    for (const auto& p : executor.profile())
      report.profile.push_back({p.node, p.op, p.target, p.variant, cagr::run::latency_stats(p.microseconds), p.device_timed});
  for (cagr::NodeStatistics& k : executor.kernel_statistics())
    report.kernel_statistics.push_back({k.node, k.op, k.target, cagr::run::with_hit_rates(std::move(k.figures))});
  const cagr::HostTensor& out0 = first.front();
  report.output_name = graph.tensor(graph.outputs()[0]).name;
  if (out0.dtype == CAGR_DTYPE_F32) {
    const int64_t show = std::min<int64_t>(FLAGS_show_predictions, out0.numel());
    for (int64_t i = 0; i < show; ++i) {
      report.predictions.push_back(out0.as<float>()[i]);
      if (!work.labels.empty() && i < static_cast<int64_t>(work.labels[0].size()))
        report.labels.push_back(work.labels[0][static_cast<size_t>(i)]);
    }
  }
  write_report(FLAGS_report == "json" ? cagr::run::render_json(report) : cagr::run::render_text(report, FLAGS_print_plan));
  return 0;
}

// --NAME=PATH must name an existing file.
void must_exist(const char* flag, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  const std::string shown = "--" + std::string(flag) + "=" + path;
  if (!fs::exists(path, ec)) throw UsageError(shown + ": no such file");
  if (fs::is_directory(path, ec)) throw UsageError(shown + ": a folder, not a file");
}

// --NAME=PATH will be written: its folder must exist.
void can_write(const char* flag, const std::string& path) {
  if (path.empty() || path == "-") return;
  std::error_code ec;
  const std::string shown = "--" + std::string(flag) + "=" + path;
  const fs::path folder = fs::path(path).parent_path();
  if (!folder.empty() && !fs::is_directory(folder, ec)) throw UsageError(shown + ": folder " + folder.string() + " does not exist");
  if (fs::is_directory(path, ec)) throw UsageError(shown + ": a folder, not a file");
}

}  // namespace

// Flags whose value makes no sense, or that contradict each other, are refused before anything
// runs, naming the flag.
void check_flags() {
  auto at_least = [](const char* flag, int64_t value, int64_t least) {
    if (value < least)
      throw UsageError("--" + std::string(flag) + "=" + std::to_string(value) + ": must be at least " + std::to_string(least));
  };
  at_least("batch", FLAGS_batch, 1);
  at_least("iterations", FLAGS_iterations, 1);
  at_least("warmup", FLAGS_warmup, 0);
  at_least("tune-repetitions", FLAGS_tune_repetitions, 1);
  at_least("show-predictions", FLAGS_show_predictions, 0);
  at_least("plugin-timeout-ms", FLAGS_plugin_timeout_ms, 1);
  if (given("threads") && (FLAGS_threads < 1 || FLAGS_threads > 4096))
    throw UsageError("--threads=" + std::to_string(FLAGS_threads) + ": must be 1 to 4096");
  if (given("time") && !(FLAGS_time > 0 && FLAGS_time <= 1e6))
    throw UsageError("--time=" + std::to_string(FLAGS_time) + ": must be more than 0 seconds (and at most 1e6)");
  if (!(FLAGS_tune_time_box >= 0)) throw UsageError("--tune-time-box=" + std::to_string(FLAGS_tune_time_box) + ": must be at least 0");
  at_least("device-memory-budget", FLAGS_device_memory_budget, 0);
  try {
    if (cagr::run::pipeline_flag(FLAGS_pipeline) && FLAGS_resident_inputs)
      throw UsageError("--pipeline with --resident-inputs: a pipelined run takes its inputs from the host (each stage copies its own in)");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (given("time") && given("iterations"))
    throw UsageError("--time and --iterations both say how long to run: give one");
  if (FLAGS_report != "text" && FLAGS_report != "json")
    throw UsageError("--report=" + FLAGS_report + ": the reports are text and json");
  if (!FLAGS_tune) {
    try {
      (void)cagr::optimizer_mode(FLAGS_optimizer);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--optimizer=") + FLAGS_optimizer + ": " + e.what());
    }
  }
  if (!FLAGS_data.empty() && !FLAGS_inputs.empty())
    throw UsageError("--data and --inputs both give the inputs: give one");
  if (FLAGS_skip_malformed && FLAGS_data.empty()) throw UsageError("--skip-malformed applies to --data only");
  if (!FLAGS_load_plan.empty() && FLAGS_tune)
    throw UsageError("--load-plan places the nodes by the file, measuring nothing; --tune measures: give one");
  if (FLAGS_model.empty() && !FLAGS_list_plugins)
    throw UsageError("--model is required (or --list-plugins); cagr-run --help lists the flags");
  must_exist("model", FLAGS_model);
  must_exist("data", FLAGS_data);
  must_exist("inputs", FLAGS_inputs);
  must_exist("plugin-manifest", FLAGS_plugin_manifest);
  must_exist("load-plan", FLAGS_load_plan);
  must_exist("hot-ids", FLAGS_hot_ids);
  can_write("report-file", FLAGS_report_file);
  can_write("save-outputs", FLAGS_save_outputs);
  can_write("save-inputs", FLAGS_save_inputs);
  can_write("save-plan", FLAGS_save_plan);
  can_write("profile-ids", FLAGS_profile_ids);
}

const cagr::cli::ToolHelp& tool_help() {
  static const cagr::cli::ToolHelp help = [] {
    cagr::cli::ToolHelp h;
    h.name = "cagr-run";
    h.summary = "run a model on the plugins found, and report its placement, per-node and end-to-end latency and throughput";
    h.usage = {"--model=FILE [--data=CSV | --inputs=NPZ] [--batch=N] [--iterations=N | --time=SECONDS] [flags]",
               "--list-plugins [--plugins=...]", "--version | --help"};
    const std::string model = "Model and inputs", plugins = "Plugins and devices", timing = "Running and timing",
                      placement = "Placement", report = "Report and files", info = "Information";
    h.groups = {model, plugins, timing, placement, report, info};
    h.flags = {
        {"model", model, "FILE"},
        {"data", model, "CSV"},
        {"skip_malformed", model, ""},
        {"inputs", model, "NPZ"},
        {"batch", model, "N"},
        {"plugins", plugins, "LIST"},
        {"plugin_manifest", plugins, "XML"},
        {"threads", plugins, "N"},
        {"probe", plugins, ""},
        {"isolate_plugins", plugins, ""},
        {"plugin_timeout_ms", plugins, "MS"},
        {"iterations", timing, "N"},
        {"time", timing, "SECONDS"},
        {"warmup", timing, "N"},
        {"resident_inputs", timing, ""},
        {"graph_capture", timing, ""},
        {"pipeline", timing, "off|auto|hints|N"},
        {"device_memory_budget", timing, "BYTES"},
        {"profile", timing, ""},
        {"progress", timing, ""},
        {"optimizer", placement, "MODE"},
        {"tune", placement, ""},
        {"tune_repetitions", placement, "N"},
        {"tune_time_box", placement, "SECONDS"},
        {"policy", placement, "FILE"},
        {"measurement_cache", placement, "FILE"},
        {"table_precision", placement, "f32|f16|bf16|u8"},
        {"load_plan", placement, "FILE"},
        {"save_plan", placement, "FILE"},
        {"print_plan", placement, ""},
        {"hot_ids", placement, "FILE"},
        {"report", report, "FORMAT"},
        {"report_file", report, "FILE"},
        {"show_predictions", report, "N"},
        {"save_inputs", report, "NPZ"},
        {"save_outputs", report, "NPZ"},
        {"profile_ids", report, "FILE"},
        {"list_plugins", info, ""},
    };
    h.flags_defined_in = "tools/cagr-run/";
    h.information = {{"--version", "print cagr-run's version, the plugin ABI, and each plugin's version and ABI, and exit"},
                     {"-h, --help", "print this help and exit"}};
    h.epilogue =
        "Examples:\n"
        "  cagr-run --list-plugins\n"
        "  cagr-run --model=m.xml --data=rows.csv --batch=32\n"
        "  cagr-run --model=m.xml --batch=2048 --time=10 --threads=8 --report=json --report-file=r.json\n"
        "  cagr-run --model=m.xml --save-inputs=in.npz && cagr-run --model=m.xml --inputs=in.npz\n"
        "  cagr-run --model=m.xml --data=rows.csv --tune --save-plan=m.plan.xml\n"
        "Exit status: 0 done; 1 the run failed (the message says why); 2 the command line is wrong.\n"
        "docs/CLI.md describes every flag and the reports.\n";
    return h;
  }();
  return help;
}

int main(int argc, char** argv) {
  report_stream();  // from here on stdout belongs to the report
  try {
    switch (cagr::cli::parse(argc, argv, tool_help())) {
      case cagr::cli::Action::help: write_report(cagr::cli::help_text(tool_help()), false); return 0;
      case cagr::cli::Action::version: return print_version();
      case cagr::cli::Action::run: break;
    }
    check_flags();
    return run();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cagr-run: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-run: %s\n", e.what());
    return 1;
  }
}
