// onnx_import.cpp - .onnx parsing (Debian's libonnx protobuf classes), external data, and the small
// evaluator used for constant folding and shape probing.
#include "onnx_import.hpp"

#include <onnx/onnx_pb.h>

#include "attr_map.hpp"
#include "einsum.hpp"
#include "tensor_ops.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <map>
#include <set>
#include <stdexcept>

namespace cagr::onnx {
namespace {

namespace pb = ::onnx;

// Element counts above this are evaluated for their shape only: weights never need their values to
// fold shapes, and probes stay cheap.
constexpr int64_t kMaxEvaluatedElements = 1 << 16;

cagr_dtype dtype_of(int32_t onnx_type, const std::string& what) {
  switch (onnx_type) {
    case pb::TensorProto::FLOAT: return CAGR_DTYPE_F32;
    case pb::TensorProto::FLOAT16: return CAGR_DTYPE_F16;
    case pb::TensorProto::BFLOAT16: return CAGR_DTYPE_BF16;
    case pb::TensorProto::INT32: return CAGR_DTYPE_I32;
    case pb::TensorProto::INT64: return CAGR_DTYPE_I64;
    case pb::TensorProto::INT8: return CAGR_DTYPE_I8;
    case pb::TensorProto::UINT8:
    case pb::TensorProto::BOOL: return CAGR_DTYPE_U8;  // bools are bytes of 0/1
    default: throw std::runtime_error(what + ": ONNX element type " + std::to_string(onnx_type) + " has no CAGR dtype");
  }
}

// An external-data offset or length: the whole value a non-negative decimal number. std::stoll
// threw std::invalid_argument on a damaged file's non-number (fuzz_onnx) and took "12x" as 12.
int64_t external_number(const pb::TensorProto& t, const std::string& key, const std::string& value) {
  int64_t n = -1;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || n < 0)
    throw std::runtime_error("initializer '" + t.name() + "': external data " + key + " '" + value + "' is not a non-negative number");
  return n;
}

std::vector<std::byte> read_external(const pb::TensorProto& t, const std::filesystem::path& folder, size_t bytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = external_number(t, kv.key(), kv.value());
    if (kv.key() == "length") length = external_number(t, kv.key(), kv.value());
  }
  const std::filesystem::path file = folder / location;
  // Weights live beside the model: absolute paths and ".." could read any file.
  if (location.empty() || location.find("..") != std::string::npos || std::filesystem::path(location).is_absolute())
    throw std::runtime_error("initializer '" + t.name() + "': bad external data location '" + location + "'");
  if (length >= 0 && static_cast<size_t>(length) != bytes)
    throw std::runtime_error("initializer '" + t.name() + "': external data length " + std::to_string(length) + " but shape needs " +
                             std::to_string(bytes) + " bytes");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("initializer '" + t.name() + "': cannot open external data file " + file.string());
  std::vector<std::byte> data(bytes);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(bytes));
  if (static_cast<size_t>(in.gcount()) != bytes)
    throw std::runtime_error("initializer '" + t.name() + "': external data file " + file.string() + " is too short");
  return data;
}

template <class Field>
std::vector<std::byte> bytes_of_field(const Field& field, cagr_dtype dtype, size_t count) {
  // Checked before allocating: a damaged shape claiming 2^60 elements over a short field asked for
  // that much memory (fuzz_onnx).
  if (static_cast<size_t>(field.size()) != count) throw std::runtime_error("element count does not match the shape");
  std::vector<std::byte> data(count * dtype_size(dtype));
  for (size_t i = 0; i < count; ++i) {
    const auto v = field.Get(static_cast<int>(i));
    switch (dtype) {
      case CAGR_DTYPE_F32: { const float f = static_cast<float>(v); std::memcpy(&data[i * 4], &f, 4); break; }
      case CAGR_DTYPE_I64: { const int64_t x = static_cast<int64_t>(v); std::memcpy(&data[i * 8], &x, 8); break; }
      case CAGR_DTYPE_I32: { const int32_t x = static_cast<int32_t>(v); std::memcpy(&data[i * 4], &x, 4); break; }
      case CAGR_DTYPE_U8:
      case CAGR_DTYPE_I8: data[i] = static_cast<std::byte>(v); break;
      default: throw std::runtime_error("typed fields of this dtype are not supported");
    }
  }
  return data;
}

OnnxConstant constant_of(const pb::TensorProto& t, const std::filesystem::path& folder) {
  const std::string what = "tensor '" + t.name() + "'";
  OnnxConstant c;
  c.dtype = dtype_of(t.data_type(), what);
  // The shape is the file's: a negative dimension, or dimensions whose product overflows (fuzz_onnx:
  // UBSan, signed overflow in element_count), is refused before anything is counted or sized by it.
  uint64_t shape_bytes = dtype_size(c.dtype);
  for (int64_t d : t.dims()) {
    c.dims.push_back(d);
    if (d < 0) throw std::runtime_error(what + ": dimension " + std::to_string(d) + " is negative");
    if (__builtin_mul_overflow(shape_bytes, static_cast<uint64_t>(d), &shape_bytes) || shape_bytes > static_cast<uint64_t>(INT64_MAX))
      throw std::runtime_error(what + ": shape " + dims_to_string(c.dims) + "... holds more bytes than 64 bits count");
  }
  const size_t count = static_cast<size_t>(element_count(c.dims));
  const size_t bytes = count * dtype_size(c.dtype);
  std::vector<std::byte> data;
  try {
    if (t.data_location() == pb::TensorProto::EXTERNAL) data = read_external(t, folder, bytes);
    else if (t.has_raw_data()) {
      if (t.raw_data().size() != bytes) throw std::runtime_error("raw data has " + std::to_string(t.raw_data().size()) + " bytes, shape needs " + std::to_string(bytes));
      data.resize(bytes);
      if (bytes > 0) std::memcpy(data.data(), t.raw_data().data(), bytes);  // an empty tensor has no data pointer
    } else if (c.dtype == CAGR_DTYPE_F32) data = bytes_of_field(t.float_data(), c.dtype, count);
    else if (c.dtype == CAGR_DTYPE_I64) data = bytes_of_field(t.int64_data(), c.dtype, count);
    else data = bytes_of_field(t.int32_data(), c.dtype, count);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
  c.data = std::make_shared<const std::vector<std::byte>>(std::move(data));
  return c;
}

// Attributes of the kinds our rewrites read; others (sparse tensors, type protos, lists of graphs
// or strings) appear on no op we import, and are left out.
std::optional<AttrValue> attr_of(const pb::AttributeProto& a) {
  switch (a.type()) {
    case pb::AttributeProto::INT: return a.i();
    case pb::AttributeProto::FLOAT: return static_cast<double>(a.f());
    case pb::AttributeProto::STRING: return a.s();
    case pb::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case pb::AttributeProto::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    default: return std::nullopt;
  }
}

// ONNX's input counts (the fewest and the most over the opsets) of the ops the importer reads, and
// that each has at least one output: a damaged file's node short of an input or an output is
// refused here, naming it, before a rewrite reads it by position. fuzz_onnx found that class one
// op at a time (a one-input Mul in the FM matcher, a one-input Gather, a Constant without its
// output); this closes it for every op listed. Optional inputs may be given as "".
void check_arity(const OnnxNode& node) {
  struct Arity {
    size_t min, max;
  };
  constexpr size_t kMany = static_cast<size_t>(-1);
  static const std::map<std::string, Arity> arity = [] {
    std::map<std::string, Arity> a;
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "Neg", "Sqrt", "Exp", "Log", "Abs", "Reciprocal", "Floor", "Ceil", "Not",
                           "Identity", "Shape", "Size", "Flatten", "Transpose", "Softmax", "LogSoftmax", "Cast", "ConstantOfShape",
                           "Erf", "Sign", "IsNaN", "IsInf", "Softplus", "LeakyRelu", "Elu"})
      a[op] = {1, 1};
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And",
                           "Or", "Xor", "MatMul", "Gather", "GatherElements", "GatherND", "Expand", "Mod", "CastLike"})
      a[op] = {2, 2};
    for (const char* op : {"Max", "Min", "Sum", "Mean", "Concat"}) a[op] = {1, kMany};
    for (const char* op : {"Reshape", "Squeeze", "Unsqueeze", "Split", "TopK", "ReduceSum", "ReduceMean", "ReduceMax",
                           "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"})
      a[op] = {1, 2};
    a["Where"] = {3, 3};
    a["Range"] = {3, 3};
    a["Gemm"] = {2, 3};
    a["Slice"] = {1, 5};
    a["Dropout"] = {1, 3};
    a["Clip"] = {1, 3};
    a["Tile"] = {2, 3};
    a["BatchNormalization"] = {5, 5};
    a["LayerNormalization"] = {2, 3};
    a["If"] = {1, 1};
    a["Loop"] = {2, kMany};
    return a;
  }();
  if (!node.domain.empty()) return;
  const auto it = arity.find(node.op);
  if (it == arity.end()) return;
  const Arity want = it->second;
  const size_t given = node.inputs.size();
  std::string expected = std::to_string(want.min);
  if (want.max != want.min) expected += want.max == kMany ? " or more" : " to " + std::to_string(want.max);
  if (given < want.min || given > want.max)
    throw std::runtime_error(node.where() + ": " + node.op + " takes " + expected + " input(s), this one has " + std::to_string(given));
  for (size_t k = 0; k < want.min; ++k)
    if (node.inputs[k].empty() && node.op != "Loop")  // Loop's trip count and condition may be omitted
      throw std::runtime_error(node.where() + ": " + node.op + "'s input " + std::to_string(k) + " is required but not given");
  if (node.outputs.empty() || node.outputs[0].empty())
    throw std::runtime_error(node.where() + ": " + node.op + " has no output");
}

OnnxGraph graph_of(const pb::GraphProto& g, const std::filesystem::path& folder) {
  OnnxGraph out;
  // A graph defines each name once (ONNX's SSA rule). A damaged file's second definition (fuzz_onnx:
  // an input listed twice) is refused here, naming it, instead of reaching Graph::add_tensor after
  // the rewrite, whose std::invalid_argument is no import error.
  std::set<std::string> defined;
  auto define = [&](const std::string& name, const std::string& by) {
    if (!name.empty() && !defined.insert(name).second)
      throw std::runtime_error(by + " defines tensor '" + name + "', which the graph already defines");
  };
  for (const auto& init : g.initializer()) {
    define(init.name(), "initializer '" + init.name() + "'");
    out.constants[init.name()] = constant_of(init, folder);
  }
  for (const auto& in : g.input()) {
    if (out.constants.count(in.name())) continue;  // old exporters list initializers as inputs
    define(in.name(), "input '" + in.name() + "'");
    OnnxInput input{in.name(), CAGR_DTYPE_INVALID, {}};
    if (in.type().has_tensor_type()) {
      const auto& tt = in.type().tensor_type();
      input.dtype = dtype_of(tt.elem_type(), "input '" + in.name() + "'");
      for (const auto& d : tt.shape().dim()) input.dims.push_back(d.has_dim_value() ? d.dim_value() : kDynamic);
    }
    out.inputs.push_back(std::move(input));
    out.body_inputs.push_back(in.name());
  }
  for (const auto& o : g.output()) out.outputs.push_back(o.name());
  int unnamed = 0;
  for (const auto& n : g.node()) {
    OnnxNode node;
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(unnamed++) : n.name();
    node.op = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const std::string& o : node.outputs) define(o, node.where());
    check_arity(node);
    // A damaged file's Constant without its output (fuzz_onnx) is refused, not read past its end.
    if (node.op == "Constant" && node.outputs.size() != 1)
      throw std::runtime_error(node.where() + ": a Constant node has one output, this one has " + std::to_string(node.outputs.size()));
    for (const auto& a : n.attribute()) {
      if (a.type() == pb::AttributeProto::GRAPH) node.subgraphs[a.name()] = std::make_shared<OnnxGraph>(graph_of(a.g(), folder));
      else if (a.type() == pb::AttributeProto::TENSOR) {
        if (node.op == "Constant") out.constants[node.outputs.at(0)] = constant_of(a.t(), folder);
        else node.tensor_attrs[a.name()] = std::make_shared<const OnnxConstant>(constant_of(a.t(), folder));
      } else if (auto value = attr_of(a)) {
        node.attrs[a.name()] = *value;
      }
    }
    if (node.op == "Constant" && node.domain.empty()) {
      if (!out.constants.count(node.outputs.at(0)))
        throw std::runtime_error(node.where() + ": only Constant nodes with a tensor 'value' are supported");
      continue;
    }
    out.nodes.push_back(std::move(node));
  }
  return out;
}

// ---- evaluation ---------------------------------------------------------------------------------

std::vector<int64_t> strides_of(const Dims& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

// An axis read from the model into 0..rank-1; throws std::out_of_range for one outside -rank..rank-1
// (a damaged or hostile file: the node is then left unevaluated, and the import fails naming it).
int64_t norm_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) throw std::out_of_range("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + r : axis;
}

std::vector<int64_t> as_ints(const EvalValue& v) {
  std::vector<int64_t> out;
  for (double d : *v.values) out.push_back(saturated<int64_t>(d));
  return out;
}

EvalValue from_constant(const OnnxConstant& c) {
  EvalValue v{c.dtype, c.dims, std::nullopt};
  if (element_count(c.dims) <= kMaxEvaluatedElements) v.values = constant_values(c);
  return v;
}

// Numpy broadcasting of two shapes.
Dims broadcast(const Dims& a, const Dims& b) {
  Dims out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) throw std::invalid_argument("shapes do not broadcast");
    out[i] = da == 1 ? db : da;  // not max: a 0 broadcast against a 1 stays 0 (an empty tensor)
  }
  return out;
}

// Index into `src` (shape `dims`, broadcast to `out`) of flat output position `flat`.
int64_t broadcast_index(int64_t flat, const Dims& out, const Dims& dims) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    const size_t i = dims.size() - 1 - k, o = out.size() - 1 - k;
    const int64_t coord = (flat / std::accumulate(out.begin() + static_cast<long>(o) + 1, out.end(), int64_t{1}, std::multiplies<>())) % out[o];
    if (dims[i] != 1) idx += coord * stride;
    stride *= dims[i];
  }
  return idx;
}

// A reshape target with its -1 entry worked out from the element count.
// A reshape's -1 worked out: unknown (-1) where the element count is (a dimension that follows the
// batch, while folding before the probes), 0 where the other dimensions hold no element.
Dims infer_minus_one(Dims spec, int64_t elements) {
  int64_t known = 1;
  for (int64_t d : spec)
    if (d != -1) known *= d;
  for (int64_t& d : spec)
    if (d == -1) d = elements < 0 ? -1 : known == 0 ? 0 : elements / known;
  return spec;
}

class Evaluator {
 public:
  Evaluator(const OnnxGraph& graph, EvalValues values) : graph_(graph), values_(std::move(values)) {
    for (const auto& [name, v] : values_) seeded_.insert(name);
  }

  EvalValues run() {
    for (const auto& [name, c] : graph_.constants)
      if (!values_.count(name)) values_[name] = from_constant(c);
    for (const OnnxNode& node : graph_.nodes) evaluate_once(node);
    return std::move(values_);
  }

 private:
  void evaluate_once(const OnnxNode& node) {
    if (std::all_of(node.outputs.begin(), node.outputs.end(), [&](const std::string& o) { return seeded_.count(o) > 0; })) return;
    try {
      eval(node);
    } catch (const std::exception&) {
      // An op the evaluator cannot finish leaves its outputs unknown: the rewriter reports any
      // node it then cannot place.
    }
  }
  const EvalValue* get(const OnnxNode& n, size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
    auto it = values_.find(n.inputs[i]);
    return it == values_.end() ? nullptr : &it->second;
  }
  const EvalValue& need(const OnnxNode& n, size_t i) const {
    const EvalValue* v = get(n, i);
    if (!v) throw std::invalid_argument("unknown input");
    return *v;
  }
  std::vector<int64_t> need_ints(const OnnxNode& n, size_t i) const {
    const EvalValue& v = need(n, i);
    if (!v.values) throw std::invalid_argument("unknown values");
    return as_ints(v);
  }
  void set(const OnnxNode& n, EvalValue v, size_t i = 0) {
    if (v.values && element_count(v.dims) > kMaxEvaluatedElements) v.values.reset();
    values_[n.outputs.at(i)] = std::move(v);
  }
  int64_t attr(const OnnxNode& n, const std::string& key, int64_t fallback) const {
    auto it = n.attrs.find(key);
    return it == n.attrs.end() ? fallback : std::get<int64_t>(it->second);
  }
  // Axes from the opset-13 input or the older attribute.
  std::vector<int64_t> axes_of(const OnnxNode& n, size_t input) const {
    if (get(n, input)) return need_ints(n, input);
    auto it = n.attrs.find("axes");
    return it == n.attrs.end() ? std::vector<int64_t>{} : std::get<std::vector<int64_t>>(it->second);
  }

  // Output with `dims` whose element i is input element map(i) (pure data movement).
  EvalValue gathered(const EvalValue& in, Dims dims, const std::function<int64_t(int64_t)>& map) const {
    EvalValue out{in.dtype, std::move(dims), std::nullopt};
    if (in.values && element_count(out.dims) <= kMaxEvaluatedElements) {
      std::vector<double> v(static_cast<size_t>(element_count(out.dims)));
      const int64_t size = static_cast<int64_t>(in.values->size());
      for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
        const int64_t from = map(i);
        // Shapes and indices come from the file: one that reads outside the input leaves the node
        // unevaluated rather than reading memory it does not own.
        if (from < 0 || from >= size) throw std::out_of_range("element " + std::to_string(from) + " of " + std::to_string(size));
        v[static_cast<size_t>(i)] = (*in.values)[static_cast<size_t>(from)];
      }
      out.values = std::move(v);
    }
    return out;
  }

  void binary(const OnnxNode& n, const std::function<double(double, double)>& f, bool compare) {
    const EvalValue &a = need(n, 0), &b = need(n, 1);
    EvalValue out{compare ? CAGR_DTYPE_U8 : a.dtype, broadcast(a.dims, b.dims), std::nullopt};
    // Values that fill their dims (a damaged file can give a tensor fewer values than its shape
    // says: reading by the shape would run past them); otherwise the node stays unevaluated.
    auto whole = [](const EvalValue& v) {
      return v.values && static_cast<int64_t>(v.values->size()) == element_count(v.dims) && element_count(v.dims) >= 0;
    };
    if (whole(a) && whole(b) && element_count(out.dims) >= 0) {
      std::vector<double> v(static_cast<size_t>(element_count(out.dims)));
      for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
        double r = f((*a.values)[static_cast<size_t>(broadcast_index(i, out.dims, a.dims))], (*b.values)[static_cast<size_t>(broadcast_index(i, out.dims, b.dims))]);
        if (a.dtype == CAGR_DTYPE_I64 || a.dtype == CAGR_DTYPE_I32) r = std::trunc(r);
        v[static_cast<size_t>(i)] = r;
      }
      out.values = std::move(v);
    }
    set(n, std::move(out));
  }

  // ONNX's one-input element-wise ops, on values.
  static std::optional<double (*)(double)> unary_function(const std::string& op) {
    static const std::map<std::string, double (*)(double)> fns = {
        {"Neg", [](double x) { return -x; }},
        {"Abs", [](double x) { return std::abs(x); }},
        {"Sqrt", [](double x) { return std::sqrt(x); }},
        {"Exp", [](double x) { return std::exp(x); }},
        {"Log", [](double x) { return std::log(x); }},
        {"Tanh", [](double x) { return std::tanh(x); }},
        {"Reciprocal", [](double x) { return 1.0 / x; }},
        {"Floor", [](double x) { return std::floor(x); }},
        {"Ceil", [](double x) { return std::ceil(x); }},
        {"Not", [](double x) { return x != 0 ? 0.0 : 1.0; }}};
    auto it = fns.find(op);
    return it == fns.end() ? std::nullopt : std::optional<double (*)(double)>(it->second);
  }

  // Split's output sizes along an axis of `len`: the 'split' input (opset 13+) or attribute, else
  // equal parts (the last smaller, opset 18's num_outputs).
  std::vector<int64_t> split_sizes(const OnnxNode& n, int64_t len) const {
    if (get(n, 1)) return need_ints(n, 1);
    auto it = n.attrs.find("split");
    if (it != n.attrs.end()) return std::get<std::vector<int64_t>>(it->second);
    const int64_t parts = static_cast<int64_t>(n.outputs.size());
    const int64_t each = (len + parts - 1) / parts;
    std::vector<int64_t> sizes;
    for (int64_t p = 0; p < parts; ++p) sizes.push_back(std::clamp<int64_t>(len - p * each, 0, each));
    return sizes;
  }

  void reshape_to(const OnnxNode& n, const EvalValue& in, Dims dims) {
    set(n, gathered(in, std::move(dims), [](int64_t i) { return i; }));
  }

  void eval(const OnnxNode& n) {
    const std::string& op = n.op;
    if (n.is_cagr()) {
      if (op == "embedding_bag") {
        const EvalValue &off = need(n, 1), &table = need(n, 2);
        const int64_t tables = n.bag_tables();
        set(n, EvalValue{CAGR_DTYPE_F32, {(off.dims.at(0) - 1) / tables, tables, table.dims.at(1)}, std::nullopt});
      } else if (op == "reshape") {
        const EvalValue& in = need(n, 0);
        std::vector<int64_t> spec = std::get<std::vector<int64_t>>(n.attrs.at("shape"));
        for (size_t i = 0; i < spec.size(); ++i)
          if (spec[i] == 0) spec[i] = in.dims.at(i);
        reshape_to(n, in, infer_minus_one(spec, element_count(in.dims)));
      } else if (contract::is_tensor_op(op)) {  // shapes by the op's own rule; values are not computed
        std::vector<contract::TensorType> inputs;
        for (size_t i = 0; i < n.inputs.size(); ++i) inputs.push_back(contract::TensorType{need(n, i).dtype, need(n, i).dims});
        const auto outs = contract::describe_tensor_op(op, inputs, AttrMap(n.attrs, n.where())).outputs;
        for (size_t o = 0; o < n.outputs.size() && o < outs.size(); ++o) set(n, EvalValue{outs[o].dtype, outs[o].dims, std::nullopt}, o);
      }
      return;
    }
    if (op == "Identity") return set(n, need(n, 0));
    if (op == "Cast" || op == "CastLike") {
      EvalValue v = need(n, 0);
      v.dtype = op == "Cast" ? dtype_of(static_cast<int32_t>(attr(n, "to", 0)), n.where()) : need(n, 1).dtype;
      if (v.values && (v.dtype == CAGR_DTYPE_I64 || v.dtype == CAGR_DTYPE_I32))
        for (double& d : *v.values) d = std::trunc(d);
      if (v.values && op == "Cast" && attr(n, "to", 0) == pb::TensorProto::BOOL)
        for (double& d : *v.values) d = d != 0 ? 1.0 : 0.0;
      return set(n, std::move(v));
    }
    if (op == "Shape") {
      const Dims& d = need(n, 0).dims;
      const int64_t r = static_cast<int64_t>(d.size());
      auto clamped = [&](int64_t a) { return std::clamp(a < 0 ? a + r : a, int64_t{0}, r); };  // ONNX clamps Shape's bounds
      int64_t start = clamped(attr(n, "start", 0));
      int64_t end = clamped(attr(n, "end", r));
      std::vector<double> v;
      for (int64_t i = start; i < end; ++i) {
        if (d[static_cast<size_t>(i)] < 0) throw std::invalid_argument("dynamic dim");
        v.push_back(static_cast<double>(d[static_cast<size_t>(i)]));
      }
      return set(n, EvalValue{CAGR_DTYPE_I64, {static_cast<int64_t>(v.size())}, v});
    }
    if (op == "Size") {
      const int64_t c = element_count(need(n, 0).dims);
      if (c < 0) throw std::invalid_argument("dynamic dim");
      return set(n, EvalValue{CAGR_DTYPE_I64, {}, std::vector<double>{static_cast<double>(c)}});
    }
    if (op == "Add") return binary(n, std::plus<>(), false);
    if (op == "Sub") return binary(n, std::minus<>(), false);
    if (op == "Mul") return binary(n, std::multiplies<>(), false);
    if (op == "Div") return binary(n, std::divides<>(), false);
    if (op == "Pow") return binary(n, [](double a, double b) { return std::pow(a, b); }, false);
    // Mod: fmod = 0 takes the divisor's sign (Python's %, integers only), 1 the dividend's (C's fmod).
    if (op == "Mod")
      return binary(n, [fmod = attr(n, "fmod", 0) != 0](double a, double b) { return fmod ? std::fmod(a, b) : a - b * std::floor(a / b); }, false);
    if (op == "Equal") return binary(n, [](double a, double b) { return a == b ? 1.0 : 0.0; }, true);
    if (op == "Less") return binary(n, [](double a, double b) { return a < b ? 1.0 : 0.0; }, true);
    if (op == "Greater") return binary(n, [](double a, double b) { return a > b ? 1.0 : 0.0; }, true);
    if (op == "LessOrEqual") return binary(n, [](double a, double b) { return a <= b ? 1.0 : 0.0; }, true);
    if (op == "GreaterOrEqual") return binary(n, [](double a, double b) { return a >= b ? 1.0 : 0.0; }, true);
    if (op == "And") return binary(n, [](double a, double b) { return a != 0 && b != 0 ? 1.0 : 0.0; }, true);
    if (op == "Or") return binary(n, [](double a, double b) { return a != 0 || b != 0 ? 1.0 : 0.0; }, true);
    if (op == "Xor") return binary(n, [](double a, double b) { return (a != 0) != (b != 0) ? 1.0 : 0.0; }, true);
    if ((op == "Max" || op == "Min") && n.inputs.size() == 2)
      return binary(n, [&](double a, double b) { return op == "Max" ? std::max(a, b) : std::min(a, b); }, false);
    if ((op == "Max" || op == "Min" || op == "Sum" || op == "Mean") && n.inputs.size() == 1) return set(n, need(n, 0));
    if (const auto f = unary_function(op)) {
      EvalValue v = need(n, 0);
      if (v.values)
        for (double& d : *v.values) d = (*f)(d);
      if (op == "Not") v.dtype = CAGR_DTYPE_U8;
      return set(n, std::move(v));
    }
    if (op == "Conv" && n.inputs.size() >= 2) {  // the shape only: [N, Cout, each position's output]
      const Dims &x = need(n, 0).dims, &w = need(n, 1).dims;
      if (x.size() < 3 || w.size() != x.size()) throw std::invalid_argument(n.where() + ": Conv of a rank-" + std::to_string(x.size()) + " input");
      auto ints = [&](const char* key, int64_t fallback) {
        auto it = n.attrs.find(key);
        std::vector<int64_t> v = it != n.attrs.end() && std::holds_alternative<std::vector<int64_t>>(it->second)
                                     ? std::get<std::vector<int64_t>>(it->second) : std::vector<int64_t>{};
        v.resize(2 * (x.size() - 2), fallback);
        return v;
      };
      const std::vector<int64_t> strides = ints("strides", 1), dilations = ints("dilations", 1), pads = ints("pads", 0);
      auto ap = n.attrs.find("auto_pad");
      const bool same = ap != n.attrs.end() && std::holds_alternative<std::string>(ap->second) &&
                        std::get<std::string>(ap->second).rfind("SAME", 0) == 0;
      Dims out{x[0], w[0]};
      const size_t spatial = x.size() - 2;
      for (size_t d = 0; d < spatial; ++d) {
        const int64_t size = x[d + 2], k = dilations[d] * (w[d + 2] - 1) + 1, stride = std::max<int64_t>(strides[d], 1);
        out.push_back(same ? (size + stride - 1) / stride : (size + pads[d] + pads[d + spatial] - k) / stride + 1);
      }
      return set(n, EvalValue{need(n, 0).dtype, out, std::nullopt});
    }
    if (op == "Einsum") {  // the shape only (Einsum of constants is not folded)
      auto eq = n.attrs.find("equation");
      if (eq == n.attrs.end() || !std::holds_alternative<std::string>(eq->second)) throw std::invalid_argument(n.where() + ": Einsum without an equation");
      std::vector<size_t> ranks;
      std::vector<Dims> dims;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        dims.push_back(need(n, i).dims);
        ranks.push_back(dims.back().size());
      }
      return set(n, EvalValue{need(n, 0).dtype, einsum_output_dims(parse_einsum(std::get<std::string>(eq->second), ranks), dims), std::nullopt});
    }
    if (op == "Softmax" || op == "LogSoftmax" || op == "BatchNormalization" || op == "Dropout" || op == "LayerNormalization") {
      const EvalValue& in = need(n, 0);
      set(n, EvalValue{in.dtype, in.dims, std::nullopt});
      if (op == "Dropout" && n.outputs.size() > 1 && !n.outputs[1].empty()) set(n, EvalValue{CAGR_DTYPE_U8, in.dims, std::nullopt}, 1);
      if (op == "LayerNormalization") {
        Dims stats = in.dims;
        for (size_t d = static_cast<size_t>(norm_axis(attr(n, "axis", -1), in.dims.size())); d < stats.size(); ++d) stats[d] = 1;
        for (size_t o = 1; o < n.outputs.size(); ++o)
          if (!n.outputs[o].empty()) set(n, EvalValue{CAGR_DTYPE_F32, stats, std::nullopt}, o);
      }
      return;
    }
    if (op == "Where") {
      const EvalValue &c = need(n, 0), &x = need(n, 1), &y = need(n, 2);
      EvalValue out{x.dtype, broadcast(broadcast(c.dims, x.dims), y.dims), std::nullopt};
      if (c.values && x.values && y.values) {
        std::vector<double> v(static_cast<size_t>(element_count(out.dims)));
        for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i)
          v[static_cast<size_t>(i)] = (*c.values)[static_cast<size_t>(broadcast_index(i, out.dims, c.dims))] != 0
                                          ? (*x.values)[static_cast<size_t>(broadcast_index(i, out.dims, x.dims))]
                                          : (*y.values)[static_cast<size_t>(broadcast_index(i, out.dims, y.dims))];
        out.values = std::move(v);
      }
      return set(n, std::move(out));
    }
    if (op == "ConstantOfShape") {
      const std::vector<int64_t> dims = need_ints(n, 0);
      auto it = n.tensor_attrs.find("value");
      const double value = it == n.tensor_attrs.end() ? 0.0 : constant_values(*it->second).at(0);
      const cagr_dtype dtype = it == n.tensor_attrs.end() ? CAGR_DTYPE_F32 : it->second->dtype;
      return set(n, EvalValue{dtype, dims, std::vector<double>(static_cast<size_t>(element_count(dims)), value)});
    }
    if (op == "Range") {
      const double start = need(n, 0).values.value().at(0), limit = need(n, 1).values.value().at(0), delta = need(n, 2).values.value().at(0);
      if (delta == 0) throw std::invalid_argument("Range with delta 0");
      const int64_t count = std::max<int64_t>(static_cast<int64_t>(std::ceil((limit - start) / delta)), 0);
      std::vector<double> v(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = start + static_cast<double>(i) * delta;
      return set(n, EvalValue{need(n, 0).dtype, {count}, std::move(v)});
    }
    if (op == "TopK") {
      const EvalValue& in = need(n, 0);
      Dims dims = in.dims;
      dims.at(static_cast<size_t>(norm_axis(attr(n, "axis", -1), dims.size()))) = need_ints(n, 1).at(0);
      set(n, EvalValue{in.dtype, dims, std::nullopt});
      return set(n, EvalValue{CAGR_DTYPE_I64, dims, std::nullopt}, 1);
    }
    if (op == "GatherElements") {
      const EvalValue &data = need(n, 0), &idx = need(n, 1);
      EvalValue out{data.dtype, idx.dims, std::nullopt};
      if (data.values && idx.values) {
        const int64_t axis = norm_axis(attr(n, "axis", 0), data.dims.size());
        const auto ds = strides_of(data.dims), is = strides_of(idx.dims);
        std::vector<double> v(idx.values->size());
        for (size_t i = 0; i < v.size(); ++i) {
          int64_t src = 0;
          for (size_t d = 0; d < idx.dims.size(); ++d) {
            int64_t c = static_cast<int64_t>(i) / is[d] % idx.dims[d];
            if (static_cast<int64_t>(d) == axis) {
              c = saturated<int64_t>((*idx.values)[i]);
              if (c < 0) c += data.dims[d];
              if (c < 0 || c >= data.dims[d]) throw std::out_of_range("gather_elements index");
            }
            src += c * ds[d];
          }
          v[i] = (*data.values)[static_cast<size_t>(src)];
        }
        out.values = std::move(v);
      }
      return set(n, std::move(out));
    }
    if (op == "Split") {
      const EvalValue& in = need(n, 0);
      const int64_t axis = norm_axis(attr(n, "axis", 0), in.dims.size());
      const std::vector<int64_t> sizes = split_sizes(n, in.dims.at(static_cast<size_t>(axis)));
      int64_t first = 0;
      for (size_t o = 0; o < n.outputs.size(); ++o) {
        Dims dims = in.dims;
        dims[static_cast<size_t>(axis)] = sizes.at(o);
        const auto src_strides = strides_of(in.dims), out_strides = strides_of(dims);
        set(n, gathered(in, dims, [&](int64_t i) {
              int64_t src = 0;
              for (size_t k = 0; k < dims.size(); ++k)
                src += ((i / out_strides[k]) % dims[k] + (static_cast<int64_t>(k) == axis ? first : 0)) * src_strides[k];
              return src;
            }), o);
        first += sizes[o];
      }
      return;
    }
    if (op == "Relu" || op == "Sigmoid") return set(n, EvalValue{need(n, 0).dtype, need(n, 0).dims, std::nullopt});
    if (op == "Gemm") {
      const Dims &a = need(n, 0).dims, &b = need(n, 1).dims;
      return set(n, EvalValue{CAGR_DTYPE_F32, {a.at(attr(n, "transA", 0) ? 1 : 0), b.at(attr(n, "transB", 0) ? 0 : 1)}, std::nullopt});
    }
    if (op == "MatMul") {
      Dims a = need(n, 0).dims, b = need(n, 1).dims;
      const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
      if (a.empty() || b.empty()) throw std::invalid_argument("matmul of scalars");
      if (a_vector) a.insert(a.begin(), 1);
      if (b_vector) b.push_back(1);
      Dims batch = broadcast(Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
      if (!a_vector) batch.push_back(a[a.size() - 2]);
      if (!b_vector) batch.push_back(b.back());
      return set(n, EvalValue{CAGR_DTYPE_F32, batch, std::nullopt});
    }
    if (op == "Clip") {
      EvalValue v = need(n, 0);
      const EvalValue *low = get(n, 1), *high = get(n, 2);
      if (v.values && (!low || low->values) && (!high || high->values))
        for (double& d : *v.values) d = std::min(std::max(d, low ? low->values->at(0) : d), high ? high->values->at(0) : d);
      else v.values.reset();
      return set(n, std::move(v));
    }
    if (op == "ReduceL2" || op == "ReduceSumSquare" || op == "ReduceL1" || op == "ReduceLogSumExp") {  // shape only
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> axes = axes_of(n, 1);
      if (axes.empty()) for (size_t i = 0; i < in.dims.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      Dims out;
      for (size_t i = 0; i < in.dims.size(); ++i) {
        const bool reduced = std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return norm_axis(a, in.dims.size()) == static_cast<int64_t>(i); });
        if (!reduced) out.push_back(in.dims[i]);
        else if (attr(n, "keepdims", 1)) out.push_back(1);
      }
      return set(n, EvalValue{in.dtype, out, std::nullopt});
    }
    if (op == "ReduceSum" || op == "ReduceMean" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceProd") {
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> axes = axes_of(n, 1);
      if (axes.empty() && attr(n, "noop_with_empty_axes", 0)) return set(n, EvalValue{in.dtype, in.dims, std::nullopt});
      if (axes.empty()) for (size_t i = 0; i < in.dims.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      Dims out, kept;  // kept: the input's dims with the reduced ones set to 1
      for (size_t i = 0; i < in.dims.size(); ++i) {
        const bool reduced = std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return norm_axis(a, in.dims.size()) == static_cast<int64_t>(i); });
        kept.push_back(reduced ? 1 : in.dims[i]);
        if (!reduced) out.push_back(in.dims[i]);
        else if (attr(n, "keepdims", 1)) out.push_back(1);
      }
      EvalValue result{in.dtype, out, std::nullopt};
      if (in.values) {  // small shape arithmetic (e.g. ReduceProd of a Shape: an element count)
        const bool product = op == "ReduceProd", extreme = op == "ReduceMax" || op == "ReduceMin";
        std::vector<double> acc(static_cast<size_t>(element_count(kept)), product ? 1.0 : 0.0);
        std::vector<char> seen(acc.size(), 0);
        for (int64_t i = 0; i < static_cast<int64_t>(in.values->size()); ++i) {
          const size_t at = static_cast<size_t>(broadcast_index(i, in.dims, kept));
          const double v = (*in.values)[static_cast<size_t>(i)];
          if (product) acc[at] *= v;
          else if (extreme) acc[at] = !seen[at] ? v : op == "ReduceMax" ? std::max(acc[at], v) : std::min(acc[at], v);
          else acc[at] += v;
          seen[at] = 1;
        }
        if (op == "ReduceMean")
          for (double& a : acc) a /= static_cast<double>(std::max<int64_t>(element_count(in.dims) / std::max<int64_t>(element_count(kept), 1), 1));
        result.values = std::move(acc);
      }
      return set(n, std::move(result));
    }
    if (op == "Concat") {
      const int64_t axis = norm_axis(attr(n, "axis", 0), need(n, 0).dims.size());
      Dims dims = need(n, 0).dims;
      dims[static_cast<size_t>(axis)] = 0;
      bool all_values = true;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const Dims& d = need(n, i).dims;
        for (size_t k = 0; k < dims.size(); ++k)
          if (d.size() != dims.size() || (k != static_cast<size_t>(axis) && d[k] != dims[k])) throw std::invalid_argument("Concat of unequal shapes");
        dims[static_cast<size_t>(axis)] += d[static_cast<size_t>(axis)];
        all_values = all_values && need(n, i).values.has_value();
      }
      EvalValue out{need(n, 0).dtype, dims, std::nullopt};
      if (all_values) {
        const int64_t outer = std::accumulate(dims.begin(), dims.begin() + axis, int64_t{1}, std::multiplies<>());
        std::vector<double> v;
        for (int64_t o = 0; o < outer; ++o)
          for (size_t i = 0; i < n.inputs.size(); ++i) {
            const EvalValue& in = need(n, i);
            const int64_t chunk = element_count(in.dims) / std::max<int64_t>(outer, 1);
            v.insert(v.end(), in.values->begin() + o * chunk, in.values->begin() + (o + 1) * chunk);
          }
        out.values = std::move(v);
      }
      return set(n, std::move(out));
    }
    if (op == "Unsqueeze") {
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> axes = axes_of(n, 1);
      const size_t rank = in.dims.size() + axes.size();
      for (int64_t& a : axes) a = norm_axis(a, rank);
      Dims dims;
      for (size_t i = 0, k = 0; i < rank; ++i)
        dims.push_back(std::count(axes.begin(), axes.end(), static_cast<int64_t>(i)) ? 1 : in.dims.at(k++));
      return reshape_to(n, in, dims);
    }
    if (op == "Squeeze") {
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> axes = axes_of(n, 1);
      Dims dims;
      for (size_t i = 0; i < in.dims.size(); ++i) {
        const bool listed = std::any_of(axes.begin(), axes.end(), [&](int64_t a) { return norm_axis(a, in.dims.size()) == static_cast<int64_t>(i); });
        if (!(axes.empty() ? in.dims[i] == 1 : listed)) dims.push_back(in.dims[i]);
      }
      return reshape_to(n, in, dims);
    }
    if (op == "Reshape") {
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> spec = need_ints(n, 1);
      for (size_t i = 0; i < spec.size(); ++i)
        if (spec[i] == 0 && !attr(n, "allowzero", 0)) spec[i] = in.dims.at(i);
      return reshape_to(n, in, infer_minus_one(spec, element_count(in.dims)));
    }
    if (op == "Flatten") {
      const EvalValue& in = need(n, 0);
      const int64_t rank = static_cast<int64_t>(in.dims.size()), given = attr(n, "axis", 1);
      const int64_t axis = given < 0 ? given + rank : given;  // Flatten's axis is in -rank..rank
      if (axis < 0 || axis > rank) throw std::out_of_range("Flatten axis " + std::to_string(given));
      const int64_t outer = std::accumulate(in.dims.begin(), in.dims.begin() + axis, int64_t{1}, std::multiplies<>());
      return reshape_to(n, in, {outer, element_count(in.dims) / outer});
    }
    if (op == "Expand") {
      const EvalValue& in = need(n, 0);
      const Dims dims = broadcast(in.dims, need_ints(n, 1));
      return set(n, gathered(in, dims, [&](int64_t i) { return broadcast_index(i, dims, in.dims); }));
    }
    if (op == "Transpose") {
      const EvalValue& in = need(n, 0);
      std::vector<int64_t> perm;
      auto it = n.attrs.find("perm");
      if (it != n.attrs.end()) perm = std::get<std::vector<int64_t>>(it->second);
      else for (size_t i = in.dims.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
      Dims dims;
      for (int64_t p : perm) dims.push_back(in.dims.at(static_cast<size_t>(p)));
      const auto src_strides = strides_of(in.dims), out_strides = strides_of(dims);
      return set(n, gathered(in, dims, [&](int64_t i) {
        int64_t src = 0;
        for (size_t k = 0; k < dims.size(); ++k) src += (i / out_strides[k]) % dims[k] * src_strides[static_cast<size_t>(perm[k])];
        return src;
      }));
    }
    if (op == "Gather") {
      const EvalValue &data = need(n, 0), &idx = need(n, 1);
      const int64_t axis = norm_axis(attr(n, "axis", 0), data.dims.size());
      Dims dims(data.dims.begin(), data.dims.begin() + axis);
      dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
      dims.insert(dims.end(), data.dims.begin() + axis + 1, data.dims.end());
      if (!idx.values) return set(n, EvalValue{data.dtype, dims, std::nullopt});
      const int64_t inner = std::accumulate(data.dims.begin() + axis + 1, data.dims.end(), int64_t{1}, std::multiplies<>());
      const int64_t count = static_cast<int64_t>(idx.values->size()), axis_len = data.dims[static_cast<size_t>(axis)];
      return set(n, gathered(data, dims, [&](int64_t i) {
        const int64_t o = i / (count * inner), k = (i / inner) % count, r = i % inner;
        int64_t row = saturated<int64_t>((*idx.values)[static_cast<size_t>(k)]);
        if (row < 0) row += axis_len;
        if (row < 0 || row >= axis_len) throw std::out_of_range("gather index");
        return (o * axis_len + row) * inner + r;
      }));
    }
    if (op == "GatherND") {
      const EvalValue &data = need(n, 0), &idx = need(n, 1);
      if (attr(n, "batch_dims", 0) != 0 || !idx.values || idx.dims.empty()) throw std::invalid_argument("GatherND form");
      if (idx.dims.back() < 0 || static_cast<size_t>(idx.dims.back()) > data.dims.size()) throw std::out_of_range("GatherND depth");
      const size_t depth = static_cast<size_t>(idx.dims.back());
      Dims dims(idx.dims.begin(), idx.dims.end() - 1);
      dims.insert(dims.end(), data.dims.begin() + static_cast<long>(depth), data.dims.end());
      const auto strides = strides_of(data.dims);
      const int64_t inner = std::accumulate(data.dims.begin() + static_cast<long>(depth), data.dims.end(), int64_t{1}, std::multiplies<>());
      return set(n, gathered(data, dims, [&](int64_t i) {
        const int64_t tuple = i / inner;
        int64_t src = i % inner;
        for (size_t k = 0; k < depth; ++k) {
          int64_t c = saturated<int64_t>((*idx.values)[static_cast<size_t>(tuple) * depth + k]);
          if (c < 0) c += data.dims[k];
          if (c < 0 || c >= data.dims[k]) throw std::out_of_range("GatherND index");  // before it can overflow
          src += c * strides[k];
        }
        return src;
      }));
    }
    if (op == "Slice") {
      const EvalValue& in = need(n, 0);
      const auto starts = need_ints(n, 1), ends = need_ints(n, 2);
      std::vector<int64_t> axes = get(n, 3) ? need_ints(n, 3) : std::vector<int64_t>{};
      std::vector<int64_t> steps = get(n, 4) ? need_ints(n, 4) : std::vector<int64_t>(starts.size(), 1);
      if (axes.empty()) for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      // ONNX gives one entry each per sliced axis (fuzz_onnx: axes longer than starts read past them).
      if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        throw std::invalid_argument("slice: starts, ends, axes and steps of different lengths");
      Dims dims = in.dims;
      std::vector<int64_t> first(in.dims.size(), 0), step(in.dims.size(), 1);
      for (size_t k = 0; k < axes.size(); ++k) {
        const size_t a = static_cast<size_t>(norm_axis(axes[k], in.dims.size()));
        const int64_t len = in.dims[a];
        if (steps[k] == 0) throw std::invalid_argument("slice step 0");
        // A dim not known yet (kDynamic, before the probes): the slice is not evaluated (an end of
        // INT64_MIN, PyTorch's "to the start", would also overflow below).
        if (len < 0) throw std::invalid_argument("slice of a dimension not known yet");
        int64_t s = starts[k] < 0 ? starts[k] + len : starts[k], e = ends[k] < 0 ? ends[k] + len : ends[k];
        if (steps[k] > 0) {
          s = std::clamp<int64_t>(s, 0, len);
          e = std::clamp<int64_t>(e, 0, len);
        } else {
          s = std::clamp<int64_t>(s, 0, len - 1);
          e = std::clamp<int64_t>(e, -1, len - 1);
        }
        first[a] = s;
        step[a] = steps[k];
        // Elements from s towards e, every |step|-th: counted without adding the step to the span
        // (a step near INT64_MAX overflowed that: fuzz_onnx); |step| as unsigned, as -INT64_MIN is not an int64.
        const int64_t span = steps[k] > 0 ? e - s : s - e;
        const uint64_t stride = steps[k] > 0 ? uint64_t(steps[k]) : 0 - uint64_t(steps[k]);
        dims[a] = span > 0 ? int64_t((uint64_t(span) - 1) / stride + 1) : 0;
      }
      const auto src_strides = strides_of(in.dims), out_strides = strides_of(dims);
      return set(n, gathered(in, dims, [&](int64_t i) {
        int64_t src = 0;
        for (size_t k = 0; k < dims.size(); ++k) src += ((i / out_strides[k]) % dims[k] * step[k] + first[k]) * src_strides[k];
        return src;
      }));
    }
  }

  const OnnxGraph& graph_;
  EvalValues values_;
  std::set<std::string> seeded_;  // given by the caller: never recomputed
};

void collect_uses(const OnnxGraph& g, std::set<std::string>& used) {
  for (const OnnxNode& n : g.nodes) {
    for (const std::string& i : n.inputs) used.insert(i);
    for (const auto& [key, sub] : n.subgraphs) collect_uses(*sub, used);
  }
  for (const std::string& o : g.outputs) used.insert(o);
}

// collect_uses's answer for one name, without building the set: consumers() asks it of every node
// for each tensor the rewriter's matchers look at, and building a set per node per question was a
// third of an import's time on a 800-node export (perf of fuzz_onnx, docs/RELIABILITY.md).
bool uses(const OnnxGraph& g, const std::string& tensor);

bool node_uses(const OnnxNode& n, const std::string& tensor) {
  if (std::find(n.inputs.begin(), n.inputs.end(), tensor) != n.inputs.end()) return true;
  return std::any_of(n.subgraphs.begin(), n.subgraphs.end(), [&](const auto& kv) { return uses(*kv.second, tensor); });
}

bool uses(const OnnxGraph& g, const std::string& tensor) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const OnnxNode& n) { return node_uses(n, tensor); }) ||
         std::find(g.outputs.begin(), g.outputs.end(), tensor) != g.outputs.end();
}

}  // namespace

cagr_dtype dtype_of_onnx(int32_t onnx_type, const std::string& what) { return dtype_of(onnx_type, what); }

std::string OnnxNode::where() const { return "node '" + name + "' (" + (is_cagr() ? "cagr " : "") + op + ")"; }

int64_t OnnxNode::bag_tables() const {
  auto flag = [&](const char* key) {
    auto it = attrs.find(key);
    const int64_t* v = it == attrs.end() ? nullptr : std::get_if<int64_t>(&it->second);
    return v && *v == 1 ? 1 : 0;
  };
  return static_cast<int64_t>(inputs.size()) - 2 - flag("weighted") - flag("padded");
}

const OnnxNode* OnnxGraph::producer(const std::string& tensor) const {
  for (const OnnxNode& n : nodes)
    if (std::find(n.outputs.begin(), n.outputs.end(), tensor) != n.outputs.end()) return &n;
  return nullptr;
}

std::vector<const OnnxNode*> OnnxGraph::consumers(const std::string& tensor) const {
  std::vector<const OnnxNode*> out;
  for (const OnnxNode& n : nodes)
    if (node_uses(n, tensor)) out.push_back(&n);
  return out;
}

std::vector<double> constant_values(const OnnxConstant& c) {
  if (!c.data) throw std::invalid_argument("constant without data");
  const size_t count = static_cast<size_t>(element_count(c.dims));
  std::vector<double> v(count);
  const std::byte* p = c.data->data();
  for (size_t i = 0; i < count; ++i) {
    switch (c.dtype) {
      case CAGR_DTYPE_F32: { float f; std::memcpy(&f, p + 4 * i, 4); v[i] = f; break; }
      case CAGR_DTYPE_I64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); v[i] = static_cast<double>(x); break; }
      case CAGR_DTYPE_I32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); v[i] = x; break; }
      case CAGR_DTYPE_U8: v[i] = static_cast<double>(static_cast<uint8_t>(p[i])); break;
      case CAGR_DTYPE_I8: v[i] = static_cast<double>(static_cast<int8_t>(p[i])); break;
      default: throw std::invalid_argument(std::string("cannot read values of dtype ") + dtype_name(c.dtype));
    }
  }
  return v;
}

OnnxGraph read_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  pb::ModelProto model;
  if (!model.ParseFromIstream(&in))
    throw std::runtime_error(path + ": not a valid ONNX model (the protobuf does not parse: truncated or not an .onnx file)");
  if (!model.has_graph() || model.graph().node_size() == 0) throw std::runtime_error(path + ": the ONNX model has no graph nodes");
  for (const auto& opset : model.opset_import())
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") && opset.version() < 9)
      throw std::runtime_error(path + ": ONNX opset " + std::to_string(opset.version()) + " is too old (9 or newer is imported)");
  int64_t opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  try {
    OnnxGraph g = graph_of(model.graph(), std::filesystem::path(path).parent_path());
    g.opset = opset;
    return g;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

EvalValues evaluate(const OnnxGraph& graph, const EvalValues& seeds) { return Evaluator(graph, seeds).run(); }

int fold_constants(OnnxGraph& graph) {
  EvalValues seeds;
  for (const OnnxInput& in : graph.inputs) seeds[in.name] = EvalValue{in.dtype, in.dims, std::nullopt};
  const EvalValues values = evaluate(graph, seeds);
  int folded = 0;
  std::vector<OnnxNode> kept;
  for (OnnxNode& n : graph.nodes) {
    const bool all_known = !n.is_cagr() && n.subgraphs.empty() && std::all_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) {
      auto it = values.find(o);
      return it != values.end() && it->second.values.has_value();
    });
    if (!all_known) {
      kept.push_back(std::move(n));
      continue;
    }
    for (const std::string& o : n.outputs) graph.constants[o] = to_constant(values.at(o));
    ++folded;
  }
  graph.nodes = std::move(kept);
  return folded;
}

OnnxConstant to_constant(const EvalValue& v) {
  std::vector<std::byte> data(v.values->size() * dtype_size(v.dtype));
  for (size_t i = 0; i < v.values->size(); ++i) {
    const double d = (*v.values)[i];
    switch (v.dtype) {
      case CAGR_DTYPE_F32: { const float f = static_cast<float>(d); std::memcpy(&data[4 * i], &f, 4); break; }
      case CAGR_DTYPE_I64: { const int64_t x = saturated<int64_t>(d); std::memcpy(&data[8 * i], &x, 8); break; }
      case CAGR_DTYPE_I32: { const int32_t x = saturated<int32_t>(d); std::memcpy(&data[4 * i], &x, 4); break; }
      case CAGR_DTYPE_U8:
      case CAGR_DTYPE_I8: data[i] = static_cast<std::byte>(saturated<int>(d)); break;
      default: throw std::invalid_argument(std::string("cannot fold a constant of dtype ") + dtype_name(v.dtype));
    }
  }
  return OnnxConstant{v.dtype, v.dims, std::make_shared<const std::vector<std::byte>>(std::move(data))};
}

void remove_dead_nodes(OnnxGraph& graph) {
  for (bool changed = true; changed;) {
    changed = false;
    std::set<std::string> used;
    collect_uses(graph, used);
    std::vector<OnnxNode> kept;
    for (OnnxNode& n : graph.nodes) {
      if (std::any_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return !o.empty() && used.count(o); })) kept.push_back(std::move(n));
      else changed = true;
    }
    graph.nodes = std::move(kept);
  }
  std::set<std::string> used;
  collect_uses(graph, used);
  for (auto it = graph.constants.begin(); it != graph.constants.end();) it = used.count(it->first) ? std::next(it) : graph.constants.erase(it);
}

}  // namespace cagr::onnx
