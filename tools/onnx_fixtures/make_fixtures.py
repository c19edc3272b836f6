#!/usr/bin/env python3
"""Writes the ONNX import fixtures of tests/onnx/fixtures: each model exported with both PyTorch
exporters (TorchScript-based dynamo=False and dynamo=True), and an .npz beside each .onnx holding
the inputs (dense, indices, offsets) and the outputs of PyTorch (expected_torch) and onnxruntime
(expected_ort) on them. Deterministic (fixed seeds).

    python3 tools/onnx_fixtures/make_fixtures.py [--out tests/onnx/fixtures]
"""
import argparse
import os

import numpy as np
import onnx
import torch

import recsys_models as R

# Tables capped small so that every fixture stays a few hundred KB.
AVAZU = R.capped(R.AVAZU_ROWS, 200)
KAGGLE_SMALL = R.capped(R.CRITEO_KAGGLE_ROWS, 60)


def models():
    """name -> (factory, n_dense, table rows); the same weights for both exporters."""
    return {
        # cagr-zoo's dlrm_avazu_sample structure: bottom 2-64-16, dim 16, top 269-128-64-1.
        "dlrm_avazu": (lambda: R.Dlrm(R.AVAZU_DENSE, AVAZU, 16, [64], [128, 64]), R.AVAZU_DENSE, AVAZU),
        # Criteo Kaggle's 13 dense and 26 sparse features, small MLPs.
        "dlrm_kaggle_small": (lambda: R.Dlrm(R.CRITEO_DENSE, KAGGLE_SMALL, 16, [32], [32]), R.CRITEO_DENSE, KAGGLE_SMALL),
        "deepfm_avazu": (lambda: R.DeepFm(R.AVAZU_DENSE, AVAZU, 8, [64, 32]), R.AVAZU_DENSE, AVAZU),
        "mean_bags": (lambda: R.MeanBags([11, 7, 5], 4), 1, [11, 7, 5]),
    }


def write_unknown_op(out):
    """A graph with an op CAGR has no counterpart for (Erf), to check the import error."""
    import onnx
    from onnx import TensorProto, helper
    node = helper.make_node("Erf", ["dense"], ["prob"], name="gelu_erf")
    graph = helper.make_graph([node], "unknown_op", [helper.make_tensor_value_info("dense", TensorProto.FLOAT, ["B", 4])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["B", 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "unknown_op.onnx"))


def write_einsums(out):
    """Einsum as models write it, f32, its batch dimension dynamic: a batched matmul, a transpose, a
    sum, a contraction over the middle label, xDeepFM's outer product and an implicit-mode equation
    (each node reads x [B, 3, 4] and y [B, 4, 5] or z [B, 3, 5]); the .npz holds the inputs at
    B = 6 and numpy's einsum of them. Beside it an Einsum with an ellipsis and a 3x3 Conv, which
    CAGR refuses naming what they have."""
    from onnx import TensorProto, helper
    equations = {"batch_matmul": ("bij,bjk->bik", "x", "y"), "transpose": ("bij->bji", "x"), "sum": ("bij->bi", "x"),
                 "contract_i": ("bij,bik->bjk", "x", "z"), "outer": ("bhd,bmd->bhmd", "x", "x"), "implicit": ("bij,bjk", "x", "y")}
    nodes = [helper.make_node("Einsum", list(inputs), [name], name=name, equation=eq) for name, (eq, *inputs) in equations.items()]
    shapes = {"x": ["B", 3, 4], "y": ["B", 4, 5], "z": ["B", 3, 5]}
    graph = helper.make_graph(nodes, "einsums", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in shapes.items()],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in equations])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "einsums.onnx"))
    rng = np.random.default_rng(31)
    inputs = {k: rng.standard_normal([6] + v[1:]).astype(np.float32) for k, v in shapes.items()}
    expected = {"expected_" + name: np.einsum(eq, *(inputs[i] for i in ins)).astype(np.float32) for name, (eq, *ins) in equations.items()}
    np.savez(os.path.join(out, "einsums.npz"), **inputs, **expected)
    refused = {"einsum_ellipsis": helper.make_node("Einsum", ["x", "x"], ["out"], name="ellipsis", equation="...ij,...kj->...ik"),
               "conv_3x3": helper.make_node("Conv", ["x", "w"], ["out"], name="conv3x3", pads=[1, 1, 1, 1])}
    for name, node in refused.items():
        w = [helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 3, 3], [0.5] * 54)] if node.op_type == "Conv" else []
        x = ["B", 3, 4, 4] if node.op_type == "Conv" else ["B", 3, 4]
        graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x)],
                                  [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], initializer=w)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, name + ".onnx"))


def write_unsupported_bag(out):
    """An nn.EmbeddingBag with offsets without the final entry (include_last_offset=False): the
    TorchScript export appends len(indices) inside the graph, which CAGR refuses with an explanation."""

    class Bag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.EmbeddingBag(10, 4, mode="sum")

        def forward(self, indices, offsets):
            return self.table(indices, offsets)

    args = (torch.tensor([1, 2, 3], dtype=torch.int64), torch.tensor([0, 2], dtype=torch.int64))
    path = os.path.join(out, "bag_without_last_offset.onnx")
    torch.onnx.export(Bag(), args, path, dynamo=False, opset_version=17, input_names=["indices", "offsets"],
                      output_names=["pooled"], dynamic_axes={"indices": {0: "L"}, "offsets": {0: "B"}})


def write_embedding_mean(out):
    """Gather + ReduceMean (nn.Embedding, fixed-size bags) with both exporters, and its .npz."""
    torch.manual_seed(7)
    model = R.EmbeddingMean(50, 8).eval()
    ids = torch.from_numpy(np.random.default_rng(7).integers(0, 50, (9, 3)))
    with torch.no_grad():
        expected_torch = model(ids).numpy()
    for exporter, dynamo in (("torchscript", False), ("dynamo", True)):
        path = os.path.join(out, f"embedding_mean_{exporter}.onnx")
        names = dict(input_names=["indices"], output_names=["prob"])
        if dynamo:
            torch.onnx.export(model, (ids[:4],), path, dynamo=True, dynamic_shapes=({0: torch.export.Dim("B", min=2)},),
                              external_data=False, **names)
        else:
            torch.onnx.export(model, (ids[:4],), path, dynamo=False, opset_version=17, dynamic_axes={"indices": {0: "B"}}, **names)
        m = onnx.load(path)
        R.strip_debug_info(m.graph)
        onnx.save(m, path)
        expected_ort, _ = R.run_onnxruntime(path, {"indices": ids.numpy()})
        np.savez(path[:-len(".onnx")] + ".npz", indices=ids.numpy(), expected_torch=expected_torch, expected_ort=expected_ort)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "onnx", "fixtures"))
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    write_unknown_op(out)
    write_unsupported_bag(out)
    write_embedding_mean(out)
    write_einsums(out)
    for seed, (name, (factory, n_dense, rows)) in enumerate(models().items()):
        torch.manual_seed(seed)
        model = factory().eval()
        example = R.random_inputs(n_dense, rows, 4, seed=100 + seed)
        inputs = R.random_inputs(n_dense, rows, 13, seed=200 + seed)  # another batch size than the export's
        expected_torch = R.run_pytorch(model, inputs)
        for exporter, dynamo in (("torchscript", False), ("dynamo", True)):
            path = os.path.join(out, f"{name}_{exporter}.onnx")
            # The dynamo DLRM keeps its weights in an external .onnx.data file.
            external = dynamo and name == "dlrm_avazu"
            R.export(model, example, path, dynamo=dynamo, external_data=external)
            expected_ort, _ = R.run_onnxruntime(path, inputs)
            gap = float(np.max(np.abs(expected_ort - expected_torch)))
            assert gap < 1e-5, f"{path}: onnxruntime and PyTorch differ by {gap}"
            np.savez(path[:-len(".onnx")] + ".npz", expected_torch=expected_torch, expected_ort=expected_ort, **inputs)
            print(f"{path}: {os.path.getsize(path)} bytes, |ort - torch| = {gap:.2e}")


if __name__ == "__main__":
    main()
