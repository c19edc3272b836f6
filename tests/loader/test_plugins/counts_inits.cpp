// The minimal plugin, whose init appends a line to the file named by CAGR_TEST_INIT_LOG: the probe
// cache's test counts how often a discovery initialises it.
#include <cstdlib>
#include <fstream>

#include "minimal_plugin.hpp"

namespace {
cagr_status counting_init(cagr_init_args* args) {
  if (const char* log = std::getenv("CAGR_TEST_INIT_LOG")) std::ofstream(log, std::ios::app) << "init\n";
  return test_plugin::init(args);
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.init = counting_init; });
}
