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

// The file of the binary the loader is part of: libcagr.so for an application of the C API, the
// executable for cagr-run and programs that link the loader statically. "" when unknown.
std::string loader_module_path();

// The default plugins folders for a loader that lives in `module`, whether they exist or not:
//  - "install": the plugins folder of the install `module` belongs to, found relative to the
//    module (<libdir>/cagr/plugins beside <libdir>/libcagr.so, and <bindir>/../<libdir>/cagr/plugins
//    for a program in <bindir>), so an install works wherever its prefix is moved;
//  - "build tree": <build>/plugins, only when `module` lies in the build tree this loader was
//    built in and is not part of an install there. An installed program never looks into the
//    build tree it came from.
std::vector<SearchPlace> default_plugin_folders(const std::string& module);

// A data file of the install this loader belongs to (<datadir>/cagr/<name>, found relative to the
// library or program like the plugins folder), or "" when there is none: for files such as the
// learned policy that an installed program must not look for in the source tree.
// `module`: the loader's binary (loader_module_path()).
std::string installed_data_file(const std::string& name, const std::string& module = loader_module_path());

// The places to search, in order of precedence: `explicit_paths`, then CAGR_PLUGIN_PATH
// (colon-separated, when `use_env`), then default_plugin_folders(loader_module_path()) (when
// `use_default_folders`). An explicit path that does not exist throws Error; missing entries of
// the environment variable and missing default folders are passed over. A folder reached twice is
// kept at its first place only.
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
