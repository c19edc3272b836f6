"""Load test of serving/cagr_serve_app.py (docs/SERVING.md): one-sample requests sent by a Poisson
process at a target rate (open loop: a request is sent when it is due, whether or not earlier ones
were answered), over HTTP or through a deployment handle. Reports the rate achieved and p50 / p95 /
p99 latency (from when each request was due to its answer), and checks every answer against a
serial cagr.Model run of the same sample alone: exit status 1 if any request got no answer, an
error, or outputs more than 1e-6 from the serial run's.

Against an app already running (python serving/cagr_serve_app.py --model M ...):

    python serving/load_test.py --model M --rate 500 --requests 2000

or starting the app itself (a local Ray cluster; the app's options apply) and stopping it after:

    python serving/load_test.py --start-app --model M --plugins cpu --replicas 2 --rate 500 --requests 2000

The samples fit cagr-zoo's DLRMs (--tables 22 for dlrm_avazu_sample; ids below --id-range, which
every table of the model must have).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cagr  # noqa: E402
import cagr_serve_app as app  # noqa: E402

TOLERANCE = 1e-6


def make_samples(count: int, tables: int, id_range: int, max_bag: int, dense_width: int,
                 seed: int) -> list[app.Sample]:
    """Random samples: a dense row, and per table a bag of 1..max_bag ids below id_range."""
    rng = np.random.default_rng(seed)
    return [app.Sample(rng.random(dense_width, dtype=np.float32),
                       [rng.integers(0, id_range, rng.integers(1, max_bag + 1), dtype=np.int64)
                        for _ in range(tables)])
            for _ in range(count)]


def serial_outputs(model: cagr.Model, samples: list[app.Sample]) -> list[dict[str, np.ndarray]]:
    """Each sample's outputs from a run of that sample alone."""
    expected = []
    for s in samples:
        out = model.run(app.batch_inputs([s]))
        expected.append({name: a[0] for name, a in out.items()})
    return expected


def difference(got: dict, want: dict[str, np.ndarray]) -> float:
    """Largest absolute difference over the outputs (inf where either has a NaN); ValueError if
    names or shapes differ."""
    if not isinstance(got, dict) or set(got) != set(want):
        raise ValueError(f"outputs {sorted(got) if isinstance(got, dict) else type(got).__name__}, "
                         f"expected {sorted(want)}")
    worst = 0.0
    for name, w in want.items():
        g = np.asarray(got[name], dtype=np.float64)
        if g.shape != w.shape:
            raise ValueError(f"output '{name}' has shape {g.shape}, expected {w.shape}")
        d = np.abs(g - w)
        worst = max(worst, np.inf if np.isnan(d).any() else float(np.max(d, initial=0.0)))
    return worst


class HttpClient:
    def __init__(self, url: str, concurrency: int):
        import aiohttp

        self.url = url
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                             timeout=aiohttp.ClientTimeout(total=60))

    async def send(self, s: app.Sample) -> dict:
        body = {"dense": s.dense.tolist(), "bags": [b.tolist() for b in s.bags]}
        async with self.session.post(self.url, json=body) as r:
            answer = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {answer.get('error', answer)}")
            return answer

    async def close(self) -> None:
        await self.session.close()


class HandleClient:
    def __init__(self, app_name: str):
        from ray import serve

        self.handle = serve.get_app_handle(app_name)

    async def send(self, s: app.Sample) -> dict:
        return await self.handle.predict.remote(s.dense, s.bags)

    async def close(self) -> None:
        pass


async def wait_until_ready(client, sample: app.Sample, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            await client.send(sample)
            return
        except Exception as e:  # connection refused while the app starts, ...
            if time.monotonic() > deadline:
                raise SystemExit(f"load_test: the app did not answer within {wait_s} s: {e}")
            await asyncio.sleep(0.5)


async def load(client, samples, expected, rate: float, requests: int, seed: int) -> dict:
    """Sends `requests` requests (sample i % len(samples)) at Poisson times of mean rate `rate`."""
    rng = np.random.default_rng(seed + 1)
    due = np.cumsum(rng.exponential(1.0 / rate, requests))
    latency = np.full(requests, np.nan)
    errors: list[str] = []  # one line per request not answered, or answered wrongly
    worst = 0.0

    async def one(i: int, t0: float) -> None:
        nonlocal worst
        try:
            got = await client.send(samples[i % len(samples)])
            latency[i] = time.perf_counter() - (t0 + due[i])
            d = difference(got, expected[i % len(samples)])
            worst = max(worst, d)
            if d > TOLERANCE:
                errors.append(f"request {i} (sample {i % len(samples)}): {d:.3g} from the serial run")
        except Exception as e:
            errors.append(f"request {i}: {type(e).__name__}: {e}")

    t0 = time.perf_counter()
    tasks = []
    for i in range(requests):
        delay = t0 + due[i] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, t0)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    answered = latency[~np.isnan(latency)]
    return {"elapsed": elapsed, "answered": answered, "errors": errors, "worst": worst}


async def run(args, via: str, rate: float, samples, expected) -> int:
    client = (HttpClient(f"http://{args.host}:{args.port}/", args.concurrency) if via == "http"
              else HandleClient("cagr"))
    try:
        await wait_until_ready(client, samples[0], args.wait_s)
        r = await load(client, samples, expected, rate, args.requests, args.seed)
    finally:
        await client.close()
    ok, wrong = r["answered"], r["errors"]
    p50, p95, p99 = (np.percentile(ok, (50, 95, 99)) * 1e3) if len(ok) else (np.nan,) * 3
    print(f"load_test ({via}): {args.requests} requests at {rate:g}/s (Poisson), "
          f"{len(ok)} answered in {r['elapsed']:.2f} s: {len(ok) / r['elapsed']:.1f} answers/s; "
          f"latency p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms; "
          f"largest difference from the serial run {r['worst']:.2g}")
    if wrong or len(ok) != args.requests:
        print(f"load_test: FAILED: {len(wrong)} of {args.requests} requests not answered, or not "
              f"within {TOLERANCE:g} of the serial run", file=sys.stderr)
        for e in wrong[:10]:
            print(f"  {e}", file=sys.stderr)
        return 1
    print(f"load_test: every answer within {TOLERANCE:g} of the serial run")
    return 0


def time_limit(*_) -> None:
    raise SystemExit("load_test: --time-limit-s reached, stopping")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", default="200",
                   help="target requests per second; several (50,100,200): one load test each")
    p.add_argument("--requests", type=int, default=1000, help="per load test")
    p.add_argument("--via", default="http",
                   help="http, handle (through a deployment handle, as a driver of the app's Ray "
                        "cluster) or both, http,handle: one load test after the other")
    p.add_argument("--concurrency", type=int, default=256, help="HTTP connections at most")
    p.add_argument("--samples", type=int, default=64, help="distinct samples, sent in turn")
    p.add_argument("--tables", type=int, default=22)
    p.add_argument("--id-range", type=int, default=3)
    p.add_argument("--max-bag", type=int, default=3, help="ids per bag: 1 to this many")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wait-s", type=float, default=60, help="for the app's first answer")
    p.add_argument("--start-app", action="store_true",
                   help="start the app (options below; --port 0: a free port) on a local Ray "
                        "cluster, stop it after")
    p.add_argument("--time-limit-s", type=int, default=0,
                   help="stop (the app too) with exit status 1 after this long (0: no limit)")
    app.add_arguments(p.add_argument_group("the app (with --start-app; --model, --plugins also for "
                                           "the serial run; --host, --port where it listens)"))
    args = p.parse_args()
    try:
        rates = [float(r) for r in args.rate.split(",")]
    except ValueError:
        p.error(f"--rate {args.rate}: numbers, comma-separated")
    if min(rates) <= 0 or args.requests <= 0 or args.samples <= 0:
        p.error("--rate, --requests and --samples must be positive")
    vias = args.via.split(",")
    if not vias or not set(vias) <= {"http", "handle"}:
        p.error(f"--via {args.via}: http, handle or http,handle")
    if args.time_limit_s > 0:
        signal.signal(signal.SIGALRM, time_limit)
        signal.alarm(args.time_limit_s)

    reference = cagr.Model(args.model, plugins=args.plugins)
    dense_width = dict((s.name, s.shape) for s in reference.inputs)["dense"][1]
    samples = make_samples(args.samples, args.tables, args.id_range, args.max_bag, dense_width,
                           args.seed)
    expected = serial_outputs(reference, samples)

    try:
        if args.start_app:
            if args.port == 0:
                with socket.socket() as sock:
                    sock.bind((args.host, 0))
                    args.port = sock.getsockname()[1]
            t = time.perf_counter()
            app.start(args)
            print(f"load_test: app started in {time.perf_counter() - t:.1f} s", flush=True)
        elif "handle" in vias:
            import ray

            ray.init(address="auto", log_to_driver=False)
        return max([asyncio.run(run(args, via, rate, samples, expected))
                    for via in vias for rate in rates])
    finally:
        if args.start_app:
            app.stop()


if __name__ == "__main__":
    sys.exit(main())
