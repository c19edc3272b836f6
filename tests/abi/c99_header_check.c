/* The ABI header compiles as strict C99 (-std=c99 -pedantic-errors) and its macros work in C. */
#include "cagr_plugin.h"

#include <stdio.h>

int main(void) {
  cagr_device_properties props;
  cagr_plugin_entry_args entry;
  int failures = 0;

  props.struct_size = CAGR_STRUCT_SIZE(cagr_device_properties, compute_units);
  if (!CAGR_STRUCT_HAS(&props, cagr_device_properties, compute_units)) ++failures;
  if (CAGR_STRUCT_HAS(&props, cagr_device_properties, peak_gflops_f32)) ++failures;
  props.struct_size = sizeof props;
  if (!CAGR_STRUCT_HAS(&props, cagr_device_properties, host_accessible)) ++failures;

  entry.struct_size = sizeof entry;
  entry.host_abi_major = CAGR_ABI_VERSION_MAJOR;
  entry.host_abi_minor = CAGR_ABI_VERSION_MINOR;
  if (entry.host_abi_major < CAGR_ABI_OLDEST_SUPPORTED_MAJOR) ++failures;
  if (CAGR_STRUCT_SIZE(cagr_plugin_api, kernel_statistics) != sizeof(cagr_plugin_api)) ++failures;

  if (failures != 0) fprintf(stderr, "%d check(s) of cagr_plugin.h's macros failed in C\n", failures);
  return failures == 0 ? 0 : 1;
}
