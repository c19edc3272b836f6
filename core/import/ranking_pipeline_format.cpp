// ranking_pipeline_format.cpp - reading pipeline.xml strictly (xml_reader.hpp).
#include "ranking_pipeline_format.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

#include "xml_reader.hpp"

namespace cagr {
namespace {

constexpr uint64_t kFormatVersion = 1;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// A count attribute that must be at least 1 ("keep", "tables"): "0", "-3" and "12x" are refused
// naming the attribute.
int64_t positive_count(const XmlReader& reader, const tinyxml2::XMLElement* e, const char* attr) {
  const std::string text = reader.required(e, attr);
  if (text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18 || std::stoll(text) < 1)
    reader.fail(e, std::string(attr) + "=\"" + text + "\": must be a whole number of at least 1");
  return std::stoll(text);
}

void read_candidates(const XmlReader& reader, const tinyxml2::XMLElement* e, CandidateLayout& layout) {
  reader.expect_only(e, {});
  std::set<std::string> named;
  auto once = [&](const tinyxml2::XMLElement* at, const std::string& input) {
    if (!named.insert(input).second) reader.fail(at, "input '" + input + "' is named twice in <candidates>");
  };
  for (const tinyxml2::XMLNode* n = e->FirstChild(); n; n = n->NextSibling()) {
    if (n->ToComment()) continue;
    const tinyxml2::XMLElement* c = n->ToElement();
    if (c == nullptr) reader.fail(e, "unexpected text " + XmlReader::quoted_text(n) + " inside <candidates>");
    const std::string kind = c->Name();
    if (kind == "rows") {
      reader.expect_only(c, {"input"});
      reader.expect_no_content(c);
      layout.rows.push_back(reader.required(c, "input"));
      once(c, layout.rows.back());
    } else if (kind == "bags") {
      reader.expect_only(c, {"indices", "offsets", "tables"});
      reader.expect_no_content(c);
      CandidateLayout::Bags bags{reader.required(c, "indices"), reader.required(c, "offsets"), 0};
      if (c->Attribute("tables")) bags.tables = positive_count(reader, c, "tables");
      once(c, bags.indices);
      once(c, bags.offsets);
      layout.bags.push_back(bags);
    } else {
      reader.fail(c, "unknown element (expected rows or bags)");
    }
  }
  if (layout.rows.empty() && layout.bags.empty()) reader.fail(e, "names no input (expected <rows> or <bags>)");
  if (layout.rows.empty() && std::none_of(layout.bags.begin(), layout.bags.end(), [](const auto& b) { return b.tables > 0; }))
    reader.fail(e, "no <rows> input tells the number of candidates: give one, or tables= on a <bags>");
}

}  // namespace

RankingPipelineDescription load_ranking_pipeline(const std::string& path) {
  const XmlReader reader(path);
  tinyxml2::XMLDocument doc;
  const tinyxml2::XMLElement* root = reader.load(doc, "pipeline");
  reader.expect_only(root, {"name", "format_version"});
  if (root->Attribute("format_version") && reader.unsigned_number(root, "format_version") > kFormatVersion)
    reader.fail(root, "format_version " + std::string(root->Attribute("format_version")) + " is newer than this runtime reads (" +
                          std::to_string(kFormatVersion) + ")");
  RankingPipelineDescription d;
  d.path = path;
  d.name = root->Attribute("name") ? root->Attribute("name") : std::filesystem::path(path).stem().string();
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  bool have_candidates = false;
  for (const tinyxml2::XMLNode* n = root->FirstChild(); n; n = n->NextSibling()) {
    if (n->ToComment()) continue;
    const tinyxml2::XMLElement* e = n->ToElement();
    if (e == nullptr) reader.fail(root, "unexpected text " + XmlReader::quoted_text(n) + " inside <pipeline>");
    const std::string kind = e->Name();
    if (kind == "candidates") {
      if (have_candidates) reader.fail(e, "a second <candidates> (one describes every stage's inputs)");
      have_candidates = true;
      read_candidates(reader, e, d.candidates);
    } else if (kind == "stage") {
      reader.expect_only(e, {"name", "model", "devices", "score", "keep"});
      reader.expect_no_content(e);
      RankingStage s;
      s.line = e->GetLineNum();
      s.name = reader.required(e, "name");
      for (const RankingStage& before : d.stages)
        if (before.name == s.name) reader.fail(e, "a second stage named '" + s.name + "' (line " + std::to_string(before.line) + ")");
      const std::string model = reader.required(e, "model");
      s.model = (folder / model).lexically_normal().string();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(s.model, ec)) reader.fail(e, "model '" + model + "': no such file (" + s.model + ")");
      if (e->Attribute("devices")) s.devices = split_list(e->Attribute("devices"));
      s.score = reader.required(e, "score");
      if (e->Attribute("keep")) s.keep = positive_count(reader, e, "keep");
      d.stages.push_back(std::move(s));
    } else {
      reader.fail(e, "unknown element (expected candidates or stage)");
    }
  }
  if (!have_candidates) reader.fail(root, "no <candidates> (how a query's candidates lie in the models' inputs)");
  if (d.stages.empty()) reader.fail(root, "no <stage>");
  for (size_t s = 0; s < d.stages.size(); ++s) {
    const RankingStage& stage = d.stages[s];
    const std::string where = path + ":" + std::to_string(stage.line) + ": <stage>: ";
    if (stage.keep == 0 && s + 1 < d.stages.size())
      throw std::runtime_error(where + "stage '" + stage.name + "' needs keep= (how many candidates go on to stage '" +
                               d.stages[s + 1].name + "')");
    if (s > 0 && stage.keep > d.stages[s - 1].keep)
      throw std::runtime_error(where + "stage '" + stage.name + "' keeps " + std::to_string(stage.keep) + " of the " +
                               std::to_string(d.stages[s - 1].keep) + " candidates stage '" + d.stages[s - 1].name + "' passes it");
  }
  return d;
}

}  // namespace cagr
