// planner.hpp - (graph, targets, inputs, options) -> Plan: which fusion rules apply and where each
// node runs (plugin, device, variant). The executor runs the plan it returns (PlannedPlacement).
// docs/OPTIMISER.md describes the modes and how they compare.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"
#include "learned_policy.hpp"
#include "measurement_cache.hpp"
#include "placement.hpp"
#include "plan.hpp"

namespace cagr {

enum class OptimizerMode {
  none,    // no fusion, every node's default variant, devices by cost hints: the unoptimised baseline
  hints,   // every fusion rule, cost hints, checked by timing them against each device alone
  policy,  // the learned policy ranks every rewrite choice x device set; the best few are timed
  tune,    // exhaustive: every rewrite choice x device set, each node's variants timed, the passes timed
};

// "none", "hints", "policy" or "tune"; throws std::invalid_argument naming the modes for anything else.
OptimizerMode optimizer_mode(const std::string& name);
const char* optimizer_mode_name(OptimizerMode mode);

struct PlannerOptions {
  OptimizerMode mode = OptimizerMode::hints;
  int repetitions = 5;                                 // passes per measurement (the fastest counts)
  std::function<void(const std::string&)> progress;    // one line per step; may be empty
  MeasurementCache* cache = nullptr;                   // tune: node timings looked up and kept there
  const LearnedPolicy* policy = nullptr;               // policy: required
  double time_box_seconds = 0;                         // tune: no new candidate after this long (0: none)
};

struct PlannedModel {
  Plan plan;
  std::vector<std::string> report;  // a line per candidate measured (its pass time), then the choice
};

// `inputs`: real (or representative) inputs in graph input order; their shapes are the compiled ones.
PlannedModel plan_model(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                        const PlannerOptions& options);

// The policy mode's choice of a node's variants to time, from their predicted times (in the order
// the plugin offers them): the predicted best, the second where predicted within 2x of it, and the
// plugin's first variant (what `none` runs) where it is not among them, so that it is replaced only
// where a measurement says so. Fewer than two: none timed, the predicted best kept.
std::vector<size_t> variants_to_time(const std::vector<double>& predicted_us);

}  // namespace cagr
