"""A built-in objective from the registry, configured by `name`, `dim`, `params` and `init`."""

from __future__ import annotations

from typing import Any

from gdplay.config import LoadedRun
from gdplay.objectives.base import Layout, Objective
from gdplay.objectives.registry import Builtin, load_builtins
from gdplay.suggest import did_you_mean


def builtin_objective(run: LoadedRun) -> Objective:
    spec = run.config.objective
    registry = load_builtins()
    name = str(spec.name)
    entry = registry.get(name) or registry.get(name.lower())
    if entry is None:
        raise run.error(f"unknown objective {name!r}", "objective", "name", hint=did_you_mean(name, registry))
    if isinstance(spec.init, dict):
        raise run.error(
            f"a built-in takes init as a list of {entry.default_dim if entry.dims is None else entry.dims} numbers",
            "objective",
            "init",
        )
    dim = _dimension(run, entry)
    params = _params(run, entry)
    start = [float(v) for v in spec.init] if spec.init is not None else entry.start(dim)
    fn, p = entry.fn, params

    def evaluate(points: Any) -> Any:
        return fn(points, p)

    minimizers = tuple(tuple(float(c) for c in m) for m in entry.minimizers(dim, params))
    return Objective(
        name=run.config.name,
        formula=entry.formula,
        layout=Layout.vector("x", dim),
        fn=evaluate,
        start=tuple(start),
        minimizers=minimizers,
        f_min=entry.f_min(dim, params),
        notes=entry.notes,
        kind="builtin",
        facts={"builtin": entry.name, "params": params, "dim": dim},
    )


def _dimension(run: LoadedRun, entry: Builtin) -> int:
    spec = run.config.objective
    init_len = len(spec.init) if isinstance(spec.init, list) else None
    dim = spec.dim if spec.dim is not None else init_len
    if dim is None:
        dim = entry.dims if entry.dims is not None else entry.default_dim
    if not entry.allows(dim):
        allowed = f"exactly {entry.dims}" if entry.dims is not None else f"at least {entry.min_dim}"
        key = "dim" if spec.dim is not None else "init"
        raise run.error(f"{entry.name} takes dimension {allowed}, got {dim}", "objective", key)
    if init_len is not None and init_len != dim:
        raise run.error(f"init has {init_len} numbers but dim is {dim}", "objective", "init")
    return dim


def _params(run: LoadedRun, entry: Builtin) -> dict[str, Any]:
    given = run.config.objective.params or {}
    params: dict[str, Any] = dict(entry.params)
    for key, value in given.items():
        if key not in entry.params:
            valid = list(entry.params) or ["(none)"]
            raise run.error(
                f"{entry.name} has no parameter {key!r}", "objective", "params", key, hint=did_you_mean(key, valid)
            )
        default = entry.params[key]
        if isinstance(default, int | float) and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise run.error(f"expected a number, got {value!r}", "objective", "params", key)
        params[key] = float(value) if isinstance(default, float) else value
    return params
