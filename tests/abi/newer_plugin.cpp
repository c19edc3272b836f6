// A "newer" plugin, as if built against the header of the next minor (kNextMinor): its structs and
// its table have fields this host does not know, at their ends. Those structs ("V11": the first
// such test was written at 1.0) are defined here as the current ones plus fields.
#include <cstddef>

#include "minimal_plugin.hpp"

namespace {

constexpr int32_t kNextMinor = CAGR_ABI_VERSION_MINOR + 1;

struct DevicePropertiesV11 {
  cagr_device_properties v10;
  double peak_tops_int8;  // new in the next minor
};
static_assert(offsetof(DevicePropertiesV11, peak_tops_int8) >= sizeof(cagr_device_properties));

struct PluginInfoV11 {
  cagr_plugin_info v10;
  const char* build_id;  // new in the next minor
};

struct InitArgsV11 {
  cagr_init_args v10;
  int32_t future_mode;  // new in the next minor; this host does not send it, which must read as 0
};

struct PluginApiV11 {
  cagr_plugin_api v10;
  cagr_status (*future_entry)(cagr_context*);  // new in the next minor
};

// cagr::abi::read_struct/write_struct need struct_size as a direct member; the 1.1 structs here
// nest the 1.0 one, so these do the same by the host struct's size.

// Reads a host struct of unknown (maybe older) size into the newer layout: only the host's bytes.
template <class Newer, class Host>
Newer read_newer(const Host* host) {
  Newer n;
  std::memset(&n, 0, sizeof n);
  std::memcpy(&n, host, std::min(sizeof n, host->struct_size));
  return n;
}

// Writes the newer layout into a host struct: only inside the host's struct_size.
template <class Newer, class Host>
void write_newer(Host* host, const Newer& n) {
  const size_t size = host->struct_size;
  std::memcpy(host, &n, std::min(sizeof n, size));
  host->struct_size = size;
}

cagr_status newer_init(cagr_init_args* args) {
  return cagr::plugin::guarded([&] {
    const InitArgsV11 a = read_newer<InitArgsV11>(args);
    if (a.future_mode != 0) cagr::plugin::invalid("future_mode " + std::to_string(a.future_mode) + " unknown");
    if (test_plugin::init(args) != CAGR_OK) throw cagr::plugin::Error(CAGR_ERROR_INTERNAL, cagr::plugin::last_error());
  });
}

cagr_status newer_get_info(cagr_context* c, cagr_plugin_info* info) {
  return cagr::plugin::guarded([&] {
    PluginInfoV11 i{};
    i.v10.struct_size = sizeof(cagr_plugin_info);
    if (test_plugin::get_info(c, &i.v10) != CAGR_OK) cagr::plugin::invalid("get_info");
    i.v10.struct_size = sizeof i;
    i.v10.abi_minor = kNextMinor;
    i.build_id = "newer-build";
    write_newer(info, i);
  });
}

cagr_status newer_device_properties(cagr_context* c, int32_t device, cagr_device_properties* out) {
  return cagr::plugin::guarded([&] {
    test_plugin::check_device(device);
    DevicePropertiesV11 p{};
    p.v10 = test_plugin::properties(c);
    p.v10.struct_size = sizeof p;
    p.peak_tops_int8 = 99.0;
    write_newer(out, p);
  });
}

cagr_status future_entry(cagr_context*) { return CAGR_OK; }

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  static const PluginApiV11 api = [] {
    PluginApiV11 a{};
    a.v10 = test_plugin::api();
    a.v10.struct_size = sizeof a;
    a.v10.abi_minor = kNextMinor;
    a.v10.init = newer_init;
    a.v10.get_info = newer_get_info;
    a.v10.device_properties = newer_device_properties;
    a.future_entry = future_entry;
    return a;
  }();
  // The newer plugin speaks 1.x to any host of major 1 or later; the host uses what it knows.
  cagr_plugin_entry_args a = cagr::abi::read_struct(args);
  if (a.host_abi_major < 1) {
    a.refusal = "host ABI major is older than the plugin's";
    cagr::abi::write_struct(args, a);
    return CAGR_ERROR_VERSION;
  }
  a.plugin_abi_major = 1;
  a.plugin_abi_minor = kNextMinor;
  a.api = &api.v10;
  a.refusal = nullptr;
  cagr::abi::write_struct(args, a);
  return CAGR_OK;
}
