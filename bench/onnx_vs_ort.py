#!/usr/bin/env python3
"""CAGR's CPU plugin against onnxruntime's CPU provider on the same ONNX files.

Two sets of models (--models):

dlrm_kaggle (the default): the DLRM Criteo-Kaggle configuration (13 dense features, 26 tables of
dim 16 capped at --max-rows rows, bottom MLP 13-512-256-64-16, top MLP 367-512-256-1) written in
CAGR's input layout (recsys_models.py, one nn.EmbeddingBag per table), exported with both exporters
(TorchScript-based and dynamo) into --workdir; for each file and batch size it loads it into
  - onnxruntime (CPUExecutionProvider, all graph optimisations, intra-op threads = --threads), and
  - CAGR (the CPU plugin only, OMP_NUM_THREADS = --threads),
checks that their outputs agree to 1e-5 relative on the same inputs (one id per table and sample,
as in Criteo), and times them in alternating blocks (--rounds of each) so that both see the same
load on a shared machine; prints median latencies and the ratio onnxruntime / CAGR.

gallery: the models of tools/onnx_fixtures/gallery.py (imported, not copied), written the way their
papers' PyTorch code writes them (ids [B, fields] looked up with one nn.Embedding per field, ...),
at benchmark sizes instead of the gallery's tiny tables:
  dlrm_embedding  the cagr-zoo dlrm_kaggle_small configuration: 13 dense, 26 Criteo Kaggle tables
                  capped at 100,000 rows (840,543 rows), dim 16, MLPs 13-512-256-64-16 and
                  367-512-256-1; inputs dense [B, 13], ids [B, 26]
  deepfm          26 fields (the same table sizes), dim 16, deep MLP 416-400-400-1; ids [B, 26]
  wide_deep       13 dense + 26 fields (same sizes), dim 16, deep MLP 429-1024-512-256-1
  dcn_v2          13 dense + 26 fields (same sizes), dim 16, 2 full-rank cross layers of width 429,
                  deep MLP 429-512-256
  din             100,000 items of dim 16, history of 20 (1-20 ids, zero-padded), attention MLP
                  64-80-1, 4 dense, MLP 36-200-80-1
  (dlrm_bag2d, dlrm_weighted and two_tower with --only: at the same sizes as dlrm_embedding / 100,000 items;
   bag_pooling and bag_padding with --only, dynamo exports only: nn.EmbeddingBag with mode max,
   per_sample_weights and padding_idx at the gallery's own sizes)
Weights are drawn by gallery.init_weights (DeepFM's embeddings with std 0.1, see INIT_WEIGHTS), inline
in the .onnx files (all under 2 GB). Every model is exported with both exporters (gallery.export) and
cached in --workdir/gallery (file names carry a digest of the configuration). For each batch size and
model, on the same inputs (ids uniform over each table), it times in interleaved blocks, --rounds
rounds, the order rotating each round: onnxruntime on each file, CAGR on each file, and for
dlrm_embedding CAGR on cagr-zoo's own dlrm_kaggle_small (written with `cagr-zoo
--model=dlrm_kaggle_small`, other weights, same shapes) fed the same ids in its layout: dense
[B, 13], indices = ids transposed table-major [26 B], offsets 0..26 B (one id per bag). CAGR's and
onnxruntime's outputs on each file must agree to 1e-5 relative (max |a - b| / max(|b|, 1e-3)).
Prints a markdown table: medians over the rounds of each block's p50, the range over rounds of the
ratios taken within a round (onnxruntime / CAGR; user model / zoo), and the share of the CPUs that
other processes used during the kept rounds (min-max); with --quiet X each round first waits (up to
--max-wait s) for a second in which other processes used under X of the CPUs, and a round during
which they used more is discarded and repeated (the table counts them). Failures to export or
import are rows of the table (and a non-zero exit), as are output mismatches.

CAGR is driven through its C API (libcagr.so, --libcagr) with ctypes, in this process; where that
library is missing, through `cagr-run` (--cagr-run) in a child process per block, fed an .npz of the
same inputs (its latencies are the C++ executor's, without Python's call overhead, which the
onnxruntime times include: a few us per run).

    python3 bench/onnx_vs_ort.py --libcagr build/core/libcagr.so \\
        --plugin build/plugins/libcagr_cpu.so [--threads 2] [--batches 64,2048]
    python3 bench/onnx_vs_ort.py --models gallery --libcagr build/core/libcagr.so \\
        --plugin build/plugins/libcagr_cpu.so --zoo build/tools/model_zoo/cagr-zoo \\
        [--cagr-run build/tools/cagr-run/cagr-run] [--rounds 11 --seconds 0.25 --quiet 0.1]
"""
import argparse
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "onnx_fixtures"))
import recsys_models as R  # noqa: E402

EXPORTERS = ("torchscript", "dynamo")
TOLERANCE = 1e-5
ZOO_MODEL = "dlrm_kaggle_small"
ZOO_MAX_ROWS = 100000  # cagr-zoo's dlrm_kaggle_small caps its tables here (tools/model_zoo/model_zoo.cpp)


def log(message):
    print(message, file=sys.stderr, flush=True)


def export_models(workdir, max_rows):
    rows = R.capped(R.CRITEO_KAGGLE_ROWS, max_rows)
    paths = {name: os.path.join(workdir, f"dlrm_kaggle_{max_rows}_{name}.onnx") for name in EXPORTERS}
    if all(os.path.exists(p) for p in paths.values()):
        return rows, paths
    torch.manual_seed(0)
    model = R.Dlrm(R.CRITEO_DENSE, rows, 16, [512, 256, 64], [512, 256]).eval()
    example = R.random_inputs(R.CRITEO_DENSE, rows, 4, seed=1)
    for name, path in paths.items():
        t0 = time.time()
        R.export(model, example, path, dynamo=(name == "dynamo"), external_data=True)
        log(f"exported {path} in {time.time() - t0:.0f} s")
    return rows, paths


class CagrSession:
    """A CAGR model and session through the C API (core/cagr.h) with ctypes."""

    class Tensor(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("name", ctypes.c_char_p), ("dtype", ctypes.c_int32),
                    ("rank", ctypes.c_int32), ("dims", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p)]

    class RuntimeOptions(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("plugins", ctypes.c_char_p), ("manifest", ctypes.c_char_p),
                    ("probe_in_child", ctypes.c_int)]

    class SessionOptions(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("example_inputs", ctypes.c_void_p),
                    ("num_example_inputs", ctypes.c_size_t), ("profile", ctypes.c_int)]

    DTYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 5}

    def __init__(self, lib, plugin, model_path, manifest=None):
        self.lib = lib
        lib.cagr_last_error.restype = ctypes.c_char_p
        lib.cagr_model_input_count.restype = ctypes.c_size_t
        lib.cagr_model_input_name.restype = ctypes.c_char_p
        lib.cagr_model_input_name.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.cagr_model_input_count.argtypes = [ctypes.c_void_p]
        self.runtime, self.model, self.session = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        options = self.RuntimeOptions(ctypes.sizeof(self.RuntimeOptions), plugin.encode(),
                                      manifest.encode() if manifest else None, 0)
        self.check(lib.cagr_runtime_create(ctypes.byref(options), ctypes.byref(self.runtime)))
        self.check(lib.cagr_model_load(self.runtime, model_path.encode(), ctypes.byref(self.model)))
        self.input_names = [lib.cagr_model_input_name(self.model, i).decode()
                            for i in range(lib.cagr_model_input_count(self.model))]
        session_options = self.SessionOptions(ctypes.sizeof(self.SessionOptions), None, 0, 0)
        self.check(lib.cagr_session_create(self.model, ctypes.byref(session_options), ctypes.byref(self.session)))

    def check(self, status):
        if status != 0:
            raise RuntimeError(f"CAGR: {self.lib.cagr_last_error().decode()}")

    def bind(self, inputs):
        """Tensors for `inputs` (name -> array; those the model does not read are left out); the
        arrays must outlive the runs."""
        self.arrays = {k: np.ascontiguousarray(v) for k, v in inputs.items() if k in self.input_names}
        self.dims = {k: (ctypes.c_int64 * v.ndim)(*v.shape) for k, v in self.arrays.items()}
        self.tensors = (self.Tensor * len(self.arrays))(*[
            self.Tensor(ctypes.sizeof(self.Tensor), k.encode(), self.DTYPES[v.dtype], v.ndim, self.dims[k], v.ctypes.data)
            for k, v in self.arrays.items()])

    def run(self):
        self.check(self.lib.cagr_session_run(self.session, len(self.arrays), self.tensors))

    def output(self, name):
        out = self.Tensor()
        out.struct_size = ctypes.sizeof(self.Tensor)
        self.check(self.lib.cagr_session_output(self.session, name.encode(), ctypes.byref(out)))
        shape = [out.dims[i] for i in range(out.rank)]
        return np.ctypeslib.as_array(ctypes.cast(out.data, ctypes.POINTER(ctypes.c_float)), shape=shape).copy()

    def close(self):
        self.lib.cagr_session_destroy(self.session)
        self.lib.cagr_model_destroy(self.model)
        self.lib.cagr_runtime_destroy(self.runtime)


def timed_block(run, seconds, min_runs):
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def relative_error(got, want):
    """max |got - want| / max(|want|, 1e-3), as tests/onnx and gallery.py measure it."""
    if got.shape != want.shape:
        return float("inf")
    return float(np.max(np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), 1e-3)))


# ---------------------------------------------------------------------------------------------------
# Runners for the gallery mode: each times one block and returns its p50 in seconds.


class InProcessRunner:
    """A callable timed in this process (onnxruntime, or CAGR through ctypes)."""

    WARMUP = 2  # runs at the start of each block left out of its p50 (the other runtime's threads settle)

    def __init__(self, run, close=None):
        self.run, self.close_fn = run, close

    def block(self, seconds, min_runs):
        times = timed_block(self.run, seconds, min_runs + self.WARMUP)[self.WARMUP:]
        return float(np.median(times))

    def close(self):
        if self.close_fn:
            self.close_fn()


class CagrRunRunner:
    """CAGR through `cagr-run` in a child process per block: --iterations sized from the last p50 so
    that a block runs about `seconds` (plus the model's load, not timed)."""

    def __init__(self, exe, plugin, model, npz, threads, output=None, save=None, manifest=None):
        self.base = [exe, f"--model={model}", f"--inputs={npz}", f"--plugins={plugin}", "--probe=false",
                     "--profile=false", "--report=json", "--warmup=3"] + ([f"--plugin-manifest={manifest}"] if manifest else [])
        self.env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.estimate = None
        result = self.call(["--iterations=3"] + ([f"--save-outputs={save}"] if save else []))
        self.estimate = result["latency_us"]["p50"] * 1e-6
        self.first_output = None
        if save:
            with np.load(save) as z:
                self.first_output = z[output]

    def call(self, extra):
        p = subprocess.run(self.base + extra, env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            message = (p.stderr.strip() or p.stdout.strip()).splitlines()
            raise RuntimeError(message[-1] if message else f"cagr-run exited with {p.returncode}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def block(self, seconds, min_runs):
        iterations = max(min_runs, int(seconds / max(self.estimate, 1e-6)))
        p50 = self.call([f"--iterations={iterations}"])["latency_us"]["p50"] * 1e-6
        self.estimate = p50
        return p50

    def profile(self, batch_iterations=20):
        """(op, node, p50 us) of every node from a profiled pass."""
        result = self.call([f"--iterations={batch_iterations}", "--profile=true"])
        return [(n["op"], n["node"], n["p50_us"]) for n in result["nodes"]]

    def close(self):
        pass


def onnxruntime_call_floor(workdir, threads, batch, seconds=1.0):
    """onnxruntime's time per session.run from Python for a model that does nothing (Identity on a
    [batch, 13] f32 input): the part of its times that is call overhead, not the model."""
    import onnx
    from onnx import TensorProto, helper
    path = os.path.join(workdir, "identity.onnx")
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 13])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 13])])
    # IR version 8 (opset 17's): a newer onnx package writes its own newest by default, which an
    # older onnxruntime refuses ("Unsupported model IR version").
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    session = onnxruntime_session(path, threads)
    x = {"x": np.zeros((batch, 13), np.float32)}
    return float(np.median(timed_block(lambda: session.run(None, x), seconds, 100)))


def onnxruntime_session(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------------
# The gallery at benchmark sizes


def gallery_models():
    """name -> (factory, inputs(rng, batch), output name, {input: batch axis}, description); the
    classes and input helpers are gallery.py's."""
    import gallery as G
    rows = R.capped(R.CRITEO_KAGGLE_ROWS, ZOO_MAX_ROWS)
    n_items = 100000

    def dense_ids(n_dense):
        return lambda rng, b: {"dense": G.dense_features(rng, b, n_dense), "ids": G.field_ids(rng, rows, b)}

    def two_tower_inputs(rng, b):
        return {"user_id": rng.integers(0, n_items, b).astype(np.int64),
                "hist_ids": rng.integers(0, n_items, (b, 20)).astype(np.int64),
                "item_id": rng.integers(0, n_items, b).astype(np.int64)}

    def din_inputs(rng, b):
        return {"target_id": rng.integers(1, n_items, b).astype(np.int64),
                "hist_ids": G.history_ids(rng, n_items, b, 20, 1), "dense": G.dense_features(rng, b, 4)}

    def bag2d_inputs(rng, b):
        inputs = G.bag2d_inputs(rng, rows, b, 13)
        return {k: inputs[k] for k in ("dense", "lS_o", "lS_i")}

    return {
        "dlrm_embedding": (lambda: G.DlrmEmbedding(13, rows, 16, [512, 256, 64], [512, 256]), dense_ids(13), "prob",
                           {"dense": 0, "ids": 0}, "13 dense + 26 tables <= 100k rows, dim 16, 13-512-256-64-16 / 367-512-256-1"),
        "deepfm": (lambda: G.DeepFm(rows, 16, [400, 400]), lambda rng, b: {"ids": G.field_ids(rng, rows, b)}, "prob",
                   {"ids": 0}, "26 fields <= 100k rows, dim 16, deep 416-400-400-1"),
        "wide_deep": (lambda: G.WideDeep(13, rows, 16, [1024, 512, 256]), dense_ids(13), "prob",
                      {"dense": 0, "ids": 0}, "13 dense + 26 fields <= 100k rows, dim 16, deep 429-1024-512-256-1"),
        "dcn_v2": (lambda: G.DcnV2(13, rows, 16, 2, [512, 256]), dense_ids(13), "prob",
                   {"dense": 0, "ids": 0}, "13 dense + 26 fields <= 100k rows, dim 16, 2 cross layers 429, deep 429-512-256"),
        "din": (lambda: G.Din(n_items, 16, 4, 80, [200, 80]), din_inputs, "prob",
                {"target_id": 0, "hist_ids": 0, "dense": 0}, "100k items, dim 16, history 20, attention 64-80-1, 36-200-80-1"),
        "dlrm_bag2d": (lambda: G.DlrmBag2d(13, rows, 16, [512, 256, 64], [512, 256]), bag2d_inputs, "prob",
                       {"dense": 0, "lS_o": 1, "lS_i": 1}, "as dlrm_embedding, nn.EmbeddingBag per table, 1-3 ids per bag"),
        "dlrm_weighted": (lambda: G.DlrmWeighted(13, rows, 16, [512, 256, 64], [512, 256]),
                          lambda rng, b: G.weighted_bag2d_inputs(rng, rows, b, 13), "prob",
                          {"dense": 0, "lS_o": 1, "lS_i": 1, "lS_w": (1, "num_indices")},
                          "as dlrm_bag2d, per_sample_weights lS_w [26, L]"),
        "two_tower": (lambda: G.TwoTower(n_items, n_items, 16, 64, 16), two_tower_inputs, "score",
                      {"user_id": 0, "hist_ids": 0, "item_id": 0}, "100k users and items, dim 16, history 20, towers 32-64-16 / 16-64-16"),
        "autoint": (lambda: G.AutoInt(rows, 16, 2), lambda rng, b: {"ids": G.field_ids(rng, rows, b)}, "prob", {"ids": 0},
                    "26 fields <= 100k rows, dim 16, 2-head self-attention over the fields, 416-1"),
        "xdeepfm": (lambda: G.XDeepFm(rows, 16, 32, [400, 400]), lambda rng, b: {"ids": G.field_ids(rng, rows, b)}, "prob", {"ids": 0},
                    "26 fields <= 100k rows, dim 16, CIN 2 layers of 32 maps (einsum + Conv1d), deep 416-400-400-1"),
        "fibinet": (lambda: G.FiBiNet(rows, 16, 9, [400, 400]), lambda rng, b: {"ids": G.field_ids(rng, rows, b)}, "prob", {"ids": 0},
                    "26 fields <= 100k rows, dim 16, SENET 26-9-26, bilinear over 325 pairs, 5200-400-400-1"),
        # MLPerf's DLRM-v2 at its widths (dim 128, 214 multi-hot ids a sample, 3 low-rank cross layers,
        # 3456-1024-1024-512-256-1), tables capped at 10k rows; onnxruntime runs the exports' per-bag Loop.
        "dlrm_v2": (lambda: G.DlrmV2(13, R.capped(R.CRITEO_KAGGLE_ROWS, 10000), G.MLPERF_MULTI_HOT, 128, [512, 256], 3, 512,
                                     [1024, 1024, 512, 256]),
                    lambda rng, b: {"dense": G.dense_features(rng, b, 13),
                                    "ids": G.multi_hot_ids(rng, R.capped(R.CRITEO_KAGGLE_ROWS, 10000), G.MLPERF_MULTI_HOT, b)},
                    "prob", {"dense": 0, "ids": 0},
                    "MLPerf widths: 13-512-256-128, 26 tables <= 10k rows of dim 128, 214 ids a sample, 3 cross layers rank 512, "
                    "3456-1024-1024-512-256-1"),
        # nn.EmbeddingBag's other forms at the gallery's own sizes (tables of 12-60 rows, MLP 36-16-1 /
        # 32-16-1): no export of them is free of the per-bag Loop, so onnxruntime runs that Loop.
        "bag_pooling": (lambda: G.BagPooling(4, G.BAG_ROWS, 8, 40, [16]), G.bag_pooling_inputs, "prob",
                        {"dense": 0, "lS_o": (1, "batch_plus_1"), "lS_i": (1, "num_indices"), "w_ids": (0, "weighted_ids"),
                         "w_offsets": (0, "batch_plus_1"), "w_weights": (0, "weighted_ids")},
                        "gallery sizes: 3 max bags (37, 12, 50 rows, dim 8, 0-3 ids), a weighted bag of 40 rows, 36-16-1"),
        "bag_padding": (lambda: G.BagPadding(60, G.BAG_ROWS[:2], G.BAG_PADDING, 8, [16]), G.bag_padding_inputs, "prob",
                        {"hist_ids": 0, "lS_o": 1, "lS_i": (1, "num_indices")},
                        "gallery sizes: history [B, 6] of 60 items (mean and max, padding_idx 0), 2 padded sum bags, 32-16-1"),
    }


# Models exported by one exporter only: the TorchScript exporter refuses padding_idx, and its export of
# bag_pooling pools an empty max bag with ReduceMax over no rows (onnxruntime: NaN; PyTorch: zeros),
# so CAGR's output cannot be checked against onnxruntime's.
EXPORTERS_OF = {"bag_pooling": ("dynamo",), "bag_padding": ("dynamo",)}


DEFAULT_GALLERY = ["dlrm_embedding", "deepfm", "wide_deep", "dcn_v2", "din"]
# gallery.init_weights' arguments where its defaults saturate the output at these sizes: DeepFM's FM
# term over 26 fields of dim 16 with N(0, 0.3) embeddings (std ~6.5) pushes the sigmoid to within
# 1e-6 of 0 and 1, where the check's relative error measures float32 rounding of the logit.
INIT_WEIGHTS = {"deepfm": {"embedding_std": 0.1}}


def export_gallery(workdir, names):
    """{name: {exporter: path or None (export failed)}}, cached in workdir/gallery."""
    import gallery as G
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*advanced indexing.*")
    out = os.path.join(workdir, "gallery")
    os.makedirs(out, exist_ok=True)
    models = gallery_models()
    paths = {}
    for name in names:
        seed = list(models).index(name)  # the same weights whichever models are asked for
        factory, make_inputs, output, batch_axes, description = models[name]
        # the file names carry a digest of the configuration, so that a changed one is exported anew
        digest = hashlib.sha1(repr((description, INIT_WEIGHTS.get(name), torch.__version__)).encode()).hexdigest()[:8]
        paths[name] = {}
        model = None
        for exporter in EXPORTERS_OF.get(name, EXPORTERS):
            path = os.path.join(out, f"{name}_{digest}_{exporter}.onnx")
            paths[name][exporter] = path
            if os.path.exists(path):
                continue
            if model is None:
                torch.manual_seed(1000 + seed)
                model = G.init_weights(factory(), **INIT_WEIGHTS.get(name, {})).eval()
            example = make_inputs(np.random.default_rng(100 + seed), G.EXPORT_BATCH)
            log(f"exporting {name} with the {exporter} exporter ...")
            t0 = time.time()
            try:
                G.export(model, example, path + ".tmp", output, batch_axes, dynamo=(exporter == "dynamo"))
                os.replace(path + ".tmp", path)
            except (Exception, SystemExit) as e:  # reported in the table, not faked
                log(f"  {name} {exporter}: export failed: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
                paths[name][exporter] = None
                continue
            log(f"  {path}: {os.path.getsize(path) / 1e6:.1f} MB in {time.time() - t0:.0f} s")
    return paths


def torch_output(name, inputs):
    """PyTorch eager's output of gallery model `name` (the weights export_gallery exported) on `inputs`."""
    import gallery as G
    models = gallery_models()
    factory = models[name][0]
    torch.manual_seed(1000 + list(models).index(name))
    model = G.init_weights(factory(), **INIT_WEIGHTS.get(name, {})).eval()
    with torch.no_grad():
        return model(*(torch.from_numpy(v) for v in inputs.values())).numpy()


def zoo_model(zoo, workdir):
    path = os.path.join(workdir, ZOO_MODEL, "model.xml")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([zoo, f"--model={ZOO_MODEL}", f"--out={path}"], check=True, stdout=subprocess.DEVNULL)
    return path


def zoo_inputs(inputs):
    """dlrm_embedding's dense [B, 13] + ids [B, 26] in the zoo model's layout: indices table-major
    (ids transposed), one id per bag."""
    ids = inputs["ids"]
    batch, tables = ids.shape
    return {"dense": inputs["dense"], "indices": np.ascontiguousarray(ids.T).reshape(-1),
            "offsets": np.arange(tables * batch + 1, dtype=np.int64)}


class OtherLoad:
    """The share of the machine's CPU time that processes other than this one and its children used
    since the last call (/proc/stat against os.times()): the shared VM's background builds."""

    def __init__(self):
        self.last = self.snapshot()

    @staticmethod
    def snapshot():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
        t = os.times()
        return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()

    def share(self):
        now = self.snapshot()
        busy, ours, wall = (a - b for a, b in zip(now, self.last))
        self.last = now
        return max(0.0, (busy - ours) / max(wall * os.cpu_count(), 1e-9))

    def wait_quiet(self, threshold, max_wait):
        """Sleeps in 1 s steps until the others used under `threshold` of the CPUs for one step
        (at most max_wait seconds); returns the seconds waited."""
        start = time.monotonic()
        self.share()
        while time.monotonic() - start < max_wait:
            time.sleep(1.0)
            if self.share() < threshold:
                break
        self.share()
        return time.monotonic() - start


def spread(values, digits=2):
    """'p25-p75; min-max' of the per-round values."""
    q1, q3 = np.percentile(values, [25, 75])
    return f"{q1:.{digits}f}-{q3:.{digits}f}; {min(values):.{digits}f}-{max(values):.{digits}f}"


def run_gallery(args, lib):
    names = args.only or DEFAULT_GALLERY
    models = gallery_models()
    unknown = [n for n in names if n not in models]
    if unknown:
        sys.exit(f"unknown gallery models {unknown}; known: {list(models)}")
    paths = export_gallery(args.workdir, names)
    zoo_path = zoo_model(args.zoo, args.workdir) if "dlrm_embedding" in names and args.zoo else None
    npz_dir = os.path.join(args.workdir, "inputs")
    os.makedirs(npz_dir, exist_ok=True)

    def cagr_runner(model_path, inputs, tag, output):
        if lib is not None:
            session = CagrSession(lib, args.plugin, model_path, args.manifest)
            session.bind(inputs)
            session.run()
            return InProcessRunner(session.run, session.close), session.output(output)
        npz = os.path.join(npz_dir, f"{tag}.npz")
        np.savez(npz, **inputs)
        runner = CagrRunRunner(args.cagr_run, args.plugin, model_path, npz, args.threads, output, manifest=args.manifest,
                               save=os.path.join(npz_dir, f"{tag}.out.npz"))
        return runner, runner.first_output

    rows_out, failures, profiles = [], [], {}
    other = OtherLoad()
    for batch in (int(b) for b in args.batches.split(",")):
        for name in names:
            seed = list(models).index(name)
            _, make_inputs, output, _, _ = models[name]
            inputs = make_inputs(np.random.default_rng(200 + 1000 * batch + seed), batch)
            runners, diffs, errors = {}, {}, {}
            for exporter, path in paths[name].items():
                if path is None:
                    errors[exporter] = "export failed"
                    continue
                log(f"batch {batch} {name} {exporter}: loading into onnxruntime and CAGR ...")
                ort_session = onnxruntime_session(path, args.threads)
                want = ort_session.run(None, inputs)[0]
                runners[("ort", exporter)] = InProcessRunner(lambda s=ort_session: s.run(None, inputs))
                try:
                    runner, got = cagr_runner(path, inputs, f"{name}_{exporter}_{batch}", output)
                except RuntimeError as e:
                    errors[exporter] = str(e)
                    failures.append(f"{name} {exporter} batch {batch}: CAGR: {e}")
                    log(f"  CAGR cannot run it: {e}")
                    continue
                runners[("cagr", exporter)] = runner
                diffs[exporter] = relative_error(got, want)
                if not diffs[exporter] <= TOLERANCE:
                    # The model's own answer decides: CAGR fails where it is off from PyTorch eager
                    # too (two_tower's score, a dot product of unit vectors, differs by float
                    # rounding between runtimes whose GEMMs sum in different orders).
                    truth = torch_output(name, inputs)
                    off = relative_error(got, truth)
                    log(f"  CAGR and onnxruntime differ by {diffs[exporter]:.2e}; against PyTorch: CAGR {off:.2e}, "
                        f"onnxruntime {relative_error(want, truth):.2e}")
                    if not off <= TOLERANCE:
                        failures.append(f"{name} {exporter} batch {batch}: CAGR differs from PyTorch by {off:.2e} (relative), "
                                        f"from onnxruntime by {diffs[exporter]:.2e}")
                if args.profile and lib is None and batch not in profiles.get((name, exporter), {}):
                    profiles.setdefault((name, exporter), {})[batch] = runner.profile()
            if name == "dlrm_embedding" and zoo_path:
                zin = zoo_inputs(inputs)
                runner, _ = cagr_runner(zoo_path, zin, f"zoo_{batch}", "prob")
                runners[("zoo", "")] = runner
                if args.profile and lib is None:
                    profiles.setdefault((ZOO_MODEL, ""), {})[batch] = runner.profile()
            keys = list(runners)
            per_round = {k: [] for k in keys}
            load, discarded, attempt = [], 0, 0
            while len(load) < args.rounds and attempt < 3 * args.rounds:
                waited = other.wait_quiet(args.quiet, args.max_wait) if args.quiet else 0.0
                order = keys[attempt % len(keys):] + keys[:attempt % len(keys)] if keys else []
                attempt += 1
                times = {}
                for k in order:
                    times[k] = runners[k].block(args.seconds, args.min_runs)
                    time.sleep(0.02)
                share = other.share()
                kept = not args.quiet or share < args.quiet or attempt > 2 * args.rounds
                log(f"  batch {batch} {name} round {len(load) + 1}/{args.rounds}: " + ", ".join(
                    f"{(k[0] + ' ' + k[1]).strip()} {times[k] * 1e6:.0f} us" for k in keys) +
                    f" (other processes {100 * share:.0f}% of the CPUs" +
                    (f"; waited {waited:.0f} s for a quiet machine" if waited >= 1.5 else "") +
                    (")" if kept else "; discarded, repeated)"))
                if not kept:
                    discarded += 1
                    continue
                load.append(share)
                for k in keys:
                    per_round[k].append(times[k])
            for runner in runners.values():
                runner.close()
            for exporter in paths[name]:
                row = {"model": name, "exporter": exporter, "batch": batch, "load": (min(load), max(load)),
                       "rounds": (len(load), discarded)}
                if ("ort", exporter) in per_round:
                    row["ort"] = float(np.median(per_round[("ort", exporter)]))
                if ("cagr", exporter) in per_round:
                    ort_t, cagr_t = per_round[("ort", exporter)], per_round[("cagr", exporter)]
                    row["cagr"] = float(np.median(cagr_t))
                    row["ratios"] = [o / c for o, c in zip(ort_t, cagr_t)]
                    row["diff"] = diffs[exporter]
                    if ("zoo", "") in per_round:
                        zoo_t = per_round[("zoo", "")]
                        row["zoo"] = float(np.median(zoo_t))
                        row["zoo_ratios"] = [c / z for c, z in zip(cagr_t, zoo_t)]
                row["error"] = errors.get(exporter)
                rows_out.append(row)
            print_gallery_row(rows_out[-len(paths[name]):], header=False, stream=sys.stderr)

    floor = onnxruntime_call_floor(args.workdir, args.threads, 64)
    print(f"\n{args.threads} threads, {args.rounds} interleaved rounds of >= {args.seconds:g} s blocks per runtime "
          f"and file; CAGR through {'libcagr.so (ctypes)' if lib is not None else 'cagr-run'}, CPU plugin only; "
          f"onnxruntime's call overhead from Python (an Identity model): {floor * 1e6:.1f} us\n")
    print_gallery_row(rows_out, header=True, stream=sys.stdout)
    for (name, exporter), by_batch in profiles.items():
        print(f"\nCAGR per-node profile, {(name + ' ' + exporter).strip()}:")
        for batch, nodes in by_batch.items():
            total = {}
            for op, _, us in nodes:
                total[op] = total.get(op, 0.0) + us
            print(f"  batch {batch}: {len(nodes)} nodes; " +
                  ", ".join(f"{op} {us:.0f} us" for op, us in sorted(total.items(), key=lambda x: -x[1])))
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


def print_gallery_row(rows, header, stream):
    if header:
        print("| model | exporter | batch | onnxruntime p50 us | CAGR p50 us | ort / CAGR (p25-p75; min-max) | zoo p50 us | "
              "user / zoo (p25-p75; min-max) | max rel diff | rounds kept (discarded) | others' CPU % |", file=stream)
        print("|---|---|---:|---:|---:|---|---:|---|---:|---|---|", file=stream)
    for row in rows:
        ort_us = f"{row['ort'] * 1e6:,.0f}" if "ort" in row else "-"
        if "cagr" in row:
            r = row["ratios"]
            cells = [f"{row['cagr'] * 1e6:,.0f}", f"**{np.median(r):.2f}x** ({spread(r)})"]
            if "zoo" in row:
                z = row["zoo_ratios"]
                cells += [f"{row['zoo'] * 1e6:,.0f}", f"**{np.median(z):.3f}** ({spread(z, 3)})"]
            else:
                cells += ["", ""]
            cells.append(f"{row['diff']:.1e}")
        else:
            cells = [f"- ({row['error']})", "", "", "", ""]
        print(f"| {row['model']} | {row['exporter']} | {row['batch']} | {ort_us} | " + " | ".join(cells) +
              f" | {row['rounds'][0]} ({row['rounds'][1]}) | {100 * row['load'][0]:.0f}-{100 * row['load'][1]:.0f} |",
              file=stream, flush=True)


# ---------------------------------------------------------------------------------------------------


def run_dlrm_kaggle(args, lib):
    rows, paths = export_models(args.workdir, args.max_rows)
    print(f"DLRM Criteo Kaggle, 26 tables x dim 16 (at most {args.max_rows} rows, {sum(rows)} in all), "
          f"bottom 13-512-256-64-16, top 367-512-256-1; {args.threads} threads")
    print(f"{'exporter':<12} {'batch':>6} {'onnxruntime us':>15} {'CAGR us':>10} {'ort / CAGR':>11} {'max rel diff':>13}")
    ratios = []
    for batch in (int(b) for b in args.batches.split(",")):
        inputs = R.random_inputs(R.CRITEO_DENSE, rows, batch, seed=batch, min_pooling=1, max_pooling=1)
        for name, path in paths.items():
            want, ort_session = R.run_onnxruntime(path, inputs, threads=args.threads)
            if lib is not None:
                cagr = CagrSession(lib, args.plugin, path, args.manifest)
                cagr.bind(inputs)
                cagr.run()
                got = cagr.output("prob")
            else:
                npz = os.path.join(args.workdir, f"dlrm_kaggle_inputs_{batch}.npz")
                np.savez(npz, **inputs)
                cagr = CagrRunRunner(args.cagr_run, args.plugin, path, npz, args.threads, "prob", save=npz + ".out.npz",
                                     manifest=args.manifest)
                got = cagr.first_output
            diff = relative_error(got, want)
            if diff > TOLERANCE:
                sys.exit(f"{path} batch {batch}: CAGR and onnxruntime differ by {diff:.2e} (relative)")
            ort_times, cagr_times = [], []
            for _ in range(args.rounds):
                ort_times += timed_block(lambda: ort_session.run(None, inputs), args.seconds, args.min_runs)
                if lib is not None:
                    cagr_times += timed_block(cagr.run, args.seconds, args.min_runs)
                else:
                    cagr_times.append(cagr.block(args.seconds, args.min_runs))
            cagr.close()
            del ort_session
            ort_us, cagr_us = float(np.median(ort_times)) * 1e6, float(np.median(cagr_times)) * 1e6
            ratios.append(ort_us / cagr_us)
            print(f"{name:<12} {batch:>6} {ort_us:>15.1f} {cagr_us:>10.1f} {ort_us / cagr_us:>10.2f}x {diff:>13.1e}", flush=True)
    print(f"smallest ratio: {min(ratios):.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", choices=("dlrm_kaggle", "gallery"), default="dlrm_kaggle")
    parser.add_argument("--only", nargs="*", help="gallery models to run (default: " + " ".join(DEFAULT_GALLERY) + ")")
    parser.add_argument("--libcagr", help="libcagr.so (the C API); where absent or missing, --cagr-run is used")
    parser.add_argument("--cagr-run", help="the cagr-run program, used where --libcagr is not given or missing")
    parser.add_argument("--plugin", required=True, help="the CPU plugin's .so")
    parser.add_argument("--manifest", help="a plugins.xml for CAGR (the CPU plugin's options, e.g. wait_policy)")
    parser.add_argument("--zoo", help="cagr-zoo, for the gallery's dlrm_embedding against the zoo's " + ZOO_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="64,2048")
    parser.add_argument("--max-rows", type=int, default=1000000, help="rows per table at most (dlrm_kaggle; the "
                        f"gallery's tables are capped at {ZOO_MAX_ROWS}, as the zoo's {ZOO_MODEL})")
    parser.add_argument("--workdir", default="/tmp/cagr_onnx_bench")
    parser.add_argument("--min-runs", type=int, default=5, help="per block")
    parser.add_argument("--seconds", type=float, default=1.0, help="per block")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks of each runtime")
    parser.add_argument("--quiet", type=float, default=0.0, help="gallery: before each round, wait until other "
                        "processes use less than this share of the CPUs for 1 s, and repeat a round in which they used "
                        "more (at most 2 x --rounds discarded; 0: neither)")
    parser.add_argument("--max-wait", type=float, default=300.0, help="seconds at most for --quiet, per round")
    parser.add_argument("--profile", action="store_true", help="gallery with cagr-run: print CAGR's per-node profile")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before the CPU plugin's OpenMP starts
    lib = None
    if args.libcagr and os.path.exists(args.libcagr):
        lib = ctypes.CDLL(args.libcagr)
    elif args.cagr_run:
        log(f"{args.libcagr or 'libcagr.so'} not available: timing CAGR through {args.cagr_run}")
    else:
        sys.exit(f"{args.libcagr or '--libcagr'} missing and no --cagr-run given")
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    if args.models == "gallery":
        run_gallery(args, lib)
    else:
        run_dlrm_kaggle(args, lib)


if __name__ == "__main__":
    main()
