// model_format.cpp - reading and writing model.xml + model.bin with tinyxml2.
#include "model_format.hpp"

#include <tinyxml2.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "shape_inference.hpp"

namespace cagr {
namespace {

constexpr int kFormatVersion = 1;
constexpr uint64_t kWeightAlignment = 64;  // every constant starts 64-byte aligned in model.bin

class XmlReader {
 public:
  explicit XmlReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const tinyxml2::XMLElement* e, const std::string& what) const {
    std::string where = path_;
    if (e) where += ":" + std::to_string(e->GetLineNum()) + ": <" + e->Name() + ">";
    throw std::runtime_error(where + ": " + what);
  }

  std::string required(const tinyxml2::XMLElement* e, const char* attr) const {
    const char* v = e->Attribute(attr);
    if (v == nullptr || *v == '\0') fail(e, std::string("missing attribute '") + attr + "'");
    return v;
  }

  Dims parse_dims(const tinyxml2::XMLElement* e, const std::string& text) const {
    Dims dims;
    if (text.empty() || text == "scalar") return dims;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item == "?") {
        dims.push_back(kDynamic);
        continue;
      }
      try {
        size_t used = 0;
        const long long v = std::stoll(item, &used);
        if (used != item.size() || v < 0) throw std::invalid_argument(item);
        dims.push_back(v);
      } catch (const std::exception&) {
        fail(e, "bad dimension '" + item + "' in shape '" + text + "' (integers >= 0 or ?)");
      }
    }
    if (dims.size() > CAGR_MAX_RANK) fail(e, "rank above " + std::to_string(CAGR_MAX_RANK));
    return dims;
  }

  cagr_dtype parse_dtype(const tinyxml2::XMLElement* e) const {
    const std::string name = required(e, "dtype");
    const cagr_dtype d = dtype_from_name(name);
    if (d == CAGR_DTYPE_INVALID) fail(e, "unknown dtype '" + name + "' (f32, f16, bf16, i32, i64, i8, u8)");
    return d;
  }

  template <class T>
  std::vector<T> parse_list(const tinyxml2::XMLElement* e, const std::string& text) const {
    std::vector<T> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        if constexpr (std::is_same_v<T, int64_t>) out.push_back(std::stoll(item, &used));
        else out.push_back(std::stod(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        fail(e, "bad list entry '" + item + "'");
      }
    }
    return out;
  }

  AttrValue parse_attr(const tinyxml2::XMLElement* e) const {
    if (const char* v = e->Attribute("int")) return parse_list<int64_t>(e, v).at(0);
    if (const char* v = e->Attribute("float")) return parse_list<double>(e, v).at(0);
    if (const char* v = e->Attribute("string")) return std::string(v);
    if (const char* v = e->Attribute("ints")) return parse_list<int64_t>(e, v);
    if (const char* v = e->Attribute("floats")) return parse_list<double>(e, v);
    fail(e, "attribute needs one of int=, float=, string=, ints=, floats=");
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) names.push_back(item);
  }
  return names;
}

// Reads the whole weights file, with progress on stderr for large ones.
std::vector<std::byte> read_weights(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open weights file");
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  std::vector<std::byte> bytes(size);
  const bool show = size > (256ull << 20);
  constexpr uint64_t kChunk = 64ull << 20;
  for (uint64_t done = 0; done < size;) {
    const uint64_t n = std::min(kChunk, size - done);
    if (!in.read(reinterpret_cast<char*>(bytes.data() + done), static_cast<std::streamsize>(n)))
      throw std::runtime_error(path + ": read failed at byte " + std::to_string(done));
    done += n;
    if (show) std::fprintf(stderr, "\rloading %s: %llu / %llu MiB", path.c_str(), (unsigned long long)(done >> 20), (unsigned long long)(size >> 20));
  }
  if (show) std::fprintf(stderr, "\n");
  return bytes;
}

}  // namespace

Graph load_model(const std::string& xml_path) {
  XmlReader reader(xml_path);
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(xml_path.c_str()) != tinyxml2::XML_SUCCESS) {
    throw std::runtime_error(xml_path + ":" + std::to_string(doc.ErrorLineNum()) + ": " +
                             (doc.ErrorStr() ? doc.ErrorStr() : "cannot parse XML"));
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string(root->Name()) != "model") reader.fail(root, "the root element must be <model>");
  const int version = root->IntAttribute("format_version", kFormatVersion);
  if (version > kFormatVersion)
    reader.fail(root, "format_version " + std::to_string(version) + " is newer than this runtime reads (" +
                          std::to_string(kFormatVersion) + ")");

  Graph graph;
  graph.name = root->Attribute("name") ? root->Attribute("name") : "model";

  std::vector<std::byte> weights;
  if (root->FirstChildElement("constant")) {
    const std::string bin = reader.required(root, "weights");
    weights = read_weights((std::filesystem::path(xml_path).parent_path() / bin).string());
  }

  try {
    for (const tinyxml2::XMLElement* e = root->FirstChildElement(); e; e = e->NextSiblingElement()) {
      const std::string kind = e->Name();
      try {
        if (kind == "input") {
          graph.add_input(reader.required(e, "name"), reader.parse_dtype(e), reader.parse_dims(e, reader.required(e, "shape")));
        } else if (kind == "constant") {
          const cagr_dtype dtype = reader.parse_dtype(e);
          const Dims dims = reader.parse_dims(e, reader.required(e, "shape"));
          if (element_count(dims) < 0) reader.fail(e, "a constant's shape must be fully known");
          const uint64_t offset = e->Unsigned64Attribute("offset", UINT64_MAX);
          if (offset == UINT64_MAX) reader.fail(e, "missing attribute 'offset'");
          const uint64_t bytes = static_cast<uint64_t>(element_count(dims)) * dtype_size(dtype);
          if (offset > weights.size() || bytes > weights.size() - offset)
            reader.fail(e, "bytes " + std::to_string(offset) + ".." + std::to_string(offset + bytes) + " lie beyond the end of the weights file (" +
                               std::to_string(weights.size()) + " bytes)");
          std::vector<std::byte> data(weights.begin() + static_cast<std::ptrdiff_t>(offset),
                                      weights.begin() + static_cast<std::ptrdiff_t>(offset + bytes));
          graph.add_constant(reader.required(e, "name"), dtype, dims, std::move(data));
        } else if (kind == "node") {
          Node node;
          node.name = reader.required(e, "name");
          node.op = reader.required(e, "op");
          node.source_line = e->GetLineNum();
          for (const tinyxml2::XMLElement* a = e->FirstChildElement(); a; a = a->NextSiblingElement()) {
            if (std::string(a->Name()) != "attr") reader.fail(a, "unexpected element inside <node> (only <attr>)");
            node.attrs[reader.required(a, "name")] = reader.parse_attr(a);
          }
          graph.add_node(std::move(node), split_names(reader.required(e, "inputs")), split_names(reader.required(e, "outputs")));
        } else if (kind == "output") {
          graph.mark_output(reader.required(e, "name"));
        } else {
          reader.fail(e, "unknown element (expected input, constant, node or output)");
        }
      } catch (const std::invalid_argument& err) {
        reader.fail(e, err.what());
      } catch (const std::out_of_range& err) {
        reader.fail(e, err.what());
      }
    }
    if (graph.outputs().empty()) reader.fail(root, "the model has no <output>");
    infer_and_annotate(graph);
  } catch (const std::invalid_argument& err) {
    throw std::runtime_error(xml_path + ": " + err.what());
  }
  return graph;
}

void save_model(const Graph& graph, const std::string& xml_path) {
  const std::filesystem::path xml(xml_path);
  const std::string bin_name = xml.stem().string() + ".bin";
  std::ofstream bin(xml.parent_path() / bin_name, std::ios::binary);
  if (!bin) throw std::runtime_error(xml_path + ": cannot write " + bin_name);

  tinyxml2::XMLDocument doc;
  tinyxml2::XMLElement* root = doc.NewElement("model");
  doc.InsertFirstChild(root);
  root->SetAttribute("name", graph.name.c_str());
  root->SetAttribute("format_version", kFormatVersion);
  root->SetAttribute("weights", bin_name.c_str());

  auto dims_text = [](const Dims& dims) { return dims.empty() ? std::string("scalar") : dims_to_string(dims); };
  for (int id : graph.inputs()) {
    const TensorInfo& t = graph.tensor(id);
    tinyxml2::XMLElement* e = root->InsertNewChildElement("input");
    e->SetAttribute("name", t.name.c_str());
    e->SetAttribute("dtype", dtype_name(t.dtype));
    e->SetAttribute("shape", dims_text(t.dims).c_str());
  }
  uint64_t offset = 0;
  for (size_t id = 0; id < graph.num_tensors(); ++id) {
    const TensorInfo& t = graph.tensor(static_cast<int>(id));
    if (!t.is_constant()) continue;
    const uint64_t aligned = (offset + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
    const std::vector<char> pad(aligned - offset, 0);
    bin.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    bin.write(reinterpret_cast<const char*>(t.data->data()), static_cast<std::streamsize>(t.data->size()));
    tinyxml2::XMLElement* e = root->InsertNewChildElement("constant");
    e->SetAttribute("name", t.name.c_str());
    e->SetAttribute("dtype", dtype_name(t.dtype));
    e->SetAttribute("shape", dims_text(t.dims).c_str());
    e->SetAttribute("offset", aligned);
    offset = aligned + t.data->size();
  }
  auto join = [&](const std::vector<int>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + graph.tensor(ids[i]).name;
    return s;
  };
  for (const Node& node : graph.nodes()) {
    tinyxml2::XMLElement* e = root->InsertNewChildElement("node");
    e->SetAttribute("name", node.name.c_str());
    e->SetAttribute("op", node.op.c_str());
    e->SetAttribute("inputs", join(node.inputs).c_str());
    e->SetAttribute("outputs", join(node.outputs).c_str());
    for (const auto& [key, value] : node.attrs) {
      tinyxml2::XMLElement* a = e->InsertNewChildElement("attr");
      a->SetAttribute("name", key.c_str());
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, int64_t>) a->SetAttribute("int", v);
            else if constexpr (std::is_same_v<T, double>) a->SetAttribute("float", v);
            else if constexpr (std::is_same_v<T, std::string>) a->SetAttribute("string", v.c_str());
            else {
              std::ostringstream ss;
              ss.precision(17);
              for (size_t i = 0; i < v.size(); ++i) ss << (i ? "," : "") << v[i];
              a->SetAttribute(std::is_same_v<T, std::vector<int64_t>> ? "ints" : "floats", ss.str().c_str());
            }
          },
          value);
    }
  }
  for (int id : graph.outputs()) root->InsertNewChildElement("output")->SetAttribute("name", graph.tensor(id).name.c_str());
  if (!bin) throw std::runtime_error(xml_path + ": writing " + bin_name + " failed");
  if (doc.SaveFile(xml_path.c_str()) != tinyxml2::XML_SUCCESS) throw std::runtime_error(xml_path + ": cannot write");
}

}  // namespace cagr
