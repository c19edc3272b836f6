// plan.hpp - an optimisation plan as a file: which fusions were applied and where each node runs
// (plugin, device, variant), keyed by the model's structure and the devices it was made on, so a
// later run (or another machine) loads the decisions instead of measuring again (docs/PLANS.md).
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "pipeline_schedule.hpp"
#include "placement.hpp"

namespace cagr {

class Executor;

struct PlannedNode {
  std::string node, op;           // as in the fused graph
  std::string plugin;             // plugin name ("cpu", "cuda", ...)
  int device = 0;                 // device index within the plugin
  std::string device_name;        // the device's own name, to recognise it on another machine
  std::string variant;            // variant name ("view" for a reshape that runs as a view)
  cagr_math_precision precision = CAGR_MATH_F32;  // what that variant computes in (as its plugin said)
};

// A pipeline stage as saved: its device, its nodes (the first and last by name, and how many) and
// its cost model (pipeline_schedule.hpp).
struct PlannedStage {
  std::string device;             // as in Plan::devices: "cpu:0 (AMD EPYC 7B13)"
  std::string first, last;        // node names
  int nodes = 0;
  double fixed_us = 0, per_row_us = 0;
};

// The pipeline schedule (docs/PIPELINE_SCHEDULE.md); sub_batches 0: the plan runs unpipelined.
struct PlannedPipeline {
  int sub_batches = 0;
  std::string decided_by;         // "measured", "hints", "given"
  std::vector<PlannedStage> stages;
};

struct Plan {
  std::string model_key;               // model_key() of the graph as loaded (before fusion)
  std::string decided_by;              // "none", "hints", "policy" or "tune"
  std::vector<std::string> fusion_rules = all_fusion_rules();  // the rules applied (fusion.hpp)
  // The loosest arithmetic the session allowed every node (Node::math_precision); a loaded plan
  // allows the same, so that its variants are offered again.
  cagr_math_precision math_precision = CAGR_MATH_F32;
  // The embedding tables' dtype the session asked for (Node::table_dtype, table_precision.hpp); a
  // loaded plan asks the same, so that its nodes see the tables it was made with. f32: none asked.
  cagr_dtype table_dtype = CAGR_DTYPE_F32;
  std::vector<std::string> devices;    // "cpu:0 (AMD EPYC 7B13)" per target it was made for
  std::vector<std::string> fusions;    // one line per fused chain
  std::vector<PlannedNode> nodes;      // every node of the fused graph, in its order
  PlannedPipeline pipeline;            // absent from plans written before pipelines: not pipelined
};

// A hash of the graph's structure (node names, ops, attributes, wiring, dtypes and dims of every
// tensor; not the weights' values): a plan fits any model with this key.
std::string model_key(const Graph& graph);

// The plan that `compiled` (made from `loaded`) runs: its fusion rules, fusions and placement, and
// `pipeline` where it runs pipelined.
Plan make_plan(const Graph& loaded, const Executor& compiled, const std::string& decided_by, const PipelineSchedule* pipeline = nullptr);
// The same for a placement that was never compiled: `fused` (`loaded` rewritten by `fusion_rules`,
// `fusions` one line per fused chain) placed on `targets` as `placement` says.
Plan make_plan(const Graph& loaded, const Graph& fused, const Placement& placement, const std::vector<Target>& targets,
               const std::vector<std::string>& fusion_rules, const std::vector<std::string>& fusions, const std::string& decided_by,
               const PipelineSchedule* pipeline = nullptr);

// Writes / reads a plan file (XML). load_plan throws std::runtime_error naming the file and what
// is wrong (not a plan, an unknown element or attribute, a missing field).
void save_plan(const Plan& plan, const std::string& path);
Plan load_plan(const std::string& path);

// Throws std::runtime_error when `plan` was made for another model than `graph`.
void check_plan_fits(const Plan& plan, const Graph& graph, const std::string& plan_path);

// Places every node where the plan says, without measuring; a node whose plugin, device or variant
// is not here (or that the plan does not list) goes where cost hints put it, and warnings() says
// what moved: one summary line, then one line per node.
class PlannedPlacement : public PlacementPolicy {
 public:
  explicit PlannedPlacement(Plan plan) : plan_(std::move(plan)) {}
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override;
  const std::vector<std::string>& warnings() const { return warnings_; }
  std::vector<std::string> fusion_rules() const override { return plan_.fusion_rules; }

 private:
  Plan plan_;
  std::vector<std::string> warnings_;
};

}  // namespace cagr
