// cagr-policy - measures the learned policy's training samples, trains the policy, and checks it
// against samples it was not trained on (docs/OPTIMISER.md).
//
//   cagr-policy collect --models=dlrm_avazu_sample,deepfm_avazu --batches=64,2048 --out=samples.tsv
//   cagr-policy train --samples=policy/samples/a.tsv,policy/samples/b.tsv --out=policy/cagr_policy.xml
//   cagr-policy check --samples=... --policy=policy.xml   (or --leave_one_out: train on the rest)
#include <gflags/gflags.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "command_line.hpp"
#include "cost_samples.hpp"
#include "inputs.hpp"
#include "learned_policy.hpp"
#include "model_loading.hpp"
#include "model_zoo.hpp"
#include "registry.hpp"
#include "targets.hpp"

DEFINE_string(models, "dlrm_avazu_sample,dlrm_kaggle_small,deepfm_avazu,ngcf,two_stage_filter,two_stage_ranker",
              "collect: zoo model names or model files (.xml, .onnx)");
DEFINE_string(batches, "64,2048", "collect: batch sizes");
DEFINE_string(plugins, "auto", "collect: auto, plugin names (cpu,opencl) or plugin files");
DEFINE_int32(repetitions, 5, "collect: passes per timing (the median counts)");
DEFINE_string(precision, "f32", "collect: the loosest arithmetic allowed (f32, tf32, bf16, int8), so that such variants are timed too");
DEFINE_string(out, "", "collect: the sample file to extend; train: the policy file to write");
DEFINE_string(samples, "", "train, check: sample files, comma-separated");
DEFINE_string(policy, "", "check: the policy file (default: the shipped one)");
DEFINE_bool(leave_one_out, false, "check: score each (device, model) with a policy trained without that device and that model");
DEFINE_string(exclude_device, "", "train: leave out samples whose device contains this text");
DEFINE_string(exclude_model, "", "train: leave out samples of this model");
DEFINE_double(ridge, cagr::LearnedPolicy::kDefaultRidge, "train, check: the ridge term (times the sample count)");

namespace {

std::vector<cagr::CostSample> read_all(const std::string& files) {
  std::vector<cagr::CostSample> all;
  for (const std::string& f : cagr::cli::comma_list(files)) {
    std::vector<cagr::CostSample> s = cagr::read_cost_samples(f);
    all.insert(all.end(), s.begin(), s.end());
  }
  if (all.empty()) throw std::invalid_argument("--samples: no samples (give sample files from 'cagr-policy collect')");
  return all;
}

int collect() {
  if (FLAGS_out.empty()) throw std::invalid_argument("collect needs --out=FILE");
  cagr::DiscoveryOptions discovery;
  discovery.selection = FLAGS_plugins;
  const cagr::Registry registry = cagr::Registry::discover(discovery);
  const std::vector<cagr::Target> targets = cagr::targets_of(registry);
  if (targets.empty()) throw std::runtime_error("no device: no plugin loaded, or none has a device");
  for (const std::string& model : cagr::cli::comma_list(FLAGS_models)) {
    const bool file = model.find('.') != std::string::npos;
    cagr::Graph graph = file ? cagr::load_any_model(model) : cagr::zoo::find_model(model).build(1);
    cagr::allow_math_precision(graph, cagr::cli::math_precision("precision", FLAGS_precision));
    for (const std::string& b : cagr::cli::comma_list(FLAGS_batches)) {
      const int64_t batch = std::stoll(b);
      const auto inputs = cagr::run::random_inputs(graph, batch, 1);
      auto progress = [&](const std::string& step) { std::fprintf(stderr, "\r%-110.110s", ("batch " + b + ", " + step).c_str()); };
      const std::vector<cagr::CostSample> samples =
          cagr::measure_cost_samples(graph, model, targets, inputs, FLAGS_repetitions, progress);
      cagr::append_cost_samples(FLAGS_out, samples);
      std::fprintf(stderr, "\r%-110s\r", "");
      std::printf("%s, batch %s: %zu samples\n", model.c_str(), b.c_str(), samples.size());
    }
  }
  return 0;
}

std::vector<cagr::CostSample> without(const std::vector<cagr::CostSample>& samples, const std::string& device, const std::string& model) {
  std::vector<cagr::CostSample> kept;
  for (const cagr::CostSample& s : samples)
    if ((device.empty() || s.device.find(device) == std::string::npos) && (model.empty() || s.model != model)) kept.push_back(s);
  return kept;
}

int train() {
  if (FLAGS_out.empty()) throw std::invalid_argument("train needs --out=FILE");
  const std::vector<cagr::CostSample> samples = without(read_all(FLAGS_samples), FLAGS_exclude_device, FLAGS_exclude_model);
  const cagr::LearnedPolicy policy = cagr::LearnedPolicy::fit(samples, FLAGS_ridge);
  policy.save(FLAGS_out);
  std::printf("%s: trained on %s\n", FLAGS_out.c_str(), policy.trained_on().c_str());
  return 0;
}

// Per (device, model): the median factor between predicted and measured node times, and how often
// the policy names the faster of two variants of one node correctly (what placement acts on).
int check() {
  const std::vector<cagr::CostSample> samples = read_all(FLAGS_samples);
  std::optional<cagr::LearnedPolicy> shared;
  if (!FLAGS_leave_one_out)
    shared = cagr::LearnedPolicy::load(FLAGS_policy.empty() ? cagr::LearnedPolicy::default_file() : std::filesystem::path(FLAGS_policy));
  std::map<std::pair<std::string, std::string>, std::vector<const cagr::CostSample*>> groups;
  for (const cagr::CostSample& s : samples) groups[{s.device, s.model}].push_back(&s);
  std::printf("| device | model | samples | trained on | median error factor | variant pairs ranked right |\n|---|---|---:|---|---:|---:|\n");
  for (const auto& [key, group] : groups) {
    std::optional<cagr::LearnedPolicy> held_out;
    if (FLAGS_leave_one_out) {
      const std::string device = key.first.substr(0, key.first.find(' '));  // "cpu:0": the plugin's device
      const std::vector<cagr::CostSample> rest = without(samples, device, key.second);
      if (rest.empty()) continue;
      held_out = cagr::LearnedPolicy::fit(rest, FLAGS_ridge);
    }
    const cagr::LearnedPolicy& policy = held_out ? *held_out : *shared;
    std::vector<double> factors;
    for (const cagr::CostSample* s : group) factors.push_back(std::exp(std::abs(std::log(policy.predict_us(s->features, s->variant) / s->microseconds))));
    std::nth_element(factors.begin(), factors.begin() + static_cast<long>(factors.size() / 2), factors.end());
    int pairs = 0, right = 0;
    for (size_t i = 0; i < group.size(); ++i)
      for (size_t j = i + 1; j < group.size(); ++j) {
        const cagr::CostSample &a = *group[i], &b = *group[j];
        // Two variants of one node at one batch size.
        if (a.node != b.node || a.variant == b.variant || a.features[10] != b.features[10]) continue;
        ++pairs;
        right += (policy.predict_us(a.features, a.variant) < policy.predict_us(b.features, b.variant)) == (a.microseconds < b.microseconds);
      }
    std::printf("| %s | %s | %zu | %s | %.2fx | %s |\n", key.first.c_str(), key.second.c_str(), group.size(),
                FLAGS_leave_one_out ? "the other devices and models" : "all", factors[factors.size() / 2],
                pairs ? (std::to_string(right) + "/" + std::to_string(pairs)).c_str() : "-");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("cagr-policy collect|train|check [flags]: the learned policy's samples, training and check");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "collect") return collect();
    if (command == "train") return train();
    if (command == "check") return check();
    std::fprintf(stderr, "cagr-policy: give a command: collect, train or check (--help lists the flags)\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-policy: %s\n", e.what());
    return 1;
  }
}
