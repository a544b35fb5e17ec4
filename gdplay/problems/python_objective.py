"""User objectives written in Python (`objective: {python: "file.py:function"}`).

A config alone never runs code: this works only with `--allow-python` on the
command line, and the refusal happens before anything of the file is read.

The file is found relative to the config file. Its function receives the points as
one tensor of shape [B, d] (B runs at once; d = the length of `init`) and returns B
values, shape [B] or [B, 1]. It is called once at the start point before the run, so
a function that raises, returns the wrong shape or is not differentiable is reported
as a config error, not as a traceback in the middle of a run; an exception later in
the run is reported the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from gdplay.config.model import LoadedRun
from gdplay.errors import ConfigError
from gdplay.problems.base import Layout, Objective
from gdplay.suggest import did_you_mean


def python_objective(run: LoadedRun, allow_python: bool) -> Objective:
    if not allow_python:
        raise run.error(
            "a Python objective runs code from a file, so it needs --allow-python on the command line",
            "objective",
            "python",
        )
    spec = run.config.objective
    target = str(spec.python)
    file_part, sep, func_name = target.rpartition(":")
    if not sep or not file_part or not func_name.isidentifier():
        raise run.error(f"expected 'file.py:function', got {target!r}", "objective", "python")
    if spec.params:
        raise run.error("params are for built-in objectives; a Python function takes none", "objective", "params")
    layout, start = _layout(run)
    path = Path(file_part)
    if not path.is_absolute():
        path = run.base_dir / path
    if path.suffix != ".py":
        raise run.error(f"expected a .py file, got {file_part!r}", "objective", "python")
    if not path.is_file():
        raise run.error(f"no such file: {path}", "objective", "python")
    module = _import(run, path)
    fn = getattr(module, func_name, None)
    if fn is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise run.error(
            f"{path.name} has no function {func_name!r}",
            "objective",
            "python",
            hint=did_you_mean(func_name, names or ["(none)"]),
        )
    if not callable(fn):
        raise run.error(f"{path.name}:{func_name} is not a function", "objective", "python")
    label = f"{path.name}:{func_name}"
    guarded = _guard(fn, label)
    _probe(run, guarded, label, start)
    return Objective(
        name=run.config.name,
        formula=f"python {label}",
        layout=layout,
        fn=guarded,
        start=tuple(start),
        kind="python",
        facts={"python": str(path), "function": func_name},
    )


def _layout(run: LoadedRun) -> tuple[Layout, list[float]]:
    spec = run.config.objective
    if spec.init is None:
        raise run.error("a Python objective needs init: the start point, a list of numbers", "objective", "init")
    if isinstance(spec.init, dict):
        layout = Layout(tuple(spec.init), tuple(len(v) if isinstance(v, list) else None for v in spec.init.values()))
        start = layout.flatten(spec.init)
    else:
        layout, start = Layout.vector("x", len(spec.init)), [float(v) for v in spec.init]
    if not start:
        raise run.error("init is empty", "objective", "init")
    if spec.dim is not None and spec.dim != len(start):
        raise run.error(f"init has {len(start)} numbers but dim is {spec.dim}", "objective", "init")
    return layout, start


def _import(run: LoadedRun, path: Path) -> Any:
    """Run the file as a fresh module (a unique name per path: two configs may use two f.py)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"gdplay_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise run.error(f"cannot load {path} as Python", "objective", "python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so dataclasses and pickling inside the file work
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise run.error(f"{path.name}:{exc.lineno}: syntax error: {exc.msg}", "objective", "python") from None
    except Exception as exc:  # the user's module-level code failed: say what and where
        sys.modules.pop(name, None)
        raise run.error(f"importing {path.name} failed: {_describe(exc)}", "objective", "python") from None
    return module


def _guard(fn: Any, label: str) -> Any:
    def call(points: Any) -> Any:
        try:
            return fn(points)
        except ConfigError:
            raise
        except Exception as exc:  # a user's bug becomes one line naming the function, not a traceback
            raise ConfigError(f"the Python objective {label} raised {_describe(exc)}") from None

    return call


def _probe(run: LoadedRun, fn: Any, label: str, start: list[float]) -> None:
    """Call the function on a batch of two copies of the start, as the engine will."""
    import torch

    points = torch.tensor([start, start], dtype=torch.float64, requires_grad=True)
    try:
        value = fn(points)
    except ConfigError as exc:
        raise exc.at(run.locate("objective", "python")) from None
    if not isinstance(value, torch.Tensor):
        raise run.error(
            f"{label} returned {type(value).__name__}; it must return a torch tensor of shape [B] "
            "(one value per row of its [B, d] input)",
            "objective",
            "python",
        )
    if tuple(value.shape) not in ((2,), (2, 1)):
        raise run.error(
            f"{label} returned shape {list(value.shape)} for input of shape [2, {len(start)}]; "
            "expected [2] (one value per row)",
            "objective",
            "python",
        )
    if not value.requires_grad:
        raise run.error(
            f"{label} returned a value without a gradient: compute it from the input with torch operations "
            "(not .item(), numpy or math)",
            "objective",
            "python",
        )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
