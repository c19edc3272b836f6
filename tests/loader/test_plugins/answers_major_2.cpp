// A plugin that speaks only ABI major 2 and answers so whatever the host offers.
#include "minimal_plugin.hpp"

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  static const cagr_plugin_api api = [] {
    cagr_plugin_api a = test_plugin::api();
    a.abi_major = 2;
    return a;
  }();
  cagr_plugin_entry_args a = cagr::abi::read_struct(args);
  a.plugin_abi_major = 2;
  a.plugin_abi_minor = 0;
  a.api = &api;
  cagr::abi::write_struct(args, a);
  return CAGR_OK;
}
