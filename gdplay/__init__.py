"""gdplay: a gradient-descent playground on PyTorch, as a command line and a Python library.

    import gdplay
    runs = gdplay.run("configs/quadratic.yaml")     # a path, YAML text, a dict or gdplay.load(...)
    runs[0].final.point                              # {'x': -0.3333333432674408}: −1/3 in float32
    runs                                             # in Jupyter: the convergence table and summary

The API (gdplay.api): load, run, sweep, grad, hessian, explain, check; the results (Runs,
RunResult, Status, ...) and the errors (GdplayError, ConfigError, UsageError). Importing this
package is cheap on purpose: torch is imported only when a computation starts, so
`gdplay --help` and `gdplay list` answer at once and a notebook's first cell is quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "CheckReport",
    "Config",
    "ConfigError",
    "DeviceError",
    "Explanations",
    "Final",
    "FormulaError",
    "GdplayError",
    "Gradients",
    "Hessians",
    "History",
    "RunResult",
    "Runs",
    "Status",
    "Sweeps",
    "UsageError",
    "__version__",
    "check",
    "explain",
    "grad",
    "hessian",
    "load",
    "run",
    "sweep",
]

# name -> the module that defines it, imported on first use (PEP 562): `import gdplay` stays light.
_HOMES = {
    "gdplay.errors": ("GdplayError", "ConfigError", "UsageError", "FormulaError", "DeviceError"),
    "gdplay.results.model": ("RunResult", "Status", "Final", "History"),
}
_LAZY = {name: home for home, names in _HOMES.items() for name in names}
_LAZY.update({name: "gdplay.api" for name in __all__ if name not in _LAZY and name != "__version__"})

if TYPE_CHECKING:
    from gdplay.api import (
        CheckReport,
        Config,
        Explanations,
        Gradients,
        Hessians,
        Runs,
        Sweeps,
        check,
        explain,
        grad,
        hessian,
        load,
        run,
        sweep,
    )
    from gdplay.errors import ConfigError, DeviceError, FormulaError, GdplayError, UsageError
    from gdplay.results.model import Final, History, RunResult, Status


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gdplay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
