"""The CPU plugin on shared cores: cagr-run's latency alone and beside a competing CPU hog.

For each configuration (a plugin file, its options, the environment) and batch size, runs
`cagr-run --report=json` on a zoo model, first alone and then with one busy process per --hogs
(`yes > /dev/null`), in rounds whose order rotates, and prints p50 and p99 as ranges over the
rounds (docs/PERF.md, "Shared cores").

    python3 bench/cpu_shared_cores.py --cagr-run build/tools/cagr-run/cagr-run \
        --config before=build-old/plugins/libcagr_cpu.so --config auto=build/plugins/libcagr_cpu.so \
        --config passive=build/plugins/libcagr_cpu.so:env:OMP_WAIT_POLICY=passive --model m.xml
A configuration is NAME=PLUGIN[:opt:KEY=VALUE][:env:KEY=VALUE]...
"""
import argparse
import json
import os
import subprocess
import tempfile


def parse_config(text):
    name, rest = text.split("=", 1)
    parts = rest.split(":")
    config = {"name": name, "plugin": parts[0], "options": {}, "env": {}}
    for kind, kv in zip(parts[1::2], parts[2::2]):
        key, value = kv.split("=", 1)
        config["options" if kind == "opt" else "env"][key] = value
    return config


def run(args, config, batch, manifest_dir):
    cmd = [args.cagr_run, f"--model={args.model}", f"--batch={batch}",
           f"--plugins={config['plugin']}", "--report=json", "--noprofile", "--noprogress",
           f"--iterations={args.iterations if batch < 1024 else max(10, args.iterations // 8)}"]
    if "threads" not in config["options"]:
        cmd.append(f"--threads={args.threads}")
    if config["options"]:
        path = os.path.join(manifest_dir, config["name"] + ".xml")
        with open(path, "w") as f:
            opts = "".join(f"<option key='{k}' value='{v}'/>" for k, v in config["options"].items())
            f.write(f"<plugins><plugin name='cpu'>{opts}</plugin></plugins>")
        cmd.append(f"--plugin-manifest={path}")
    env = dict(os.environ, **config["env"])
    out = subprocess.run(["nice", "-n", str(args.nice)] + cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["latency_us"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cagr-run", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--config", action="append", required=True, type=parse_config)
    ap.add_argument("--batches", default="64,2048")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hogs", type=int, default=1, help="busy processes in the loaded runs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=300, help="timed runs per measurement (1/8 at batch >= 1024)")
    ap.add_argument("--nice", type=int, default=-15)
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    results = {}  # (load, batch, config) -> [(p50, p99)]
    with tempfile.TemporaryDirectory() as manifest_dir:
        for load in ("alone", f"{args.hogs} hog"):
            hogs = [] if load == "alone" else [
                subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.hogs)]
            try:
                for r in range(args.rounds):
                    order = args.config[r % len(args.config):] + args.config[:r % len(args.config)]
                    for batch in batches:
                        for config in order:
                            lat = run(args, config, batch, manifest_dir)
                            results.setdefault((load, batch, config["name"]), []).append((lat["p50"], lat["p99"]))
            finally:
                for h in hogs:
                    h.kill()
                    h.wait()
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    print(f"{args.model}, {args.threads} threads, {args.rounds} rounds; load average after: {' '.join(load_after)}\n")
    print("| load | batch | config | p50 us (min-max) | p99 us (min-max) |")
    print("|---|---:|---|---:|---:|")

    def rng(values):
        return f"{sorted(values)[len(values) // 2]:,.0f} ({min(values):,.0f}-{max(values):,.0f})"
    for (load, batch, name), vals in results.items():
        print(f"| {load} | {batch} | {name} | {rng([v[0] for v in vals])} | {rng([v[1] for v in vals])} |")


if __name__ == "__main__":
    main()
