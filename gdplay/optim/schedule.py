"""Learning-rate schedules: any torch.optim.lr_scheduler class that takes plain numbers.

A config names one as `optimizer.schedule: {name: StepLR, step_size: 100, gamma: 0.5}`.
The name is looked up among torch's scheduler classes (case-insensitive, with a
"did you mean"), and the options are checked against the class's real signature.
Schedulers that need Python functions (LambdaLR, MultiplicativeLR), other
schedulers (SequentialLR, ChainedScheduler) or the loss (ReduceLROnPlateau) are
refused with the reason.

The engine never steps a scheduler inside the hot loop. A scheduler only rewrites
the optimizer's group lr after each step, so its whole sequence of learning rates
lr_0, lr_1, ... can be computed once up front, by running the real scheduler on a
stand-in optimizer with the same starting lr: a run then sees exactly the learning
rates the scheduler would have set. For a batch whose runs start from different
learning rates, every torch scheduler is affine in the starting lr,

    lr_t(lr) = a_t + lr · b_t        (b_t = the factor; a_t = 0 except for eta_min or absolute lrs),

so a_t and b_t are found from three stand-in runs and checked on the third.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gdplay.errors import ConfigError
from gdplay.suggest import did_you_mean

# Classes a config may not name, and why.
REJECTED: dict[str, str] = {
    "LambdaLR": "it takes a Python function (lr_lambda), which a config cannot hold",
    "MultiplicativeLR": "it takes a Python function (lr_lambda), which a config cannot hold",
    "SequentialLR": "it takes other schedulers, not numbers",
    "ChainedScheduler": "it takes other schedulers, not numbers",
    "ReduceLROnPlateau": "it needs the loss at every step (it reacts to a metric), so it is not a fixed schedule",
    "LRScheduler": "it is the base class of the schedulers, not a schedule",
}
# Constructor arguments that are gdplay's business.
_RESERVED = {"optimizer", "last_epoch", "verbose"}
_CHECK_AT = (0.37, 2.0)  # starting lrs of the stand-in runs that verify the affine form


@dataclass(frozen=True, eq=False)
class Schedule:
    """A checked schedule: the torch class name and its options (compare by `key`)."""

    name: str
    options: Mapping[str, Any]
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def key(self) -> str:
        return repr((self.name, sorted(self.options.items())))

    def describe(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.name}({inner})"

    def sequence(self, lr: float, steps: int) -> list[float]:
        """lr_0 .. lr_{steps-1}: the group lr before each update, as the scheduler sets it."""
        key = ("seq", float(lr), steps)
        if key not in self._cache:
            self._cache[key] = _stand_in(self, float(lr), steps)
        return list(self._cache[key])

    def affine(self, steps: int) -> tuple[list[float], list[float]]:
        """(a, b) with lr_t(lr) = a_t + lr·b_t for every starting lr; ConfigError if not affine."""
        key = ("affine", steps)
        if key not in self._cache:
            s0 = self.sequence(1.0, steps)
            s1 = self.sequence(_CHECK_AT[1], steps)
            b = [(y - x) / (_CHECK_AT[1] - 1.0) for x, y in zip(s0, s1, strict=True)]
            a = [x - bt for x, bt in zip(s0, b, strict=True)]
            probe = self.sequence(_CHECK_AT[0], steps)
            for t, (at, bt, want) in enumerate(zip(a, b, probe, strict=True)):
                got = at + _CHECK_AT[0] * bt
                if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300):
                    raise ConfigError(
                        f"schedule {self.name}: its learning rate at step {t} is not an affine function of the "
                        "starting lr, so runs with different lr cannot share a batch"
                    )
            self._cache[key] = (a, b)
        a, b = self._cache[key]
        return list(a), list(b)


def scheduler_classes() -> dict[str, type]:
    """torch's scheduler classes by name (those a config may name and those it may not)."""
    import torch.optim.lr_scheduler as sched

    return {name: getattr(sched, name) for name in sched.__all__ if inspect.isclass(getattr(sched, name))}


def supported_schedules() -> list[str]:
    return [name for name in scheduler_classes() if name not in REJECTED]


def check_schedule(spec: Mapping[str, Any]) -> Schedule:
    """Validate `{name: ..., option: value, ...}`; ConfigError carries `.option` = the key at fault."""
    raw_name = spec.get("name")
    if not isinstance(raw_name, str):
        raise _err(f"expected a scheduler name, got {raw_name!r}", "name")
    classes = scheduler_classes()
    lowered = {n.lower(): n for n in classes}
    name = lowered.get(raw_name.lower())
    if name is None:
        raise _err(f"unknown schedule {raw_name!r}", "name", did_you_mean(raw_name, supported_schedules()))
    if name in REJECTED:
        raise _err(f"schedule {name} cannot be used: {REJECTED[name]}", "name", _valid())
    params = _parameters(classes[name])
    options: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "name":
            continue
        if key not in params:
            if key in _RESERVED:
                raise _err(f"{name} option {key!r} is set by gdplay (schedules start at step 0)", key)
            raise _err(f"{name} has no option {key!r}", key, did_you_mean(key, list(params) or ["(none)"]))
        options[key] = _coerce(name, key, value, params[key])
    missing = [k for k, p in params.items() if p.default is inspect.Parameter.empty and k not in options]
    if missing:
        raise _err(f"{name} needs {', '.join(missing)}", missing[0])
    if "cycle_momentum" in params and options.get("cycle_momentum", params["cycle_momentum"].default) is True:
        raise _err(
            f"{name} cycles the momentum too unless cycle_momentum is false; gdplay schedules only the "
            "learning rate, so set cycle_momentum: false",
            "cycle_momentum",
        )
    return Schedule(name, options)


def _valid() -> str:
    return "valid: " + ", ".join(sorted(supported_schedules()))


def _err(message: str, option: str, hint: str | None = None) -> ConfigError:
    error = ConfigError(message, hint=hint)
    error.option = option  # type: ignore[attr-defined]
    return error


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(cls)
    return {
        k: p
        for k, p in sig.parameters.items()
        if k not in _RESERVED and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _coerce(name: str, key: str, value: Any, param: inspect.Parameter) -> Any:
    """Check a value against the parameter's annotation (torch writes them as strings)."""
    annotation = str(param.annotation)

    def fail(expected: str) -> ConfigError:
        return _err(f"{name} option {key!r}: expected {expected}, got {value!r}", key)

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    def whole(v: Any) -> bool:
        return number(v) and float(v).is_integer()

    if "Callable" in annotation:
        raise _err(f"{name} option {key!r} takes a Python function, which a config cannot hold", key)
    if value is None and ("None" in annotation or param.default is None):
        return None
    literal = re.search(r"Literal\[(.*)\]", annotation)
    if literal:
        choices = re.findall(r"'([^']*)'", literal.group(1))
        if value not in choices:
            hint = did_you_mean(str(value), choices)
            raise _err(f"{name} option {key!r}: expected one of {', '.join(choices)}, got {value!r}", key, hint)
        return value
    if annotation == "bool" or isinstance(param.default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if "Iterable[int]" in annotation or "list[int]" in annotation:
        if not isinstance(value, list) or not all(whole(v) for v in value):
            raise fail("a list of whole numbers")
        return [int(v) for v in value]
    if re.fullmatch(r"int( \| None)?", annotation):
        if not whole(value):
            raise fail("a whole number")
        return int(value)
    if "float" in annotation:
        if not number(value):
            raise fail("a number")
        return float(value)
    raise fail("a plain number")  # an annotation we do not know: refuse rather than guess


def _stand_in(schedule: Schedule, lr: float, steps: int) -> list[float]:
    """Run the real scheduler on a stand-in optimizer and read the lr before each of `steps` updates."""
    import torch

    cls = scheduler_classes()[schedule.name]
    param = torch.zeros(1, requires_grad=True)  # never gets a gradient: its steps change nothing
    optimizer = torch.optim.SGD([param], lr=lr)
    group = optimizer.param_groups[0]
    out: list[float] = []
    try:
        scheduler = cls(optimizer, **schedule.options)
        for t in range(steps):
            out.append(float(group["lr"]))
            if t + 1 < steps:
                optimizer.step()  # torch warns when a scheduler steps before its optimizer
                scheduler.step()
    except Exception as exc:  # noqa: BLE001 - whatever torch raises for a value is the config's fault
        raise ConfigError(f"schedule {schedule.name}: torch refuses it: {type(exc).__name__}: {exc}") from None
    if not all(math.isfinite(v) for v in out):
        raise ConfigError(f"schedule {schedule.name} gives a learning rate that is not finite")
    return out
