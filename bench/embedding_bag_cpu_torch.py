#!/usr/bin/env python3
"""PyTorch's nn.EmbeddingBag on the CPU, on the configs of a bench_embedding_bag_cpu run, and the
combined table with ratios.

    bench_embedding_bag_cpu [--quick] --benchmark_out=eb.json --benchmark_out_format=json
    python3 bench/embedding_bag_cpu_torch.py eb.json

Reads the C++ run's JSON (its configs as counters, its OpenMP thread count as context), times
torch with the same thread count, the same shapes, i64 indices, fixed pooling and mode "sum", one
nn.EmbeddingBag per table as a model would hold them, and prints a Markdown table of GB/s of row
bytes (L * D * 4 per run) with each implementation's ratio to the reference loop and to torch.
Without an importable torch the torch column is left out and the reason printed.
"""
import json
import sys
import time
from collections import OrderedDict


def load_results(path):
    with open(path) as f:
        run = json.load(f)
    configs = OrderedDict()  # label -> {"config": {...}, "impls": {name: GB/s}}
    for b in run["benchmarks"]:
        impl, label = b["name"].split("/", 1)
        label = label.split("/real_time")[0]
        entry = configs.setdefault(label, {"config": {k: int(b[k]) for k in ("tables", "rows", "dim", "pooling", "batch")},
                                           "impls": OrderedDict()})
        entry["impls"][impl] = b["GB/s"]
    return run["context"], configs


def time_torch(torch, cfg, threads, min_seconds=1.0):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(42)
    bags = [torch.nn.EmbeddingBag(cfg["rows"], cfg["dim"], mode="sum") for _ in range(cfg["tables"])]
    n = cfg["batch"] * cfg["pooling"]
    indices = [torch.randint(0, cfg["rows"], (n,), generator=g, dtype=torch.int64) for _ in range(cfg["tables"])]
    offsets = torch.arange(0, n, cfg["pooling"], dtype=torch.int64)
    with torch.inference_mode():
        def once():
            return torch.stack([bag(i, offsets) for bag, i in zip(bags, indices)], dim=1)  # [B, T, D]
        once()
        runs, start = 0, time.perf_counter()
        best = float("inf")
        while runs < 3 or time.perf_counter() - start < min_seconds:
            t0 = time.perf_counter()
            once()
            best = min(best, time.perf_counter() - t0)
            runs += 1
    row_bytes = cfg["tables"] * n * cfg["dim"] * 4
    return row_bytes / best * 1e-9


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    context, configs = load_results(sys.argv[1])
    threads = int(context["omp_threads"])
    try:
        import torch
    except ImportError as e:
        torch = None
        print(f"torch not importable ({e}): no PyTorch baseline")
    impl_names = list(OrderedDict.fromkeys(i for c in configs.values() for i in c["impls"]))
    if torch is not None:
        for entry in configs.values():
            entry["impls"]["torch"] = time_torch(torch, entry["config"], threads)
        impl_names.append("torch")
        print(f"torch {torch.__version__}, {threads} threads")
    print(f"CPU: {context.get('cpu_device', '?')}, {threads} OpenMP threads; GB/s of embedding rows read")
    print()
    print("| config (T x rows x D / pooling / batch) | " + " | ".join(f"{n} GB/s" for n in impl_names) +
          " | " + " | ".join(f"{n} / reference" for n in impl_names if n != "reference") +
          ("" if torch is None else " | " + " | ".join(f"{n} / torch" for n in impl_names if n.startswith("cpu_"))) + " |")
    cols = len(impl_names) * 2 - 1 + (0 if torch is None else sum(n.startswith("cpu_") for n in impl_names))
    print("|---" * (cols + 1) + "|")
    for label, entry in configs.items():
        g = entry["impls"]
        row = [label] + [f"{g[n]:.2f}" for n in impl_names]
        row += [f"{g[n] / g['reference']:.2f}x" for n in impl_names if n != "reference"]
        if torch is not None:
            row += [f"{g[n] / g['torch']:.2f}x" for n in impl_names if n.startswith("cpu_")]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
