// id_profile.cpp - counting, writing and reading id profiles.
#include "id_profile.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace cagr::run {

namespace {

// The number of tables of an embedding_bag node (OPS.md: inputs after the offsets, less the
// weights and the padding rows).
size_t tables_of(const Node& node) {
  const size_t extra = (node.attr_int("weighted", 0) != 0 ? 1 : 0) + (node.attr_int("padded", 0) != 0 ? 1 : 0);
  return node.inputs.size() - 2 - extra;
}

int64_t element(const HostTensor& t, int64_t i) {
  return t.dtype == CAGR_DTYPE_I64 ? t.as<int64_t>()[i] : static_cast<int64_t>(t.as<int32_t>()[i]);
}

// Position of tensor `id` among the graph's inputs, or -1.
int input_position(const Graph& graph, int id) {
  const auto& inputs = graph.inputs();
  const auto at = std::find(inputs.begin(), inputs.end(), id);
  return at == inputs.end() ? -1 : static_cast<int>(at - inputs.begin());
}

}  // namespace

std::vector<std::string> write_id_profile(const Graph& graph, const std::vector<std::vector<HostTensor>>& batches,
                                          const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("--profile-ids: cannot write " + path);
  out << "# cagr id profile: <node> <table> <id> <count>, each table's ids most frequent first\n";
  std::vector<std::string> left_out;
  for (const Node& node : graph.nodes()) {
    if (node.op != "embedding_bag") continue;
    const int indices = input_position(graph, node.inputs[0]), offsets = input_position(graph, node.inputs[1]);
    if (indices < 0 || offsets < 0 || node.name.find_first_of(" \t\n") != std::string::npos) {
      left_out.push_back("--profile-ids: embedding_bag '" + node.name +
                         "' is left out: its ids or offsets are computed inside the graph (or its name has a space)");
      continue;
    }
    const size_t tables = tables_of(node);
    std::vector<std::unordered_map<int64_t, int64_t>> counts(tables);
    for (const std::vector<HostTensor>& batch : batches) {
      const HostTensor& ids = batch[static_cast<size_t>(indices)];
      const HostTensor& offs = batch[static_cast<size_t>(offsets)];
      const int64_t bags_per_table = (offs.numel() - 1) / static_cast<int64_t>(tables);
      for (size_t t = 0; t < tables; ++t)
        for (int64_t i = element(offs, static_cast<int64_t>(t) * bags_per_table),
                     end = element(offs, static_cast<int64_t>(t + 1) * bags_per_table);
             i < end; ++i)
          ++counts[t][element(ids, i)];
    }
    for (size_t t = 0; t < tables; ++t) {
      std::vector<std::pair<int64_t, int64_t>> sorted(counts[t].begin(), counts[t].end());  // id, count
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      for (const auto& [id, count] : sorted) out << node.name << ' ' << t << ' ' << id << ' ' << count << '\n';
    }
  }
  if (!out) throw std::runtime_error("--profile-ids: writing " + path + " failed");
  return left_out;
}

void read_hot_rows(Graph& graph, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("--hot-ids: cannot read " + path);
  std::map<std::string, std::vector<std::vector<std::pair<int64_t, int64_t>>>> profile;  // node -> table -> (count, id)
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string node, rest;
    long long table = -1, id = 0, count = 0;
    if (!(fields >> node >> table >> id >> count) || (fields >> rest) || table < 0 || count < 0)
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected '<node> <table> <id> <count>', got '" + line + "'");
    auto& tables = profile[node];
    if (tables.size() <= static_cast<size_t>(table)) tables.resize(static_cast<size_t>(table) + 1);
    tables[static_cast<size_t>(table)].emplace_back(count, id);
  }
  for (auto& [name, tables] : profile) {
    Node* node = nullptr;
    for (Node& n : graph.nodes())
      if (n.name == name) node = &n;
    if (node == nullptr || node->op != "embedding_bag")
      throw std::runtime_error("--hot-ids: " + path + " names '" + name + "', which is not an embedding_bag of the model");
    if (tables.size() > tables_of(*node))
      throw std::runtime_error("--hot-ids: " + path + " names table " + std::to_string(tables.size() - 1) + " of '" + name +
                               "', which has " + std::to_string(tables_of(*node)) + " tables");
    node->hot_rows.assign(tables_of(*node), {});
    for (size_t t = 0; t < tables.size(); ++t) {
      std::stable_sort(tables[t].begin(), tables[t].end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      for (const auto& entry : tables[t]) node->hot_rows[t].push_back(entry.second);
    }
  }
}

}  // namespace cagr::run
