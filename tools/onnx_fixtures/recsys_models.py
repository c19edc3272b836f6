"""PyTorch definitions of the recommendation models CAGR imports from ONNX, and their export.

Every model takes CAGR's input layout (see abi/OPS.md, embedding_bag):
  dense   [B, n_dense] float32
  indices [L] int64        the ids of table 0 for the whole batch, then table 1, ...
  offsets [T*B + 1] int64  bag b of table t is indices[offsets[t*B + b] : offsets[t*B + b + 1]]
Each table is an nn.EmbeddingBag fed its own slice of that layout, so the exported graph shows one
bag per table that the importer merges back into one embedding_bag.
"""
import os

import numpy as np
import torch
from torch import nn

AVAZU_ROWS = [25, 8, 8, 4738, 7746, 27, 8553, 560, 37, 2686409, 6729487, 8252, 6, 5, 2627, 9, 10, 436, 5, 69, 173, 61]
AVAZU_DENSE = 2
CRITEO_KAGGLE_ROWS = [1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992,
                      5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572]
CRITEO_DENSE = 13


def capped(rows, cap):
    return [min(r, cap) for r in rows]


class TableBags(nn.Module):
    """One nn.EmbeddingBag per table, each reading table t's part of (indices, offsets)."""

    def __init__(self, rows, dim, mode="sum"):
        super().__init__()
        self.tables = nn.ModuleList(nn.EmbeddingBag(r, dim, mode=mode, include_last_offset=True) for r in rows)
        for t, r in zip(self.tables, rows):  # DLRM's initialisation
            nn.init.uniform_(t.weight, -(1.0 / r) ** 0.5, (1.0 / r) ** 0.5)

    def forward(self, batch, indices, offsets):
        """A list of [B, dim] pooled bags, one per table."""
        out = []
        for t, table in enumerate(self.tables):
            o = offsets[t * batch:(t + 1) * batch + 1]
            out.append(table(indices[o[0]:o[-1]], o - o[0]))
        return out


def mlp(sizes, last_relu):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Dlrm(nn.Module):
    """DLRM (Naumov et al. 2019) as cagr-zoo builds it: bottom MLP, sum-pooled bags, pairwise dots
    (strict lower triangle), top MLP ending in a sigmoid."""

    def __init__(self, n_dense, rows, dim, bottom, top):
        super().__init__()
        self.bottom = mlp([n_dense] + bottom + [dim], last_relu=True)
        self.bags = TableBags(rows, dim)
        f = len(rows) + 1
        li, lj = torch.tril_indices(f, f, offset=-1)
        self.register_buffer("li", li, persistent=False)
        self.register_buffer("lj", lj, persistent=False)
        self.top = mlp([dim + f * (f - 1) // 2] + top + [1], last_relu=False)

    def forward(self, dense, indices, offsets):
        x = self.bottom(dense)
        ly = self.bags(dense.shape[0], indices, offsets)
        features = torch.cat([x.unsqueeze(1), torch.stack(ly, 1)], 1)
        z = torch.bmm(features, torch.transpose(features, 1, 2))
        zflat = z[:, self.li, self.lj]
        return torch.sigmoid(self.top(torch.cat([x, zflat], 1)))


class DeepFm(nn.Module):
    """DeepFM (Guo et al. 2017): first-order weights per id, the FM second-order term over the field
    embeddings, and a deep MLP over the embeddings and the dense features, summed into a sigmoid."""

    def __init__(self, n_dense, rows, dim, hidden):
        super().__init__()
        self.first_order = TableBags(rows, 1)
        self.embeddings = TableBags(rows, dim)
        self.bias = nn.Parameter(torch.zeros(1))
        self.deep = mlp([len(rows) * dim + n_dense] + hidden + [1], last_relu=False)

    def forward(self, dense, indices, offsets):
        batch = dense.shape[0]
        first = torch.cat(self.first_order(batch, indices, offsets), 1).sum(1, keepdim=True) + self.bias
        e = torch.stack(self.embeddings(batch, indices, offsets), 1)          # [B, F, D]
        square_of_sum = e.sum(1) * e.sum(1)
        sum_of_square = (e * e).sum(1)
        fm = 0.5 * (square_of_sum - sum_of_square).sum(1, keepdim=True)
        deep = self.deep(torch.cat([torch.flatten(e, 1), dense], 1))
        return torch.sigmoid(first + fm + deep)


class MeanBags(nn.Module):
    """Mean-pooled bags alone, flattened to [B, T*dim]: the mode="mean" form of both exporters."""

    def __init__(self, rows, dim):
        super().__init__()
        self.bags = TableBags(rows, dim, mode="mean")

    def forward(self, dense, indices, offsets):
        return torch.flatten(torch.stack(self.bags(dense.shape[0], indices, offsets), 1), 1)


class EmbeddingMean(nn.Module):
    """nn.Embedding looked up with fixed-size [B, P] ids and averaged, then a logistic layer: both
    exporters emit Gather + ReduceMean (no loop). Its only input is `indices` [B, P]."""

    def __init__(self, rows, dim):
        super().__init__()
        self.table = nn.Embedding(rows, dim)
        self.out = nn.Linear(dim, 1)

    def forward(self, indices):
        return torch.sigmoid(self.out(self.table(indices).mean(1)))


def random_inputs(n_dense, rows, batch, seed, min_pooling=0, max_pooling=2):
    """CAGR-layout inputs: min_pooling..max_pooling uniform ids per bag (0: empty bags too)."""
    rng = np.random.default_rng(seed)
    dense = rng.random((batch, n_dense), dtype=np.float32)
    indices, offsets = [], [0]
    for r in rows:
        lengths = rng.integers(min_pooling, max_pooling + 1, batch)
        indices.extend(rng.integers(0, r, int(lengths.sum())).tolist())
        offsets.extend((offsets[-1] + np.cumsum(lengths)).tolist())
    return {"dense": dense, "indices": np.array(indices, dtype=np.int64), "offsets": np.array(offsets, dtype=np.int64)}


def strip_debug_info(graph):
    """Drops what only helps debugging (per-node stack traces, doc strings, intermediate shapes):
    the dynamo exporter's are most of the file."""
    import onnx
    for node in graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                strip_debug_info(a.g)
    del graph.value_info[:]


def export(model, inputs, path, dynamo, external_data=False):
    """Writes `model` to `path` with dynamic batch and index count; with `external_data` the weights
    go to `path`.data."""
    import onnx
    args = tuple(torch.from_numpy(inputs[k]) for k in ("dense", "indices", "offsets"))
    names = dict(input_names=["dense", "indices", "offsets"], output_names=["prob"])
    if dynamo:
        batch, ids = torch.export.Dim("B", min=2), torch.export.Dim("L", min=2)
        tables = (inputs["offsets"].shape[0] - 1) // inputs["dense"].shape[0]
        shapes = ({0: batch}, {0: ids}, {0: tables * batch + 1})
        torch.onnx.export(model, args, path, dynamo=True, dynamic_shapes=shapes, external_data=False, **names)
    else:
        axes = {"dense": {0: "B"}, "indices": {0: "L"}, "offsets": {0: "O"}}
        torch.onnx.export(model, args, path, dynamo=False, opset_version=17, dynamic_axes=axes, **names)
    m = onnx.load(path)
    strip_debug_info(m.graph)
    if external_data:
        onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=os.path.basename(path) + ".data", size_threshold=1024)
    else:
        onnx.save(m, path)


def run_pytorch(model, inputs):
    with torch.no_grad():
        return model(*(torch.from_numpy(inputs[k]) for k in ("dense", "indices", "offsets"))).numpy()


def run_onnxruntime(path, inputs, threads=1):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0], session
