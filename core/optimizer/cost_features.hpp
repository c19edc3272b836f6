// cost_features.hpp - what the learned policy knows about one choice: a variant of a node on a
// device, as numbers that mean the same on every device and model (docs/OPTIMISER.md). The node's
// op class, FLOPs, bytes and operator density (FLOPs per byte), the plugin's own estimate and the
// roofline bound, the precision the variant computes in (TF32, bf16, int8: what the session allowed); the device's peak FLOP/s, bandwidth and their ratio, whether it pays a launch
// over a link; and the batch. Sizes enter as logarithms: costs span six orders of magnitude and
// grow as products of them.
#pragma once

#include <string>
#include <vector>

#include "plugin.hpp"

namespace cagr {

// The features' names, in the order cost_features() gives them (the policy file names each weight).
const std::vector<std::string>& cost_feature_names();

// The features of running `variant` (as the plugin described it for `op`) on `device`.
std::vector<double> cost_features(const cagr_op_desc& op, const Variant& variant, const DeviceInfo& device);

}  // namespace cagr
