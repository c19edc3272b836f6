// placement.cpp - greedy placement by the plugins' cost hints.
#include "placement.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "node_desc.hpp"

namespace cagr {
namespace {

// Moving a tensor between two devices goes through host memory: a copy out, a synchronisation, a
// copy in. The slower side bounds it: the PCIe link for a device that is not host memory, else the
// devices' own bandwidth.
constexpr double kDefaultLinkGBps = 16.0;     // PCIe 4.0 x16-class staging copy, when nothing is known
constexpr double kTransferOverheadNs = 5000.0;  // the synchronisation between the two streams
constexpr double kDefaultPeakGflops = 50.0;   // conservative figures for devices that report none
constexpr double kDefaultBandwidthGBps = 10.0;
constexpr double kLaunchOverheadNs = 2000.0;  // per node on a device that is not host memory

// How fast a device's memory is reached from host memory.
double reach_gbps(const DeviceInfo& d) {
  if (!d.host_accessible) return kDefaultLinkGBps;
  return d.memory_bandwidth_gbps > 0 ? d.memory_bandwidth_gbps : kDefaultBandwidthGBps;
}

// A graph input, from the caller's memory to a device.
double upload_ns(double bytes, const DeviceInfo& to) { return bytes / reach_gbps(to); }  // bytes / (GB/s) = ns

// A computed tensor, from one device to another.
double transfer_ns(double bytes, const DeviceInfo& from, const DeviceInfo& to) {
  return kTransferOverheadNs + bytes / std::min(reach_gbps(from), reach_gbps(to));
}

}  // namespace

double variant_cost_ns(const Variant& variant, const DeviceInfo& device) {
  double cost = variant.estimated_ns;
  if (cost <= 0) {
    const double peak = device.peak_gflops_f32 > 0 ? device.peak_gflops_f32 : kDefaultPeakGflops;
    const double bw = device.memory_bandwidth_gbps > 0 ? device.memory_bandwidth_gbps : kDefaultBandwidthGBps;
    cost = std::max(variant.flops / peak, variant.bytes / bw);  // FLOP / (GFLOP/s) = ns
  }
  return cost + (device.host_accessible ? 0.0 : kLaunchOverheadNs);
}

Placement greedy_placement(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets,
                           const VariantCost& variant_cost) {
  if (targets.empty()) throw std::runtime_error("no device to place the graph on: no plugin loaded, or none has a device");
  Placement placement;
  placement.nodes.resize(graph.nodes().size());
  std::vector<int> tensor_target(graph.num_tensors(), -1);  // -1: host (graph inputs, constants)

  for (int n : graph.topological_order()) {
    const Node& node = graph.nodes()[static_cast<size_t>(n)];
    const int source = tensor_target[static_cast<size_t>(node.inputs.at(0))];
    if (graph.is_view(n) && source >= 0) {  // a view costs nothing where its input already is
      placement.nodes[static_cast<size_t>(n)] = NodePlacement{source, 0, "view", 0};
      tensor_target[static_cast<size_t>(node.outputs[0])] = source;
      continue;
    }
    abi::OwnedOpDesc desc = describe_node(node, shapes);
    NodePlacement best;
    best.estimated_ns = std::numeric_limits<double>::infinity();
    std::string refusals;
    for (size_t t = 0; t < targets.size(); ++t) {
      const Target& target = targets[t];
      const OpSupport support = ask(target, desc.desc());
      if (!support.supported) {
        refusals += "\n  " + target.label() + ": " + support.reason;
        continue;
      }
      double move = 0;
      for (int in : node.inputs) {
        const TensorInfo& info = graph.tensor(in);
        if (info.is_constant()) continue;  // uploaded once, at compile time
        const int from = tensor_target[static_cast<size_t>(in)];
        const double bytes = static_cast<double>(std::max<int64_t>(element_count(shapes[static_cast<size_t>(in)].dims), 0)) *
                             static_cast<double>(dtype_size(shapes[static_cast<size_t>(in)].dtype));
        if (from == static_cast<int>(t)) continue;
        move += from < 0 ? upload_ns(bytes, target.info) : transfer_ns(bytes, targets[static_cast<size_t>(from)].info, target.info);
      }
      for (const Variant& v : support.variants) {
        const double cost = variant_cost(desc.desc(), v, target) + move;
        const bool better = cost < best.estimated_ns ||
                            (cost == best.estimated_ns && best.target >= 0 &&
                             target.priority > targets[static_cast<size_t>(best.target)].priority);
        if (better) best = NodePlacement{static_cast<int>(t), v.index, v.name, cost, v.math_precision};
      }
    }
    if (best.target < 0)
      throw std::runtime_error("node '" + node.name + "' (" + node.op + "): no loaded plugin can run it:" + refusals);
    placement.nodes[static_cast<size_t>(n)] = best;
    for (int out : node.outputs) tensor_target[static_cast<size_t>(out)] = best.target;
  }
  return placement;
}

Placement CostHintPlacement::place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) {
  return greedy_placement(graph, shapes, targets, [&](const cagr_op_desc&, const Variant& v, const Target& t) {
    return first_variant_only_ && v.index > 0 ? std::numeric_limits<double>::infinity() : variant_cost_ns(v, t.info);
  });
}

PlacedGraph place_graph(Graph graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs, PlacementPolicy& policy) {
  PlacedGraph placed;
  placed.fusion_rules = policy.fusion_rules();
  placed.fused = fuse_for_targets(std::move(graph), targets, example_inputs, &placed.fusions, placed.fusion_rules);
  placed.shapes = infer_shapes(placed.fused, example_inputs);
  placed.placement = policy.place(placed.fused, placed.shapes, targets);
  return placed;
}

}  // namespace cagr
