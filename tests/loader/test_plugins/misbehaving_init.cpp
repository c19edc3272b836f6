// init misbehaves the way MISBEHAVIOUR says: SIGSEGV, abort or hang. One source, three plugins.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "minimal_plugin.hpp"

namespace {
cagr_status misbehaving_init(cagr_init_args*) {
#if MISBEHAVIOUR_SEGV
  raise(SIGSEGV);
#elif MISBEHAVIOUR_ABORT
  std::abort();
#elif MISBEHAVIOUR_HANG
  for (;;) pause();
#else
#error "define MISBEHAVIOUR_SEGV, MISBEHAVIOUR_ABORT or MISBEHAVIOUR_HANG"
#endif
  return CAGR_ERROR_INTERNAL;
}
}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) { a.init = misbehaving_init; });
}
