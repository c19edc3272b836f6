// plugin_files.cpp - search places and plugin files in them.
#include "plugin_files.hpp"

#include <dlfcn.h>
#include <link.h>

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

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// Whether `path` is `folder` or lies below it (both canonical).
bool lies_in(const std::string& path, const std::string& folder) {
  if (folder.empty()) return false;
  return path == folder || starts_with(path, folder.back() == '/' ? folder : folder + "/");
}

// Marks this module's address: internal linkage, so it is never resolved to another module's copy.
const char module_marker = 0;

}  // namespace

std::string loader_module_path() {
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(&module_marker, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) != 0 && map != nullptr &&
      map->l_name != nullptr && map->l_name[0] != '\0') {
    return canonical_path(map->l_name);
  }
  // The main program has no name in its link map: the loader is linked into the executable.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.string();
}

std::vector<SearchPlace> default_plugin_folders(const std::string& module) {
  std::vector<SearchPlace> places;
  if (module.empty()) return places;
  const fs::path dir = fs::path(module).parent_path();
  // An install: the library in <libdir>, or a program in <bindir>.
  bool installed = false;
  for (const char* relative : {CAGR_PLUGIN_DIR_FROM_LIBDIR, CAGR_PLUGIN_DIR_FROM_BINDIR}) {
    const std::string folder = (dir / relative).lexically_normal().string();
    if (places.empty() || places.back().path != folder) places.push_back({folder, "install"});
    installed = installed || is_directory(folder);
  }
  // Not installed: the build tree's folder, for what was built and runs there.
  if (!installed && lies_in(canonical_path(module), canonical_path(CAGR_BUILD_DIR)))
    places.push_back({CAGR_PLUGIN_OUTPUT_DIR, "build tree"});
  return places;
}

std::string installed_data_file(const std::string& name, const std::string& module) {
  if (module.empty()) return {};
  const fs::path dir = fs::path(module).parent_path();
  for (const char* relative : {CAGR_DATA_DIR_FROM_LIBDIR, CAGR_DATA_DIR_FROM_BINDIR}) {
    const fs::path file = (dir / relative / name).lexically_normal();
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) return file.string();
  }
  return {};
}

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
    for (auto& place : default_plugin_folders(loader_module_path())) candidates.push_back(std::move(place));
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
