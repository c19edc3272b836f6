// manifest.hpp - plugins.xml: per-plugin settings (enable, priority, options) kept next to plugins.
// Format: docs/PLUGINS.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plugin.hpp"

namespace cagr {

// One <plugin> element.
struct ManifestEntry {
  std::string where;  // "<manifest file>:<line>", for messages
  std::string name;   // matches the plugin's name; empty when the entry names a file
  std::string file;   // absolute path (relative ones resolved against the manifest's folder)
  bool enabled = true;
  std::optional<int> priority;
  Options options;
};

class Manifest {
 public:
  // Throws Error "<path>:<line>: <what is wrong>" for unreadable or malformed XML, unknown elements
  // or attributes, and bad values.
  static Manifest parse_file(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<ManifestEntry>& entries() const { return entries_; }

  // The entry for the plugin called `name` in file `canonical_file`, or nullptr. An entry that
  // names the file wins over one that names the plugin.
  const ManifestEntry* find(const std::string& name, const std::string& canonical_file) const;

 private:
  std::string path_;
  std::vector<ManifestEntry> entries_;
};

}  // namespace cagr
