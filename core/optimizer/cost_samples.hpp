// cost_samples.hpp - the learned policy's training data: node timings on devices, with the
// features of each choice (cost_features.hpp), measured by the tuner and kept as a TSV file so that
// samples from several machines (this one, the GPU machine) train one policy.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"
#include "targets.hpp"

namespace cagr {

// One node's measured time for one variant on one device, and where it was measured.
struct CostSample {
  std::string device;  // Target::label() and the device's name: "cpu:0 (AMD EPYC 7B13)"
  std::string model;   // the model's name
  std::string node, op, variant;
  std::vector<double> features;  // cost_features(), cost_feature_names() order
  double microseconds = 0;
};

// Samples as a tab-separated file with a header naming the columns (device, model, node, op, variant,
// microseconds, then the features). append_cost_samples writes the header to a new file;
// read_cost_samples throws std::runtime_error naming the file and line of a malformed row or a
// header whose features are not this build's.
void append_cost_samples(const std::filesystem::path& file, const std::vector<CostSample>& samples);
std::vector<CostSample> read_cost_samples(const std::filesystem::path& file);

// A number that is the whole of `text` and finite, else std::runtime_error naming `where`.
double finite_number(const std::string& text, const std::string& where);

// Every node of `graph` timed in whole passes over `inputs` on each target alone, with every
// variant its plugin offers, fused by every rule and by none (so that both the fused ops and the
// chains they replace are seen). `model` names the samples' model.
std::vector<CostSample> measure_cost_samples(const Graph& graph, const std::string& model, const std::vector<Target>& targets,
                                             const std::vector<HostTensor>& inputs, int repetitions,
                                             const std::function<void(const std::string&)>& progress);

}  // namespace cagr
