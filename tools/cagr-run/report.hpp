// report.hpp - what cagr-run's reports are made of: latency statistics, the machine, and a JSON
// writer whose output is valid for any text (paths with quotes, control characters, bytes that
// are not UTF-8).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cagr::run {

// Latency statistics over a set of samples (microseconds). Percentiles are nearest-rank: the
// smallest sample with at least p% of the samples at or below it.
struct LatencyStats {
  size_t count = 0;
  double mean = 0, min = 0, max = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0;
};
LatencyStats latency_stats(std::vector<double> samples);
double percentile(std::vector<double> samples, double p);  // nearest rank; 0 for no samples

// The machine a report was made on.
struct MachineInfo {
  std::string host;       // host name
  std::string os;         // "Linux 6.1.0-18-amd64 x86_64"
  std::string cpu;        // model name from /proc/cpuinfo
  int logical_cpus = 0;   // online
  uint64_t memory_bytes = 0;
};
MachineInfo machine_info();

// A JSON document written front to back. Keys and strings are escaped: quotes, backslashes and
// control characters as JSON escapes, bytes that are not valid UTF-8 as U+FFFD. Numbers that are
// not finite are written as null.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(int64_t number);
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(size_t number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();
  // key(name).value(v)
  template <class T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  JsonWriter& strings(std::string_view name, const std::vector<std::string>& items);

  const std::string& text() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace cagr::run
