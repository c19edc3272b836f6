"""CAGR on Ray Serve (docs/SERVING.md): a deployment whose replicas each hold one cagr.Model, with
Ray Serve's request batching in front of it.

A request is one sample of a DLRM-style model (inputs `dense`, `indices`, `offsets`, as cagr-zoo's
models have): its dense row and its bags, one list of ids per table,

    POST /   {"dense": [0.5, 0.25], "bags": [[1], [0, 2], ...]}  ->  {"prob": [0.53]}

or, through a deployment handle, `await handle.predict.remote(dense, bags)` with numpy arrays, which
returns {output name: numpy array}. Requests that arrive together (up to max_batch_size, none
waiting longer than batch_wait_timeout_s for others) go through one `Model.run`, and each gets its
own rows back.

Locally (starts a one-machine Ray cluster, serves on 127.0.0.1:8000 until Ctrl-C):

    python serving/cagr_serve_app.py --model build/samples/dlrm_avazu/model.xml --plugins cpu

On a running cluster (`ray start --head` / `ray up`), with Ray Serve's own command line:

    serve run serving.cagr_serve_app:build_app model=/path/model.xml plugins=cuda num_gpus=1
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import socket
import sys

import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

import cagr

INPUTS = ("dense", "indices", "offsets")


@dataclasses.dataclass
class Sample:
    dense: np.ndarray  # (dense width,) float32
    bags: list[np.ndarray]  # one int64 array of ids per table


def make_sample(dense, bags) -> Sample:
    """A sample from JSON lists or numpy arrays; ValueError naming what is wrong."""
    if not isinstance(bags, (list, tuple)) or not bags:
        raise ValueError("'bags' must be a non-empty list with one list of ids per table")
    try:
        d = np.asarray(dense, dtype=np.float32)
        b = [np.asarray(bag, dtype=np.int64) for bag in bags]
    except (TypeError, ValueError) as e:
        raise ValueError(f"'dense' must be numbers and each bag integer ids: {e}") from None
    if d.ndim != 1:
        raise ValueError(f"'dense' must be one row of numbers, got shape {d.shape}")
    for t, bag in enumerate(b):
        if bag.ndim != 1:
            raise ValueError(f"bag {t} must be a flat list of ids, got shape {bag.shape}")
    return Sample(d, b)


def batch_inputs(samples: list[Sample]) -> dict[str, np.ndarray]:
    """The model's inputs for several samples: dense rows stacked, and the bags table by table (all
    samples' bags of table 0, then of table 1, ...: embedding_bag's layout, abi/OPS.md), with
    offsets where each bag starts, plus the end. ValueError if the samples' bag counts differ."""
    tables = len(samples[0].bags)
    if any(len(s.bags) != tables for s in samples):
        raise ValueError(f"samples with different numbers of bags: {sorted({len(s.bags) for s in samples})}")
    bags = [s.bags[t] for t in range(tables) for s in samples]
    lengths = np.array([len(bag) for bag in bags], dtype=np.int64)
    return {
        "dense": np.stack([s.dense for s in samples]),
        "indices": np.concatenate(bags),
        "offsets": np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
    }


class CagrModel:
    """One replica: one cagr.Model, and Ray Serve's batching in front of it."""

    def __init__(self, model: str, plugins: str = "auto", max_batch_size: int = 64,
                 batch_wait_timeout_s: float = 0.001):
        self.model = cagr.Model(model, plugins=plugins)
        names = tuple(spec.name for spec in self.model.inputs)
        if sorted(names) != sorted(INPUTS):
            raise ValueError(f"{model}: this app serves models with inputs {INPUTS} (a DLRM as "
                             f"cagr-zoo writes), this one has {names}")
        self.run_batch.set_max_batch_size(max_batch_size)
        self.run_batch.set_batch_wait_timeout_s(batch_wait_timeout_s)

    def _run(self, samples: list[Sample]) -> list:
        """Outputs of each sample: one Model.run for the batch, its rows split back. If the batch
        fails (a sample with an id out of range, another number of bags ...), each sample runs
        alone so that only the bad ones get the error."""
        try:
            out = self.model.run(batch_inputs(samples))
            return [{name: a[i] for name, a in out.items()} for i in range(len(samples))]
        except (cagr.Error, ValueError) as e:
            if len(samples) == 1:
                return [e]
            return [r for s in samples for r in self._run([s])]

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.001)
    async def run_batch(self, samples: list[Sample]) -> list:
        # Model.run releases the GIL: run it in a thread so the replica keeps taking requests.
        return await asyncio.to_thread(self._run, samples)

    async def predict(self, dense: np.ndarray, bags: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Through a deployment handle: {output name: numpy array} of one sample."""
        result = await self.run_batch(make_sample(dense, bags))
        if isinstance(result, Exception):
            raise result
        return result

    async def __call__(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
            if not isinstance(body, dict) or not {"dense", "bags"} <= body.keys():
                raise ValueError('the body must be a JSON object {"dense": [...], "bags": [[...], ...]}')
            sample = make_sample(body["dense"], body["bags"])
        except ValueError as e:  # json.JSONDecodeError is one
            return JSONResponse({"error": f"bad request: {e}"}, status_code=400)
        result = await self.run_batch(sample)
        if isinstance(result, Exception):
            return JSONResponse({"error": str(result)}, status_code=400)
        return JSONResponse({name: a.tolist() for name, a in result.items()})


def build_app(args: dict) -> serve.Application:
    """The application, from `serve run ...:build_app key=value ...` or a Serve config file's args:
    model (required), plugins ("auto"), num_replicas (2), max_batch_size (64),
    batch_wait_timeout_s (0.001), num_cpus (1) and num_gpus (0) per replica."""
    if "model" not in args:
        raise ValueError("build_app: 'model' (a model.xml or .onnx path) is required")
    max_batch = int(args.get("max_batch_size", 64))
    deployment = serve.deployment(CagrModel).options(
        name="CagrModel",
        num_replicas=int(args.get("num_replicas", 2)),
        # Enough requests in a replica at once to fill a batch while the previous one runs (and,
        # without batching, to queue there: a replica that is full makes the proxy back off).
        max_ongoing_requests=max(2 * max_batch, 64),
        ray_actor_options={"num_cpus": float(args.get("num_cpus", 1)),
                           "num_gpus": float(args.get("num_gpus", 0))})
    return deployment.bind(str(args["model"]), str(args.get("plugins", "auto")), max_batch,
                           float(args.get("batch_wait_timeout_s", 0.001)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model.xml or .onnx, a path every replica can read")
    p.add_argument("--plugins", default="auto", help="as cagr.Model's plugins: auto, cpu, cuda, ...")
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--max-batch-size", type=int, default=64, help="1: no batching")
    p.add_argument("--batch-wait-timeout-s", type=float, default=0.001)
    p.add_argument("--num-cpus", type=float, default=1, help="per replica")
    p.add_argument("--num-gpus", type=float, default=0, help="per replica (1 for the CUDA plugin)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--address", default="local",
                   help="Ray cluster: 'local' starts one on this machine, 'auto' joins a running one")


def start(args: argparse.Namespace) -> serve.handle.DeploymentHandle:
    """Starts (or joins) Ray and runs the app as 'cagr' at '/'; returns once every replica is up."""
    import ray

    # Replicas import this module: put its folder on their path (a local cluster's workers inherit
    # the environment; on a cluster, ship the folder with a runtime_env's working_dir instead).
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    local = args.address == "local"
    if local:  # Serve's proxy would report the app ready on a port it could not take
        with socket.socket() as sock:
            try:
                sock.bind((args.host, args.port))
            except OSError as e:
                raise SystemExit(f"cagr_serve_app: cannot listen on {args.host}:{args.port}: {e}")
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False,
             **({"num_cpus": max(2, int(args.replicas * args.num_cpus)),
                 "object_store_memory": 100 << 20} if local else {}))
    serve.start(http_options={"host": args.host, "port": args.port})
    app = build_app({"model": args.model, "plugins": args.plugins, "num_replicas": args.replicas,
                     "max_batch_size": args.max_batch_size,
                     "batch_wait_timeout_s": args.batch_wait_timeout_s,
                     "num_cpus": args.num_cpus, "num_gpus": args.num_gpus})
    return serve.run(app, name="cagr", route_prefix="/")


def stop() -> None:
    """Stops the app and this process's Ray (a local cluster with it), if started."""
    import ray

    if ray.is_initialized():
        serve.shutdown()
        ray.shutdown()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    args = p.parse_args()
    start(args)
    print(f"cagr_serve_app: {args.replicas} replicas of {args.model} at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops)", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
