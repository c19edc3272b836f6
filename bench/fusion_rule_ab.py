#!/usr/bin/env python3
"""One fusion rule's effect on a model, side by side in one run: cagr-run with every fusion rule
against cagr-run following a plan without that rule (the same build, plugins and threads; the plan
is the first one's, saved with --save-plan, with the rule taken out of its fusion_rules, so nodes
the rule fused are placed again by cost hints). The two are timed in turns, --rounds rounds of
--seconds each, the order swapping every round, so that both see the same load on a shared machine.
Prints a markdown table per batch: the medians of each side's p50 and the range over rounds of
(without / with), the ratio taken within a round.

    python3 bench/fusion_rule_ab.py --cagr-run build/tools/cagr-run/cagr-run \\
        --plugin build/plugins/libcagr_cpu.so --model MODEL.onnx --rule cross \\
        [--batches 64,2048] [--threads 1] [--rounds 7] [--seconds 1]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile


def cagr_run(args, batch, extra, report):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    command = [args.cagr_run, f"--model={args.model}", f"--plugins={args.plugin}", f"--batch={batch}",
               f"--threads={args.threads}", "--profile=false", "--progress=false", "--report=json",
               f"--report-file={report}"] + extra
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)


def plan_without(plan_path, rule, out_path):
    with open(plan_path) as f:
        text = f.read()
    match = re.search(r'fusion_rules="([^"]*)"', text)
    if match is None or rule not in match.group(1).split(","):
        sys.exit(f"{plan_path}: its fusion_rules {match.group(1) if match else '(none)'} do not include '{rule}'")
    kept = ",".join(r for r in match.group(1).split(",") if r != rule)
    with open(out_path, "w") as f:
        f.write(text.replace(match.group(0), f'fusion_rules="{kept}"'))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cagr-run", required=True)
    parser.add_argument("--plugin", required=True, help="the plugin file(s), as cagr-run --plugins takes them")
    parser.add_argument("--model", required=True)
    parser.add_argument("--rule", required=True, help="the fusion rule to leave out (core/optimizer/fusion.hpp)")
    parser.add_argument("--batches", default="64,2048")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    print(f"model {os.path.basename(args.model)}, rule '{args.rule}', {args.threads} thread(s), "
          f"{args.rounds} rounds of {args.seconds} s per side\n")
    print(f"| batch | p50 us with '{args.rule}' | p50 us without | without / with (min-max over rounds) | fusions with it |")
    print("|---:|---:|---:|---|---|")
    with tempfile.TemporaryDirectory() as work:
        report = os.path.join(work, "report.json")
        for batch in [int(b) for b in args.batches.split(",")]:
            full, reduced = os.path.join(work, "all.plan.xml"), os.path.join(work, "without.plan.xml")
            saved = cagr_run(args, batch, ["--iterations=1", f"--save-plan={full}"], report)
            plan_without(full, args.rule, reduced)
            sides = {"with": [f"--time={args.seconds}"], "without": [f"--time={args.seconds}", f"--load-plan={reduced}"]}
            p50 = {"with": [], "without": []}
            for r in range(args.rounds):
                order = ["with", "without"] if r % 2 == 0 else ["without", "with"]
                for side in order:
                    p50[side].append(cagr_run(args, batch, sides[side], report)["latency_us"]["p50"])
                print(f"  batch {batch} round {r + 1}: with {p50['with'][-1]:.0f} us, without {p50['without'][-1]:.0f} us",
                      file=sys.stderr, flush=True)
            ratios = [b / a for a, b in zip(p50["with"], p50["without"])]
            print(f"| {batch} | {statistics.median(p50['with']):,.0f} | {statistics.median(p50['without']):,.0f} | "
                  f"**{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}) | "
                  f"{len(saved['placement']['fusions'])} |", flush=True)


if __name__ == "__main__":
    main()
