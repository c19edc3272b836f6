// measurement_cache.hpp - node timings kept on disk, keyed by what determines them: the device
// (plugin, device name, compute units), the op with its inputs' and outputs' dtypes and shapes and
// its attributes, and the variant. The tuner looks a timing up before measuring it, so a second
// run of a model, or another model with a layer of the same shape, measures nothing twice.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "cagr_plugin.h"
#include "placement.hpp"

namespace cagr {

class MeasurementCache {
 public:
  // Reads what `file` holds (a missing file is an empty cache; a malformed line is skipped).
  explicit MeasurementCache(std::filesystem::path file);
  // <the cache folder of abi/cagr_plugin_support.hpp>/measurements.tsv, or empty where there is none.
  static std::filesystem::path default_file();

  static std::string key(const Target& target, const cagr_op_desc& op, const std::string& variant);
  std::optional<double> find(const std::string& key) const;
  // Keeps the timing and appends it to the file (a cache that cannot be written stays in memory).
  void store(const std::string& key, const std::string& what, double microseconds);
  size_t size() const { return timings_.size(); }

 private:
  std::filesystem::path file_;
  std::map<std::string, double> timings_;
};

}  // namespace cagr
