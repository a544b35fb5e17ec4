"""The registry of built-in objectives: each is one decorated definition next to its formula.

Metadata (formula text, dimensions, parameters, domain, minima, notes) is plain
Python, so `gdplay list` and `gdplay show` never import torch; the function body
imports torch only when it is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# fn(points [..., d], params) -> values [...]
BuiltinFn = Callable[[Any, Mapping[str, float]], Any]
PointsFn = Callable[[int, Mapping[str, float]], list[list[float]]]
ValueFn = Callable[[int, Mapping[str, float]], float | None]


@dataclass(frozen=True)
class Builtin:
    """A named test function with its facts.

    dims: the allowed dimension (an int) or None for any dimension >= min_dim.
    minimizers(d, params) lists *all* known global minimisers; f_min(d, params) is the exact value.
    """

    name: str
    formula: str
    fn: BuiltinFn
    dims: int | None
    default_dim: int
    params: Mapping[str, float]
    domain: tuple[float, float]
    start: Callable[[int], list[float]]
    minimizers: PointsFn
    f_min: ValueFn
    reference: str
    notes: tuple[str, ...] = ()
    min_dim: int = 1
    differentiable_at_min: bool = True
    min_on_boundary: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def allows(self, d: int) -> bool:
        return d == self.dims if self.dims is not None else d >= self.min_dim


BUILTINS: dict[str, Builtin] = {}


def builtin(**facts: Any) -> Callable[[BuiltinFn], BuiltinFn]:
    """Register the decorated function as a built-in objective named after it."""

    def register(fn: BuiltinFn) -> BuiltinFn:
        name = facts.pop("name", fn.__name__)
        if name in BUILTINS:
            raise RuntimeError(f"built-in objective {name!r} is defined twice")
        BUILTINS[name] = Builtin(name=name, fn=fn, **facts)
        return fn

    return register


def load_builtins() -> dict[str, Builtin]:
    """The registry, filled (importing the definitions is cheap: no torch at import)."""
    import gdplay.objectives.builtins  # noqa: F401  (registers by import)

    return BUILTINS
