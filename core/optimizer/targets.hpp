// targets.hpp - every device of every loaded plugin, as placement targets.
#pragma once

#include <vector>

#include "placement.hpp"
#include "registry.hpp"

namespace cagr {

std::vector<Target> targets_of(const Registry& registry);

}  // namespace cagr
