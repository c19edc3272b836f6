// Initialises fine but finds no device, and says why in a "no device: " log message.
#include "minimal_plugin.hpp"

namespace {
cagr_status no_devices(cagr_context*, int32_t* count) {
  *count = 0;
  return CAGR_OK;
}
cagr_status init_saying_why(cagr_init_args* args) {
  const cagr_status status = test_plugin::init(args);
  if (status == CAGR_OK && args->log != nullptr)
    args->log(args->log_user_data, CAGR_LOG_INFO, "no device: the test device's driver is not installed");
  return status;
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) {
    a.device_count = no_devices;
    a.init = init_saying_why;
  });
}
