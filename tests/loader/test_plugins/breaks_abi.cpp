// A plugin whose one answer breaks a rule of cagr_plugin.h, chosen by the build (BREAKS=...): the
// host must refuse the answer naming the file and the rule, and never use it. One source, one plugin
// per rule.
#include <cmath>
#include <stdexcept>

#include "minimal_plugin.hpp"

#define DEVICE_COUNT_NEGATIVE 1
#define DEVICE_COUNT_HUGE 2
#define INIT_OK_NO_CONTEXT 3
#define INIT_FAILS_NO_MESSAGE 4
#define NULL_NAME 5
#define UNTERMINATED_NAME 6
#define NAN_PEAK 7
#define NAN_COST 8
#define THROWS_IN_INIT 9
#define THROWS_IN_QUERY 10

namespace {

cagr_status device_count(cagr_context*, int32_t* count) {
  *count = BREAKS == DEVICE_COUNT_NEGATIVE ? -1 : 100000;
  return CAGR_OK;
}

cagr_status init_without_context(cagr_init_args*) { return CAGR_OK; }

cagr_status init_failing_silently(cagr_init_args*) { return CAGR_ERROR_DEVICE; }
const char* no_message() { return nullptr; }

// 8 KiB of 'a' and then the NUL: far past the 4 KiB a string may have, but readable memory.
struct LongName {
  char text[8192];
  LongName() {
    for (char& c : text) c = 'a';
    text[sizeof text - 1] = '\0';
  }
};

cagr_status get_info(cagr_context* c, cagr_plugin_info* info) {
  static const LongName long_name;
  const cagr_status status = test_plugin::get_info(c, info);
  info->name = BREAKS == NULL_NAME ? nullptr : long_name.text;
  return status;
}

cagr_status device_properties(cagr_context* c, int32_t device, cagr_device_properties* out) {
  const cagr_status status = test_plugin::device_properties(c, device, out);
  out->peak_gflops_f32 = std::nan("");
  return status;
}

cagr_status op_variant(cagr_context* c, cagr_variant_args* args) {
  const cagr_status status = test_plugin::op_variant(c, args);
  args->estimated_ns = std::nan("");
  return status;
}

// Not wrapped in guarded(): the exception crosses the C ABI, which a plugin must never let happen.
cagr_status throwing_init(cagr_init_args*) { throw std::runtime_error("thrown from init"); }
cagr_status throwing_query(cagr_context*, cagr_op_query_args*) { throw std::runtime_error("thrown from op_query"); }

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) {
    switch (BREAKS) {
      case DEVICE_COUNT_NEGATIVE:
      case DEVICE_COUNT_HUGE: a.device_count = device_count; break;
      case INIT_OK_NO_CONTEXT: a.init = init_without_context; break;
      case INIT_FAILS_NO_MESSAGE:
        a.init = init_failing_silently;
        a.last_error_message = no_message;
        break;
      case NULL_NAME:
      case UNTERMINATED_NAME: a.get_info = get_info; break;
      case NAN_PEAK: a.device_properties = device_properties; break;
      case NAN_COST: a.op_variant = op_variant; break;
      case THROWS_IN_INIT: a.init = throwing_init; break;
      case THROWS_IN_QUERY: a.op_query = throwing_query; break;
    }
  });
}
