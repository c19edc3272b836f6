// registry.cpp - discovery: search places -> candidate files -> manifest settings -> selection ->
// probe -> load, every candidate ending as one record.
#include "registry.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "log.hpp"
#include "manifest.hpp"
#include "plugin_files.hpp"
#include "probe.hpp"
#include "probe_cache.hpp"

namespace cagr {

namespace {

namespace fs = std::filesystem;

struct Candidate {
  std::string path;
  std::string origin;
};

// What the user asked for: everything, or these names and paths.
struct Selection {
  bool everything = true;
  std::vector<std::string> names;
  std::vector<std::string> paths;

  explicit Selection(const std::string& text) {
    if (text == "auto" || text.empty()) return;
    everything = false;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      const bool is_path = item.find('/') != std::string::npos || fs::path(item).extension() == ".so";
      (is_path ? paths : names).push_back(item);
    }
  }

  bool selects(const std::string& name, const std::string& path) const {
    if (everything) return true;
    const std::string file = fs::path(path).filename().string();
    for (const auto& n : names) {
      if (n == name || n == file) return true;
    }
    for (const auto& p : paths) {
      if (canonical_path(p) == canonical_path(path)) return true;
    }
    return false;
  }
};

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void skip(PluginRecord& record, const std::string& reason) {
  record.status = PluginRecord::Status::skipped;
  record.reason = one_line(reason);
}

// Probes (when asked) and loads one plugin; a failure of any kind becomes the record's reason.
void vet_and_load(PluginRecord& record, bool probe, const ProbeCache& cache, const std::map<std::string, ProbeResult>& probed,
                  std::chrono::milliseconds timeout, const std::optional<IsolationOptions>& isolation, const LogFn& log) {
  const auto no_device = [&record](const std::string& note) {
    return record.path + ": reports no device" + (note.empty() ? std::string() : ": " + note);
  };
  if (probe && !isolation) {
    std::optional<ProbeResult> cached = cache.find(record.path, record.options);
    const auto earlier = probed.find(record.path);
    const ProbeResult result = cached                    ? *cached
                               : earlier != probed.end() ? earlier->second
                                                         : probe_plugin(record.path, record.options, timeout);
    if (!cached) cache.store(record.path, record.options, result);
    if (result.outcome != ProbeResult::Outcome::ok) return skip(record, result.message);
    if (result.devices == 0) return skip(record, no_device(result.no_device_note));
  }
  try {
    // The plugin's own reason for having no device, should it give one (no_device_note).
    auto note = std::make_shared<std::string>();
    const LogFn noting = [log, note](cagr_log_level level, const std::string& who, const std::string& message) {
      if (auto reason = no_device_note(message)) *note = *reason;
      if (log) log(level, who, message);
    };
    std::shared_ptr<Plugin> plugin = isolation ? Plugin::load(start_isolated_plugin(record.path, *isolation), record.options, noting)
                                               : Plugin::load(record.path, record.options, noting);
    const int devices = plugin->device_count();
    if (devices == 0) return skip(record, no_device(*note));
    for (int d = 0; d < devices; ++d) plugin->device(d);  // properties that break the ABI's rules skip the plugin
    record.name = plugin->name();
    record.plugin = std::move(plugin);
    record.status = PluginRecord::Status::loaded;
    record.reason.clear();
  } catch (const std::exception& e) {
    skip(record, e.what());
  }
}

// A candidate's record before it is vetted: its file, name, and the manifest's and the caller's
// settings for it. Returns the manifest entry that applies, if any.
const ManifestEntry* prepare(PluginRecord& record, const Candidate& candidate, const std::vector<Manifest>& manifests,
                             const DiscoveryOptions& options) {
  record.path = candidate.path;
  record.origin = candidate.origin;
  record.name = plugin_name_from_file(candidate.path);
  const std::string file = canonical_path(candidate.path);
  const ManifestEntry* entry = nullptr;
  for (const auto& m : manifests) {
    if ((entry = m.find(record.name, file)) != nullptr) break;
  }
  if (entry != nullptr) {
    record.priority = entry->priority.value_or(0);
    record.options = entry->options;
  }
  if (const auto extra = options.plugin_options.find(record.name); extra != options.plugin_options.end()) {
    for (const auto& [key, value] : extra->second) {
      auto same = std::find_if(record.options.begin(), record.options.end(), [&k = key](const auto& o) { return o.first == k; });
      if (same != record.options.end()) same->second = value;
      else record.options.emplace_back(key, value);
    }
  }
  return entry;
}

// Probes, all at once (up to `parallel` children), every candidate that will be vetted and whose
// result is not in the cache: 27 plugins probed one after another took 31 s. A candidate found
// shadowed only once an earlier plugin has told its own name is probed for nothing (rare).
std::map<std::string, ProbeResult> probe_candidates(const std::vector<Candidate>& candidates, const std::vector<Manifest>& manifests,
                                                    const DiscoveryOptions& options, const Selection& selection,
                                                    const ProbeCache& cache) {
  std::vector<ProbeRequest> requests;
  std::set<std::string> names;
  for (const Candidate& candidate : candidates) {
    PluginRecord record;
    const ManifestEntry* entry = prepare(record, candidate, manifests, options);
    const bool vetted = names.insert(record.name).second && selection.selects(record.name, record.path) &&
                        (entry == nullptr || entry->enabled);
    if (vetted && !cache.find(record.path, record.options)) requests.push_back({record.path, record.options});
  }
  const unsigned parallel = options.parallel_probes > 0 ? options.parallel_probes : std::max(1u, std::thread::hardware_concurrency());
  std::function<void(const std::string&)> finished;
  if (options.progress) finished = [&options](const std::string& step) { options.progress("probing plugins: " + step); };
  const std::vector<ProbeResult> results = probe_plugins(requests, options.probe_timeout, parallel, finished);
  std::map<std::string, ProbeResult> probed;
  for (size_t i = 0; i < requests.size(); ++i) probed.emplace(requests[i].path, results[i]);
  return probed;
}

bool probe_enabled(const DiscoveryOptions& options) {
  if (!options.probe) return false;
  const char* env = options.use_env ? std::getenv("CAGR_PLUGIN_PROBE") : nullptr;
  return env == nullptr || std::string(env) != "0";
}

}  // namespace

const char* to_string(PluginRecord::Status status) {
  switch (status) {
    case PluginRecord::Status::loaded: return "loaded";
    case PluginRecord::Status::skipped: return "skipped";
    case PluginRecord::Status::disabled: return "disabled";
    case PluginRecord::Status::shadowed: return "shadowed";
  }
  return "unknown";
}

Registry Registry::discover(const DiscoveryOptions& options) {
  const Selection selection(options.selection);
  std::vector<std::string> explicit_paths = options.paths;
  explicit_paths.insert(explicit_paths.end(), selection.paths.begin(), selection.paths.end());

  // Manifests in order of precedence, and the candidate files in order of precedence. A file that
  // a manifest names is a candidate too, at the manifest's place.
  std::vector<Manifest> manifests;
  std::vector<Candidate> candidates;
  std::set<std::string> seen_files;
  auto add_candidate = [&](const std::string& path, const std::string& origin) {
    if (seen_files.insert(canonical_path(path)).second) candidates.push_back({path, origin});
  };
  auto add_manifest = [&](const std::string& path, const std::string& origin) {
    manifests.push_back(Manifest::parse_file(path));
    for (const auto& entry : manifests.back().entries()) {
      if (!entry.file.empty() && fs::exists(entry.file)) add_candidate(entry.file, origin + " manifest");
    }
  };
  if (options.manifest) add_manifest(*options.manifest, "explicit");
  Registry registry;
  registry.searched_ = search_places(explicit_paths, options.use_env, options.use_default_folders);
  if (options.use_default_folders) {
    for (const auto& place : default_plugin_folders(loader_module_path()))
      if (!fs::exists(place.path)) registry.missing_defaults_.push_back(place);
  }
  for (const auto& place : registry.searched_) {
    for (const auto& file : plugin_files_in(place.path)) add_candidate(file, place.origin);
    const fs::path manifest = fs::path(place.path) / "plugins.xml";
    if (fs::is_directory(place.path) && fs::exists(manifest)) add_manifest(manifest.string(), place.origin);
  }

  const bool probe = probe_enabled(options);
  const ProbeCache probe_cache = options.cache_probes ? ProbeCache::in_cache_dir() : ProbeCache({});
  const LogFn log = options.log ? options.log : stderr_logger(log_level_from_env());
  const std::map<std::string, ProbeResult> probed =
      probe && !options.isolation ? probe_candidates(candidates, manifests, options, selection, probe_cache)
                                  : std::map<std::string, ProbeResult>{};
  std::map<std::string, std::string> first_with_name;  // plugin name -> path of the record that won it
  for (size_t c = 0; c < candidates.size(); ++c) {
    const Candidate& candidate = candidates[c];
    if (options.progress)
      options.progress("loading plugin " + fs::path(candidate.path).filename().string() + " (" + std::to_string(c + 1) + " of " +
                       std::to_string(candidates.size()) + ")");
    PluginRecord record;
    const ManifestEntry* entry = prepare(record, candidate, manifests, options);

    const auto [earlier, first] = first_with_name.emplace(record.name, record.path);
    if (!first) {
      record.status = PluginRecord::Status::shadowed;
      record.reason = record.path + ": shadowed by " + earlier->second;
    } else if (!selection.selects(record.name, record.path)) {
      skip(record, record.path + ": not selected (selection '" + options.selection + "')");
    } else if (entry != nullptr && !entry->enabled) {
      record.status = PluginRecord::Status::disabled;
      record.reason = record.path + ": disabled by " + entry->where;
    } else {
      vet_and_load(record, probe, probe_cache, probed, options.probe_timeout, options.isolation, log);
      // A plugin whose own name differs from its file's may still clash with an earlier one.
      if (record.plugin != nullptr) {
        auto [winner, inserted] = first_with_name.emplace(record.name, record.path);
        if (!inserted && winner->second != record.path) {
          record.plugin.reset();
          record.status = PluginRecord::Status::shadowed;
          record.reason = record.path + ": shadowed by " + winner->second;
        }
      }
    }
    registry.records_.push_back(std::move(record));
  }

  for (const auto& name : selection.names) {
    bool found = false;
    for (const auto& r : registry.records_) {
      found = found || r.name == name || plugin_name_from_file(r.path) == name || fs::path(r.path).filename() == name;
    }
    if (!found) throw Error(CAGR_ERROR_INVALID_ARGUMENT, "selected plugin '" + name + "' was not found in any search place");
  }
  return registry;
}

std::vector<std::shared_ptr<Plugin>> Registry::loaded() const {
  std::vector<std::shared_ptr<Plugin>> plugins;
  for (const auto& r : records_) {
    if (r.status == PluginRecord::Status::loaded) plugins.push_back(r.plugin);
  }
  return plugins;
}

const PluginRecord* Registry::find(const std::string& name) const {
  for (const auto& r : records_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// ---- --list-plugins -----------------------------------------------------------------------------

namespace {

// Left-aligned columns two spaces apart; every row has the header's number of cells.
std::string format_table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string number_or_dash(double value) { return value > 0 ? fixed(value, 1) : "-"; }

std::string bytes_text(uint64_t bytes) {
  if (bytes == 0) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return fixed(value, unit == 0 ? 0 : 1) + " " + units[unit];
}

const char* kind_text(cagr_device_kind kind) {
  switch (kind) {
    case CAGR_DEVICE_CPU: return "cpu";
    case CAGR_DEVICE_GPU: return "gpu";
    case CAGR_DEVICE_OTHER: return "other";
  }
  return "?";
}

std::string device_table(const Plugin& plugin) {
  std::vector<std::vector<std::string>> rows = {{"#", "device", "kind", "CUs", "GFLOP/s f32", "GFLOP/s f16", "GB/s",
                                                 "memory", "LLC", "NUMA", "PCI bus"}};
  for (int i = 0; i < plugin.device_count(); ++i) {
    const DeviceInfo d = plugin.device(i);
    rows.push_back({std::to_string(i), d.name, kind_text(d.kind), std::to_string(d.compute_units),
                    number_or_dash(d.peak_gflops_f32), number_or_dash(d.peak_gflops_f16),
                    number_or_dash(d.memory_bandwidth_gbps), bytes_text(d.memory_bytes),
                    bytes_text(d.last_level_cache_bytes), d.numa_node < 0 ? "-" : std::to_string(d.numa_node),
                    d.pci_bus_id.empty() ? "-" : d.pci_bus_id});
  }
  return format_table(rows, "    ");
}

}  // namespace

std::string format_plugin_list(const Registry& registry) {
  const auto& records = registry.records();
  std::string out = std::to_string(records.size()) + " plugin file(s) found, " +
                    std::to_string(registry.loaded().size()) + " loaded\n";
  if (records.empty()) {
    std::string where;
    for (const auto& place : registry.searched()) where += "\n  " + place.path + " (" + place.origin + ")";
    for (const auto& place : registry.missing_default_folders())
      where += "\n  " + place.path + " (" + place.origin + ", does not exist)";
    if (where.empty()) where = " nothing";
    return out + "searched:" + where + "\nplugins are found in the install's plugins folder (relative to the library or program), "
                 "in CAGR_PLUGIN_PATH (folders or files, ':'-separated), and in paths given explicitly\n";
  }
  std::vector<std::vector<std::string>> rows = {{"status", "name", "from", "file / reason"}};
  for (const auto& r : records) {
    rows.push_back({to_string(r.status), r.name, r.origin, r.status == PluginRecord::Status::loaded ? r.path : r.reason});
  }
  out += "\n" + format_table(rows, "");
  for (const auto& r : records) {
    if (r.status != PluginRecord::Status::loaded) continue;
    const Plugin& p = *r.plugin;
    out += "\n" + p.name() + " " + p.version() + " by " + p.vendor() + ": ABI built " +
           std::to_string(p.built_abi_major()) + "." + std::to_string(p.built_abi_minor()) + ", negotiated " +
           std::to_string(p.abi_major()) + "." + std::to_string(p.abi_minor()) + ", priority " +
           std::to_string(r.priority) + "\n";
    for (const auto& [key, value] : r.options) out += "    option " + key + " = " + value + "\n";
    try {
      out += device_table(p);
    } catch (const std::exception& e) {
      out += "    devices unavailable: " + one_line(e.what()) + "\n";
    }
  }
  return out;
}

}  // namespace cagr
