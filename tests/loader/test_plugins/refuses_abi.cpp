// A plugin that needs ABI major 99 and refuses every host older than that, saying why.
#include "minimal_plugin.hpp"

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  cagr_plugin_entry_args a = cagr::abi::read_struct(args);
  if (a.host_abi_major < 99) {
    a.refusal = "this plugin needs ABI major 99";
    cagr::abi::write_struct(args, a);
    return CAGR_ERROR_VERSION;
  }
  return CAGR_ERROR_INTERNAL;
}
