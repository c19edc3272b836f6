"""CAGR, a runtime for recommendation models, from Python (docs/PYTHON.md).

    import numpy as np, cagr
    print(cagr.plugins())                       # plugins found, their devices, why any was skipped
    m = cagr.Model("model.xml")                 # or an .onnx file; plugins="auto", optimizer="hints"
    out = m.run({"dense": dense, "indices": indices, "offsets": offsets})   # {name: numpy array}

The work is done by libcagr.so and its plugins, which come with the package; errors are cagr.Error
(a RuntimeError) with the runtime's message.
"""

from ._cagr import Error, Model, TensorSpec, plugins

__all__ = ["Error", "Model", "TensorSpec", "plugins"]
