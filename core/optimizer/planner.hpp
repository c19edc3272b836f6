// planner.hpp - (graph, targets, inputs, options) -> Plan. The plugins' cost hints propose a
// placement, and the planner measures it against every device alone, so a device whose hints are
// wrong (peaks measured on a busy machine, an optimistic plugin estimate) cannot pull the model onto
// itself unnoticed; in `tune` mode every node's variants are then timed in whole passes
// (Executor::tune). The executor runs the plan it returns (PlannedPlacement).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"
#include "measurement_cache.hpp"
#include "placement.hpp"
#include "plan.hpp"

namespace cagr {

enum class OptimizerMode {
  hints,  // cost hints, checked by timing them against each device alone (a few passes each)
  tune,   // hints, then every node's variants timed on the inputs
};

// "hints" or "tune"; throws std::invalid_argument naming the modes for anything else.
OptimizerMode optimizer_mode(const std::string& name);

struct PlannerOptions {
  OptimizerMode mode = OptimizerMode::hints;
  int repetitions = 5;                                 // passes per measurement (the median counts)
  std::function<void(const std::string&)> progress;    // one line per step; may be empty
  MeasurementCache* cache = nullptr;                   // tune: node timings looked up and kept there
};

struct PlannedModel {
  Plan plan;
  std::vector<std::string> report;  // a line per candidate placement (its pass time), then per tuned node
};

// `inputs`: real (or representative) inputs in graph input order; their shapes are the compiled ones.
PlannedModel plan_model(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                        const PlannerOptions& options);

}  // namespace cagr
