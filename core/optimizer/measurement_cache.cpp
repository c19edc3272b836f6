// measurement_cache.cpp - a tab-separated file, one timing a line: key, what (for a reader), microseconds.
#include "measurement_cache.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cagr_plugin_support.hpp"
#include "math_precision.hpp"
#include "node_desc.hpp"

namespace cagr {

MeasurementCache::MeasurementCache(std::filesystem::path file) : file_(std::move(file)) {
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find('\t'), b = line.rfind('\t');
    if (a == std::string::npos || b == a) continue;
    try {
      timings_[line.substr(0, a)] = std::stod(line.substr(b + 1));
    } catch (const std::exception&) {  // a damaged line: measured again when needed
    }
  }
}

std::filesystem::path MeasurementCache::default_file() {
  const std::filesystem::path dir = plugin::cache_dir();
  return dir.empty() ? dir : dir / "measurements.tsv";
}

std::string MeasurementCache::key(const Target& target, const cagr_op_desc& op, const std::string& variant) {
  std::ostringstream text;
  text << target.plugin->name() << '|' << target.info.name << '|' << target.info.compute_units << '|' << op_signature(op, true);
  // A variant may compute differently under a looser allowance (cuBLASLt in TF32): part of the key
  // where it is not f32, so keys written before precision was a choice stay valid.
  if (const cagr_math_precision allowed = abi::allowed_math_precision(op); allowed != CAGR_MATH_F32)
    text << "|math=" << abi::math_precision_name(allowed);
  text << "|variant=" << variant;
  return text.str();
}

std::optional<double> MeasurementCache::find(const std::string& key) const {
  auto it = timings_.find(key);
  return it == timings_.end() ? std::nullopt : std::optional<double>(it->second);
}

void MeasurementCache::store(const std::string& key, const std::string& what, double microseconds) {
  timings_[key] = microseconds;
  if (file_.empty()) return;
  std::error_code ignored;
  std::filesystem::create_directories(file_.parent_path(), ignored);
  std::ofstream out(file_, std::ios::app);
  char us[32];
  std::snprintf(us, sizeof us, "%.3f", microseconds);
  out << key << '\t' << what << '\t' << us << '\n';
}

}  // namespace cagr
