// A shared library that is not a CAGR plugin: its function has another name, so it exports no
// cagr_plugin_entry.
#include "cagr_plugin.h"

extern "C" CAGR_PLUGIN_EXPORT int some_other_library_function() { return 0; }
