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

int64_t normalised_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

// Why `node` mixes rows of its row-holding inputs without changing their count (so that the shape
// check cannot see it), or "" where it keeps rows apart. The ops of abi/OPS.md that can.
std::string mixes_rows(const Node& node, const std::vector<bool>& rows, const std::vector<TensorShape>& shapes) {
  auto holds_rows = [&](size_t i) { return i < node.inputs.size() && rows[static_cast<size_t>(node.inputs[i])]; };
  if (!holds_rows(0) && !holds_rows(1)) return "";
  const size_t rank = shapes[static_cast<size_t>(node.inputs[0])].dims.size();
  const std::string& op = node.op;
  if ((op == "softmax" || op == "layer_norm") && holds_rows(0) && normalised_axis(node.attr_int("axis", -1), rank) == 0)
    return "normalises over axis 0, the batch";
  if ((op == "reduce" || op == "reduce_sum") && holds_rows(0)) {
    const std::vector<int64_t> axes = node.attr_ints("axes", {});
    const bool over_batch = (op == "reduce" && axes.empty()) ||
                            std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return normalised_axis(a, rank) == 0; });
    if (over_batch) return "reduces over the batch";
  }
  if (op == "slice" && holds_rows(0)) {
    std::vector<int64_t> axes = node.attr_ints("axes", {});
    if (axes.empty())
      for (size_t a = 0; a < rank; ++a) axes.push_back(static_cast<int64_t>(a));
    if (std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return normalised_axis(a, rank) == 0; })) return "slices the batch";
  }
  if ((op == "gather" || ((op == "take" || op == "gather_elements") && normalised_axis(node.attr_int("axis", 0), rank) == 0)) &&
      holds_rows(0))
    return "picks rows of the batch by index";
  if (op == "matmul" && holds_rows(1)) return "multiplies by a matrix of the batch's rows";
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

  // Which inputs are bag offsets and values; which tensors feed bags (exempt from the row check:
  // their first dimension is the bags' or the indices' count, and they are cut with them).
  std::vector<bool> bag_input(graph.num_tensors(), false);
  std::vector<bool> decided(ids.size(), false);
  for (const Node& node : graph.nodes()) {
    const BagSlots slots = bag_slots(node);
    if (slots.offsets < 0) continue;
    const int offsets = node.inputs.at(static_cast<size_t>(slots.offsets));
    bag_input[static_cast<size_t>(offsets)] = true;
    for (int v : slots.values) bag_input[static_cast<size_t>(node.inputs.at(static_cast<size_t>(v)))] = true;
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
      in = Input{Kind::bag_values, 0, static_cast<int>(off->second)};
      decided[input_of[value]] = true;
    }
    if (off == input_of.end()) continue;
    Input& in = inputs_[off->second];
    if (decided[off->second] && (in.kind != Kind::bag_offsets || in.tables != slots.tables))
      throw std::invalid_argument("input " + quoted(names_[off->second]) + " is read as offsets of " + std::to_string(slots.tables) +
                                  " tables by node " + quoted(node.name) + " and otherwise elsewhere");
    in = Input{Kind::bag_offsets, slots.tables, -1};
    decided[off->second] = true;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (decided[i]) continue;
    const Dims& dims = graph.tensor(ids[i]).dims;
    if (dims.empty() || dims[0] != kDynamic)
      throw std::invalid_argument("input " + quoted(names_[i]) + " [" + dims_to_string(dims) +
                                  "] has no batch dimension (its first dimension is not the one that varies per run), so the batch cannot be "
                                  "cut into sub-batches");
  }
  // A bag input read elsewhere too would be cut twice, differently.
  for (const Node& node : graph.nodes()) {
    const BagSlots slots = bag_slots(node);
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const bool bag_slot = static_cast<int>(k) == slots.offsets || std::count(slots.values.begin(), slots.values.end(), static_cast<int>(k));
      const auto in = input_of.find(node.inputs[k]);
      if (!bag_slot && in != input_of.end() && inputs_[in->second].kind != Kind::rows)
        throw std::invalid_argument("input " + quoted(names_[in->second]) + " is an embedding bag's offsets or indices and is also read by node " +
                                    quoted(node.name) + " (" + node.op + "): it cannot be cut into sub-batches both ways");
    }
  }

  // Rows: the tensors whose shape follows the batch, found by inferring every shape at two batches
  // (61 and 67 rows; 71 and 73 bag values: sizes no op's fixed sizes are likely to meet, and past
  // such limits as a top_k's k). Each must have the batch as its first dimension.
  constexpr int64_t kSmall = 61, kLarge = 67;
  auto dims_at = [&](int64_t batch, int64_t values) {
    std::vector<Dims> dims;
    for (size_t i = 0; i < ids.size(); ++i) {
      Dims d = graph.tensor(ids[i]).dims;
      for (int64_t& x : d) x = x == kDynamic ? 2 : x;  // a dynamic dimension beyond the first: any fixed size
      if (inputs_[i].kind == Kind::rows) d.at(0) = batch;
      else if (inputs_[i].kind == Kind::bag_offsets) d = {inputs_[i].tables * batch + 1};
      else d.at(0) = values;
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
                                " rows, which tell which tensors follow the batch, cannot be inferred: " + e.what());
  }
  rows_.assign(graph.num_tensors(), false);
  for (size_t t = 0; t < graph.num_tensors(); ++t) {
    if (small[t].dims == large[t].dims || bag_input[t]) continue;
    const Dims& a = small[t].dims;
    const Dims& b = large[t].dims;
    if (a.empty() || a[0] != kSmall || b[0] != kLarge || !std::equal(a.begin() + 1, a.end(), b.begin() + 1))
      throw std::invalid_argument("tensor " + quoted(graph.tensor(static_cast<int>(t)).name) +
                                  " changes with the batch other than by its first dimension (" + dims_to_string(a) + " at " + std::to_string(kSmall) +
                                  " rows, " + dims_to_string(b) + " at " + std::to_string(kLarge) + "), so its rows are not the samples'");
    rows_[t] = true;
  }
  for (const Node& node : graph.nodes()) {
    const std::string why = mixes_rows(node, rows_, small);
    if (!why.empty())
      throw std::invalid_argument("node " + quoted(node.name) + " (" + node.op + ") " + why + ": a sub-batch would not give the same rows");
  }
  for (int out : graph.outputs())
    if (!rows_[static_cast<size_t>(out)])
      throw std::invalid_argument("output " + quoted(graph.tensor(out).name) + " is not one row per sample, so sub-batches' outputs cannot be joined");
}

int64_t BatchSplitter::batch(const std::vector<HostTensor>& inputs) const {
  if (inputs.size() != inputs_.size())
    throw std::invalid_argument("model takes " + std::to_string(inputs_.size()) + " inputs, " + std::to_string(inputs.size()) + " given");
  int64_t batch = -1;
  std::string from;
  for (size_t i = 0; i < inputs.size(); ++i) {
    int64_t rows = -1;
    if (inputs_[i].kind == Kind::rows) {
      if (inputs[i].dims.empty()) throw std::invalid_argument("input " + quoted(names_[i]) + " is a scalar, not a batch of rows");
      rows = inputs[i].dims[0];
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
      Dims dims = in.dims;
      dims[0] = end - begin;
      out[i] = HostTensor(in.dtype, dims);
      const size_t row = in.dims[0] ? in.data.size() / static_cast<size_t>(in.dims[0]) : 0;
      if (!out[i].data.empty()) std::memcpy(out[i].data.data(), in.data.data() + static_cast<size_t>(begin) * row, out[i].data.size());
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

HostTensor concat_rows(const std::vector<const HostTensor*>& parts) {
  if (parts.empty()) throw std::invalid_argument("concat_rows: nothing to join");
  Dims dims = parts.front()->dims;
  dims.at(0) = 0;
  for (const HostTensor* p : parts) {
    if (p->dtype != parts.front()->dtype || p->dims.size() != dims.size() ||
        !std::equal(p->dims.begin() + 1, p->dims.end(), dims.begin() + 1))
      throw std::invalid_argument("concat_rows: parts of different dtypes or row shapes");
    dims[0] += p->dims[0];
  }
  HostTensor out(parts.front()->dtype, dims);
  size_t at = 0;
  for (const HostTensor* p : parts) {
    if (!p->data.empty()) std::memcpy(out.data.data() + at, p->data.data(), p->data.size());
    at += p->data.size();
  }
  return out;
}

}  // namespace cagr
