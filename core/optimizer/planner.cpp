// planner.cpp - cost hints checked by measurement, then (tune) variants by measurement.
#include "planner.hpp"

#include <cstdio>
#include <limits>
#include <memory>
#include <stdexcept>

#include "executor.hpp"

namespace cagr {
namespace {

std::string label_of(const std::vector<Target>& targets) {
  std::string s;
  for (const Target& t : targets) s += (s.empty() ? "" : ", ") + t.label();
  return s;
}

std::string microseconds(double us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f us", us);
  return text;
}

std::vector<Dims> dims_of(const std::vector<HostTensor>& inputs) {
  std::vector<Dims> dims;
  for (const HostTensor& t : inputs) dims.push_back(t.dims);
  return dims;
}

}  // namespace

OptimizerMode optimizer_mode(const std::string& name) {
  if (name == "hints") return OptimizerMode::hints;
  if (name == "tune") return OptimizerMode::tune;
  throw std::invalid_argument("optimizer '" + name + "': the optimizers are hints (cost hints checked by timing them against each device alone) and tune (hints, then every variant timed)");
}

PlannedModel plan_model(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                        const PlannerOptions& options) {
  if (targets.empty()) throw std::runtime_error("no device to place the graph on: no plugin loaded, or none has a device");
  PlannedModel result;
  const std::vector<Dims> dims = dims_of(inputs);
  // The candidates: the hints over every device, and (where there are several) each device alone.
  std::vector<std::vector<Target>> candidates{targets};
  if (targets.size() > 1)
    for (const Target& t : targets) candidates.push_back({t});
  struct Candidate {
    std::string what;
    std::unique_ptr<Executor> executor;
    double us = std::numeric_limits<double>::infinity();
  };
  std::vector<Candidate> compiled;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const std::string what = c == 0 ? "cost hints over " + label_of(candidates[c]) : label_of(candidates[c]) + " alone";
    try {
      CostHintPlacement hints;
      compiled.push_back(Candidate{what, std::make_unique<Executor>(graph, candidates[c], dims, hints)});
    } catch (const std::exception& e) {  // a device alone that cannot run every node is no candidate
      if (c == 0) throw;
      result.report.push_back(what + ": not a candidate (" + std::string(e.what()) + ")");
    }
  }
  // Each candidate's fastest pass over three rounds of passes, measured in turns: on a shared
  // machine, load from another process only ever adds time (and the CPU plugin's threads, waiting
  // at barriers for a descheduled worker, add a lot), so the fastest pass is the one that says most
  // about the candidate. One candidate needs no measuring.
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds && compiled.size() > 1; ++round)
    for (size_t c = 0; c < compiled.size(); ++c) {
      if (options.progress)
        options.progress("planning: round " + std::to_string(round + 1) + "/" + std::to_string(kRounds) + ", " + compiled[c].what);
      compiled[c].us = std::min(compiled[c].us, compiled[c].executor->measure(inputs, options.repetitions).fastest);
    }
  const Candidate* best = &compiled.front();
  for (const Candidate& c : compiled) {
    if (compiled.size() > 1) result.report.push_back(c.what + ": " + microseconds(c.us));
    if (c.us < best->us) best = &c;
  }
  if (compiled.size() > 1) result.report.push_back("chosen: " + best->what);
  const Executor& e = *best->executor;
  result.plan = make_plan(graph, e.graph(), e.fusions(), e.placement(), e.targets(), "hints");
  compiled.clear();
  if (options.mode == OptimizerMode::tune) {
    PlannedPlacement planned(result.plan);
    Executor exec(graph, targets, dims, planned);
    for (std::string& line : exec.tune(inputs, options.repetitions, options.progress, options.cache))
      result.report.push_back(std::move(line));
    result.plan = make_plan(graph, exec.graph(), exec.fusions(), exec.placement(), exec.targets(), "tune");
  }
  return result;
}

}  // namespace cagr
