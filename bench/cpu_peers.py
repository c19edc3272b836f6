"""CAGR's CPU plugin against onnxruntime and OpenVINO on the same ONNX files (issue 25).

For each gallery model (bench/onnx_vs_ort.py exports them: its functions are imported, not
copied), each batch and this process's thread count: CAGR (libcagr through the C API, the CPU
plugin only), onnxruntime (CPUExecutionProvider, intra_op_num_threads) and OpenVINO (CPU,
INFERENCE_NUM_THREADS, f32 inference precision) run the TorchScript export (Loop-free for these
models) on the same inputs, in blocks of >= --seconds whose order rotates each round; a block's
p50 per contender, then median (min-max) over the rounds. Outputs are checked against each other
(TOLERANCE relative, as onnx_vs_ort.py). The limit: the MLP FLOPs (MatMul / Gemm weights x 2 x
batch) at this machine's sgemm peak (the fastest of numpy, PyTorch and onnxruntime, 2048^3) plus the bytes (weights of those layers, the
embedding rows the ids gather, the inputs) at its copy speed (numpy, 256 MiB), per row.

Threads are fixed per process (libgomp reads OMP_NUM_THREADS at load): run once per count.

    pip install openvino   # a benchmark dependency, not the runtime's
    for t in 1 2; do OMP_NUM_THREADS=$t python3 bench/cpu_peers.py --libcagr build/core/libcagr.so \\
        --plugin build/plugins/libcagr_cpu.so --threads $t --batches 1,64,2048; done
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_vs_ort as B  # noqa: E402


def machine_limits(threads):
    """(sgemm GFLOP/s, copy GB/s) on `threads` threads (best of 3): the sgemm peak is the fastest of
    numpy's, PyTorch's and onnxruntime's 2048^3 products (numpy's OpenBLAS and PyTorch's library may
    take a narrower vector path than the machine has: 111 GFLOP/s a core on the AVX-512 VM, where
    onnxruntime's MLAS reaches 178 and oneDNN's linears about 197), the copy numpy's."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper
    torch.set_num_threads(threads)
    n = 2048
    a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    square = [n, n]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                              [helper.make_tensor_value_info(k, TensorProto.FLOAT, square) for k in ("a", "b")],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, square)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    products = [lambda: a @ b, lambda: ta @ tb, lambda: session.run(None, {"a": a, "b": b})]
    for p in products:
        p()
    gemm = min(min(B.timed_block(p, 0.0, 3)) for p in products)
    src = np.ones(64 << 20, np.float32)
    dst = np.empty_like(src)
    copy = min(B.timed_block(lambda: np.copyto(dst, src), 0.0, 3))
    return 2 * n ** 3 / gemm / 1e9, 2 * src.nbytes / copy / 1e9  # copy: read + write


def model_work(path, inputs, batch):
    """(FLOPs, bytes) of one batch: MatMul/Gemm weights x 2 x batch; bytes as the docstring says."""
    import onnx
    graph = onnx.load(path).graph
    inits = {i.name: tuple(i.dims) for i in graph.initializer}
    flops = weight_bytes = 0
    dim = 0
    for node in graph.node:
        for name in node.input:
            dims = inits.get(name)
            if dims is None or len(dims) != 2:
                continue
            if node.op_type in ("MatMul", "Gemm"):
                flops += 2 * batch * dims[0] * dims[1]
                weight_bytes += 4 * dims[0] * dims[1]
            elif node.op_type == "Gather" and name == node.input[0]:
                dim = max(dim, dims[1])
    ids = sum(v.size for v in inputs.values() if v.dtype == np.int64)
    return flops, weight_bytes + ids * dim * 4 + sum(v.nbytes for v in inputs.values())


def openvino_session(path, threads):
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                                                "INFERENCE_PRECISION_HINT": "f32"})
    return compiled.create_infer_request(), compiled


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libcagr", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--threads", type=int, required=True, help="the same for all three (set OMP_NUM_THREADS too)")
    ap.add_argument("--models", default="dlrm_embedding,deepfm,wide_deep,dcn_v2,din")
    ap.add_argument("--batches", default="1,64,2048")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--workdir", default="/tmp/cagr_onnx_bench")
    ap.add_argument("--session-per-batch", action="store_true",
                    help="a CAGR session per batch, planned at that batch (default: one session per model, "
                         "planned at the first batch and reused, as a user's session would be)")
    args = ap.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != str(args.threads):
        sys.exit("set OMP_NUM_THREADS to --threads: the CPU plugin's OpenMP reads it at load")
    names = args.models.split(",")
    lib = ctypes.CDLL(args.libcagr)
    paths = B.export_gallery(args.workdir, names)
    models = B.gallery_models()
    gflops, gbps = machine_limits(args.threads)
    load = B.OtherLoad()
    print(f"{args.threads} thread(s); sgemm {gflops:.0f} GFLOP/s (the fastest of numpy, PyTorch, onnxruntime), copy {gbps:.1f} GB/s\n")
    print("| model | batch | CAGR us | onnxruntime us | OpenVINO us | ORT / CAGR | OV / CAGR | limit us | CAGR / limit | max rel. diff | others' CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = False
    for name in names:
        path = paths[name].get("torchscript")
        if path is None:
            print(f"| {name} | | export failed | | | | | | | | |")
            failed = True
            continue
        _, make_inputs, output, _, _ = models[name]
        cagr = B.CagrSession(lib, args.plugin, path)
        ort = B.onnxruntime_session(path, args.threads)
        ov_request, ov_compiled = openvino_session(path, args.threads)
        for batch in [int(b) for b in args.batches.split(",")]:
            inputs = make_inputs(np.random.default_rng(7), batch)
            if args.session_per_batch:
                cagr.close()
                cagr = B.CagrSession(lib, args.plugin, path)
            cagr.bind(inputs)
            ort_inputs = {i.name: inputs[i.name] for i in ort.get_inputs()}
            ov_inputs = {p.get_any_name(): inputs[p.get_any_name()] for p in ov_compiled.inputs}
            results = {}
            cagr.run()
            results["cagr"] = cagr.output(output)
            results["ort"] = ort.run([output], ort_inputs)[0]
            results["ov"] = np.asarray(ov_request.infer(ov_inputs)[ov_compiled.output(output)])
            diff = max(B.relative_error(results[k], results["ort"].astype(np.float64)) for k in ("cagr", "ov"))
            failed |= diff > B.TOLERANCE
            runners = {"cagr": cagr.run, "ort": lambda: ort.run([output], ort_inputs),
                       "ov": lambda: ov_request.infer(ov_inputs)}
            p50 = {k: [] for k in runners}
            order = list(runners)
            load.share()
            for r in range(args.rounds):
                for k in order[r % 3:] + order[:r % 3]:
                    p50[k].append(np.median(B.timed_block(runners[k], args.seconds, 5)[2:]) * 1e6)
            others = load.share()
            flops, nbytes = model_work(path, inputs, batch)
            limit = (flops / (gflops * 1e9) + nbytes / (gbps * 1e9)) * 1e6

            def cell(v):
                return f"{np.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})"

            def ratio(k):
                r = [a / c for a, c in zip(p50[k], p50["cagr"])]
                return f"{np.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
            print(f"| {name} | {batch} | {cell(p50['cagr'])} | {cell(p50['ort'])} | {cell(p50['ov'])} | {ratio('ort')} | "
                  f"{ratio('ov')} | {limit:,.0f} | {np.median(p50['cagr']) / limit:.1f}x | {diff:.1e} | {others:.0%} |", flush=True)
        cagr.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
