// targets.hpp - every device of every loaded plugin, as placement targets.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugin.hpp"
#include "registry.hpp"

namespace cagr {

// One device of one loaded plugin that nodes may be placed on.
struct Target {
  std::shared_ptr<Plugin> plugin;
  int device = 0;
  DeviceInfo info;
  int priority = 0;  // from plugins.xml; breaks ties between equal costs
  std::string label() const { return plugin->name() + ":" + std::to_string(device); }
};

// What `target` says about running `op`. A failing op_query (an error status; a plugin run isolated
// that crashed or hung, isolated_plugin.hpp) is that target's refusal, the error its reason: the op
// then goes to another device, or the refusal is shown with the others'.
OpSupport ask(const Target& target, const cagr_op_desc& op);

// Every device of every plugin in `registry`.
std::vector<Target> targets_of(const Registry& registry);

// Leaves out of `targets` the devices of every plugin that can no longer be called (an isolated
// plugin whose worker crashed or hung, isolated_plugin.hpp), so that compiling again places their
// nodes on the other devices. Returns what was left out, one line each naming the device, the
// plugin, its file and the failure; empty: nothing failed.
std::vector<std::string> drop_failed_targets(std::vector<Target>& targets);

}  // namespace cagr
