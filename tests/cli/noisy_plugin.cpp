// A plugin that prints to stdout (printf, and write(2) on file descriptor 1) whenever the host calls
// it: cagr-run's report on stdout must come out whole and valid regardless.
#include <unistd.h>

#include <cstdio>

#include "minimal_plugin.hpp"

namespace {

void chatter(const char* where) {
  std::printf("noisy plugin says hello on stdout from %s {\"not\": \"the report\"\n", where);
  std::fflush(stdout);
  const char raw[] = "noisy plugin writes to fd 1 too ]}\n";
  (void)!write(1, raw, sizeof raw - 1);
}

cagr_status noisy_init(cagr_init_args* args) {
  chatter("init");
  return test_plugin::init(args);
}

cagr_status noisy_op_query(cagr_context* context, cagr_op_query_args* args) {
  chatter("op_query");
  return test_plugin::op_query(context, args);
}

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) {
    a.init = noisy_init;
    a.op_query = noisy_op_query;
  });
}
