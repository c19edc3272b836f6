#!/usr/bin/env python3
"""Where a forward pass's time goes on an NVIDIA GPU, two ways, in one run:

- per kernel, from Nsight Compute (`ncu --metrics gpu__time_duration.sum`: each kernel timed alone,
  caches flushed, clocks at base, so the sum runs above the replayed pass): the kernels of the last
  of the passes cagr-run makes, in launch order;
- per node, from cagr-run's profile (events recorded around each node, ABI 1.1).

    python3 bench/gpu_kernel_times.py --build build-device          # on the GPU machine
    python3 bench/gpu_kernel_times.py --csv ncu-f32-16384.csv       # tabulate an ncu CSV already taken
"""
import argparse
import csv
import io
import os
import subprocess
import tempfile


def last_pass(rows):
    """The kernels of the last pass: the shortest tail that repeats the stretch before it."""
    names = [name for name, _ in rows]
    for length in range(1, len(rows) // 2 + 1):
        if names[-length:] == names[-2 * length:-length]:
            return rows[-length:]
    return rows


def parse_ncu_csv(text):
    lines = [line for line in text.splitlines() if line.startswith('"')]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader)
    name, value = header.index("Kernel Name"), header.index("Metric Value")
    return [(r[name], float(r[value].replace(",", "")) / 1000.0) for r in reader if len(r) > value]


def print_kernels(title, rows):
    rows = last_pass(rows)
    print(f"\n{title}: {len(rows)} kernels, {sum(us for _, us in rows):.1f} us in all\n")
    print("| # | kernel | us |\n| ---: | --- | ---: |")
    for i, (name, us) in enumerate(rows):
        print(f"| {i} | `{name[:90]}` | {us:.1f} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-device")
    p.add_argument("--model", default="dlrm_kaggle")
    p.add_argument("--batches", default="16384,2048")
    p.add_argument("--precisions", default="f32,tf32", help="f32, tf32 (allow_tf32=1), bf16 (allow_tf32=1 allow_bf16=1)")
    p.add_argument("--csv", help="only tabulate this ncu CSV")
    args = p.parse_args()
    if args.csv:
        with open(args.csv) as f:
            print_kernels(args.csv, parse_ncu_csv(f.read()))
        return

    tmp = tempfile.mkdtemp()
    model = os.path.join(tmp, args.model, "model.xml")
    subprocess.run([os.path.join(args.build, "tools/model_zoo/cagr-zoo"), f"--model={args.model}", f"--out={model}"],
                   check=True, capture_output=True)
    manifests = {}
    for precision, keys in (("tf32", ["allow_tf32"]), ("bf16", ["allow_tf32", "allow_bf16"])):
        manifests[precision] = os.path.join(tmp, precision + ".xml")
        with open(manifests[precision], "w") as f:
            options = "".join(f'<option key="{k}" value="1"/>' for k in keys)
            f.write(f'<plugins><plugin name="cuda">{options}</plugin></plugins>\n')
    run = [os.path.join(args.build, "tools/cagr-run/cagr-run"), f"--model={model}",
           f"--plugins={os.path.join(args.build, 'plugins/libcagr_cuda.so')}", "--resident_inputs", "--probe=false"]
    for precision in args.precisions.split(","):
        manifest = [f"--plugin_manifest={manifests[precision]}"] if precision in manifests else []
        for batch in args.batches.split(","):
            title = f"{args.model} {precision} batch {batch}"
            out = subprocess.run(["ncu", "--metrics", "gpu__time_duration.sum", "--csv"] + run + manifest +
                                 [f"--batch={batch}", "--iterations=2", "--warmup=0", "--profile=false", "--graph_capture=false"],
                                 check=True, capture_output=True, text=True).stdout
            print_kernels(f"{title}, ncu", parse_ncu_csv(out))
            profile = subprocess.run(run + manifest + [f"--batch={batch}", "--iterations=50"],
                                     check=True, capture_output=True, text=True).stdout
            print(f"\n{title}, cagr-run's profile:\n```")
            print(profile[profile.index("per node"):profile.index("forward pass")].strip())
            print("```")


if __name__ == "__main__":
    main()
