// manifest.cpp - reading plugins.xml with tinyxml2, strictly: anything unknown is an error, so a
// misspelt setting is reported instead of silently ignored.
#include "manifest.hpp"

#include <tinyxml2.h>

#include <charconv>
#include <filesystem>
#include <initializer_list>

#include "plugin_files.hpp"

namespace cagr {

namespace {

namespace fs = std::filesystem;
using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

class ManifestReader {
 public:
  explicit ManifestReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw Error(CAGR_ERROR_INVALID_ARGUMENT, path_ + ":" + std::to_string(line) + ": " + what);
  }

  std::string where(const XMLElement& e) const { return path_ + ":" + std::to_string(e.GetLineNum()); }

  void check_attributes(const XMLElement& e, std::initializer_list<const char*> allowed) const {
    for (const tinyxml2::XMLAttribute* a = e.FirstAttribute(); a != nullptr; a = a->Next()) {
      bool known = false;
      for (const char* name : allowed) known = known || std::string(a->Name()) == name;
      if (!known)
        fail(a->GetLineNum(), std::string("unknown attribute '") + a->Name() + "' on element <" + e.Name() + ">");
    }
  }

  // Child elements of `parent`; comments are allowed, text is not.
  std::vector<const XMLElement*> children(const XMLNode& parent, const char* parent_name) const {
    std::vector<const XMLElement*> out;
    for (const XMLNode* n = parent.FirstChild(); n != nullptr; n = n->NextSibling()) {
      if (const XMLElement* e = n->ToElement()) {
        out.push_back(e);
      } else if (n->ToText() != nullptr) {
        fail(n->GetLineNum(), std::string("unexpected text '") + n->Value() + "' in <" + parent_name + ">");
      }
    }
    return out;
  }

  const char* required(const XMLElement& e, const char* attribute) const {
    const char* value = e.Attribute(attribute);
    if (value == nullptr || *value == '\0')
      fail(e.GetLineNum(), std::string("element <") + e.Name() + "> needs attribute '" + attribute + "'");
    return value;
  }

  ManifestEntry read_plugin(const XMLElement& e) const {
    check_attributes(e, {"name", "file", "enabled", "priority"});
    ManifestEntry entry;
    entry.where = where(e);
    const char* name = e.Attribute("name");
    const char* file = e.Attribute("file");
    if ((name == nullptr) == (file == nullptr))
      fail(e.GetLineNum(), "element <plugin> needs exactly one of the attributes 'name' and 'file'");
    if (name != nullptr) entry.name = name;
    if (file != nullptr) {
      fs::path p(file);
      entry.file = canonical_path((p.is_absolute() ? p : fs::path(path_).parent_path() / p).string());
    }
    if (const char* enabled = e.Attribute("enabled")) {
      const std::string v = enabled;
      if (v != "true" && v != "false")
        fail(e.GetLineNum(), "element <plugin>: enabled must be 'true' or 'false', not '" + v + "'");
      entry.enabled = v == "true";
    }
    if (const char* priority = e.Attribute("priority")) {
      const std::string v = priority;
      int value = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
      if (ec != std::errc() || end != v.data() + v.size() || v.empty())
        fail(e.GetLineNum(), "element <plugin>: priority must be an integer, not '" + v + "'");
      entry.priority = value;
    }
    for (const XMLElement* child : children(e, "plugin")) {
      if (std::string(child->Name()) != "option")
        fail(child->GetLineNum(), std::string("unknown element <") + child->Name() + "> in <plugin>");
      check_attributes(*child, {"key", "value"});
      const char* key = required(*child, "key");
      const char* value = child->Attribute("value");
      if (value == nullptr) fail(child->GetLineNum(), "element <option> needs attribute 'value'");
      if (!children(*child, "option").empty())
        fail(child->GetLineNum(), "element <option> takes no child elements");
      entry.options.emplace_back(key, value);
    }
    return entry;
  }

 private:
  std::string path_;
};

}  // namespace

Manifest Manifest::parse_file(const std::string& path) {
  ManifestReader reader(path);
  tinyxml2::XMLDocument doc;
  const tinyxml2::XMLError status = doc.LoadFile(path.c_str());
  if (status == tinyxml2::XML_ERROR_FILE_NOT_FOUND || status == tinyxml2::XML_ERROR_FILE_COULD_NOT_BE_OPENED)
    throw Error(CAGR_ERROR_INVALID_ARGUMENT, path + ": cannot read the plugin manifest");
  if (status != tinyxml2::XML_SUCCESS) reader.fail(doc.ErrorLineNum(), std::string("malformed XML: ") + doc.ErrorStr());

  const XMLElement* root = doc.RootElement();
  if (root == nullptr) reader.fail(1, "no root element; expected <plugins>");
  if (std::string(root->Name()) != "plugins")
    reader.fail(root->GetLineNum(), std::string("unknown element <") + root->Name() + ">; expected <plugins>");
  reader.check_attributes(*root, {});

  Manifest manifest;
  manifest.path_ = path;
  for (const XMLElement* e : reader.children(*root, "plugins")) {
    if (std::string(e->Name()) != "plugin")
      reader.fail(e->GetLineNum(), std::string("unknown element <") + e->Name() + "> in <plugins>");
    manifest.entries_.push_back(reader.read_plugin(*e));
  }
  return manifest;
}

const ManifestEntry* Manifest::find(const std::string& name, const std::string& canonical_file) const {
  const ManifestEntry* by_name = nullptr;
  for (const auto& e : entries_) {
    if (!e.file.empty() && e.file == canonical_file) return &e;
    if (by_name == nullptr && !e.name.empty() && e.name == name) by_name = &e;
  }
  return by_name;
}

}  // namespace cagr
