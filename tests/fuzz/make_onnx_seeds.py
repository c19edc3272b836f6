#!/usr/bin/env python3
"""Writes fuzz_onnx's small seeds (tests/fuzz/corpus/onnx/small_*.onnx): the graphs of the recsys
fixtures in tests/onnx/fixtures (tools/onnx_fixtures/make_fixtures.py), both exporters, with 3 or 4
tables instead of 22 or 26, each of 3 rows, embeddings of 2 and MLP layers of 4. Why: each table is
its own bag (a Loop in the TorchScript export, ~35 nodes in the dynamo one), so the fixtures are
700-1000 nodes that the importer's matchers scan for every bag: one execution took 0.1-0.4 s under
ASan. A few tables keep every kind of node, loop and attribute (and the merging of several bags into
one) in a small file, so the fuzzer mutates structure cheaply. The fixtures stay seeds. Deterministic.

    python3 tests/fuzz/make_onnx_seeds.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "onnx_fixtures"))
import recsys_models as R  # noqa: E402

OUT = os.path.join(HERE, "corpus", "onnx")
AVAZU = [3] * 3
KAGGLE = [3] * 4

# The fixtures' models (make_fixtures.py's models()) with the same layer counts, smaller sizes.
MODELS = {
    "dlrm_avazu": (lambda: R.Dlrm(R.AVAZU_DENSE, AVAZU, 2, [4], [4, 4]), R.AVAZU_DENSE, AVAZU),
    "dlrm_kaggle": (lambda: R.Dlrm(R.CRITEO_DENSE, KAGGLE, 2, [4], [4]), R.CRITEO_DENSE, KAGGLE),
    "deepfm_avazu": (lambda: R.DeepFm(R.AVAZU_DENSE, AVAZU, 2, [4, 4]), R.AVAZU_DENSE, AVAZU),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for seed, (name, (factory, n_dense, rows)) in enumerate(MODELS.items()):
        torch.manual_seed(seed)
        model = factory().eval()
        example = R.random_inputs(n_dense, rows, 4, seed=100 + seed)
        for exporter, dynamo in (("torchscript", False), ("dynamo", True)):
            path = os.path.join(OUT, f"small_{name}_{exporter}.onnx")
            R.export(model, example, path, dynamo=dynamo)
            print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
