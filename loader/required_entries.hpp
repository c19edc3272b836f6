// required_entries.hpp - the entry points every table must have (those of ABI 1.0), in the order of
// cagr_plugin_api, with their names: what the loader checks a table for, and what a plugin's worker
// reports its plugin's table has (isolated_plugin.hpp), from one list.
#pragma once

#include <array>

#include "cagr_plugin.h"

namespace cagr {

struct RequiredEntry {
  void** slot;  // the table's function pointer, as the storage of a pointer
  const char* name;
};

inline std::array<RequiredEntry, 23> required_entries(cagr_plugin_api& api) {
  const auto slot = [](auto& fn) { return reinterpret_cast<void**>(&fn); };
  return {{{slot(api.last_error_message), "last_error_message"},
           {slot(api.init), "init"},
           {slot(api.shutdown), "shutdown"},
           {slot(api.get_info), "get_info"},
           {slot(api.device_count), "device_count"},
           {slot(api.device_properties), "device_properties"},
           {slot(api.op_query), "op_query"},
           {slot(api.op_variant), "op_variant"},
           {slot(api.buffer_alloc), "buffer_alloc"},
           {slot(api.buffer_destroy), "buffer_destroy"},
           {slot(api.buffer_host_pointer), "buffer_host_pointer"},
           {slot(api.copy), "copy"},
           {slot(api.stream_create), "stream_create"},
           {slot(api.stream_destroy), "stream_destroy"},
           {slot(api.stream_synchronize), "stream_synchronize"},
           {slot(api.event_create), "event_create"},
           {slot(api.event_destroy), "event_destroy"},
           {slot(api.event_record), "event_record"},
           {slot(api.stream_wait_event), "stream_wait_event"},
           {slot(api.event_synchronize), "event_synchronize"},
           {slot(api.kernel_create), "kernel_create"},
           {slot(api.kernel_destroy), "kernel_destroy"},
           {slot(api.kernel_run), "kernel_run"}}};
}

}  // namespace cagr
