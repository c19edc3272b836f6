"""Runs a CAGR model (model.xml + model.bin) with PyTorch eager ops: the baseline for benchmarks.

Each op of abi/OPS.md maps to the PyTorch call a PyTorch user would write (nn.functional.linear,
embedding_bag, bmm for the interaction ...), on the same weights, so CAGR and PyTorch are timed on
the same model. Usable on CPU and CUDA:

    from torch_model import TorchModel
    m = TorchModel("model.xml", device="cuda")
    batch = m.prepare(inputs)    # inputs: dict name -> numpy array, as CAGR takes them
    outputs = m(batch)

prepare() does what a PyTorch data loader for DLRM does before the model runs: it splits the
embedding_bag layout (all tables' indices in one array) into one (indices, offsets) pair per table,
the form nn.EmbeddingBag takes, and moves everything to the device. The forward pass then never
waits for the device.
"""
import os
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"f32": (np.float32, torch.float32), "f16": (np.float16, torch.float16), "i32": (np.int32, torch.int32),
          "i64": (np.int64, torch.int64), "i8": (np.int8, torch.int8), "u8": (np.uint8, torch.uint8)}


def _attr(e):
    for kind in ("int", "float", "string", "ints", "floats"):
        v = e.get(kind)
        if v is None:
            continue
        if kind == "int":
            return int(v)
        if kind == "float":
            return float(v)
        if kind == "string":
            return v
        return [int(x) if kind == "ints" else float(x) for x in v.split(",")]
    raise ValueError(f"attribute {e.get('name')} has no value")


class TorchModel:
    def __init__(self, xml_path, device="cpu", allow_tf32=False, bf16_linears=False):
        """bf16_linears: linears run in bf16 (weights converted once, as a user casting the MLPs with
        .to(torch.bfloat16) would), and a linear's output stays bf16 where only linears read it, so
        chains of linears pass bf16 activations (CAGR's mlp op with allow_bf16=1 does the same)."""
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        torch.backends.cudnn.allow_tf32 = allow_tf32
        root = ET.parse(xml_path).getroot()
        self.device = torch.device(device)
        self.inputs = [e.get("name") for e in root.findall("input")]
        self.outputs = [e.get("name") for e in root.findall("output")]
        weights_path = os.path.join(os.path.dirname(xml_path), root.get("weights", "model.bin"))
        blob = np.memmap(weights_path, dtype=np.uint8, mode="r") if root.find("constant") is not None else None
        self.constants = {}
        for e in root.findall("constant"):
            np_dtype, _ = DTYPES[e.get("dtype")]
            shape = [int(d) for d in e.get("shape").split(",")] if e.get("shape") != "scalar" else []
            count = int(np.prod(shape)) if shape else 1
            offset = int(e.get("offset"))
            array = np.frombuffer(blob, dtype=np_dtype, count=count, offset=offset).reshape(shape)
            self.constants[e.get("name")] = torch.from_numpy(array.copy()).to(self.device)
        self.nodes = []
        for e in root.findall("node"):
            attrs = {a.get("name"): _attr(a) for a in e.findall("attr")}
            self.nodes.append((e.get("op"), e.get("inputs").split(","), e.get("outputs").split(","), attrs))
        # DLRM's interaction: the strict lower triangle of the feature Gram matrix, row by row.
        self._tril = {}
        self.bf16 = {}  # linear's weight and bias name -> its bf16 copy
        self.bf16_out = set()  # linear outputs read only by linears (as X): kept in bf16
        if bf16_linears:
            readers = {}
            for op, ins, _, _ in self.nodes:
                for i, n in enumerate(ins):
                    readers.setdefault(n, []).append(op == "linear" and i == 0)
            for op, ins, outs, _ in self.nodes:
                if op != "linear" or not all(n in self.constants for n in ins[1:]):
                    continue
                for n in ins[1:]:
                    self.bf16[n] = self.constants[n].to(torch.bfloat16)
                if outs[0] not in self.outputs and readers.get(outs[0]) and all(readers[outs[0]]):
                    self.bf16_out.add(outs[0])

    def _pairs(self, f, self_interaction, device):
        key = (f, self_interaction)
        if key not in self._tril:
            li, lj = [], []
            for i in range(f):
                for j in range(i + 1 if self_interaction else i):
                    li.append(i)
                    lj.append(j)
            self._tril[key] = (torch.tensor(li, device=device), torch.tensor(lj, device=device))
        return self._tril[key]

    def prepare(self, inputs):
        """Model inputs (numpy, CAGR's layout) as device tensors, embedding bags split per table."""
        batch = {name: torch.from_numpy(np.ascontiguousarray(inputs[name])).to(self.device) for name in self.inputs}
        for op, ins, _, _ in self.nodes:
            if op != "embedding_bag":
                continue
            indices, offsets = np.asarray(inputs[ins[0]]), np.asarray(inputs[ins[1]])
            tables = len(ins) - 2
            b = (len(offsets) - 1) // tables
            per_table = []
            for t in range(tables):
                start, end = int(offsets[t * b]), int(offsets[(t + 1) * b])
                per_table.append((torch.from_numpy(indices[start:end]).to(self.device),
                                  torch.from_numpy(offsets[t * b:(t + 1) * b] - start).to(self.device)))
            batch[("bags", ins[0], ins[1])] = per_table
        return batch

    @torch.no_grad()
    def __call__(self, batch):
        values = dict(self.constants)
        values.update({name: batch[name] for name in self.inputs})
        for op, ins, outs, attrs in self.nodes:
            x = [values[n] for n in ins]
            if op == "linear" and ins[1] in self.bf16:
                w = [self.bf16[n] for n in ins[1:]]
                y = F.linear(x[0].to(torch.bfloat16), w[0], w[1] if len(w) > 1 else None)
                act = attrs.get("activation", "none")
                y = torch.relu(y) if act == "relu" else torch.sigmoid(y) if act == "sigmoid" else y
                result = [y if outs[0] in self.bf16_out else y.float()]
            elif op == "linear":
                y = F.linear(x[0], x[1], x[2] if len(x) > 2 else None)
                act = attrs.get("activation", "none")
                y = torch.relu(y) if act == "relu" else torch.sigmoid(y) if act == "sigmoid" else y
                result = [y]
            elif op == "embedding_bag":
                bags = batch[("bags", ins[0], ins[1])]
                pooled = [F.embedding_bag(i, table, o, mode=attrs.get("mode", "sum")) for (i, o), table in zip(bags, x[2:])]
                result = [torch.stack(pooled, dim=1)]
            elif op == "relu":
                result = [torch.relu(x[0])]
            elif op == "sigmoid":
                result = [torch.sigmoid(x[0])]
            elif op == "add":
                result = [x[0] + x[1]]
            elif op == "mul":
                result = [x[0] * x[1]]
            elif op == "concat":
                result = [torch.cat(x, dim=attrs.get("axis", 1))]
            elif op == "reshape":
                shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(attrs["shape"])]
                result = [x[0].reshape(shape)]
            elif op == "dot_interaction":
                z = torch.bmm(x[0], x[0].transpose(1, 2))
                li, lj = self._pairs(x[0].shape[1], attrs.get("self_interaction", 0) != 0, z.device)
                result = [z[:, li, lj]]
            elif op == "fm_interaction":
                s = x[0].sum(dim=1)
                result = [0.5 * (s * s - (x[0] * x[0]).sum(dim=1)).sum(dim=1, keepdim=True)]
            elif op == "reduce_sum":
                result = [x[0].sum(dim=attrs["axes"], keepdim=attrs.get("keepdims", 1) != 0)]
            elif op == "top_k":
                v, i = torch.topk(x[0], attrs["k"], dim=1)
                result = [v, i.to(torch.int64)]
            elif op == "gather":
                result = [x[0][x[1].long()]]
            else:
                raise ValueError(f"op {op} has no PyTorch mapping")
            for n, r in zip(outs, result):
                values[n] = r
        return {n: values[n] for n in self.outputs}
