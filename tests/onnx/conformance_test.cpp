// ONNX's own node conformance tests (Debian's libonnx-testdata: onnx 1.12's backend test data)
// through CAGR. Every case whose model is one node of an op in kClaimedOps is imported with
// load_any_model, run on the reference ops and on the CPU plugin, and each output is compared by
// name with the case's output_N.pb. Cases CAGR cannot run by design are listed, with the reason, in
// tests/onnx/conformance_skips.txt; every other case must pass.
//
// Each case runs in a forked child (CAGR_CONFORMANCE_IN_PROCESS=1 runs it in the test process, for
// a debugger), so an importer or kernel that crashes or hangs fails that case, named, and the
// others still run. CAGR_CONFORMANCE_REPORT=path writes a markdown summary of the cases this run
// ran (per op, then the failures grouped by message) to path: tools/onnx_conformance_table.py.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "built_plugins.hpp"
#include "executor.hpp"
#include "model_loading.hpp"
#include "onnx_import.hpp"
#include "placement.hpp"
#include "reference_graph.hpp"

namespace pb = ::onnx;

namespace cagr {
namespace {

// The ONNX ops CAGR claims (issue 21): a node test case belongs to the set when its model is a
// single node of one of these (matched by the node's op_type, not by the folder's name).
const std::vector<std::string> kClaimedOps = {
    "Gather", "GatherElements", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Sqrt", "Relu", "Sigmoid",
    "Tanh", "Softmax", "Concat", "Split", "Slice", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Expand",
    "Where", "Cast", "ReduceSum", "ReduceMean", "ReduceMax", "TopK", "Shape", "Size", "ConstantOfShape", "Range",
    "Identity", "Dropout", "BatchNormalization", "LayerNormalization"};

// Inputs that ONNX's schemas read as static operands: target shapes, axes, slice bounds, split
// sizes, k, Range's bounds, Dropout's ratio and training_mode (by input position). CAGR's graphs
// have shapes fixed at import, and exporters always emit these as constants; the node tests feed
// them as graph inputs, so the harness turns them into initializers holding the test's values
// (the case's data tensors stay graph inputs). A case whose inputs are all static operands
// (ConstantOfShape, Range) becomes a graph without inputs.
const std::map<std::string, std::set<int>> kStaticOperands = {
    {"Reshape", {1}},    {"Expand", {1}},     {"Squeeze", {1}},         {"Unsqueeze", {1}},  {"Slice", {1, 2, 3, 4}},
    {"Split", {1}},      {"ReduceSum", {1}},  {"ReduceMean", {1}},      {"ReduceMax", {1}},  {"TopK", {1}},
    {"Range", {0, 1, 2}}, {"ConstantOfShape", {0}}, {"Dropout", {1, 2}}};

// Tolerances: f32 within 1e-4 relative (1e-5 absolute near zero); f16 and bf16 within one unit
// in the last place of the expected value (onnx 1.12 made its float -> bfloat16 expectations by
// truncation, CAGR rounds to nearest even); integers and bools exactly.
constexpr double kF32Relative = 1e-4, kAbsolute = 1e-5;
constexpr double kF16Relative = 1.0 / 1024, kBf16Relative = 1.0 / 128;

std::string testdata_dir() {
  const char* env = std::getenv("CAGR_ONNX_TESTDATA_DIR");
  return env && *env ? env : CAGR_ONNX_NODE_TESTDATA_DIR;
}

// ---------------------------------------------------------------------------------------------
// The cases and the skip file.

struct Case {
  std::string name;  // the folder's name: test_add, ...
  std::string dir;
  std::string op;    // the node's op_type
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name << " (" << c.op << ")"; }

pb::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot be opened");
  pb::ModelProto model;
  if (!model.ParseFromIstream(&in)) throw std::runtime_error(path + ": not an ONNX model (the protobuf does not parse)");
  return model;
}

pb::TensorProto read_tensor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": missing");
  pb::TensorProto tensor;
  if (!tensor.ParseFromIstream(&in)) throw std::runtime_error(path + ": not a serialized TensorProto");
  return tensor;
}

// Every case of the set, by name. Folders whose model does not parse belong to no op and are left
// out (TestDataHasEveryClaimedOp notices when that empties an op).
const std::vector<Case>& claimed_cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    std::error_code ec;
    std::vector<std::filesystem::path> dirs;
    for (const auto& entry : std::filesystem::directory_iterator(testdata_dir(), ec))
      if (entry.is_directory()) dirs.push_back(entry.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
      pb::ModelProto model;
      try {
        model = read_model((dir / "model.onnx").string());
      } catch (const std::exception&) {
        continue;
      }
      if (model.graph().node_size() != 1) continue;
      const pb::NodeProto& node = model.graph().node(0);
      if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
      if (std::find(kClaimedOps.begin(), kClaimedOps.end(), node.op_type()) == kClaimedOps.end()) continue;
      out.push_back(Case{dir.filename().string(), dir.string(), node.op_type()});
    }
    return out;
  }();
  return cases;
}

struct SkipFile {
  std::map<std::string, std::string> reasons;  // case -> reason
  std::vector<std::string> problems;           // malformed lines, duplicates
};

const SkipFile& skip_file() {
  static const SkipFile file = [] {
    SkipFile f;
    std::ifstream in(CAGR_CONFORMANCE_SKIPS);
    if (!in) {
      f.problems.push_back(std::string(CAGR_CONFORMANCE_SKIPS) + ": cannot be opened");
      return f;
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.erase(hash);
      std::istringstream words(line);
      std::string name, reason, word;
      if (!(words >> name)) continue;
      while (words >> word) reason += (reason.empty() ? "" : " ") + word;
      const std::string where = "conformance_skips.txt:" + std::to_string(number) + ": ";
      if (reason.empty()) f.problems.push_back(where + name + " has no reason");
      else if (!f.reasons.emplace(name, reason).second) f.problems.push_back(where + name + " is listed twice");
    }
    return f;
  }();
  return file;
}

// ---------------------------------------------------------------------------------------------
// TensorProto -> HostTensor.

std::string onnx_type_name(int type) {
  return pb::TensorProto_DataType_IsValid(type) ? pb::TensorProto_DataType_Name(static_cast<pb::TensorProto_DataType>(type))
                                                : "type " + std::to_string(type);
}

std::string no_counterpart(const std::string& what, const std::string& type) {
  return what + " is " + type + ", which CAGR has no dtype for: list the case in tests/onnx/conformance_skips.txt with that reason";
}

// The value type the model declares for `info` (a tensor's element type), or throws naming it.
int declared_elem_type(const pb::ValueInfoProto& info, const std::string& what) {
  if (info.type().value_case() != pb::TypeProto::kTensorType) {
    const char* kind = info.type().has_sequence_type() ? "a sequence" : info.type().has_optional_type() ? "an optional" : info.type().has_map_type() ? "a map" : "not a tensor";
    throw std::runtime_error(no_counterpart(what, kind));
  }
  return info.type().tensor_type().elem_type();
}

HostTensor host_tensor(const pb::TensorProto& t, int declared, const std::string& what) {
  int type = t.data_type();
  // onnx 1.12 stores bfloat16 test tensors as uint16 (numpy has no bfloat16): the same bits.
  if (type == pb::TensorProto::UINT16 && declared == pb::TensorProto::BFLOAT16) type = pb::TensorProto::BFLOAT16;
  if (type != declared)
    throw std::runtime_error(what + ": the model declares " + onnx_type_name(declared) + ", the .pb holds " + onnx_type_name(type));
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  try {
    dtype = onnx::dtype_of_onnx(type, what);  // the importer's own mapping (bool as u8)
  } catch (const std::runtime_error&) {
    throw std::runtime_error(no_counterpart(what, onnx_type_name(type)));
  }
  if (t.data_location() == pb::TensorProto::EXTERNAL) throw std::runtime_error(what + ": external data is not read by this harness");
  Dims dims(t.dims().begin(), t.dims().end());
  for (int64_t d : dims)
    if (d < 0) throw std::runtime_error(what + ": negative dimension in the .pb");
  HostTensor h(dtype, dims);
  const size_t n = static_cast<size_t>(h.numel());
  const size_t size = dtype_size(dtype);
  auto count_error = [&](size_t got) {
    return std::runtime_error(what + ": " + std::to_string(got) + " values in the .pb for shape [" + dims_to_string(dims) + "]");
  };
  if (!t.raw_data().empty()) {
    if (t.raw_data().size() != n * size) throw count_error(t.raw_data().size() / size);
    std::memcpy(h.data.data(), t.raw_data().data(), n * size);
  } else if (type == pb::TensorProto::FLOAT) {
    if (static_cast<size_t>(t.float_data_size()) != n) throw count_error(static_cast<size_t>(t.float_data_size()));
    if (n) std::memcpy(h.data.data(), t.float_data().data(), n * 4);
  } else if (type == pb::TensorProto::INT64) {
    if (static_cast<size_t>(t.int64_data_size()) != n) throw count_error(static_cast<size_t>(t.int64_data_size()));
    if (n) std::memcpy(h.data.data(), t.int64_data().data(), n * 8);
  } else {  // int32, int8, uint8, bool, float16, bfloat16: one int32_data entry per element
    if (static_cast<size_t>(t.int32_data_size()) != n) throw count_error(static_cast<size_t>(t.int32_data_size()));
    for (size_t i = 0; i < n; ++i) {
      const int32_t v = t.int32_data(static_cast<int>(i));
      if (size == 4) std::memcpy(h.data.data() + 4 * i, &v, 4);
      else if (size == 2) {
        const uint16_t bits = static_cast<uint16_t>(v);
        std::memcpy(h.data.data() + 2 * i, &bits, 2);
      } else h.data[i] = static_cast<std::byte>(static_cast<uint8_t>(v));
    }
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// Comparison.

double float_from_f16(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0x1f) return mantissa ? std::nan("") : sign * INFINITY;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

double element(const HostTensor& t, size_t i) {
  switch (t.dtype) {
    case CAGR_DTYPE_F32: return t.as<float>()[i];
    case CAGR_DTYPE_F16: return float_from_f16(t.as<uint16_t>()[i]);
    case CAGR_DTYPE_BF16: return abi::float_from_bf16(t.as<uint16_t>()[i]);
    default: return 0;
  }
}

int64_t integer(const HostTensor& t, size_t i) {
  switch (t.dtype) {
    case CAGR_DTYPE_I64: return t.as<int64_t>()[i];
    case CAGR_DTYPE_I32: return t.as<int32_t>()[i];
    case CAGR_DTYPE_I8: return t.as<int8_t>()[i];
    case CAGR_DTYPE_U8: return t.as<uint8_t>()[i];
    default: return 0;
  }
}

bool is_float(cagr_dtype d) { return d == CAGR_DTYPE_F32 || d == CAGR_DTYPE_F16 || d == CAGR_DTYPE_BF16; }

std::string position(const Dims& dims, size_t flat) {
  std::vector<int64_t> index(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    index[k] = static_cast<int64_t>(flat) % dims[k];
    flat /= static_cast<size_t>(dims[k]);
  }
  std::string s = "[";
  for (size_t k = 0; k < index.size(); ++k) {
    if (k) s += ",";
    s += std::to_string(index[k]);
  }
  return s + "]";
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Empty when `got` matches `want`, else what differs.
std::string compare(const HostTensor& got, const HostTensor& want) {
  if (got.dtype != want.dtype) return std::string("dtype ") + dtype_name(got.dtype) + ", expected " + dtype_name(want.dtype);
  if (got.dims != want.dims) return "shape [" + dims_to_string(got.dims) + "], expected [" + dims_to_string(want.dims) + "]";
  if (got.data.size() != want.data.size()) return std::to_string(got.data.size()) + " bytes, expected " + std::to_string(want.data.size());
  const size_t n = static_cast<size_t>(want.numel());
  const double relative = want.dtype == CAGR_DTYPE_F16 ? kF16Relative : want.dtype == CAGR_DTYPE_BF16 ? kBf16Relative : kF32Relative;
  size_t wrong = 0, first = 0;
  std::string first_values;
  for (size_t i = 0; i < n; ++i) {
    bool ok;
    std::string values;
    if (is_float(want.dtype)) {
      const double a = element(got, i), b = element(want, i);
      ok = (std::isnan(a) && std::isnan(b)) || a == b || std::abs(a - b) <= std::max(relative * std::abs(b), kAbsolute);
      if (!ok) values = number(a) + ", expected " + number(b);
    } else {
      const int64_t a = integer(got, i), b = integer(want, i);
      ok = a == b;
      if (!ok) values = std::to_string(a) + ", expected " + std::to_string(b);
    }
    if (!ok && wrong++ == 0) {
      first = i;
      first_values = values;
    }
  }
  if (!wrong) return "";
  return std::to_string(wrong) + " of " + std::to_string(n) + " elements differ; first at " + position(want.dims, first) + ": " + first_values;
}

// ---------------------------------------------------------------------------------------------
// One case, start to end; never throws.

struct Outcome {
  std::vector<std::string> failures;  // empty: passed; the first names the stage that failed first
  std::vector<std::string> notes;     // what the harness did to the model (static operands made constants)
};

struct CaseData {
  pb::ModelProto model;
  std::map<std::string, pb::TensorProto> input_protos;  // by graph input name
  std::map<std::string, HostTensor> inputs;              // by graph input name (static operands included)
  std::vector<std::pair<std::string, HostTensor>> outputs;  // in the model's output order
};

// input_N.pb / output_N.pb belong to the model's N-th input / output; a name they carry must agree.
void check_name(const pb::TensorProto& t, const std::string& name, const std::string& what) {
  if (!t.name().empty() && t.name() != name) throw std::runtime_error(what + ": its .pb is named '" + t.name() + "'");
}

CaseData read_case(const Case& c) {
  CaseData d;
  d.model = read_model(c.dir + "/model.onnx");
  const pb::GraphProto& g = d.model.graph();
  std::set<std::string> initializers;
  for (const auto& init : g.initializer()) initializers.insert(init.name());
  int index = 0;  // input_N.pb number: graph inputs that are not initializers, in order
  for (const auto& in : g.input()) {
    if (initializers.count(in.name())) continue;
    const std::string what = "input '" + in.name() + "'";
    const int type = declared_elem_type(in, what);
    pb::TensorProto t = read_tensor(c.dir + "/test_data_set_0/input_" + std::to_string(index++) + ".pb");
    check_name(t, in.name(), what);
    d.inputs.emplace(in.name(), host_tensor(t, type, what));
    d.input_protos.emplace(in.name(), std::move(t));
  }
  for (int i = 0; i < g.output_size(); ++i) {
    const std::string what = "output '" + g.output(i).name() + "'";
    const int type = declared_elem_type(g.output(i), what);
    const pb::TensorProto t = read_tensor(c.dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb");
    check_name(t, g.output(i).name(), what);
    d.outputs.emplace_back(g.output(i).name(), host_tensor(t, type, what));
  }
  return d;
}

// The model CAGR loads: the case's own file, or (static operands made initializers) a copy in a
// temporary folder. Returns the path and lists the static operands in `promoted`.
std::string model_for_cagr(const Case& c, const CaseData& d, const std::string& tmp_dir, std::vector<std::string>& promoted) {
  const auto it = kStaticOperands.find(c.op);
  if (it == kStaticOperands.end()) return c.dir + "/model.onnx";
  pb::ModelProto model = d.model;
  pb::GraphProto& g = *model.mutable_graph();
  const pb::NodeProto& node = g.node(0);
  for (int i : it->second) {
    if (i >= node.input_size() || node.input(i).empty()) continue;
    const std::string& name = node.input(i);
    const auto proto = d.input_protos.find(name);
    if (proto == d.input_protos.end()) continue;  // already an initializer
    for (int k = 0; k < g.input_size(); ++k) {
      if (g.input(k).name() == name) {
        g.mutable_input()->DeleteSubrange(k, 1);
        break;
      }
    }
    pb::TensorProto* init = g.add_initializer();
    *init = proto->second;
    init->set_name(name);
    if (d.inputs.at(name).dtype == CAGR_DTYPE_BF16) init->set_data_type(pb::TensorProto::BFLOAT16);  // stored as uint16
    promoted.push_back(name);
  }
  if (promoted.empty()) return c.dir + "/model.onnx";
  std::filesystem::create_directories(tmp_dir);
  const std::string path = tmp_dir + "/" + c.name + ".onnx";
  std::ofstream out(path, std::ios::binary);
  const bool serialized = model.SerializeToOstream(&out);
  out.close();
  if (!serialized || !out) throw std::runtime_error(path + ": cannot be written");
  return path;
}

// An error of load_any_model without the model's path in front (the test's name says which case),
// and with the temporary copy's path, anywhere else, shown as the case's file.
std::string without_path(std::string message, const std::string& path, const std::string& original) {
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
  if (path == original) return message;
  for (size_t at = 0; (at = message.find(path, at)) != std::string::npos; at += original.size())
    message.replace(at, path.size(), original);
  return message;
}

void check_outputs(const Graph& graph, const std::vector<HostTensor>& got, const CaseData& d, const std::string& stage,
                   std::vector<std::string>& failures) {
  std::map<std::string, const HostTensor*> by_name;
  std::string names;
  for (size_t i = 0; i < graph.outputs().size() && i < got.size(); ++i) {
    const std::string& name = graph.tensor(graph.outputs()[i]).name;
    by_name[name] = &got[i];
    names += (names.empty() ? "'" : ", '") + name + "'";
  }
  if (got.size() != graph.outputs().size())
    failures.push_back(stage + ": " + std::to_string(got.size()) + " outputs for the graph's " + std::to_string(graph.outputs().size()));
  for (const auto& [name, want] : d.outputs) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      failures.push_back(stage + ": no output named '" + name + "' (the imported graph's outputs: " + (names.empty() ? "none" : names) + ")");
      continue;
    }
    const std::string diff = compare(*it->second, want);
    if (!diff.empty()) failures.push_back(stage + ": output '" + name + "': " + diff);
  }
}

std::string error_text(const std::exception& e) {
  const std::string what = e.what();
  return what.empty() ? "an exception without a message" : what;
}

Outcome run_case(const Case& c, const std::string& tmp_dir) {
  Outcome o;
  auto& failures = o.failures;
  try {
    CaseData d;
    try {
      d = read_case(c);
    } catch (const std::exception& e) {
      failures.push_back("test data: " + error_text(e));
      return o;
    }
    std::vector<std::string> promoted;
    const std::string original = c.dir + "/model.onnx";
    const std::string path = model_for_cagr(c, d, tmp_dir, promoted);
    if (!promoted.empty()) {
      std::string names;
      for (const auto& p : promoted) names += (names.empty() ? "'" : ", '") + p + "'";
      o.notes.push_back("static operands given as initializers: " + names);
    }
    Graph graph;
    try {
      graph = load_any_model(path);
    } catch (const std::exception& e) {
      failures.push_back("import: " + without_path(error_text(e), path, original));
    }
    if (path != original) std::filesystem::remove(path);
    if (!failures.empty()) return o;

    // The imported graph's inputs, in its order (an input the graph no longer reads is dropped).
    std::vector<HostTensor> inputs;
    std::vector<Dims> dims;
    for (int id : graph.inputs()) {
      const TensorInfo& info = graph.tensor(id);
      const auto it = d.inputs.find(info.name);
      if (it == d.inputs.end() || std::find(promoted.begin(), promoted.end(), info.name) != promoted.end()) {
        failures.push_back("import: the imported graph has an input '" + info.name + "' that is not a runtime input of the test");
        continue;
      }
      const HostTensor& h = it->second;
      bool dims_fit = info.dims.size() == h.dims.size();
      for (size_t k = 0; dims_fit && k < h.dims.size(); ++k) dims_fit = info.dims[k] == kDynamic || info.dims[k] == h.dims[k];
      if (info.dtype != h.dtype || !dims_fit)
        failures.push_back("import: input '" + info.name + "' imported as " + dtype_name(info.dtype) + " [" + dims_to_string(info.dims) +
                           "], the test gives " + dtype_name(h.dtype) + " [" + dims_to_string(h.dims) + "]");
      inputs.push_back(h);
      dims.push_back(h.dims);
    }
    if (!failures.empty()) return o;

    try {
      check_outputs(graph, testing::run_reference(graph, inputs), d, "reference ops", failures);
    } catch (const std::exception& e) {
      failures.push_back("reference ops: " + error_text(e));
    }
    try {
      const std::vector<Target> cpu = testing::built_targets("cpu");
      if (cpu.empty()) throw std::runtime_error(std::string("the CPU plugin did not load from ") + CAGR_TEST_PLUGIN_DIR);
      CostHintPlacement policy;
      Executor exec(graph, {cpu.front()}, dims, policy);
      check_outputs(graph, exec.run(inputs), d, "cpu plugin", failures);
    } catch (const std::exception& e) {
      failures.push_back("cpu plugin: " + error_text(e));
    }
  } catch (const std::exception& e) {
    failures.push_back("harness: " + error_text(e));
  } catch (...) {
    failures.push_back("harness: an exception that is not a std::exception");
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Running a case in a child process.

std::string encode(const Outcome& o) {
  std::string s;
  auto put = [&](char kind, const std::string& text) { s += kind + std::to_string(text.size()) + ":" + text; };
  for (const auto& f : o.failures) put('F', f);
  for (const auto& n : o.notes) put('N', n);
  return s + "E";  // the end mark: a child that dies while writing leaves none
}

bool decode(const std::string& s, Outcome& o) {
  size_t at = 0;
  while (at < s.size()) {
    const char kind = s[at++];
    if (kind == 'E') return at == s.size();
    const size_t colon = s.find(':', at);
    if (colon == std::string::npos || (kind != 'F' && kind != 'N')) return false;
    const size_t length = std::strtoull(s.c_str() + at, nullptr, 10);
    if (colon + 1 + length > s.size()) return false;
    (kind == 'F' ? o.failures : o.notes).push_back(s.substr(colon + 1, length));
    at = colon + 1 + length;
  }
  return false;
}

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int timeout_seconds() {
  const char* env = std::getenv("CAGR_CONFORMANCE_TIMEOUT_S");
  const int s = env ? std::atoi(env) : 0;
  return s > 0 ? s : 120;
}

// Where the models with static operands made initializers go: one folder per test process, emptied
// after each case (the child removes its file; the parent too, should the child have died first).
std::string tmp_dir() {
  static const std::string dir = ::testing::TempDir() + "cagr_onnx_conformance_" + std::to_string(getpid());
  return dir;
}

struct TmpCleanup {
  std::string file;
  ~TmpCleanup() {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    std::filesystem::remove(tmp_dir(), ec);  // only if empty
  }
};

Outcome run_isolated(const Case& c) {
  const TmpCleanup cleanup{tmp_dir() + "/" + c.name + ".onnx"};
  const char* in_process = std::getenv("CAGR_CONFORMANCE_IN_PROCESS");
  if (in_process && std::string(in_process) == "1") return run_case(c, tmp_dir());
  Outcome o;
  int fds[2];
  if (pipe(fds) != 0) {
    o.failures.push_back(std::string("harness: pipe: ") + std::strerror(errno));
    return o;
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    o.failures.push_back(std::string("harness: fork: ") + std::strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return o;
  }
  if (pid == 0) {  // the child: runs the case, reports, and leaves without returning into gtest
    close(fds[0]);
    int status = 3;
    try {
      if (write_all(fds[1], encode(run_case(c, tmp_dir())))) status = 0;
    } catch (...) {
    }
    std::fflush(nullptr);
    _exit(status);
  }
  close(fds[1]);
  std::string bytes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds());
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    o.failures.push_back("harness: the case ran longer than " + std::to_string(timeout_seconds()) + " s (CAGR_CONFORMANCE_TIMEOUT_S) and was killed");
  } else if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    o.failures.push_back("crash: the case's process died of signal " + std::to_string(sig) + " (" + strsignal(sig) +
                         "); run it with CAGR_CONFORMANCE_IN_PROCESS=1 under a debugger");
  } else if (!decode(bytes, o)) {
    o.failures.push_back("crash: the case's process exited with status " + std::to_string(WEXITSTATUS(status)) +
                         " before reporting; run it with CAGR_CONFORMANCE_IN_PROCESS=1");
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Results of this run and the report.

struct Result {
  std::string op;
  enum Kind { kPassed, kSkipped, kFailed } kind = kPassed;
  std::string message;  // the skip reason, or the first failure
};

std::map<std::string, Result>& results() {
  static std::map<std::string, Result> r;
  return r;
}

std::string table_cell(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

std::string utf8_prefix(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return s.substr(0, cut);
}

void write_report(const std::string& path) {
  struct Row {
    int cases = 0, passed = 0, skipped = 0, failed = 0;
  };
  std::map<std::string, Row> rows;
  Row total;
  struct Group {
    int count = 0;
    std::set<std::string> ops;
    std::vector<std::string> cases;
  };
  std::map<std::string, Group> groups;
  for (const auto& [name, r] : results()) {
    Row& row = rows[r.op];
    for (Row* x : {&row, &total}) {
      ++x->cases;
      (r.kind == Result::kPassed ? x->passed : r.kind == Result::kSkipped ? x->skipped : x->failed)++;
    }
    if (r.kind == Result::kFailed) {
      Group& g = groups[utf8_prefix(r.message, 80)];
      ++g.count;
      g.ops.insert(r.op);
      g.cases.push_back(name);
    }
  }
  std::ofstream out(path);
  out << "<!-- written by onnx_conformance_tests (tests/onnx/conformance_test.cpp), CAGR_CONFORMANCE_REPORT -->\n";
  out << "## ONNX node conformance\n\n";
  out << "ONNX's node tests (" << testdata_dir() << ") whose model is a single node of an op CAGR claims, "
      << "imported and run on the reference ops and on the CPU plugin. Skipped: tests/onnx/conformance_skips.txt.\n\n";
  out << "| op | cases | passed | skipped | failed |\n|---|---:|---:|---:|---:|\n";
  for (const std::string& op : kClaimedOps) {
    const auto it = rows.find(op);
    if (it == rows.end()) continue;
    const Row& r = it->second;
    out << "| " << op << " | " << r.cases << " | " << r.passed << " | " << r.skipped << " | " << r.failed << " |\n";
  }
  out << "| **total** | " << total.cases << " | " << total.passed << " | " << total.skipped << " | " << total.failed << " |\n\n";
  std::vector<std::pair<std::string, const Group*>> sorted;
  for (const auto& [message, g] : groups) sorted.emplace_back(message, &g);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second->count > b.second->count; });
  out << "### Failures by message (first 80 characters of the first failure)\n\n";
  out << "| cases | ops | message |\n|---:|---|---|\n";
  for (const auto& [message, g] : sorted) {
    std::string ops;
    for (const auto& op : g->ops) ops += (ops.empty() ? "" : ", ") + op;
    out << "| " << g->count << " | " << ops << " | `" << table_cell(message) << "` |\n";
  }
  out << "\n### Cases\n\n| case | op | result | first failure or skip reason |\n|---|---|---|---|\n";
  for (const auto& [name, r] : results()) {
    const char* kind = r.kind == Result::kPassed ? "passed" : r.kind == Result::kSkipped ? "skipped" : "failed";
    out << "| " << name << " | " << r.op << " | " << kind << " | " << table_cell(r.message) << " |\n";
  }
  if (!out) std::fprintf(stderr, "onnx_conformance_tests: cannot write the report to %s\n", path.c_str());
}

class ReportWriter : public ::testing::Environment {
 public:
  void TearDown() override {
    const char* path = std::getenv("CAGR_CONFORMANCE_REPORT");
    if (path && *path && !results().empty()) write_report(path);
  }
};
::testing::Environment* const kReportWriter = ::testing::AddGlobalTestEnvironment(new ReportWriter);

// ---------------------------------------------------------------------------------------------
// The tests.

class OnnxNodeConformance : public ::testing::TestWithParam<Case> {};

TEST_P(OnnxNodeConformance, MatchesOnnxOutputs) {
  const Case& c = GetParam();
  const auto skip = skip_file().reasons.find(c.name);
  if (skip != skip_file().reasons.end()) {
    results()[c.name] = Result{c.op, Result::kSkipped, skip->second};
    GTEST_SKIP() << skip->second;
  }
  const Outcome o = run_isolated(c);
  results()[c.name] = Result{c.op, o.failures.empty() ? Result::kPassed : Result::kFailed, o.failures.empty() ? "" : o.failures.front()};
  if (!o.failures.empty()) {
    std::string text;
    for (const auto& f : o.failures) text += "\n  " + f;
    for (const auto& n : o.notes) text += "\n  (" + n + ")";
    ADD_FAILURE() << c.name << " (" << c.op << ", " << c.dir << "):" << text;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxNodeConformance, ::testing::ValuesIn(claimed_cases()), case_name);
// Without the test data there are no cases; TestDataHasEveryClaimedOp fails and says why.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeConformance);

TEST(OnnxConformanceSetup, TestDataHasEveryClaimedOp) {
  ASSERT_TRUE(std::filesystem::is_directory(testdata_dir()))
      << testdata_dir() << " is missing: install Debian's libonnx-testdata (tools/install-deps.sh) or set CAGR_ONNX_TESTDATA_DIR";
  std::map<std::string, int> per_op;
  for (const Case& c : claimed_cases()) ++per_op[c.op];
  for (const std::string& op : kClaimedOps) EXPECT_GT(per_op[op], 0) << "no single-node case of " << op << " in " << testdata_dir();
  for (const auto& [op, inputs] : kStaticOperands)
    EXPECT_NE(std::find(kClaimedOps.begin(), kClaimedOps.end(), op), kClaimedOps.end()) << op << " has static operands but is not claimed";
}

TEST(OnnxConformanceSetup, SkipFileListsCasesOfTheSetWithReasons) {
  for (const auto& p : skip_file().problems) ADD_FAILURE() << p;
  std::set<std::string> names;
  for (const Case& c : claimed_cases()) names.insert(c.name);
  if (names.empty()) GTEST_SKIP() << "no test data (see TestDataHasEveryClaimedOp)";
  for (const auto& [name, reason] : skip_file().reasons)
    EXPECT_TRUE(names.count(name)) << "conformance_skips.txt names '" << name << "', which is not a case of the claimed set in " << testdata_dir();
}

}  // namespace
}  // namespace cagr
