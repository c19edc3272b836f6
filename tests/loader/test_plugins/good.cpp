// The working test plugin: the minimal table, negotiated the usual way.
#include "minimal_plugin.hpp"

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  static const cagr_plugin_api api = test_plugin::api();
  return cagr::plugin::negotiate_entry(args, &api);
}
