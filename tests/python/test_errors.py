"""Bad input from Python is a cagr.Error (a RuntimeError) that says what is wrong, never a crash."""

import numpy as np
import pytest

import cagr


def test_error_is_a_runtime_error():
    assert issubclass(cagr.Error, RuntimeError)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda x: x.update(dense=x["dense"].astype(np.float64)), r"input 'dense': dtype float64 is not one CAGR takes"),
        (lambda x: x.update(indices=x["indices"].astype(np.int32)), r"input 'indices': dtype i32 given, model takes i64"),
        (lambda x: x.pop("offsets"), r"input 'offsets' not given"),
        (lambda x: x.update(extra=np.zeros(1, np.float32)), r"model has no input named 'extra'"),
        (lambda x: x["indices"].__setitem__(5, 10**9), r"index 1000000000 at position 5 is out of range"),
        (lambda x: x.update(dense=[[0.5, 0.25]] * 4), r"input 'dense': expected an array .* got list"),
        (lambda x: x.update({1: x["dense"]}), r"inputs are named by strings"),
        (lambda x: x.update(dense=np.zeros((4, 3), np.float32)), r"input 'dense': shape \[4,3\] given, model declares \[\?,2\]"),
    ],
    ids=["float64", "int32 ids", "missing", "unknown name", "id out of range", "list", "key not a string", "wrong shape"],
)
def test_bad_inputs_raise_with_the_reason(sample_model, sample_inputs, change, message):
    inputs = sample_inputs(4, seed=0)
    change(inputs)
    with pytest.raises(cagr.Error, match=message):
        sample_model.run(inputs)
    # and the model still runs
    assert sample_model.run(sample_inputs(4, seed=0))["prob"].shape == (4, 1)


def test_malformed_model_file(tmp_path):
    bad = tmp_path / "model.xml"
    bad.write_text("<model><node op='linear'")
    with pytest.raises(cagr.Error, match="model.xml"):
        cagr.Model(str(bad), plugins="cpu")
    with pytest.raises(cagr.Error, match="/nonexistent/model.onnx"):
        cagr.Model("/nonexistent/model.onnx", plugins="cpu")


def test_bad_settings(sample_model_path, tmp_path):
    with pytest.raises(cagr.Error, match="fastest"):
        cagr.Model(str(sample_model_path), plugins="cpu", optimizer="fastest")
    with pytest.raises(cagr.Error, match="nope.xml"):
        cagr.Model(str(sample_model_path), plugins="cpu", plan=str(tmp_path / "nope.xml"))
    with pytest.raises(cagr.Error, match="/nonexistent/plugins"):
        cagr.Model(str(sample_model_path), plugins="/nonexistent/plugins")
