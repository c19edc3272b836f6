#!/usr/bin/env bash
# The install as a user gets it: `cmake --install` to a temporary prefix, which is then moved (so
# nothing may depend on where it was installed), and from there, with nothing of the build tree:
#  - libcagr.so has a versioned soname, and no installed file has an RPATH into the build tree;
#  - the installed cagr-run finds the installed plugins (and only those) and cagr-zoo writes a model;
#  - the C sample (samples/c_api/predict.c), copied out of the source tree, builds against the
#    install with CMake (find_package(cagr), cagr::cagr) and with pkg-config (cagr.pc), and runs
#    with no LD_LIBRARY_PATH and no CAGR_PLUGIN_PATH, its plugins found relative to libcagr.so;
#  - the plugin template (examples/plugin_template), copied out of the source tree, builds against
#    the install (find_package(cagr), cagr::plugin_kit); dropped into a folder named by
#    CAGR_PLUGIN_PATH, the installed cagr-run lists it and the installed cagr-conformance passes it.
# Everything after the install runs, where unprivileged user namespaces are allowed, with the build
# tree gone: an empty tmpfs is mounted over it in a mount namespace of its own (unshare -rm).
# Elsewhere the build tree stays, and the checks make sure nothing is taken from it.
#
#   install_test.sh BUILD_DIR SOURCE_DIR LIBDIR SOVERSION [EXTRA_C_FLAGS]
set -euo pipefail
phase=install
if [ "${1:-}" = --use-install ]; then
  phase=use
  shift
fi
build=$(cd "$1" && pwd -P)
source=$(cd "$2" && pwd -P)
libdir=$3
soversion=$4
extra_cflags=${5:-}

fail() {
  echo "install test: FAILED: $*" >&2
  exit 1
}
step() { echo "== $*"; }
unset CAGR_PLUGIN_PATH LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# Everything done with the install, once it is in place.
use_the_install() {
  step "soname and RPATHs"
  soname=$(readelf -d "$prefix/$libdir/libcagr.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = "libcagr.so.$soversion" ] || fail "libcagr.so's soname is '$soname', expected libcagr.so.$soversion"
  [ -e "$prefix/$libdir/$soname" ] || fail "$soname is not installed"
  while IFS= read -r -d '' f; do
    if readelf -h "$f" > /dev/null 2>&1 && readelf -d "$f" 2>/dev/null | grep -E 'R(UN)?PATH' | grep -F "$build" > /dev/null; then
      fail "${f#"$prefix"/} has an RPATH into the build tree: $(readelf -d "$f" | grep -E 'R(UN)?PATH')"
    fi
  done < <(find "$prefix" -type f -print0)

  step "the installed cagr-run lists the installed plugins, and only those"
  "$prefix/bin/cagr-run" --list-plugins > "$work/list.txt" || { cat "$work/list.txt"; fail "cagr-run --list-plugins"; }
  cat "$work/list.txt"
  grep -q "^loaded  *cpu  *install  *$prefix/$libdir/cagr/plugins/libcagr_cpu.so" "$work/list.txt" ||
    fail "the installed cagr-run did not load the installed CPU plugin"
  ! grep -qF "$build" "$work/list.txt" || fail "the installed cagr-run looked into the build tree"

  step "the installed cagr-zoo writes the sample model; the installed cagr-run runs it"
  "$prefix/bin/cagr-zoo" --model=dlrm_avazu_sample --out="$work/model/model.xml" > /dev/null
  "$prefix/bin/cagr-run" --model="$work/model/model.xml" --plugins=cpu --iterations=2 > "$work/run.txt" ||
    { cat "$work/run.txt"; fail "the installed cagr-run could not run the model"; }
  [ -x "$prefix/bin/cagr-plugin-worker" ] || fail "the plugin worker is not installed beside cagr-run"
  "$prefix/bin/cagr-run" --model="$work/model/model.xml" --plugins=cpu --isolate-plugins --iterations=2 > "$work/run_isolated.txt" ||
    { cat "$work/run_isolated.txt"; fail "the installed cagr-run could not run the model with --isolate-plugins"; }

  step "the installed cagr-run plans by the installed learned policy (share/cagr), not the source tree's"
  policy=$prefix/share/cagr/cagr_policy.xml
  [ -f "$policy" ] || fail "the install lacks share/cagr/cagr_policy.xml"
  "$prefix/bin/cagr-run" --model="$work/model/model.xml" --plugins=cpu --optimizer=policy --iterations=2 > "$work/run_policy.txt" 2>&1 ||
    { cat "$work/run_policy.txt"; fail "the installed cagr-run could not plan by the policy"; }
  grep -q "decided by policy" "$work/run_policy.txt" || { cat "$work/run_policy.txt"; fail "the plan was not decided by the policy"; }
  cp "$policy" "$work/policy.xml"
  echo "<not-a-policy/>" > "$policy"  # what cagr-run reads now names the file it looked at
  ! "$prefix/bin/cagr-run" --model="$work/model/model.xml" --plugins=cpu --optimizer=policy --iterations=1 > "$work/run_bad_policy.txt" 2>&1 ||
    fail "cagr-run planned with a damaged policy file"
  grep -qF "$policy" "$work/run_bad_policy.txt" || { cat "$work/run_bad_policy.txt"; fail "the installed policy was not the one read"; }
  cp "$work/policy.xml" "$policy"

  step "the C sample, built with find_package(cagr)"
  cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="$extra_cflags" > "$work/app.log" 2>&1 || { cat "$work/app.log"; fail "configuring the sample"; }
  cmake --build "$work/app/build" > "$work/app.log" 2>&1 || { cat "$work/app.log"; fail "building the sample"; }
  "$work/app/build/predict" "$work/model/model.xml" | tee "$work/predict.txt"
  grep -q "sample 1: click probability 0\.[0-9]" "$work/predict.txt" || fail "predict (CMake) printed no prediction"
  "$work/app/build/list_plugins" > "$work/app_plugins.txt"
  grep -q "$prefix/$libdir/cagr/plugins/libcagr_cpu.so" "$work/app_plugins.txt" ||
    { cat "$work/app_plugins.txt"; fail "libcagr.so did not find the installed plugins"; }
  ! grep -qF "$build" "$work/app_plugins.txt" || { cat "$work/app_plugins.txt"; fail "libcagr.so looked into the build tree"; }
  # Into a file first: with pipefail, grep -q leaving at its first match can fail the pipeline by
  # SIGPIPE to ldd still writing (it did once under the sanitizers).
  ldd "$work/app/build/predict" > "$work/ldd.txt"
  grep -q "libcagr.so.$soversion => $prefix/$libdir/" "$work/ldd.txt" || { cat "$work/ldd.txt"; fail "predict does not load the installed libcagr.so"; }

  step "the C sample, built with pkg-config"
  export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
  [ "$(pkg-config --modversion cagr)" != "" ] || fail "pkg-config does not know cagr"
  # shellcheck disable=SC2046,SC2086
  cc $extra_cflags -o "$work/predict_pc" "$work/app/predict.c" $(pkg-config --cflags --libs cagr)
  "$work/predict_pc" "$work/model/model.xml" | tee "$work/predict_pc.txt"
  grep -q "sample 1: click probability 0\.[0-9]" "$work/predict_pc.txt" || fail "predict (pkg-config) printed no prediction"
  cmp -s "$work/predict.txt" "$work/predict_pc.txt" || fail "the two builds of the sample disagree"

  step "the plugin template, built against the install and dropped into CAGR_PLUGIN_PATH"
  cmake -S "$work/plugin_template" -B "$work/plugin_template/build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$extra_cflags" > "$work/template.log" 2>&1 ||
    { cat "$work/template.log"; fail "configuring the plugin template"; }
  cmake --build "$work/plugin_template/build" > "$work/template.log" 2>&1 ||
    { cat "$work/template.log"; fail "building the plugin template"; }
  exported=$(nm -D --defined-only "$work/plugin_template/build/libcagr_relu_example.so" | awk '{print $3}' | tr '\n' ' ')
  [ "$exported" = "cagr_plugin_entry " ] || fail "the template plugin exports '$exported', not only cagr_plugin_entry"
  ctest --test-dir "$work/plugin_template/build" -N > "$work/template_tests.txt"
  grep -q "Test *#1: conformance" "$work/template_tests.txt" ||
    fail "the plugin template registered no conformance test (find_package(cagr) set no cagr_CONFORMANCE?)"
  mkdir "$work/dropped"
  cp "$work/plugin_template/build/libcagr_relu_example.so" "$work/dropped/"
  CAGR_PLUGIN_PATH="$work/dropped" "$prefix/bin/cagr-run" --list-plugins > "$work/list_dropped.txt" ||
    { cat "$work/list_dropped.txt"; fail "cagr-run --list-plugins with the template plugin"; }
  grep -q "^loaded  *relu_example .*$work/dropped/libcagr_relu_example.so" "$work/list_dropped.txt" ||
    { cat "$work/list_dropped.txt"; fail "the installed cagr-run did not load the plugin dropped into CAGR_PLUGIN_PATH"; }
  "$prefix/bin/cagr-conformance" --plugin="$work/dropped/libcagr_relu_example.so" --offered-ops > "$work/conformance.txt" 2>&1 ||
    { cat "$work/conformance.txt"; fail "the installed cagr-conformance failed the template plugin"; }
  grep -q "PASSED" "$work/conformance.txt" || { cat "$work/conformance.txt"; fail "cagr-conformance passed no test"; }
  tail -n 3 "$work/conformance.txt"
}

if [ "$phase" = use ]; then
  work=$CAGR_INSTALL_TEST_WORK
  prefix=$work/prefix
  if [ "${CAGR_INSTALL_TEST_HIDE:-0}" = 1 ]; then
    mount -t tmpfs cagr-build-tree-hidden "$build" || fail "could not hide the build tree"
    [ -z "$(ls -A "$build")" ] || fail "the build tree is still visible"
  fi
  cd "$work"
  use_the_install
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cagr-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
step "cmake --install $build --prefix <tmp>/staged, then moved to <tmp>/prefix"
cmake --install "$build" --prefix "$work/staged" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
mv "$work/staged" "$work/prefix"
prefix=$work/prefix
for f in "$prefix/$libdir/libcagr.so" "$prefix/include/cagr/cagr.h" "$prefix/$libdir/cmake/cagr/cagrConfig.cmake" \
         "$prefix/$libdir/cmake/cagr/cagrConfigVersion.cmake" "$prefix/$libdir/pkgconfig/cagr.pc" \
         "$prefix/$libdir/cagr/plugins/libcagr_cpu.so" "$prefix/bin/cagr-run" "$prefix/bin/cagr-zoo" "$prefix/bin/cagr-gen" \
         "$prefix/bin/cagr-conformance" "$prefix/include/cagr/cagr_plugin_kit.hpp" "$prefix/$libdir/libcagr_op_contract.a" \
         "$prefix/share/cagr/cagr_plugin.map"; do
  [ -e "$f" ] || fail "the install lacks ${f#"$prefix"/}"
done
mkdir -p "$work/app"
cp "$source/samples/c_api/predict.c" "$source/tests/install/consumer/CMakeLists.txt" \
   "$source/tests/install/consumer/list_plugins.c" "$work/app/"
cp -r "$source/examples/plugin_template" "$work/plugin_template"
rm -rf "$work/plugin_template/build"

export CAGR_INSTALL_TEST_WORK=$work
if unshare -rm true 2> /dev/null; then
  step "from here on the build tree is gone: an empty tmpfs over $build, in a mount namespace of its own"
  CAGR_INSTALL_TEST_HIDE=1 unshare -rm bash "$0" --use-install "$@"
else
  step "(unshare -rm is not permitted here: the build tree stays, and the checks make sure nothing comes from it)"
  bash "$0" --use-install "$@"
fi
echo "install test: passed"
