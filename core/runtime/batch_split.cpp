// batch_split.cpp - see batch_split.hpp.
#include "batch_split.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include "shape_inference.hpp"

namespace cagr {
namespace {

// The bag inputs of an op that pools bags (abi/OPS.md): which input slots hold the offsets, the
// values they point into (indices, per-sample weights), and how many tables there are.
struct BagSlots {
  int offsets = -1;
  std::vector<int> values;
  int64_t tables = 0;
};

BagSlots bag_slots(const Node& node) {
  BagSlots s;
  const int64_t inputs = static_cast<int64_t>(node.inputs.size());
  if (node.op == "embedding_bag") {
    const bool weighted = node.attr_int("weighted", 0) != 0, padded = node.attr_int("padded", 0) != 0;
    s.tables = inputs - 2 - (weighted ? 1 : 0) - (padded ? 1 : 0);
    s.offsets = 1;
    s.values = {0};
    if (weighted) s.values.push_back(static_cast<int>(2 + s.tables));
  } else if (node.op == "dlrm_embedding_interaction") {
    s.tables = inputs - 3;
    s.offsets = 2;
    s.values = {1};
  }
  return s;
}

int normalised_axis(int64_t axis, size_t rank) { return static_cast<int>(axis < 0 ? axis + static_cast<int64_t>(rank) : axis); }

int64_t product(const Dims& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= dims[i];
  return p;
}

// Where a tensor holds the samples of the batch. Along one axis, its entries are laid out
// [outer][B][factor]: `outer` blocks each holding every sample's `factor` entries in turn (a [T, B]
// table-major matrix flattened to [T*B] has outer T; [B, L, D] folded to [B*L, D] has factor L).
// An op that keeps entries of that axis apart keeps the samples apart, whatever outer and factor.
struct Layout {
  enum Kind { fixed, along_axis, bags };
  Kind kind = fixed;  // fixed: the same whatever the batch; bags: an embedding bag's offsets or the values they point into
  int axis = 0;
  int64_t outer = 1, factor = 1;
  int64_t per_sample() const { return outer * factor; }
};

// The ops of abi/OPS.md that keep the samples apart along any axis they do not name (elementwise,
// layout and indexing ops); every other op takes only its first dimension as the batch.
bool knows_any_axis(const std::string& op) {
  static const char* const ops[] = {"relu",  "sigmoid", "add",  "mul",  "elementwise",     "cast",   "expand", "transpose", "reshape",
                                    "concat", "softmax", "layer_norm", "reduce", "reduce_sum", "slice", "take", "gather_elements",
                                    "gather", "matmul",  "linear", "top_k"};
  return std::find_if(std::begin(ops), std::end(ops), [&](const char* o) { return op == o; }) != std::end(ops);
}

// Why `node` combines entries along `axis` of its input `slot` (of rank `rank`), so that, were the
// samples there, a sub-batch's result would differ from the whole batch's; or "" where it keeps them
// apart.
std::string mixes_axis(const Node& node, size_t slot, int axis, size_t rank) {
  const std::string& op = node.op;
  auto named = [&](const std::vector<int64_t>& axes) {
    return std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return normalised_axis(a, rank) == axis; });
  };
  if (!knows_any_axis(op)) return axis == 0 ? "" : "takes only its first dimension as the batch (abi/OPS.md)";
  if (op == "concat") return named({node.attr_int("axis", 1)}) ? "stacks its inputs along it" : "";
  if (op == "softmax") return named({node.attr_int("axis", -1)}) ? "normalises along it" : "";
  if (op == "layer_norm") return slot == 0 && axis < normalised_axis(node.attr_int("axis", -1), rank) ? "" : "normalises over it";
  if (op == "reduce" || op == "reduce_sum") {
    const std::vector<int64_t> axes = node.attr_ints("axes", {});
    return (op == "reduce" && axes.empty()) || named(axes) ? "reduces over it" : "";
  }
  if (op == "slice") {
    std::vector<int64_t> axes = node.attr_ints("axes", {});
    if (axes.empty())
      for (size_t a = 0; a < rank; ++a) axes.push_back(static_cast<int64_t>(a));
    for (size_t k = 0; k < axes.size(); ++k) {
      if (normalised_axis(axes[k], rank) != axis) continue;
      // The whole axis at any length, forwards, is no cut (ONNX's Slice clamps start and end).
      constexpr int64_t kHuge = int64_t{1} << 40;
      const std::vector<int64_t> starts = node.attr_ints("starts", {}), ends = node.attr_ints("ends", {}), steps = node.attr_ints("steps", {});
      const bool whole = k < starts.size() && k < ends.size() && (starts[k] == 0 || starts[k] <= -kHuge) && ends[k] >= kHuge &&
                         (k >= steps.size() || steps[k] == 1);
      return whole ? "" : "slices it";
    }
    return "";
  }
  if (op == "take" || op == "gather_elements") return slot == 0 && named({node.attr_int("axis", 0)}) ? "picks entries along it by index" : "";
  if (op == "gather") return slot == 0 && axis == 0 ? "picks rows of it by index" : "";
  if (op == "matmul") {
    const int contracted = slot == 0 ? static_cast<int>(rank) - 1 : (rank == 1 ? 0 : static_cast<int>(rank) - 2);
    return axis == contracted ? "contracts it" : "";
  }
  if (op == "linear") return slot != 0 ? "reads it as weights" : (axis == static_cast<int>(rank) - 1 ? "contracts it" : "");
  if (op == "top_k") return axis == static_cast<int>(rank) - 1 ? "ranks along it" : "";
  return "";
}

std::string quoted(const std::string& name) { return "'" + name + "'"; }

template <class Offset>
void slice_bags(const HostTensor& offsets, int64_t tables, int64_t begin, int64_t end, const std::vector<const HostTensor*>& values,
                HostTensor& out_offsets, std::vector<HostTensor*>& out_values, const std::string& name) {
  const int64_t batch = (offsets.numel() - 1) / tables, rows = end - begin;
  const Offset* off = offsets.as<Offset>();
  const int64_t length = values.empty() ? 0 : values.front()->dims.at(0);
  out_offsets = HostTensor(offsets.dtype, {tables * rows + 1});
  Offset* to = out_offsets.as<Offset>();
  std::vector<std::pair<int64_t, int64_t>> ranges;
  int64_t taken = 0;
  for (int64_t t = 0; t < tables; ++t) {
    const int64_t lo = static_cast<int64_t>(off[t * batch + begin]), hi = static_cast<int64_t>(off[t * batch + end]);
    if (lo < 0 || hi < lo || hi > length)
      throw std::invalid_argument("input " + quoted(name) + ": offsets of table " + std::to_string(t) + " run from " + std::to_string(lo) +
                                  " to " + std::to_string(hi) + ", outside the " + std::to_string(length) + " values or decreasing");
    for (int64_t b = begin; b < end; ++b) {
      const int64_t o = static_cast<int64_t>(off[t * batch + b]);
      if (o < lo || o > hi)
        throw std::invalid_argument("input " + quoted(name) + ": offsets[" + std::to_string(t * batch + b) + "] = " + std::to_string(o) +
                                    " is outside its table's bags (" + std::to_string(lo) + " .. " + std::to_string(hi) + ")");
      to[t * rows + (b - begin)] = static_cast<Offset>(o - lo + taken);
    }
    ranges.emplace_back(lo, hi);
    taken += hi - lo;
  }
  to[tables * rows] = static_cast<Offset>(taken);
  for (size_t v = 0; v < values.size(); ++v) {
    const HostTensor& in = *values[v];
    const size_t element = dtype_size(in.dtype);
    *out_values[v] = HostTensor(in.dtype, {taken});
    size_t at = 0;
    for (const auto& [lo, hi] : ranges) {
      const size_t bytes = static_cast<size_t>(hi - lo) * element;
      if (bytes) std::memcpy(out_values[v]->data.data() + at, in.data.data() + static_cast<size_t>(lo) * element, bytes);
      at += bytes;
    }
  }
}

int64_t offsets_at(const HostTensor& offsets, int64_t i) {
  return offsets.dtype == CAGR_DTYPE_I32 ? offsets.as<int32_t>()[i] : offsets.as<int64_t>()[i];
}

}  // namespace

BatchSplitter::BatchSplitter(const Graph& graph) {
  const std::vector<int>& ids = graph.inputs();
  inputs_.resize(ids.size());
  std::map<int, size_t> input_of;  // tensor id -> graph input index
  for (size_t i = 0; i < ids.size(); ++i) {
    input_of[ids[i]] = i;
    names_.push_back(graph.tensor(ids[i]).name);
  }

  // Which inputs are bag offsets and values (and 2-D per-table offsets, which cannot be cut).
  std::vector<bool> decided(ids.size(), false);
  for (const Node& node : graph.nodes()) {
    if (node.op == "table_offsets" && std::any_of(node.inputs.begin(), node.inputs.end(), [&](int t) { return !graph.tensor(t).is_constant(); }))
      throw std::invalid_argument("node " + quoted(node.name) + " (table_offsets) reads per-table offsets [T, B] into an index matrix [T, L]: a "
                                  "sub-batch would cut each table's indices at a different place, which one [T, L] matrix cannot hold");
    const BagSlots slots = bag_slots(node);
    if (slots.offsets < 0) continue;
    const int offsets = node.inputs.at(static_cast<size_t>(slots.offsets));
    const auto off = input_of.find(offsets);
    for (int v : slots.values) {
      const int value = node.inputs.at(static_cast<size_t>(v));
      const bool value_is_input = input_of.count(value) != 0;
      if (value_is_input != (off != input_of.end()))
        throw std::invalid_argument("node " + quoted(node.name) + " (" + node.op + "): its offsets and its indices must both be model inputs, or "
                                    "both computed, to be cut into sub-batches");
      if (!value_is_input) continue;
      Input& in = inputs_[input_of[value]];
      if (decided[input_of[value]] && (in.kind != Kind::bag_values || in.offsets != static_cast<int>(off->second)))
        throw std::invalid_argument("input " + quoted(names_[input_of[value]]) + " is read as the values of two different bag offsets");
      in = Input{Kind::bag_values, 0, 0, static_cast<int>(off->second)};
      decided[input_of[value]] = true;
    }
    if (off == input_of.end()) continue;
    Input& in = inputs_[off->second];
    if (decided[off->second] && (in.kind != Kind::bag_offsets || in.tables != slots.tables))
      throw std::invalid_argument("input " + quoted(names_[off->second]) + " is read as offsets of " + std::to_string(slots.tables) +
                                  " tables by node " + quoted(node.name) + " and otherwise elsewhere");
    in = Input{Kind::bag_offsets, 0, slots.tables, -1};
    decided[off->second] = true;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (decided[i]) continue;
    const Dims& dims = graph.tensor(ids[i]).dims;
    const auto batch_axis = std::find(dims.begin(), dims.end(), kDynamic);
    if (batch_axis == dims.end())
      throw std::invalid_argument("input " + quoted(names_[i]) + " [" + dims_to_string(dims) +
                                  "] has no batch dimension (none of its dimensions varies per run), so the batch cannot be cut into sub-batches");
    inputs_[i].axis = static_cast<int>(batch_axis - dims.begin());
  }
  // Where every tensor holds the samples: shapes inferred at two batches (61 and 67 samples; 71 and
  // 73 bag values: sizes no op's fixed sizes are likely to meet, and past such limits as a top_k's
  // k) say which dimension follows the batch; the ops say whether it is still one sample after
  // another (a reshape that merges the batch with an outer dimension interleaves the samples).
  constexpr int64_t kSmall = 61, kLarge = 67;
  auto dims_at = [&](int64_t batch, int64_t values) {
    std::vector<Dims> dims;
    for (size_t i = 0; i < ids.size(); ++i) {
      Dims d = graph.tensor(ids[i]).dims;
      if (inputs_[i].kind == Kind::rows) d.at(static_cast<size_t>(inputs_[i].axis)) = batch;
      else if (inputs_[i].kind == Kind::bag_offsets) d = {inputs_[i].tables * batch + 1};
      else d.at(0) = values;
      for (int64_t& x : d) x = x == kDynamic ? 2 : x;  // a dynamic dimension beside the batch: any fixed size
      dims.push_back(d);
    }
    return dims;
  };
  std::vector<TensorShape> small, large;
  try {
    small = infer_shapes(graph, dims_at(kSmall, 71));
    large = infer_shapes(graph, dims_at(kLarge, 73));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("the model's shapes at a batch of ") + std::to_string(kSmall) + " and " + std::to_string(kLarge) +
                                " samples, which tell which tensors follow the batch, cannot be inferred: " + e.what());
  }
  auto name_of = [&](int t) { return quoted(graph.tensor(t).name); };
  auto at_both = [&](int t) {
    return "(" + dims_to_string(small[static_cast<size_t>(t)].dims) + " at " + std::to_string(kSmall) + " samples, " +
           dims_to_string(large[static_cast<size_t>(t)].dims) + " at " + std::to_string(kLarge) + ")";
  };
  // The one dimension of tensor `t` that follows the batch, with `factor` entries per sample, or -1.
  auto batch_axis_of = [&](int t, int64_t factor) {
    const Dims& a = small[static_cast<size_t>(t)].dims;
    const Dims& b = large[static_cast<size_t>(t)].dims;
    int axis = -1;
    for (size_t d = 0; d < a.size(); ++d) {
      if (a[d] == b[d]) continue;
      if (axis >= 0 || a[d] != factor * kSmall || b[d] != factor * kLarge) return -1;
      axis = static_cast<int>(d);
    }
    return axis;
  };

  std::vector<Layout> layout(graph.num_tensors());
  for (size_t i = 0; i < ids.size(); ++i)
    layout[static_cast<size_t>(ids[i])] = inputs_[i].kind == Kind::rows ? Layout{Layout::along_axis, inputs_[i].axis} : Layout{Layout::bags};
  for (const Node& node : graph.nodes()) {
    const BagSlots slots = bag_slots(node);
    const std::string where = "node " + quoted(node.name) + " (" + node.op + ")";
    // What the node reads along an axis: the first such input's layout, and whether all agree.
    Layout read;
    bool reads_batch = false;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int t = node.inputs[k];
      const Layout& in = layout[static_cast<size_t>(t)];
      if (in.kind == Layout::fixed) continue;
      reads_batch = true;
      const bool offsets_slot = static_cast<int>(k) == slots.offsets;
      const bool values_slot = std::count(slots.values.begin(), slots.values.end(), static_cast<int>(k)) != 0;
      if (in.kind == Layout::bags) {
        if (offsets_slot || values_slot || node.op == "fixed_bag_offsets") continue;
        throw std::invalid_argument(where + " reads tensor " + name_of(t) + ", an embedding bag's offsets or the values they point into " +
                                    at_both(t) + ", as something else: a sub-batch would not give the same result");
      }
      if (offsets_slot)
        throw std::invalid_argument(where + " reads tensor " + name_of(t) + " " + at_both(t) + " as its bags' offsets, which the splitter cannot rebase");
      if (values_slot) {
        // T tables' values come table by table: T blocks of every sample's ids (or one table).
        if (in.outer != slots.tables && !(slots.tables == 1 && in.outer == 1))
          throw std::invalid_argument(where + " reads tensor " + name_of(t) + " " + at_both(t) + " as the ids of " + std::to_string(slots.tables) +
                                      " tables' bags, but it holds " + std::to_string(in.outer) + " block(s) of the samples, not one per table");
        continue;
      }
      if (node.op == "fixed_bag_offsets") continue;  // counts the entries only
      const std::string why = mixes_axis(node, k, in.axis, small[static_cast<size_t>(t)].dims.size());
      if (!why.empty())
        throw std::invalid_argument(where + " " + why + ": axis " + std::to_string(in.axis) + " of its input " + name_of(t) + ", which holds the batch " +
                                    at_both(t) + "; a sub-batch would not give the same result");
      if (read.kind == Layout::fixed) read = in;
      else if (in.outer != read.outer || in.factor != read.factor)
        throw std::invalid_argument(where + " reads inputs whose samples are laid out differently along their batch axes (input " + name_of(t) + " " +
                                    at_both(t) + ")");
    }
    for (int out : node.outputs) {
      Layout& l = layout[static_cast<size_t>(out)];
      const Dims& a = small[static_cast<size_t>(out)].dims;
      if (a == large[static_cast<size_t>(out)].dims) continue;  // the same whatever the batch
      if (!reads_batch)
        throw std::invalid_argument("tensor " + name_of(out) + " changes with the batch " + at_both(out) + " though " + where + " reads nothing that does");
      if (node.op == "fixed_bag_offsets") {
        l = Layout{Layout::bags};
      } else if (slots.offsets >= 0) {  // an op that pools bags: one row per bag of each table
        if (batch_axis_of(out, 1) != 0)
          throw std::invalid_argument("tensor " + name_of(out) + " " + at_both(out) + ": " + where + " does not give one row per sample");
        l = Layout{Layout::along_axis, 0};
      } else if (node.op == "reshape") {
        // The input is [P][outer][B][factor * S] in memory (P: the dims before its batch axis, S: those
        // after). The output keeps the samples apart along axis j if its dims before j multiply to a
        // divisor of P * outer and those after j to a divisor of factor * S.
        const Dims& in = small[static_cast<size_t>(node.inputs[0])].dims;
        const size_t ax = static_cast<size_t>(read.axis);
        const int64_t before = product(in, 0, ax) * read.outer, after = read.factor * product(in, ax + 1, in.size());
        l = Layout{};
        for (size_t j = 0; j < a.size() && l.kind == Layout::fixed; ++j) {
          const int64_t p = product(a, 0, j), q = product(a, j + 1, a.size());
          if (p > 0 && q > 0 && before % p == 0 && after % q == 0 && batch_axis_of(out, before / p * (after / q)) == static_cast<int>(j))
            l = Layout{Layout::along_axis, static_cast<int>(j), before / p, after / q};
        }
        if (l.kind == Layout::fixed)
          throw std::invalid_argument("tensor " + name_of(out) + " " + at_both(out) + ": " + where + " spreads the samples of " +
                                      name_of(node.inputs[0]) + " " + at_both(node.inputs[0]) + " over its entries, so a sub-batch would not give the same result");
      } else if (node.op == "transpose") {
        std::vector<int64_t> perm(a.size());
        for (size_t k = 0; k < perm.size(); ++k) perm[k] = static_cast<int64_t>(perm.size() - 1 - k);
        perm = node.attr_ints("perm", perm);
        const int axis = static_cast<int>(std::find(perm.begin(), perm.end(), read.axis) - perm.begin());
        if (batch_axis_of(out, read.per_sample()) != axis)
          throw std::invalid_argument("tensor " + name_of(out) + " " + at_both(out) + ": " + where + " does not move the batch where its perm says");
        l = Layout{Layout::along_axis, axis, read.outer, read.factor};
      } else {
        const int axis = read.kind == Layout::along_axis ? batch_axis_of(out, read.per_sample()) : -1;
        if (axis < 0)
          throw std::invalid_argument("tensor " + name_of(out) + " changes with the batch other than along one axis with " + std::to_string(read.per_sample()) +
                                      " entries per sample " + at_both(out) + ", so " + where + " mixes the samples");
        if (axis != 0 && !knows_any_axis(node.op))
          throw std::invalid_argument("tensor " + name_of(out) + " " + at_both(out) + ": " + where +
                                      " takes only its first dimension as the batch (abi/OPS.md), and the batch is not there");
        l = Layout{Layout::along_axis, axis, read.outer, read.factor};
      }
    }
  }
  for (int out : graph.outputs()) {
    const Layout& l = layout[static_cast<size_t>(out)];
    if (l.kind != Layout::along_axis || l.outer != 1)
      throw std::invalid_argument("output " + name_of(out) + " " + at_both(out) + " " +
                                  (l.kind == Layout::fixed ? "does not follow the batch" : "does not hold the samples one after another") +
                                  ", so sub-batches' outputs cannot be joined");
    output_axes_.push_back(l.axis);
  }
}

int64_t BatchSplitter::batch(const std::vector<HostTensor>& inputs) const {
  if (inputs.size() != inputs_.size())
    throw std::invalid_argument("model takes " + std::to_string(inputs_.size()) + " inputs, " + std::to_string(inputs.size()) + " given");
  int64_t batch = -1;
  std::string from;
  for (size_t i = 0; i < inputs.size(); ++i) {
    int64_t rows = -1;
    if (inputs_[i].kind == Kind::rows) {
      if (inputs[i].dims.size() <= static_cast<size_t>(inputs_[i].axis))
        throw std::invalid_argument("input " + quoted(names_[i]) + " [" + dims_to_string(inputs[i].dims) + "] has no axis " +
                                    std::to_string(inputs_[i].axis) + ", where the model holds its batch");
      rows = inputs[i].dims[static_cast<size_t>(inputs_[i].axis)];
    } else if (inputs_[i].kind == Kind::bag_offsets) {
      const HostTensor& off = inputs[i];
      if (off.dims.size() != 1 || off.numel() < 1 || (off.numel() - 1) % inputs_[i].tables != 0 ||
          (off.dtype != CAGR_DTYPE_I32 && off.dtype != CAGR_DTYPE_I64))
        throw std::invalid_argument("input " + quoted(names_[i]) + ": offsets of " + std::to_string(inputs_[i].tables) +
                                    " tables must be i32 or i64 [T*B + 1], are [" + dims_to_string(off.dims) + "]");
      rows = (off.numel() - 1) / inputs_[i].tables;
      if (offsets_at(off, 0) != 0) throw std::invalid_argument("input " + quoted(names_[i]) + ": offsets[0] must be 0");
    } else {
      if (inputs[i].dims.size() != 1) throw std::invalid_argument("input " + quoted(names_[i]) + ": bag values must be one-dimensional");
      continue;
    }
    if (batch >= 0 && rows != batch)
      throw std::invalid_argument("input " + quoted(names_[i]) + " holds " + std::to_string(rows) + " samples, input " + quoted(from) +
                                  " " + std::to_string(batch));
    batch = rows;
    from = names_[i];
  }
  if (batch < 0) throw std::invalid_argument("the model has no input with a batch dimension");
  return batch;
}

std::vector<HostTensor> BatchSplitter::slice(const std::vector<HostTensor>& inputs, int64_t begin, int64_t end) const {
  const int64_t total = batch(inputs);
  if (begin < 0 || end < begin || end > total)
    throw std::invalid_argument("rows " + std::to_string(begin) + " .. " + std::to_string(end) + " of a batch of " + std::to_string(total));
  std::vector<HostTensor> out(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const HostTensor& in = inputs[i];
    if (inputs_[i].kind == Kind::rows) {
      // [outer][batch][inner]: of each outer block, the rows begin .. end.
      const size_t axis = static_cast<size_t>(inputs_[i].axis);
      Dims dims = in.dims;
      dims[axis] = end - begin;
      out[i] = HostTensor(in.dtype, dims);
      const size_t inner = static_cast<size_t>(product(in.dims, axis + 1, in.dims.size())) * dtype_size(in.dtype);
      const size_t outer = static_cast<size_t>(product(in.dims, 0, axis)), from = static_cast<size_t>(in.dims[axis]) * inner;
      const size_t bytes = static_cast<size_t>(end - begin) * inner;
      for (size_t o = 0; bytes && o < outer; ++o)
        std::memcpy(out[i].data.data() + o * bytes, in.data.data() + o * from + static_cast<size_t>(begin) * inner, bytes);
    } else if (inputs_[i].kind == Kind::bag_offsets) {
      std::vector<const HostTensor*> values;
      std::vector<HostTensor*> out_values;
      for (size_t v = 0; v < inputs.size(); ++v)
        if (inputs_[v].kind == Kind::bag_values && inputs_[v].offsets == static_cast<int>(i)) {
          values.push_back(&inputs[v]);
          out_values.push_back(&out[v]);
        }
      for (const HostTensor* v : values)
        if (v->dims.at(0) != values.front()->dims.at(0))
          throw std::invalid_argument("input " + quoted(names_[i]) + ": its indices and per-sample weights differ in length");
      if (in.dtype == CAGR_DTYPE_I32) slice_bags<int32_t>(in, inputs_[i].tables, begin, end, values, out[i], out_values, names_[i]);
      else slice_bags<int64_t>(in, inputs_[i].tables, begin, end, values, out[i], out_values, names_[i]);
    }
  }
  return out;
}

HostTensor BatchSplitter::join(size_t output, const std::vector<const HostTensor*>& parts) const {
  return concat_along(parts, output_axes_.at(output));
}

HostTensor concat_along(const std::vector<const HostTensor*>& parts, int axis) {
  if (parts.empty()) throw std::invalid_argument("concat_along: nothing to join");
  const size_t ax = static_cast<size_t>(axis);
  Dims dims = parts.front()->dims;
  if (ax >= dims.size()) throw std::invalid_argument("concat_along: axis " + std::to_string(axis) + " of [" + dims_to_string(dims) + "]");
  dims[ax] = 0;
  for (const HostTensor* p : parts) {
    if (p->dtype != parts.front()->dtype || p->dims.size() != dims.size())
      throw std::invalid_argument("concat_along: parts of different dtypes or ranks");
    for (size_t d = 0; d < dims.size(); ++d)
      if (d != ax && p->dims[d] != dims[d]) throw std::invalid_argument("concat_along: parts differ beside axis " + std::to_string(axis));
    dims[ax] += p->dims[ax];
  }
  // [outer][axis][inner]: each outer block is the parts' blocks one after another.
  HostTensor out(parts.front()->dtype, dims);
  const size_t inner = static_cast<size_t>(product(dims, ax + 1, dims.size())) * dtype_size(out.dtype);
  const size_t outer = static_cast<size_t>(product(dims, 0, ax));
  size_t at = 0;
  for (size_t o = 0; o < outer; ++o)
    for (const HostTensor* p : parts) {
      const size_t bytes = static_cast<size_t>(p->dims[ax]) * inner;
      if (bytes) std::memcpy(out.data.data() + at, p->data.data() + o * bytes, bytes);
      at += bytes;
    }
  return out;
}

}  // namespace cagr
