"""The facts of built-in objectives as plain data, for `gdplay list`, `gdplay show` and the docs.

`summary` is torch-free (what `gdplay list` needs); `details` evaluates the function
at each minimiser in float64 with torch: the value, the gradient norm, and the
Hessian's eigenvalues and condition number λ_max/λ_min.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gdplay.problems.registry import Builtin


def number(value: float) -> str:
    """A float64 in the fewest digits that read back as the same number (3.0 -> '3')."""
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def point(values: Sequence[float]) -> str:
    return "(" + ", ".join(number(v) for v in values) + ")"


def domain_text(entry: Builtin, d: int) -> str:
    bounds = entry.bounds(d)
    if len(set(bounds)) == 1:
        lo, hi = bounds[0]
        return f"[{number(lo)}, {number(hi)}]" + ("²" if entry.dims == 2 else "ᵈ")
    return " × ".join(f"[{number(lo)}, {number(hi)}]" for lo, hi in bounds)


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters for JSON and tables (tuples become lists)."""
    return {
        k: [list(r) if isinstance(r, list | tuple) else r for r in v] if isinstance(v, list | tuple) else v
        for k, v in params.items()
    }


def params_text(params: Mapping[str, Any]) -> str:
    if not params:
        return "none"
    parts = []
    for key, value in params.items():
        if isinstance(value, float):
            parts.append(f"{key} = {number(value)}")
        else:
            parts.append(f"{key} = {plain_params({key: value})[key]}")
    return ", ".join(parts)


def summary(entry: Builtin) -> dict[str, Any]:
    """Name, dimension and formula: what `gdplay list` shows (no torch, no computation)."""
    return {
        "name": entry.name,
        "dimension": entry.dims_text(),
        "dims": entry.dims,
        "min_dim": entry.min_dim,
        "formula": entry.formula,
        "params": plain_params(entry.params),
        "reference": entry.reference,
    }


def details(entry: Builtin, d: int | None = None) -> dict[str, Any]:
    """Everything known about `entry` at dimension d (default: its own), with the Hessian at each
    minimiser. Imports torch."""
    import torch

    params = entry.resolve_params()
    facts = entry.facts(d, params)
    dim = facts.dim
    bounds = entry.bounds(dim)
    minima = []
    for m in facts.minimizers:
        x = torch.tensor(m, dtype=torch.float64, requires_grad=True)
        value = entry.fn(x, params)
        (grad,) = torch.autograd.grad(value, x)
        record: dict[str, Any] = {
            "point": {"x": list(m)},  # by variable, as final.point: a built-in's variable is the vector x
            "value": facts.f_min,
            "value_computed": float(value.detach()),
            "grad_norm": float(grad.norm()),
            "on_boundary": any(v in (lo, hi) for v, (lo, hi) in zip(m, bounds, strict=True)),
            "eigenvalues": None,
            "condition_number": None,
            "hessian_note": None,
        }
        if not entry.differentiable_at_min:
            record["hessian_note"] = "not defined: f is not differentiable at this minimum"
        else:
            hessian = torch.autograd.functional.hessian(lambda z: entry.fn(z, params), x.detach())
            eig = torch.linalg.eigvalsh(0.5 * (hessian + hessian.T)).tolist()
            record["eigenvalues"] = eig
            record["condition_number"] = eig[-1] / eig[0] if eig[0] > 0 else None
            if eig[0] <= 0:
                record["hessian_note"] = "singular or indefinite: no finite condition number"
        minima.append(record)
    return {
        **summary(entry),
        "dim": dim,
        "params": plain_params(params),
        "domain": [list(b) for b in bounds],
        "start": {"x": entry.start(dim)},
        "f_min": facts.f_min,
        "minima": minima,
        "differentiable_at_min": entry.differentiable_at_min,
        "min_on_boundary": entry.min_on_boundary,
        "notes": facts.notes,
    }
