"""`gdplay init`'s starter config: a commented file that runs as it is, ready to edit.

The objective is the notebook's f(x) = 3x² + 2x − 1, or a built-in by name (its default
start and parameters written out, so the reader sees what to change). The optimizer's
other options are listed as comments with their defaults, read from its real signature.
The learning rate is a starting point that keeps the notebook's f and the usual test
functions (sphere, Rosenbrock from its standard start) from diverging; a test runs the
starters to hold it to that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gdplay.errors import ConfigError, UsageError

FORMULA = "3*x**2 + 2*x - 1"
STEPS = 1000
# Conservative first learning rates: plain steps must stay below 2/λmax, about 2/1,500 at
# Rosenbrock's start (-1.2, 1); adaptive methods take steps of about lr whatever the gradient,
# except RAdam, whose first steps are plain momentum steps until its variance estimate settles.
STARTER_LR = {
    "manual_sgd": 0.001,
    "sgd": 0.001,
    "asgd": 0.001,
    "radam": 0.001,
    "adagrad": 0.1,
    "adadelta": 1.0,
    "lbfgs": 0.1,
}
ADAPTIVE_LR = 0.01  # Adam and its kin, Rprop, Adafactor
STARTER_OPTIONS = {"sgd": {"momentum": 0.9}, "manual_sgd": {"momentum": 0.9}}  # the notebook's second loop


def starter_text(path: Path, objective: str | None = None, optimizer: str = "sgd") -> str:
    """The text of a starter config to be written at `path`; `objective` is a built-in name or None
    for the notebook's formula. Unknown names are a UsageError with the valid names (they come from
    the command line).
    """
    from gdplay.config.schema import schema_line

    name = path.stem
    objective_block = _builtin_block(objective) if objective is not None else _formula_block()
    optimizer_block, lr = _optimizer_block(optimizer)
    small = _yaml(lr / 10)
    lines = [
        schema_line(path.parent).rstrip("\n"),
        f"# {name}: a gdplay config. Run it: gdplay run {path}",
        "# Every key is explained beside it; `gdplay schema` describes them all, and editors with the",
        "# YAML language server complete and check them from the line above.",
        f"name: {_scalar(name)}{_pad(f'name: {_scalar(name)}')}# shown in reports",
        *objective_block,
        *optimizer_block,
        f"steps: {STEPS}{_pad(f'steps: {STEPS}')}# number of updates",
        f"tol: 1.0e-6{_pad('tol: 1.0e-6')}# stop early once the gradient norm |∇f| falls below this",
        f"device: cpu{_pad('device: cpu')}# cpu | cuda | auto (cuda when available)",
        f"dtype: float32{_pad('dtype: float32')}# float32 | float64",
        f"seed: 0{_pad('seed: 0')}# random seed, recorded with the results",
        f"# runs:{_pad('# runs:')}# to compare settings, list runs; each overrides the keys above",
        f"#   - name: lr {_yaml(lr)}",
        f"#   - name: lr {small}",
        f"#     optimizer: {{lr: {small}}}",
    ]
    return "\n".join(lines) + "\n"


def _formula_block() -> list[str]:
    return [
        "objective:",
        f'  expr: "{FORMULA}"{_pad(f"  expr: {FORMULA!r}")}# the function to minimise, in the variables of init',
        f"  init: {{x: 2.0}}{_pad('  init: {x: 2.0}')}# start point: one number per variable (a list for a vector)",
        "  # name: rosenbrock         # or a built-in instead of expr (gdplay list shows them)",
    ]


def _builtin_block(name: str) -> list[str]:
    from gdplay.problems.registry import load_builtins
    from gdplay.suggest import did_you_mean

    registry = load_builtins()
    entry = registry.get(name) or registry.get(name.lower())
    if entry is None:
        raise UsageError(f"--objective: unknown built-in {name!r} ({did_you_mean(name, registry)})")
    dim = entry.dims if entry.dims is not None else entry.default_dim
    start = entry.start(dim)
    lines = [
        "objective:",
        f"  name: {entry.name}{_pad(f'  name: {entry.name}')}# {entry.formula}",
    ]
    if entry.dims is None:
        lines.append(f"  dim: {dim}{_pad(f'  dim: {dim}')}# any dimension >= {entry.min_dim}; init must match it")
    init = f"  init: {_yaml(start)}"
    lines.append(f"{init}{_pad(init)}# start point (the usual one); leave out for the default")
    if entry.params:
        params = f"  params: {_yaml(dict(entry.params))}"
        lines.append(f"{params}{_pad(params)}# the standard parameters ({entry.reference})")
    return lines


def _optimizer_block(name: str) -> tuple[list[str], float]:
    from gdplay.optim.factory import accepted_options, lookup

    try:
        info = lookup(name)
    except ConfigError as exc:
        raise UsageError(f"--optimizer: {exc.render()}") from None
    lr = STARTER_LR.get(info.name, ADAPTIVE_LR)
    chosen: Mapping[str, Any] = STARTER_OPTIONS.get(info.name, {})
    lines = [
        "optimizer:",
        f"  name: {info.name}{_pad(f'  name: {info.name}')}# {info.rule}",
        f"  lr: {lr}{_pad(f'  lr: {lr}')}# learning rate, > 0",
    ]
    for key, value in chosen.items():
        line = f"  {key}: {_yaml(value)}"
        lines.append(f"{line}{_pad(line)}# one of {info.name}'s options")
    others = {k: p.default for k, p in accepted_options(info).items() if k != "lr" and k not in chosen}
    shown = {k: v for k, v in others.items() if _representable(v)}
    if shown:
        lines.append(f"  # its other options, with their defaults (checked against {info.name}'s signature):")
        lines += [f"  # {key}: {_yaml(value)}" for key, value in shown.items()]
    return lines, lr


def _representable(value: Any) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, tuple | list):
        return all(_representable(v) for v in value)
    return False


def _yaml(value: Any) -> str:
    """A value in YAML flow style (floats keep a decimal point or exponent: YAML 1.2 numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ".nan"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return _scalar(str(value))


def _scalar(text: str) -> str:
    """A string as a YAML scalar, quoted when plain style would change its meaning."""
    import json

    from gdplay.config.yamlio import load_text

    plain = load_text(text).data if text and not any(c in text for c in ":#{}[],&*!|>'\"%@`") else None
    return text if isinstance(plain, str) and plain == text else json.dumps(text)


def _pad(text: str, column: int = 29) -> str:
    """Spaces that line the comment up at `column`, as in the shipped configs."""
    return " " * max(1, column - len(text))
