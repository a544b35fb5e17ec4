"""The registry of built-in objectives: each is one decorated definition next to its formula.

Metadata (formula text, dimensions, parameters, domain, minima, notes) is plain
Python, so `gdplay list` and `gdplay show` never need torch for it; the function
body imports torch only when it is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdplay.suggest import did_you_mean

# fn(points [..., d], params) -> values [...]
BuiltinFn = Callable[[Any, Mapping[str, Any]], Any]
PointsFn = Callable[[int, Mapping[str, Any]], list[list[float]]]
ValueFn = Callable[[int, Mapping[str, Any]], float | None]
Bounds = tuple[float, float]


class ParamError(ValueError):
    """A parameter of a built-in is invalid; `key` names it (None: the parameters as a whole)."""

    def __init__(self, message: str, key: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message, self.key, self.hint = message, key, hint


@dataclass(frozen=True)
class Facts:
    """What is known about a built-in at one dimension and one set of parameters."""

    dim: int
    params: Mapping[str, Any]
    minimizers: list[list[float]]  # all known global minimisers (empty: not known, or none exists)
    f_min: float | None  # the exact minimum value rounded to float64, when known
    notes: list[str]


@dataclass(frozen=True)
class Builtin:
    """A named test function with its facts.

    dims: the allowed dimension (an int) or None for any dimension >= min_dim.
    minimizers(d, params) lists *all* known global minimisers; f_min(d, params) is the exact value.
    domain: the usual search box, one (low, high) for every coordinate or one pair per coordinate.
    differentiable_at_min / min_on_boundary: where the gradient need not vanish at a minimiser.
    check(params): validates and normalises parameters beyond "is a number" (raises ParamError).
    dim_from_params: for a function whose dimension its parameters fix (quadratic: len(b)).
    param_notes(d, params): notes that depend on the parameters (quadratic: "A is not positive definite").
    prepare(params, like): parameters as tensors like `like` (dtype, device), so a run does not
    convert lists on every step.
    """

    name: str
    formula: str
    fn: BuiltinFn
    dims: int | None
    default_dim: int
    params: Mapping[str, Any]
    domain: Bounds | tuple[Bounds, ...]
    start: Callable[[int], list[float]]
    minimizers: PointsFn
    f_min: ValueFn
    reference: str
    notes: tuple[str, ...] = ()
    min_dim: int = 1
    differentiable_at_min: bool = True
    min_on_boundary: bool = False
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    dim_from_params: Callable[[Mapping[str, Any]], int] | None = None
    param_notes: Callable[[int, Mapping[str, Any]], list[str]] | None = None
    prepare: Callable[[Mapping[str, Any], Any], Mapping[str, Any]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def allows(self, d: int) -> bool:
        return d == self.dims if self.dims is not None else d >= self.min_dim

    def dims_text(self) -> str:
        if self.dims is not None:
            return str(self.dims)
        if self.dim_from_params is not None:
            return "len(b)"
        return f"any ≥ {self.min_dim}"

    def dimension(self, params: Mapping[str, Any] | None = None) -> int:
        """The dimension used when a config names none."""
        if self.dim_from_params is not None:
            return self.dim_from_params(params if params is not None else self.params)
        return self.dims if self.dims is not None else self.default_dim

    def bounds(self, d: int) -> list[Bounds]:
        """The search domain as one (low, high) per coordinate."""
        if isinstance(self.domain[0], tuple):
            return [tuple(b) for b in self.domain]  # type: ignore[misc]
        return [self.domain] * d  # type: ignore[list-item]

    def resolve_params(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with `given`: unknown names and non-numbers raise ParamError."""
        params: dict[str, Any] = dict(self.params)
        for key, value in (given or {}).items():
            if key not in self.params:
                valid = list(self.params) or ["(none)"]
                raise ParamError(f"{self.name} has no parameter {key!r}", str(key), did_you_mean(str(key), valid))
            default = self.params[key]
            if isinstance(default, int | float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ParamError(f"expected a number, got {value!r}", key)
                if not math.isfinite(value):
                    raise ParamError(f"expected a finite number, got {value!r}", key)
                value = float(value)
            params[key] = value
        return self.check(params) if self.check is not None else params

    def facts(self, d: int | None = None, params: Mapping[str, Any] | None = None) -> Facts:
        """Minimisers, f* and notes at dimension d (default: the function's own) and params."""
        p = dict(params) if params is not None else self.resolve_params()
        dim = self.dimension(p) if d is None else d
        notes = list(self.notes)
        if self.param_notes is not None:
            notes += self.param_notes(dim, p)
        mins = [[float(c) for c in m] for m in self.minimizers(dim, p)]
        return Facts(dim=dim, params=p, minimizers=mins, f_min=self.f_min(dim, p), notes=notes)


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
    import gdplay.problems.builtins  # noqa: F401  (registers by import)

    return BUILTINS


def find(name: str) -> Builtin | None:
    """The built-in called `name` (case-insensitive), or None."""
    registry = load_builtins()
    return registry.get(name) or registry.get(name.lower())
