// Links against a helper library that is not shipped where the dynamic linker looks: dlopen fails.
#include "minimal_plugin.hpp"

extern "C" int cagr_test_helper_answer();

namespace {
// Uses the helper, so that the linker keeps the dependency.
cagr_status init_with_helper(cagr_init_args* args) {
  return cagr_test_helper_answer() == 42 ? test_plugin::init(args) : CAGR_ERROR_INTERNAL;
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.init = init_with_helper; });
}
