#!/usr/bin/env python3
"""gpu_vs_pytorch.py - embedding_bag on the GPU plugin against PyTorch eager, on the same table and
indices, in one run on one GPU (docs/PERF.md, "## GPU plugin").

For each config (20M-row f32 table, batch 16384, pooling 32; dim 128 and 16; uniform and Zipf ids)
it builds the table in PyTorch from the formula bench_embedding_bag_gpu uses, times
torch.nn.functional.embedding_bag, writes the indices, runs bench_embedding_bag_gpu (every CAGR
variant, and the device-to-device copy bandwidth in the same process), checks that every variant's
output matches PyTorch's, and prints bandwidths and ratios. Then it sweeps batch size and pooling
factor (dim 128, uniform) and plots achieved bandwidth against both (PNG).

  python3 bench/gpu_vs_pytorch.py --bench build-device/bench/bench_embedding_bag_gpu \
      --plugin build-device/plugins/libcagr_cuda.so --plot docs/gpu_embedding_bandwidth.png --json results.json

Ids: uniform over the rows, or Zipf (bounded power law, exponent 1.05) with id = popularity rank,
as in frequency-sorted vocabularies (then about 74% of lookups hit the 60K lowest ids).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ZIPF_EXPONENT = 1.05


def draw_ids(rng, count, rows, dist):
    if dist == "uniform":
        return rng.integers(0, rows, size=count, dtype=np.int64)
    u = rng.random(count)
    a = ZIPF_EXPONENT
    x = ((rows ** (1 - a) - 1) * u + 1) ** (1 / (1 - a))  # inverse CDF of the continuous power law
    return np.clip(np.floor(x).astype(np.int64) - 1, 0, rows - 1)


def make_table(rows, dim, device):
    """The table of bench_embedding_bag_gpu: ((r*2654435761 + c*40503) mod 2^20) / 2^20 - 0.5."""
    table = torch.empty((rows, dim), dtype=torch.float32, device=device)
    cols = torch.arange(dim, device=device, dtype=torch.int64)[None, :] * 40503
    step = max(1, (1 << 27) // dim)
    for r0 in range(0, rows, step):
        r = torch.arange(r0, min(rows, r0 + step), device=device, dtype=torch.int64)[:, None]
        table[r0:r0 + r.shape[0]] = ((r * 2654435761 + cols) & 0xFFFFF).float() / 1048576.0 - 0.5
    return table


def cuda_time_ms(fn, iterations):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / iterations


def torch_copy_gbps():
    a = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = cuda_time_ms(lambda: b.copy_(a), 10)
    return 2 * a.numel() / (ms * 1e-3) * 1e-9


def run_bench(args, rows, dim, cases):
    cmd = [args.bench, "--plugin", args.plugin, "--rows", str(rows), "--dim", str(dim),
           "--iterations", str(args.iterations)]
    for c in cases:
        cmd += ["--case", ":".join(str(x) for x in c)]
    print("$", " ".join(cmd[:9]), f"... ({len(cases)} cases)", flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for l in lines:
        if l["kind"] == "error":
            print(f"  {l['case']} {l['variant']}: FAILED: {l['message']}", flush=True)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--pooling", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--plot", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    rng = np.random.default_rng(12345)
    tmp = tempfile.mkdtemp(prefix="cagr_gpu_bench_")
    device_name = torch.cuda.get_device_name(0)
    print(f"device: {device_name}; PyTorch {torch.__version__}", flush=True)
    torch_copy = torch_copy_gbps()
    results = {"device": device_name, "torch_copy_gbps": torch_copy, "configs": [], "sweeps": []}
    failures = 0

    def write_case(name, batch, pooling, dist, rows):
        ids = draw_ids(rng, batch * pooling, rows, dist).astype(np.int32)
        offsets = (np.arange(batch + 1, dtype=np.int64) * pooling).astype(np.int32)
        ids.tofile(os.path.join(tmp, name + ".idx"))
        offsets.tofile(os.path.join(tmp, name + ".off"))
        return ids, offsets

    for dim in (128, 16):
        # Main configs: PyTorch and CAGR on the same ids.
        mains, cases, expected, torch_ms = [], [], {}, {}
        table = make_table(args.rows, dim, "cuda")
        for dist in ("uniform", "zipf"):
            name = f"d{dim}_{dist}"
            ids, offsets = write_case(name, args.batch, args.pooling, dist, args.rows)
            t_ids = torch.from_numpy(ids.astype(np.int64)).cuda()
            t_off = torch.from_numpy(offsets[:-1].astype(np.int64)).cuda()
            fn = lambda: torch.nn.functional.embedding_bag(t_ids, table, t_off, mode="sum")
            torch_ms[name] = cuda_time_ms(fn, args.iterations)
            expected[name] = fn().cpu().numpy()
            mains.append(name)
            cases.append((name, os.path.join(tmp, name + ".idx"), os.path.join(tmp, name + ".off"), args.batch,
                          os.path.join(tmp, name)))
        del table
        torch.cuda.empty_cache()
        # Sweeps (dim 128 only): CAGR alone, uniform ids.
        if dim == 128:
            for batch in (1024, 2048, 4096, 8192, 32768, 65536):  # 16384: the main config
                name = f"sweep_batch_{batch}"
                write_case(name, batch, args.pooling, "uniform", args.rows)
                cases.append((name, os.path.join(tmp, name + ".idx"), os.path.join(tmp, name + ".off"), batch))
            for pooling in (1, 2, 4, 8, 16, 64, 128):  # 32: the main config
                name = f"sweep_pooling_{pooling}"
                write_case(name, args.batch, pooling, "uniform", args.rows)
                cases.append((name, os.path.join(tmp, name + ".idx"), os.path.join(tmp, name + ".off"), args.batch))

        lines = run_bench(args, args.rows, dim, cases)
        copy = next(l["gbps"] for l in lines if l["kind"] == "copy")
        by_case = {}
        for l in lines:
            if l["kind"] == "case":
                by_case.setdefault(l["case"], {})[l["variant"]] = l
        for name in mains:
            row_bytes = args.batch * args.pooling * dim * 4
            torch_gbps = row_bytes / (torch_ms[name] * 1e-3) * 1e-9
            variants = by_case[name]
            base = variants["group_per_bag"]["gbps"]
            entry = {"config": name, "dim": dim, "copy_gbps": copy, "torch_ms": torch_ms[name], "torch_gbps": torch_gbps,
                     "variants": {}}
            print(f"\n{name}: rows {args.rows} dim {dim} batch {args.batch} pooling {args.pooling}; "
                  f"copy {copy:.0f} GB/s (PyTorch copy {torch_copy:.0f}); PyTorch {torch_ms[name]:.3f} ms = {torch_gbps:.0f} GB/s")
            for v, l in variants.items():
                got = np.fromfile(os.path.join(tmp, f"{name}.{v}.f32"), dtype=np.float32).reshape(expected[name].shape)
                err = float(np.max(np.abs(got - expected[name])))
                ok = err <= 1e-6 + 1e-5 * args.pooling * 0.5
                failures += 0 if ok else 1
                entry["variants"][v] = {"ms": l["ms"], "gbps": l["gbps"], "of_copy": l["gbps"] / copy,
                                        "vs_torch": torch_ms[name] / l["ms"], "vs_baseline": l["gbps"] / base,
                                        "max_abs_error": err, "agrees": ok}
                print(f"  {v:26s} {l['ms']:8.3f} ms {l['gbps']:7.0f} GB/s  {100 * l['gbps'] / copy:5.1f}% of copy  "
                      f"x{torch_ms[name] / l['ms']:5.2f} vs PyTorch  x{l['gbps'] / base:5.3f} vs baseline  "
                      f"max|err| {err:.1e} {'ok' if ok else 'MISMATCH'}", flush=True)
            results["configs"].append(entry)
        for name, variants in by_case.items():
            if name.startswith("sweep_"):
                results["sweeps"].append({"case": name, "copy_gbps": copy,
                                          "variants": {v: l["gbps"] for v, l in variants.items()}})

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot(results, args)
    print("\nall outputs agree with PyTorch" if failures == 0 else f"\n{failures} variant outputs DIFFER from PyTorch")
    return 0 if failures == 0 else 1


def plot(results, args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, label in ((axes[0], "sweep_batch_", "batch size (pooling 32)"),
                           (axes[1], "sweep_pooling_", "pooling factor (batch 16384)")):
        sweeps = sorted((int(s["case"][len(key):]), s) for s in results["sweeps"] if s["case"].startswith(key))
        # The main config sits on both sweeps.
        main = next(c for c in results["configs"] if c["config"] == "d128_uniform")
        point = args.batch if key == "sweep_batch_" else args.pooling
        sweeps.append((point, {"variants": {v: d["gbps"] for v, d in main["variants"].items()}, "copy_gbps": main["copy_gbps"]}))
        sweeps.sort(key=lambda p: p[0])
        xs = [p[0] for p in sweeps]
        for v in sweeps[0][1]["variants"]:
            ax.plot(xs, [p[1]["variants"][v] for p in sweeps], marker="o", label=v)
        ax.axhline(main["copy_gbps"], color="gray", linestyle="--", label="device-to-device copy")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
        ax.set_ylabel("GB/s of table rows read")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"CAGR embedding_bag, {args.rows // 1_000_000}M x 128 f32, uniform ids, {results['device']}")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
