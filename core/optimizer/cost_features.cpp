// cost_features.cpp - the learned policy's view of a choice (cost_features.hpp).
#include "cost_features.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "placement.hpp"

namespace cagr {
namespace {

// Ops grouped by what bounds them, so that a policy trained on one model's ops carries to another's.
// A class's own slope on the roofline bound lets the fit learn, say, that gathers reach a smaller
// share of the bandwidth than GEMMs reach of the peak.
const char* const kOpClasses[] = {"gather", "gemm", "interaction", "elementwise", "movement", "other"};
constexpr size_t kNumClasses = sizeof kOpClasses / sizeof kOpClasses[0];

size_t op_class(const char* op) {
  auto is = [&](std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return std::strcmp(op, n) == 0; });
  };
  if (is({"embedding_bag", "dlrm_embedding_interaction", "take", "gather", "gather_elements"})) return 0;
  if (is({"linear", "mlp", "cross_layer", "matmul"})) return 1;
  if (is({"dlrm_interaction", "dot_interaction", "fm_interaction"})) return 2;
  if (is({"elementwise", "relu", "sigmoid", "add", "mul", "cast"})) return 3;
  if (is({"concat", "reshape", "transpose", "slice", "expand", "fixed_bag_offsets", "table_offsets"})) return 4;
  return 5;
}

double log1(double x) { return std::log1p(std::max(x, 0.0)); }

// Rows of the op's first output: the batch, for the ops of recommendation models.
double batch_of(const cagr_op_desc& op) {
  if (op.num_outputs == 0 || op.outputs[0]->rank == 0) return 1;
  return static_cast<double>(std::max<int64_t>(op.outputs[0]->dims[0], 1));
}

}  // namespace

const std::vector<std::string>& cost_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n{"bias",          "log_hint_ns",     "log_roofline_ns",    "log_flops", "log_bytes",
                               "log_density",   "log_peak_gflops", "log_bandwidth_gbps", "log_balance", "offloaded",
                               "log_batch",     "log_compute_units", "later_variant", "tf32_variant", "bf16_variant",
                               "int8_variant"};
    for (const char* c : kOpClasses) n.push_back(std::string("class_") + c);
    for (const char* c : kOpClasses) n.push_back(std::string("class_") + c + "_x_log_roofline_ns");
    return n;
  }();
  return names;
}

std::vector<double> cost_features(const cagr_op_desc& op, const Variant& variant, const DeviceInfo& device) {
  Variant bound = variant;  // the roofline alone, without the plugin's estimate
  bound.estimated_ns = 0;
  const double roofline = log1(variant_cost_ns(bound, device));
  const double peak = std::max(device.peak_gflops_f32, 1.0), bandwidth = std::max(device.memory_bandwidth_gbps, 1.0);
  std::vector<double> f{1.0,
                        log1(variant_cost_ns(variant, device)),
                        roofline,
                        log1(variant.flops),
                        log1(variant.bytes),
                        std::log((variant.flops + 1) / (variant.bytes + 1)),
                        std::log(peak),
                        std::log(bandwidth),
                        std::log(peak / bandwidth),
                        device.host_accessible ? 0.0 : 1.0,
                        std::log(batch_of(op)),
                        log1(device.compute_units),
                        variant.index > 0 ? 1.0 : 0.0,
                        variant.math_precision == CAGR_MATH_TF32 ? 1.0 : 0.0,
                        variant.math_precision == CAGR_MATH_BF16 ? 1.0 : 0.0,
                        variant.math_precision == CAGR_MATH_INT8 ? 1.0 : 0.0};
  const size_t c = op_class(op.op_type);
  for (size_t k = 0; k < kNumClasses; ++k) f.push_back(k == c ? 1.0 : 0.0);
  for (size_t k = 0; k < kNumClasses; ++k) f.push_back(k == c ? roofline : 0.0);
  return f;
}

}  // namespace cagr
