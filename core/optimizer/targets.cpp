// targets.cpp - turning loaded plugins into placement targets.
#include "targets.hpp"

namespace cagr {

OpSupport ask(const Target& target, const cagr_op_desc& op) {
  try {
    return target.plugin->query(target.device, op);
  } catch (const Error& e) {
    return OpSupport{false, e.what(), {}};
  }
}

std::vector<Target> targets_of(const Registry& registry) {
  std::vector<Target> targets;
  for (const PluginRecord& record : registry.records()) {
    if (record.status != PluginRecord::Status::loaded) continue;
    const int devices = record.plugin->device_count();
    for (int d = 0; d < devices; ++d) targets.push_back(Target{record.plugin, d, record.plugin->device(d), record.priority});
  }
  return targets;
}

}  // namespace cagr
