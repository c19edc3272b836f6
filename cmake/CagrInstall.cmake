# What `cmake --install` adds for applications, beside the programs, plugins and headers that each
# folder installs: libcagr.so with its soname, a CMake package (find_package(cagr) -> cagr::cagr)
# and a pkg-config file (cagr.pc). Everything is relative to the prefix, so an install can be moved:
# the loader finds <libdir>/cagr/plugins relative to libcagr.so (loader/plugin_files.hpp), cagr.pc
# computes its prefix from its own folder, and cagrConfig.cmake from its own.
include(CMakePackageConfigHelpers)

set(CAGR_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/cagr)

install(TARGETS cagr EXPORT cagrTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cagr)
# libcagr.so links only system libraries and its own folder; $ORIGIN keeps a moved install whole
# should it ever link one of ours.
set_target_properties(cagr PROPERTIES INSTALL_RPATH "$ORIGIN")
install(EXPORT cagrTargets NAMESPACE cagr:: DESTINATION ${CAGR_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/cagrConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/cagrConfig.cmake
                              INSTALL_DESTINATION ${CAGR_INSTALL_CMAKEDIR}
                              PATH_VARS CAGR_INSTALL_PLUGIN_DIR CMAKE_INSTALL_BINDIR)
# 0.x: a minor release may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cagrConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cagrConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/cagrConfigVersion.cmake
        DESTINATION ${CAGR_INSTALL_CMAKEDIR})

# Data files programs read at run time go to <datadir>/cagr, where installed_data_file()
# (loader/plugin_files.hpp) finds them relative to the library or program: the learned policy
# (policy/cagr_policy.xml, docs/OPTIMISER.md) when the repository has it.
if(EXISTS ${CMAKE_SOURCE_DIR}/policy/cagr_policy.xml)
  install(FILES ${CMAKE_SOURCE_DIR}/policy/cagr_policy.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/cagr)
endif()

# cagr.pc: the prefix from the file's own folder (pkg-config's ${pcfiledir}), and an RPATH so a
# program linked with `pkg-config --libs cagr` finds libcagr.so without LD_LIBRARY_PATH.
file(RELATIVE_PATH CAGR_PC_PREFIX_FROM_PCDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" CAGR_PC_PREFIX_FROM_PCDIR "${CAGR_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/cagr.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cagr.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cagr.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
