"""cagr.Model from Python: the same answers as cagr-run and as PyTorch, inputs of every kind the
binding takes, the model's description, plans."""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import cagr


def test_plugins_lists_the_cpu_plugin():
    table = cagr.plugins()
    assert any(line.split()[:2] == ["loaded", "cpu"] for line in table.splitlines()), table


def test_model_describes_its_inputs_and_outputs(sample_model):
    specs = {s.name: s for s in sample_model.inputs}
    assert list(specs) == ["dense", "indices", "offsets"]
    assert specs["dense"].dtype == "float32" and specs["dense"].shape == (None, 2)
    assert specs["indices"].dtype == "int64" and specs["indices"].shape == (None,)
    assert [s.name for s in sample_model.outputs] == ["prob"]
    assert "dense" in repr(specs["dense"]) and "(None, 2)" in repr(specs["dense"])


def test_table_precision_changes_predictions_within_bound(sample_model_path):
    # u8 tables: predictions within 1e-3 of the f32 model's and not all equal to them; a dtype outside
    # f32/f16/bf16/u8 is refused naming the option.
    rng = np.random.default_rng(4)
    f32 = cagr.Model(str(sample_model_path), plugins="cpu")
    u8 = cagr.Model(str(sample_model_path), plugins="cpu", table_precision="u8")
    tables = 22  # the sample DLRM's
    inputs = {"dense": rng.random((16, 2), dtype=np.float32),
              "indices": rng.integers(0, 5, 16 * tables).astype(np.int64),
              "offsets": np.arange(16 * tables + 1, dtype=np.int64)}
    want, got = f32.run(inputs)["prob"], u8.run(inputs)["prob"]
    assert np.abs(got - want).max() < 1e-3
    assert not np.array_equal(got, want)
    with pytest.raises(Exception, match="table_precision is 'int4'"):
        cagr.Model(str(sample_model_path), plugins="cpu", table_precision="int4")


def test_zoo_model_matches_cagr_run(sample_model, sample_model_path, tmp_path):
    # cagr-run (through python -m cagr.run) makes random inputs and saves them with its outputs.
    subprocess.run(
        [sys.executable, "-m", "cagr.run", f"--model={sample_model_path}", "--plugins=cpu", "--batch=64",
         "--iterations=1", "--warmup=0", "--noprofile", f"--save-inputs={tmp_path}/in.npz",
         f"--save-outputs={tmp_path}/out.npz"],
        check=True, stdout=subprocess.DEVNULL)
    inputs = dict(np.load(tmp_path / "in.npz"))
    want = np.load(tmp_path / "out.npz")["prob"]
    got = sample_model.run(inputs)
    assert list(got) == ["prob"]
    assert got["prob"].dtype == np.float32 and got["prob"].shape == (64, 1)
    np.testing.assert_allclose(got["prob"], want, rtol=1e-6, atol=1e-7)


# PyTorch-exported models (tests/onnx: fixtures in CAGR's input layout, the gallery in PyTorch's
# own) against the outputs PyTorch gave on the same inputs, saved beside them.
PYTORCH_EXPORTS = [
    ("fixtures/dlrm_avazu_dynamo.onnx", "fixtures/dlrm_avazu_dynamo.npz"),
    ("fixtures/deepfm_avazu_torchscript.onnx", "fixtures/deepfm_avazu_torchscript.npz"),
    ("gallery/deepfm_dynamo.onnx", "gallery/deepfm.npz"),
    ("gallery/din_dynamo.onnx", "gallery/din.npz"),
    ("gallery/dcn_v2_torchscript.onnx", "gallery/dcn_v2.npz"),
]


@pytest.mark.parametrize("model_file,data_file", PYTORCH_EXPORTS)
def test_pytorch_export_matches_pytorch(onnx_tests, model_file, data_file):
    model = cagr.Model(str(onnx_tests / model_file), plugins="cpu")
    data = np.load(onnx_tests / data_file)
    inputs = {s.name: data[s.name] for s in model.inputs}
    (output,) = model.outputs
    got = model.run(inputs)[output.name]
    want = data["expected_torch"]
    assert got.shape == want.shape
    relative = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3))
    assert relative <= 1e-5, f"{model_file}: max relative error {relative:.2e} against PyTorch"


def test_arrays_of_every_layout_give_the_same_answer(sample_model, sample_inputs):
    inputs = sample_inputs(8, seed=1)
    want = sample_model.run(inputs)["prob"]
    # A transposed (not C-contiguous) view, read-only arrays, and an object with only __dlpack__.
    transposed = dict(inputs, dense=np.ascontiguousarray(inputs["dense"].T).T)
    assert not transposed["dense"].flags.c_contiguous
    read_only = {k: v.copy() for k, v in inputs.items()}
    for v in read_only.values():
        v.flags.writeable = False

    class DLPackOnly:
        def __init__(self, array):
            self.array = array

        def __dlpack__(self, **kwargs):
            return self.array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    dlpack = {k: DLPackOnly(v) for k, v in inputs.items()}
    for variant in (transposed, read_only, dlpack):
        np.testing.assert_array_equal(sample_model.run(variant)["prob"], want)


def test_torch_cpu_tensors_are_taken(sample_model, sample_inputs):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed here")
    inputs = sample_inputs(8, seed=2)
    got = sample_model.run({k: torch.from_numpy(v) for k, v in inputs.items()})["prob"]
    np.testing.assert_array_equal(got, sample_model.run(inputs)["prob"])


def test_outputs_are_the_callers_own(sample_model, sample_inputs):
    first = sample_model.run(sample_inputs(4, seed=3))["prob"]
    kept = first.copy()
    sample_model.run(sample_inputs(4, seed=4))
    np.testing.assert_array_equal(first, kept)  # the next run did not write into it
    first[:] = 0  # and it is writable


def test_plan_is_saved_and_followed(sample_model_path, sample_inputs, tmp_path):
    model = cagr.Model(str(sample_model_path), plugins="cpu")
    with pytest.raises(cagr.Error, match="has not run yet"):
        model.plan()
    inputs = sample_inputs(16, seed=5)
    want = model.run(inputs)["prob"]
    assert "dlrm_interaction" in model.plan()
    model.save_plan(str(tmp_path / "plan.xml"))
    following = cagr.Model(str(sample_model_path), plugins="cpu", plan=str(tmp_path / "plan.xml"))
    np.testing.assert_array_equal(following.run(inputs)["prob"], want)


def test_stubs_name_what_the_module_has():
    stubs = ast.parse((pathlib.Path(cagr.__file__).parent / "_cagr.pyi").read_text())
    stubbed = {node.name for node in stubs.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    public = {name for name in dir(cagr._cagr) if not name.startswith("_")}
    assert stubbed == public
    for cls in ("Model", "TensorSpec"):
        stub_class = next(n for n in stubs.body if isinstance(n, ast.ClassDef) and n.name == cls)
        members = {n.name for n in stub_class.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("__")}
        assert members == {m for m in dir(getattr(cagr, cls)) if not m.startswith("_")}, cls
