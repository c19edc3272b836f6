// cost_samples.cpp - measuring the policy's training samples and their file (cost_samples.hpp).
#include "cost_samples.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cost_features.hpp"
#include "executor.hpp"
#include "node_desc.hpp"

namespace cagr {
namespace {

constexpr int kFixedColumns = 6;  // device, model, node, op, variant, microseconds

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
  return fields;
}

std::string header() {
  std::string h = "device\tmodel\tnode\top\tvariant\tmicroseconds";
  for (const std::string& f : cost_feature_names()) h += "\t" + f;
  return h;
}

}  // namespace

double finite_number(const std::string& text, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v)) throw std::runtime_error(where + ": '" + text + "' is not a finite number");
  return v;
}

void append_cost_samples(const std::filesystem::path& file, const std::vector<CostSample>& samples) {
  const bool fresh = !std::filesystem::exists(file) || std::filesystem::file_size(file) == 0;
  std::ofstream out(file, std::ios::app);
  if (!out) throw std::runtime_error(file.string() + ": cannot write cost samples");
  if (fresh) out << header() << '\n';
  out.precision(9);
  for (const CostSample& s : samples) {
    out << s.device << '\t' << s.model << '\t' << s.node << '\t' << s.op << '\t' << s.variant << '\t' << s.microseconds;
    for (double f : s.features) out << '\t' << f;
    out << '\n';
  }
  if (!out) throw std::runtime_error(file.string() + ": cannot write cost samples");
}

std::vector<CostSample> read_cost_samples(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": no such cost sample file");
  std::string line;
  if (!std::getline(in, line) || line != header())
    throw std::runtime_error(file.string() + ":1: not a cost sample file of this build (the header must be: " + header() + ")");
  const size_t columns = kFixedColumns + cost_feature_names().size();
  std::vector<CostSample> samples;
  for (int number = 2; std::getline(in, line); ++number) {
    const std::string where = file.string() + ":" + std::to_string(number);
    const std::vector<std::string> f = split_tabs(line);
    if (f.size() != columns)
      throw std::runtime_error(where + ": " + std::to_string(f.size()) + " columns, the header has " + std::to_string(columns));
    CostSample s{f[0], f[1], f[2], f[3], f[4], {}, finite_number(f[5], where)};
    if (!(s.microseconds > 0)) throw std::runtime_error(where + ": a time must be > 0 us");
    for (size_t k = kFixedColumns; k < columns; ++k) s.features.push_back(finite_number(f[k], where));
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<CostSample> measure_cost_samples(const Graph& graph, const std::string& model, const std::vector<Target>& targets,
                                             const std::vector<HostTensor>& inputs, int repetitions,
                                             const std::function<void(const std::string&)>& progress) {
  std::vector<Dims> dims;
  for (const HostTensor& t : inputs) dims.push_back(t.dims);
  std::vector<CostSample> samples;
  for (const Target& target : targets) {
    std::vector<std::string> seen_fusions;
    for (const std::vector<std::string>& rules : {all_fusion_rules(), std::vector<std::string>{}}) {
      CostHintPlacement hints(rules);
      std::unique_ptr<Executor> exec;
      try {
        exec = std::make_unique<Executor>(graph, std::vector<Target>{target}, dims, hints);
      } catch (const std::exception&) {
        continue;  // the device cannot run every node of the model: no samples from it
      }
      if (rules.empty() && exec->fusions() == seen_fusions) continue;  // nothing fused: the same graph again
      seen_fusions = exec->fusions();
      Executor::TuneOptions options{repetitions, nullptr, nullptr, true};
      if (progress)
        options.progress = [&](const std::string& step) {
          progress(model + " on " + target.label() + (rules.empty() ? ", unfused: " : ": ") + step);
        };
      const Executor::Tuning tuning = exec->tune(inputs, options);
      const std::vector<TensorShape> shapes = infer_shapes(exec->graph(), dims);
      for (const Executor::NodeTiming& timing : tuning.timings) {
        const Node& node = exec->graph().nodes()[static_cast<size_t>(timing.node)];
        abi::OwnedOpDesc desc = describe_node(node, shapes);
        for (const auto& [variant, us] : timing.variants) {
          if (!(us > 0)) continue;  // below the clock's resolution: says nothing
          samples.push_back(CostSample{target.label() + " (" + target.info.name + ")", model, node.name, node.op, variant.name,
                                       cost_features(desc.desc(), variant, target.info), us});
        }
      }
    }
  }
  return samples;
}

}  // namespace cagr
