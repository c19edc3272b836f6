# cagr_add_plugin(NAME [OUTPUT_DIRECTORY dir] SOURCES...): a plugin shared library that the loader
# can find. It lands in the build tree's plugins/ folder, is installed to <libdir>/cagr/plugins, sees only
# abi/ of our code, and exports nothing but its entry symbol (abi/cagr_plugin.map).
# OUTPUT_DIRECTORY is for test plugins: they go to that folder instead and are never installed, so
# they cannot pollute the real plugins folder.
function(cagr_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "")
  add_library(${name} MODULE ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE cagr_abi)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE
    "-Wl,--version-script=${CMAKE_SOURCE_DIR}/abi/cagr_plugin.map" "-Wl,--no-undefined")
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  else()
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CAGR_PLUGIN_OUTPUT_DIR})
    install(TARGETS ${name} LIBRARY DESTINATION ${CAGR_INSTALL_PLUGIN_DIR})
  endif()
endfunction()
