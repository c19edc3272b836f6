// log.hpp - where plugins' log messages go on the host: stderr, filtered by a level threshold.
#pragma once

#include <optional>
#include <string>

#include "cagr_plugin.h"
#include "plugin.hpp"

namespace cagr {

// "debug", "info", "warning" or "error" (or 0..3); nullopt for anything else.
std::optional<cagr_log_level> parse_log_level(const std::string& text);

// The threshold from CAGR_LOG_LEVEL; warning when unset. An unreadable value is reported on stderr
// once and the default used, so a typo never silences errors.
cagr_log_level log_level_from_env();

// A LogFn that prints "[cagr <plugin>] <level>: <message>" to stderr for messages at or above
// `threshold`.
LogFn stderr_logger(cagr_log_level threshold);

}  // namespace cagr
