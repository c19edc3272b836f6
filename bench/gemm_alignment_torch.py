"""Row alignment and cuBLAS speed: PyTorch's linear at K = 367 (DLRM Kaggle's top-MLP input, rows
not 16-byte aligned) against K = 368 and 384, f32 and TF32, on the GPU. The figure behind the
row padding of dlrm_interaction (core/optimizer/fusion.cpp, docs/PERF.md).

    python3 bench/gemm_alignment_torch.py
"""
import torch


def time_us(fn, iterations=50):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / iterations * 1000


def main():
    print(f"device: {torch.cuda.get_device_name()}; PyTorch {torch.__version__}")
    print("| precision | M | N | K | us |\n| --- | ---: | ---: | ---: | ---: |")
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        for m in (2048, 16384):
            for k in (367, 368, 384):
                x = torch.randn(m, k, device="cuda")
                w = torch.randn(512, k, device="cuda")
                b = torch.randn(512, device="cuda")
                us = time_us(lambda: torch.nn.functional.linear(x, w, b))
                print(f"| {'TF32' if tf32 else 'f32'} | {m} | 512 | {k} | {us:.1f} |")


if __name__ == "__main__":
    main()
