/* list_plugins.c - prints the plugins an application of the C API finds with no configuration:
 * the install test checks that they all come from the install, none from the build tree. */
#include <stdio.h>

#include "cagr.h"

int main(void) {
  cagr_runtime_options options = {sizeof(cagr_runtime_options), "auto", NULL, 1};
  cagr_runtime* runtime = NULL;
  if (cagr_runtime_create(&options, &runtime) != CAGR_API_OK) {
    fprintf(stderr, "list_plugins: %s\n", cagr_last_error());
    return 1;
  }
  fputs(cagr_runtime_describe(runtime), stdout);
  cagr_runtime_destroy(runtime);
  return 0;
}
