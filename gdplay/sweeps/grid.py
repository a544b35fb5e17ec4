"""Sweeps: a grid of runs (learning rates, optimizer options, optimizers, start points) as one batch.

The pure core of `gdplay sweep`. `build_sweep` reads the axes of a run's `sweep:`
section (and `--sweep key=values` flags) and lays the grid out as rows of one
batch: every combination of the axes' values is a run, the first axis varying
slowest. `run_sweep` runs it on the engine (gdplay.engine.runner) without keeping
per-step history and returns a SweepResult: per run its settings, status, stop
step, final point, value and gradient norm; nothing else is kept, so a sweep of
65,536 runs × 1,000 steps costs megabytes, not gigabytes. `grid_table` reduces a
result to the cells of a two-axis table (pure data for the report).

Axis keys (in a file or on the command line):
  lr                      learning rates (> 0)
  optimizer               optimizer names (also optimizer.name)
  start                   start points: a list of points, or {random: n, domain: ..., seed: ...}
  momentum, betas, ...    any option of the optimizer (also written optimizer.momentum)
  schedule.gamma, ...     any option of optimizer.schedule (also optimizer.schedule.gamma)
  noise.sigma             gradient noise scales (>= 0; see gdplay/engine/noise.py)
  batch_size              minibatch sizes of an objective on data (1..n)
  seeds: N                N independent noise streams per grid point: seeds seed, seed+1, ...
                          (or seed: [list of seeds]); the table reports median and spread over them
Values: a list, {from, to, num, scale: linear|log}, or one value.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gdplay.config.memory import check_fits, sweep_bytes
from gdplay.config.model import LoadedRun, RandomStarts, RangeAxis, SweepConfig
from gdplay.engine.problem import Problem
from gdplay.errors import ConfigError, Location
from gdplay.optim.factory import accepted_options, check_options, lookup
from gdplay.optim.registry import OptimizerInfo
from gdplay.optim.schedule import check_schedule
from gdplay.problems.base import Objective
from gdplay.results.model import RunResult, Status
from gdplay.suggest import did_you_mean

MAX_RUNS = 10_000_000
SPECIAL_KEYS = ["lr", "optimizer", "start", "noise.sigma", "batch_size", "seeds"]
Locator = Callable[..., Location]  # locate(*sub-path) -> where an axis (or one of its values) was written


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid."""

    key: str  # as written: lr, momentum, optimizer.momentum, schedule.gamma, start, ...
    kind: str  # lr | optimizer | start | option | schedule
    name: str  # the option name for option/schedule axes
    values: tuple[Any, ...]  # start axes: flat points (tuples of floats)
    labels: tuple[str, ...]  # how each value is shown

    @property
    def label(self) -> str:
        labels = {"option": self.name, "schedule": f"schedule.{self.name}", "all": "runs", "noise": "noise.sigma"}
        return labels.get(self.kind, self.kind)


@dataclass(frozen=True)
class Sweep:
    """A grid laid out as a batch: B runs, their settings, learning rates and starts."""

    problem: Problem
    axes: tuple[Axis, ...]
    settings: tuple[Any, ...]  # runner.Setting per distinct combination of the setting axes
    setting_axes: tuple[int, ...]  # which axes make up a setting (optimizer, option, schedule)
    size: int

    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes)


@dataclass
class SweepResult:
    """What every run of a sweep did; rows in grid order (first axis slowest)."""

    name: str
    objective: str
    layout: Any
    axes: tuple[Axis, ...]
    index: Any  # [B, k] int64: each run's value index on each axis
    lrs: Any  # [B] float64
    optimizers: list[str]  # per setting
    options: list[dict[str, Any]]  # per setting
    schedules: list[str | None]  # per setting
    which: Any  # [B] setting index per run
    status: list[str]
    codes: Any  # [B] int64: the engine's status codes (runner.STATUS_NAMES)
    stop: Any  # [B] int64: updates done
    final_x: Any  # [B, D] float64
    final_f: Any  # [B] float64
    final_g: Any  # [B] float64
    steps: int
    tol: float | None
    f_min: float | None
    f_min_source: str | None = None  # known (the objective's fact) | newton (one Newton step on a quadratic)
    notes: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    device: str = "cpu"
    dtype: str = "float32"
    curvature: Any = None  # curvature.Curvature for a quadratic, else None
    interrupted: bool = False
    causes: Any = None  # [B] int64: why a diverged run stopped (runner.CAUSES)
    seed: int = 0
    minimizers: tuple[tuple[float, ...], ...] = ()
    known_f_min: float | None = None  # the objective's own f* (f_min may be a Newton step's)
    config: dict[str, Any] = field(default_factory=dict)  # the base run config, as plain data
    provenance: dict[str, Any] = field(default_factory=dict)  # torch, python, threads, deterministic
    history_x: Any = None  # [T, B, D] float64 with record=True: x at steps 0..max(stop) (past a run's stop: not its)
    history_f: Any = None  # [T, B] float64, f at those points

    @property
    def size(self) -> int:
        return len(self.status)

    def excess(self, row: int) -> float | None:
        """What the grid ranks by: f − f* at the end of run `row`, or f itself when f* is unknown;
        None when not finite. (The record's `gap` is None when f* is unknown.)"""
        value = float(self.final_f[row])
        if not math.isfinite(value):
            return None
        return value - self.f_min if self.f_min is not None else value

    def run(self, row: int) -> RunResult:
        """Run `row` as the same result record a single run gives (no history: sweeps keep none;
        wall time is the whole batch's, since the rows ran together)."""
        from gdplay.engine.execute import reason_for

        s = int(self.which[row])
        code, stop = int(self.codes[row]), int(self.stop[row])
        grad_norm = float(self.final_g[row])
        cause = int(self.causes[row]) if self.causes is not None else 0
        status = Status(self.status[row])
        return RunResult(
            name=f"{self.name}[{row}]",
            status=status,
            reason=reason_for(code, cause, stop, self.steps, self.tol, grad_norm),
            steps=stop,
            final_point=self.final_x[row].tolist(),
            final_value=float(self.final_f[row]),
            final_grad_norm=grad_norm,
            layout=self.layout,
            history=None,
            optimizer=self.optimizers[s],
            lr=float(self.lrs[row]),
            options=dict(self.options[s]),
            device=self.device,
            dtype=self.dtype,
            seed=self.row_seed(row),
            wall_time_s=self.wall_time_s,
            torch_version=str(self.provenance.get("torch", "")),
            objective_formula=self.objective,
            minimizers=self.minimizers,
            f_min=self.known_f_min,  # a record's gap is f − f* for a known f*, as in every command
            diverged_at=stop if status == Status.DIVERGED else None,
            python_version=str(self.provenance.get("python", "")),
            threads=self.provenance.get("threads"),
            deterministic=bool(self.provenance.get("deterministic", False)),
        )

    def row_seed(self, row: int) -> int:
        """The seed of run `row`: its value on a seeds axis, else the config's."""
        for k, axis in enumerate(self.axes):
            if axis.kind == "seed":
                return int(axis.values[int(self.index[row, k])])
        return self.seed

    def runs(self) -> list[RunResult]:
        """Every row as a result record, in grid order."""
        return [self.run(b) for b in range(self.size)]

    def settings_of(self, row: int) -> dict[str, Any]:
        """The swept values of run `row`, by axis label."""
        out: dict[str, Any] = {}
        for k, axis in enumerate(self.axes):
            value = axis.values[int(self.index[row, k])]
            out[axis.label] = self.layout.unflatten(list(value)) if axis.kind == "start" else value
        return out


# ---- reading the axes ---------------------------------------------------------------------


def sweep_flag(text: str) -> tuple[str, Any]:
    """`--sweep key=values`: values as YAML (a list, a {from, to, num, scale} mapping, one value),
    a comma list `0.1,0.2`, or a range `from:to:num[:log]`; `key=` with nothing drops that axis."""
    from gdplay.config.yamlio import load_text

    where = Location(file="--sweep")
    if "=" not in text:
        raise ConfigError(f"expected key=values, got {text!r}", where, "e.g. --sweep lr=0.01,0.1,0.3")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ConfigError(f"no key in {text!r}", where)
    where = Location(file="--sweep", key=key)
    number = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
    match = re.fullmatch(rf"({number}):({number}):(\d+)(?::(log|linear))?", raw)
    if match:
        lo, hi, num, scale = match.groups()
        return key, {"from": float(lo), "to": float(hi), "num": int(num), "scale": scale or "linear"}
    if "," in raw and not raw.startswith(("[", "{")):
        raw = f"[{raw}]"
    try:
        value = load_text(raw, "--sweep").data
    except ConfigError as exc:
        raise ConfigError(exc.message, where) from None
    return key, value  # None (nothing after '='): drop the file's axis of that key


def merged_axes(run: LoadedRun, flags: Sequence[tuple[str, Any]]) -> list[tuple[str, Any, Locator]]:
    """The axes of the run's `sweep:` section, with `--sweep` flags replacing or adding axes."""
    axes: dict[str, tuple[Any, Locator]] = {}
    if run.config.sweep is not None:
        for key, value in run.config.sweep.root.items():
            axes[key] = (value, _file_locator(run, key))
    for key, raw in flags:
        if raw is None:
            if key not in axes:
                valid = list(axes) or ["(no axes)"]
                raise ConfigError("no such axis to drop", Location(file="--sweep", key=key), did_you_mean(key, valid))
            del axes[key]
            continue
        try:
            value = SweepConfig.model_validate({key: raw}).root[key]
        except Exception as exc:  # pydantic's ValidationError: report it as a config error
            raise ConfigError(_first_error(exc), Location(file="--sweep", key=key)) from None
        axes[key] = (value, _flag_locator(key))  # a flag replaces the file's axis in its place
    return [(key, value, where) for key, (value, where) in axes.items()]


def _file_locator(run: LoadedRun, key: str) -> Locator:
    return lambda *sub: run.locate("sweep", key, *sub)


def _flag_locator(key: str) -> Locator:
    return lambda *sub: Location(file="--sweep", key=key + "".join(f"[{s}]" for s in sub))


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    err = errors(include_url=False)[0]
    return str(err.get("ctx", {}).get("error", err["msg"]))


# ---- building the grid ----------------------------------------------------------------------


def build_sweep(problem: Problem, run: LoadedRun, flags: Sequence[tuple[str, Any]] = ()) -> Sweep:
    """The grid of `problem` swept along the run's axes; every bad key or value is a ConfigError."""
    from gdplay.engine.runner import Setting

    raw_axes = merged_axes(run, flags)
    if not raw_axes:
        raise ConfigError(
            "nothing to sweep: add a sweep: section or --sweep key=values",
            run.locate("sweep"),
            "e.g. sweep: {lr: [0.01, 0.1], momentum: [0, 0.9]}",
        )
    base_info = problem.optimizer
    optimizers = [base_info]
    for key, value, where in raw_axes:
        if _kind(key)[0] == "optimizer":
            optimizers = _optimizer_values(value, where)
    axes: list[Axis] = []
    seen: dict[tuple[str, str], str] = {}
    for key, value, where in raw_axes:
        kind, name = _kind(key)
        if kind == "option" and name not in _all_options(optimizers):
            valid = sorted(set(SPECIAL_KEYS) | set(_all_options(optimizers)))
            raise ConfigError(
                f"cannot sweep {key!r}: it is not an option of {', '.join(i.name for i in optimizers)}",
                where(),
                did_you_mean(name, valid),
            )
        if (kind, name) in seen:
            raise ConfigError(f"{key!r} sweeps the same thing as {seen[(kind, name)]!r}", where())
        seen[(kind, name)] = key
        axes.append(_axis(problem, run, key, kind, name, value, where, optimizers))
    size = math.prod(len(a.values) for a in axes)
    if size > MAX_RUNS:
        raise ConfigError(f"the sweep has {size:,} runs; at most {MAX_RUNS:,} are allowed", run.locate("sweep"))
    check_fits(
        sweep_bytes(size, problem.objective.dim, problem.config.dtype),
        f"the sweep ({size:,} runs of dimension {problem.objective.dim:,})",
        run.locate("sweep"),
    )
    setting_axes = tuple(k for k, a in enumerate(axes) if a.kind in ("optimizer", "option", "schedule"))
    settings = []
    for combo in itertools.product(*(range(len(axes[k].values)) for k in setting_axes)):
        chosen = {k: axes[k].values[i] for k, i in zip(setting_axes, combo, strict=True)}
        settings.append(_setting(problem, axes, chosen, [w for _, _, w in raw_axes], Setting))
    return Sweep(problem, tuple(axes), tuple(settings), setting_axes, size)


def _kind(key: str) -> tuple[str, str]:
    """(kind, option name) of an axis key; kind 'unknown' for keys a sweep cannot vary."""
    if key in ("optimizer", "optimizer.name"):
        return "optimizer", ""
    if key in ("lr", "optimizer.lr"):
        return "lr", ""
    if key == "start":
        return "start", ""
    if key in ("noise.sigma", "seeds", "seed", "batch_size"):
        return {"noise.sigma": "noise", "seeds": "seed"}.get(key, key), ""
    rest = key[len("optimizer.") :] if key.startswith("optimizer.") else key
    if rest.startswith("schedule.") and rest.count(".") == 1 and rest != "schedule.name":
        return "schedule", rest[len("schedule.") :]
    if "." in rest or not rest or rest in ("name", "schedule"):
        return "unknown", rest
    return "option", rest


def _all_options(optimizers: Sequence[OptimizerInfo]) -> set[str]:
    names: set[str] = set()
    for info in optimizers:
        names |= set(accepted_options(info)) - {"lr"}
    return names


def _values(value: Any, where: Locator) -> list[Any]:
    if isinstance(value, RangeAxis):
        return value.values()
    if isinstance(value, RandomStarts):
        raise ConfigError("random values are for start points only", where())
    return list(value) if isinstance(value, list) else [value]


def _optimizer_values(value: Any, where: Locator) -> list[OptimizerInfo]:
    names = _values(value, where)
    infos = []
    for i, name in enumerate(names):
        try:
            infos.append(lookup(name))
        except ConfigError as exc:
            raise exc.at(where(i) if isinstance(value, list) else where()) from None
    _no_repeats([i.name for i in infos], where)
    return infos


def _no_repeats(values: Sequence[Any], where: Locator) -> None:
    """A ConfigError at the second of two equal values; one pass with a set (linear: an axis of a
    million values is checked in a second, where comparing each with all before it took hours)."""
    seen: set[Any] = set()
    for i, v in enumerate(values):
        key = _hashable(v)
        if key in seen:
            raise ConfigError(f"value {v!r} appears twice", where(i))
        seen.add(key)


def _hashable(value: Any) -> Any:
    """A value as a set key with the same equality: lists and dicts as tuples (1 == 1.0 stays equal)."""
    if isinstance(value, list | tuple):
        return ("seq", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), _hashable(v)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


def _axis(
    problem: Problem,
    run: LoadedRun,
    key: str,
    kind: str,
    name: str,
    value: Any,
    where: Locator,
    optimizers: list[OptimizerInfo],
) -> Axis:
    def at(i: int) -> Location:
        return where(i) if isinstance(value, list) else where()

    if kind == "unknown":
        raise ConfigError(
            f"cannot sweep {key!r}: a sweep varies lr, optimizer, start, optimizer options "
            "(momentum, optimizer.betas, ...) and schedule options (schedule.gamma)",
            where(),
            did_you_mean(name, SPECIAL_KEYS),
        )
    if kind in ("noise", "seed", "batch_size"):
        return _stochastic_axis(problem, run, key, kind, value, where)
    if kind == "start":
        points = _starts(problem, run, value, where)
        labels = tuple(_point_label(problem.objective, p) for p in points)
        return Axis(key, kind, "", tuple(points), labels)
    values = _values(value, where)
    if not values:
        raise ConfigError("no values given", where())
    if kind == "lr":
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"a learning rate must be a number > 0, got {v!r}", at(i))
        values = [float(v) for v in values]
    elif kind == "optimizer":
        values = [i.name for i in optimizers]
    elif kind == "option":
        for info in optimizers:
            if name not in accepted_options(info):
                raise ConfigError(f"{info.name} has no option {name!r}", where())
            for i, v in enumerate(values):
                try:
                    check_options(info, {name: v})
                except ConfigError as exc:
                    raise exc.at(at(i)) from None
        values = [tuple(v) if isinstance(v, list) else v for v in values]
    elif kind == "schedule":
        if problem.schedule is None:
            raise ConfigError(f"{key!r} sweeps a schedule option, but the config has no optimizer.schedule", where())
        for i, v in enumerate(values):
            try:
                check_schedule({"name": problem.schedule.name, **problem.schedule.options, name: v})
            except ConfigError as exc:
                raise exc.at(at(i)) from None
    _no_repeats(values, where)
    return Axis(key, kind, name, tuple(values), tuple(_value_label(v) for v in values))


def _stochastic_axis(problem: Problem, run: LoadedRun, key: str, kind: str, value: Any, where: Locator) -> Axis:
    """noise.sigma (numbers >= 0), batch_size (1..n) or the seeds (`seeds: N` or `seed: [...]`)."""

    def whole(v: Any) -> Any:  # a single axis value reads as a float (3.0): the whole number meant
        return int(v) if isinstance(v, float) and v.is_integer() and kind != "noise" else v

    value = [whole(v) for v in value] if isinstance(value, list) else whole(value)
    if key == "seeds":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"seeds is how many streams per grid point, a whole number >= 1, got {value!r}", where())
        first = run.config.seed
        values: list[Any] = list(range(first, first + value))
        return Axis(key, kind, "", tuple(values), tuple(str(v) for v in values))
    values = _values(value, where)
    if not values:
        raise ConfigError("no values given", where())

    def at(i: int) -> Location:
        return where(i) if isinstance(value, list) else where()

    for i, v in enumerate(values):
        if kind == "noise":
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"a noise sigma must be a number >= 0, got {v!r}", at(i))
        elif isinstance(v, bool) or not isinstance(v, int) or v < (1 if kind == "batch_size" else 0):
            what = "a batch size is a whole number >= 1" if kind == "batch_size" else "a seed is a whole number >= 0"
            raise ConfigError(f"{what}, got {v!r}", at(i))
    if kind == "noise":
        values = [float(v) for v in values]
        if problem.optimizer.name == "lbfgs":
            raise ConfigError("lbfgs evaluates its own gradients in a line search: it cannot take noisy ones", where())
    if kind == "batch_size":
        data = problem.objective.facts.get("data")
        if data is None:
            message = "batch_size applies to an objective on data (least_squares, logistic_regression)"
            raise ConfigError(message, where())
        for i, v in enumerate(values):
            if v > data.n:
                raise ConfigError(f"batch_size {v} is larger than the data set ({data.n} samples)", at(i))
    _no_repeats(values, where)
    return Axis(key, kind, "", tuple(values), tuple(_value_label(v) for v in values))


def _setting(problem: Problem, axes: list[Axis], chosen: Mapping[int, Any], places: list[Locator], make: Any) -> Any:
    """The runner.Setting of one combination of the setting axes (checked by building it once)."""
    info, options, schedule = problem.optimizer, dict(problem.options), problem.schedule
    for k, value in chosen.items():
        if axes[k].kind == "optimizer" and value != info.name:
            info, options = lookup(value), {}  # another optimizer: the base options do not carry over
    sched_opts: dict[str, Any] = {}
    for k, value in chosen.items():
        axis = axes[k]
        if axis.kind == "option":
            options[axis.name] = list(value) if isinstance(value, tuple) else value
        elif axis.kind == "schedule":
            sched_opts[axis.name] = value
    where = places[max(chosen)] if chosen else None
    try:
        options = check_options(info, options)
    except ConfigError as exc:
        raise exc.at(where()) if where else exc from None
    if sched_opts and schedule is not None:
        schedule = check_schedule({"name": schedule.name, **schedule.options, **sched_opts})
    _try_construct(info, options, chosen, axes, where)
    return make(info, options, schedule)


def _try_construct(info: OptimizerInfo, options: Mapping[str, Any], chosen: Any, axes: Any, where: Any) -> None:
    """torch checks some combinations only when it builds the optimizer (nesterov needs momentum)
    or steps it (adam betas: [1, 2]): build it and take a few steps, once per setting."""
    from gdplay.optim.factory import probe

    try:
        probe(info, 0.1, options)
    except ConfigError as exc:
        combo = ", ".join(f"{axes[k].label}={axes[k].labels[axes[k].values.index(v)]}" for k, v in chosen.items())
        message = f"{info.name} rejects {combo or 'these options'}: {exc.message.split(': ', 1)[-1]}"
        raise ConfigError(message, where() if where else None) from None


def _value_label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_value_label(v) for v in value) + ")"
    return str(value)


def _point_label(objective: Objective, point: Sequence[float]) -> str:
    named = objective.layout.unflatten(list(point))
    return ", ".join(f"{k}={_value_label(tuple(v) if isinstance(v, list) else v)}" for k, v in named.items())


def _starts(problem: Problem, run: LoadedRun, value: Any, where: Locator) -> list[tuple[float, ...]]:
    layout = problem.objective.layout
    dim = layout.dim
    if isinstance(value, RangeAxis):
        raise ConfigError("start points are a list of points or {random: n, domain: ..., seed: ...}", where())
    if isinstance(value, RandomStarts):
        return _random_starts(problem, run, value, where)
    points = value if isinstance(value, list) else [value]
    if not points:
        raise ConfigError("no start points given", where())
    out = []
    for i, p in enumerate(points):
        out.append(_point(layout, p, lambda *sub, i=i: where(i, *sub)))
    _no_repeats(out, where)
    if any(len(p) != dim for p in out):
        raise ConfigError(f"a start point needs {dim} numbers", where())
    return out


def _point(layout: Any, p: Any, where: Locator) -> tuple[float, ...]:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    if number(p) and layout.dim == 1:
        return (float(p),)
    if isinstance(p, list):
        if len(p) != layout.dim or not all(number(v) for v in p):
            raise ConfigError(f"a start point is a list of {layout.dim} finite numbers, got {p!r}", where())
        return tuple(float(v) for v in p)
    if isinstance(p, dict):
        for name in p:
            if name not in layout.names:
                raise ConfigError(f"unknown variable {name!r}", where(name), did_you_mean(str(name), layout.names))
        missing = [n for n in layout.names if n not in p]
        if missing:
            raise ConfigError(f"the start point does not set {', '.join(missing)}", where())
        for (name, size), v in zip(layout.shapes().items(), (p[n] for n in layout.names), strict=True):
            ok = number(v) if size is None else isinstance(v, list) and len(v) == size and all(map(number, v))
            if not ok:
                want = "a finite number" if size is None else f"a list of {size} finite numbers"
                raise ConfigError(f"{name} must be {want}, got {v!r}", where(name))
        return tuple(layout.flatten(p))
    raise ConfigError(f"a start point is a list of numbers or a mapping variable -> value, got {p!r}", where())


def _random_starts(problem: Problem, run: LoadedRun, spec: RandomStarts, where: Locator) -> list[tuple[float, ...]]:
    import torch

    layout = problem.objective.layout
    dim = layout.dim
    domain = spec.domain
    if domain is None:
        builtin = problem.objective.facts.get("builtin")
        if builtin is None:
            raise ConfigError("random start points of a formula need a domain: [lo, hi]", where())
        from gdplay.problems.registry import load_builtins

        domain = [[float(lo), float(hi)] for lo, hi in load_builtins()[builtin].bounds(layout.dim)]
    if isinstance(domain, dict):
        for name in domain:
            if name not in layout.names:
                raise ConfigError(f"unknown variable {name!r}", where("domain", name), did_you_mean(name, layout.names))
        missing = [n for n in layout.names if n not in domain]
        if missing:
            raise ConfigError(f"the domain does not give a range for {', '.join(missing)}", where("domain"))
        bounds: list[Any] = []
        for name, size in layout.shapes().items():
            bounds.extend([domain[name]] * (1 if size is None else size))
    elif domain and all(isinstance(d, list) for d in domain):
        bounds = list(domain)
        if len(bounds) != dim:
            raise ConfigError(f"the domain gives {len(bounds)} ranges for {dim} coordinates", where("domain"))
    else:
        bounds = [domain] * dim
    for b in bounds:
        if len(b) != 2 or not b[0] < b[1]:
            raise ConfigError(f"a range is [lo, hi] with lo < hi, got {b!r}", where("domain"))
    check_fits(spec.random * dim * 8 * 3, f"{spec.random:,} random start points of dimension {dim:,}", where())
    seed = spec.seed if spec.seed is not None else run.config.seed
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand((spec.random, dim), generator=generator, dtype=torch.float64)
    lo = torch.tensor([float(b[0]) for b in bounds], dtype=torch.float64)
    hi = torch.tensor([float(b[1]) for b in bounds], dtype=torch.float64)
    return [tuple(row) for row in (lo + (hi - lo) * u).tolist()]


# ---- running --------------------------------------------------------------------------------


def batch_spec(sweep: Sweep, rowwise: bool = True, record: bool = False) -> Any:
    """The engine's BatchSpec of the grid: runs in grid order, per-step history only if `record`."""
    import torch

    from gdplay.engine.execute import DTYPES
    from gdplay.engine.runner import BatchSpec

    problem, axes, size = sweep.problem, sweep.axes, sweep.size
    index = grid_index(sweep)
    lrs = torch.full((size,), problem.config.optimizer.lr, dtype=torch.float64)
    starts = torch.tensor([list(problem.start)], dtype=torch.float64).expand(size, -1)
    which = torch.zeros(size, dtype=torch.int64)
    stride = 1
    for k in reversed(sweep.setting_axes):
        which += index[:, k] * stride
        stride *= len(axes[k].values)
    for k, axis in enumerate(axes):
        if axis.kind == "lr":
            lrs = torch.tensor(axis.values, dtype=torch.float64)[index[:, k]]
        elif axis.kind == "start":
            starts = torch.tensor([list(p) for p in axis.values], dtype=torch.float64)[index[:, k]]
    dtype = DTYPES[problem.dtype]
    from gdplay.engine.execute import noise_spec

    seeds, sigmas = row_streams(sweep, index)
    return BatchSpec(
        objective=problem.objective,
        optimizer=None,
        options={},
        starts=starts.to(device=problem.device, dtype=dtype).contiguous(),
        lrs=lrs,
        steps=problem.config.steps,
        tol=problem.config.tol,
        blowup=problem.config.blowup,
        record=record,
        settings=sweep.settings,
        which=which,
        rowwise=rowwise,
        engine=problem.config.engine or "eager",
        noise=noise_spec(problem, seeds, sigmas),
    )


def row_streams(sweep: Sweep, index: Any) -> tuple[Any, Any]:
    """Per row, its seed as an offset from the config's [B] and its noise σ [B]: the axes' values,
    else the config's."""
    import torch

    cfg, size = sweep.problem.config, sweep.size
    seeds = torch.zeros(size, dtype=torch.int64)
    sigmas = torch.full((size,), cfg.noise.sigma if cfg.noise is not None else 0.0, dtype=torch.float64)
    for k, axis in enumerate(sweep.axes):
        if axis.kind == "seed":
            seeds = torch.tensor([v - cfg.seed for v in axis.values], dtype=torch.int64)[index[:, k]]
        elif axis.kind == "noise":
            sigmas = torch.tensor(axis.values, dtype=torch.float64)[index[:, k]]
    return seeds, sigmas


def _run_grid(sweep: Sweep, spec: Any, progress: Any) -> Any:
    """run_batch on the grid; with a batch_size axis, one batch per batch size (the rows of a
    batch share their minibatch shape), put back in grid order. Each row's streams are its own,
    so how the rows are grouped changes none of its numbers."""
    import dataclasses

    import torch

    from gdplay.engine.execute import noise_spec
    from gdplay.engine.noise import Minibatch
    from gdplay.engine.runner import BatchTrace, run_batch

    axis = next((k for k, a in enumerate(sweep.axes) if a.kind == "batch_size"), None)
    if axis is None:
        return run_batch(spec, progress)
    problem = sweep.problem
    data = problem.objective.facts["data"]
    index = grid_index(sweep)
    seeds, sigmas = row_streams(sweep, index)
    pieces = []
    for i, size in enumerate(sweep.axes[axis].values):
        rows = torch.nonzero(index[:, axis] == i).squeeze(1)
        mb = None if size == data.n else Minibatch(data.n, size, problem.config.sampling, data.sample_fn)
        sub = dataclasses.replace(problem, minibatch=mb)
        part = dataclasses.replace(
            spec,
            starts=spec.starts[rows.to(spec.starts.device)],
            lrs=spec.lrs[rows],
            which=spec.which[rows],
            noise=noise_spec(sub, seeds[rows], sigmas[rows]),
        )
        pieces.append((rows, run_batch(part, progress)))
        if pieces[-1][1].interrupted:
            break
    b = spec.starts.shape[0]
    out = BatchTrace(
        status=torch.full((b,), 4, dtype=torch.int64),  # runner.INTERRUPTED for rows never reached
        cause=torch.zeros(b, dtype=torch.int64),
        stop=torch.zeros(b, dtype=torch.int64),
        final_x=spec.starts.detach().cpu().clone(),
        final_f=torch.full((b,), float("nan"), dtype=spec.starts.dtype),
        final_g=torch.full((b,), float("nan"), dtype=spec.starts.dtype),
    )
    _merge_histories(out, pieces, b)
    for rows, tr in pieces:
        for name in ("status", "cause", "stop", "final_x", "final_f", "final_g"):
            getattr(out, name)[rows] = getattr(tr, name)
        out.wall_time_s += tr.wall_time_s
        out.interrupted |= tr.interrupted
        out.threads = tr.threads
        out.notes += [n for n in tr.notes if n not in out.notes]
    return out


def _merge_histories(out: Any, pieces: list[tuple[Any, Any]], b: int) -> None:
    """The pieces' recorded histories (history_x [T, B, D], history_f and history_g [T, B]) put back
    in grid order, each padded with NaN after its own last record; the per-row lrs and lr plans too.
    Without this a recorded sweep over batch_size came back with no trajectories (an empty page)."""
    import torch

    kept = [(rows, tr) for rows, tr in pieces if tr.history_x is not None]
    if kept:
        steps = max(tr.history_x.shape[0] for _, tr in kept)
        first = kept[0][1]
        out.history_x = torch.full((steps, b, first.history_x.shape[2]), float("nan"), dtype=first.history_x.dtype)
        out.history_f = torch.full((steps, b), float("nan"), dtype=first.history_f.dtype)
        out.history_g = torch.full((steps, b), float("nan"), dtype=first.history_f.dtype)
        for rows, tr in kept:
            t = tr.history_x.shape[0]
            out.history_x[:t, rows] = tr.history_x
            out.history_f[:t, rows] = tr.history_f
            if tr.history_g is not None:
                out.history_g[:t, rows] = tr.history_g
    if pieces and all(tr.lrs is not None for _, tr in pieces):
        out.lrs = torch.zeros(b, dtype=torch.float64)
        for rows, tr in pieces:
            out.lrs[rows] = tr.lrs
    plans = pieces[0][1].plans if pieces else None
    if plans is not None and all(tr.plans == plans and tr.plan_of_row is not None for _, tr in pieces):
        out.plans = plans
        out.plan_of_row = torch.zeros(b, dtype=torch.int64)
        for rows, tr in pieces:
            out.plan_of_row[rows] = tr.plan_of_row


def grid_index(sweep: Sweep) -> Any:
    """[B, k]: the value index of every run on every axis (first axis slowest)."""
    import torch

    rows = torch.arange(sweep.size, dtype=torch.int64)
    columns, stride = [], 1
    for n in reversed(sweep.shape()):
        columns.append((rows // stride) % n)
        stride *= n
    return torch.stack(columns[::-1], dim=1) if columns else rows.unsqueeze(1)


_CURVATURES: list[tuple[Any, tuple[float, ...], Any]] = []  # (objective, start, its Curvature or None), newest last


def _curvature(objective: Any, start: tuple[float, ...], compute: Any) -> Any:
    """quadratic_curvature(objective, start), once per objective and start in a process: two dense
    Hessians by autograd cost about 1.5 ms, a tenth of a 4,096-run compiled sweep, and an Objective
    is frozen (the same object gives the same Hessians), so a sweep run again reuses them."""
    for obj, at, found in _CURVATURES:
        if obj is objective and at == start:
            return found
    found = compute(objective, start)
    _CURVATURES.append((objective, tuple(start), found))
    del _CURVATURES[:-8]  # a few objectives; the oldest go (and with them the objects they hold)
    return found


def run_sweep(sweep: Sweep, progress: Any = None, rowwise: bool = True, record: bool = False) -> SweepResult:
    """Run the whole grid as one batch and keep, per run, only what a report needs (and, with
    `record`, every run's points and values at every step, for the interactive page)."""
    import platform

    import torch

    from gdplay.analysis.curvature import quadratic_curvature
    from gdplay.engine.execute import plain_config, seed_generators
    from gdplay.engine.runner import STATUS_NAMES
    from gdplay.engine.state import kept_state, provenance_environment

    with kept_state():
        spec = batch_spec(sweep, rowwise, record)
        seed_generators(sweep.problem.config.seed, spec.starts.device)
        trace = _run_grid(sweep, spec, progress)
        # the threads the steps ran on, as for a single run
        provenance = {**provenance_environment(), "python": platform.python_version(), "threads": trace.threads}
    problem = sweep.problem
    objective = problem.objective
    curvature = _curvature(objective, problem.start, quadratic_curvature)
    f_min, f_min_source = objective.f_min, "known" if objective.f_min is not None else None
    if f_min is None and curvature is not None:
        f_min, f_min_source = curvature.f_min, "newton"
    return SweepResult(
        name=problem.name,
        objective=objective.formula,
        layout=objective.layout,
        axes=sweep.axes,
        index=grid_index(sweep),
        lrs=spec.lrs,
        optimizers=[s.optimizer.name for s in sweep.settings],
        options=[dict(s.options) for s in sweep.settings],
        schedules=[s.schedule.describe() if s.schedule else None for s in sweep.settings],
        which=spec.which,
        status=[STATUS_NAMES[c] for c in trace.status.tolist()],
        codes=trace.status,
        stop=trace.stop,
        final_x=trace.final_x.to(torch.float64),
        final_f=trace.final_f.to(torch.float64),
        final_g=trace.final_g.to(torch.float64),
        steps=problem.config.steps,
        tol=problem.config.tol,
        f_min=f_min,
        f_min_source=f_min_source,
        notes=list(trace.notes),
        wall_time_s=trace.wall_time_s,
        device=problem.device,
        dtype=problem.dtype,
        curvature=curvature,
        interrupted=trace.interrupted,
        causes=trace.cause,
        seed=problem.config.seed,
        minimizers=objective.minimizers,
        known_f_min=objective.f_min,
        config=plain_config(problem.config),
        provenance=provenance,
        history_x=trace.history_x.to(torch.float64) if record and trace.history_x is not None else None,
        history_f=trace.history_f.to(torch.float64) if record and trace.history_f is not None else None,
    )


# ---- the grid table, as data ----------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """The runs sharing one (row value, column value): counts and medians."""

    runs: int
    diverged: int
    converged: int
    gap: float | None  # median final f − f* (or f) over the runs that did not diverge
    steps: float | None  # median steps to reach tol over the runs that converged
    diverged_at: float | None  # median step of divergence over the diverged runs
    predicted_stable: bool | None  # from the quadratic's Hessian; None when there is no prediction
    best: bool = False
    spread: float | None = None  # with seeds folded in: the interquartile range of f − f* over the cell's runs


ALL_RUNS = Axis("all", "all", "", ("all runs",), ("all runs",))  # the one row of a table that folds every axis
FOLD_STARTS = 32  # a start axis with more points than this is folded into the cells unless named


@dataclass(frozen=True)
class GridTable:
    """The cells of a two-axis table as tensors over [rows × columns]; `cell(i, j)` reads one."""

    rows: Axis
    cols: Axis | None
    stats: dict[str, Any]  # runs, diverged, converged (int64), gap, steps, diverged_at (float64, NaN = none),
    #                        stable (int64: 1 stable, 0 unstable, -1 no prediction or mixed)
    bounds: list[float | None]  # per column: the largest stable lr (when the rows are lr)
    best: tuple[int, int] | None
    aggregated: list[str]  # labels of the axes folded into each cell

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows.values), len(self.cols.values) if self.cols else 1

    def cell(self, i: int, j: int) -> Cell:
        k = i * self.shape[1] + j
        st = self.stats

        def num(name: str) -> float | None:
            v = float(st[name][k])
            return None if math.isnan(v) else v

        stable = int(st["stable"][k])
        return Cell(
            runs=int(st["runs"][k]),
            diverged=int(st["diverged"][k]),
            converged=int(st["converged"][k]),
            gap=num("gap"),
            steps=num("steps"),
            diverged_at=num("diverged_at"),
            predicted_stable=None if stable < 0 else bool(stable),
            best=self.best == (i, j),
            spread=num("spread") if "spread" in st else None,
        )

    @property
    def cells(self) -> list[list[Cell]]:
        rows, cols = self.shape
        return [[self.cell(i, j) for j in range(cols)] for i in range(rows)]


def pick_axes(result: SweepResult, rows: str | None, cols: str | None) -> tuple[int | None, int | None]:
    """Axis indices for the table: named ones, else lr × momentum, else the first two that are not
    a long list of start points (those fold into the cells' medians). None: no such axis."""
    from gdplay.errors import UsageError

    def find(name: str, flag: str) -> int:
        for k, axis in enumerate(result.axes):
            if name in (axis.key, axis.label):
                return k
        valid = [a.label for a in result.axes]
        raise UsageError(f"{flag}: no axis {name!r} in this sweep ({did_you_mean(name, valid)})")

    labels = [a.label for a in result.axes]
    # seeds fold into the cells (median and spread over them), as do long lists of start points
    shown = [
        k
        for k, a in enumerate(result.axes)
        if not (a.kind == "start" and len(a.values) > FOLD_STARTS) and a.kind != "seed"
    ]
    named_cols = find(cols, "--cols") if cols else None
    r: int | None = find(rows, "--rows") if rows else None
    if r is None:  # the default rows: lr, else the first shown axis, never the named columns
        free = [k for k in shown if k != named_cols]
        r = labels.index("lr") if "lr" in labels and labels.index("lr") != named_cols else next(iter(free), None)
    if named_cols is not None:
        c: int | None = named_cols
    elif "momentum" in labels and labels.index("momentum") != r:
        c = labels.index("momentum")
    else:
        c = next((k for k in shown if k != r), None)
    if c is not None and c == r:
        raise UsageError("--rows and --cols name the same axis")
    return r, c


def grid_table(result: SweepResult, rows: str | None = None, cols: str | None = None) -> GridTable:
    """Reduce the runs to the cells of a rows × columns table (vectorised: a million runs take a second)."""
    import torch

    r, c = pick_axes(result, rows, cols)
    row_axis = result.axes[r] if r is not None else ALL_RUNS
    col_axis = result.axes[c] if c is not None else None
    n_cols = len(col_axis.values) if col_axis else 1
    n_cells = len(row_axis.values) * n_cols
    zero = torch.zeros(result.size, dtype=torch.int64)
    cell_of = (result.index[:, r] if r is not None else zero) * n_cols + (result.index[:, c] if c is not None else 0)
    codes = result.codes
    from gdplay.engine.runner import CONVERGED, DIVERGED

    diverged, converged = codes == DIVERGED, codes == CONVERGED
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    gap = result.final_f - (result.f_min if result.f_min is not None else 0.0)
    gap = torch.where(diverged | ~torch.isfinite(gap), nan, gap)
    stop = result.stop.to(torch.float64)
    per_setting = _setting_bounds(result)
    stable = _predicted(result, per_setting)  # [B] 1, 0 or -1
    lo = torch.full((n_cells,), 2, dtype=torch.int64).scatter_reduce(0, cell_of, stable, "amin")
    hi = torch.full((n_cells,), -2, dtype=torch.int64).scatter_reduce(0, cell_of, stable, "amax")
    stats = {
        "runs": torch.bincount(cell_of, minlength=n_cells),
        "diverged": torch.bincount(cell_of[diverged], minlength=n_cells),
        "converged": torch.bincount(cell_of[converged], minlength=n_cells),
        "gap": _group_median(cell_of, gap, n_cells),
        "steps": _group_median(cell_of, torch.where(converged, stop, nan), n_cells),
        "diverged_at": _group_median(cell_of, torch.where(diverged, stop, nan), n_cells),
        "stable": torch.where(lo == hi, lo, -1),
    }
    if any(a.kind == "seed" for k, a in enumerate(result.axes) if k not in (r, c)):
        stats["spread"] = _group_quantile(cell_of, gap, n_cells, 0.75) - _group_quantile(cell_of, gap, n_cells, 0.25)
    best = _best(stats, result.tol is not None, n_cols) if n_cells > 1 else None
    bounds = _bounds(result, per_setting, r, c, cell_of, n_cols)
    aggregated = [a.label for k, a in enumerate(result.axes) if k not in (r, c)]
    return GridTable(row_axis, col_axis, stats, bounds, best, aggregated)


def _group_median(groups: Any, values: Any, n: int) -> Any:
    """Per group, the median of its values that are not NaN (NaN where it has none), as
    statistics.median: the middle value, or the mean of the two middle ones."""
    import torch

    valid = ~torch.isnan(values)
    g, v = groups[valid], values[valid]
    by_value = torch.argsort(v, stable=True)
    order = by_value[torch.argsort(g[by_value], stable=True)]  # by group, then by value
    v = v[order]
    counts = torch.bincount(g, minlength=n)
    first = torch.cumsum(counts, 0) - counts
    lo = (first + (counts - 1).clamp(min=0) // 2).clamp(max=max(len(v) - 1, 0))
    hi = (first + counts // 2).clamp(max=max(len(v) - 1, 0))
    if len(v) == 0:
        return torch.full((n,), float("nan"), dtype=torch.float64)
    middle = torch.where(lo == hi, v[lo], (v[lo] + v[hi]) / 2)
    return torch.where(counts > 0, middle, torch.tensor(float("nan"), dtype=torch.float64))


def _group_quantile(groups: Any, values: Any, n: int, q: float) -> Any:
    """Per group, the q-quantile of its values that are not NaN, by linear interpolation between
    order statistics (numpy.quantile's default: position q·(m − 1) among the m sorted values)."""
    import torch

    valid = ~torch.isnan(values)
    g, v = groups[valid], values[valid]
    if len(v) == 0:
        return torch.full((n,), float("nan"), dtype=torch.float64)
    by_value = torch.argsort(v, stable=True)
    order = by_value[torch.argsort(g[by_value], stable=True)]
    v = v[order]
    counts = torch.bincount(g, minlength=n)
    first = torch.cumsum(counts, 0) - counts
    pos = q * (counts - 1).clamp(min=0).to(torch.float64)
    lo = pos.floor().to(torch.int64)
    frac = pos - lo.to(torch.float64)
    top = max(len(v) - 1, 0)
    a = v[(first + lo).clamp(max=top)]
    b = v[(first + (lo + 1).clamp(max=(counts - 1).clamp(min=0))).clamp(max=top)]
    out = a + frac * (b - a)
    return torch.where(counts > 0, out, torch.tensor(float("nan"), dtype=torch.float64))


def _best(stats: dict[str, Any], has_tol: bool, n_cols: int) -> tuple[int, int] | None:
    """No divergence first; then, with tol, most runs converged and fewest steps; then smallest f − f*."""
    import torch

    runs = stats["runs"].clamp(min=1).to(torch.float64)
    ok = (stats["runs"] > 0) & (stats["diverged"] < stats["runs"]) & ~torch.isnan(stats["gap"])
    if not bool(ok.any()):
        return None
    keys = [stats["diverged"] / runs]
    if has_tol:
        keys += [-stats["converged"] / runs, torch.nan_to_num(stats["steps"], nan=math.inf)]
    keys.append(stats["gap"])
    order = torch.nonzero(ok).squeeze(1)
    for key in reversed(keys):  # stable sorts, last key first: a lexicographic order
        order = order[torch.argsort(key[order], stable=True)]
    k = int(order[0])
    return k // n_cols, k % n_cols


def predicts(result: SweepResult, setting: int) -> bool:
    """Whether the quadratic theory covers this setting: heavy ball (sgd, manual_sgd), no schedule."""
    name, options = result.optimizers[setting], result.options[setting]
    return (
        result.curvature is not None
        and name in ("sgd", "manual_sgd")
        and result.schedules[setting] is None
        and not options.get("maximize", False)
    )


def max_lr(result: SweepResult, setting: int) -> float | None:
    """The largest stable lr for this setting, from gdplay.analysis.theory and the quadratic's eigenvalues."""
    from gdplay.analysis.theory import method_for, predict

    if not predicts(result, setting):
        return None
    # At lr = 1 the method's lr is the factor dampening puts on every lr: (1 − τ).
    method, _why = method_for(result.optimizers[setting], 1.0, result.options[setting])
    if method is None or method.lr <= 0:
        return None
    curv = result.curvature
    bound = predict(method, [curv.lam_min, curv.lam_max]).lr_bound
    return None if bound is None else bound / method.lr


def _setting_bounds(result: SweepResult) -> Any:
    """Per setting, the predicted largest stable lr (NaN: no prediction), as a float64 tensor."""
    import torch

    return torch.tensor(
        [b if (b := max_lr(result, s)) is not None else math.nan for s in range(len(result.optimizers))],
        dtype=torch.float64,
    )


def _predicted(result: SweepResult, per_setting: Any) -> Any:
    """Per run: 1 if the theory predicts it stable, 0 unstable, -1 no prediction."""
    import torch

    bound = per_setting[result.which]
    stable = (result.lrs < bound).to(torch.int64)
    return torch.where(torch.isnan(bound), -1, stable)


def _bounds(
    result: SweepResult, per_setting: Any, r: int | None, c: int | None, cell_of: Any, n_cols: int
) -> list[float | None]:
    """Per column, the predicted largest stable lr, when the rows are lr and the column fixes the setting."""
    import torch

    if r is None or result.axes[r].kind != "lr" or result.curvature is None:
        return []
    bound = torch.nan_to_num(per_setting[result.which], nan=-1.0)  # -1: no prediction
    col = cell_of % n_cols
    lo = torch.full((n_cols,), math.inf, dtype=torch.float64).scatter_reduce(0, col, bound, "amin")
    hi = torch.full((n_cols,), -math.inf, dtype=torch.float64).scatter_reduce(0, col, bound, "amax")
    return [float(a) if a == b and a >= 0 else None for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]


# ---- seeds: the band of each grid point -------------------------------------------------------

MAX_BANDS = 10  # grid points a band picture draws (more: the heatmap)


def seed_points(result: Sweep | SweepResult) -> int:
    """How many grid points a sweep (laid out or run) has apart from its seeds axis (0 without one)."""
    seeds = [k for k, a in enumerate(result.axes) if a.kind == "seed"]
    if not seeds:
        return 0
    return result.size // len(result.axes[seeds[0]].values)


def seed_groups(result: SweepResult) -> list[tuple[str, list[int]]]:
    """The grid points of a sweep with a seeds axis, in grid order: per point its label ('lr=0.1,
    momentum=0.5'; the sweep's name when seeds is the only axis) and its rows, one per seed."""
    import numpy as np

    seed_axis = next(k for k, a in enumerate(result.axes) if a.kind == "seed")
    index = np.asarray(result.index)
    others = [k for k in range(len(result.axes)) if k != seed_axis]
    groups: dict[tuple[int, ...], list[int]] = {}
    for row in range(result.size):
        groups.setdefault(tuple(int(index[row, k]) for k in others), []).append(row)
    out = []
    for point, rows in groups.items():
        axes = [result.axes[k] for k in others]
        label = ", ".join(f"{a.label}={a.labels[i]}" for a, i in zip(axes, point, strict=True))
        out.append((label or result.name, rows))
    return out


def seed_bands(result: SweepResult, f_star: float | str | None = "result") -> list[tuple[str, Any]]:
    """Per grid point (every combination of the axes but seeds, in grid order), its label
    ('lr=0.1, momentum=0.5') and the band of |f − f*| over its seeds: per step the 10%, 50% and
    90% quantiles over the runs of the point (analysis.noise.quantile_band; a run past its stop
    has no value). f*: the sweep's (result.f_min) unless given. Needs a sweep run with record=True
    and a seeds axis."""
    import numpy as np

    from gdplay.analysis.noise import quantile_band

    if result.history_f is None:
        raise ValueError("seed_bands needs a recorded sweep (run_sweep(..., record=True))")
    star = result.f_min if f_star == "result" else f_star
    values = result.history_f.numpy()  # [T, B]
    stop = np.asarray(result.stop)
    values = np.where(np.arange(values.shape[0])[:, None] > stop[None, :], np.nan, values)
    return [
        (label, quantile_band(label, values[:, rows], star, len(rows)))  # type: ignore[arg-type]
        for label, rows in seed_groups(result)
    ]
