// xml_reader.hpp - strict reading of CAGR's XML descriptions (model.xml, pipeline.xml) with
// tinyxml2: every error names the file, the line and the element; unknown attributes, unexpected
// elements and stray text are refused rather than ignored, so a misspelt name never passes silently.
#pragma once

#include <tinyxml2.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cagr {

// "a, b, c": names listed in messages.
std::string comma_separated(const std::vector<std::string>& names);

class XmlReader {
 public:
  explicit XmlReader(std::string path) : path_(std::move(path)) {}

  // Parses the file into `doc` and returns its root element, which must be <root_name>.
  const tinyxml2::XMLElement* load(tinyxml2::XMLDocument& doc, const char* root_name) const;

  // Throws std::runtime_error "path:line: <element>: what".
  [[noreturn]] void fail(const tinyxml2::XMLElement* e, const std::string& what) const;

  // Every XML attribute of `e` must be one of `allowed`: a misspelt one would otherwise be ignored.
  void expect_only(const tinyxml2::XMLElement* e, const std::vector<std::string>& allowed) const;

  // `e` holds no elements and no text (comments are fine), unless `children` names the one
  // element it may hold.
  void expect_no_content(const tinyxml2::XMLElement* e, const char* children = nullptr) const;

  // A text node's text without the white space around it, quoted.
  static std::string quoted_text(const tinyxml2::XMLNode* n);

  // A non-negative decimal integer, every character a digit: "3372038x" is refused, not read as
  // 3372038 (what tinyxml2's own number readers do).
  uint64_t unsigned_number(const tinyxml2::XMLElement* e, const char* attr) const;

  // The attribute's value; missing or empty is an error.
  std::string required(const tinyxml2::XMLElement* e, const char* attr) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cagr
