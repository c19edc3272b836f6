#!/usr/bin/env python3
"""What cagr.Model.run adds to a call of the C API: the same model, batch and inputs timed through
the C API from C (bench/c_api_run_bench.c: cagr_session_run + cagr_session_output) and through
m.run from Python, in interleaved rounds (C first in even rounds, Python first in odd ones). Prints
each round's medians and the overhead (Python median - C median) per call, then its range.

    PYTHONPATH=build/python python3 bench/python_overhead.py \\
        --c-bench=build/bench/c_api_run_bench --model=build/samples/dlrm_avazu/model.xml

The C side runs in its own process (started each round; its model is loaded, planned at the batch
and warmed there), the Python side in this one (a model per batch, planned at that batch); both on
the plugins given (cpu), optimizer "hints", single-threaded callers.
"""

import argparse
import statistics
import subprocess
import time

import numpy as np

import cagr

TABLES = 22
WARMUP = 50


def inputs_for(batch: int) -> dict:
    """The inputs c_api_run_bench.c makes: dense (i % 7) / 7, ids i % 3, one id per bag."""
    ids = batch * TABLES
    return {
        "dense": (np.arange(batch * 2) % 7).astype(np.float32).reshape(batch, 2) / np.float32(7),
        "indices": np.arange(ids, dtype=np.int64) % 3,
        "offsets": np.arange(ids + 1, dtype=np.int64),
    }


def time_c(c_bench: str, model: str, batch: int, calls: int, plugins: str) -> list:
    out = subprocess.run([c_bench, model, str(batch), str(calls), plugins], check=True, capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


def time_python(m: cagr.Model, inputs: dict, calls: int) -> list:
    for _ in range(WARMUP):
        m.run(inputs)
    times = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        m.run(inputs)
        times.append(clock() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--c-bench", required=True, help="the c_api_run_bench program")
    parser.add_argument("--model", required=True, help="the zoo's dlrm_avazu_sample model.xml")
    parser.add_argument("--batches", default="1,128", help="comma-separated batch sizes (1,128)")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per round and side (2000)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds (6)")
    parser.add_argument("--plugins", default="cpu")
    args = parser.parse_args()

    for batch in [int(b) for b in args.batches.split(",")]:
        inputs = inputs_for(batch)
        # A model per batch: its plan is made at its first run, at this batch, as the C side's is.
        m = cagr.Model(args.model, plugins=args.plugins, optimizer="hints")
        m.run(inputs)
        overheads, ratios = [], []
        print(f"batch {batch}: {args.rounds} rounds of {args.calls} calls each side; medians in us")
        for r in range(args.rounds):
            if r % 2 == 0:
                c = time_c(args.c_bench, args.model, batch, args.calls, args.plugins)
                py = time_python(m, inputs, args.calls)
            else:
                py = time_python(m, inputs, args.calls)
                c = time_c(args.c_bench, args.model, batch, args.calls, args.plugins)
            c_med, py_med = statistics.median(c) / 1e3, statistics.median(py) / 1e3
            overheads.append(py_med - c_med)
            ratios.append(py_med / c_med)
            print(f"  round {r}: C API {c_med:8.2f}  m.run {py_med:8.2f}  overhead {py_med - c_med:+7.2f} us"
                  f"  (min {min(c) / 1e3:.2f} / {min(py) / 1e3:.2f})")
        print(f"batch {batch}: overhead per call {min(overheads):+.2f} .. {max(overheads):+.2f} us "
              f"(median {statistics.median(overheads):+.2f}); m.run / C API {min(ratios):.3f} .. {max(ratios):.3f}")


if __name__ == "__main__":
    main()
