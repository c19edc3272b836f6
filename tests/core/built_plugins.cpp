#include "built_plugins.hpp"

#include "targets.hpp"

namespace cagr::testing {

const Registry& built_plugins() {
  static const Registry r = [] {
    DiscoveryOptions o;
    o.paths = {CAGR_TEST_PLUGIN_DIR};
    o.use_env = false;
    o.use_default_folders = false;
    o.probe = false;
    return Registry::discover(o);
  }();
  return r;
}

std::vector<Target> built_targets() { return targets_of(built_plugins()); }

std::vector<Target> built_targets(const std::string& plugin) {
  std::vector<Target> out;
  for (const Target& t : built_targets())
    if (t.plugin->name() == plugin) out.push_back(t);
  return out;
}

}  // namespace cagr::testing
