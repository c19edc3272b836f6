// xml_reader.cpp - the strict XML reading shared by model.xml and pipeline.xml.
#include "xml_reader.hpp"

#include <algorithm>
#include <stdexcept>

namespace cagr {

std::string comma_separated(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

const tinyxml2::XMLElement* XmlReader::load(tinyxml2::XMLDocument& doc, const char* root_name) const {
  if (doc.LoadFile(path_.c_str()) != tinyxml2::XML_SUCCESS)
    throw std::runtime_error(path_ + ":" + std::to_string(doc.ErrorLineNum()) + ": " + (doc.ErrorStr() ? doc.ErrorStr() : "cannot parse XML"));
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string(root->Name()) != root_name) fail(root, std::string("the root element must be <") + root_name + ">");
  return root;
}

void XmlReader::fail(const tinyxml2::XMLElement* e, const std::string& what) const {
  std::string where = path_;
  if (e) where += ":" + std::to_string(e->GetLineNum()) + ": <" + e->Name() + ">";
  throw std::runtime_error(where + ": " + what);
}

void XmlReader::expect_only(const tinyxml2::XMLElement* e, const std::vector<std::string>& allowed) const {
  for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a; a = a->Next()) {
    if (std::find(allowed.begin(), allowed.end(), a->Name()) == allowed.end())
      fail(e, "unknown attribute '" + std::string(a->Name()) + "' (expected " + comma_separated(allowed) + ")");
  }
}

void XmlReader::expect_no_content(const tinyxml2::XMLElement* e, const char* children) const {
  for (const tinyxml2::XMLNode* n = e->FirstChild(); n; n = n->NextSibling()) {
    if (n->ToComment()) continue;
    if (const tinyxml2::XMLElement* child = n->ToElement()) {
      if (children && std::string(child->Name()) == children) continue;
      fail(child, std::string("unexpected element inside <") + e->Name() + ">" +
                      (children ? std::string(" (only <") + children + ">)" : std::string(" (it holds none)")));
    }
    fail(e, "unexpected text " + quoted_text(n) + " inside <" + e->Name() + ">");
  }
}

std::string XmlReader::quoted_text(const tinyxml2::XMLNode* n) {
  std::string text = n->Value();
  const size_t first = text.find_first_not_of(" \t\r\n");
  text = first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  return "'" + text + "'";
}

uint64_t XmlReader::unsigned_number(const tinyxml2::XMLElement* e, const char* attr) const {
  const std::string text = required(e, attr);
  uint64_t value = 0;
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit || value > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10)
      fail(e, "attribute '" + std::string(attr) + "' = '" + text + "': expected a non-negative decimal integer below 2^64");
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::string XmlReader::required(const tinyxml2::XMLElement* e, const char* attr) const {
  const char* v = e->Attribute(attr);
  if (v == nullptr || *v == '\0') fail(e, std::string("missing attribute '") + attr + "'");
  return v;
}

}  // namespace cagr
