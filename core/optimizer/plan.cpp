// plan.cpp - plan files (XML, tinyxml2) and placement that follows a plan.
#include "plan.hpp"

#include <tinyxml2.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <variant>

#include "executor.hpp"
#include "math_precision.hpp"
#include "table_precision.hpp"
#include "node_desc.hpp"

namespace cagr {
namespace {

constexpr int kPlanVersion = 1;

// FNV-1a over the canonical text of the structure: stable across runs, machines and compilers.
class KeyHash {
 public:
  void add(const std::string& s) {
    for (unsigned char c : s) h_ = (h_ ^ c) * 1099511628211ull;
    h_ = (h_ ^ 0xffu) * 1099511628211ull;  // a separator, so "ab","c" and "a","bc" differ
  }
  void add(int64_t v) { add(std::to_string(v)); }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h_));
    return text;
  }

 private:
  uint64_t h_ = 1469598103934665603ull;
};

void add_attr(KeyHash& h, const AttrValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) h.add(v);
        else if constexpr (std::is_same_v<T, int64_t>) h.add(v);
        else if constexpr (std::is_same_v<T, double>) h.add(std::to_string(v));
        else
          for (const auto& x : v) h.add(std::to_string(x));
      },
      value);
}

std::string device_label(const Target& t) { return t.label() + " (" + t.info.name + ")"; }

// Fusion rule names as one attribute: comma-separated, empty for none.
std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> names;
  for (size_t start = 0; start < text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    names.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

[[noreturn]] void bad_plan(const std::string& path, const tinyxml2::XMLElement* e, const std::string& what) {
  throw std::runtime_error(path + (e ? ", line " + std::to_string(e->GetLineNum()) : std::string()) + ": " + what);
}

std::string attribute(const std::string& path, const tinyxml2::XMLElement* e, const char* name) {
  const char* v = e->Attribute(name);
  if (v == nullptr) bad_plan(path, e, "<" + std::string(e->Name()) + "> needs the attribute '" + name + "'");
  return v;
}

// Refuses attributes other than `allowed`: a misspelt one would otherwise be ignored.
void only_attributes(const std::string& path, const tinyxml2::XMLElement* e, const std::set<std::string>& allowed) {
  for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a; a = a->Next())
    if (!allowed.count(a->Name())) bad_plan(path, e, "<" + std::string(e->Name()) + "> has no attribute '" + a->Name() + "'");
}

// f32 where absent (plans written before precision was a choice).
cagr_math_precision precision_attribute(const std::string& path, const tinyxml2::XMLElement* e, const char* name) {
  const char* v = e->Attribute(name);
  if (v == nullptr) return CAGR_MATH_F32;
  const auto p = abi::math_precision_named(v);
  if (!p) bad_plan(path, e, "'" + std::string(name) + "' is '" + v + "'; expected " + abi::math_precision_choices());
  return *p;
}

// <pipeline sub_batches="N" decided_by="..."> with a <stage> per stage.
PlannedPipeline read_pipeline(const std::string& path, const tinyxml2::XMLElement* e) {
  only_attributes(path, e, {"sub_batches", "decided_by"});
  PlannedPipeline pipeline;
  pipeline.decided_by = attribute(path, e, "decided_by");
  if (e->QueryIntAttribute("sub_batches", &pipeline.sub_batches) != tinyxml2::XML_SUCCESS || pipeline.sub_batches < 1)
    bad_plan(path, e, "<pipeline> needs a sub_batches count >= 1");
  for (const tinyxml2::XMLElement* s = e->FirstChildElement(); s; s = s->NextSiblingElement()) {
    if (std::string(s->Name()) != "stage") bad_plan(path, s, "unknown element <" + std::string(s->Name()) + "> in <pipeline> (it has <stage>s)");
    only_attributes(path, s, {"device", "first", "last", "nodes", "fixed_us", "per_row_us"});
    PlannedStage stage{attribute(path, s, "device"), attribute(path, s, "first"), attribute(path, s, "last")};
    if (s->QueryIntAttribute("nodes", &stage.nodes) != tinyxml2::XML_SUCCESS || stage.nodes < 1)
      bad_plan(path, s, "<stage> needs a node count >= 1");
    if (s->QueryDoubleAttribute("fixed_us", &stage.fixed_us) != tinyxml2::XML_SUCCESS ||
        s->QueryDoubleAttribute("per_row_us", &stage.per_row_us) != tinyxml2::XML_SUCCESS || !(stage.fixed_us >= 0) ||
        !(stage.per_row_us >= 0))
      bad_plan(path, s, "<stage> needs fixed_us and per_row_us, numbers >= 0");
    pipeline.stages.push_back(std::move(stage));
  }
  if (pipeline.stages.empty()) bad_plan(path, e, "<pipeline> lists no <stage>");
  return pipeline;
}

}  // namespace

std::string model_key(const Graph& graph) {
  KeyHash h;
  for (size_t t = 0; t < graph.num_tensors(); ++t) {
    const TensorInfo& info = graph.tensor(static_cast<int>(t));
    h.add(info.name);
    h.add(static_cast<int64_t>(info.dtype));
    for (int64_t d : info.dims) h.add(d);
    h.add(info.is_constant() ? "constant" : "value");
  }
  for (const Node& n : graph.nodes()) {
    h.add(n.name);
    h.add(n.op);
    for (int i : n.inputs) h.add(i);
    h.add("->");
    for (int o : n.outputs) h.add(o);
    for (const auto& [key, value] : n.attrs) {
      h.add(key);
      add_attr(h, value);
    }
  }
  for (int i : graph.inputs()) h.add(i);
  h.add("outputs");
  for (int o : graph.outputs()) h.add(o);
  return h.hex();
}

Plan make_plan(const Graph& loaded, const Executor& compiled, const std::string& decided_by, const PipelineSchedule* pipeline) {
  return make_plan(loaded, compiled.graph(), compiled.placement(), compiled.targets(), compiled.fusion_rules(), compiled.fusions(),
                   decided_by, pipeline);
}

Plan make_plan(const Graph& loaded, const Graph& fused, const Placement& placement, const std::vector<Target>& targets,
               const std::vector<std::string>& fusion_rules, const std::vector<std::string>& fusions, const std::string& decided_by,
               const PipelineSchedule* pipeline) {
  Plan plan;
  plan.model_key = model_key(loaded);
  plan.decided_by = decided_by;
  plan.fusion_rules = fusion_rules;
  plan.fusions = fusions;
  for (const Node& node : fused.nodes()) {
    plan.math_precision = std::max(plan.math_precision, node.math_precision);
    if (node.table_dtype != CAGR_DTYPE_F32) plan.table_dtype = node.table_dtype;
  }
  for (const Target& t : targets) plan.devices.push_back(device_label(t));
  for (size_t n = 0; n < fused.nodes().size(); ++n) {
    const Node& node = fused.nodes()[n];
    const NodePlacement& p = placement.nodes.at(n);
    const Target& t = targets.at(static_cast<size_t>(p.target));
    plan.nodes.push_back(PlannedNode{node.name, node.op, t.plugin->name(), t.device, t.info.name, p.variant_name, p.math_precision});
  }
  if (pipeline) {
    plan.pipeline.sub_batches = pipeline->sub_batches;
    plan.pipeline.decided_by = pipeline->decided_by;
    for (size_t s = 0; s < pipeline->stages.size(); ++s) {
      const PipelineStage& stage = pipeline->stages[s];
      PlannedStage saved{device_label(targets.at(static_cast<size_t>(stage.target))), fused.nodes().at(static_cast<size_t>(stage.nodes.front())).name,
                         fused.nodes().at(static_cast<size_t>(stage.nodes.back())).name, static_cast<int>(stage.nodes.size())};
      if (s < pipeline->costs.size()) {
        saved.fixed_us = pipeline->costs[s].fixed_us;
        saved.per_row_us = pipeline->costs[s].per_row_us;
      }
      plan.pipeline.stages.push_back(std::move(saved));
    }
  }
  return plan;
}

void save_plan(const Plan& plan, const std::string& path) {
  tinyxml2::XMLDocument doc;
  tinyxml2::XMLElement* root = doc.NewElement("plan");
  doc.InsertEndChild(root);
  root->SetAttribute("version", kPlanVersion);
  root->SetAttribute("model", plan.model_key.c_str());
  root->SetAttribute("decided_by", plan.decided_by.c_str());
  root->SetAttribute("fusion_rules", join(plan.fusion_rules).c_str());
  if (plan.math_precision != CAGR_MATH_F32) root->SetAttribute("math_precision", abi::math_precision_name(plan.math_precision));
  if (plan.table_dtype != CAGR_DTYPE_F32) root->SetAttribute("table_dtype", dtype_name(plan.table_dtype));
  for (const std::string& d : plan.devices) root->InsertNewChildElement("device")->SetAttribute("target", d.c_str());
  for (const std::string& f : plan.fusions) root->InsertNewChildElement("fusion")->SetText(f.c_str());
  for (const PlannedNode& n : plan.nodes) {
    tinyxml2::XMLElement* e = root->InsertNewChildElement("node");
    e->SetAttribute("name", n.node.c_str());
    e->SetAttribute("op", n.op.c_str());
    e->SetAttribute("plugin", n.plugin.c_str());
    e->SetAttribute("device", n.device);
    e->SetAttribute("device_name", n.device_name.c_str());
    e->SetAttribute("variant", n.variant.c_str());
    if (n.precision != CAGR_MATH_F32) e->SetAttribute("precision", abi::math_precision_name(n.precision));
  }
  if (plan.pipeline.sub_batches > 0) {
    tinyxml2::XMLElement* p = root->InsertNewChildElement("pipeline");
    p->SetAttribute("sub_batches", plan.pipeline.sub_batches);
    p->SetAttribute("decided_by", plan.pipeline.decided_by.c_str());
    for (const PlannedStage& s : plan.pipeline.stages) {
      tinyxml2::XMLElement* e = p->InsertNewChildElement("stage");
      e->SetAttribute("device", s.device.c_str());
      e->SetAttribute("first", s.first.c_str());
      e->SetAttribute("last", s.last.c_str());
      e->SetAttribute("nodes", s.nodes);
      e->SetAttribute("fixed_us", s.fixed_us);
      e->SetAttribute("per_row_us", s.per_row_us);
    }
  }
  if (doc.SaveFile(path.c_str()) != tinyxml2::XML_SUCCESS)
    throw std::runtime_error(path + ": cannot write the plan (" + std::string(doc.ErrorStr() ? doc.ErrorStr() : "") + ")");
}

Plan load_plan(const std::string& path) {
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(path.c_str()) != tinyxml2::XML_SUCCESS) {
    const bool missing = doc.ErrorID() == tinyxml2::XML_ERROR_FILE_NOT_FOUND;
    throw std::runtime_error(path + ": " + (missing ? std::string("no such plan file") : "not a plan file: " + std::string(doc.ErrorStr())));
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string(root->Name()) != "plan") bad_plan(path, root, "not a plan file (the root element must be <plan>)");
  only_attributes(path, root, {"version", "model", "decided_by", "fusion_rules", "math_precision", "table_dtype"});
  if (root->IntAttribute("version", -1) != kPlanVersion)
    bad_plan(path, root, "plan version " + attribute(path, root, "version") + ", this build reads version " + std::to_string(kPlanVersion));
  Plan plan;
  plan.model_key = attribute(path, root, "model");
  plan.decided_by = attribute(path, root, "decided_by");
  if (const char* rules = root->Attribute("fusion_rules")) {  // plans written before rules were chosen applied them all
    plan.fusion_rules = split(rules);
    try {
      check_fusion_rules(plan.fusion_rules);
    } catch (const std::invalid_argument& e) {
      bad_plan(path, root, e.what());
    }
  }
  plan.math_precision = precision_attribute(path, root, "math_precision");
  if (const char* tables = root->Attribute("table_dtype")) {  // absent: plans of f32 tables
    try {
      plan.table_dtype = table_precision_named(tables, "'table_dtype'");
    } catch (const std::invalid_argument& e) {
      bad_plan(path, root, e.what());
    }
  }
  for (const tinyxml2::XMLElement* e = root->FirstChildElement(); e; e = e->NextSiblingElement()) {
    const std::string kind = e->Name();
    if (kind == "device") {
      only_attributes(path, e, {"target"});
      plan.devices.push_back(attribute(path, e, "target"));
    } else if (kind == "fusion") {
      only_attributes(path, e, {});
      plan.fusions.push_back(e->GetText() ? e->GetText() : "");
    } else if (kind == "node") {
      only_attributes(path, e, {"name", "op", "plugin", "device", "device_name", "variant", "precision"});
      PlannedNode n{attribute(path, e, "name"), attribute(path, e, "op"), attribute(path, e, "plugin"), 0,
                    attribute(path, e, "device_name"), attribute(path, e, "variant"), precision_attribute(path, e, "precision")};
      if (e->QueryIntAttribute("device", &n.device) != tinyxml2::XML_SUCCESS || n.device < 0)
        bad_plan(path, e, "<node> needs a device index >= 0");
      plan.nodes.push_back(std::move(n));
    } else if (kind == "pipeline" && plan.pipeline.sub_batches == 0) {
      plan.pipeline = read_pipeline(path, e);
    } else {
      bad_plan(path, e, "unknown element <" + kind + "> (a plan has <device>, <fusion>, <node> and one <pipeline>)");
    }
  }
  return plan;
}

void check_plan_fits(const Plan& plan, const Graph& graph, const std::string& plan_path) {
  const std::string key = model_key(graph);
  if (plan.model_key != key)
    throw std::runtime_error(plan_path + ": the plan was made for another model (model key " + plan.model_key + ", this model's is " + key +
                             "); make a new one with --save-plan");
}

Placement PlannedPlacement::place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) {
  warnings_.clear();
  std::map<std::string, const PlannedNode*> by_name;
  for (const PlannedNode& n : plan_.nodes) by_name[n.node] = &n;
  // Where a plan entry cannot be followed, the node goes where cost hints put it.
  CostHintPlacement hints;
  const Placement fallback = hints.place(graph, shapes, targets);
  Placement placement;
  placement.nodes.resize(graph.nodes().size());
  std::vector<std::string> moved;
  std::vector<int> tensor_target(graph.num_tensors(), -1);  // -1: host (inputs, constants)
  for (int n : graph.topological_order()) {
    const Node& node = graph.nodes()[static_cast<size_t>(n)];
    NodePlacement& out = placement.nodes[static_cast<size_t>(n)];
    auto it = by_name.find(node.name);
    std::string why;
    const int source = tensor_target[static_cast<size_t>(node.inputs.at(0))];
    if (graph.is_view(n) && source >= 0) {
      out = NodePlacement{source, 0, "view", 0};  // a view stays with its input, wherever that went
    } else if (it == by_name.end() || it->second->op != node.op) {
      why = "not in the plan";
    } else {
      const PlannedNode& want = *it->second;
      int found = -1;
      for (size_t t = 0; t < targets.size() && found < 0; ++t)
        if (targets[t].plugin->name() == want.plugin && targets[t].info.name == want.device_name) found = static_cast<int>(t);
      if (found < 0) {
        why = "planned on " + want.plugin + ":" + std::to_string(want.device) + " (" + want.device_name + "), which is not here";
      } else {
        const Target& t = targets[static_cast<size_t>(found)];
        const OpSupport support = t.plugin->query(t.device, describe_node(node, shapes).desc());
        for (const Variant& v : support.variants)
          if (v.name == want.variant) out = NodePlacement{found, v.index, v.name, variant_cost_ns(v, t.info), v.math_precision};
        if (out.target < 0) why = "variant '" + want.variant + "' is not offered by " + t.label() + (support.supported ? "" : ": " + support.reason);
      }
    }
    if (out.target < 0) {
      out = fallback.nodes[static_cast<size_t>(n)];
      moved.push_back(node.name);
      warnings_.push_back("node '" + node.name + "' (" + node.op + "): " + why + "; placed on " +
                          targets[static_cast<size_t>(out.target)].label() + " variant '" + out.variant_name + "'");
    }
    for (int o : node.outputs) tensor_target[static_cast<size_t>(o)] = out.target;
  }
  if (!moved.empty()) {
    std::string names;
    for (size_t i = 0; i < moved.size() && i < 5; ++i) names += (i ? ", " : "") + moved[i];
    if (moved.size() > 5) names += ", ...";
    warnings_.insert(warnings_.begin(), "plan re-bound: " + std::to_string(moved.size()) + " of " + std::to_string(graph.nodes().size()) +
                                            " nodes placed by cost hints instead (" + names + ")");
  }
  return placement;
}

}  // namespace cagr
