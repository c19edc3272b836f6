#!/usr/bin/env python3
"""A DLRM written the usual PyTorch way (tools/onnx_fixtures/gallery.py's DlrmEmbedding: one
nn.Embedding per table looked up with ids[:, t]), exported to ONNX and imported by CAGR, against
CAGR's own zoo DLRM of the same configuration (cagr-zoo dlrm_kaggle_small: 13 dense, 26 tables
of dim 16 capped at --max-rows rows, MLPs 13-512-256-64-16 and 512-256-1), on one plugin, same
batch, inputs resident on the device, through cagr-run. The two are timed in alternating rounds
(each round runs both once) so that they share the machine's state; prints a table of p50s and
the ratio user model / zoo model, with its range over the rounds.

    python3 bench/user_dlrm_vs_zoo.py --build build --plugin build/plugins/libcagr_cpu.so \\
        [--batches 64,2048] [--rounds 3] [--iterations 200] [--exporter torchscript|dynamo]

The weights differ between the two models (same shapes); only the times are compared.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "onnx_fixtures"))
import gallery as G  # noqa: E402
import recsys_models as R  # noqa: E402


def export_user_model(path, max_rows, exporter):
    rows = R.capped(R.CRITEO_KAGGLE_ROWS, max_rows)
    torch.manual_seed(0)
    model = G.DlrmEmbedding(13, rows, 16, [512, 256, 64], [512, 256]).eval()
    G.init_weights(model)
    rng = np.random.default_rng(1)
    example = {"dense": G.dense_features(rng, 4, 13), "ids": G.field_ids(rng, rows, 4)}
    G.export(model, example, path, "prob", {"dense": 0, "ids": 0}, exporter == "dynamo")
    return rows


def inputs(rows, batch, seed):
    rng = np.random.default_rng(seed)
    dense = rng.random((batch, 13), dtype=np.float32)
    ids = np.stack([rng.integers(0, r, batch) for r in rows], axis=1).astype(np.int64)  # [B, 26]
    zoo = {"dense": dense, "indices": ids.T.reshape(-1).copy(),  # table-major, one id a bag
           "offsets": np.arange(ids.size + 1, dtype=np.int64)}
    return {"dense": dense, "ids": ids}, zoo


def p50_us(cagr_run, model, npz, plugin, iterations):
    cmd = [cagr_run, f"--model={model}", f"--inputs={npz}", f"--plugins={plugin}", f"--iterations={iterations}",
           "--warmup=20", "--resident_inputs", "--profile=false", "--report=json", "--probe=false"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["latency_us"]["p50"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--batches", default="64,2048")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--max-rows", type=int, default=100000)
    ap.add_argument("--exporter", default="torchscript", choices=["torchscript", "dynamo"])
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="user_dlrm_")
    os.makedirs(work, exist_ok=True)
    cagr_run = os.path.join(a.build, "tools", "cagr-run", "cagr-run")
    user = os.path.join(work, f"dlrm_embedding_{a.exporter}.onnx")
    print(f"exporting the user model ({a.exporter}) to {user}", file=sys.stderr)
    rows = export_user_model(user, a.max_rows, a.exporter)
    zoo = os.path.join(work, "zoo", "model.xml")
    subprocess.run([os.path.join(a.build, "tools", "model_zoo", "cagr-zoo"), "--model=dlrm_kaggle_small", f"--out={zoo}"],
                   check=True, capture_output=True)
    print("| plugin | batch | user model p50 us | zoo model p50 us | user / zoo (range over rounds) |")
    print("|---|---:|---:|---:|---|")
    for batch in (int(b) for b in a.batches.split(",")):
        user_in, zoo_in = inputs(rows, batch, batch)
        np.savez(os.path.join(work, "user.npz"), **user_in)
        np.savez(os.path.join(work, "zoo.npz"), **zoo_in)
        user_t, zoo_t = [], []
        for r in range(a.rounds):
            print(f"batch {batch}: round {r + 1}/{a.rounds}", file=sys.stderr)
            user_t.append(p50_us(cagr_run, user, os.path.join(work, "user.npz"), a.plugin, a.iterations))
            zoo_t.append(p50_us(cagr_run, zoo, os.path.join(work, "zoo.npz"), a.plugin, a.iterations))
        ratios = [u / z for u, z in zip(user_t, zoo_t)]
        print(f"| {os.path.basename(a.plugin)} | {batch} | {np.median(user_t):.1f} | {np.median(zoo_t):.1f} | "
              f"{np.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |")


if __name__ == "__main__":
    main()
