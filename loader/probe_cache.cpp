// probe_cache.cpp - one line per probed plugin file, tab-separated:
//   <canonical path> <size> <mtime ns> <options hash> <outcome> <devices> <message>
// rewritten whole (to a temporary file renamed over it) on each store.
#include "probe_cache.hpp"

#include <unistd.h>

#include <fstream>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "plugin_files.hpp"

namespace cagr {

namespace fs = std::filesystem;

namespace {

// What identifies a probe: the file as it is now, and what init is given.
struct Key {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t options_hash = 0;

  bool operator==(const Key& o) const {
    return path == o.path && size == o.size && mtime_ns == o.mtime_ns && options_hash == o.options_hash;
  }
};

// FNV-1a over "key=value\n" lines: stable across builds and runs, unlike std::hash.
uint64_t hash_options(const Options& options) {
  uint64_t h = 14695981039346656037ull;
  for (const auto& [key, value] : options) {
    for (char c : key + "=" + value + "\n") {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  return h;
}

std::optional<Key> key_of(const std::string& path, const Options& options) {
  std::error_code ec;
  const std::string file = canonical_path(path);
  const uint64_t size = fs::file_size(file, ec);
  if (ec) return std::nullopt;
  const auto mtime = fs::last_write_time(file, ec);
  if (ec) return std::nullopt;
  return Key{file, size, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count()),
             hash_options(options)};
}

struct Line {
  Key key;
  ProbeResult result;
};

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::optional<Line> parse(const std::string& text) {
  std::vector<std::string> fields(1);  // every tab starts a field, the last one (the message) may be empty
  for (char c : text) {
    if (c == '\t') fields.emplace_back();
    else fields.back() += c;
  }
  if (fields.size() != 7) return std::nullopt;
  try {
    Line line;
    line.key = Key{fields[0], std::stoull(fields[1]), std::stoll(fields[2]), std::stoull(fields[3])};
    const std::string& outcome = fields[4];
    if (outcome == "ok") line.result.outcome = ProbeResult::Outcome::ok;
    else if (outcome == "crashed") line.result.outcome = ProbeResult::Outcome::crashed;
    else if (outcome == "timed_out") line.result.outcome = ProbeResult::Outcome::timed_out;
    else return std::nullopt;
    line.result.devices = std::stoi(fields[5]);
    line.result.message = fields[6];
    return line;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged line: that plugin is probed again
  }
}

std::vector<Line> read_lines(const fs::path& file) {
  std::vector<Line> lines;
  std::ifstream in(file);
  std::string text;
  while (std::getline(in, text)) {
    if (auto line = parse(text)) lines.push_back(std::move(*line));
  }
  return lines;
}

const char* outcome_name(ProbeResult::Outcome outcome) {
  switch (outcome) {
    case ProbeResult::Outcome::ok: return "ok";
    case ProbeResult::Outcome::crashed: return "crashed";
    case ProbeResult::Outcome::timed_out: return "timed_out";
    case ProbeResult::Outcome::failed: return "failed";
  }
  return "failed";
}

}  // namespace

ProbeCache ProbeCache::in_cache_dir() {
  const fs::path dir = plugin::cache_dir();
  return ProbeCache(dir.empty() ? fs::path() : dir / "probe_results.txt");
}

std::optional<ProbeResult> ProbeCache::find(const std::string& path, const Options& options) const {
  if (file_.empty()) return std::nullopt;
  const std::optional<Key> key = key_of(path, options);
  if (!key) return std::nullopt;
  for (const Line& line : read_lines(file_)) {
    if (line.key == *key) return line.result;
  }
  return std::nullopt;
}

void ProbeCache::store(const std::string& path, const Options& options, const ProbeResult& result) const {
  const bool worth_keeping = (result.outcome == ProbeResult::Outcome::ok && result.devices > 0) ||
                             result.outcome == ProbeResult::Outcome::crashed ||
                             result.outcome == ProbeResult::Outcome::timed_out;
  if (file_.empty() || !worth_keeping) return;
  const std::optional<Key> key = key_of(path, options);
  if (!key) return;
  std::vector<Line> lines = read_lines(file_);
  std::erase_if(lines, [&](const Line& l) { return l.key.path == key->path && l.key.options_hash == key->options_hash; });
  lines.push_back(Line{*key, result});

  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  const fs::path temporary = file_.string() + "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const Line& l : lines) {
      out << l.key.path << '\t' << l.key.size << '\t' << l.key.mtime_ns << '\t' << l.key.options_hash << '\t'
          << outcome_name(l.result.outcome) << '\t' << l.result.devices << '\t' << one_line(l.result.message) << '\n';
    }
    if (!out) {
      fs::remove(temporary, ec);
      return;
    }
  }
  fs::rename(temporary, file_, ec);  // atomic: a run reading the cache sees the old file or the new
  if (ec) fs::remove(temporary, ec);
}

}  // namespace cagr
