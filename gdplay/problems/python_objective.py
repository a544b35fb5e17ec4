"""User objectives written in Python: `objective: {python: "file.py:function"}`, or, from the
API, `objective: {python: f}` with `f` a Python callable.

A config file alone never runs code: a file's function is loaded only with
`--allow-python` on the command line, and the refusal happens before anything of the
file is read. A callable needs no such flag: it can only come from Python data (YAML
cannot make one), so its caller is already running Python.

The file is found relative to the config file. Either way the function takes one of two
forms (d = the length of `init`):

- batched: points as one tensor of shape [B, d] (B runs at once) → B values, shape [B]
  or [B, 1];
- for one point: a tensor of shape [d] → a scalar, shape [] (`def f(x): return (x**2).sum()`),
  which gdplay batches itself with `torch.func.vmap` (or, when vmap cannot trace the
  function, e.g. for Python control flow on a value such as `if x[0] > 0`, by calling it
  on each row in turn). The batched form is the faster one: vmap costs a little on every call.

Which form a function has is decided once, before the run, by calling it on a probe
batch X of shape [2, d] (the start and a point near it) and on one point, the start, of
shape [d]:

1. f(X) has shape [2] or [2, 1] and f(start) is not a scalar (or raises): batched.
2. f(X) has shape [2] or [2, 1] and f(start) is a scalar: both readings are possible, so
   f(X) is compared with f applied to each row of X alone. Equal values: batched (the two
   readings agree, as for `(x**2).sum(-1)`). Different values: for one point. This is the
   trap of a function such as `(1 - x[0])**2 + 100*(x[1] - x[0]**2)**2` with d = 2, whose
   `x[0]` is a row, not a coordinate, on a batch, giving shape [2] but wrong values.
3. otherwise, f(start) is a scalar: for one point (f(X) raised, or gave another shape:
   `(x**2).sum()` sums the whole batch to one number).
4. otherwise: a config error naming the function and both accepted forms.

A function for one point is then checked once more: batched by gdplay, it must give
shape [2] and the values of f on each row alone. A function that raises, returns the
wrong shape, something other than a tensor, or a value without a gradient, is reported
as a config error naming it, not as a traceback in the middle of a run; an exception
later in the run is reported the same way.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gdplay.config.model import LoadedRun
from gdplay.errors import ConfigError
from gdplay.problems.base import BatchFn, Layout, Objective
from gdplay.suggest import did_you_mean

BATCHED = "batched"
PER_POINT = "per-point"


def python_objective(run: LoadedRun, allow_python: bool) -> Objective:
    spec = run.config.objective
    if callable(spec.python):
        return _callable_objective(run, spec.python)
    if not allow_python:
        raise run.error(
            "a Python objective runs code from a file, so it needs --allow-python on the command line",
            "objective",
            "python",
        )
    target = str(spec.python)
    file_part, sep, func_name = target.rpartition(":")
    if not sep or not file_part or not func_name.isidentifier():
        raise run.error(f"expected 'file.py:function', got {target!r}", "objective", "python")
    _no_params(run)
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
    return _objective(run, fn, label, f"python {label}", layout, start, {"python": str(path), "function": func_name})


def callable_name(fn: Any) -> str:
    """How messages name a callable: its qualified name ('f', 'Model.loss', '<lambda>'), without the
    '<locals>' path of a function defined inside another."""
    if isinstance(fn, functools.partial):
        return f"partial({callable_name(fn.func)})"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return f"{type(fn).__qualname__} object"
    return name.rpartition("<locals>.")[2]


def python_target(value: Any) -> Any:
    """`objective.python` as text: a file target as written, a callable as `<function f>`, or
    `<Model object>` for an object with a __call__ (what a result's formula and JSON config show)."""
    if not callable(value):
        return value
    name = callable_name(value)
    named = isinstance(value, functools.partial) or isinstance(getattr(value, "__qualname__", None), str)
    return f"<function {name}>" if named else f"<{name}>"


def _callable_objective(run: LoadedRun, fn: Callable[..., Any]) -> Objective:
    _no_params(run)
    layout, start = _layout(run)
    label = callable_name(fn)
    return _objective(run, fn, label, f"python {python_target(fn)}", layout, start, {"function": label})


def _objective(
    run: LoadedRun, fn: Any, label: str, formula: str, layout: Layout, start: list[float], facts: dict[str, Any]
) -> Objective:
    """The Objective of a Python function, file or callable alike: probed, and batched when per point."""
    batched, form = _batched(run, fn, label, start)
    return Objective(
        name=run.config.name,
        formula=formula,
        layout=layout,
        fn=batched,
        start=tuple(start),
        kind="python",
        facts={**facts, "form": form},
    )


def _no_params(run: LoadedRun) -> None:
    if run.config.objective.params:
        raise run.error("params are for built-in objectives; a Python function takes none", "objective", "params")


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
    except (Exception, SystemExit) as exc:  # the module-level code failed (or called sys.exit): say what and where
        sys.modules.pop(name, None)
        raise run.error(f"importing {path.name} failed: {_describe(exc)}", "objective", "python") from None
    return module


# ---- batched or for one point (the rule is in the module docstring) --------------------------


def _batched(run: LoadedRun, fn: Callable[..., Any], label: str, start: list[float]) -> tuple[BatchFn, str]:
    """The function as the engine calls it ([B, d] -> [B]), and which form the user wrote."""
    import torch

    rows = _probe_rows(start)
    d = len(start)
    on_batch = _attempt(fn, _leaf(rows))
    on_start = _attempt(fn, _leaf(rows[0]))
    batch_shaped = isinstance(on_batch, torch.Tensor) and tuple(on_batch.shape) in ((2,), (2, 1))
    scalar = isinstance(on_start, torch.Tensor) and on_start.dim() == 0
    on_other: Any = None  # f at the second row alone, when needed
    if batch_shaped and scalar:
        on_other = _attempt(fn, _leaf(rows[1]))
        one_by_one = isinstance(on_other, torch.Tensor) and on_other.dim() == 0
        form = PER_POINT if one_by_one and not _same(on_batch, [on_start, on_other]) else BATCHED
    elif batch_shaped:
        form = BATCHED
    elif scalar:
        form = PER_POINT
    else:
        raise _neither(run, label, d, on_batch, on_start)
    if form == BATCHED:
        _check_grad(run, label, on_batch)
        return _guard(fn, label), form
    # For one point: gdplay batches it, and the batch must mean what the rows mean alone.
    mapped: BatchFn = torch.func.vmap(fn)
    batch = _attempt(mapped, _leaf(rows))
    if not isinstance(batch, torch.Tensor):  # vmap cannot trace it (control flow on a value, randomness)
        mapped = _row_by_row(fn)
        batch = _attempt(mapped, _leaf(rows))
    if isinstance(batch, BaseException):
        raise run.error(f"the Python objective {label} raised {_describe(batch)}", "objective", "python")
    reference = [on_start, on_other if on_other is not None else _attempt(fn, _leaf(rows[1]))]
    if not isinstance(batch, torch.Tensor) or tuple(batch.shape) != (2,) or not _same(batch, reference):
        raise run.error(
            f"the Python objective {label} looks written for one point ([{d}] → []) but, batched by gdplay, "
            "does not give the values of its rows taken one at a time; write it for a batch ([B, d] → [B]) instead",
            "objective",
            "python",
        )
    _check_grad(run, label, batch)
    return _guard(mapped, label), form


def _probe_rows(start: list[float]) -> list[list[float]]:
    """The start and a point near it, different in every coordinate by an uneven amount,
    so that a function that mixes up rows and coordinates cannot agree by symmetry."""
    golden = 0.6180339887498949
    near = [x + (1.0 + abs(x)) * (0.5 + (i + 1) * golden % 1.0) / 64 for i, x in enumerate(start)]
    return [list(start), near]


def _leaf(values: list[Any]) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def _attempt(fn: Callable[..., Any], points: Any) -> Any:
    """fn(points), or the exception it raised (the probe asks questions; it reports later)."""
    import torch

    try:
        value = fn(points)
    except (Exception, SystemExit) as exc:  # sys.exit() in a user's function must not end gdplay
        return exc
    if isinstance(value, torch.Tensor) and value.device != points.device:  # a meta tensor has no values
        return ValueError(f"it returned a tensor on device {value.device}, but its input is on {points.device}")
    return value


def _same(values: Any, rows: list[Any]) -> bool:
    import torch

    if not all(isinstance(r, torch.Tensor) and r.dim() == 0 for r in rows):
        return False
    got = values.detach().reshape(-1).to(torch.float64)
    want = torch.stack([r.detach().to(torch.float64) for r in rows])
    return bool(torch.allclose(got, want, rtol=1e-6, atol=1e-12, equal_nan=True))


def _neither(run: LoadedRun, label: str, d: int, on_batch: Any, on_start: Any) -> ConfigError:
    if isinstance(on_batch, BaseException) and isinstance(on_start, BaseException):
        told = _describe(on_batch)
        if _describe(on_start) != told:
            told += f" on a batch of shape [2, {d}], and {_describe(on_start)} on one point of shape [{d}]"
        return run.error(f"the Python objective {label} raised {told}", "objective", "python")
    return run.error(
        f"the Python objective {label} {_outcome(on_batch)} for input of shape [2, {d}] and "
        f"{_outcome(on_start)} for one point of shape [{d}]; expected [2] (a torch tensor, one value per row: "
        "[B, d] → [B]) or, for a function written for one point, a scalar ([d] → [])",
        "objective",
        "python",
    )


def _outcome(value: Any) -> str:
    import torch

    if isinstance(value, BaseException):
        return f"raised {_describe(value)}"
    if isinstance(value, torch.Tensor):
        return f"returned shape {list(value.shape)}"
    return f"returned {type(value).__name__}"


def _check_grad(run: LoadedRun, label: str, value: Any) -> None:
    if not value.requires_grad:
        raise run.error(
            f"the Python objective {label} returned a value without a gradient: compute it from the input "
            "with torch operations (not .item(), numpy or math)",
            "objective",
            "python",
        )


def _row_by_row(fn: Callable[..., Any]) -> BatchFn:
    import torch

    def call(points: Any) -> Any:
        return torch.stack([fn(row) for row in points.unbind(0)])

    return call


def _guard(fn: Callable[..., Any], label: str) -> BatchFn:
    """The user's function as the engine calls it, checked at every evaluation (the probe saw a
    batch of 2; a function can be right there and wrong at 1): a tensor of shape [B] (or [B, 1])
    on the input's device, else a ConfigError naming it. Any exception it raises, SystemExit
    included, is a ConfigError too: one line naming the function, not a traceback or a silent exit."""
    import torch

    def call(points: Any) -> Any:
        try:
            value = fn(points)
        except ConfigError:
            raise
        except (Exception, SystemExit) as exc:  # a user's bug becomes one line naming the function
            raise ConfigError(f"the Python objective {label} raised {_describe(exc)}") from None
        b = points.shape[0]
        if not isinstance(value, torch.Tensor):
            raise ConfigError(f"the Python objective {label} returned {type(value).__name__}, not a torch tensor")
        if tuple(value.shape) not in ((b,), (b, 1)):
            raise ConfigError(
                f"the Python objective {label} returned shape {list(value.shape)} for a batch of {b} "
                f"point{'s' if b != 1 else ''}; expected [{b}] (one value per row)"
            )
        if value.device != points.device:
            raise ConfigError(
                f"the Python objective {label} returned a tensor on device {value.device}, but its input is on "
                f"{points.device}"
            )
        return value

    return call


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
