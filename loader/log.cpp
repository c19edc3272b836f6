// log.cpp - the stderr sink for plugins' log messages.
#include "log.hpp"

#include <cstdio>
#include <cstdlib>

namespace cagr {

namespace {

const char* level_name(cagr_log_level level) {
  switch (level) {
    case CAGR_LOG_DEBUG: return "debug";
    case CAGR_LOG_INFO: return "info";
    case CAGR_LOG_WARNING: return "warning";
    case CAGR_LOG_ERROR: return "error";
  }
  return "unknown";
}

}  // namespace

std::optional<cagr_log_level> parse_log_level(const std::string& text) {
  for (cagr_log_level level : {CAGR_LOG_DEBUG, CAGR_LOG_INFO, CAGR_LOG_WARNING, CAGR_LOG_ERROR}) {
    if (text == level_name(level) || text == std::to_string(static_cast<int>(level))) return level;
  }
  return std::nullopt;
}

cagr_log_level log_level_from_env() {
  const char* env = std::getenv("CAGR_LOG_LEVEL");
  if (env == nullptr || *env == '\0') return CAGR_LOG_WARNING;
  if (auto level = parse_log_level(env)) return *level;
  static const bool reported = [env] {
    std::fprintf(stderr, "[cagr] warning: CAGR_LOG_LEVEL='%s' is not debug|info|warning|error; using warning\n", env);
    return true;
  }();
  (void)reported;
  return CAGR_LOG_WARNING;
}

LogFn stderr_logger(cagr_log_level threshold) {
  return [threshold](cagr_log_level level, const std::string& plugin, const std::string& message) {
    if (level < threshold) return;
    // One fprintf per message: lines from several threads do not interleave within a line.
    std::fprintf(stderr, "[cagr %s] %s: %s\n", plugin.c_str(), level_name(level), message.c_str());
  };
}

}  // namespace cagr
