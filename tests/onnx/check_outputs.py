#!/usr/bin/env python3
"""check_outputs.py OUT.npz FIXTURE.npz: cagr-run's saved output 'prob' must match the fixture's
PyTorch and onnxruntime outputs to 1e-5 relative (absolute near zero)."""
import sys

import numpy as np

got = np.load(sys.argv[1])["prob"]
fixture = np.load(sys.argv[2])
for key in ("expected_torch", "expected_ort"):
    want = fixture[key]
    err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3))
    print(f"{key}: max relative error {err:.2e}")
    if got.shape != want.shape or err > 1e-5:
        sys.exit(f"cagr-run output differs from {key}")
