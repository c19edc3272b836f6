#!/usr/bin/env bash
# `pip install .` as a user runs it, into a fresh virtual environment, then the package used from
# outside the source tree with no CAGR_PLUGIN_PATH and no LD_LIBRARY_PATH:
#  - `import cagr; print(cagr.plugins())` loads the CPU plugin from inside the installed package
#    (found relative to its libcagr.so, as in any install), and nothing from a build tree;
#  - the package's cagr-zoo writes the sample model, cagr.Model runs it, and `python -m cagr.run`
#    (the package's cagr-run) runs it too.
# The wheel is built in WHEEL_BUILD_DIR, kept between runs, so a rerun rebuilds only what changed
# (and, with ccache on PATH, reuses the objects of other builds). The build requirements
# (scikit-build-core, nanobind) and numpy come from the Python that runs this, which the virtual
# environment sees (--system-site-packages): the test needs no network. GPU plugins are left out
# to keep it short; the wheel of `pip install .` has them where their compilers are found.
#
#   pip_install_test.sh SOURCE_DIR WHEEL_BUILD_DIR PYTHON
set -euo pipefail
source=$(cd "$1" && pwd -P)
wheel_build=$2
python=$3
fail() {
  echo "pip install test: FAILED: $*" >&2
  exit 1
}
unset CAGR_PLUGIN_PATH LD_LIBRARY_PATH PYTHONPATH

work=$(mktemp -d "${TMPDIR:-/tmp}/cagr-pip-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
venv_python=$work/venv/bin/python

cmake_args="-DCAGR_BUILD_HIP=OFF -DCAGR_BUILD_CUDA=OFF"
if command -v ccache > /dev/null; then
  cmake_args+=" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
fi
echo "== pip install $source (build folder $wheel_build)"
start=$(date +%s)
CMAKE_ARGS=$cmake_args "$venv_python" -m pip install --no-build-isolation --quiet \
  --config-settings=build-dir="$wheel_build" "$source" > "$work/pip.log" 2>&1 || { tail -50 "$work/pip.log"; fail "pip install"; }
echo "   $(($(date +%s) - start)) s"

cd "$work"  # away from the source tree, whose python/cagr must not be what is imported
package=$("$venv_python" -c 'import cagr, os; print(os.path.dirname(cagr.__file__))')
case $package in
  "$work/venv/"*) ;;
  *) fail "import cagr found $package, not the installed package" ;;
esac

echo "== python -c 'import cagr; print(cagr.plugins())'"
"$venv_python" -c "import cagr; print(cagr.plugins())" | tee "$work/plugins.txt"
grep -q "^loaded  *cpu  *install  *$package/lib/cagr/plugins/libcagr_cpu.so" "$work/plugins.txt" ||
  fail "the installed package did not load its own CPU plugin"
! grep -qF "$wheel_build" "$work/plugins.txt" || fail "the installed package looked into the wheel's build folder"

echo "== the package's cagr-zoo, cagr.Model and python -m cagr.run on the sample model"
"$package/bin/cagr-zoo" --model=dlrm_avazu_sample --out="$work/model/model.xml" > /dev/null
"$venv_python" - "$work/model/model.xml" <<'PY'
import sys

import numpy as np

import cagr

m = cagr.Model(sys.argv[1], plugins="cpu")
batch = 4
prob = m.run({
    "dense": np.full((batch, 2), 0.5, np.float32),
    "indices": np.ones(batch * 22, np.int64),
    "offsets": np.arange(batch * 22 + 1, dtype=np.int64),
})["prob"]
assert prob.shape == (batch, 1) and np.all((prob > 0) & (prob < 1)), prob
print("cagr.Model ran the sample model:", prob.ravel())
PY
"$venv_python" -m cagr.run --model="$work/model/model.xml" --plugins=cpu --iterations=2 > "$work/run.txt" ||
  { cat "$work/run.txt"; fail "python -m cagr.run"; }
echo "pip install test: passed"
