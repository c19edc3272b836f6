"""What the Python tests run on, given by ctest (tests/python/CMakeLists.txt) through the environment:
CAGR_SAMPLE_MODEL (the zoo's DLRM model.xml the build writes) and CAGR_ONNX_TESTS (tests/onnx, with
PyTorch-exported models and their PyTorch outputs); `cagr` itself comes from PYTHONPATH."""

import os
import pathlib

import numpy as np
import pytest

import cagr


def _path_from_env(name: str) -> pathlib.Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through ctest (tests/python/CMakeLists.txt)")
    return pathlib.Path(value)


@pytest.fixture(scope="session")
def sample_model_path() -> pathlib.Path:
    return _path_from_env("CAGR_SAMPLE_MODEL")


@pytest.fixture(scope="session")
def onnx_tests() -> pathlib.Path:
    return _path_from_env("CAGR_ONNX_TESTS")


@pytest.fixture(scope="session")
def sample_model(sample_model_path) -> cagr.Model:
    return cagr.Model(str(sample_model_path), plugins="cpu")


@pytest.fixture(scope="session")
def sample_inputs():
    """Inputs of the zoo's Avazu DLRM, sample_inputs(batch, seed): 2 dense features and one id per
    table (22), ids below 3, which every table has."""

    def make(batch: int, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        tables = 22
        return {
            "dense": rng.random((batch, 2), dtype=np.float32),
            "indices": rng.integers(0, 3, batch * tables, dtype=np.int64),
            "offsets": np.arange(batch * tables + 1, dtype=np.int64),
        }

    return make
