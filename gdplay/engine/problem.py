"""From a validated run config to the things a run needs: objective, start, optimizer, device.

This is where names are looked up in the registries (objectives, optimizers) and
where anything that depends on the machine (CUDA) is checked; each failure is a
ConfigError pointing at the key in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdplay.config.memory import RunMemory, check_fits, run_memory
from gdplay.config.model import LoadedRun, RunConfig
from gdplay.errors import ConfigError, DeviceUnavailableError, FormulaError
from gdplay.optim.factory import check_options, lookup, probe
from gdplay.optim.registry import OptimizerInfo
from gdplay.optim.schedule import Schedule
from gdplay.problems.base import Layout, Objective


@dataclass(frozen=True)
class Problem:
    """Everything a run needs, resolved and checked."""

    name: str
    config: RunConfig
    objective: Objective
    start: tuple[float, ...]
    optimizer: OptimizerInfo
    options: dict[str, Any]
    device: str
    dtype: str
    schedule: Schedule | None = None
    stream: int = 0  # the run's index in its file: with seed, the key of its random streams
    minibatch: Any = None  # engine.noise.Minibatch when batch_size < the data set's size


def build_problem(
    run: LoadedRun, allow_python: bool = False, record: bool = True, document: int | None = None
) -> Problem:
    """`record`: whether the run will keep its history; `document`: whether (and every how many
    steps) its JSON document will be built from it. The memory it needs depends on both."""
    cfg = run.config
    objective = build_objective(run, allow_python)
    try:
        info = lookup(cfg.optimizer.name)
    except ConfigError as exc:
        raise exc.at(run.locate("optimizer", "name")) from None
    try:
        options = check_options(info, cfg.optimizer.options)
    except ConfigError as exc:
        raise exc.at(run.locate("optimizer", getattr(exc, "option", "name"))) from None
    schedule = build_schedule(run)
    try:
        probe(info, cfg.optimizer.lr, options, cfg.dtype)  # torch's own checks, and three steps
    except ConfigError as exc:
        raise exc.at(run.locate("optimizer", getattr(exc, "option", "name"))) from None
    device = resolve_device(cfg.device, run)
    memory = run_memory(objective.dim, cfg.steps, cfg.dtype, history=record, document=document)
    check_fits(memory.peak, memory_what(cfg.steps, objective.dim, memory), run.locate("steps"))
    minibatch = _minibatch(run, objective, info)
    return Problem(
        name=cfg.name,
        config=cfg,
        objective=objective,
        start=objective.start,
        optimizer=info,
        options=options,
        device=device,
        dtype=cfg.dtype,
        schedule=schedule,
        stream=run.index or 0,
        minibatch=minibatch,
    )


def memory_what(steps: int, dim: int, memory: RunMemory) -> str:
    """What a run's memory is for, as a refusal names it."""
    kept = "its history keeps every step" if memory.held else "without its history"
    if memory.document:
        kept += ", and its --json document holds the history again"
    return f"a run of {steps} steps in dimension {dim} ({kept})"


def _minibatch(run: LoadedRun, objective: Objective, info: OptimizerInfo) -> Any:
    """The checked minibatch setting (None: the exact gradient); noise and minibatches need an
    optimizer that takes the gradient it is given."""
    cfg = run.config
    data = objective.facts.get("data")
    stochastic = (cfg.noise is not None and cfg.noise.sigma > 0) or cfg.batch_size is not None
    if stochastic and info.name == "lbfgs":
        key = "noise" if cfg.noise is not None else "batch_size"
        raise run.error("lbfgs evaluates its own gradients in a line search: it cannot take noisy ones", key)
    if data is None:
        for key in ("batch_size", "data", "features", "target"):
            if getattr(cfg, key) is not None:
                raise run.error(f"{key} applies to an objective on data (least_squares, logistic_regression)", key)
        if "sampling" in run.raw:
            raise run.error("sampling applies to an objective on data (least_squares, logistic_regression)", "sampling")
        return None
    n = data.n
    if cfg.batch_size is None or cfg.batch_size == n:
        return None
    if cfg.batch_size > n:
        raise run.error(f"batch_size {cfg.batch_size} is larger than the data set ({n} samples)", "batch_size")
    from gdplay.engine.noise import Minibatch

    return Minibatch(n=n, size=cfg.batch_size, sampling=cfg.sampling, sample_fn=data.sample_fn)


def build_schedule(run: LoadedRun) -> Schedule | None:
    """The checked `optimizer.schedule`, its lr sequence tried once so that bad values fail here."""
    spec = run.config.optimizer.schedule
    if spec is None:
        return None
    from gdplay.optim.schedule import check_schedule

    try:
        schedule = check_schedule({"name": spec.name, **spec.options})
        schedule.sequence(run.config.optimizer.lr, run.config.steps)
    except ConfigError as exc:
        raise exc.at(run.locate("optimizer", "schedule", getattr(exc, "option", "name"))) from None
    return schedule


def build_objective(run: LoadedRun, allow_python: bool = False) -> Objective:
    """The objective a run's config describes (formula, built-in or Python function)."""
    spec = run.config.objective
    if spec.expr is not None:
        return _formula(run)
    if spec.name is not None:
        from gdplay.problems.builtin_objective import builtin_objective

        return builtin_objective(run)
    from gdplay.problems.python_objective import python_objective

    return python_objective(run, allow_python)


def _formula(run: LoadedRun) -> Objective:
    from gdplay.problems.formula import RESERVED, parse
    from gdplay.problems.formula_objective import formula_objective

    spec = run.config.objective
    for key in ("dim", "params"):  # these belong to built-ins; a formula's sizes come from init
        if getattr(spec, key) is not None:
            raise run.error(f"{key} applies to built-in objectives (name:), not to a formula", "objective", key)
    if not isinstance(spec.init, dict):  # ObjectiveConfig's validator already demands it
        raise run.error("a formula needs init: a mapping from each variable to its start value", "objective", "init")
    for var in spec.init:
        if var in RESERVED:
            raise run.error(f"variable name {var!r} is reserved for a function or constant", "objective", "init", var)
    layout = Layout(
        tuple(spec.init),
        tuple(len(v) if isinstance(v, list) else None for v in spec.init.values()),
    )
    try:
        formula = parse(spec.expr)
        unused = [v for v in spec.init if v not in formula.variables]
        objective = formula_objective(run.config.name, formula, layout, layout.flatten(spec.init))
    except FormulaError as exc:
        raise exc.at(run.locate("objective", "expr")) from None
    if unused:
        raise run.error(
            f"init names {', '.join(map(repr, unused))}, which the formula does not use",
            "objective",
            "init",
            unused[0],
        )
    return objective


def resolve_device(device: str, run: LoadedRun | None = None) -> str:
    """'auto' becomes cuda when available; asking for cuda without one is an error, never a fallback."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        where = run.locate("device") if run else None
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                "device 'cuda' was asked for, but CUDA is not available here (use cpu or auto)", where
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)", where
            )
    return device
