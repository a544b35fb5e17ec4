"""A built-in objective from the registry, configured by `name`, `dim`, `params` and `init`.

Every mistake is a ConfigError at the key that holds it: an unknown name or parameter
(with "did you mean"), a dimension the function does not allow, an `init` of the wrong
length, a parameter outside the range where the function has a minimum.
"""

from __future__ import annotations

from typing import Any

from gdplay.config.memory import DTYPE_BYTES, check_fits
from gdplay.config.model import LoadedRun
from gdplay.problems.base import Layout, Objective
from gdplay.problems.registry import Builtin, ParamError, find, load_builtins
from gdplay.suggest import did_you_mean


def builtin_objective(run: LoadedRun) -> Objective:
    spec = run.config.objective
    name = str(spec.name)
    entry = find(name)
    if entry is None:
        raise run.error(f"unknown objective {name!r}", "objective", "name", hint=did_you_mean(name, load_builtins()))
    if isinstance(spec.init, dict):
        raise run.error(
            f"a built-in takes init as a list of {entry.dims_text()} numbers, not named variables",
            "objective",
            "init",
        )
    try:
        params = entry.resolve_params(spec.params)
    except ParamError as exc:
        path = ("objective", "params", exc.key) if exc.key else ("objective", "params")
        raise run.error(exc.message, *path, hint=exc.hint) from None
    if entry.extra.get("data"):
        from gdplay.problems.data import data_objective

        return data_objective(run, entry.name, entry.formula, params, entry.facts(3, params).notes[:2])
    dim = _dimension(run, entry, params)
    # Before building a start of `dim` numbers: a dimension of 10**12 must be an error, not a hang.
    check_fits(dim * DTYPE_BYTES[run.config.dtype], f"dimension {dim}", run.locate("objective", "dim"))
    start = [float(v) for v in spec.init] if spec.init is not None else entry.start(dim)
    facts = entry.facts(dim, params)
    return Objective(
        name=run.config.name,
        formula=entry.formula,
        layout=Layout.vector("x", dim),
        fn=_bind(entry, params),
        start=tuple(start),
        minimizers=tuple(tuple(m) for m in facts.minimizers),
        f_min=facts.f_min,
        notes=tuple(facts.notes),
        kind="builtin",
        facts={"builtin": entry.name, "params": params, "dim": dim},
    )


def _bind(entry: Builtin, params: dict[str, Any]) -> Any:
    """fn(points) with the parameters fixed; parameters that are lists become tensors once per
    dtype and device (not on every step)."""
    fn, prepare = entry.fn, entry.prepare
    if prepare is None:
        return lambda points: fn(points, params)
    ready: dict[tuple[Any, Any], Any] = {}

    def evaluate(points: Any) -> Any:
        key = (points.dtype, points.device)
        p = ready.get(key)
        if p is None:
            p = ready[key] = prepare(params, points)
        return fn(points, p)

    return evaluate


def _dimension(run: LoadedRun, entry: Builtin, params: dict[str, Any]) -> int:
    spec = run.config.objective
    init_len = len(spec.init) if isinstance(spec.init, list) else None
    fixed = entry.dim_from_params(params) if entry.dim_from_params is not None else entry.dims
    dim = spec.dim if spec.dim is not None else init_len
    if dim is None:
        dim = fixed if fixed is not None else entry.default_dim
    if entry.dim_from_params is not None and dim != fixed:
        key = "dim" if spec.dim is not None else "init"
        raise run.error(f"{entry.name} has dimension {fixed} here (the length of b), got {dim}", "objective", key)
    if not entry.allows(dim):
        allowed = f"exactly {entry.dims}" if entry.dims is not None else f"at least {entry.min_dim}"
        key = "dim" if spec.dim is not None else "init"
        raise run.error(f"{entry.name} takes dimension {allowed}, got {dim}", "objective", key)
    if init_len is not None and init_len != dim:
        raise run.error(f"init has {init_len} numbers but dim is {dim}", "objective", "init")
    return dim
