// stream_schedule.hpp - which of its device's streams ("lanes") each node is queued on, so that
// independent branches of a graph run at the same time: DLRM's embedding lookups (bound by memory
// latency, few warps) beside its bottom MLP (GEMMs), NGCF's per-layer branches. Work on one lane
// runs in order; a node that reads a tensor made on another lane waits for that producer's event.
#pragma once

#include <vector>

#include "graph.hpp"

namespace cagr {

struct NodeLane {
  int lane = 0;
  std::vector<int> waits_for;  // producer nodes on other lanes this node must wait for
};

struct StreamSchedule {
  int lanes = 1;
  std::vector<NodeLane> nodes;  // per node id
  std::vector<bool> signals;    // per node id: some node on another lane waits for it (record an event)
};

// Walks `order` (topological): a node continues the lane of a producer whose lane it would extend
// (the producer is that lane's latest node); a node with no such producer - a graph's first
// layers, a second reader of a tensor - opens a new lane while fewer than `max_lanes` are open,
// else joins its first producer's lane (or lane 0). With max_lanes 1 everything is one lane.
StreamSchedule schedule_streams(const Graph& graph, const std::vector<int>& order, int max_lanes);

}  // namespace cagr
