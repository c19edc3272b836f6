"""serving/cagr_serve_app.py without Ray running: a batch of samples concatenated into one Model.run
gives each sample its serial outputs, and a bad sample in a batch gets its own error while the
others are answered; serving/load_test.py's checker reports every wrong or missing answer. (The
app on Ray Serve itself: ctest serving.ray_two_replicas.)"""

import asyncio
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("ray.serve", reason="ray[serve] is not installed (tools/install-deps.sh installs it)")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "serving"))
import cagr_serve_app as app  # noqa: E402
import load_test  # noqa: E402

import cagr  # noqa: E402


@pytest.fixture(scope="module")
def replica(sample_model_path):
    """The deployment's class as a plain object: one replica's model and its batch function."""
    return app.CagrModel(str(sample_model_path), "cpu")


def test_batch_matches_serial_runs(replica, sample_model):
    samples = load_test.make_samples(9, tables=22, id_range=3, max_bag=3, dense_width=2, seed=5)
    expected = load_test.serial_outputs(sample_model, samples)
    got = replica._run(samples)
    assert len(got) == len(samples)
    for g, e in zip(got, expected):
        assert load_test.difference(g, e) <= load_test.TOLERANCE
    # Bags of different lengths are where a wrong layout (sample-major) shows.
    assert len({len(b) for s in samples for b in s.bags}) > 1


def test_bad_sample_gets_its_own_error(replica, sample_model):
    good = load_test.make_samples(3, tables=22, id_range=3, max_bag=2, dense_width=2, seed=6)
    out_of_range = app.Sample(good[0].dense, [np.array([10**6], np.int64)] * 22)
    too_few_bags = app.Sample(good[0].dense, good[0].bags[:3])
    got = replica._run([good[0], out_of_range, good[1], too_few_bags, good[2]])
    assert isinstance(got[1], cagr.Error) and "out of range" in str(got[1])
    assert isinstance(got[3], cagr.Error) and "22 tables" in str(got[3])
    for g, e in zip((got[0], got[2], got[4]), load_test.serial_outputs(sample_model, good)):
        assert load_test.difference(g, e) <= load_test.TOLERANCE


@pytest.mark.parametrize("dense, bags, message", [
    ([0.5, 0.25], [], "non-empty list"),
    ([[0.5, 0.25]], [[1]], "one row"),
    (["a", 1.0], [[1]], "must be numbers"),
    ([0.5, 0.25], [[[1]]], "flat list"),
])
def test_make_sample_refuses_bad_requests(dense, bags, message):
    with pytest.raises(ValueError, match=message):
        app.make_sample(dense, bags)


def test_model_with_other_inputs_is_refused(onnx_tests):
    model = onnx_tests / "fixtures" / "embedding_mean_torchscript.onnx"  # one input, 'indices'
    with pytest.raises(ValueError, match="this app serves models with inputs"):
        app.CagrModel(str(model), "cpu")


def test_load_test_counts_every_wrong_or_missing_answer(replica, sample_model):
    """load_test's checker on a client that answers with the replica's outputs, but for one request
    a sample's neighbour's, one NaN, and one error: exactly those three are reported."""
    samples = load_test.make_samples(4, tables=22, id_range=3, max_bag=3, dense_width=2, seed=7)
    expected = load_test.serial_outputs(sample_model, samples)

    class Client:
        calls = 0

        async def send(self, s):
            i, Client.calls = Client.calls, Client.calls + 1
            out = replica._run([samples[(i + 1) % 4] if i == 2 else s])[0]
            if i == 5:
                out = {name: np.full_like(a, np.nan) for name, a in out.items()}
            if i == 7:
                raise RuntimeError("HTTP 500")
            return out

    r = asyncio.run(load_test.load(Client(), samples, expected, rate=2000, requests=10, seed=1))
    assert len(r["answered"]) == 9
    assert sorted(e.split(" ")[1].rstrip(":") for e in r["errors"]) == ["2", "5", "7"]
