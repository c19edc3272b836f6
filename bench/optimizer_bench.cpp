// optimizer_bench - the optimiser's modes side by side (docs/OPTIMISER.md, docs/PERF.md "## Optimiser").
//
// For each model, batch size and device set (each device alone, then all together where there are
// several): the plan of every mode (none: no fusion and default variants; hints; tune: exhaustive;
// policy: the learned policy, trained here on --samples without the row's device and model), its
// optimisation time, and its pass latency, measured in turns (rounds of passes over every mode's
// executor, the fastest round's median counting). Prints a markdown table; --csv writes the rows
// for bench/plot_optimizer.py.
//
//   optimizer_bench --samples=policy/samples/cpu-2core.tsv --models=dlrm_avazu_sample,deepfm_avazu --batches=64,2048
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>

#include "command_line.hpp"
#include "cost_samples.hpp"
#include "executor.hpp"
#include "inputs.hpp"
#include "learned_policy.hpp"
#include "model_zoo.hpp"
#include "planner.hpp"
#include "registry.hpp"
#include "targets.hpp"

DEFINE_string(models, "dlrm_avazu_sample,dlrm_kaggle_small,deepfm_avazu,ngcf,two_stage_filter,two_stage_ranker", "zoo model names");
DEFINE_string(batches, "64,2048", "batch sizes");
DEFINE_string(plugins, "auto", "auto, plugin names (cpu,opencl) or plugin files");
DEFINE_string(samples, "", "cost sample files (cagr-policy collect) the policy is trained on, comma-separated; required");
DEFINE_int32(repetitions, 5, "passes per measurement while planning");
DEFINE_int32(rounds, 5, "rounds of latency measurement, in turns over the modes");
DEFINE_int32(passes, 20, "passes per round (the round's median counts)");
DEFINE_string(csv, "", "also write the rows to this CSV file");
DEFINE_string(precision, "f32", "the loosest arithmetic every mode may use (f32, tf32, bf16, int8); `none` keeps each node's first variant");

namespace {

using Clock = std::chrono::steady_clock;

struct ModeResult {
  cagr::OptimizerMode mode;
  double optimise_s = 0;
  double latency_us = std::numeric_limits<double>::infinity();
  std::unique_ptr<cagr::Executor> executor;
  std::string held_out;  // policy: what its training left out
};

double median_pass_us(cagr::Executor& e, const std::vector<cagr::HostTensor>& inputs) {
  std::vector<double> us;
  for (int p = 0; p < FLAGS_passes; ++p) {
    const auto start = Clock::now();
    e.run(inputs);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  return us[us.size() / 2];
}

std::string device_of(const std::vector<cagr::Target>& targets) {
  std::string s;
  for (const cagr::Target& t : targets) s += (s.empty() ? "" : "+") + t.label();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("optimizer_bench --samples=FILE[,FILE] [--models=...] [--batches=64,2048]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    if (FLAGS_samples.empty()) throw std::invalid_argument("--samples is required (cagr-policy collect writes them)");
    std::vector<cagr::CostSample> samples;
    for (const std::string& f : cagr::cli::comma_list(FLAGS_samples)) {
      const auto s = cagr::read_cost_samples(f);
      samples.insert(samples.end(), s.begin(), s.end());
    }
    cagr::DiscoveryOptions discovery;
    discovery.selection = FLAGS_plugins;
    const cagr::Registry registry = cagr::Registry::discover(discovery);
    const std::vector<cagr::Target> all = cagr::targets_of(registry);
    if (all.empty()) throw std::runtime_error("no device: no plugin loaded, or none has a device");
    std::vector<std::vector<cagr::Target>> device_sets;
    for (const cagr::Target& t : all) device_sets.push_back({t});
    if (all.size() > 1) device_sets.push_back(all);

    std::ofstream csv;
    if (!FLAGS_csv.empty()) {
      csv.open(FLAGS_csv);
      csv << "model,batch,devices,mode,latency_us,optimise_s,policy_held_out\n";
    }
    // Every mode's time includes building one executor (uploading the weights), which `none` does
    // and nothing else: the last time column compares what policy and tune spend beyond that.
    std::printf("| model | batch | devices | none us (s) | hints us (s) | tune us (s) | policy us (s) | policy speed, %% of tune | policy time, %% of tune | the same beyond none's | tuned / none | policy trained without |\n");
    std::printf("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (const std::string& model : cagr::cli::comma_list(FLAGS_models)) {
      cagr::Graph graph = cagr::zoo::find_model(model).build(1);
      cagr::allow_math_precision(graph, cagr::cli::math_precision("precision", FLAGS_precision));
      for (const std::string& b : cagr::cli::comma_list(FLAGS_batches)) {
        const auto inputs = cagr::run::random_inputs(graph, std::stoll(b), 1);
        for (const std::vector<cagr::Target>& targets : device_sets) {
          const std::string where = device_of(targets);
          // The policy never saw this model, nor (where one device runs the row) this device: the
          // samples' device is "label (name)", as cost samples record it; the same plugin's device
          // of another machine (the GPU machine's host CPU) stays in.
          const std::string device = targets[0].label() + " (" + targets[0].info.name + ")";
          std::vector<cagr::CostSample> training;
          for (const cagr::CostSample& s : samples)
            if (s.model != model && (targets.size() > 1 || s.device != device)) training.push_back(s);
          std::optional<cagr::LearnedPolicy> policy;
          if (!training.empty()) policy = cagr::LearnedPolicy::fit(training);
          std::vector<ModeResult> results;
          for (cagr::OptimizerMode mode : {cagr::OptimizerMode::none, cagr::OptimizerMode::hints, cagr::OptimizerMode::tune,
                                           cagr::OptimizerMode::policy}) {
            if (mode == cagr::OptimizerMode::policy && !policy) continue;
            std::fprintf(stderr, "\r%-100.100s", (model + " batch " + b + " on " + where + ": planning by " + cagr::optimizer_mode_name(mode)).c_str());
            cagr::PlannerOptions options;
            options.mode = mode;
            options.repetitions = FLAGS_repetitions;
            options.policy = policy ? &*policy : nullptr;
            const auto start = Clock::now();
            cagr::PlannedModel planned = cagr::plan_model(graph, targets, inputs, options);
            ModeResult r;
            r.mode = mode;
            r.optimise_s = std::chrono::duration<double>(Clock::now() - start).count();
            cagr::PlannedPlacement follow(planned.plan);
            std::vector<cagr::Dims> dims;
            for (const auto& t : inputs) dims.push_back(t.dims);
            r.executor = std::make_unique<cagr::Executor>(graph, targets, dims, follow);
            r.held_out = mode == cagr::OptimizerMode::policy ? (targets.size() > 1 ? model : model + ", " + device) : "";
            results.push_back(std::move(r));
          }
          for (int round = 0; round < FLAGS_rounds; ++round)
            for (ModeResult& r : results) {
              r.executor->run(inputs);  // warm-up after the other modes' passes
              r.latency_us = std::min(r.latency_us, median_pass_us(*r.executor, inputs));
            }
          std::fprintf(stderr, "\r%-100s\r", "");
          auto of = [&](cagr::OptimizerMode m) -> const ModeResult* {
            for (const ModeResult& r : results)
              if (r.mode == m) return &r;
            return nullptr;
          };
          const ModeResult *none = of(cagr::OptimizerMode::none), *hints = of(cagr::OptimizerMode::hints),
                           *tune = of(cagr::OptimizerMode::tune), *learned = of(cagr::OptimizerMode::policy);
          char policy_cells[160] = "| - | - | - | - ";
          if (learned)
            std::snprintf(policy_cells, sizeof policy_cells, "| %.1f (%.2f) | %.0f%% | %.0f%% | %.0f%% ", learned->latency_us,
                          learned->optimise_s, 100.0 * tune->latency_us / learned->latency_us,
                          100.0 * learned->optimise_s / tune->optimise_s,
                          100.0 * std::max(0.0, learned->optimise_s - none->optimise_s) / std::max(1e-6, tune->optimise_s - none->optimise_s));
          std::printf("| %s | %s | %s | %.1f (%.2f) | %.1f (%.2f) | %.1f (%.2f) %s| %.2fx | %s |\n", model.c_str(), b.c_str(), where.c_str(),
                      none->latency_us, none->optimise_s, hints->latency_us, hints->optimise_s, tune->latency_us, tune->optimise_s, policy_cells,
                      none->latency_us / tune->latency_us, learned ? learned->held_out.c_str() : "(no samples left)");
          std::fflush(stdout);
          if (csv)
            for (const ModeResult& r : results)
              csv << model << ',' << b << ',' << where << ',' << cagr::optimizer_mode_name(r.mode) << ',' << r.latency_us << ','
                  << r.optimise_s << ",\"" << r.held_out << "\"\n";  // quoted: it names a model and a device
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\noptimizer_bench: %s\n", e.what());
    return 1;
  }
}
