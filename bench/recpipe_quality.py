#!/usr/bin/env python3
"""RecPipe on CAGR: quality and speed of a two-stage ranking pipeline against the heavy model alone.

Builds with PyTorch a heavy model (a DLRM over the Criteo Kaggle fields: 26 tables capped at
--max-rows rows, dim 32, MLPs 13-256-128-32 and 383-512-256-1; weights as DLRM initialises them,
seeded) and a light one (dim 4, MLPs 13-16-4 and 355-16-1: about 45x fewer multiply-adds per
candidate), and trains the light model to mimic the heavy one: on Criteo-shaped rows from cagr-gen
(Zipf ids, --train-rows of them), the light model's logit regresses the heavy model's standardised
logit (MSE, Adam) for --train-seconds. Both are exported to ONNX (tools/onnx_fixtures/recsys_models.py),
which CAGR imports.

Then, for every (N, k) of --settings, it writes a pipeline.xml (the light model scores the N
candidates of a query and keeps the best k; the heavy model ranks those k) and runs it with
cagr-rank over --queries queries of N candidates (cagr-gen rows of another seed), and for each N the
heavy model alone ranking all N candidates (the baseline row, a one-stage pipeline.xml). Runs are
interleaved over --rounds rounds (the order rotating) under OMP_NUM_THREADS=1
POCL_MAX_PTHREAD_COUNT=1 nice -n -15 (as root). Quality, against the heavy model ranking all N:
  recall@k  the share of the heavy model's k best candidates that the pipeline returns
  NDCG@k    graded by the heavy model's rank r: gain k - r for r < k, 0 beyond; discount log2(i + 2)
            at position i of the returned list; divided by the heavy model's own DCG
Prints a markdown table (quality, p50/p99 latency per query and queries/s: medians over rounds with
the range, and the speed ratios to the baseline of the same N within each round) and writes a plot
of quality against latency (--plot).

    python3 bench/recpipe_quality.py --build build-h2 --workdir /tmp/recpipe --plot docs/recpipe_quality.png
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "onnx_fixtures"))
import recsys_models as R  # noqa: E402

HEAVY = dict(dim=32, bottom=[256, 128], top=[512, 256])
LIGHT = dict(dim=4, bottom=[16], top=[16])


def log(message):
    print(message, file=sys.stderr, flush=True)


class Dlrm(R.Dlrm):
    def logit(self, dense, indices, offsets):
        """The top MLP's output before the sigmoid (R.Dlrm.forward without it)."""
        x = self.bottom(dense)
        ly = self.bags(dense.shape[0], indices, offsets)
        features = torch.cat([x.unsqueeze(1), torch.stack(ly, 1)], 1)
        z = torch.bmm(features, torch.transpose(features, 1, 2))
        return self.top(torch.cat([x, z[:, self.li, self.lj]], 1)).squeeze(1)


def make(rows, spec, seed):
    torch.manual_seed(seed)
    return Dlrm(R.CRITEO_DENSE, rows, spec["dim"], spec["bottom"], spec["top"])


def generate(cagr_gen, model, samples, batch, seed, prefix):
    if os.path.exists(f"{prefix}-000000.npz"):
        return
    subprocess.run([cagr_gen, f"--model={model}", "--format=npz", f"--batch-size={batch}", f"--samples={samples}",
                    f"--seed={seed}", f"--output={prefix}"], check=True)


def load_rows(prefix):
    """Every file PREFIX-*.npz as (dense [B, 13], ids [B, 26]) with one id per bag (cagr-gen's pooling 1)."""
    dense, ids = [], []
    for i in itertools.count():
        path = f"{prefix}-{i:06d}.npz"
        if not os.path.exists(path):
            break
        z = np.load(path)
        b = z["dense"].shape[0]
        assert len(z["indices"]) == 26 * b, "one id per bag expected"
        dense.append(z["dense"])
        ids.append(z["indices"].reshape(26, b).T)
    return np.concatenate(dense), np.concatenate(ids)


def as_inputs(dense, ids):
    b = dense.shape[0]
    return (torch.from_numpy(dense), torch.from_numpy(np.ascontiguousarray(ids.T).reshape(-1)),
            torch.arange(0, 26 * b + 1, dtype=torch.int64))


def train_light(heavy, light, dense, ids, seconds, batch=1024):
    with torch.no_grad():
        target = torch.cat([heavy.logit(*as_inputs(dense[i:i + 4096], ids[i:i + 4096])) for i in range(0, len(dense), 4096)])
    mean, std = target.mean(), target.std()
    target = (target - mean) / std
    log(f"heavy logits on {len(dense)} rows: mean {mean:.4f}, std {std:.4f}")
    held = len(dense) // 10  # the last tenth is held out to report the fit
    # Sparse gradients for the tables (a step touches ~26k of their 1.8M rows), dense for the MLPs.
    tables = list(light.bags.tables)
    for t in tables:
        t.sparse = True
    table_params = [t.weight for t in tables]
    other_params = [q for q in light.parameters() if all(q is not t for t in table_params)]
    optimisers = [torch.optim.SparseAdam(table_params, lr=1e-2), torch.optim.Adam(other_params, lr=3e-3)]
    rng = np.random.default_rng(0)
    start, step = time.time(), 0
    while time.time() - start < seconds:
        pick = rng.integers(0, len(dense) - held, batch)
        loss = torch.nn.functional.mse_loss(light.logit(*as_inputs(dense[pick], ids[pick])), target[pick])
        for o in optimisers:
            o.zero_grad()
        loss.backward()
        for o in optimisers:
            o.step()
        step += 1
        if step % 500 == 0:
            log(f"  step {step}, {time.time() - start:.0f} s: train MSE {loss.item():.4f}")
    with torch.no_grad():
        fit = light.logit(*as_inputs(dense[-held:], ids[-held:]))
        mse = torch.nn.functional.mse_loss(fit, target[-held:]).item()
        corr = np.corrcoef(fit.numpy(), target[-held:].numpy())[0, 1]
    for t in tables:
        t.sparse = False
    log(f"light model: {step} steps in {seconds} s; held-out MSE {mse:.4f} (of variance 1), correlation {corr:.4f}")
    return step, mse, corr


def write_pipeline(path, stages):
    """stages: (name, model file, devices, keep or None)."""
    lines = ['<pipeline name="recpipe" format_version="1">',
             '  <candidates>', '    <rows input="dense"/>', '    <bags indices="indices" offsets="offsets"/>', '  </candidates>']
    for name, model, devices, keep in stages:
        keep_attr = f' keep="{keep}"' if keep else ""
        lines.append(f'  <stage name="{name}" model="{os.path.basename(model)}" devices="{devices}" score="prob"{keep_attr}/>')
    lines.append("</pipeline>")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_rank(args, pipeline, prefix, queries, save):
    env = dict(os.environ, OMP_NUM_THREADS="1", POCL_MAX_PTHREAD_COUNT="1")
    cmd = ["nice", "-n", "-15", args.cagr_rank, f"--pipeline={pipeline}", f"--inputs={prefix}", f"--queries={queries}",
           f"--plugins={args.plugins}", "--report=json", "--noprogress", "--warmup=3"]
    if save:
        cmd.append(f"--save-ranking={save}")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def quality(full_ids, ranked_ids, k):
    """recall@k and NDCG@k (module docstring) averaged over queries; full_ids [Q, N] is the heavy
    model's order of all N, ranked_ids [Q, k'] what the pipeline returned (its first k count)."""
    recalls, ndcgs = [], []
    discount = 1.0 / np.log2(np.arange(k) + 2)
    ideal = float(np.sum((k - np.arange(k)) * discount))
    for full, got in zip(full_ids, ranked_ids):
        rank = np.empty(len(full), dtype=np.int64)
        rank[full] = np.arange(len(full))
        r = rank[got[:k]]
        recalls.append(np.mean(r < k))
        ndcgs.append(float(np.sum(np.where(r < k, k - r, 0) * discount)) / ideal)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build", help="the build folder holding cagr-rank and cagr-gen")
    p.add_argument("--workdir", default="/tmp/recpipe")
    p.add_argument("--settings", default="1024:32,1024:64,1024:128,4096:128", help="N:k,... (N candidates, k kept)")
    p.add_argument("--queries", default="1024:60,4096:20", help="N:queries per run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max-rows", type=int, default=50000)
    p.add_argument("--train-rows", type=int, default=262144)
    p.add_argument("--train-seconds", type=float, default=90)
    p.add_argument("--plugins", default="cpu")
    p.add_argument("--light-devices", default="cpu:0")
    p.add_argument("--heavy-devices", default="cpu:0")
    p.add_argument("--plot", default="")
    args = p.parse_args()
    args.cagr_rank = os.path.join(args.build, "tools", "cagr-rank", "cagr-rank")
    args.cagr_gen = os.path.join(args.build, "data", "cagr-gen")
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(1)  # two threads ran 10x slower on the loaded 2-core VM
    rows = R.capped(R.CRITEO_KAGGLE_ROWS, args.max_rows)
    settings = [tuple(int(x) for x in s.split(":")) for s in args.settings.split(",")]
    queries = {int(a): int(b) for a, b in (s.split(":") for s in args.queries.split(","))}

    heavy, light = make(rows, HEAVY, 0).eval(), make(rows, LIGHT, 1)
    heavy_path, light_path = os.path.join(args.workdir, "heavy.onnx"), os.path.join(args.workdir, "light.onnx")
    example = R.random_inputs(R.CRITEO_DENSE, rows, 4, seed=1, min_pooling=1, max_pooling=1)
    if not os.path.exists(heavy_path):
        R.export(heavy, example, heavy_path, dynamo=False)
    generate(args.cagr_gen, heavy_path, args.train_rows, 4096, 1, os.path.join(args.workdir, "train"))
    dense, ids = load_rows(os.path.join(args.workdir, "train"))
    steps, mse, corr = train_light(heavy, light, dense, ids, args.train_seconds)
    light.eval()
    R.export(light, example, light_path, dynamo=False)
    for n in sorted(queries):
        generate(args.cagr_gen, heavy_path, n * queries[n], n, 7, os.path.join(args.workdir, f"q{n}"))

    runs = {}  # label -> (pipeline, N, k or None)
    for n in sorted(queries):
        path = os.path.join(args.workdir, f"heavy_alone_{n}.xml")
        write_pipeline(path, [("heavy", heavy_path, args.heavy_devices, None)])
        runs[f"heavy alone, N={n}"] = (path, n, None)
    for n, k in settings:
        path = os.path.join(args.workdir, f"pipeline_{n}_{k}.xml")
        write_pipeline(path, [("light", light_path, args.light_devices, k), ("heavy", heavy_path, args.heavy_devices, None)])
        runs[f"light -> heavy, N={n}, k={k}"] = (path, n, k)

    results = {label: [] for label in runs}
    labels = list(runs)
    for r in range(args.rounds):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        for label in order:
            path, n, k = runs[label]
            save = os.path.join(args.workdir, f"ranking_{os.path.basename(path)}.npz") if r == 0 else None
            report = run_rank(args, path, os.path.join(args.workdir, f"q{n}"), queries[n], save)
            results[label].append(report)
            log(f"round {r + 1}: {label}: p50 {report['latency_us']['p50']:.0f} us, {report['queries_per_s']:.1f} queries/s")

    def ranking(label):
        return np.load(os.path.join(args.workdir, f"ranking_{os.path.basename(runs[label][0])}.npz"))["ids"]

    print(f"light model: {steps} Adam steps in {args.train_seconds:.0f} s on {len(dense)} cagr-gen rows; held-out MSE "
          f"{mse:.3f} of the heavy model's standardised logit (variance 1), correlation {corr:.3f}\n")
    print("| run | N | k | recall@k | NDCG@k | p50 ms | p99 ms | queries/s | p50 vs heavy alone | queries/s vs heavy alone |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    points = []
    for label in labels:
        path, n, k = runs[label]
        base = results[f"heavy alone, N={n}"]
        p50 = [x["latency_us"]["p50"] / 1000 for x in results[label]]
        p99 = [x["latency_us"]["p99"] / 1000 for x in results[label]]
        qps = [x["queries_per_s"] for x in results[label]]
        speed = [b["latency_us"]["p50"] / x["latency_us"]["p50"] for x, b in zip(results[label], base)]
        rate = [x["queries_per_s"] / b["queries_per_s"] for x, b in zip(results[label], base)]
        if k is None:
            cells = ["all N", "1.000 (itself)", "1.000 (itself)"]
        else:
            recall, ndcg = quality(ranking(f"heavy alone, N={n}"), ranking(label), k)
            cells = [str(k), f"{recall:.3f}", f"{ndcg:.3f}"]
            points.append((label, n, k, ndcg, recall, float(np.median(p50))))
        rng = lambda v, f, x="": f"{np.median(v):{f}}{x} ({min(v):{f}}-{max(v):{f}})"  # noqa: E731
        print(f"| {label.split(',')[0]} | {n} | " + " | ".join(cells) + f" | {rng(p50, '.2f')} | {rng(p99, '.2f')} | "
              f"{rng(qps, '.1f')} | {rng(speed, '.2f', 'x')} | {rng(rate, '.2f', 'x')} |")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for n in sorted(queries):
            base = float(np.median([x["latency_us"]["p50"] / 1000 for x in results[f"heavy alone, N={n}"]]))
            ax.scatter([base], [1.0], marker="s", s=60, label=f"heavy alone, N={n}")
            pts = [q for q in points if q[1] == n]
            ax.plot([q[5] for q in pts], [q[3] for q in pts], "o-", label=f"light -> heavy, N={n} (NDCG@k)")
            ax.plot([q[5] for q in pts], [q[4] for q in pts], "x--", label=f"light -> heavy, N={n} (recall@k)")
            for q in pts:
                ax.annotate(f"k={q[2]}", (q[5], q[3]), textcoords="offset points", xytext=(4, -10), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("p50 latency per query (ms, log scale; 2-core VM, 1 thread, loaded)")
        ax.set_ylabel("quality against the heavy model ranking all N")
        ax.set_title("RecPipe on CAGR (CPU plugin): quality vs latency")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        log(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
