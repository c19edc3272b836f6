#!/usr/bin/env python3
"""Plots optimizer_bench's CSV (--csv): per row (model, batch, devices), each mode's speed-up over the
unoptimised plan (none) and its optimisation time. Writes a PNG.

    python3 bench/plot_optimizer.py optimizer.csv docs/optimizer_cpu.png --title "2-core VM: CPU plugin and PoCL"
"""
import argparse
import csv
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = ["hints", "policy", "tune"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("png")
    p.add_argument("--title", default="")
    a = p.parse_args()
    rows = OrderedDict()
    with open(a.csv) as f:
        for r in csv.DictReader(f):
            key = f"{r['model']}\nb{r['batch']} {r['devices']}"
            rows.setdefault(key, {})[r["mode"]] = (float(r["latency_us"]), float(r["optimise_s"]))
    keys = [k for k, v in rows.items() if "none" in v]
    fig, (speed, time) = plt.subplots(2, 1, figsize=(max(8, 0.9 * len(keys)), 8), sharex=True)
    width = 0.8 / len(MODES)
    for i, mode in enumerate(MODES):
        xs = [k for k in range(len(keys)) if mode in rows[keys[k]]]
        speed.bar([x + i * width for x in xs], [rows[keys[x]]["none"][0] / rows[keys[x]][mode][0] for x in xs], width, label=mode)
        time.bar([x + i * width for x in xs], [rows[keys[x]][mode][1] for x in xs], width, label=mode)
    speed.axhline(1.0, color="black", linewidth=0.8)
    speed.set_ylabel("speed-up over no optimisation (x)")
    time.set_ylabel("optimisation time (s)")
    time.set_yscale("log")
    time.set_xticks([k + width for k in range(len(keys))])
    time.set_xticklabels(keys, rotation=60, ha="right", fontsize=7)
    speed.legend()
    speed.set_title(a.title)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)


if __name__ == "__main__":
    main()
