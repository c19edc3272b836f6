// rewriter.cpp - the pattern rewrites from PyTorch's ONNX exports to abi/OPS.md ops.
//
// Shapes come from probing (onnx_import.hpp's evaluate) the graph at two batch sizes: a dimension
// that differs between the probes follows the batch, the others are static.
#include "rewriter.hpp"

#include "einsum.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <tuple>
#include <stdexcept>

#include "shape_inference.hpp"

namespace cagr::onnx {
namespace {

constexpr int64_t kProbeBatches[2] = {3, 5};

[[noreturn]] void fail(const OnnxNode& n, const std::string& what) { throw std::runtime_error(n.where() + ": " + what); }

// Probe results at both batch sizes.
struct Probes {
  EvalValues at[2];

  const EvalValue* find(const std::string& t, int i = 0) const {
    auto it = at[i].find(t);
    return it == at[i].end() ? nullptr : &it->second;
  }
  // Dims at the first probe with batch-following dims as kDynamic; nullopt if unknown.
  std::optional<Dims> dims(const std::string& t) const {
    const EvalValue *a = find(t, 0), *b = find(t, 1);
    if (!a || !b || a->dims.size() != b->dims.size()) return std::nullopt;
    Dims d = a->dims;
    for (size_t i = 0; i < d.size(); ++i)
      if (a->dims[i] != b->dims[i]) d[i] = kDynamic;
    return d;
  }
};

class Rewriter {
 public:
  Rewriter(OnnxGraph graph, RewriteReport& report) : g_(std::move(graph)), report_(report) {}

  Graph run(const std::string& name) {
    count("constant folding (nodes)", fold_constants(g_));
    probe({});
    rewrite_embedding_bags();
    remove_dead_nodes(g_);
    probe(offsets_lengths());
    count("constant folding (shape computations)", fold_probed());
    remove_dead_nodes(g_);
    for_each_onnx_node([&](size_t i) { return fold_concat_combinations(i); });
    for_each_onnx_node([&](size_t i) { return rewrite_linear(i); });
    for_each_onnx_node([&](size_t i) { return rewrite_dot_interaction(i); });
    for_each_onnx_node([&](size_t i) { return rewrite_fm_interaction(i); });
    remove_dead_nodes(g_);
    // Layout ops first: their shape inputs (Concat/Gather chains on Shape) then die unlowered.
    for_each_onnx_node([&](size_t i) { return lower_layout(i); });
    remove_dead_nodes(g_);
    for_each_onnx_node([&](size_t i) { return lower_generic(i); });
    remove_dead_nodes(g_);
    rewrite_one_hot_lookups();
    rewrite_summed_lookups();
    for_each_cagr_node(
        [&](size_t i) { return stack_features(i) || drop_identity_reshape(i) || cancel_transposes(i) || take_through_transposes(i); });
    merge_repeated_nodes();
    remove_dead_nodes(g_);
    fuse_activations();
    remove_dead_nodes(g_);
    return build(name);
  }

 private:
  // ---- helpers ----------------------------------------------------------------------------------
  void count(const std::string& what, int n = 1) {
    if (n > 0) report_.counts[what] += n;
  }
  const OnnxConstant* constant(const std::string& t) const {
    auto it = g_.constants.find(t);
    return it == g_.constants.end() ? nullptr : &it->second;
  }
  const OnnxNode* producer(const std::string& t) const { return g_.producer(t); }
  const OnnxNode* producer_of(const std::string& t, const std::string& op) const {
    const OnnxNode* p = producer(t);
    return p && !p->is_cagr() && p->op == op ? p : nullptr;
  }
  // The CAGR node of op `op` that writes `t`, where `t` has one reader (a chain a rewrite may fold).
  const OnnxNode* sole_cagr_producer(const std::string& t, const std::string& op) const {
    const OnnxNode* p = producer(t);
    return p && p->is_cagr() && p->op == op && consumers(t) == 1 ? p : nullptr;
  }
  static std::vector<int64_t> perm_of(const OnnxNode& transpose) { return std::get<std::vector<int64_t>>(transpose.attrs.at("perm")); }
  // Follows Identity / Reshape / Cast chains back to where a value really comes from.
  std::string through_views(std::string t) const {
    while (const OnnxNode* p = producer(t)) {
      if (p->is_cagr() || (p->op != "Identity" && p->op != "Reshape" && p->op != "Cast")) break;
      t = p->inputs.at(0);
    }
    return t;
  }
  bool is_input(const std::string& t) const {
    return std::any_of(g_.inputs.begin(), g_.inputs.end(), [&](const OnnxInput& i) { return i.name == t; });
  }
  int64_t attr_int(const OnnxNode& n, const std::string& key, int64_t fallback) const {
    auto it = n.attrs.find(key);
    if (it == n.attrs.end()) return fallback;
    if (const auto* v = std::get_if<int64_t>(&it->second)) return *v;
    fail(n, "attribute '" + key + "' must be an int");
  }
  double attr_float(const OnnxNode& n, const std::string& key, double fallback) const {
    auto it = n.attrs.find(key);
    if (it == n.attrs.end()) return fallback;
    if (const auto* v = std::get_if<double>(&it->second)) return *v;
    fail(n, "attribute '" + key + "' must be a float");
  }
  // Integer values of `t` at probe i (constants included), or nullopt.
  std::optional<std::vector<int64_t>> ints_at(const std::string& t, int i) const {
    const EvalValue* v = probes_.find(t, i);
    if (!v || !v->values) return std::nullopt;
    std::vector<int64_t> out;
    for (double d : *v->values) out.push_back(saturated<int64_t>(d));
    return out;
  }
  std::optional<std::vector<int64_t>> const_ints(const std::string& t) const {
    const OnnxConstant* c = constant(t);
    if (!c) return std::nullopt;
    std::vector<int64_t> out;
    for (double d : constant_values(*c)) out.push_back(saturated<int64_t>(d));
    return out;
  }
  std::optional<double> scalar_constant(const std::string& t) const {
    const OnnxConstant* c = constant(t);
    if (!c || element_count(c->dims) != 1) return std::nullopt;
    return constant_values(*c)[0];
  }
  Dims dims_of(const OnnxNode& n, const std::string& t) const {
    auto d = probes_.dims(t);
    if (!d) fail(n, "the shape of '" + t + "' could not be worked out" + unknown_shape_origin(t));
    return *d;
  }
  // Where an unknown shape starts: the first node back along the unknown inputs whose own inputs
  // are all known, named with its op (an op the importer cannot evaluate is the usual cause).
  std::string unknown_shape_origin(std::string t) const {
    const OnnxNode* origin = nullptr;
    for (int steps = 0; steps < 10000; ++steps) {
      const OnnxNode* p = producer(t);
      if (p == nullptr) break;
      origin = p;
      auto unknown = std::find_if(p->inputs.begin(), p->inputs.end(), [&](const std::string& in) { return !in.empty() && !probes_.dims(in); });
      if (unknown == p->inputs.end()) break;
      t = *unknown;
    }
    if (origin == nullptr || origin->is_cagr()) return "";
    return " (it follows from " + origin->where() + ", ONNX op '" + origin->op + "' at opset " + std::to_string(g_.opset) +
           ", whose output the importer cannot work out; importing it needs " + needed_for(origin->op) + ")";
  }
  int consumers(const std::string& t) const {
    int c = static_cast<int>(g_.consumers(t).size());
    return c + static_cast<int>(std::count(g_.outputs.begin(), g_.outputs.end(), t));
  }
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; names_.count(name) || constant(name) || producer(name) || is_input(name); ++i) name = base + "_" + std::to_string(i);
    names_.insert(name);
    return name;
  }
  std::string add_constant(const std::string& base, OnnxConstant c) {
    const std::string name = fresh(base);
    g_.constants[name] = std::move(c);
    return name;
  }
  static OnnxNode cagr_node(const std::string& name, const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                            std::map<std::string, AttrValue> attrs = {}) {
    OnnxNode n;
    n.name = name;
    n.op = op;
    n.domain = "cagr";
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attrs = std::move(attrs);
    return n;
  }

  // Probes the graph at both batch sizes. Dynamic input dims become the probe batch, except the
  // offsets inputs whose embedding_bag needs T*B + 1 entries, and the [T, B + 1] offsets of bags
  // with include_last_offset (known after the first probe).
  void probe(const std::map<std::string, int64_t>& tables_per_offsets) {
    for (int i = 0; i < 2; ++i) {
      EvalValues seeds;
      for (const OnnxInput& in : g_.inputs) {
        Dims d = in.dims;
        for (int64_t& x : d)
          if (x < 0) x = kProbeBatches[i];
        auto it = tables_per_offsets.find(in.name);
        if (it != tables_per_offsets.end()) d = {it->second * kProbeBatches[i] + 1};
        if (offsets_with_last_.count(in.name) && !d.empty()) d.back() = kProbeBatches[i] + 1;
        seeds[in.name] = EvalValue{in.dtype, d, std::nullopt};
      }
      probes_.at[i] = evaluate(g_, seeds);
    }
  }
  // Nodes whose values the probes computed, equal at both batch sizes (probes give the inputs'
  // shapes, never their values): shape computations whose result does not follow the batch.
  int fold_probed() {
    int folded = 0;
    std::vector<OnnxNode> kept;
    for (OnnxNode& n : g_.nodes) {
      const bool fixed = !n.is_cagr() && n.subgraphs.empty() && std::all_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) {
        const EvalValue *a = probes_.find(o, 0), *b = probes_.find(o, 1);
        return a && b && a->values && b->values && a->dims == b->dims && *a->values == *b->values;
      });
      if (!fixed) {
        kept.push_back(std::move(n));
        continue;
      }
      for (const std::string& o : n.outputs) g_.constants[o] = to_constant(*probes_.find(o));
      ++folded;
    }
    g_.nodes = std::move(kept);
    return folded;
  }
  std::map<std::string, int64_t> offsets_lengths() const {
    std::map<std::string, int64_t> tables;
    for (const OnnxNode& n : g_.nodes) {
      if (!n.is_cagr() || n.op != "embedding_bag") continue;
      const int64_t t = n.bag_tables();
      auto [it, added] = tables.emplace(n.inputs[1], t);
      if (!added && it->second != t)
        fail(n, "embedding bags with " + std::to_string(t) + " and " + std::to_string(it->second) + " tables read one offsets input '" + n.inputs[1] +
                    "'; its length must be T*B + 1 for each");
    }
    return tables;
  }
  // Calls `rewrite(i)` for every ONNX node; a rewrite returns whether it changed the node list, and
  // then the scan starts over (rewrites only ever shrink the ONNX part).
  void for_each_onnx_node(const std::function<bool(size_t)>& rewrite) {
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!g_.nodes[i].is_cagr() && rewrite(i)) i = static_cast<size_t>(-1);
  }
  // Makes every reader of `from` read `to` instead (a graph output keeps its name: the producer of
  // `to` is renamed).
  void alias(const std::string& from, const std::string& to) {
    if (std::count(g_.outputs.begin(), g_.outputs.end(), from)) {
      // A graph input, a constant or another graph output keeps its own name: the output is a copy.
      if (!producer(to) || std::count(g_.outputs.begin(), g_.outputs.end(), to)) return copy_into(from, to);
      for (OnnxNode& n : g_.nodes) {
        for (std::string& o : n.outputs) if (o == to) o = from;
        for (std::string& i : n.inputs) if (i == to) i = from;
      }
      return;
    }
    for (OnnxNode& n : g_.nodes)
      for (std::string& i : n.inputs)
        if (i == from) i = to;
  }

  // A node writing tensor `to`'s values into `out` (a cast to its own dtype).
  void copy_into(const std::string& out, const std::string& to) {
    const EvalValue* v = probes_.find(to);
    const cagr_dtype dtype = constant(to) ? constant(to)->dtype : v ? v->dtype : CAGR_DTYPE_INVALID;
    if (dtype == CAGR_DTYPE_INVALID) throw std::runtime_error("graph output '" + out + "': the dtype of '" + to + "' could not be worked out");
    g_.nodes.push_back(cagr_node(fresh(out + "_copy"), "cast", {to}, {out}, {{"to", std::string(dtype_name(dtype))}}));
    count("copy into a graph output");
  }

  // ---- embedding bags ----------------------------------------------------------------------------
  // An nn.EmbeddingBag as exported: a Loop over bags that pools rows of `table`.
  struct Bag {
    std::string loop;  // the Loop node's name
    std::string output, table, indices, offsets, mode;
    std::string weights;   // nn.EmbeddingBag's per_sample_weights, aligned with `indices` ("" when none)
    int64_t padding = -1;  // its padding_idx (-1: none)
    // When the bag reads table t's part of shared (indices, offsets) inputs: offsets[start, end).
    std::string shared_indices, shared_offsets;
    int64_t start[2] = {0, 0}, end[2] = {0, 0};
    // When its (indices, offsets) are computed from graph inputs in one of two layouts (bag_source):
    // row `row` of an index matrix [T, L] with per-table offsets [T, B] (matrix_offsets; or, with
    // `vectors`, an [L] index input and its [B] offsets), or bags of `bag_size` ids, the rows of an id
    // matrix [B, P] (matrix_offsets empty).
    std::string matrix_indices, matrix_offsets;
    int64_t row = 0, bag_size = 0, column = 0;  // column: a fixed-size bag's first column of the id matrix
    bool vectors = false;
    bool last_included = false;  // the offsets rows end with L (include_last_offset = True): [T, B + 1]
    // With `weights`: the f32 input [T, L] whose row `row` they are (per_sample_weights=lS_w[t]),
    // so that merged tables take it flattened, table-major as the indices ("" when they are not).
    std::string matrix_weights;
  };

  // Which graph-input element a labelled value is (labelled_values), or input -1 for a number.
  static constexpr double kLabel = 1 << 22;
  static std::pair<int, int64_t> label_of(double v) {
    if (v < kLabel) return {-1, static_cast<int64_t>(v)};
    return {static_cast<int>(v / kLabel) - 1, static_cast<int64_t>(std::fmod(v, kLabel))};
  }
  // The graph evaluated at the first probe's shapes with every integer input filled with labels:
  // element p of input k holds (k + 1) * kLabel + p, so a computed index tensor tells where each of
  // its elements came from. With `floats`, f32 inputs are labelled too (where per-sample weights
  // come from); only then, since the labels are no data a model's arithmetic on floats expects.
  EvalValues labelled_values(bool floats) const {
    EvalValues seeds;
    for (size_t k = 0; k < g_.inputs.size(); ++k) {
      const OnnxInput& in = g_.inputs[k];
      const EvalValue* probed = probes_.find(in.name, 0);
      if (!probed) continue;
      EvalValue v{in.dtype, probed->dims, std::nullopt};
      if (in.dtype == CAGR_DTYPE_I64 || in.dtype == CAGR_DTYPE_I32 || (floats && in.dtype == CAGR_DTYPE_F32)) {
        std::vector<double> labels(static_cast<size_t>(element_count(v.dims)));
        for (size_t p = 0; p < labels.size(); ++p) labels[p] = static_cast<double>(k + 1) * kLabel + static_cast<double>(p);
        v.values = std::move(labels);
      }
      seeds[in.name] = std::move(v);
    }
    return evaluate(g_, seeds);
  }
  // Recognises, from the labels, a bag whose indices/offsets the graph computes from its inputs in
  // the DLRM reference's layout (nn.EmbeddingBag(lS_i[t], lS_o[t]), include_last_offset = False:
  // the exporters append len(indices) in the graph) or as fixed-size bags of a 2-D id input
  // (nn.EmbeddingBag / F.embedding_bag on a [B, P] input, offsets from a Range).
  void find_bag_source(Bag& bag, const EvalValues& labelled) const {
    auto vi = labelled.find(bag.indices), vo = labelled.find(bag.offsets);
    if (vi == labelled.end() || vo == labelled.end() || !vi->second.values || !vo->second.values) return;
    const std::vector<double>&ids = *vi->second.values, &offs = *vo->second.values;
    if (ids.empty() || offs.size() < 2) return;
    const auto [k, first] = label_of(ids[0]);
    if (k < 0) return;
    const OnnxInput& id_input = g_.inputs[static_cast<size_t>(k)];
    const Dims& probed_ids = probes_.find(id_input.name, 0)->dims;
    if (probed_ids.empty() || probed_ids.size() > 2) return;
    const bool vectors = probed_ids.size() == 1;  // nn.EmbeddingBag(indices, offsets) on 1-D inputs
    const Dims id_dims = vectors ? Dims{1, probed_ids[0]} : probed_ids;
    const int64_t length = static_cast<int64_t>(ids.size());
    const auto [ko, first_offset] = label_of(offs[0]);
    if (ko < 0) {
      fixed_size_bags(bag, offs, ids, k, first, id_dims, vectors);
      return;
    }
    for (size_t j = 0; j < ids.size(); ++j)
      if (label_of(ids[j]) != std::make_pair(k, first + static_cast<int64_t>(j))) return;  // consecutive elements of one input
    if (length == id_dims[1] && first % length == 0) {
      // The offsets row ends with L appended by the graph (include_last_offset = False) or with
      // its own last entry (True: rows of B + 1).
      const bool appended = label_of(offs.back()) == std::make_pair(-1, length);
      const OnnxInput& off_input = g_.inputs[static_cast<size_t>(ko)];
      const Dims& probed_offsets = probes_.find(off_input.name, 0)->dims;
      const Dims off_dims = probed_offsets.size() == 1 ? Dims{1, probed_offsets[0]} : probed_offsets;
      const int64_t batch = static_cast<int64_t>(offs.size()) - 1, row = first / length, width = appended ? batch : batch + 1;
      if (off_dims.size() != 2 || off_dims[1] != width || first_offset != row * width || (probed_offsets.size() == 1) != vectors) return;
      for (int64_t b = 0; b < width; ++b)
        if (label_of(offs[static_cast<size_t>(b)]) != std::make_pair(ko, row * width + b)) return;
      bag.matrix_indices = id_input.name;
      bag.matrix_offsets = off_input.name;
      bag.row = row;
      bag.vectors = vectors;
      bag.last_included = !appended;
      bag.matrix_weights = weights_row_source(bag, labelled, probed_ids);
    }
  }
  // Fixed-size bags: columns [c, c + n) of every row of a [B, P] id input (all of it where n = P:
  // nn.EmbeddingBag on a [B, P] input; a part, ids[:, c:c + n], where one id matrix holds several
  // tables' multi-hot bags side by side, as DLRM-v2's), offsets 0, n, 2n, .. (with or without the
  // final B*n).
  void fixed_size_bags(Bag& bag, const std::vector<double>& offs, const std::vector<double>& ids, int k, int64_t first,
                       const Dims& id_dims, bool vectors) const {
    const int64_t rows = id_dims[0], width = id_dims[1], length = static_cast<int64_t>(ids.size());
    if (vectors || rows < 1 || length % rows != 0) return;
    const int64_t size = length / rows;
    if (size < 1 || first + size > width) return;
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t j = 0; j < size; ++j)
        if (label_of(ids[static_cast<size_t>(b * size + j)]) != std::make_pair(k, b * width + first + j)) return;
    for (size_t b = 0; b < offs.size(); ++b)
      if (label_of(offs[b]) != std::make_pair(-1, static_cast<int64_t>(b) * size)) return;
    if (offs.size() != static_cast<size_t>(rows) && offs.size() != static_cast<size_t>(rows) + 1) return;
    bag.matrix_indices = g_.inputs[static_cast<size_t>(k)].name;
    bag.bag_size = size;
    bag.column = first;
  }

  // The f32 input, shaped as the index matrix (`index_dims`), whose row bag.row the bag's per-sample
  // weights are, element for element ("" when they are computed otherwise, or the bag has none).
  std::string weights_row_source(const Bag& bag, const EvalValues& labelled, const Dims& index_dims) const {
    auto vw = labelled.find(bag.weights);
    if (bag.weights.empty() || vw == labelled.end() || !vw->second.values || vw->second.values->empty()) return "";
    const std::vector<double>& w = *vw->second.values;
    const auto [k, first] = label_of(w[0]);
    const int64_t length = static_cast<int64_t>(w.size());
    if (k < 0 || g_.inputs[static_cast<size_t>(k)].dtype != CAGR_DTYPE_F32 || first != bag.row * length) return "";
    const OnnxInput& source = g_.inputs[static_cast<size_t>(k)];
    const Dims& dims = probes_.find(source.name, 0)->dims;
    if (index_dims.size() != 2 || dims != index_dims || length != index_dims[1]) return "";
    for (int64_t j = 0; j < length; ++j)
      if (label_of(w[static_cast<size_t>(j)]) != std::make_pair(k, first + j)) return "";
    return source.name;
  }

  static void nodes_of(const OnnxGraph& g, std::vector<const OnnxNode*>& out) {
    for (const OnnxNode& n : g.nodes) {
      out.push_back(&n);
      for (const auto& [key, sub] : n.subgraphs) nodes_of(*sub, out);
    }
  }
  static void captures_of(const OnnxGraph& body, std::set<std::string>& out) {
    std::set<std::string> local(body.body_inputs.begin(), body.body_inputs.end());
    for (const auto& [name, c] : body.constants) local.insert(name);
    for (const OnnxNode& n : body.nodes) {
      for (const std::string& i : n.inputs) if (!i.empty() && !local.count(i)) out.insert(i);
      for (const auto& [key, sub] : n.subgraphs) {
        std::set<std::string> inner;
        captures_of(*sub, inner);
        for (const std::string& i : inner) if (!local.count(i)) out.insert(i);
      }
      for (const std::string& o : n.outputs) local.insert(o);
    }
  }

  // Matches the TorchScript form (Gather of the table on a Slice of the bag's indices inside the
  // body) and the dynamo form (rows gathered before the loop, times all-ones per-sample weights,
  // sliced per bag inside).
  std::optional<Bag> match_bag_loop(const OnnxNode& loop) const {
    // A Loop without outputs (a damaged file: fuzz_onnx) gives no bag's output to replace.
    if (loop.op != "Loop" || !loop.subgraphs.count("body") || loop.outputs.empty()) return std::nullopt;
    const OnnxGraph& body = *loop.subgraphs.at("body");
    std::vector<const OnnxNode*> inner;
    nodes_of(body, inner);
    Bag bag;
    bag.loop = loop.name;
    for (const OnnxNode* n : inner) {
      if (n->op == "ReduceMean") bag.mode = "mean";
      if (n->op == "ReduceMax") bag.mode = "max";
      if (n->op == "ReduceSum" && bag.mode.empty()) bag.mode = "sum";
    }
    if (bag.mode.empty()) return std::nullopt;
    std::set<std::string> captured;
    captures_of(body, captured);
    // Nodes of the body are matched only where they have the inputs and outputs their op takes: a
    // damaged file may give a Gather, Slice, Mul or Unsqueeze none (fuzz_onnx).
    auto has = [](const OnnxNode* n, size_t inputs, size_t outputs) {
      return n != nullptr && n->inputs.size() >= inputs && n->outputs.size() >= outputs;
    };
    for (const OnnxNode* n : inner) {  // TorchScript: Gather(table, Slice(indices, ...)) in the body
      const OnnxConstant* t = n->op == "Gather" && has(n, 2, 1) ? constant(n->inputs[0]) : nullptr;
      if (!t || t->dims.size() != 2 || t->dtype != CAGR_DTYPE_F32) continue;
      bag.table = n->inputs[0];
      const OnnxNode* rows_slice = nullptr;
      for (const OnnxNode* s : inner) {
        if (s->op == "Slice" && has(s, 1, 1) && s->outputs[0] == n->inputs[1] && captured.count(s->inputs[0])) {
          bag.indices = s->inputs[0];
          rows_slice = s;
        }
      }
      if (rows_slice) bag.weights = sliced_weights(inner, captured, n->outputs[0], *rows_slice);
    }
    for (const std::string& c : captured) {  // dynamo: Mul(Gather(table, indices), weights or ones) captured
      if (!bag.table.empty()) break;
      const OnnxNode* mul = producer_of(through_views(c), "Mul");
      const OnnxNode* gather = has(mul, 2, 1) ? producer_of(mul->inputs[0], "Gather") : nullptr;
      const OnnxConstant* t = has(gather, 2, 1) ? constant(gather->inputs[0]) : nullptr;
      if (!t || t->dims.size() != 2) continue;
      if (!all_ones(mul->inputs[1])) {  // per_sample_weights: Unsqueeze(weights [L], 1)
        const OnnxNode* unsq = producer_of(mul->inputs[1], "Unsqueeze");
        const auto w = has(unsq, 1, 1) ? probes_.dims(unsq->inputs[0]) : std::nullopt;
        if (!w || w->size() != 1 || probes_.find(unsq->inputs[0])->dtype != CAGR_DTYPE_F32) continue;
        bag.weights = unsq->inputs[0];
      }
      bag.table = gather->inputs[0];
      bag.indices = through_views(gather->inputs[1]);
    }
    if (bag.table.empty() || bag.indices.empty()) return std::nullopt;
    bag.padding = padding_row(inner);
    // The offsets (with the final entry): the rank-1 integer capture that is not the indices nor a
    // slice of another capture (TorchScript also captures offsets[1:]), nor a Shape (the dynamo
    // exporter's max bags capture the number of indices).
    for (const std::string& c : captured) {
      const EvalValue* v = probes_.find(c);
      if (c == bag.indices || through_views(c) == bag.indices || constant(c) || !v || v->dims.size() != 1 || (v->dtype != CAGR_DTYPE_I64 && v->dtype != CAGR_DTYPE_I32)) continue;
      const OnnxNode* slice = producer_of(c, "Slice");
      if ((slice && captured.count(slice->inputs[0])) || producer_of(c, "Shape")) continue;
      if (!bag.offsets.empty() && bag.offsets != through_views(c)) return std::nullopt;
      bag.offsets = through_views(c);
    }
    if (bag.offsets.empty()) return std::nullopt;
    // TorchScript: the loop's scan output; dynamo: the sequence it builds, concatenated and cast.
    bag.output = loop.outputs.back();
    for (const std::string& out : loop.outputs)
      if (const OnnxNode* seq = single_consumer(out, "ConcatFromSequence")) {
        bag.output = seq->outputs[0];
        for (const OnnxNode* cast = nullptr; (cast = single_consumer(bag.output, "Cast"));) bag.output = cast->outputs[0];
      }
    find_segment(bag);
    return bag;
  }
  // TorchScript's weighted bag: the rows Gather(table, Slice(indices, s, e)) times
  // Unsqueeze(Slice(W, s, e)) in the loop body, W captured: W ("" when the rows are not weighted so).
  static std::string sliced_weights(const std::vector<const OnnxNode*>& inner, const std::set<std::string>& captured,
                                    const std::string& rows, const OnnxNode& rows_slice) {
    auto made_by = [&](const std::string& t, const char* op) -> const OnnxNode* {
      for (const OnnxNode* n : inner)
        if (n->op == op && std::count(n->outputs.begin(), n->outputs.end(), t)) return n;
      return nullptr;
    };
    for (const OnnxNode* mul : inner) {
      if (mul->op != "Mul" || mul->inputs.size() != 2 || (mul->inputs[0] != rows && mul->inputs[1] != rows)) continue;
      const OnnxNode* unsq = made_by(mul->inputs[0] == rows ? mul->inputs[1] : mul->inputs[0], "Unsqueeze");
      const OnnxNode* slice = unsq && !unsq->inputs.empty() ? made_by(unsq->inputs[0], "Slice") : nullptr;
      // The same bounds as the indices' slice: the weights line up with the bag's indices.
      if (slice && slice->inputs.size() >= 3 && captured.count(slice->inputs[0]) && rows_slice.inputs.size() >= 3 &&
          slice->inputs[1] == rows_slice.inputs[1] && slice->inputs[2] == rows_slice.inputs[2])
        return slice->inputs[0];
    }
    return "";
  }
  // The dynamo exporter's padding_idx: the loop body keeps the positions whose index is not equal
  // to it, Not(Equal(index, padding_idx)) with padding_idx a constant. -1 when there is none.
  int64_t padding_row(const std::vector<const OnnxNode*>& inner) const {
    for (const OnnxNode* eq : inner) {
      if (eq->op != "Equal" || eq->inputs.size() != 2 || eq->outputs.empty()) continue;
      const bool negated = std::any_of(inner.begin(), inner.end(), [&](const OnnxNode* n) {
        return n->op == "Not" && n->inputs.size() == 1 && n->inputs[0] == eq->outputs[0];
      });
      for (const std::string& in : eq->inputs) {
        const OnnxConstant* c = constant(in);
        if (negated && c && element_count(c->dims) == 1 && (c->dtype == CAGR_DTYPE_I64 || c->dtype == CAGR_DTYPE_I32))
          return saturated<int64_t>(constant_values(*c)[0]);
      }
    }
    return -1;
  }
  const OnnxNode* single_consumer(const std::string& t, const std::string& op) const {
    const auto c = g_.consumers(t);
    return c.size() == 1 && !c[0]->is_cagr() && c[0]->op == op ? c[0] : nullptr;
  }
  bool all_ones(const std::string& t) const {
    std::string s = t;
    while (const OnnxNode* p = producer(s)) {
      if (p->op != "Unsqueeze" && p->op != "Expand" && p->op != "Identity" && p->op != "Reshape") break;
      s = p->inputs[0];
    }
    const OnnxConstant* c = constant(s);
    if (!c) return false;
    const auto v = constant_values(*c);
    return std::all_of(v.begin(), v.end(), [](double x) { return x == 1.0; });
  }
  // offsets = S - S[0] with S = Slice(OFFSETS, start, end), indices = Slice(INDICES, S[0], S[-1]):
  // the bag reads its table's part of CAGR's (indices, offsets) layout.
  void find_segment(Bag& bag) const {
    const OnnxNode* sub = producer_of(bag.offsets, "Sub");
    const OnnxNode* slice = sub ? producer_of(sub->inputs[0], "Slice") : nullptr;
    const OnnxNode* idx_slice = producer_of(bag.indices, "Slice");
    if (!slice || !idx_slice || !is_input(slice->inputs[0]) || !is_input(idx_slice->inputs[0])) return;
    for (int i = 0; i < 2; ++i) {
      const auto s = ints_at(slice->inputs[1], i), e = ints_at(slice->inputs[2], i);
      if (!s || !e || s->size() != 1 || e->size() != 1) return;
      bag.start[i] = (*s)[0];
      bag.end[i] = (*e)[0];
    }
    bag.shared_offsets = slice->inputs[0];
    bag.shared_indices = idx_slice->inputs[0];
  }

  // Bags stacked (Unsqueeze + Concat on axis 1) or concatenated on axis 1, that read tables 0..T-1
  // of the same (indices, offsets) in order, become one embedding_bag with T tables.
  void rewrite_embedding_bags() {
    std::map<std::string, Bag> bags;  // by output
    for (const OnnxNode& n : g_.nodes)
      if (auto bag = match_bag_loop(n)) bags[bag->output] = *bag;
    if (bags.empty()) return;
    std::optional<EvalValues> labelled;
    const bool weighted = std::any_of(bags.begin(), bags.end(), [](const auto& b) { return !b.second.weights.empty(); });
    for (auto& [out, bag] : bags) {
      if (!bag.shared_offsets.empty() || (is_input(bag.indices) && is_input(bag.offsets))) continue;
      if (!labelled) labelled = labelled_values(weighted);
      find_bag_source(bag, *labelled);
      if (bag.last_included) offsets_with_last_.insert(bag.matrix_offsets);
    }
    std::set<std::string> merged;  // Loop names
    merge_matrix_bag_runs(bags, merged);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].is_cagr() || g_.nodes[i].op != "Concat" || attr_int(g_.nodes[i], "axis", 0) != 1) continue;
      const OnnxNode cat = g_.nodes[i];  // a copy: nodes may be inserted before it
      std::vector<const Bag*> parts;
      bool stacked = true;
      for (const std::string& in : cat.inputs) {
        std::string src = in;
        const OnnxNode* unsq = producer_of(in, "Unsqueeze");
        const auto axes = unsq ? (unsq->inputs.size() > 1 ? const_ints(unsq->inputs[1]) : std::optional<std::vector<int64_t>>{}) : std::nullopt;
        if (unsq && axes && *axes == std::vector<int64_t>{1}) src = unsq->inputs[0];
        else stacked = false;
        auto it = bags.find(src);
        if (it == bags.end()) break;
        parts.push_back(&it->second);
      }
      if (parts.size() != cat.inputs.size()) continue;
      const Bag& first = *parts[0];
      std::vector<std::string> inputs{first.shared_indices, first.shared_offsets};
      if (rows_line_up(parts)) inputs = matrix_bag_inputs(i, first.matrix_indices, first.matrix_offsets, first.last_included);
      else if (!lines_up(parts)) continue;
      for (const Bag* b : parts) {
        inputs.push_back(b->table);
        merged.insert(b->loop);
      }
      const int64_t dim = constant(first.table)->dims[1], tables = static_cast<int64_t>(parts.size());
      const std::map<std::string, AttrValue> attrs = pooling(parts, i, inputs);
      if (stacked) {
        g_.nodes[i] = cagr_node(cat.name, "embedding_bag", inputs, {cat.outputs[0]}, attrs);
      } else {  // [B, T, D] -> [B, T*D], what concatenating the [B, D] bags gives
        const std::string pooled = fresh(cat.outputs[0] + "_pooled");
        const std::string out = cat.outputs[0], name = cat.name;
        g_.nodes[i] = cagr_node(name, "reshape", {pooled}, {out}, {{"shape", std::vector<int64_t>{0, tables * dim}}});
        g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(name + "_bags", "embedding_bag", inputs, {pooled}, attrs));
        ++i;
      }
      count("embedding_bag (tables merged)", static_cast<int>(tables));
      count("embedding_bag");
    }
    // A bag fed straight from graph inputs (offsets with the final entry), or computed from them in
    // a layout bag_source recognises, stands alone.
    for (const auto& [out, bag] : bags) {
      if (merged.count(bag.loop)) continue;
      if (!bag.matrix_indices.empty()) {
        standalone_computed_bag(out, bag);
        continue;
      }
      if (!is_input(bag.indices) || !is_input(bag.offsets))
        throw std::runtime_error("node '" + bag.loop + "' (Loop): an embedding bag over table '" + bag.table + "' whose indices/offsets are computed in the graph; CAGR imports bags fed by "
                        "graph inputs (include_last_offset=True), or tables 0..T-1 sliced from shared (indices, offsets[T*B+1]) and stacked/concatenated in order");
      const int64_t dim = constant(bag.table)->dims[1];
      const std::string pooled = fresh(out + "_pooled");
      std::vector<std::string> inputs{bag.indices, bag.offsets, bag.table};
      size_t end = g_.nodes.size();
      const std::map<std::string, AttrValue> attrs = pooling({&bag}, end, inputs);
      g_.nodes.push_back(cagr_node(bag.loop + "_bag", "embedding_bag", inputs, {pooled}, attrs));
      g_.nodes.push_back(cagr_node(bag.loop + "_rows", "reshape", {pooled}, {out}, {{"shape", std::vector<int64_t>{0, dim}}}));
      drop_loop(out, bag);
      count("embedding_bag");
    }
    // Nodes were appended: restore the order every consumer relies on.
    sort_topologically();
  }
  // The attributes of the embedding_bag that pools `parts` (its tables in order), and its optional
  // inputs, appended to `inputs` after the tables: the weights flattened to [L] (a reshape before
  // node i; one bag's own, or for merged tables the [T, L] matrix whose rows they are, table-major
  // as the indices), the padding rows as a constant [T].
  std::map<std::string, AttrValue> pooling(const std::vector<const Bag*>& parts, size_t& i, std::vector<std::string>& inputs) {
    std::map<std::string, AttrValue> attrs{{"mode", parts[0]->mode}};
    if (!parts[0]->weights.empty()) {
      const std::string& w = parts.size() == 1 ? parts[0]->weights : parts[0]->matrix_weights;
      inputs.push_back(insert_before(i, w + "_flat", "reshape", {w}, {{"shape", std::vector<int64_t>{-1}}}, w + "_flat"));
      attrs["weighted"] = int64_t{1};
    }
    std::vector<int64_t> padding;
    for (const Bag* b : parts) padding.push_back(b->padding);
    if (std::any_of(padding.begin(), padding.end(), [](int64_t p) { return p >= 0; })) {
      std::vector<std::byte> data(padding.size() * sizeof(int64_t));
      std::memcpy(data.data(), padding.data(), data.size());
      inputs.push_back(add_constant(parts[0]->loop + "_padding_idx",
                                    OnnxConstant{CAGR_DTYPE_I64, {static_cast<int64_t>(padding.size())},
                                                 std::make_shared<const std::vector<std::byte>>(std::move(data))}));
      attrs["padded"] = int64_t{1};
    }
    return attrs;
  }
  // In a Concat on axis 1, a run of bags (side by side as [B, D], or stacked through Unsqueeze(1))
  // that read rows 0..T-1 of the same [T, L] indices and [T, B] offsets, all T rows, becomes one
  // embedding_bag with T tables (DLRM's torch.cat([x] + ly, 1) holds the dense vector too).
  void merge_matrix_bag_runs(const std::map<std::string, Bag>& bags, std::set<std::string>& merged) {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].is_cagr() || g_.nodes[i].op != "Concat" || attr_int(g_.nodes[i], "axis", 0) != 1) continue;
      const OnnxNode cat = g_.nodes[i];
      auto bag_of = [&](const std::string& in, bool& stacked) -> const Bag* {
        std::string src = in;
        const OnnxNode* unsq = producer_of(in, "Unsqueeze");
        const auto axes = unsq && unsq->inputs.size() > 1 ? const_ints(unsq->inputs[1]) : std::nullopt;
        stacked = unsq && axes && *axes == std::vector<int64_t>{1};
        if (stacked) src = unsq->inputs[0];
        auto it = bags.find(src);
        return it == bags.end() || it->second.matrix_offsets.empty() ? nullptr : &it->second;
      };
      std::vector<std::string> inputs;
      bool changed = false;
      for (size_t k = 0; k < cat.inputs.size();) {
        std::vector<const Bag*> run;
        bool stacked = false;
        for (size_t j = k; j < cat.inputs.size(); ++j) {
          bool s_j = false;
          const Bag* b = bag_of(cat.inputs[j], s_j);
          if (!b || (!run.empty() && s_j != stacked)) break;
          stacked = s_j;
          run.push_back(b);
        }
        if (run.size() < 2 || !rows_line_up(run)) {
          inputs.push_back(cat.inputs[k++]);
          continue;
        }
        std::vector<std::string> bag_inputs = matrix_bag_inputs(i, run[0]->matrix_indices, run[0]->matrix_offsets, run[0]->last_included);
        for (const Bag* b : run) {
          bag_inputs.push_back(b->table);
          merged.insert(b->loop);
        }
        const int64_t tables = static_cast<int64_t>(run.size()), dim = constant(run[0]->table)->dims[1];
        const std::map<std::string, AttrValue> attrs = pooling(run, i, bag_inputs);
        std::string pooled = insert_before(i, cat.name + "_bags", "embedding_bag", bag_inputs, attrs, cat.outputs[0] + "_pooled");
        if (!stacked)
          pooled = insert_before(i, cat.name + "_flat", "reshape", {pooled}, {{"shape", std::vector<int64_t>{0, tables * dim}}}, cat.outputs[0] + "_flat");
        inputs.push_back(pooled);
        k += run.size();
        changed = true;
        count("embedding_bag (tables merged)", static_cast<int>(tables));
        count("embedding_bag");
      }
      if (changed) g_.nodes[i].inputs = inputs;
    }
  }
  // Tables 0..T-1 in order: bag t reads row t of the same [T, L] indices and [T, B] offsets, all T rows,
  // and either none has per-sample weights or each has row t of the same [T, L] weights.
  bool rows_line_up(const std::vector<const Bag*>& parts) const {
    const Bag& first = *parts[0];
    if (first.matrix_offsets.empty() || first.vectors || (!first.weights.empty() && first.matrix_weights.empty())) return false;
    const Dims& rows = probes_.find(first.matrix_indices, 0)->dims;
    if (static_cast<int64_t>(parts.size()) != rows[0]) return false;
    for (size_t t = 0; t < parts.size(); ++t) {
      const Bag& b = *parts[t];
      if (b.matrix_indices != first.matrix_indices || b.matrix_offsets != first.matrix_offsets || b.row != static_cast<int64_t>(t) ||
          b.mode != first.mode || b.weights.empty() != first.weights.empty() || b.matrix_weights != first.matrix_weights ||
          constant(b.table)->dims[1] != constant(first.table)->dims[1])
        return false;
    }
    return true;
  }
  // embedding_bag's (indices, offsets) for the rows of `indices` [T, L] with per-table `offsets` [T, B]
  // ([T, B + 1] with `last_included`, whose last column, L as PyTorch requires, is dropped): the
  // matrix flattened (table-major already) and table_offsets. Nodes go before node i.
  std::vector<std::string> matrix_bag_inputs(size_t& i, const std::string& indices, std::string offsets, bool last_included) {
    const std::string flat = insert_before(i, indices + "_flat", "reshape", {indices}, {{"shape", std::vector<int64_t>{-1}}}, indices + "_flat");
    if (last_included)
      offsets = insert_before(i, offsets + "_starts", "slice", {offsets},
                              {{"starts", std::vector<int64_t>{0}}, {"ends", std::vector<int64_t>{-1}}, {"axes", std::vector<int64_t>{1}},
                               {"steps", std::vector<int64_t>{1}}},
                              offsets + "_starts");
    const std::string global = insert_before(i, offsets + "_global", "table_offsets", {offsets, indices}, {}, offsets + "_global");
    return {flat, global};
  }
  // One computed bag on its own: its row of the matrices (sliced), or the fixed-size bags of an id matrix.
  void standalone_computed_bag(const std::string& out, const Bag& bag) {
    std::vector<std::string> inputs;
    size_t end = g_.nodes.size();
    if (bag.bag_size > 0) {
      std::string ids = bag.matrix_indices;
      if (bag.column > 0 || bag.bag_size < probes_.find(ids, 0)->dims[1])
        ids = insert_before(end, bag.loop + "_columns", "slice", {ids},
                            {{"starts", std::vector<int64_t>{bag.column}}, {"ends", std::vector<int64_t>{bag.column + bag.bag_size}},
                             {"axes", std::vector<int64_t>{1}}, {"steps", std::vector<int64_t>{1}}},
                            bag.loop + "_columns");
      const std::string flat = insert_before(end, bag.loop + "_ids", "reshape", {ids}, {{"shape", std::vector<int64_t>{-1}}}, bag.loop + "_ids");
      inputs = {flat, insert_before(end, bag.loop + "_offsets", "fixed_bag_offsets", {flat}, {{"bag_size", bag.bag_size}}, bag.loop + "_offsets")};
    } else {  // its row of the matrices (a 1-D input is a matrix of one row)
      const std::map<std::string, AttrValue> row =
          bag.vectors ? std::map<std::string, AttrValue>{{"shape", std::vector<int64_t>{1, -1}}}
                      : std::map<std::string, AttrValue>{{"starts", std::vector<int64_t>{bag.row}}, {"ends", std::vector<int64_t>{bag.row + 1}},
                                                         {"axes", std::vector<int64_t>{0}}, {"steps", std::vector<int64_t>{1}}};
      const char* op = bag.vectors ? "reshape" : "slice";
      inputs = matrix_bag_inputs(end, insert_before(end, bag.loop + "_index_row", op, {bag.matrix_indices}, row, bag.loop + "_index_row"),
                                 insert_before(end, bag.loop + "_offset_row", op, {bag.matrix_offsets}, row, bag.loop + "_offset_row"),
                                 bag.last_included);
    }
    inputs.push_back(bag.table);
    const int64_t dim = constant(bag.table)->dims[1];
    const std::string pooled = fresh(out + "_pooled");
    const std::map<std::string, AttrValue> attrs = pooling({&bag}, end, inputs);
    g_.nodes.push_back(cagr_node(bag.loop + "_bag", "embedding_bag", inputs, {pooled}, attrs));
    g_.nodes.push_back(cagr_node(bag.loop + "_rows", "reshape", {pooled}, {out}, {{"shape", std::vector<int64_t>{0, dim}}}));
    drop_loop(out, bag);
    count("embedding_bag (computed indices/offsets)");
  }
  // A standalone bag's output `out` has a producer of its own now: the Loop and the ONNX node that
  // wrote the output (dynamo: ConcatFromSequence, Cast) go, and with them what only they read.
  void drop_loop(const std::string& out, const Bag& bag) {
    g_.nodes.erase(std::remove_if(g_.nodes.begin(), g_.nodes.end(),
                                  [&](const OnnxNode& n) {
                                    return !n.is_cagr() && (n.name == bag.loop || std::count(n.outputs.begin(), n.outputs.end(), out));
                                  }),
                   g_.nodes.end());
  }
  // Tables 0..T-1: bag t reads offsets[t*B, (t+1)*B + 1) at both probe batch sizes.
  bool lines_up(const std::vector<const Bag*>& parts) const {
    for (size_t t = 0; t < parts.size(); ++t) {
      const Bag& b = *parts[t];
      if (b.shared_offsets.empty() || b.shared_offsets != parts[0]->shared_offsets || b.shared_indices != parts[0]->shared_indices ||
          b.mode != parts[0]->mode || !b.weights.empty() || constant(b.table)->dims[1] != constant(parts[0]->table)->dims[1])
        return false;
      for (int i = 0; i < 2; ++i) {
        const int64_t batch = kProbeBatches[i], tt = static_cast<int64_t>(t);
        if (b.start[i] != tt * batch || b.end[i] != (tt + 1) * batch + 1) return false;
      }
    }
    return true;
  }
  void sort_topologically() {
    std::set<std::string> ready;
    for (const OnnxInput& in : g_.inputs) ready.insert(in.name);
    for (const auto& [name, c] : g_.constants) ready.insert(name);
    std::vector<OnnxNode> order;
    std::vector<bool> placed(g_.nodes.size(), false);
    for (bool progress = true; progress;) {
      progress = false;
      for (size_t i = 0; i < g_.nodes.size(); ++i) {
        if (placed[i]) continue;
        std::set<std::string> needs(g_.nodes[i].inputs.begin(), g_.nodes[i].inputs.end());
        for (const auto& [key, sub] : g_.nodes[i].subgraphs) captures_of(*sub, needs);
        if (!std::all_of(needs.begin(), needs.end(), [&](const std::string& t) { return t.empty() || ready.count(t); })) continue;
        placed[i] = progress = true;
        for (const std::string& o : g_.nodes[i].outputs) ready.insert(o);
        order.push_back(std::move(g_.nodes[i]));
      }
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!placed[i]) order.push_back(std::move(g_.nodes[i]));  // unreachable parts: dead, removed later
    g_.nodes = std::move(order);
  }

  // ---- linear --------------------------------------------------------------------------------------
  OnnxConstant transposed(const OnnxConstant& w) const {
    const int64_t rows = w.dims[0], cols = w.dims[1];
    std::vector<std::byte> data(w.data->size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) std::memcpy(&data[static_cast<size_t>((c * rows + r) * 4)], &(*w.data)[static_cast<size_t>((r * cols + c) * 4)], 4);
    return OnnxConstant{w.dtype, {cols, rows}, std::make_shared<const std::vector<std::byte>>(std::move(data))};
  }
  // A [N] bias from a constant of N elements ([N], [1, N]).
  std::optional<std::string> bias_of(const std::string& t, int64_t n) {
    const OnnxConstant* c = constant(t);
    if (!c || c->dtype != CAGR_DTYPE_F32 || element_count(c->dims) != n) return std::nullopt;
    if (c->dims == Dims{n}) return t;
    return add_constant(t + "_row", OnnxConstant{c->dtype, {n}, c->data});
  }
  // MatMul(Concat(.., a, .., b, .., a - b, ..), W) with constant W, the concat on the last axis and
  // read by nothing else: W's rows for the part a - b fold into a's (added) and b's (subtracted), and
  // the part leaves the concat (a + b likewise). DIN's attention unit, an MLP over
  // concat(q, k, q - k, q * k), then multiplies 3D columns instead of 4D and computes no q - k.
  // Exact in real arithmetic; in f32 the sums round differently (the gallery checks 1e-5).
  bool fold_concat_combinations(size_t i) {
    const OnnxNode& n = g_.nodes[i];
    const OnnxConstant* w = n.op == "MatMul" && n.inputs.size() == 2 ? constant(n.inputs[1]) : nullptr;
    if (!w || w->dims.size() != 2 || w->dtype != CAGR_DTYPE_F32) return false;
    const OnnxNode* cat = producer_of(n.inputs[0], "Concat");
    const auto cat_dims = cat ? probes_.dims(cat->outputs[0]) : std::nullopt;
    if (!cat || sole_reader(cat->outputs[0]) != &n || !cat_dims || cat_dims->empty()) return false;
    const auto rank = static_cast<int64_t>(cat_dims->size());
    if (int64_t axis = attr_int(*cat, "axis", 0); axis != rank - 1 && axis != -1) return false;
    std::vector<int64_t> start;
    int64_t k = 0;
    for (const std::string& part : cat->inputs) {
      const auto d = probes_.dims(part);
      if (!d || static_cast<int64_t>(d->size()) != rank || d->back() <= 0) return false;
      start.push_back(k);
      k += d->back();
    }
    if (k != w->dims[0]) return false;
    auto part_of = [&](const std::string& t, size_t not_j) -> std::optional<size_t> {
      for (size_t p = 0; p < cat->inputs.size(); ++p)
        if (p != not_j && cat->inputs[p] == t) return p;
      return std::nullopt;
    };
    for (size_t j = 0; j < cat->inputs.size(); ++j) {
      const OnnxNode* comb = producer(cat->inputs[j]);
      if (!comb || comb->is_cagr() || (comb->op != "Sub" && comb->op != "Add") || comb->inputs.size() != 2) continue;
      const auto a = part_of(comb->inputs[0], j), b = part_of(comb->inputs[1], j);
      // Same shapes all round: a broadcasting Sub is not a column-wise combination of the parts.
      if (!a || !b || *a == *b || probes_.dims(comb->inputs[0]) != probes_.dims(cat->inputs[j]) ||
          probes_.dims(comb->inputs[1]) != probes_.dims(cat->inputs[j]))
        continue;
      const int64_t cols = w->dims[1], width = probes_.dims(cat->inputs[j])->back();
      const float* from = reinterpret_cast<const float*>(w->data->data());
      std::vector<float> folded(from, from + w->dims[0] * cols);
      const float sign = comb->op == "Sub" ? -1.0f : 1.0f;
      for (int64_t r = 0; r < width; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const float d = folded[static_cast<size_t>((start[j] + r) * cols + c)];
          folded[static_cast<size_t>((start[*a] + r) * cols + c)] += d;
          folded[static_cast<size_t>((start[*b] + r) * cols + c)] += sign * d;
        }
      folded.erase(folded.begin() + start[j] * cols, folded.begin() + (start[j] + width) * cols);
      auto bytes = std::make_shared<std::vector<std::byte>>(folded.size() * sizeof(float));
      std::memcpy(bytes->data(), folded.data(), bytes->size());
      const std::string weight = add_constant(n.inputs[1] + "_folded", OnnxConstant{w->dtype, {k - width, cols}, std::move(bytes)});
      const std::string out = fresh(cat->outputs[0] + "_folded");
      for (auto& probe : probes_.at)  // the concat's probed shape less the part's width; its values are not needed
        if (auto it = probe.find(cat->outputs[0]); it != probe.end()) {
          EvalValue v{it->second.dtype, it->second.dims, std::nullopt};
          v.dims.back() -= width;
          probe[out] = std::move(v);
        }
      const std::string cat_name = cat->name;
      g_.nodes[i].inputs = {out, weight};
      for (OnnxNode& c : g_.nodes)
        if (c.name == cat_name && !c.is_cagr()) {
          c.inputs.erase(c.inputs.begin() + static_cast<long>(j));
          c.outputs[0] = out;
        }
      count("linear over a concat: a Sub/Add of two of its parts folded into the weights");
      return true;
    }
    return false;
  }
  // Gemm(X, W, C) with constant W (alpha = beta = 1, X not transposed), or MatMul(X, W) with a
  // constant 2-D W, optionally followed by Add(bias): linear(X, W as [N, K], bias).
  bool rewrite_linear(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const OnnxConstant* w = n.inputs.size() > 1 ? constant(n.inputs[1]) : nullptr;
    if (!w || w->dims.size() != 2 || w->dtype != CAGR_DTYPE_F32) return false;
    const auto x_dims = probes_.dims(n.inputs[0]);
    if (!x_dims || x_dims->size() < 2) return false;
    // Rows of a higher-rank X (DIN's attention MLP over [B, S, K]) are its leading dims flattened;
    // one of them may follow the batch.
    if (x_dims->size() > 2 && (n.op != "MatMul" || std::count(x_dims->begin(), x_dims->end() - 1, kDynamic) > 1 || x_dims->back() < 0))
      return false;
    std::string weight = n.inputs[1], out = n.outputs[0];
    std::vector<std::string> drop{};
    std::optional<std::string> bias;
    if (n.op == "Gemm") {
      if (attr_int(n, "transA", 0) != 0 || attr_float(n, "alpha", 1.0) != 1.0 || attr_float(n, "beta", 1.0) != 1.0) return false;
      if (!attr_int(n, "transB", 0)) weight = add_constant(weight + "_t", transposed(*w));
      const int64_t outs = constant(weight)->dims[0];
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        bias = bias_of(n.inputs[2], outs);
        if (!bias) return false;
      }
    } else if (n.op == "MatMul") {
      weight = add_constant(weight + "_t", transposed(*w));
      const int64_t outs = w->dims[1];
      if (const OnnxNode* add = single_consumer(out, "Add"); add && std::count(g_.outputs.begin(), g_.outputs.end(), out) == 0) {
        const std::string other = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
        if ((bias = bias_of(other, outs))) {
          out = add->outputs[0];
          drop.push_back(add->name);
        }
      }
    } else {
      return false;
    }
    std::vector<std::string> inputs{n.inputs[0], weight};
    if (bias) inputs.push_back(*bias);
    if (x_dims->size() > 2) {  // [..., K] -> [rows, K] -> linear -> [..., N]
      std::vector<int64_t> back(x_dims->begin(), x_dims->end());
      back.back() = constant(weight)->dims[0];
      for (int64_t& d : back)
        if (d == kDynamic) d = -1;
      const std::string rows = insert_before(i, n.name + "_rows", "reshape", {n.inputs[0]}, {{"shape", std::vector<int64_t>{-1, x_dims->back()}}},
                                             n.inputs[0] + "_rows");
      const std::string y = fresh(out + "_rows");
      inputs[0] = rows;
      g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(fresh(n.name + "_linear"), "linear", inputs, {y}, {{"activation", std::string("none")}}));
      ++i;
      g_.nodes[i] = cagr_node(n.name, "reshape", {y}, {out}, {{"shape", back}});
    } else {
      g_.nodes[i] = cagr_node(n.name, "linear", inputs, {out}, {{"activation", std::string("none")}});
    }
    for (const std::string& d : drop)
      g_.nodes.erase(std::remove_if(g_.nodes.begin(), g_.nodes.end(), [&](const OnnxNode& x) { return x.name == d && !x.is_cagr(); }), g_.nodes.end());
    count("linear (from " + n.op + (drop.empty() ? "" : "+Add") + ")");
    probe_shapes_of(out, n.outputs[0]);
    return true;
  }
  // Keeps probe shapes for a tensor a rewrite renamed.
  void probe_shapes_of(const std::string& now, const std::string& before) {
    for (auto& p : probes_.at)
      if (p.count(before) && !p.count(now)) p[now] = p[before];
  }
  // linear -> Relu/Sigmoid with nothing else reading the linear (also through the reshape back to a
  // higher rank that a linear over [..., K] rows ends with): the activation moves into the linear.
  const OnnxNode* sole_reader(const std::string& t) const {
    const auto users = g_.consumers(t);
    return users.size() == 1 && !std::count(g_.outputs.begin(), g_.outputs.end(), t) ? users[0] : nullptr;
  }
  void fuse_activations() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      OnnxNode& lin = g_.nodes[i];
      if (!lin.is_cagr() || lin.op != "linear" || std::get<std::string>(lin.attrs["activation"]) != "none") continue;
      const OnnxNode* next = sole_reader(lin.outputs[0]);
      const OnnxNode* view = next && next->is_cagr() && next->op == "reshape" ? next : nullptr;
      const OnnxNode* act = view ? sole_reader(view->outputs[0]) : next;
      if (!act || !act->is_cagr() || (act->op != "relu" && act->op != "sigmoid")) continue;
      const std::string act_name = act->name, act_out = act->outputs[0], op = act->op;
      lin.attrs["activation"] = op;
      if (view) {
        const std::string view_name = view->name;
        std::find_if(g_.nodes.begin(), g_.nodes.end(), [&](const OnnxNode& x) { return x.name == view_name && x.is_cagr(); })->outputs[0] = act_out;
      } else {
        g_.nodes[i].outputs[0] = act_out;
      }
      count("linear + " + op + " fused");
      g_.nodes.erase(std::find_if(g_.nodes.begin(), g_.nodes.end(), [&](const OnnxNode& x) { return x.name == act_name && x.is_cagr(); }));
    }
  }

  // ---- nn.Embedding per table, looked up with ids[:, t] ---------------------------------------------
  // gather(table_t, take(ids, t, axis 1)): one id per (sample, table). A run of these over columns
  // c0, c0+1, .. of the same ids, side by side in a concat on axis 1 (as [B, D] pieces, or stacked as
  // [B, 1, D]), becomes one multi-table embedding_bag over the ids transposed table-major, with
  // offsets 0, 1, 2, .. (fixed_bag_offsets): the op the zoo's models use, one launch for all tables.
  struct Lookup {
    std::string ids, table, out;
    int64_t column = 0, dim = 0;
  };
  std::optional<Lookup> one_hot_lookup(const std::string& t) const {
    const OnnxNode* g = producer(t);
    if (!g || !g->is_cagr() || g->op != "gather" || consumers(t) != 1) return std::nullopt;
    const OnnxConstant* table = constant(g->inputs[0]);
    const OnnxNode* take = producer(g->inputs[1]);
    if (!table || table->dims.size() != 2 || !take || !take->is_cagr() || take->op != "take") return std::nullopt;
    const auto ids = probes_.dims(take->inputs[0]);
    const auto column = const_ints(take->inputs[1]);
    const int64_t axis = std::get<int64_t>(take->attrs.at("axis"));
    if (!ids || ids->size() != 2 || (*ids)[1] < 0 || (axis != 1 && axis != -1) || !column || column->size() != 1 ||
        constant(take->inputs[1])->dims.size() != 0)
      return std::nullopt;
    const int64_t c = (*column)[0] < 0 ? (*column)[0] + (*ids)[1] : (*column)[0];
    return Lookup{take->inputs[0], g->inputs[0], t, c, table->dims[1]};
  }
  // A concat input that is a lookup (flat), or a lookup reshaped to [B, 1, D] (stacked).
  std::optional<Lookup> lookup_piece(const std::string& t, bool stacked) const {
    if (!stacked) return one_hot_lookup(t);
    const OnnxNode* r = producer(t);
    if (!r || !r->is_cagr() || r->op != "reshape" || consumers(t) != 1) return std::nullopt;
    auto l = one_hot_lookup(r->inputs[0]);
    const auto d = probes_.dims(t);
    if (!l || !d || d->size() != 3 || (*d)[1] != 1) return std::nullopt;
    return l;
  }
  void rewrite_one_hot_lookups() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      OnnxNode cat = g_.nodes[i];
      const auto out = probes_.dims(cat.outputs[0]);
      if (!cat.is_cagr() || cat.op != "concat" || !out || (out->size() != 2 && out->size() != 3)) continue;
      const int64_t axis = std::get<int64_t>(cat.attrs.at("axis"));
      if (axis != 1 && axis != 1 - static_cast<int64_t>(out->size())) continue;
      const bool stacked = out->size() == 3;
      std::vector<std::string> inputs;
      bool changed = false;
      for (size_t k = 0; k < cat.inputs.size();) {
        std::vector<Lookup> run;
        for (size_t j = k; j < cat.inputs.size(); ++j) {
          auto l = lookup_piece(cat.inputs[j], stacked);
          if (!l || (!run.empty() && (l->ids != run[0].ids || l->dim != run[0].dim || l->column != run.back().column + 1))) break;
          run.push_back(*l);
        }
        if (run.size() < 2) {
          inputs.push_back(cat.inputs[k++]);
          continue;
        }
        inputs.push_back(merged_lookup(i, run, stacked));
        k += run.size();
        changed = true;
      }
      if (!changed) continue;
      g_.nodes[i].inputs = inputs;
      if (inputs.size() == 1) {  // the concat of one input is its input
        alias(g_.nodes[i].outputs[0], inputs[0]);
        g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
      }
    }
  }
  // sum(e(ids[:, t]) for t ...) (Wide & Deep's first-order terms): a left-deep chain of adds whose
  // operands are lookups of consecutive columns of the same ids becomes one embedding_bag over them
  // and a reduce_sum over the tables.
  static bool is_add(const OnnxNode* n) {
    return n && n->is_cagr() && (n->op == "add" || (n->op == "elementwise" && std::get<std::string>(n->attrs.at("fn")) == "add"));
  }
  // The lookups `t` sums, leftmost first, or empty where it is not such a chain.
  std::vector<Lookup> summed_lookups(const std::string& t) const {
    const OnnxNode* a = producer(t);
    if (!is_add(a) || a->inputs.size() != 2) return {};
    auto right = one_hot_lookup(a->inputs[1]);
    if (!right) return {};
    std::vector<Lookup> left;
    if (auto l = one_hot_lookup(a->inputs[0])) left = {*l};
    else if (consumers(a->inputs[0]) == 1) left = summed_lookups(a->inputs[0]);
    if (left.empty()) return {};
    left.push_back(*right);
    return left;
  }
  void rewrite_summed_lookups() {
    for (size_t i = g_.nodes.size(); i-- > 0;) {  // from the last: a chain's top before its inner adds
      const OnnxNode n = g_.nodes[i];
      if (!is_add(&n)) continue;
      const std::vector<Lookup> run = summed_lookups(n.outputs[0]);
      bool lined_up = run.size() >= 2;
      for (size_t k = 1; k < run.size() && lined_up; ++k)
        lined_up = run[k].ids == run[0].ids && run[k].dim == run[0].dim && run[k].column == run[k - 1].column + 1;
      if (!lined_up) continue;
      const std::string pooled = merged_lookup(i, run, true);
      g_.nodes[i] = cagr_node(n.name, "reduce_sum", {pooled}, {n.outputs[0]}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}});
      count("reduce_sum of one embedding_bag (from a sum of lookups)");
    }
  }
  // The nodes computing `run` as one embedding_bag, inserted before node i (i moves past them);
  // returns the [B, T, D] (stacked) or [B, T*D] result.
  std::string merged_lookup(size_t& i, const std::vector<Lookup>& run, bool stacked) {
    const Lookup& first = run[0];
    const int64_t tables = static_cast<int64_t>(run.size());
    const std::string base = first.ids + "_lookup";
    std::string ids = first.ids;
    if (first.column != 0 || tables != (*probes_.dims(ids))[1])
      ids = insert_before(i, base + "_cols", "slice", {ids},
                          {{"starts", std::vector<int64_t>{first.column}}, {"ends", std::vector<int64_t>{first.column + tables}},
                           {"axes", std::vector<int64_t>{1}}, {"steps", std::vector<int64_t>{1}}}, base + "_cols");
    const std::string by_table = insert_before(i, base + "_by_table", "transpose", {ids}, {{"perm", std::vector<int64_t>{1, 0}}}, base + "_by_table");
    const std::string indices = insert_before(i, base + "_indices", "reshape", {by_table}, {{"shape", std::vector<int64_t>{-1}}}, base + "_indices");
    const std::string offsets = insert_before(i, base + "_offsets", "fixed_bag_offsets", {indices}, {{"bag_size", int64_t{1}}}, base + "_offsets");
    std::vector<std::string> inputs{indices, offsets};
    for (const Lookup& l : run) inputs.push_back(l.table);
    const std::string pooled = insert_before(i, base + "_bags", "embedding_bag", inputs, {{"mode", std::string("sum")}}, base + "_pooled");
    const std::string flat = stacked ? pooled : insert_before(i, base + "_flat", "reshape", {pooled}, {{"shape", std::vector<int64_t>{0, tables * first.dim}}}, base + "_flat");
    for (int p = 0; p < 2; ++p) {  // shapes for the rewrites that follow
      const int64_t batch = probes_.find(first.ids, p)->dims[0];
      probes_.at[p][pooled] = EvalValue{CAGR_DTYPE_F32, {batch, tables, first.dim}, std::nullopt};
      if (!stacked) probes_.at[p][flat] = EvalValue{CAGR_DTYPE_F32, {batch, tables * first.dim}, std::nullopt};
    }
    count("embedding_bag (one-hot lookups merged)", static_cast<int>(tables));
    count("embedding_bag");
    return flat;
  }

  // DLRM's features as PyTorch code builds them, torch.cat([x] + ly, 1).view(B, -1, D): a concat of
  // [B, w] pieces (w a multiple of D) read only by a reshape to [B, F, D] becomes a concat of the
  // pieces as [B, w/D, D] rows, where the pooled embeddings enter as they are ([B, T, D]): the
  // chain the zoo's DLRM has, which the core fuses into dlrm_interaction where a device offers it.
  bool stack_features(size_t i) {
    const OnnxNode view = g_.nodes[i];
    if (view.op != "reshape") return false;
    const OnnxNode* cat = producer(view.inputs[0]);
    const auto out = probes_.dims(view.outputs[0]), flat = probes_.dims(view.inputs[0]);
    if (!cat || !cat->is_cagr() || cat->op != "concat" || consumers(view.inputs[0]) != 1 || !out || out->size() != 3 || !flat ||
        flat->size() != 2 || (*out)[0] != kDynamic || (*out)[2] <= 0)
      return false;
    const int64_t dim = (*out)[2];
    std::vector<std::string> rows;
    const OnnxNode c = *cat;
    for (const std::string& piece : c.inputs) {
      const OnnxNode* p = producer(piece);
      const auto d = dims_of(c, piece);
      if (d.size() != 2 || d[1] < 0 || d[1] % dim != 0) return false;
      const auto before = p && p->is_cagr() && p->op == "reshape" ? probes_.dims(p->inputs[0]) : std::nullopt;
      if (before && before->size() == 3 && (*before)[2] == dim && consumers(piece) == 1) rows.push_back(p->inputs[0]);
      else rows.push_back(insert_before(i, piece + "_rows", "reshape", {piece}, {{"shape", std::vector<int64_t>{0, d[1] / dim, dim}}}, piece + "_rows"));
    }
    for (const std::string& r : rows)  // shapes for later rewrites
      if (!probes_.find(r)) for (int p = 0; p < 2; ++p) {
          const EvalValue* v = probes_.find(producer(r)->inputs[0], p);
          probes_.at[p][r] = EvalValue{CAGR_DTYPE_F32, {v->dims[0], v->dims[1] / dim, dim}, std::nullopt};
        }
    g_.nodes[i] = cagr_node(view.name, "concat", rows, {view.outputs[0]}, {{"axis", int64_t{1}}});
    count("concat of feature rows (from concat + reshape)");
    return true;
  }
  // A CAGR node that repeats an earlier one (the same op, inputs and attributes) reads the earlier
  // one's outputs instead: DeepFM's and Wide & Deep's two sets of per-field lookups each turn the
  // same ids table-major and count their offsets, twice per pass otherwise.
  void merge_repeated_nodes() {
    std::map<std::tuple<std::string, std::vector<std::string>, std::map<std::string, AttrValue>>, std::vector<std::string>> seen;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const OnnxNode n = g_.nodes[i];
      if (!n.is_cagr() || !n.subgraphs.empty() || !n.tensor_attrs.empty()) continue;
      const auto [it, first] = seen.emplace(std::make_tuple(n.op, n.inputs, n.attrs), n.outputs);
      if (first || it->second.size() != n.outputs.size() ||
          std::any_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return std::count(g_.outputs.begin(), g_.outputs.end(), o) != 0; }))
        continue;
      for (size_t o = 0; o < n.outputs.size(); ++o) alias(n.outputs[o], it->second[o]);
      count("repeated node merged");
    }
  }
  // A reshape to the shape its input already has, at both probes.
  bool drop_identity_reshape(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.op != "reshape" || std::count(g_.outputs.begin(), g_.outputs.end(), n.outputs[0])) return false;
    for (int p = 0; p < 2; ++p) {
      const EvalValue *a = probes_.find(n.inputs[0], p), *b = probes_.find(n.outputs[0], p);
      if (!a || !b || a->dims != b->dims) return false;
    }
    alias(n.outputs[0], n.inputs[0]);
    g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    count("reshape to the same shape removed");
    return true;
  }
  // transpose -> reshape -> transpose that leaves every element where it was (xDeepFM: the einsum's
  // output order, reshaped, moved back to channels-last by its pointwise conv) is one reshape, a
  // view: checked by moving element numbers through the chain at both probe sizes.
  bool cancel_transposes(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.op != "transpose") return false;
    const OnnxNode* r = sole_cagr_producer(n.inputs[0], "reshape");
    const OnnxNode* t = r ? sole_cagr_producer(r->inputs[0], "transpose") : nullptr;
    if (!t) return false;
    const std::vector<int64_t> first = perm_of(*t), second = perm_of(n);
    Dims out[2];
    for (int p = 0; p < 2; ++p) {
      const EvalValue *moved = probes_.find(t->outputs[0], p), *reshaped = probes_.find(r->outputs[0], p);
      if (!moved || !reshaped || reshaped->dims.size() != second.size() || !moves_no_element(moved->dims, first, reshaped->dims, second))
        return false;
      for (int64_t k : second) out[p].push_back(reshaped->dims[static_cast<size_t>(k)]);
    }
    std::vector<int64_t> spec;
    for (size_t k = 0; k < out[0].size(); ++k) spec.push_back(out[0][k] == out[1][k] ? out[0][k] : -1);
    if (std::count(spec.begin(), spec.end(), -1) > 1) return false;
    g_.nodes[i] = cagr_node(n.name, "reshape", {t->inputs[0]}, {n.outputs[0]}, {{"shape", spec}});
    count("transpose + reshape + transpose that move nothing: one reshape");
    return true;
  }
  // transpose -> take along axis a with indices of rank 1 -> the transpose back is one take along the
  // source's axis perm[a], with no copy of the whole tensor either side (FiBiNET's dynamo export writes
  // v[:, pairs] so: [B, F, D] moved to [F, B, D], a GatherND over F, moved back; the two moves took
  // 13 ms of its 74 ms pass at batch 2048 on one thread of the VM).
  bool take_through_transposes(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.op != "transpose") return false;
    const OnnxNode* take = sole_cagr_producer(n.inputs[0], "take");
    const OnnxNode* t = take ? producer(take->inputs[0]) : nullptr;  // the source transpose may have other readers
    if (!t || !t->is_cagr() || t->op != "transpose") return false;
    const std::vector<int64_t> first = perm_of(*t), second = perm_of(n);
    const auto data = probes_.dims(take->inputs[0]), picked = probes_.dims(take->outputs[0]);
    if (!data || !picked || data->size() != picked->size() || first.size() != data->size() || second.size() != first.size()) return false;
    for (size_t k = 0; k < second.size(); ++k)  // out dim k = source dim first[second[k]]: the source's order again
      if (first.at(static_cast<size_t>(second[k])) != static_cast<int64_t>(k)) return false;
    const auto axis_attr = take->attrs.find("axis");
    int64_t axis = axis_attr == take->attrs.end() ? 0 : std::get<int64_t>(axis_attr->second);
    if (axis < 0) axis += static_cast<int64_t>(first.size());
    g_.nodes[i] = cagr_node(n.name, "take", {t->inputs[0], take->inputs[1]}, {n.outputs[0]}, {{"axis", first.at(static_cast<size_t>(axis))}});
    count("transpose + take + transpose back: one take");
    return true;
  }
  // Whether transposing by `first` (to `moved` dims), reshaping to `reshaped` and transposing by
  // `second` keeps every element's place.
  static bool moves_no_element(const Dims& moved, const std::vector<int64_t>& first, const Dims& reshaped, const std::vector<int64_t>& second) {
    const int64_t count = element_count(moved);
    if (count < 0 || count > (int64_t{1} << 22) || first.size() != moved.size()) return false;
    Dims source(moved.size());
    for (size_t k = 0; k < first.size(); ++k) source.at(static_cast<size_t>(first[k])) = moved[k];
    std::vector<int64_t> ids(static_cast<size_t>(count));
    std::iota(ids.begin(), ids.end(), 0);
    ids = transposed_ids(ids, source, first);
    ids = transposed_ids(ids, reshaped, second);
    for (int64_t k = 0; k < count; ++k)
      if (ids[static_cast<size_t>(k)] != k) return false;
    return true;
  }
  // `ids`, laid out as `dims`, transposed by `perm` (out dim k = dim perm[k]).
  static std::vector<int64_t> transposed_ids(const std::vector<int64_t>& ids, const Dims& dims, const std::vector<int64_t>& perm) {
    const size_t rank = dims.size();
    std::vector<int64_t> strides(rank, 1), out_dims(rank), index(rank, 0), out;
    for (size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * dims[d];
    for (size_t k = 0; k < rank; ++k) out_dims[k] = dims.at(static_cast<size_t>(perm[k]));
    out.reserve(ids.size());
    for (size_t n = 0; n < ids.size(); ++n) {
      int64_t at = 0;
      for (size_t k = 0; k < rank; ++k) at += index[k] * strides[static_cast<size_t>(perm[k])];
      out.push_back(ids.at(static_cast<size_t>(at)));
      for (size_t k = rank; k-- > 0;) {  // the next output index, last dimension fastest
        if (++index[k] < out_dims[k]) break;
        index[k] = 0;
      }
    }
    return out;
  }
  void for_each_cagr_node(const std::function<bool(size_t)>& rewrite) {
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (g_.nodes[i].is_cagr() && rewrite(i)) i = static_cast<size_t>(-1);
  }

  // ---- DLRM's dot interaction ------------------------------------------------------------------
  // Z = MatMul(X, Transpose(X, [0, 2, 1])) on X [B, F, D], then any chain of data-movement ops
  // (Transpose, Flatten, Gather, GatherND, Reshape...) whose result is the lower triangle of Z,
  // row by row. The chain is checked by running it on Z filled with its own element numbers.
  bool rewrite_dot_interaction(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.op != "MatMul") return false;
    const OnnxNode* tr = producer_of(n.inputs[1], "Transpose");
    if (!tr || tr->inputs[0] != n.inputs[0] || !tr->attrs.count("perm") || std::get<std::vector<int64_t>>(tr->attrs.at("perm")) != std::vector<int64_t>{0, 2, 1})
      return false;
    const EvalValue* z = probes_.find(n.outputs[0]);
    if (!z || z->dims.size() != 3) return false;
    const int64_t batch = z->dims[0], f = z->dims[1];
    EvalValues seeds;
    for (const OnnxInput& in : g_.inputs) seeds[in.name] = *probes_.find(in.name);
    std::vector<double> ids(static_cast<size_t>(batch * f * f));
    std::iota(ids.begin(), ids.end(), 0.0);
    seeds[n.outputs[0]] = EvalValue{CAGR_DTYPE_F32, z->dims, ids};
    const EvalValues values = evaluate(g_, seeds);
    static const std::set<std::string> movement{"Transpose", "Flatten", "Reshape", "Gather", "GatherND", "Squeeze", "Unsqueeze", "Identity", "Slice"};
    std::string at = n.outputs[0];
    for (;;) {
      const OnnxNode* next = nullptr;
      for (const OnnxNode* c : g_.consumers(at))
        if (!c->is_cagr() && movement.count(c->op) && c->inputs[0] == at) next = next ? nullptr : c;
      if (!next) return false;
      at = next->outputs[0];
      auto v = values.find(at);
      if (v == values.end() || !v->second.values) return false;
      for (int self = 0; self < 2; ++self) {
        if (!is_lower_triangle(v->second, batch, f, self)) continue;
        const std::string chain_end = next->name;
        g_.nodes[i] = cagr_node(n.name, "dot_interaction", {n.inputs[0]}, {at}, {{"self_interaction", int64_t{self}}});
        g_.nodes.erase(std::find_if(g_.nodes.begin(), g_.nodes.end(), [&](const OnnxNode& x) { return x.name == chain_end && !x.is_cagr(); }));
        count("dot_interaction");
        return true;
      }
    }
  }
  static bool is_lower_triangle(const EvalValue& v, int64_t batch, int64_t f, int self) {
    const int64_t pairs = self ? f * (f + 1) / 2 : f * (f - 1) / 2;
    if (v.dims != Dims{batch, pairs}) return false;
    for (int64_t b = 0, k = 0; b < batch; ++b)
      for (int64_t r = self ? 0 : 1; r < f; ++r)
        for (int64_t c = 0; c < r + self; ++c, ++k) {
          const double got = (*v.values)[static_cast<size_t>(k)];
          // Z is symmetric: (c, r) is the same dot product as (r, c).
          if (got != static_cast<double>((b * f + r) * f + c) && got != static_cast<double>((b * f + c) * f + r)) return false;
        }
    return true;
  }

  // ---- DeepFM's FM term ------------------------------------------------------------------------
  // 0.5 * ReduceSum(square(ReduceSum(X, 1)) - ReduceSum(square(X), 1), 1, keepdims) on X [B, F, D],
  // or with the field sums keeping their axis and the outer sum over axis 2 dropping it (DeepFM as
  // its papers' code writes it); square is Mul(a, a) or Pow(a, 2).
  // Whether a and b are the same value: one tensor, or twice the same op on the same inputs.
  bool same_value(const std::string& a, const std::string& b) const {
    if (a == b) return true;
    const OnnxNode *pa = producer(a), *pb = producer(b);
    return pa && pb && !pa->is_cagr() && !pb->is_cagr() && pa->op == pb->op && pa->inputs == pb->inputs && pa->attrs == pb->attrs;
  }
  std::optional<std::string> squared(const std::string& t) const {
    const OnnxNode* p = producer(t);
    if (!p || p->is_cagr() || p->inputs.size() != 2) return std::nullopt;  // Mul and Pow take two
    if (p->op == "Mul" && same_value(p->inputs[0], p->inputs[1])) return p->inputs[0];
    if (p->op == "Pow" && scalar_constant(p->inputs[1]) == 2.0) return p->inputs[0];
    return std::nullopt;
  }
  // ReduceSum over exactly `axis` of a `rank`-D input with the given keepdims: its input.
  std::optional<std::string> summed(const std::string& t, int64_t axis, int64_t keepdims) const {
    const OnnxNode* p = producer_of(t, "ReduceSum");
    if (!p || p->inputs.empty() || attr_int(*p, "keepdims", 1) != keepdims) return std::nullopt;
    const auto axes = p->inputs.size() > 1 ? const_ints(p->inputs[1]) : std::optional<std::vector<int64_t>>{};
    const auto d = probes_.dims(p->inputs[0]);
    if (!axes || axes->size() != 1 || !d) return std::nullopt;
    const int64_t a = (*axes)[0] < 0 ? (*axes)[0] + static_cast<int64_t>(d->size()) : (*axes)[0];
    return a == axis ? std::optional<std::string>(p->inputs[0]) : std::nullopt;
  }
  bool rewrite_fm_interaction(size_t i) {
    const OnnxNode n = g_.nodes[i];
    // A damaged file's Mul or Sub short of inputs (fuzz_onnx: a Mul of one input was indexed past
    // its end, ASan heap-buffer-overflow) is not an FM term.
    if (n.op != "Mul" || n.inputs.size() != 2 || n.outputs.empty()) return false;
    const bool half_first = scalar_constant(n.inputs[0]) == 0.5;
    if (!half_first && scalar_constant(n.inputs[1]) != 0.5) return false;
    // The field sums keep their axis (k = 1: [B, 1, D], the outer sum over axis 2 drops it) or not
    // (k = 0: [B, D], the outer sum over axis 1 keeps it): [B, 1] either way.
    for (int64_t k = 0; k < 2; ++k) {
      const auto diff = summed(n.inputs[half_first ? 1 : 0], 1 + k, 1 - k);
      const OnnxNode* sub = diff ? producer_of(*diff, "Sub") : nullptr;
      if (!sub || sub->inputs.size() != 2) continue;
      const auto sum = squared(sub->inputs[0]);
      const auto x = sum ? summed(*sum, 1, k) : std::nullopt;
      const auto sq = summed(sub->inputs[1], 1, k);
      const auto x2 = sq ? squared(*sq) : std::nullopt;
      if (!x || !x2 || *x != *x2 || !probes_.dims(*x) || probes_.dims(*x)->size() != 3) continue;
      g_.nodes[i] = cagr_node(n.name, "fm_interaction", {*x}, {n.outputs[0]});
      count("fm_interaction");
      return true;
    }
    return false;
  }

  // ---- one-to-one lowering -----------------------------------------------------------------------
  // A reshape to the probed output shape: batch-following dims are copied (0) where the input has
  // the same dim at that position, else inferred (-1).
  std::vector<int64_t> reshape_spec(const OnnxNode& n) const {
    const Dims in = dims_of(n, n.inputs[0]), out = dims_of(n, n.outputs[0]);
    const EvalValue *in0 = probes_.find(n.inputs[0]), *out0 = probes_.find(n.outputs[0]);
    std::vector<int64_t> spec;
    bool inferred = false;
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k] != kDynamic) spec.push_back(out[k]);
      else if (k < in.size() && in[k] == kDynamic && in0->dims[k] == out0->dims[k]) spec.push_back(0);
      else if (!inferred) {
        spec.push_back(-1);
        inferred = true;
      } else fail(n, "more than one output dimension follows the batch; a reshape can infer only one");
    }
    return spec;
  }
  bool lower_layout(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.op != "Reshape" && n.op != "Flatten" && n.op != "Unsqueeze" && n.op != "Squeeze") return false;
    g_.nodes[i] = cagr_node(n.name, "reshape", {n.inputs[0]}, {n.outputs[0]}, {{"shape", reshape_spec(n)}});
    count("reshape (from " + n.op + ")");
    return true;
  }
  bool lower_generic(size_t i) {
    const OnnxNode n = g_.nodes[i];
    auto replace = [&](const std::string& op, std::vector<std::string> inputs, std::map<std::string, AttrValue> attrs = {}) {
      g_.nodes[i] = cagr_node(n.name, op, std::move(inputs), {n.outputs[0]}, std::move(attrs));
      count(op + " (from " + n.op + ")");
      return true;
    };
    const EvalValue* in0 = n.inputs.empty() ? nullptr : probes_.find(n.inputs[0]);
    const bool f32_in = in0 && in0->dtype == CAGR_DTYPE_F32;
    if ((n.op == "Relu" || n.op == "Sigmoid") && f32_in) return replace(n.op == "Relu" ? "relu" : "sigmoid", {n.inputs[0]});
    if (n.op == "Identity" || n.op == "Dropout" ||
        (n.op == "Cast" && in0 && probes_.find(n.outputs[0]) && in0->dtype == probes_.find(n.outputs[0])->dtype &&
         attr_int(n, "to", 0) != kOnnxBool)) {
      if (n.op == "Dropout" && n.outputs.size() > 1 && !n.outputs[1].empty() && consumers(n.outputs[1]) > 0)
        return lower_dropout_mask(i);
      alias(n.outputs[0], n.inputs[0]);
      g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
      count("identity removed (" + n.op + ")");
      return true;
    }
    if (n.op == "Concat" && f32_in) return replace("concat", n.inputs, {{"axis", attr_int(n, "axis", 0)}});
    if ((n.op == "Add" || n.op == "Mul") && f32_in && lower_binary(i)) return true;
    if (n.op == "ReduceSum" || n.op == "ReduceMean" || n.op == "ReduceMax" || n.op == "ReduceMin" || n.op == "ReduceProd") return lower_reduce(i);
    if (n.op == "Gather" && constant(n.inputs[0]) && constant(n.inputs[0])->dtype == CAGR_DTYPE_F32 && attr_int(n, "axis", 0) == 0)
      return replace("gather", {n.inputs[0], n.inputs[1]});
    if (n.op == "Gather") return replace("take", {n.inputs[0], n.inputs[1]}, {{"axis", attr_int(n, "axis", 0)}});
    if (n.op == "GatherElements") return replace("gather_elements", {n.inputs[0], n.inputs[1]}, {{"axis", attr_int(n, "axis", 0)}});
    if (const char* fn = elementwise_fn(n.op)) return lower_elementwise(i, fn);
    if (n.op == "Cast") return lower_cast(i);
    if (n.op == "Transpose") {
      std::vector<int64_t> perm;
      if (n.attrs.count("perm")) perm = std::get<std::vector<int64_t>>(n.attrs.at("perm"));
      else for (size_t k = dims_of(n, n.inputs[0]).size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
      return replace("transpose", {n.inputs[0]}, {{"perm", perm}});
    }
    if (n.op == "Slice") return replace("slice", {n.inputs[0]}, slice_attrs(n));
    if (n.op == "Split") return lower_split(i);
    if ((n.op == "Expand" || n.op == "ConstantOfShape") && broadcasting_covers(n.outputs[0])) return lower_to_broadcast(i);
    if (n.op == "Expand") return replace("expand", {n.inputs[0]}, {{"shape", expand_shape(n)}});
    if (n.op == "MatMul") return replace("matmul", {n.inputs[0], n.inputs[1]});
    if (n.op == "Gemm") return lower_gemm(i);
    if (n.op == "Softmax" || n.op == "LogSoftmax") return lower_softmax(i);
    if (n.op == "LayerNormalization") return lower_layer_norm(i);
    if (n.op == "BatchNormalization") return lower_batch_norm(i);
    if (n.op == "TopK") return lower_top_k(i);
    if (n.op == "Clip") return lower_clip(i);
    if (n.op == "ReduceL2" || n.op == "ReduceSumSquare") return lower_sum_of_squares(i);
    if (n.op == "Einsum") return lower_einsum(i);
    if (n.op == "Conv") return lower_pointwise_conv(i);
    if (n.op == "GatherND") return lower_gather_nd(i);
    return false;
  }

  // GatherND with batch_dims 0 and constant indices of one coordinate each ([..., 1]: the dynamo
  // exporter's x[:, idx] after moving the indexed axis first, FiBiNET's field pairs) is a Gather on
  // axis 0 of the indices without their last dimension. Other GatherNDs are refused naming why.
  bool lower_gather_nd(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const OnnxConstant* idx = n.inputs.size() > 1 ? constant(n.inputs[1]) : nullptr;
    if (attr_int(n, "batch_dims", 0) != 0 || !idx || idx->dims.empty() || idx->dims.back() != 1)
      fail(n, "GatherND other than batch_dims 0 with constant indices of one coordinate each; CAGR lowers only those, as a Gather");
    OnnxNode gather = n;
    gather.op = "Gather";
    gather.attrs = {{"axis", int64_t{0}}};
    gather.inputs[1] = add_constant(n.inputs[1] + "_rows", OnnxConstant{idx->dtype, Dims(idx->dims.begin(), idx->dims.end() - 1), idx->data});
    g_.nodes[i] = gather;
    for (auto& probe : probes_.at)  // the new indices' shape, for the Gather's lowering
      probe[gather.inputs[1]] = EvalValue{idx->dtype, Dims(idx->dims.begin(), idx->dims.end() - 1), std::nullopt};
    count("Gather (from GatherND)");
    return lower_generic(i);
  }

  // Conv with a 1x1 kernel (xDeepFM's CIN as its implementations write it, Conv1d(k=1)): a linear
  // over the channels at every position: X [B, C, S...] transposed to [B, S..., C], its rows
  // through linear(W as [Cout, C], bias), and back to [B, Cout, S...]. Other convolutions are
  // refused naming what they have.
  bool lower_pointwise_conv(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const OnnxConstant* w = n.inputs.size() > 1 ? constant(n.inputs[1]) : nullptr;
    if (!w || w->dtype != CAGR_DTYPE_F32) fail(n, "Conv whose weights are not a constant f32 tensor");
    const Dims x = dims_of(n, n.inputs[0]);
    const size_t r = x.size();
    if (r < 3 || w->dims.size() != r) fail(n, "Conv of a rank-" + std::to_string(r) + " input with rank-" + std::to_string(w->dims.size()) + " weights");
    auto ints = [&](const char* name) {
      auto it = n.attrs.find(name);
      return it == n.attrs.end() ? std::vector<int64_t>{} : std::get<std::vector<int64_t>>(it->second);
    };
    auto all_equal = [](const std::vector<int64_t>& v, int64_t value) { return std::all_of(v.begin(), v.end(), [&](int64_t a) { return a == value; }); };
    const std::vector<int64_t> kernel(w->dims.begin() + 2, w->dims.end());
    const std::string pad = n.attrs.count("auto_pad") ? std::get<std::string>(n.attrs.at("auto_pad")) : "NOTSET";
    if (!all_equal(kernel, 1) || attr_int(n, "group", 1) != 1 || !all_equal(ints("strides"), 1) || !all_equal(ints("pads"), 0) ||
        (pad != "NOTSET" && pad != "VALID"))
      fail(n, "Conv other than a pointwise one (1x1 kernel, group 1, stride 1, no padding); CAGR lowers only those, as a linear over the channels");
    const int64_t c_in = w->dims[1], c_out = w->dims[0];
    if (x[1] != c_in) fail(n, "Conv of " + std::to_string(x[1]) + " channels with weights for " + std::to_string(c_in));
    if (std::count(x.begin() + 1, x.end(), kDynamic) > 0) fail(n, "Conv whose channels or positions follow the batch");
    const std::string weight = add_constant(n.inputs[1] + "_rows", OnnxConstant{w->dtype, {c_out, c_in}, w->data});
    std::vector<std::string> linear_inputs{"", weight};
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const auto bias = bias_of(n.inputs[2], c_out);
      if (!bias) fail(n, "Conv whose bias is not a constant f32 vector of " + std::to_string(c_out));
      linear_inputs.push_back(*bias);
    }
    std::vector<int64_t> to_last{0}, to_channels{0, static_cast<int64_t>(r) - 1}, positions{-1};
    for (size_t d = 2; d < r; ++d) {
      to_last.push_back(static_cast<int64_t>(d));
      to_channels.push_back(static_cast<int64_t>(d) - 1);
      positions.push_back(x[d]);
    }
    to_last.push_back(1);
    positions.push_back(c_out);
    const std::string last = fresh(n.outputs[0] + "_channels_last"), rows = fresh(n.outputs[0] + "_rows"),
                      y = fresh(n.outputs[0] + "_linear"), back = fresh(n.outputs[0] + "_positions");
    linear_inputs[0] = rows;
    const std::vector<OnnxNode> made{
        cagr_node(n.name + "_channels_last", "transpose", {n.inputs[0]}, {last}, {{"perm", to_last}}),
        cagr_node(n.name + "_rows", "reshape", {last}, {rows}, {{"shape", std::vector<int64_t>{-1, c_in}}}),
        cagr_node(n.name + "_linear", "linear", linear_inputs, {y}, {{"activation", std::string("none")}}),
        cagr_node(n.name + "_positions", "reshape", {y}, {back}, {{"shape", positions}}),
        cagr_node(n.name, "transpose", {back}, {n.outputs[0]}, {{"perm", to_channels}})};
    return replace_by(i, made, "transpose + linear + transpose (from a pointwise Conv)");
  }
  // Node i replaced by `made`, in order, counted as `what`.
  bool replace_by(size_t i, const std::vector<OnnxNode>& made, const std::string& what) {
    g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), made.begin(), made.end());
    count(what);
    return true;
  }

  // Einsum of one or two operands (xDeepFM's CIN, attention scores written as einsum): each
  // operand's labels that neither the output nor the other operand has are summed out; two
  // operands are then transposed to [batch labels, kept labels, contracted labels] (the second to
  // [batch, contracted, kept]), reshaped to 3-d, multiplied (matmul; an outer product, K = 1, as a
  // broadcasting element-wise mul), reshaped back and transposed to the output's order. Reshapes
  // are views; a transpose that is the identity is left out.
  bool lower_einsum(size_t i) {
    const OnnxNode n = g_.nodes[i];
    auto eq = n.attrs.find("equation");
    if (eq == n.attrs.end() || !std::holds_alternative<std::string>(eq->second)) fail(n, "Einsum without an equation");
    if (n.inputs.empty() || n.inputs.size() > 2) fail(n, "Einsum of " + std::to_string(n.inputs.size()) + " operands; CAGR lowers one or two");
    std::vector<Dims> dims;
    std::vector<size_t> ranks;
    for (const std::string& in : n.inputs) {
      dims.push_back(dims_of(n, in));
      ranks.push_back(dims.back().size());
      if (probes_.find(in) == nullptr || probes_.find(in)->dtype != CAGR_DTYPE_F32) fail(n, "Einsum of a tensor that is not f32");
    }
    EinsumEquation e;
    try {
      e = parse_einsum(std::get<std::string>(eq->second), ranks);
    } catch (const std::invalid_argument& why) {
      fail(n, why.what());
    }
    std::map<char, int64_t> size;  // kDynamic for a label that follows the batch
    for (size_t k = 0; k < e.inputs.size(); ++k)
      for (size_t d = 0; d < e.inputs[k].size(); ++d) size[e.inputs[k][d]] = dims[k][d];
    std::vector<OnnxNode> made;
    // `t` (labels `from`) as `to`, a permutation of them: a transpose node unless it is the identity.
    auto permuted = [&](const std::string& t, const std::string& from, const std::string& to, const std::string& what) {
      if (from == to) return t;
      std::vector<int64_t> perm;
      for (char c : to) perm.push_back(static_cast<int64_t>(from.find(c)));
      const std::string out = fresh(n.outputs[0] + "_" + what);
      made.push_back(cagr_node(n.name + "_" + what, "transpose", {t}, {out}, {{"perm", perm}}));
      return out;
    };
    // A reshape of `t` to one dimension per group of labels (the product of the group's sizes, -1
    // for the one group with a label that follows the batch).
    auto grouped = [&](const std::string& t, const std::vector<std::string>& groups, const std::string& what, const std::string& out_name) {
      std::vector<int64_t> spec;
      int dynamic = 0;
      for (const std::string& g : groups) {
        int64_t product = 1;
        bool follows_batch = false;
        for (char c : g) {
          if (size.at(c) == kDynamic) follows_batch = true;
          else product *= size.at(c);
        }
        dynamic += follows_batch ? 1 : 0;
        spec.push_back(follows_batch ? -1 : product);
      }
      if (dynamic > 1) fail(n, "Einsum with more than one group of labels that follow the batch; CAGR lowers one");
      const std::string out = out_name.empty() ? fresh(n.outputs[0] + "_" + what) : out_name;
      made.push_back(cagr_node(n.name + "_" + what, "reshape", {t}, {out}, {{"shape", spec}}));
      return out;
    };
    // Labels only this operand has and the output lacks are summed out first.
    std::vector<std::string> operand(n.inputs.begin(), n.inputs.end());
    for (size_t k = 0; k < operand.size(); ++k) {
      const std::string& other = operand.size() == 2 ? e.inputs[1 - k] : std::string();
      std::vector<int64_t> axes;
      std::string kept;
      for (size_t d = 0; d < e.inputs[k].size(); ++d) {
        const char c = e.inputs[k][d];
        if (e.output.find(c) == std::string::npos && other.find(c) == std::string::npos) axes.push_back(static_cast<int64_t>(d));
        else kept += c;
      }
      if (axes.empty()) continue;
      const std::string out = fresh(n.outputs[0] + "_sum" + std::to_string(k));
      made.push_back(cagr_node(n.name + "_sum" + std::to_string(k), "reduce_sum", {operand[k]}, {out}, {{"axes", axes}, {"keepdims", int64_t{0}}}));
      operand[k] = out;
      e.inputs[k] = kept;
    }
    std::string result, labels;
    if (operand.size() == 1) {
      result = operand[0];
      labels = e.inputs[0];
    } else {
      const std::string &a = e.inputs[0], &b = e.inputs[1];
      std::string batch, a_kept, b_kept, contracted;
      for (char c : e.output) {
        const bool in_a = a.find(c) != std::string::npos, in_b = b.find(c) != std::string::npos;
        (in_a && in_b ? batch : in_a ? a_kept : b_kept) += c;
      }
      for (char c : a)
        if (b.find(c) != std::string::npos && e.output.find(c) == std::string::npos) contracted += c;
      const std::string lhs = grouped(permuted(operand[0], a, batch + a_kept + contracted, "lhs_t"), {batch, a_kept, contracted}, "lhs", "");
      const std::string rhs = grouped(permuted(operand[1], b, batch + contracted + b_kept, "rhs_t"), {batch, contracted, b_kept}, "rhs", "");
      // An outer product (no contracted label: K = 1) multiplies [P, M, 1] by [P, 1, N] element-wise,
      // broadcasting; a matmul would make one tiny GEMM per batch row (xDeepFM at batch 64: 1,024 of
      // them, 640 us against the product's few).
      const std::string product = fresh(n.outputs[0] + "_product");
      made.push_back(contracted.empty() ? cagr_node(n.name + "_product", "elementwise", {lhs, rhs}, {product}, {{"fn", std::string("mul")}})
                                        : cagr_node(n.name + "_product", "matmul", {lhs, rhs}, {product}));
      labels = batch + a_kept + b_kept;
      std::vector<std::string> each;
      for (char c : labels) each.push_back(std::string(1, c));
      result = grouped(product, each, "unfold", labels == e.output ? n.outputs[0] : "");
    }
    if (result != n.outputs[0]) {
      if (labels == e.output) {
        made.push_back(cagr_node(n.name + "_out", "reshape", {result}, {n.outputs[0]}, {{"shape", std::vector<int64_t>(labels.size(), 0)}}));
      } else {
        std::vector<int64_t> perm;
        for (char c : e.output) perm.push_back(static_cast<int64_t>(labels.find(c)));
        made.push_back(cagr_node(n.name + "_out", "transpose", {result}, {n.outputs[0]}, {{"perm", perm}}));
      }
    }
    return replace_by(i, made, "transpose + reshape + matmul or mul (from Einsum)");
  }

  // Dropout in inference whose mask is read: the input passes through, the mask is all true (an
  // expanded constant, so its shape must not follow the batch).
  bool lower_dropout_mask(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && (!scalar_constant(n.inputs[2]) || *scalar_constant(n.inputs[2]) != 0))
      fail(n, "training-mode dropout; CAGR runs inference");
    const Dims d = dims_of(n, n.outputs[1]);
    if (std::count(d.begin(), d.end(), kDynamic)) fail(n, "its mask output is read and follows the batch");
    const std::string one = add_constant(n.name + "_true", OnnxConstant{CAGR_DTYPE_U8, {}, std::make_shared<const std::vector<std::byte>>(1, std::byte{1})});
    g_.nodes[i] = cagr_node(n.name + "_mask", "expand", {one}, {n.outputs[1]}, {{"shape", std::vector<int64_t>(d.begin(), d.end())}});
    alias(n.outputs[0], n.inputs[0]);
    count("identity + mask of ones (from Dropout)");
    return true;
  }

  // ---- ONNX ops one by one onto the general tensor ops (abi/tensor_ops.hpp) ----------------------
  static const char* elementwise_fn(const std::string& op) {
    static const std::map<std::string, const char*> fns = {
        {"Neg", "neg"}, {"Abs", "abs"}, {"Sqrt", "sqrt"}, {"Exp", "exp"}, {"Log", "log"}, {"Tanh", "tanh"},
        {"Reciprocal", "reciprocal"}, {"Floor", "floor"}, {"Ceil", "ceil"}, {"Not", "not"}, {"Add", "add"},
        {"Sub", "sub"}, {"Mul", "mul"}, {"Div", "div"}, {"Pow", "pow"}, {"Max", "max"}, {"Min", "min"},
        {"Equal", "equal"}, {"Less", "less"}, {"Greater", "greater"}, {"LessOrEqual", "less_or_equal"},
        {"GreaterOrEqual", "greater_or_equal"}, {"And", "and"}, {"Or", "or"}, {"Xor", "xor"}, {"Where", "where"},
        {"Relu", nullptr}, {"Sigmoid", nullptr}};
    auto it = fns.find(op);
    return it == fns.end() ? nullptr : it->second;
  }
  // A new cagr node before node i (which stays at i + 1); returns its output.
  std::string insert_before(size_t& i, const std::string& name, const std::string& op, std::vector<std::string> inputs,
                            std::map<std::string, AttrValue> attrs, const std::string& out_base) {
    const std::string out = fresh(out_base);
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(fresh(name), op, std::move(inputs), {out}, std::move(attrs)));
    ++i;
    return out;
  }
  std::string scalar_f32(const std::string& base, float value) {
    std::vector<std::byte> data(4);
    std::memcpy(data.data(), &value, 4);
    return add_constant(base, OnnxConstant{CAGR_DTYPE_F32, {}, std::make_shared<const std::vector<std::byte>>(std::move(data))});
  }
  // `t` as f32: a constant converted at import, anything else through a cast node.
  std::string as_f32(size_t& i, const std::string& t) {
    const EvalValue* v = probes_.find(t);
    if (!v || v->dtype == CAGR_DTYPE_F32) return t;
    if (const OnnxConstant* c = constant(t)) {
      std::vector<std::byte> data(static_cast<size_t>(element_count(c->dims)) * 4);
      const std::vector<double> values = constant_values(*c);
      for (size_t k = 0; k < values.size(); ++k) {
        const float f = static_cast<float>(values[k]);
        std::memcpy(&data[k * 4], &f, 4);
      }
      return add_constant(t + "_f32", OnnxConstant{CAGR_DTYPE_F32, c->dims, std::make_shared<const std::vector<std::byte>>(std::move(data))});
    }
    return insert_before(i, t + "_cast", "cast", {t}, {{"to", std::string("f32")}}, t + "_f32");
  }
  bool lower_elementwise(size_t i, const char* fn) {
    OnnxNode n = g_.nodes[i];
    if (n.inputs.size() == 1 && (n.op == "Max" || n.op == "Min")) {
      alias(n.outputs[0], n.inputs[0]);
      g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
      count("identity removed (" + n.op + ")");
      return true;
    }
    std::vector<std::string> inputs = n.inputs;
    const EvalValue* base = probes_.find(inputs[0]);
    if (n.op == "Pow" && base && base->dtype != CAGR_DTYPE_F32) {  // an integer power, computed in f32 and truncated back
      const std::string power = insert_before(i, n.name + "_f32", "elementwise", {as_f32(i, inputs[0]), as_f32(i, inputs[1])},
                                              {{"fn", std::string("pow")}}, n.outputs[0] + "_f32");
      g_.nodes[i] = cagr_node(n.name, "cast", {power}, {n.outputs[0]}, {{"to", std::string(dtype_name(base->dtype))}});
      count("elementwise pow in f32 + cast (from Pow on integers)");
      return true;
    }
    if (n.op == "Pow") inputs[1] = as_f32(i, inputs[1]);  // ONNX lets the exponent's type differ
    // Max/Min take any number of inputs: a chain of two-input ops.
    while (inputs.size() > 2 && n.op != "Where") {
      const std::string partial = insert_before(i, n.name + "_part", "elementwise", {inputs[0], inputs[1]}, {{"fn", std::string(fn)}}, n.outputs[0] + "_part");
      inputs.erase(inputs.begin(), inputs.begin() + 2);
      inputs.insert(inputs.begin(), partial);
    }
    g_.nodes[i] = cagr_node(n.name, "elementwise", inputs, {n.outputs[0]}, {{"fn", std::string(fn)}});
    count(std::string("elementwise ") + fn + " (from " + n.op + ")");
    return true;
  }
  bool lower_cast(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const int64_t to = attr_int(n, "to", 0);
    const cagr_dtype target = dtype_of_onnx(static_cast<int32_t>(to), n.where());
    const EvalValue* in = probes_.find(n.inputs[0]);
    if (to == kOnnxBool && in && in->dtype != CAGR_DTYPE_U8) {  // bool(x) is x != 0, not a truncation
      size_t at = i;
      const std::string zero = add_constant(n.name + "_zero", OnnxConstant{in->dtype, {}, std::make_shared<const std::vector<std::byte>>(dtype_size(in->dtype))});
      const std::string is_zero = insert_before(at, n.name + "_is_zero", "elementwise", {n.inputs[0], zero}, {{"fn", std::string("equal")}}, n.outputs[0] + "_is_zero");
      g_.nodes[at] = cagr_node(n.name, "elementwise", {is_zero}, {n.outputs[0]}, {{"fn", std::string("not")}});
      count("elementwise equal + not (from Cast to bool)");
      return true;
    }
    g_.nodes[i] = cagr_node(n.name, "cast", {n.inputs[0]}, {n.outputs[0]}, {{"to", std::string(dtype_name(target))}});
    count("cast (from Cast)");
    return true;
  }
  // Slice's starts/ends/axes/steps from its inputs. An end that follows the batch and equals the
  // sliced dim at both probes means "to the end".
  std::map<std::string, AttrValue> slice_attrs(const OnnxNode& n) const {
    const Dims in = dims_of(n, n.inputs[0]);
    if (n.inputs.size() == 1) {  // opset < 10: attributes
      std::map<std::string, AttrValue> attrs;
      for (const char* key : {"starts", "ends", "axes"})
        if (n.attrs.count(key)) attrs[key] = n.attrs.at(key);
      return attrs;
    }
    auto ints = [&](size_t k, const char* what) -> std::optional<std::vector<int64_t>> {
      if (k >= n.inputs.size() || n.inputs[k].empty()) return std::nullopt;
      const auto a = ints_at(n.inputs[k], 0), b = ints_at(n.inputs[k], 1);
      if (!a || !b) fail(n, std::string("its ") + what + " are computed at run time; CAGR's slice takes them at load time");
      return *a;
    };
    const std::vector<int64_t> starts = *ints(1, "starts");
    std::vector<int64_t> ends = *ints(2, "ends");
    std::vector<int64_t> axes(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
    if (auto a = ints(3, "axes")) axes = *a;
    std::vector<int64_t> steps(starts.size(), 1);
    if (auto s = ints(4, "steps")) steps = *s;
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      fail(n, "its starts, ends, axes and steps must have one entry per sliced axis, they have " + std::to_string(starts.size()) +
                  ", " + std::to_string(ends.size()) + ", " + std::to_string(axes.size()) + " and " + std::to_string(steps.size()));
    const auto s0 = ints_at(n.inputs[1], 0), s1 = ints_at(n.inputs[1], 1), e0 = ints_at(n.inputs[2], 0), e1 = ints_at(n.inputs[2], 1);
    for (size_t k = 0; k < starts.size(); ++k) {
      if ((*s0)[k] != (*s1)[k]) fail(n, "its start follows the batch; CAGR's slice takes starts fixed at load time");
      if ((*e0)[k] == (*e1)[k]) continue;
      const size_t a = static_cast<size_t>(axes[k] < 0 ? axes[k] + static_cast<int64_t>(in.size()) : axes[k]);
      const EvalValue *p0 = probes_.find(n.inputs[0], 0), *p1 = probes_.find(n.inputs[0], 1);
      if (a >= in.size() || (*e0)[k] != p0->dims[a] || (*e1)[k] != p1->dims[a])
        fail(n, "its end follows the batch; CAGR's slice takes ends fixed at load time (or the whole dim)");
      ends[k] = std::numeric_limits<int64_t>::max();
    }
    return {{"starts", starts}, {"ends", ends}, {"axes", axes}, {"steps", steps}};
  }
  // Whether every reader of `t` is an element-wise op whose output, at both probes, already has t's
  // shape: broadcasting then does what expanding `t` to that shape does.
  bool broadcasting_covers(const std::string& t) const {
    const auto readers = g_.consumers(t);
    if (readers.empty() || std::count(g_.outputs.begin(), g_.outputs.end(), t)) return false;
    for (const OnnxNode* r : readers) {
      const bool elementwise = r->is_cagr() ? r->op == "elementwise" : elementwise_fn(r->op) != nullptr;
      if (!elementwise || r->outputs.size() != 1) return false;
      for (int p = 0; p < 2; ++p) {
        const EvalValue *v = probes_.find(t, p), *o = probes_.find(r->outputs[0], p);
        if (!v || !o || v->dims != o->dims) return false;
      }
    }
    return true;
  }
  // Expand / ConstantOfShape (a shape that follows the batch) read only by broadcasting ops: the
  // input / a one-element constant stands in for it.
  bool lower_to_broadcast(size_t i) {
    const OnnxNode n = g_.nodes[i];
    std::string source = n.inputs[0];
    if (n.op == "ConstantOfShape") {
      auto it = n.tensor_attrs.find("value");
      OnnxConstant value = it != n.tensor_attrs.end() ? *it->second
                                                      : OnnxConstant{CAGR_DTYPE_F32, {1}, std::make_shared<const std::vector<std::byte>>(4)};
      value.dims = {};
      source = add_constant(n.outputs[0] + "_value", std::move(value));
    }
    alias(n.outputs[0], source);
    g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    count("broadcast instead of " + n.op);
    return true;
  }
  // Expand's target shape: the probed output, with 1 where a dim follows the batch in both the
  // input and the output (broadcasting then keeps the input's).
  std::vector<int64_t> expand_shape(const OnnxNode& n) const {
    const Dims in = dims_of(n, n.inputs[0]), out = dims_of(n, n.outputs[0]);
    std::vector<int64_t> shape(out.begin(), out.end());
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k] != kDynamic) continue;
      const size_t from_end = out.size() - k;
      if (from_end > in.size() || in[in.size() - from_end] != kDynamic)
        fail(n, "expands a dim to the batch size; CAGR's expand takes a shape fixed at load time");
      shape[k] = 1;
    }
    return shape;
  }
  bool lower_split(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const Dims in = dims_of(n, n.inputs[0]);
    const int64_t axis = attr_int(n, "axis", 0);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(in.size()) : axis);
    std::vector<OnnxNode> parts;
    int64_t first = 0;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const Dims out = dims_of(n, n.outputs[o]);
      if (out.at(a) == kDynamic) fail(n, "splits the batch dim; CAGR's slice takes bounds fixed at load time");
      if (!n.outputs[o].empty())
        parts.push_back(cagr_node(n.name + "_" + std::to_string(o), "slice", {n.inputs[0]}, {n.outputs[o]},
                                  {{"starts", std::vector<int64_t>{first}}, {"ends", std::vector<int64_t>{first + out[a]}},
                                   {"axes", std::vector<int64_t>{axis}}}));
      first += out[a];
    }
    g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), parts.begin(), parts.end());
    count("slice (from Split)", static_cast<int>(parts.size()));
    return true;
  }
  // Gemm in general: Y = alpha * A' B' + beta * C, with A' and B' transposed where asked.
  bool lower_gemm(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const float alpha = static_cast<float>(attr_float(n, "alpha", 1.0)), beta = static_cast<float>(attr_float(n, "beta", 1.0));
    std::string a = n.inputs[0], b = n.inputs[1];
    const std::vector<int64_t> swap{1, 0};
    if (attr_int(n, "transA", 0)) a = insert_before(i, n.name + "_ta", "transpose", {a}, {{"perm", swap}}, a + "_t");
    if (attr_int(n, "transB", 0)) b = insert_before(i, n.name + "_tb", "transpose", {b}, {{"perm", swap}}, b + "_t");
    const bool has_c = n.inputs.size() > 2 && !n.inputs[2].empty() && beta != 0.0f;
    std::string y = (alpha != 1.0f || has_c) ? fresh(n.outputs[0] + "_ab") : n.outputs[0];
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(fresh(n.name + "_matmul"), "matmul", {a, b}, {y}));
    ++i;
    if (alpha != 1.0f) {
      const std::string scaled = has_c ? fresh(n.outputs[0] + "_scaled") : n.outputs[0];
      g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i),
                      cagr_node(fresh(n.name + "_alpha"), "elementwise", {y, scalar_f32(n.name + "_alpha", alpha)}, {scaled}, {{"fn", std::string("mul")}}));
      ++i;
      y = scaled;
    }
    if (has_c) {
      std::string c = n.inputs[2];
      if (beta != 1.0f) c = insert_before(i, n.name + "_beta", "elementwise", {c, scalar_f32(n.name + "_beta", beta)}, {{"fn", std::string("mul")}}, c + "_beta");
      g_.nodes[i] = cagr_node(n.name, "elementwise", {y, c}, {n.outputs[0]}, {{"fn", std::string("add")}});
    } else {
      g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    }
    count("matmul (from Gemm)");
    return true;
  }
  // Softmax / LogSoftmax. Before opset 13 the input is taken as 2-D, [dims before axis, the rest].
  bool lower_softmax(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const Dims in = dims_of(n, n.inputs[0]);
    const int64_t rank = static_cast<int64_t>(in.size());
    int64_t axis = attr_int(n, "axis", g_.opset >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    const std::map<std::string, AttrValue> attrs{{"axis", int64_t{-1}}, {"log", int64_t{n.op == "LogSoftmax"}}};
    if (g_.opset >= 13 || axis == rank - 1) {
      std::map<std::string, AttrValue> a = attrs;
      a["axis"] = axis;
      g_.nodes[i] = cagr_node(n.name, "softmax", {n.inputs[0]}, {n.outputs[0]}, a);
    } else {
      int64_t inner = 1;
      for (int64_t d = axis; d < rank; ++d) {
        if (in[static_cast<size_t>(d)] == kDynamic) fail(n, "a pre-opset-13 softmax over a dim that follows the batch");
        inner *= in[static_cast<size_t>(d)];
      }
      std::vector<int64_t> back(in.begin(), in.end());
      for (int64_t& d : back)
        if (d == kDynamic) d = -1;
      const std::string flat = insert_before(i, n.name + "_2d", "reshape", {n.inputs[0]}, {{"shape", std::vector<int64_t>{-1, inner}}}, n.outputs[0] + "_2d");
      const std::string soft = insert_before(i, n.name + "_rows", "softmax", {flat}, attrs, n.outputs[0] + "_rows");
      g_.nodes[i] = cagr_node(n.name, "reshape", {soft}, {n.outputs[0]}, {{"shape", back}});
    }
    count("softmax (from " + n.op + ")");
    return true;
  }
  bool lower_layer_norm(size_t i) {
    OnnxNode n = g_.nodes[i];
    std::vector<std::string> outs = n.outputs;
    while (!outs.empty() && (outs.back().empty() || consumers(outs.back()) == 0)) outs.pop_back();
    if (outs.empty()) outs.push_back(n.outputs[0]);
    for (size_t o = 0; o < outs.size(); ++o)
      if (outs[o].empty()) outs[o] = fresh(n.name + "_unused_" + std::to_string(o));
    std::vector<std::string> inputs{n.inputs[0], n.inputs[1]};
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) inputs.push_back(n.inputs[2]);
    g_.nodes[i] = cagr_node(n.name, "layer_norm", inputs, outs,
                            {{"axis", attr_int(n, "axis", -1)}, {"epsilon", attr_float(n, "epsilon", 1e-5)}});
    count("layer_norm (from LayerNormalization)");
    return true;
  }
  // Inference-mode batch norm with constant statistics: x * s + (B - mean * s), s = scale / sqrt(var + eps),
  // per channel (dim 1).
  bool lower_batch_norm(size_t i) {
    const OnnxNode n = g_.nodes[i];
    if (attr_int(n, "training_mode", 0) != 0 || (n.outputs.size() > 1 && std::any_of(n.outputs.begin() + 1, n.outputs.end(), [&](const std::string& o) { return !o.empty() && consumers(o) > 0; })))
      fail(n, "training-mode batch normalisation; CAGR runs inference, with the running statistics");
    const Dims in = dims_of(n, n.inputs[0]);
    const double eps = attr_float(n, "epsilon", 1e-5);
    if (!std::all_of(n.inputs.begin() + 1, n.inputs.end(), [&](const std::string& t) { return constant(t) != nullptr; }))
      return lower_batch_norm_at_run_time(i, in.size(), eps);
    std::vector<std::vector<double>> p;
    for (size_t k = 1; k <= 4; ++k) p.push_back(constant_values(*constant(n.inputs.at(k))));
    const size_t channels = p[0].size();
    Dims shape{static_cast<int64_t>(channels)};
    for (size_t d = 2; d < in.size(); ++d) shape.push_back(1);
    std::vector<std::byte> scale(channels * 4), shift(channels * 4);
    for (size_t ch = 0; ch < channels; ++ch) {
      const double s = p[0][ch] / std::sqrt(p[3][ch] + eps);
      const float sf = static_cast<float>(s), bf = static_cast<float>(p[1][ch] - p[2][ch] * s);
      std::memcpy(&scale[ch * 4], &sf, 4);
      std::memcpy(&shift[ch * 4], &bf, 4);
    }
    const std::string s = add_constant(n.name + "_scale", OnnxConstant{CAGR_DTYPE_F32, shape, std::make_shared<const std::vector<std::byte>>(std::move(scale))});
    const std::string b = add_constant(n.name + "_shift", OnnxConstant{CAGR_DTYPE_F32, shape, std::make_shared<const std::vector<std::byte>>(std::move(shift))});
    const std::string scaled = insert_before(i, n.name + "_mul", "elementwise", {n.inputs[0], s}, {{"fn", std::string("mul")}}, n.outputs[0] + "_scaled");
    g_.nodes[i] = cagr_node(n.name, "elementwise", {scaled, b}, {n.outputs[0]}, {{"fn", std::string("add")}});
    count("elementwise mul + add (from BatchNormalization)");
    return true;
  }
  // Batch norm whose statistics are inputs: (x - mean) / sqrt(var + eps) * scale + B, each [C]
  // parameter viewed as [C, 1, ..] to broadcast over dim 1.
  bool lower_batch_norm_at_run_time(size_t i, size_t rank, double eps) {
    const OnnxNode n = g_.nodes[i];
    std::vector<int64_t> column{-1};
    for (size_t d = 2; d < rank; ++d) column.push_back(1);
    std::string p[4];
    for (size_t k = 0; k < 4; ++k)
      p[k] = insert_before(i, n.name + "_param", "reshape", {n.inputs.at(k + 1)}, {{"shape", column}}, n.inputs[k + 1] + "_column");
    auto op = [&](const char* fn, std::vector<std::string> inputs) {
      return insert_before(i, n.name + "_" + fn, "elementwise", std::move(inputs), {{"fn", std::string(fn)}}, n.outputs[0] + "_" + fn);
    };
    const std::string centred = op("sub", {n.inputs[0], p[2]});
    const std::string deviation = op("sqrt", {op("add", {p[3], scalar_f32(n.name + "_eps", static_cast<float>(eps))})});
    const std::string scaled = op("mul", {op("div", {centred, deviation}), p[0]});
    g_.nodes[i] = cagr_node(n.name, "elementwise", {scaled, p[1]}, {n.outputs[0]}, {{"fn", std::string("add")}});
    count("elementwise (from BatchNormalization with run-time statistics)");
    return true;
  }
  // Clip(x, min, max): max(x, min) then min(., max), each bound optional (inputs, or attributes before opset 11).
  bool lower_clip(size_t i) {
    const OnnxNode n = g_.nodes[i];
    std::string x = n.inputs[0];
    auto bound = [&](size_t k, const char* attr) -> std::optional<std::string> {
      if (k < n.inputs.size() && !n.inputs[k].empty()) return n.inputs[k];
      if (n.attrs.count(attr)) return scalar_f32(n.name + "_" + attr, static_cast<float>(attr_float(n, attr, 0)));
      return std::nullopt;
    };
    const auto low = bound(1, "min"), high = bound(2, "max");
    if (low && high) x = insert_before(i, n.name + "_low", "elementwise", {x, *low}, {{"fn", std::string("max")}}, n.outputs[0] + "_low");
    if (!low && !high) {
      alias(n.outputs[0], x);
      g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
      return true;
    }
    g_.nodes[i] = cagr_node(n.name, "elementwise", {x, high ? *high : *low}, {n.outputs[0]}, {{"fn", std::string(high ? "min" : "max")}});
    count("elementwise max/min (from Clip)");
    return true;
  }
  // ReduceSumSquare(x) = reduce sum(x * x); ReduceL2 its square root (F.normalize's norm).
  bool lower_sum_of_squares(size_t i) {
    OnnxNode n = g_.nodes[i];
    const std::string squares = insert_before(i, n.name + "_squares", "elementwise", {n.inputs[0], n.inputs[0]}, {{"fn", std::string("mul")}},
                                              n.outputs[0] + "_squares");
    std::vector<int64_t> axes;
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      const auto c = const_ints(n.inputs[1]);
      if (!c) fail(n, "reduction axes computed at run time");
      axes = *c;
    } else if (n.attrs.count("axes")) axes = std::get<std::vector<int64_t>>(n.attrs.at("axes"));
    const std::string sum = n.op == "ReduceL2" ? fresh(n.outputs[0] + "_sum") : n.outputs[0];
    std::map<std::string, AttrValue> attrs{{"fn", std::string("sum")}, {"axes", axes}, {"keepdims", attr_int(n, "keepdims", 1)}};
    if (n.op == "ReduceL2") {
      g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(fresh(n.name + "_sum"), "reduce", {squares}, {sum}, attrs));
      ++i;
      g_.nodes[i] = cagr_node(n.name, "elementwise", {sum}, {n.outputs[0]}, {{"fn", std::string("sqrt")}});
    } else {
      g_.nodes[i] = cagr_node(n.name, "reduce", {squares}, {n.outputs[0]}, attrs);
    }
    count("elementwise mul + reduce (from " + n.op + ")");
    return true;
  }
  // TopK along any axis, largest or smallest: OPS.md's top_k (rows of a [B, N] f32, largest first)
  // with the axis moved last and the rest flattened; the smallest are the largest of -x.
  bool lower_top_k(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const auto k = n.inputs.size() > 1 ? const_ints(n.inputs[1]) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{attr_int(n, "k", 0)});
    if (!k || k->size() != 1) fail(n, "its k is computed at run time; CAGR's top_k takes k at load time");
    const Dims in = dims_of(n, n.inputs[0]);
    const int64_t rank = static_cast<int64_t>(in.size());
    int64_t axis = attr_int(n, "axis", -1);
    if (axis < 0) axis += rank;
    if (in[static_cast<size_t>(axis)] == kDynamic) fail(n, "a top-k along the batch dim");
    const bool largest = attr_int(n, "largest", 1) != 0;
    std::string x = n.inputs[0];
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[static_cast<size_t>(axis)], perm.back());
    const bool moved = axis != rank - 1;
    if (moved) x = insert_before(i, n.name + "_to_last", "transpose", {x}, {{"perm", perm}}, n.outputs[0] + "_last");
    const int64_t len = in[static_cast<size_t>(axis)];
    if (rank != 2) x = insert_before(i, n.name + "_rows", "reshape", {x}, {{"shape", std::vector<int64_t>{-1, len}}}, n.outputs[0] + "_rows");
    if (!largest) x = insert_before(i, n.name + "_neg", "elementwise", {x}, {{"fn", std::string("neg")}}, n.outputs[0] + "_neg");
    const std::string values = fresh(n.outputs[0] + "_topk"), indices = fresh(n.outputs[1] + "_topk");
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(fresh(n.name + "_top_k"), "top_k", {x}, {values, indices}, {{"k", (*k)[0]}}));
    ++i;
    // Back to the input's layout (the axis holding k entries), one chain per output.
    Dims moved_dims(in.begin(), in.end());
    std::swap(moved_dims[static_cast<size_t>(axis)], moved_dims.back());
    moved_dims.back() = (*k)[0];
    for (int64_t& d : moved_dims)
      if (d == kDynamic) d = -1;
    std::vector<OnnxNode> tail;
    for (int o = 0; o < 2; ++o) {
      const std::string out = n.outputs[static_cast<size_t>(o)];
      if (out.empty()) continue;
      std::string t = o == 0 ? values : indices;
      std::vector<OnnxNode> chain;
      auto step = [&](const std::string& op, const std::map<std::string, AttrValue>& attrs, bool last) {
        const std::string next = last ? out : fresh(out + "_" + op);
        chain.push_back(cagr_node(fresh(n.name + "_" + op + std::to_string(o)), op, {t}, {next}, attrs));
        t = next;
      };
      const bool negate = o == 0 && !largest;
      if (negate) step("elementwise", {{"fn", std::string("neg")}}, rank == 2 && !moved);
      if (rank != 2) step("reshape", {{"shape", moved_dims}}, !moved);
      if (moved) step("transpose", {{"perm", perm}}, true);
      if (chain.empty()) alias(out, t);
      tail.insert(tail.end(), chain.begin(), chain.end());
    }
    g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), tail.begin(), tail.end());
    count("top_k (from TopK)");
    return true;
  }
  // A one-element f32 constant as a row of A's last dim, which add/mul repeat over the rest.
  std::string row_of(const OnnxNode& n, const std::string& scalar, const Dims& a) {
    const OnnxConstant& c = *constant(scalar);
    const int64_t width = a.empty() ? 1 : a.back();
    if (width < 0) fail(n, "a scalar operand with a last dimension that follows the batch");
    if (c.dtype != CAGR_DTYPE_F32) fail(n, std::string("a scalar operand of dtype ") + dtype_name(c.dtype));
    std::vector<std::byte> data(static_cast<size_t>(width) * 4);
    for (int64_t k = 0; k < width; ++k) std::memcpy(&data[static_cast<size_t>(k) * 4], c.data->data(), 4);
    return add_constant(scalar + "_row", OnnxConstant{CAGR_DTYPE_F32, {width}, std::make_shared<const std::vector<std::byte>>(std::move(data))});
  }
  // add/mul take B of A's shape or a suffix of it: constants go second (both ops commute), scalars
  // become a row of A's last dim. Other shapes go to the general elementwise op (false).
  bool lower_binary(size_t i) {
    const OnnxNode n = g_.nodes[i];
    std::string a = n.inputs[0], b = n.inputs[1];
    if (constant(a) && !constant(b)) std::swap(a, b);
    const auto da = probes_.dims(a);
    if (!da) return false;
    if (const OnnxConstant* c = constant(b); c && element_count(c->dims) == 1) {
      if (da->empty() || da->back() < 0 || c->dtype != CAGR_DTYPE_F32) return false;
      b = row_of(n, b, *da);
    }
    const auto db = constant(b) ? std::optional<Dims>(constant(b)->dims) : probes_.dims(b);
    if (!db) return false;
    if (db->size() > da->size() || !std::equal(db->rbegin(), db->rend(), da->rbegin())) {
      if (da->size() <= db->size() && std::equal(da->rbegin(), da->rend(), db->rbegin()) && !constant(a)) std::swap(a, b);
      else return false;  // broadcasting both ways: the general elementwise op takes it
    }
    if (probes_.find(b) && probes_.find(b)->dtype != CAGR_DTYPE_F32) return false;
    g_.nodes[i] = cagr_node(n.name, n.op == "Add" ? "add" : "mul", {a, b}, {n.outputs[0]});
    count((n.op == "Add" ? "add" : "mul") + std::string(" (from ") + n.op + ")");
    return true;
  }
  bool lower_reduce(size_t i) {
    const OnnxNode n = g_.nodes[i];
    const Dims in = dims_of(n, n.inputs[0]);
    std::vector<int64_t> axes;
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      const auto c = const_ints(n.inputs[1]);
      if (!c) fail(n, "reduction axes computed at run time; abi/OPS.md's reduce_sum needs constant axes");
      axes = *c;
    } else if (n.attrs.count("axes")) axes = std::get<std::vector<int64_t>>(n.attrs.at("axes"));
    if (axes.empty() && attr_int(n, "noop_with_empty_axes", 0)) {
      alias(n.outputs[0], n.inputs[0]);
      g_.nodes.erase(g_.nodes.begin() + static_cast<long>(i));
      count("identity removed (" + n.op + " without axes)");
      return true;
    }
    if (axes.empty()) for (size_t k = 0; k < in.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    const int64_t rank = static_cast<int64_t>(in.size());
    for (const int64_t a : axes)  // (an axis out of range reached in.at() below: fuzz_onnx)
      if (a < -rank || a >= rank) fail(n, "axis " + std::to_string(a) + " is out of range for an input of rank " + std::to_string(rank));
    const std::map<std::string, AttrValue> attrs{{"axes", axes}, {"keepdims", attr_int(n, "keepdims", 1)}};
    const bool over_batch = std::any_of(axes.begin(), axes.end(), [&](int64_t a) {
      return in.at(static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(in.size()) : a)) < 0;
    });
    if (n.op != "ReduceSum" && (n.op != "ReduceMean" || over_batch)) {
      std::map<std::string, AttrValue> general = attrs;
      general["fn"] = std::string(n.op == "ReduceMean" ? "mean" : n.op == "ReduceMax" ? "max" : n.op == "ReduceMin" ? "min" : "prod");
      g_.nodes[i] = cagr_node(n.name, "reduce", {n.inputs[0]}, {n.outputs[0]}, general);
      count("reduce (from " + n.op + ")");
      return true;
    }
    if (n.op == "ReduceSum") {
      g_.nodes[i] = cagr_node(n.name, "reduce_sum", {n.inputs[0]}, {n.outputs[0]}, attrs);
      count("reduce_sum (from ReduceSum)");
      return true;
    }
    int64_t reduced = 1;
    for (int64_t a : axes) reduced *= in.at(static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(in.size()) : a));
    const float scale = 1.0f / static_cast<float>(reduced);
    std::vector<std::byte> data(4);
    std::memcpy(data.data(), &scale, 4);
    const std::string factor =
        row_of(n, add_constant(n.name + "_scale", OnnxConstant{CAGR_DTYPE_F32, {1}, std::make_shared<const std::vector<std::byte>>(data)}),
               dims_of(n, n.outputs[0]));
    const std::string sum = fresh(n.outputs[0] + "_sum");
    g_.nodes[i] = cagr_node(n.name + "_mean", "mul", {sum, factor}, {n.outputs[0]});
    g_.nodes.insert(g_.nodes.begin() + static_cast<long>(i), cagr_node(n.name, "reduce_sum", {n.inputs[0]}, {sum}, attrs));
    count("reduce_sum + mul (from ReduceMean)");
    return true;
  }

  // ---- the CAGR graph --------------------------------------------------------------------------
  static std::string needed_for(const std::string& op) {
    if (op == "Loop" || op == "If" || op == "Scan") return "control flow, which CAGR does not run (only embedding-bag loops are recognised)";
    if (op == "Shape" || op == "Size") return "its input's shape at run time: CAGR folds shape arithmetic at load time where it does not follow the batch, and runs none";
    return "an op in abi/OPS.md with the ONNX semantics of " + op +
           " (a general tensor op: abi/tensor_ops.hpp, the CPU plugin's kernels, and its lowering in core/import/rewriter.cpp's lower_generic), or a rewrite that maps this pattern onto existing ops";
  }
  Graph build(const std::string& name) {
    for (const std::string& o : g_.outputs) {  // outputs folded to constants (Shape, Range, ...) are computed by a copy
      auto c = g_.constants.find(o);
      if (c == g_.constants.end() || producer(o)) continue;
      const std::string value = fresh(o + "_value");
      g_.constants[value] = c->second;
      g_.constants.erase(c);
      copy_into(o, value);
    }
    for (const OnnxNode& n : g_.nodes)
      if (!n.is_cagr())
        throw std::runtime_error("ONNX op '" + n.op + "' (" + n.where() + ", opset " + std::to_string(g_.opset) +
                                 ") has no counterpart in abi/OPS.md and no rewrite consumed it; importing it needs " + needed_for(n.op));
    Graph graph;
    graph.name = name;
    std::set<std::string> used;
    for (const OnnxNode& n : g_.nodes) used.insert(n.inputs.begin(), n.inputs.end());
    used.insert(g_.outputs.begin(), g_.outputs.end());
    for (const OnnxInput& in : g_.inputs)
      if (used.count(in.name)) graph.add_input(in.name, in.dtype, in.dims);
    for (const auto& [cname, c] : g_.constants)
      if (used.count(cname)) graph.add_tensor(TensorInfo{cname, c.dtype, c.dims, c.data});
    for (const OnnxNode& n : g_.nodes) {
      Node node;
      node.name = n.name;
      node.op = n.op;
      node.attrs = n.attrs;
      for (const std::string& in : n.inputs)  // a damaged file (fuzz_onnx): an input nothing before gives
        if (!graph.has_tensor(in))
          throw std::runtime_error(n.where() + " reads '" + in + "', which no earlier node, input or initializer gives");
      graph.add_node(std::move(node), n.inputs, n.outputs);
    }
    for (const std::string& o : g_.outputs) {
      if (!graph.has_tensor(o))  // a damaged file: an output that no node, input or initializer gives
        throw std::runtime_error("graph output '" + o + "' is computed by no node and is no input or initializer");
      graph.mark_output(o);
    }
    try {
      infer_and_annotate(graph);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("the rewritten graph does not validate: ") + e.what());
    }
    return graph;
  }

  OnnxGraph g_;
  RewriteReport& report_;
  Probes probes_;
  std::set<std::string> names_;
  // Offsets inputs [T, B + 1] (include_last_offset = True) of computed bags: probed with B + 1.
  std::set<std::string> offsets_with_last_;
};

}  // namespace

std::string RewriteReport::to_string() const {
  std::string s;
  for (const auto& [what, n] : counts) s += what + ": " + std::to_string(n) + "\n";
  return s;
}

Graph rewrite_to_cagr(OnnxGraph graph, const std::string& name, RewriteReport& report) {
  return Rewriter(std::move(graph), report).run(name);
}

}  // namespace cagr::onnx
