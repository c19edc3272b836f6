#include "stream_schedule.hpp"

#include <algorithm>
#include <stdexcept>

namespace cagr {

StreamSchedule schedule_streams(const Graph& graph, const std::vector<int>& order, int max_lanes) {
  if (max_lanes < 1) throw std::invalid_argument("schedule_streams: max_lanes must be at least 1");
  std::vector<int> producer(static_cast<size_t>(graph.num_tensors()), -1);
  for (size_t n = 0; n < graph.nodes().size(); ++n)
    for (int out : graph.nodes()[n].outputs) producer[static_cast<size_t>(out)] = static_cast<int>(n);

  StreamSchedule s;
  s.nodes.resize(graph.nodes().size());
  s.signals.assign(graph.nodes().size(), false);
  s.lanes = 0;
  std::vector<int> latest;  // per lane: the node queued on it last
  for (int n : order) {
    std::vector<int> producers;
    for (int in : graph.nodes()[static_cast<size_t>(n)].inputs) {
      const int p = producer[static_cast<size_t>(in)];
      if (p >= 0 && std::find(producers.begin(), producers.end(), p) == producers.end()) producers.push_back(p);
    }
    int lane = -1;
    for (int p : producers) {
      const int l = s.nodes[static_cast<size_t>(p)].lane;
      if (latest[static_cast<size_t>(l)] == p) {
        lane = l;
        break;
      }
    }
    if (lane < 0 && s.lanes < max_lanes) {
      lane = s.lanes++;
      latest.push_back(-1);
    }
    if (lane < 0) lane = producers.empty() ? 0 : s.nodes[static_cast<size_t>(producers.front())].lane;

    NodeLane& placed = s.nodes[static_cast<size_t>(n)];
    placed.lane = lane;
    for (int p : producers) {
      if (s.nodes[static_cast<size_t>(p)].lane == lane) continue;
      placed.waits_for.push_back(p);
      s.signals[static_cast<size_t>(p)] = true;
    }
    latest[static_cast<size_t>(lane)] = n;
  }
  s.lanes = std::max(s.lanes, 1);
  return s;
}

}  // namespace cagr
