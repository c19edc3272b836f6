// placement.hpp - which (plugin, device, variant) runs each node.
//
// Placement sits behind the PlacementPolicy interface so that the graph rewriter and the learned
// policy can replace the simple cost-hint rule below without touching the executor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph.hpp"
#include "plugin.hpp"
#include "shape_inference.hpp"

namespace cagr {

// One device of one loaded plugin that nodes may be placed on.
struct Target {
  std::shared_ptr<Plugin> plugin;
  int device = 0;
  DeviceInfo info;
  int priority = 0;  // from plugins.xml; breaks ties between equal costs
  std::string label() const { return plugin->name() + ":" + std::to_string(device); }
};

struct NodePlacement {
  int target = -1;            // index into the targets given to place()
  int variant = 0;            // index among the variants the plugin reported
  std::string variant_name;
  double estimated_ns = 0;    // the cost the decision was made on, transfers included
};

struct Placement {
  std::vector<NodePlacement> nodes;  // indexed like graph.nodes()
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  // `shapes`: infer_shapes() at the shapes the plan is compiled for.
  virtual Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) = 0;
};

// Greedy, in topological order: each node goes where its cheapest variant plus the cost of moving its
// inputs there is lowest. A variant's cost is the plugin's estimate, or else a roofline bound from
// its FLOPs and bytes and the device's peak FLOP/s and bandwidth.
class CostHintPlacement : public PlacementPolicy {
 public:
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override;
};

// The cost in ns of one variant on one target (what CostHintPlacement compares).
double variant_cost_ns(const Variant& variant, const DeviceInfo& device);

}  // namespace cagr
