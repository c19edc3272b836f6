// plugin_files.cpp - search places and plugin files in them.
#include "plugin_files.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "plugin.hpp"

namespace cagr {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(separator, begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) parts.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

}  // namespace

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  fs::path resolved = fs::canonical(path, ec);
  return ec ? path : resolved.string();
}

std::vector<SearchPlace> search_places(const std::vector<std::string>& explicit_paths, bool use_env,
                                       bool use_default_folders) {
  std::vector<SearchPlace> candidates;
  for (const auto& p : explicit_paths) {
    if (!exists(p)) throw Error(CAGR_ERROR_INVALID_ARGUMENT, p + ": plugin path does not exist");
    candidates.push_back({p, "explicit"});
  }
  if (use_env) {
    if (const char* env = std::getenv("CAGR_PLUGIN_PATH")) {
      for (const auto& p : split(env, ':')) candidates.push_back({p, "CAGR_PLUGIN_PATH"});
    }
  }
  if (use_default_folders) {
    candidates.push_back({CAGR_INSTALL_PLUGIN_DIR, "install"});
    candidates.push_back({CAGR_PLUGIN_OUTPUT_DIR, "build tree"});
  }
  std::vector<SearchPlace> places;
  std::set<std::string> seen;
  for (auto& c : candidates) {
    if (!exists(c.path)) continue;
    if (seen.insert(canonical_path(c.path)).second) places.push_back(std::move(c));
  }
  return places;
}

std::vector<std::string> plugin_files_in(const std::string& place) {
  std::error_code ec;
  if (!fs::is_directory(place, ec)) return {place};
  fs::path folder = fs::path(place).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();  // "a/plugins/" names "a/plugins"
  const bool plugins_folder = folder.filename() == "plugins";
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(place, ec)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !ends_with(file, ".so")) continue;
    if (plugins_folder || starts_with(file, "libcagr_")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string plugin_name_from_file(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (ends_with(name, ".so")) name.resize(name.size() - 3);
  if (starts_with(name, "lib")) name.erase(0, 3);
  if (starts_with(name, "cagr_")) name.erase(0, 5);
  return name;
}

}  // namespace cagr
