# cagr_add_test_plugin(NAME SOURCE OUTPUT_DIRECTORY [compile definitions...]): a plugin named
# test_<NAME> (file libcagr_test_<NAME>.so) built from tests/loader/test_plugins/<SOURCE> or an
# absolute SOURCE, into a test folder, never into the real plugins folder and never installed.
set(CAGR_TEST_PLUGIN_SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/test_plugins)
function(cagr_add_test_plugin name source output_directory)
  if(NOT IS_ABSOLUTE ${source})
    set(source ${CAGR_TEST_PLUGIN_SOURCE_DIR}/${source})
  endif()
  cagr_add_plugin(cagr_test_${name} OUTPUT_DIRECTORY ${output_directory} ${source})
  target_include_directories(cagr_test_${name} PRIVATE ${CAGR_TEST_PLUGIN_SOURCE_DIR})
  target_compile_definitions(cagr_test_${name} PRIVATE TEST_PLUGIN_NAME="test_${name}" ${ARGN})
endfunction()
