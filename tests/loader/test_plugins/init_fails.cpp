// init fails with a message, as a plugin whose driver is missing would.
#include "minimal_plugin.hpp"

namespace {
cagr_status failing_init(cagr_init_args*) {
  return cagr::plugin::guarded([] { throw cagr::plugin::Error(CAGR_ERROR_DEVICE, "no driver for the test device"); });
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.init = failing_init; });
}
