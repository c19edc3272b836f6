#!/usr/bin/env python3
"""One stream against several: DLRM's forward pass (inputs resident) with every node queued on one
stream (cagr-run --streams=1) and with independent branches on their own streams (--streams=4),
alternating the two in one process run after another so that clocks and the card's state drift
alike for both. Prints a markdown table of p50 latencies and the ratio per configuration.

    python3 bench/streams_ab.py --build=build-device --plugins=build-device/plugins/libcagr_cuda.so
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(args, model, manifest, batch, streams):
    cmd = [os.path.join(args.build, "tools/cagr-run/cagr-run"), f"--model={model}", f"--plugins={args.plugins}",
           f"--batch={batch}", f"--iterations={args.iterations}", "--warmup=10", "--resident_inputs", "--report=json",
           "--profile=false", "--probe=false", f"--streams={streams}"]
    if manifest:
        cmd.append(f"--plugin_manifest={manifest}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["latency_us"]["p50"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--plugins", required=True)
    p.add_argument("--model", default="dlrm_kaggle")
    p.add_argument("--batches", default="2048,16384")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5, help="alternations of the two settings per configuration")
    args = p.parse_args()

    tmp = tempfile.mkdtemp()
    model = os.path.join(tmp, args.model, "model.xml")
    subprocess.run([os.path.join(args.build, "tools/model_zoo/cagr-zoo"), f"--model={args.model}", f"--out={model}"],
                   check=True, capture_output=True)
    tf32 = os.path.join(tmp, "tf32.xml")
    with open(tf32, "w") as f:
        f.write('<plugins><plugin name="cuda"><option key="allow_tf32" value="1"/></plugin></plugins>\n')

    print(f"{args.model}, forward pass with inputs resident, p50 of {args.iterations} runs; median over {args.rounds} "
          "alternating rounds (us)\n")
    print("| precision | batch | 1 stream | up to 4 streams | ratio (1 / 4) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for precision, manifest in (("f32", None), ("TF32", tf32)):
        for batch in (int(b) for b in args.batches.split(",")):
            one, many = [], []
            for _ in range(args.rounds):
                one.append(run(args, model, manifest, batch, 1))
                many.append(run(args, model, manifest, batch, 4))
                print(f"  {precision} {batch}: {one[-1]:.1f} / {many[-1]:.1f}", file=sys.stderr)
            a, b = statistics.median(one), statistics.median(many)
            print(f"| {precision} | {batch} | {a:.1f} | {b:.1f} | {a / b:.3f} |")


if __name__ == "__main__":
    main()
