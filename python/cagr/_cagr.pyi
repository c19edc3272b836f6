"""Type stubs of the extension cagr._cagr (python/bindings/module.cpp)."""

from typing import Any

import numpy.typing as npt

class Error(RuntimeError):
    """A failed call of the runtime; the message is the runtime's."""

def plugins(plugins: str = "auto", manifest: str | None = None, probe: bool = True) -> str:
    """The plugins found, their devices, and why any was skipped (as cagr-run --list-plugins)."""

class TensorSpec:
    """A model input or output: name, numpy dtype name, shape (None: known at run time)."""
    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def shape(self) -> tuple[int | None, ...]: ...

class Model:
    """A model loaded on the plugins found; run() may be called from several threads."""
    def __init__(
        self,
        path: str,
        plugins: str = "auto",
        optimizer: str | None = "hints",
        plan: str | None = None,
        policy: str | None = None,
        manifest: str | None = None,
        probe: bool = True,
        table_precision: str | None = None,
    ) -> None: ...
    def run(self, inputs: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
        """One forward pass: {input name: array} -> {output name: numpy array}."""
    def plan(self) -> str:
        """The placement (node, op, device, variant, cost) that runs follow, made at the first run."""
    def save_plan(self, path: str) -> None:
        """Writes the plan that runs follow, for Model(..., plan=path) or cagr-run --load-plan."""
    @property
    def inputs(self) -> list[TensorSpec]: ...
    @property
    def outputs(self) -> list[TensorSpec]: ...
    @property
    def plugins(self) -> str:
        """The plugins this model's runtime found (as cagr-run --list-plugins)."""
    @property
    def path(self) -> str: ...
