// built_plugins.hpp - the plugins this build made (its plugins folder), loaded once per test
// process, and their devices as placement targets.
#pragma once

#include <string>
#include <vector>

#include "placement.hpp"
#include "registry.hpp"

namespace cagr::testing {

const Registry& built_plugins();
std::vector<Target> built_targets();                          // every device of every loaded plugin
std::vector<Target> built_targets(const std::string& plugin);  // those of one plugin, by name

}  // namespace cagr::testing
