// A table without kernel_run, a required 1.0 entry.
#include "minimal_plugin.hpp"

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.kernel_run = nullptr; });
}
