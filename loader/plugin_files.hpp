// plugin_files.hpp - where the loader looks for plugin libraries, and which files there count.
#pragma once

#include <string>
#include <vector>

namespace cagr {

// One place searched: a plugin file or a folder, and where the loader was told about it.
struct SearchPlace {
  std::string path;
  std::string origin;  // "explicit", "CAGR_PLUGIN_PATH", "install", "build tree"
};

// The places to search, in order of precedence: `explicit_paths`, then CAGR_PLUGIN_PATH
// (colon-separated, when `use_env`), then the install's and the build tree's plugins folders
// (when `use_default_folders`). An explicit path that does not exist throws Error; missing
// entries of the environment variable and missing default folders are passed over. A folder
// reached twice is kept at its first place only.
std::vector<SearchPlace> search_places(const std::vector<std::string>& explicit_paths, bool use_env,
                                       bool use_default_folders);

// The plugin files of one place, sorted: the file itself when `place` is a file; in a folder,
// files named libcagr_*.so, and every *.so when the folder is named "plugins".
std::vector<std::string> plugin_files_in(const std::string& place);

// The name a plugin is known by before it is loaded: the file name without "lib", "cagr_" and
// ".so" (libcagr_cpu.so -> "cpu").
std::string plugin_name_from_file(const std::string& path);

// The absolute, symlink-resolved form of `path` (itself when it does not exist).
std::string canonical_path(const std::string& path);

}  // namespace cagr
