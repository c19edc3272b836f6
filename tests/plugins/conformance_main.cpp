// conformance_main.cpp - the conformance suite's command line, as the installed cagr-conformance and
// as cagr_conformance_tests in the build tree:
//
//   cagr-conformance --plugin=path/to/libmy_plugin.so [--offered-ops] [gtest flags]
//
// --plugin names the plugin (else CAGR_TEST_PLUGIN does). By default every op of abi/OPS.md that is
// not optional must be offered, as the in-tree plugins do; with --offered-ops a plugin may refuse
// any op (with a reason, at op_query and at kernel_create) and is checked on the ops it offers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "conformance_options.hpp"

namespace {

constexpr const char* kUsage =
    "usage: cagr-conformance --plugin=PATH.so [--offered-ops] [--gtest_filter=...]\n"
    "  Checks a CAGR plugin against the reference ops of abi/OPS.md on fresh random inputs,\n"
    "  through the loader as the runtime uses it (docs/PLUGINS.md).\n"
    "  --plugin=PATH     the plugin's shared library (default: $CAGR_TEST_PLUGIN)\n"
    "  --offered-ops     check only the ops the plugin offers; without it, every op of OPS.md that\n"
    "                    is not optional must be offered\n"
    "  CAGR_TEST_SEED=N  replays a run (each failure prints its seed)\n";

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // takes out the --gtest_* flags
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--plugin=", 0) == 0 && arg.size() > 9) {
      setenv("CAGR_TEST_PLUGIN", arg.c_str() + 9, 1);
    } else if (arg == "--offered-ops") {
      cagr::conformance::offered_ops_only() = true;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "cagr-conformance: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (std::getenv("CAGR_TEST_PLUGIN") == nullptr) {
    std::cerr << "cagr-conformance: no plugin named (--plugin=PATH.so)\n" << kUsage;
    return 2;
  }
  return RUN_ALL_TESTS();
}
