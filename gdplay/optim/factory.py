"""Build an optimizer by its registry name, with options checked against its real signature."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

from gdplay.errors import ConfigError
from gdplay.optim.registry import OPTIMIZERS, OptimizerInfo, supported_names
from gdplay.suggest import did_you_mean

# Options a config must not set: they are gdplay's business or change the math silently.
_RESERVED = {"params", "self", "differentiable", "capturable", "fused", "foreach"}


def lookup(name: Any) -> OptimizerInfo:
    """The registry entry for `name` (case-insensitive), or a ConfigError with the valid names."""
    if not isinstance(name, str):
        raise ConfigError(f"expected an optimizer name, got {name!r}")
    info = OPTIMIZERS.get(name.lower())
    if info is None:
        raise ConfigError(f"unknown optimizer {name!r}", hint=did_you_mean(name, supported_names()))
    if not info.supported:
        raise ConfigError(f"optimizer {name!r} is not supported: {info.why_not}")
    return info


def optimizer_class(info: OptimizerInfo) -> Callable[..., Any]:
    if info.torch_class is None:
        from gdplay.optim.manual import ManualSGD

        return ManualSGD
    import torch

    return getattr(torch.optim, info.torch_class)  # type: ignore[no-any-return]


@functools.cache  # inspect.signature is slow, and a sweep asks once per setting
def accepted_options(info: OptimizerInfo) -> dict[str, inspect.Parameter]:
    """The constructor's keyword options (lr included), from its signature (do not modify the result).

    Read from gdplay.optim.signatures' table while the installed torch is the one it was generated
    from (so `gdplay init` does not import torch), else from the live signature."""
    from gdplay.optim.signatures import parameters

    table = parameters(info.name)
    params = table if table is not None else inspect.signature(optimizer_class(info)).parameters
    return {
        name: p
        for name, p in params.items()
        if name not in _RESERVED and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def check_options(info: OptimizerInfo, options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate option names and coerce values to the types their defaults have.

    Raises ConfigError whose location key is the offending option name.
    """
    accepted = accepted_options(info)
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in accepted:
            err = ConfigError(
                f"{info.name} has no option {key!r}",
                hint=did_you_mean(key, [k for k in accepted if k != "lr"] or ["(none)"]),
            )
            err.option = key  # type: ignore[attr-defined]
            raise err
        checked[key] = _coerce(info, key, value, accepted[key])
    return checked


def _coerce(info: OptimizerInfo, key: str, value: Any, param: inspect.Parameter) -> Any:
    """Check a value against the parameter's default and annotation; return it as torch wants it."""
    default, annotation = param.default, str(param.annotation)

    def fail(expected: str) -> ConfigError:
        err = ConfigError(f"{info.name} option {key!r}: expected {expected}, got {value!r}")
        err.option = key  # type: ignore[attr-defined]
        return err

    def is_number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if is_number(default):
        if not is_number(value):
            raise fail("a number")
        if not math.isfinite(value):
            raise fail("a finite number")
        if "float" not in annotation:  # an integer-only option such as max_iter
            if not float(value).is_integer():
                raise fail("a whole number")
            return int(value)
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or len(value) != len(default):
            raise fail(f"a list of {len(default)} numbers")
        if not all(is_number(v) or v is None for v in value):
            raise fail(f"a list of {len(default)} numbers")
        return tuple(value)
    if value is not None and not isinstance(value, str) and not is_number(value):
        raise fail("a name or a number")
    return value


@functools.cache
def _takes_foreach(info: OptimizerInfo) -> bool:
    return "foreach" in inspect.signature(optimizer_class(info)).parameters


def make_optimizer(info: OptimizerInfo, params: list[Any], lr: Any, options: Mapping[str, Any]) -> Any:
    """Construct the optimizer over `params`. Options were checked by check_options."""
    cls = optimizer_class(info)
    kwargs = dict(options)
    if info.torch_class is not None and _takes_foreach(info):
        # The single-tensor path is bitwise-stable across batch sizes; foreach only pays
        # off for many tensors and we have one.
        kwargs["foreach"] = False
    return cls(params, lr=lr, **kwargs)


PROBE_STEPS = 3


def probe(info: OptimizerInfo, lr: float, options: Mapping[str, Any], dtype: str = "float64") -> None:
    """Build the optimizer on a small parameter and take PROBE_STEPS steps on f(x) = ½‖x‖²
    (gradient x); whatever torch raises (ZeroDivisionError for `betas: [1, 2]`, an overflow for
    `weight_decay: 1e300`, IndexError for LBFGS `history_size: 0`) becomes a ConfigError that
    names the option to blame and torch's reason. A value that only overflows later is a run that
    diverges, not an error. The option is found by leaving each out in turn: the one whose
    absence makes the probe pass; with none, lr; else the optimizer as a whole."""
    failure = _probe_failure(info, lr, options, dtype)
    if failure is None:
        return
    culprit = None
    if options:
        for key in options:
            if _probe_failure(info, lr, {k: v for k, v in options.items() if k != key}, dtype) is None:
                culprit = key
                break
    if culprit is None and _probe_failure(info, 1e-3, options, dtype) is None:
        culprit = "lr"
    value = lr if culprit == "lr" else options.get(culprit) if culprit else None
    what = (
        f"{culprit}={value!r}" if culprit else ", ".join(f"{k}={v!r}" for k, v in options.items()) or "these settings"
    )
    err = ConfigError(f"{info.name} rejects {what}: torch says {type(failure).__name__}: {failure}")
    err.option = culprit or "name"  # type: ignore[attr-defined]
    raise err


def _probe_failure(info: OptimizerInfo, lr: float, options: Mapping[str, Any], dtype: str) -> Exception | None:
    import warnings

    import torch

    kind = torch.float32 if dtype == "float32" else torch.float64

    def closure() -> Any:
        optimizer.zero_grad()
        loss = 0.5 * (x * x).sum()
        loss.backward()
        return loss

    try:
        # grad mode on whatever the caller's (a notebook under no_grad builds sweeps too)
        with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
            warnings.simplefilter("ignore")
            x = torch.ones(2, dtype=kind, requires_grad=True)
            optimizer = make_optimizer(info, [x], lr, options)
            for _ in range(PROBE_STEPS):
                if info.name == "lbfgs":
                    optimizer.step(closure)
                else:
                    closure()
                    optimizer.step()
    except Exception as exc:
        return exc
    return None
