// An "older" plugin, as if built against a header from before the capture entries and before the
// last device properties: its table ends at kernel_run and it writes its own, shorter structs.
#include <cstddef>

#include "minimal_plugin.hpp"

namespace {

// cagr_device_properties as the older header had it: up to numa_node.
struct OlderDeviceProperties {
  size_t struct_size;
  const char* name;
  cagr_device_kind kind;
  int32_t compute_units;
  double peak_gflops_f32;
  double peak_gflops_f16;
  double memory_bandwidth_gbps;
  uint64_t memory_bytes;
  uint64_t last_level_cache_bytes;
  int32_t numa_node;
};
static_assert(offsetof(OlderDeviceProperties, numa_node) == offsetof(cagr_device_properties, numa_node));
static_assert(sizeof(OlderDeviceProperties) < sizeof(cagr_device_properties));

cagr_status older_device_properties(cagr_context* c, int32_t device, cagr_device_properties* out) {
  return cagr::plugin::guarded([&] {
    test_plugin::check_device(device);
    const cagr_device_properties p = test_plugin::properties(c);
    OlderDeviceProperties older;
    std::memcpy(&older, &p, sizeof older);  // the older plugin knows these fields only
    older.struct_size = sizeof older;
    cagr::abi::write_struct(reinterpret_cast<OlderDeviceProperties*>(out), older);
  });
}

// Must never be called: it lies beyond the table's struct_size.
cagr_status capture_beyond_the_table(cagr_context*, cagr_stream*) { return CAGR_ERROR_INTERNAL; }

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) {
    a.struct_size = CAGR_STRUCT_SIZE(cagr_plugin_api, kernel_run);
    a.device_properties = older_device_properties;
    a.stream_begin_capture = capture_beyond_the_table;
  });
}
