// model_format.cpp - reading and writing model.xml + model.bin with tinyxml2.
#include "model_format.hpp"

#include <tinyxml2.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "op_attributes.hpp"
#include "shape_inference.hpp"
#include "xml_reader.hpp"

namespace cagr {
namespace {

constexpr int kFormatVersion = 1;
constexpr uint64_t kWeightAlignment = 64;  // every constant starts 64-byte aligned in model.bin

// model.xml's own values (shapes, dtypes, attribute lists) on top of the strict XML reading.
class ModelXmlReader : public XmlReader {
 public:
  using XmlReader::XmlReader;

  // A constant's size in bytes. Its shape must be fully known, and a size past 2^63 bytes is
  // refused rather than left to wrap around to a small number the weights file holds.
  uint64_t constant_bytes(const tinyxml2::XMLElement* e, const Dims& dims, cagr_dtype dtype) const {
    uint64_t bytes = dtype_size(dtype);
    for (int64_t d : dims) {
      if (d < 0) fail(e, "a constant's shape must be fully known");
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes) || bytes > static_cast<uint64_t>(INT64_MAX))
        fail(e, "shape [" + dims_to_string(dims) + "] holds more than 2^63 bytes");
    }
    return bytes;
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
    expect_only(e, {"name", "int", "float", "string", "ints", "floats"});
    expect_no_content(e);
    if (e->Attribute("name") == nullptr || e->FirstAttribute()->Next() == nullptr || e->FirstAttribute()->Next()->Next() != nullptr)
      fail(e, "<attr> takes name= and exactly one of int=, float=, string=, ints=, floats=");
    if (const char* v = e->Attribute("int")) return single(e, parse_list<int64_t>(e, v), "int");
    if (const char* v = e->Attribute("float")) return single(e, parse_list<double>(e, v), "float");
    if (const char* v = e->Attribute("string")) return std::string(v);
    if (const char* v = e->Attribute("ints")) return parse_list<int64_t>(e, v);
    return parse_list<double>(e, e->Attribute("floats"));
  }

  template <class T>
  T single(const tinyxml2::XMLElement* e, const std::vector<T>& values, const char* kind) const {
    if (values.size() != 1) fail(e, std::string(kind) + "= takes one number, got " + std::to_string(values.size()));
    return values[0];
  }

};

// The checksum written with each constant: CRC-32 (zlib's, so any language can check a file).
std::string checksum_of(const std::byte* data, uint64_t bytes) {
  char text[16];
  std::snprintf(text, sizeof text, "%08lx", crc32_z(0, reinterpret_cast<const Bytef*>(data), bytes));
  return std::string("crc32:") + text;
}

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
  ModelXmlReader reader(xml_path);
  tinyxml2::XMLDocument doc;
  const tinyxml2::XMLElement* root = reader.load(doc, "model");
  reader.expect_only(root, {"name", "format_version", "weights", "weights_bytes"});
  const uint64_t version = root->Attribute("format_version") ? reader.unsigned_number(root, "format_version") : kFormatVersion;
  if (version > kFormatVersion)
    reader.fail(root, "format_version " + std::to_string(version) + " is newer than this runtime reads (" +
                          std::to_string(kFormatVersion) + ")");

  Graph graph;
  graph.name = root->Attribute("name") ? root->Attribute("name") : "model";

  std::vector<std::byte> weights;
  std::string bin;  // the weights file's name, for messages
  if (root->FirstChildElement("constant")) {
    bin = reader.required(root, "weights");
    weights = read_weights((std::filesystem::path(xml_path).parent_path() / bin).string());
    // Written since checksums were (older files lack it): the file's exact size, so bytes appended
    // to or cut from its end are caught even where no constant reads them.
    if (root->Attribute("weights_bytes")) {
      const uint64_t expected = reader.unsigned_number(root, "weights_bytes");
      if (expected != weights.size())
        reader.fail(root, bin + " has " + std::to_string(weights.size()) + " bytes, expected " + std::to_string(expected) +
                              " (weights_bytes): damaged, or not the weights written with this file");
    }
  }

  try {
    for (const tinyxml2::XMLNode* n = root->FirstChild(); n; n = n->NextSibling()) {
      if (n->ToComment()) continue;
      const tinyxml2::XMLElement* e = n->ToElement();
      if (e == nullptr) reader.fail(root, "unexpected text " + XmlReader::quoted_text(n) + " inside <model>");
      const std::string kind = e->Name();
      try {
        if (kind == "input") {
          reader.expect_only(e, {"name", "dtype", "shape"});
          reader.expect_no_content(e);
          graph.add_input(reader.required(e, "name"), reader.parse_dtype(e), reader.parse_dims(e, reader.required(e, "shape")));
        } else if (kind == "constant") {
          reader.expect_only(e, {"name", "dtype", "shape", "offset", "checksum"});
          reader.expect_no_content(e);
          const std::string name = reader.required(e, "name");
          const cagr_dtype dtype = reader.parse_dtype(e);
          const Dims dims = reader.parse_dims(e, reader.required(e, "shape"));
          const uint64_t bytes = reader.constant_bytes(e, dims, dtype);
          const uint64_t offset = reader.unsigned_number(e, "offset");
          if (offset > weights.size() || bytes > weights.size() - offset)
            reader.fail(e, "constant '" + name + "': bytes " + std::to_string(offset) + ".." + std::to_string(offset + bytes) +
                               " lie beyond the end of the weights file (" + std::to_string(weights.size()) + " bytes)");
          const std::byte* first = weights.data() + offset;
          // Files written before checksums have none: their bytes are taken as they are.
          if (const char* expected = e->Attribute("checksum")) {
            const std::string actual = checksum_of(first, bytes);
            if (actual != expected)
              reader.fail(e, "constant '" + name + "': bytes " + std::to_string(offset) + ".." + std::to_string(offset + bytes) +
                                 " of " + bin + " have checksum " + actual + ", expected " + expected +
                                 ": damaged, or not the weights written with this file");
          }
          graph.add_constant(name, dtype, dims, std::vector<std::byte>(first, first + bytes));
        } else if (kind == "node") {
          reader.expect_only(e, {"name", "op", "inputs", "outputs"});
          reader.expect_no_content(e, "attr");
          Node node;
          node.name = reader.required(e, "name");
          node.op = reader.required(e, "op");
          node.source_line = e->GetLineNum();
          const std::vector<std::string>* known = attributes_of_op(node.op);  // unknown ops: shape inference says so
          for (const tinyxml2::XMLElement* a = e->FirstChildElement(); a; a = a->NextSiblingElement()) {
            const std::string name = reader.required(a, "name");
            if (known && std::find(known->begin(), known->end(), name) == known->end())
              reader.fail(a, "op " + node.op + " has no attribute '" + name + "' (" +
                                 (known->empty() ? std::string("it takes none") : "it takes " + comma_separated(*known)) + ")");
            if (node.attrs.count(name)) reader.fail(a, "attribute '" + name + "' given twice");
            node.attrs[name] = reader.parse_attr(a);
          }
          graph.add_node(std::move(node), split_names(reader.required(e, "inputs")), split_names(reader.required(e, "outputs")));
        } else if (kind == "output") {
          reader.expect_only(e, {"name"});
          reader.expect_no_content(e);
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

void save_model(const Graph& graph, const std::string& xml_path) { save_model(graph, xml_path, nullptr); }

void save_model(const Graph& graph, const std::string& xml_path,
                const std::function<void(uint64_t written, uint64_t total)>& progress) {
  uint64_t total = 0;
  for (size_t id = 0; id < graph.num_tensors(); ++id) {
    const TensorInfo& t = graph.tensor(static_cast<int>(id));
    if (t.is_constant()) total += t.data->size() + kWeightAlignment;
  }
  const std::filesystem::path xml(xml_path);
  const std::string bin_name = xml.stem().string() + ".bin";
  std::ofstream bin(xml.parent_path() / bin_name, std::ios::binary | std::ios::trunc);
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
    // In pieces, so that progress can be told and a failed write is noticed where it happens.
    constexpr uint64_t kPiece = uint64_t{64} << 20;
    for (uint64_t done = 0; done < t.data->size();) {
      const uint64_t n = std::min<uint64_t>(kPiece, t.data->size() - done);
      bin.write(reinterpret_cast<const char*>(t.data->data()) + done, static_cast<std::streamsize>(n));
      if (!bin) throw std::runtime_error(xml_path + ": writing " + bin_name + " failed (disk full?)");
      done += n;
      if (progress) progress(std::min(total, aligned + done), total);
    }
    tinyxml2::XMLElement* e = root->InsertNewChildElement("constant");
    e->SetAttribute("name", t.name.c_str());
    e->SetAttribute("dtype", dtype_name(t.dtype));
    e->SetAttribute("shape", dims_text(t.dims).c_str());
    e->SetAttribute("offset", aligned);
    e->SetAttribute("checksum", checksum_of(t.data->data(), t.data->size()).c_str());
    offset = aligned + t.data->size();
  }
  root->SetAttribute("weights_bytes", offset);
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
