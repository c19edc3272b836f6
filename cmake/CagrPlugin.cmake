# cagr_add_plugin(NAME SOURCES ...): a plugin shared library that the loader can find.
# It lands in the build tree's plugins/ folder, is installed to lib/cagr/plugins, sees only abi/
# of our code, and exports nothing but its entry symbol (abi/cagr_plugin.map).
function(cagr_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE cagr_abi)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${CAGR_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE
    "-Wl,--version-script=${CMAKE_SOURCE_DIR}/abi/cagr_plugin.map" "-Wl,--no-undefined")
  install(TARGETS ${name} LIBRARY DESTINATION lib/cagr/plugins)
endfunction()
