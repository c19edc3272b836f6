"""CAGR against PyTorch eager on the same models, weights and inputs, in one run.

For each model and batch size: writes random inputs (ids uniform over each table), runs
`cagr-run --inputs --save-outputs --report=json` and PyTorch (bench/torch_model.py) with the same
thread count, checks that the outputs agree, and prints latency p50 and the ratios as a markdown
table. Two like-for-like pairs are timed: "resident" (inputs already in device memory, outputs
left there on both sides; CAGR's `--resident_inputs`) and "host" (host inputs to host outputs,
copies included on both sides). On the CPU the two differ only by CAGR's input copies.

    python3 bench/cagr_vs_torch.py --build=build --device=cpu --threads=2
    python3 bench/cagr_vs_torch.py --build=build --device=cuda --plugins=cuda --models=dlrm_kaggle
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import TorchModel  # noqa: E402


def model_inputs(xml_path, batch, rng):
    root = ET.parse(xml_path).getroot()
    tables = []
    for node in root.findall("node"):
        if node.get("op") == "embedding_bag":
            names = node.get("inputs").split(",")[2:]
            shapes = {c.get("name"): c.get("shape") for c in root.findall("constant")}
            tables = [int(shapes[n].split(",")[0]) for n in names]
            break
    inputs = {}
    for e in root.findall("input"):
        name = e.get("name")
        if name == "dense":
            inputs[name] = rng.random((batch, int(e.get("shape").split(",")[1])), dtype=np.float32)
        elif name == "indices":
            inputs[name] = np.concatenate([rng.integers(0, r, batch) for r in tables]).astype(np.int64)
        elif name == "offsets":
            inputs[name] = np.arange(len(tables) * batch + 1, dtype=np.int64)
        elif name == "users":
            inputs[name] = rng.integers(0, 1000, batch).astype(np.int64)
        elif name == "items":
            inputs[name] = rng.integers(0, 1000, 1000).astype(np.int64)
        else:
            raise ValueError(f"no generator for input {name}")
    return inputs


def time_torch(model, inputs, iterations, warmup, device, resident):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    dev_inputs = model.prepare(inputs)

    def step():
        if resident:
            return model(dev_inputs)
        return {k: v.cpu() for k, v in model(model.prepare(inputs)).items()}

    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1e6)
    out = model(dev_inputs)
    return float(np.percentile(times, 50)), {k: v.cpu().numpy() for k, v in out.items()}


def time_cagr(run, xml, plugins, in_npz, out_npz, args, env, resident):
    cmd = [run, f"--model={xml}", f"--plugins={plugins}", f"--inputs={in_npz}", f"--save-outputs={out_npz}",
           "--report=json", "--profile=false", f"--iterations={args.iterations}", f"--warmup={args.warmup}",
           f"--resident_inputs={'true' if resident else 'false'}"]
    if args.manifest:
        cmd.append(f"--plugin_manifest={args.manifest}")
    if args.tune:
        cmd.append("--tune")
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])["latency_us"]["p50"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--device", default="cpu")
    p.add_argument("--plugins", default="cpu")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--models", default="dlrm_avazu_sample,dlrm_kaggle_small,deepfm_avazu")
    p.add_argument("--batches", default="64,2048")
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--tolerance", type=float, default=1e-4, help="max relative difference of the outputs")
    p.add_argument("--tune", action="store_true",
                   help="CAGR picks each node's variant by timing them on the first batch (cagr-run --tune)")
    p.add_argument("--allow-tf32", action="store_true",
                   help="let both sides use TF32 tensor cores for f32 matmuls (CAGR: plugin option allow_tf32=1)")
    p.add_argument("--allow-bf16", action="store_true",
                   help="also let both sides run chains of linears in bf16, f32 sums (CAGR: plugin option allow_bf16=1, "
                        "the mlp op; PyTorch: the linears' weights and activations in bf16); implies --allow-tf32")
    args = p.parse_args()
    args.allow_tf32 = args.allow_tf32 or args.allow_bf16
    torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    zoo = os.path.join(args.build, "tools/model_zoo/cagr-zoo")
    run = os.path.join(args.build, "tools/cagr-run/cagr-run")
    rng = np.random.default_rng(7)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        args.manifest = None
        if args.allow_tf32:
            args.manifest = os.path.join(tmp, "plugins.xml")
            keys = ["allow_tf32"] + (["allow_bf16"] if args.allow_bf16 else [])
            options = "".join(f'<option key="{k}" value="1"/>' for k in keys)
            with open(args.manifest, "w") as f:
                f.write('<plugins>\n' + ''.join(f'  <plugin name="{n}">{options}</plugin>\n' for n in ("cuda", "hip")) +
                        '</plugins>\n')
        for name in args.models.split(","):
            xml = os.path.join(tmp, name, "model.xml")
            subprocess.run([zoo, f"--model={name}", f"--out={xml}"], check=True, stdout=subprocess.DEVNULL)
            torch_model = TorchModel(xml, device=args.device, allow_tf32=args.allow_tf32, bf16_linears=args.allow_bf16)
            for batch in [int(b) for b in args.batches.split(",")]:
                inputs = model_inputs(xml, batch, rng)
                in_npz, out_npz = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
                np.savez(in_npz, **inputs)
                torch_res_us, torch_out = time_torch(torch_model, inputs, args.iterations, args.warmup, args.device, True)
                torch_host_us, _ = time_torch(torch_model, inputs, args.iterations, args.warmup, args.device, False)
                cagr_res_us = time_cagr(run, xml, args.plugins, in_npz, out_npz, args, env, True)
                cagr_host_us = time_cagr(run, xml, args.plugins, in_npz, out_npz, args, env, False)
                cagr_out = np.load(out_npz)
                err = max(float(np.max(np.abs(cagr_out[k] - torch_out[k]) / np.maximum(np.abs(torch_out[k]), 1e-3)))
                          for k in torch_out if torch_out[k].dtype == np.float32)
                rows.append((name, batch, torch_res_us, cagr_res_us, torch_host_us, cagr_host_us, err))
                print(f"{name} batch {batch}: resident torch {torch_res_us:.1f} us cagr {cagr_res_us:.1f} us "
                      f"({torch_res_us / cagr_res_us:.2f}x); host torch {torch_host_us:.1f} us cagr {cagr_host_us:.1f} us "
                      f"({torch_host_us / cagr_host_us:.2f}x); max rel err {err:.1e}", file=sys.stderr)
    precision = ("bf16 linear chains and TF32 allowed on both sides" if args.allow_bf16 else
                 "TF32 allowed on both sides" if args.allow_tf32 else "f32 (no TF32)")
    print(f"\ndevice {args.device}, plugins {args.plugins}, {args.threads} threads, {precision}, "
          f"p50 of {args.iterations} runs (us)\n")
    print("| model | batch | PyTorch resident | CAGR resident | speed-up | PyTorch host | CAGR host | speed-up | max rel. diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, batch, tr, cr, th, ch, e in rows:
        print(f"| {name} | {batch} | {tr:.1f} | {cr:.1f} | {tr / cr:.2f}x | {th:.1f} | {ch:.1f} | {th / ch:.2f}x | {e:.1e} |")
    bad = [r for r in rows if r[6] > args.tolerance]
    if bad:
        print(f"outputs disagree: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
