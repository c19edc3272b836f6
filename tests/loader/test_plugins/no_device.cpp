// Initialises fine but finds no device.
#include "minimal_plugin.hpp"

namespace {
cagr_status no_devices(cagr_context*, int32_t* count) {
  *count = 0;
  return CAGR_OK;
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.device_count = no_devices; });
}
