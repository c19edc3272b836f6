// learned_policy.cpp - the reward model's fit, file and use (learned_policy.hpp).
#include "learned_policy.hpp"

#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

#include "cost_features.hpp"
#include "plugin_files.hpp"

#ifndef CAGR_DEFAULT_POLICY
#error "CAGR_DEFAULT_POLICY (the shipped policy file) is set by core/CMakeLists.txt"
#endif

namespace cagr {
namespace {

constexpr int kPolicyVersion = 1;
// Solves a x = b for symmetric positive definite a (n x n, row-major) by Cholesky; the ridge term
// keeps a positive definite even where a feature never varies in the samples.
std::vector<double> solve_spd(std::vector<double> a, std::vector<double> b, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) throw std::runtime_error("policy fit: the normal equations are singular (raise the ridge term)");
    a[j * n + j] = std::sqrt(d);
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L y = b
    for (size_t k = 0; k < i; ++k) b[i] -= a[i * n + k] * b[k];
    b[i] /= a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = y
    for (size_t k = i + 1; k < n; ++k) b[i] -= a[k * n + i] * b[k];
    b[i] /= a[i * n + i];
  }
  return b;
}

size_t roofline_feature() {
  static const size_t index = static_cast<size_t>(
      std::find(cost_feature_names().begin(), cost_feature_names().end(), "log_roofline_ns") - cost_feature_names().begin());
  return index;
}

[[noreturn]] void bad_policy(const std::filesystem::path& file, const std::string& what) {
  throw std::runtime_error(file.string() + ": " + what);
}

}  // namespace

LearnedPolicy LearnedPolicy::fit(const std::vector<CostSample>& samples, double ridge) {
  if (samples.empty()) throw std::invalid_argument("policy fit: no samples");
  const size_t base = cost_feature_names().size();
  const size_t roofline = roofline_feature();
  std::map<std::string, size_t> variant_column;  // each variant's offset column; its slope's is next
  for (const CostSample& s : samples) variant_column.emplace(s.variant, 0);
  size_t p = base;
  for (auto& [name, column] : variant_column) {
    column = p;
    p += 2;
  }
  std::vector<double> gram(p * p, 0.0), rhs(p, 0.0), x(p);
  std::map<std::string, std::set<std::string>> models_by_device;
  for (const CostSample& s : samples) {
    if (s.features.size() != base) throw std::invalid_argument("policy fit: a sample of " + s.op + " has the wrong number of features");
    std::fill(x.begin(), x.end(), 0.0);
    std::copy(s.features.begin(), s.features.end(), x.begin());
    const size_t v = variant_column.at(s.variant);
    x[v] = 1.0;
    x[v + 1] = s.features[roofline];
    const double y = std::log(s.microseconds);
    for (size_t i = 0; i < p; ++i) {
      if (x[i] == 0.0) continue;
      rhs[i] += x[i] * y;
      for (size_t j = 0; j < p; ++j) gram[i * p + j] += x[i] * x[j];
    }
    models_by_device[s.device].insert(s.model);
  }
  for (size_t i = 1; i < p; ++i) gram[i * p + i] += ridge * static_cast<double>(samples.size());  // not the bias
  const std::vector<double> w = solve_spd(std::move(gram), std::move(rhs), p);
  LearnedPolicy policy;
  policy.weights_.assign(w.begin(), w.begin() + static_cast<long>(base));
  for (const auto& [name, column] : variant_column) policy.variants_[name] = VariantWeights{w[column], w[column + 1]};
  policy.trained_on_ = std::to_string(samples.size()) + " samples:";
  for (const auto& [device, models] : models_by_device) {
    policy.trained_on_ += " " + device + " x {";
    for (const std::string& m : models) policy.trained_on_ += (m == *models.begin() ? "" : ", ") + m;
    policy.trained_on_ += "};";
  }
  policy.trained_on_.pop_back();
  return policy;
}

double LearnedPolicy::predict_us(const std::vector<double>& features, const std::string& variant) const {
  double log_us = 0;
  for (size_t i = 0; i < weights_.size(); ++i) log_us += weights_[i] * features.at(i);
  if (auto it = variants_.find(variant); it != variants_.end())
    log_us += it->second.offset + it->second.slope * features.at(roofline_feature());
  return std::exp(log_us);
}

void LearnedPolicy::save(const std::filesystem::path& file) const {
  tinyxml2::XMLDocument doc;
  tinyxml2::XMLElement* root = doc.NewElement("policy");
  doc.InsertEndChild(root);
  root->SetAttribute("version", kPolicyVersion);
  root->SetAttribute("model", "ridge regression of log(node microseconds) on cost_features");
  root->SetAttribute("trained_on", trained_on_.c_str());
  for (size_t i = 0; i < weights_.size(); ++i) {
    tinyxml2::XMLElement* w = root->InsertNewChildElement("weight");
    w->SetAttribute("feature", cost_feature_names()[i].c_str());
    char value[32];
    std::snprintf(value, sizeof value, "%.17g", weights_[i]);
    w->SetAttribute("value", value);
  }
  for (const auto& [name, weights] : variants_) {
    tinyxml2::XMLElement* v = root->InsertNewChildElement("variant");
    v->SetAttribute("name", name.c_str());
    char offset[32], slope[32];
    std::snprintf(offset, sizeof offset, "%.17g", weights.offset);
    std::snprintf(slope, sizeof slope, "%.17g", weights.slope);
    v->SetAttribute("offset", offset);
    v->SetAttribute("slope", slope);
  }
  if (doc.SaveFile(file.string().c_str()) != tinyxml2::XML_SUCCESS) bad_policy(file, "cannot write the policy");
}

LearnedPolicy LearnedPolicy::load(const std::filesystem::path& file) {
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(file.string().c_str()) != tinyxml2::XML_SUCCESS)
    bad_policy(file, doc.ErrorID() == tinyxml2::XML_ERROR_FILE_NOT_FOUND ? "no such policy file" : "not a policy file: " + std::string(doc.ErrorStr()));
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string(root->Name()) != "policy") bad_policy(file, "not a policy file (the root element must be <policy>)");
  if (root->IntAttribute("version", -1) != kPolicyVersion)
    bad_policy(file, "policy version " + std::string(root->Attribute("version") ? root->Attribute("version") : "(none)") +
                         ", this build reads version " + std::to_string(kPolicyVersion));
  std::map<std::string, double> by_name;
  LearnedPolicy policy;
  for (const tinyxml2::XMLElement* e = root->FirstChildElement(); e; e = e->NextSiblingElement()) {
    const std::string where = file.string() + ":" + std::to_string(e->GetLineNum());
    if (std::string(e->Name()) == "variant") {
      const char *name = e->Attribute("name"), *offset = e->Attribute("offset"), *slope = e->Attribute("slope");
      if (name == nullptr || offset == nullptr || slope == nullptr)
        bad_policy(file, "line " + std::to_string(e->GetLineNum()) + ": expected <variant name=\"...\" offset=\"...\" slope=\"...\"/>");
      policy.variants_[name] = VariantWeights{finite_number(offset, where), finite_number(slope, where)};
      continue;
    }
    const char* feature = e->Attribute("feature");
    const char* value = e->Attribute("value");
    if (std::string(e->Name()) != "weight" || feature == nullptr || value == nullptr)
      bad_policy(file, "line " + std::to_string(e->GetLineNum()) + ": expected <weight feature=\"...\" value=\"...\"/>");
    by_name[feature] = finite_number(value, where);
  }
  for (const std::string& name : cost_feature_names()) {
    auto it = by_name.find(name);
    if (it == by_name.end()) bad_policy(file, "no weight for feature '" + name + "' (a policy of another build: train it again)");
    policy.weights_.push_back(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty()) bad_policy(file, "a weight for feature '" + by_name.begin()->first + "', which this build does not compute");
  policy.trained_on_ = root->Attribute("trained_on") ? root->Attribute("trained_on") : "";
  return policy;
}

std::filesystem::path LearnedPolicy::default_file() {
  const char* env = std::getenv("CAGR_POLICY");
  if (env != nullptr && *env != '\0') return env;
  const std::string installed = installed_data_file("cagr_policy.xml");  // beside an installed library or program
  return installed.empty() ? std::filesystem::path(CAGR_DEFAULT_POLICY) : std::filesystem::path(installed);
}

Placement PolicyPlacement::place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) {
  return greedy_placement(graph, shapes, targets, [&](const cagr_op_desc& op, const Variant& v, const Target& t) {
    return 1000.0 * policy_.predict_us(cost_features(op, v, t.info), v.name);
  });
}

}  // namespace cagr
