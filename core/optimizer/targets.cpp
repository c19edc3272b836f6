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

std::vector<std::string> drop_failed_targets(std::vector<Target>& targets) {
  std::vector<std::string> dropped;
  std::vector<Target> kept;
  for (Target& t : targets) {
    const std::string failure = t.plugin->failure();
    if (failure.empty()) kept.push_back(std::move(t));
    else dropped.push_back(t.label() + " left out: plugin " + t.plugin->name() + " (" + t.plugin->path() + ") failed: " + failure);
  }
  targets = std::move(kept);
  return dropped;
}

}  // namespace cagr
