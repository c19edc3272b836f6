# Turns one OpenCL C file into a C++ header holding it as a raw string, so that kernels live in
# real .cl files (readable, checkable) yet the plugin is a single .so with nothing to find at run
# time. Called as: cmake -DINPUT=x.cl -DOUTPUT=x_cl.hpp -DNAME=x -P embed_cl.cmake
file(READ ${INPUT} text)
string(FIND "${text}" ")CAGRCL\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )CAGRCL\"")
endif()
file(WRITE ${OUTPUT}
  "// Generated from ${INPUT} by embed_cl.cmake: edit the .cl file, not this one.\n"
  "#pragma once\n"
  "namespace cagr::opencl::source {\n"
  "inline constexpr const char ${NAME}[] = R\"CAGRCL(${text})CAGRCL\";\n"
  "}  // namespace cagr::opencl::source\n")
