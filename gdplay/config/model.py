"""Config files: YAML in, validated frozen run configs out.

Precedence, merged in one place (`load_config`): model defaults < top-level keys of
the file < the entries of its `runs:` list < command-line overrides (`--set`).
Every error is a ConfigError naming the file, the line and the dotted key, with a
"did you mean" where a name is close.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from gdplay.config.yamlio import INVALID_UNICODE, Document, Path_, dotted, load_file, load_text
from gdplay.errors import ConfigError, Location
from gdplay.suggest import closest, did_you_mean

Number = Annotated[float, Field(allow_inf_nan=False)]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
InitValue = Number | list[Number]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ObjectiveConfig(_Strict):
    """What to minimise: a formula (`expr`), a built-in (`name`) or a Python function (`python`)."""

    expr: str | None = Field(
        None, description="A formula in the variables that init names.", examples=["3*x**2 + 2*x - 1"]
    )
    name: str | None = Field(None, description="A built-in objective (see `gdplay list`).", examples=["rosenbrock"])
    # A callable comes only from Python data (the API's dict form), so it needs no --allow-python;
    # the schema describes files, where only the string form can be written.
    python: str | SkipJsonSchema[Callable[..., Any]] | None = Field(
        None, description="'file.py:function', relative to the config; needs --allow-python.", examples=["my_f.py:f"]
    )
    init: dict[str, InitValue] | list[Number] | None = Field(
        None,
        description="Start point: variable -> number (or list for a vector variable); a list for a built-in.",
        examples=[{"x": 2.0}],
    )
    dim: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Dimension of an any-dimension built-in.", examples=[5]
    )
    params: dict[str, Any] | None = Field(
        None, description="Parameters of a built-in, e.g. {b: 100} for Rosenbrock.", examples=[{"a": 1.0, "b": 100.0}]
    )

    @model_validator(mode="after")
    def _one_source(self) -> ObjectiveConfig:
        given = [k for k in ("expr", "name", "python") if getattr(self, k) is not None]
        if len(given) != 1:
            which = ", ".join(given) if given else "none of them"
            raise ValueError(f"give exactly one of expr, name or python (got {which})")
        if self.expr is not None and (not isinstance(self.init, dict) or not self.init):
            raise ValueError("a formula needs init: a mapping from each variable to its start value")
        if isinstance(self.init, dict):
            for var, value in self.init.items():
                if not _NAME.match(var):
                    raise ValueError(f"variable name {var!r} must be letters, digits and _, starting with a letter")
                if isinstance(value, list) and not value:
                    raise ValueError(f"init of vector variable {var!r} is empty")
        return self


class ScheduleConfig(BaseModel):
    """A learning-rate schedule: a torch.optim.lr_scheduler class and its options (checked against its signature)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    name: str = Field(
        description="A torch.optim.lr_scheduler class, e.g. StepLR (case-insensitive).", examples=["StepLR"]
    )

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class OptimizerConfig(BaseModel):
    """The update rule: `name`, `lr`, and any option of its constructor (checked against its signature)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    name: str = Field(description="manual_sgd, or a torch.optim optimizer (case-insensitive).", examples=["sgd"])
    lr: PositiveNumber = Field(description="Learning rate, > 0.", examples=[0.3])
    schedule: ScheduleConfig | None = Field(
        None,
        description="Learning-rate schedule, e.g. {name: StepLR, step_size: 100, gamma: 0.5}.",
        examples=[{"name": "StepLR", "step_size": 100, "gamma": 0.5}],
    )

    @property
    def options(self) -> dict[str, Any]:
        """Every key besides name and lr: constructor options such as momentum or betas."""
        return dict(self.model_extra or {})


DEFAULT_ATOL = 1.0e-6
DEFAULT_RTOL = 1.0e-6
ExpectStatus = Literal["converged", "max_steps", "diverged"]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


# `min: {value: ..., atol: ..., rtol: ...}` in the schema editors read (validation unpacks it first).
_LONG_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "value": {"type": "number", "description": "The expected value.", "examples": [0.0]},
        "atol": {"type": "number", "minimum": 0, "description": "This quantity's atol.", "examples": [1.0e-9]},
        "rtol": {"type": "number", "minimum": 0, "description": "This quantity's rtol.", "examples": [1.0e-9]},
    },
    "required": ["value"],
    "additionalProperties": False,
}


def _add_long_form(schema: dict[str, Any]) -> None:
    options = schema.get("anyOf")
    if isinstance(options, list):
        options.append(_LONG_FORM)  # type: ignore[arg-type]


class ExpectConfig(_Strict):
    """What a run must end at, for CI (`gdplay check`, `gdplay run`, the pytest plugin).

    A number passes when |got − expected| <= atol + rtol·|expected| (per coordinate for argmin).
    `argmin` and `min` may carry their own tolerances, `{value: ..., atol: ..., rtol: ...}`
    (each overrides the block's atol or rtol for that quantity only).
    """

    argmin: Literal["known"] | list[Number] | dict[str, InitValue] | None = Field(
        None,
        description="The final point: variable -> number (a list for a vector variable), a list for a built-in, "
        "`known`: any known global minimiser of a built-in, or `{known: k}`: its k-th (0-based, as gdplay show "
        "lists them); or {value: ..., atol: ..., rtol: ...} with tolerances of its own.",
        examples=[{"x": -0.3333333333333333}, "known"],
    )
    min: Number | Literal["known"] | None = Field(
        None,
        description="The final value f(x), or `known`: a built-in's exact minimum; "
        "or {value: ..., atol: ..., rtol: ...} with tolerances of its own.",
        examples=[0.0],
        json_schema_extra=lambda schema: _add_long_form(schema),
    )
    atol: NonNegative = Field(DEFAULT_ATOL, description="Absolute tolerance, >= 0.", examples=[1.0e-6])
    rtol: NonNegative = Field(
        DEFAULT_RTOL, description="Relative tolerance (times |expected|), >= 0.", examples=[1.0e-6]
    )
    status: ExpectStatus | None = Field(
        None, description="How the run must end: converged | max_steps | diverged.", examples=["converged"]
    )
    max_steps: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Converged (gradient norm < tol) within this many steps; needs tol.", examples=[100]
    )
    # Per-quantity tolerances, from `argmin: {value: ..., atol: ...}` and `min: {value: ..., rtol: ...}`
    # (the long forms are unpacked into these before validation; they are not keys of their own).
    argmin_atol: SkipJsonSchema[NonNegative | None] = None
    argmin_rtol: SkipJsonSchema[NonNegative | None] = None
    min_atol: SkipJsonSchema[NonNegative | None] = None
    min_rtol: SkipJsonSchema[NonNegative | None] = None

    @model_validator(mode="before")
    @classmethod
    def _per_quantity(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key in PER_QUANTITY:
            if key in data:
                quantity, bound = key.split("_")
                raise ValueError(f"unknown key {key!r}: write {quantity}: {{value: ..., {bound}: ...}}")
        data = dict(data)
        for quantity in ("argmin", "min"):
            value = data.get(quantity)
            if isinstance(value, dict) and "value" in value and set(value) <= {"value", "atol", "rtol"}:
                data[quantity] = value["value"]
                for bound in ("atol", "rtol"):
                    if bound in value:
                        data[f"{quantity}_{bound}"] = value[bound]
        return data

    def tolerances(self, quantity: str) -> tuple[float, float]:
        """(atol, rtol) for `argmin` or `min`: its own when written, else the block's."""
        atol = getattr(self, f"{quantity}_atol", None)
        rtol = getattr(self, f"{quantity}_rtol", None)
        return (self.atol if atol is None else atol, self.rtol if rtol is None else rtol)

    mean_of_last: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Judge argmin and min by their mean over the last N steps instead of the final step "
        "(for noisy runs, which end anywhere in their noise floor).",
        examples=[100],
    )
    median_of_last: Annotated[int, Field(ge=1)] | None = Field(
        None, description="As mean_of_last, with the median (per coordinate for argmin).", examples=[100]
    )

    @field_validator("argmin", mode="before")
    @classmethod
    def _argmin(cls, value: Any) -> Any:
        def number(v: Any, where: str) -> None:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{where}expected a number, got {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"{where}expected a finite number, got {v!r}")

        if isinstance(value, str):
            if value != "known":
                close = " (did you mean 'known'?)" if closest(value, ["known"]) else ""
                raise ValueError(
                    f"expected `known`, a list of numbers or a mapping variable -> number, got {value!r}{close}"
                )
        elif isinstance(value, list):
            for i, v in enumerate(value):
                number(v, f"[{i}]: ")
        elif isinstance(value, dict) and "known" in value:
            k = value["known"]
            if set(value) != {"known"} or isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise ValueError(f"a pinned minimiser is written {{known: k}} with k = 0, 1, ...; got {value!r}")
        elif isinstance(value, dict):
            for var, v in value.items():
                if isinstance(v, list):
                    for i, item in enumerate(v):
                        number(item, f"{var}[{i}]: ")
                else:
                    number(v, f"{var}: ")
        elif value is not None:
            raise ValueError(f"expected `known`, a list of numbers or a mapping variable -> number, got {value!r}")
        return value

    @field_validator("min", mode="before")
    @classmethod
    def _min(cls, value: Any) -> Any:
        if (isinstance(value, str) and value != "known") or isinstance(value, bool | list | dict):
            raise ValueError(f"expected a number or `known`, got {value!r}")
        return value


PER_QUANTITY = ("argmin_atol", "argmin_rtol", "min_atol", "min_rtol")


class RangeAxis(_Strict):
    """`num` evenly spaced values from `from` to `to` (both included), on a linear or log scale."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, serialize_by_alias=True)

    start: Number = Field(alias="from", description="First value.", examples=[0.01])
    to: Number = Field(description="Last value.", examples=[0.4])
    num: Annotated[int, Field(ge=1, le=10_000_000)] = Field(description="How many values.", examples=[8])
    scale: Literal["linear", "log"] = Field(
        "linear", description="linear: equal steps; log: equal ratios.", examples=["log"]
    )

    @model_validator(mode="after")
    def _positive_for_log(self) -> RangeAxis:
        if self.scale == "log" and (self.start <= 0 or self.to <= 0):
            raise ValueError("a log scale needs from and to > 0")
        return self

    def values(self) -> list[float]:
        """The values, to 15 significant digits so that 0.05..0.65 gives 0.45, not 0.44999999999999996."""
        n, lo, hi = self.num, float(self.start), float(self.to)
        if n == 1:
            return [lo]
        if self.scale == "log":
            a, b = math.log(lo), math.log(hi)
            raw = [math.exp((a * (n - 1 - i) + b * i) / (n - 1)) for i in range(n)]
        else:
            raw = [(lo * (n - 1 - i) + hi * i) / (n - 1) for i in range(n)]
        return [float(f"{v:.15g}") for v in raw]


class RandomStarts(_Strict):
    """`random` start points drawn uniformly from `domain` (one [lo, hi] for all coordinates,
    one per coordinate, or variable -> [lo, hi]) with `seed`."""

    random: Annotated[int, Field(ge=1, le=10_000_000)] = Field(description="How many start points.", examples=[64])
    domain: list[Number] | list[list[Number]] | dict[str, list[Number]] | None = Field(
        None, description="Where to draw them; defaults to a built-in's domain.", examples=[[-2.0, 2.0]]
    )
    seed: Annotated[int, Field(ge=0, le=2**64 - 1)] | None = Field(
        None, description="Random seed; defaults to the run's seed.", examples=[0]
    )


def _axis_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "[random]" if "random" in value else "[range]"
    return "[list]" if isinstance(value, list) else "[one]"


# A sweep axis: a list of values, a range, random start points, or one value. The tags carry
# brackets so that error locations drop them (see _clean_loc).
SweepAxis = Annotated[
    Annotated[list[Any], Tag("[list]")]
    | Annotated[RangeAxis, Tag("[range]")]
    | Annotated[RandomStarts, Tag("[random]")]
    | Annotated[Number | str | bool, Tag("[one]")],
    Discriminator(_axis_kind),
]


class SweepConfig(RootModel[dict[str, SweepAxis]]):
    """The grid of a sweep: axis key -> values; the runs are every combination (see gdplay/sweeps/grid.py).

    Keys: lr, optimizer (the name), start, any optimizer option (momentum, betas, ... or
    optimizer.momentum), schedule options as schedule.gamma (or optimizer.schedule.gamma).
    """

    model_config = ConfigDict(frozen=True, strict=True)


class NoiseConfig(_Strict):
    """Gradient noise, added after autograd and before the update (see gdplay/engine/noise.py).

    gaussian: g + σ·ξ; multiplicative: g·(1 + σ·ξ); ξ ~ N(0, I), a fresh draw per step and run.
    """

    sigma: NonNegative = Field(description="Noise scale σ, >= 0 (0: the exact gradient).", examples=[0.5])
    kind: Literal["gaussian", "multiplicative"] = Field(
        "gaussian", description="gaussian: g + σ·ξ; multiplicative: g·(1 + σ·ξ).", examples=["gaussian"]
    )


class GenerateConfig(_Strict):
    """A synthetic data set: x ~ N(0, I_d), y = w·x + b + noise·ε with w = (1, −1, 1, ...), b = 0.5
    (for logistic_regression y = 1 when that is > 0, else 0)."""

    n: Annotated[int, Field(ge=1, le=10_000_000)] = Field(description="Number of samples.", examples=[200])
    d: Annotated[int, Field(ge=1, le=10_000)] = Field(2, description="Number of features.", examples=[2])
    noise: NonNegative = Field(0.1, description="Standard deviation of the target noise ε.", examples=[0.1])
    seed: Annotated[int, Field(ge=0)] = Field(0, description="Seed of the generator.", examples=[0])


class DataGenerate(_Strict):
    """`data: {generate: {n, d, noise, seed}}`."""

    generate: GenerateConfig = Field(description="Generate the data set.", examples=[{"n": 200, "d": 2}])


# `data:` is a file name or {generate: ...}; the tags carry brackets so that error locations drop them.
DataSource = Annotated[
    Annotated[str, Tag("[file]")] | Annotated[DataGenerate, Tag("[generate]")],
    Discriminator(lambda v: "[generate]" if isinstance(v, dict | DataGenerate) else "[file]"),
]


class RunConfig(_Strict):
    """One optimisation run, fully resolved."""

    name: str = Field(description="Name shown in reports; defaults to the file's stem.", examples=["quadratic"])
    objective: ObjectiveConfig = Field(
        description="What to minimise: exactly one of expr, name or python, with its start point.",
        examples=[{"expr": "3*x**2 + 2*x - 1", "init": {"x": 2.0}}],
    )
    optimizer: OptimizerConfig = Field(
        description="The update rule: name, lr and the optimizer's own options.",
        examples=[{"name": "sgd", "lr": 0.01, "momentum": 0.9}],
    )
    steps: Annotated[int, Field(ge=1, le=100_000_000)] = Field(description="Number of updates, >= 1.", examples=[100])
    device: str = Field(
        "cpu",
        description="cpu | cuda | cuda:N | auto (auto = cuda when available).",
        examples=["cpu", "auto"],
        json_schema_extra={"pattern": r"^(cpu|auto|cuda(:\d+)?)$"},  # for editors; _device checks it
    )
    dtype: Literal["float32", "float64"] = Field(
        "float32", description="Floating-point precision.", examples=["float64"]
    )
    seed: Annotated[int, Field(ge=0, le=2**64 - 1)] = Field(
        0, description="Random seed, for reproducibility.", examples=[0]
    )
    engine: Literal["eager", "compiled", "auto"] | None = Field(
        None,
        description="eager (the default) | compiled | auto: compiled fuses many steps into one kernel "
        "(a symbolic gradient; it pays for compiling first); auto compiles only when that is estimated faster.",
        examples=["auto", "compiled"],
    )
    tol: PositiveNumber | None = Field(
        None, description="Stop early when the gradient norm falls below it.", examples=[1.0e-8]
    )
    blowup: PositiveNumber = Field(
        1.0e20, description="A run whose |f| exceeds this is diverged (as are NaN and inf).", examples=[1.0e20]
    )
    expect: ExpectConfig | None = Field(
        None,
        description="What the run must end at (checked by run, check and the pytest plugin).",
        examples=[{"argmin": {"x": -0.3333333333333333}, "min": -1.3333333333333333, "atol": 1.0e-6}],
    )
    sweep: SweepConfig | None = Field(
        None,
        description="Axes of a sweep (`gdplay sweep`), e.g. {lr: [0.1, 0.3]}.",
        examples=[{"lr": {"from": 0.01, "to": 0.4, "num": 8}, "momentum": [0.0, 0.5, 0.9]}],
    )
    noise: NoiseConfig | None = Field(
        None,
        description="Gradient noise added before every update, e.g. {sigma: 0.5} (see docs/noise.md).",
        examples=[{"sigma": 0.5, "kind": "gaussian"}],
    )
    data: DataSource | None = Field(
        None,
        description="The data set of least_squares or logistic_regression: a CSV file (relative to the config) "
        "or {generate: {n, d, noise, seed}}.",
        examples=["points.csv", {"generate": {"n": 200, "d": 2, "noise": 0.1, "seed": 0}}],
    )
    features: list[str] | None = Field(
        None, description="CSV columns used as features (default: every column but the target).", examples=[["x1"]]
    )
    target: str | None = Field(None, description="CSV column of the target (default: the last).", examples=["y"])
    batch_size: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Samples per gradient (default: the whole data set, the exact gradient).", examples=[16]
    )
    sampling: Literal["shuffle", "replacement"] = Field(
        "shuffle",
        description="shuffle: epochs without replacement; replacement: each batch drawn independently.",
        examples=["shuffle"],
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"cpu|auto|cuda(:[0-9]+)?", value):  # fullmatch: `$` would let "cpu\n" through
            raise ValueError(f"expected cpu, cuda, cuda:N or auto, got {value!r}")
        return value


TOP_LEVEL_KEYS = set(RunConfig.model_fields) | {"runs"}


@dataclass(frozen=True)
class LoadedRun:
    """A validated run plus what is needed to point errors back at the file."""

    config: RunConfig
    index: int | None  # position in `runs:`, or None for a single-run file
    document: Document
    base_dir: Path
    raw: Mapping[str, Any]  # the merged plain data the config was validated from

    def locate(self, *path: str | int) -> Location:
        """Where `path` (dotted key parts) was written: in this run's entry, else at top level,
        else at the nearest enclosing key that was written."""
        key = dotted(tuple(path)) or None
        candidates: list[Path_] = []
        if self.index is not None:
            candidates.append(("runs", self.index, *path))
        candidates.append(tuple(path))
        for full in candidates:
            if _written(self.document, full):
                return self.document.location(full)
        best: Path_ = ("runs", self.index) if self.index is not None else ()
        for full in candidates:
            for cut in range(len(full), 0, -1):
                if _written(self.document, full[:cut]) and len(full[:cut]) > len(best):
                    best = full[:cut]
                    break
        loc = self.document.location(best)
        return Location(file=loc.file, line=loc.line, column=loc.column, key=key)

    def error(self, message: str, *path: str | int, hint: str | None = None) -> ConfigError:
        return ConfigError(message, self.locate(*path), hint)


def _written(doc: Document, path: Path_) -> bool:
    return tuple(path) in doc.positions


@dataclass(frozen=True)
class ConfigFile:
    path: str
    runs: list[LoadedRun]

    def with_overrides(self, overrides: Sequence[Any]) -> ConfigFile:
        """The same runs with overrides applied (`key=value` strings or (keys, value) pairs), validated
        again from what the file said, so errors still point into it."""
        patches = [o if isinstance(o, tuple) else _parse_override(o) for o in overrides]
        runs = []
        for run in self.runs:
            merged = _plain_data(run.raw)
            for keys, value in patches:
                _apply(merged, keys, value)
            try:
                runs.append(_validate(merged, run.document, run.index, run.base_dir))
            except ConfigError as exc:
                raise _blame_overrides(exc, overrides) from None
        return ConfigFile(path=self.path, runs=runs)


def load_config(path: str | Path, overrides: Sequence[Any] = ()) -> ConfigFile:
    """Load a config file into validated runs, applying `--set key=value` overrides."""
    return _from_document(load_file(path), Path(path).resolve().parent, Path(path).stem, overrides)


def load_config_text(text: str, file: str = "<string>", overrides: Sequence[Any] = ()) -> ConfigFile:
    return _from_document(load_text(text, file), Path.cwd(), Path(file).stem, overrides)


def load_config_data(
    data: Mapping[str, Any], file: str = "<config>", base_dir: str | Path | None = None, overrides: Sequence[Any] = ()
) -> ConfigFile:
    """Validate a config given as Python data (the API's dict form): the same checks and messages
    as a file, located by key path (there are no lines). Relative paths resolve from `base_dir`
    (default: the working folder)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping at the top level, got {_kind(data)}", Location(file=file))
    doc = Document(data=_plain_data(data), file=file)
    return _from_document(
        doc, Path(base_dir or Path.cwd()).resolve(), Path(file).stem.strip("<>") or "config", overrides
    )


def _plain_data(value: Any) -> Any:
    """Fresh dicts and lists for mappings and sequences; NumPy arrays and scalars and torch tensors
    as Python lists and numbers (their `tolist`); anything else, a callable included, as itself."""
    if isinstance(value, Mapping):
        return {k: _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(v) for v in value]
    if isinstance(value, str) and INVALID_UNICODE.search(value):
        raise ConfigError(f"text {value[:40]!r} holds an invalid Unicode character (a lone surrogate)")
    if not callable(value) and not isinstance(value, str | bytes) and callable(getattr(value, "tolist", None)):
        return _plain_data(value.tolist())
    return value


def _from_document(doc: Document, base_dir: Path, stem: str, overrides: Sequence[Any]) -> ConfigFile:
    data = doc.data
    if data is None:
        raise ConfigError(
            "the file is empty; expected a mapping with objective, optimizer and steps", Location(file=doc.file)
        )
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {_kind(data)}", doc.location(()))
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"unknown key {key!r}", doc.location((str(key),)), did_you_mean(str(key), TOP_LEVEL_KEYS))
    # `--set key=value` strings, or (keys, value) pairs from the Python API (values as given)
    patches = [o if isinstance(o, tuple) else _parse_override(o) for o in overrides]
    base = {k: v for k, v in data.items() if k != "runs"}
    entries: list[tuple[int | None, dict[str, Any]]]
    runs = data.get("runs")
    if runs is None:
        entries = [(None, base)]
    else:
        if not isinstance(runs, list) or not runs:
            raise ConfigError("expected a non-empty list of runs", doc.location(("runs",)))
        entries = []
        for i, entry in enumerate(runs):
            if not isinstance(entry, dict):
                raise ConfigError(f"expected a mapping, got {_kind(entry)}", doc.location(("runs", i)))
            for key in entry:
                if key not in RunConfig.model_fields:
                    raise ConfigError(
                        f"unknown key {key!r}",
                        doc.location(("runs", i, str(key))),
                        did_you_mean(str(key), RunConfig.model_fields),
                    )
            entries.append((i, _merge_run(base, entry)))
    loaded: list[LoadedRun] = []
    names: set[str] = set()
    for index, merged in entries:
        merged = _plain_data(merged)  # fresh dicts and lists; a callable stays the same object
        for keys, value in patches:
            _apply(merged, keys, value)
        merged.setdefault("name", stem if index is None else f"{stem}[{index}]")
        try:
            run = _validate(merged, doc, index, base_dir)
        except ConfigError as exc:
            raise _blame_overrides(exc, overrides) from None
        if run.config.name in names:
            raise run.error(f"two runs are named {run.config.name!r}; give each run its own name", "name")
        names.add(run.config.name)
        loaded.append(run)
    return ConfigFile(path=doc.file, runs=loaded)


def _merge_run(base: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """A run entry overrides the top level key by key; naming another optimizer or
    objective replaces that whole block (so `momentum` does not leak into `adam`)."""
    merged = _plain_data(dict(base))
    for key, value in entry.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _replaces(key, old, value):
            merged[key] = {**old, **_plain_data(value)}
        else:
            merged[key] = _plain_data(value)
    return merged


def _replaces(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if key == "optimizer":
        return "name" in new and str(new["name"]).lower() != str(old.get("name", "")).lower()
    if key == "objective":
        return any(k in new for k in ("expr", "name", "python"))
    return False


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}", Location(file="command line"))
    key, raw = text.split("=", 1)
    keys = key.strip().split(".")
    if not all(keys):
        raise ConfigError(f"--set: bad key {key!r}", Location(file="command line"))
    if not raw.strip():
        raise ConfigError(
            f"--set {text}: no value after '='; write --set {key.strip()}=VALUE (null for none)",
            Location(file="command line"),
        )
    value = load_text(raw, f"--set {text}").data
    return keys, value


def _blame_overrides(exc: ConfigError, overrides: Sequence[Any]) -> ConfigError:
    """An error at a key that a `--set` replaced names that flag, not a line of the file."""
    key = re.sub(r"^runs\[\d+\]\.", "", exc.location.key or "")
    for override in overrides:
        keys = override[0] if isinstance(override, tuple) else _parse_override(override)[0]
        flag = ".".join(keys)
        if key == flag or key.startswith((flag + ".", flag + "[")):
            source = f"--set {override}" if isinstance(override, str) else f"override {flag}"
            return ConfigError(exc.message, Location(file=source, key=exc.location.key), exc.hint)
    return exc


def _apply(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        child = target.get(k)
        if not isinstance(child, dict):
            child = target[k] = {}
        target = child
    target[keys[-1]] = value


def _validate(merged: dict[str, Any], doc: Document, index: int | None, base_dir: Path) -> LoadedRun:
    try:
        config = RunConfig.model_validate(merged)
    except ValidationError as exc:
        probe = LoadedRun(config=None, index=index, document=doc, base_dir=base_dir, raw=merged)  # type: ignore[arg-type]
        raise _translate(exc, probe) from None
    run = LoadedRun(config=config, index=index, document=doc, base_dir=base_dir, raw=merged)
    _check_expect(run)
    return run


def _check_expect(run: LoadedRun) -> None:
    """What the expect block says must fit the run: its variables, its tol, its status."""
    expect, objective = run.config.expect, run.config.objective
    if expect is None:
        return
    if expect.argmin is None and expect.min is None and expect.status is None and expect.max_steps is None:
        raise run.error("expect has nothing to check: give argmin, min, status or max_steps", "expect")
    argmin = expect.argmin
    if isinstance(argmin, dict) and set(argmin) == {"known"} and objective.name is None:
        raise run.error(
            "argmin: {known: k} needs a built-in objective (objective.name); for a formula write the point",
            "expect",
            "argmin",
        )
    _check_statistic(run)
    for key in ("argmin", "min"):
        if getattr(expect, key) == "known" and objective.name is None:
            raise run.error(
                f"{key}: known needs a built-in objective (objective.name); for a formula write the value",
                "expect",
                key,
            )
    if expect.status == "diverged" and (expect.argmin is not None or expect.min is not None):
        key = "argmin" if expect.argmin is not None else "min"
        raise run.error(f"a run expected to diverge has no {key}; set {key}: null", "expect", key)
    if expect.max_steps is not None:
        if run.config.tol is None:
            raise run.error("max_steps means 'converged within so many steps', which needs tol", "expect", "max_steps")
        if expect.status not in (None, "converged"):
            raise run.error(f"max_steps needs status converged, not {expect.status}", "expect", "max_steps")
    if isinstance(argmin, dict) and set(argmin) == {"known"}:
        return  # pinned: checked against the objective's minimisers when it is built (results.expect.bind)
    if isinstance(argmin, list) and isinstance(objective.init, dict):
        raise run.error(
            "for a formula argmin maps each variable to its value, e.g. {x: 1.0, y: 2.0}", "expect", "argmin"
        )
    if isinstance(argmin, dict):
        if not isinstance(objective.init, dict):
            raise run.error(
                "for a built-in argmin is a list of numbers (one per coordinate) or `known`", "expect", "argmin"
            )
        for var in argmin:
            if var not in objective.init:
                raise run.error(
                    f"argmin names {var!r}, which init does not",
                    "expect",
                    "argmin",
                    var,
                    hint=did_you_mean(var, objective.init),
                )
        for var, start in objective.init.items():
            if var not in argmin:
                raise run.error(f"argmin has no value for variable {var!r}", "expect", "argmin")
            value = argmin[var]
            if isinstance(start, list) != isinstance(value, list) or (
                isinstance(start, list) and isinstance(value, list) and len(start) != len(value)
            ):
                want = f"a list of {len(start)} numbers" if isinstance(start, list) else "a number"
                raise run.error(f"expected {want}, as in init, got {value!r}", "expect", "argmin", var)


def _check_statistic(run: LoadedRun) -> None:
    """mean_of_last / median_of_last: one of them, over argmin or min, at most steps + 1 records."""
    expect = run.config.expect
    if expect is None:
        return
    given = [k for k in ("mean_of_last", "median_of_last") if getattr(expect, k) is not None]
    if len(given) > 1:
        raise run.error("give mean_of_last or median_of_last, not both", "expect", given[1])
    if not given:
        return
    key = given[0]
    if expect.argmin is None and expect.min is None:
        raise run.error(f"{key} averages argmin and min: give one of them", "expect", key)
    n = getattr(expect, key)
    if n > run.config.steps + 1:
        raise run.error(
            f"{key} = {n}, but a run of {run.config.steps} steps records {run.config.steps + 1} points", "expect", key
        )


def _translate(exc: ValidationError, run: LoadedRun) -> ConfigError:
    """Turn pydantic's first error into one line: where, what was expected, what was given."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = _clean_loc(err["loc"])
    kind = err["type"]
    given = err.get("input")
    ctx = err.get("ctx", {})
    hint = None
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        message = f"unknown key {loc[-1]!r}"
        hint = did_you_mean(str(loc[-1]), model.model_fields) if model else None
    elif kind == "missing":
        message = "missing required key"
    elif kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than_equal": "<="}[kind]
        bound = ctx.get("gt", ctx.get("ge", ctx.get("le")))
        message = f"expected a number {op} {bound}, got {_shown(given)}"
    elif kind in ("int_type", "int_from_float"):
        message = f"expected a whole number, got {_shown(given)}"
    elif kind in ("float_type", "float_parsing"):
        message = f"expected a number, got {_shown(given)}"
    elif kind == "finite_number":
        message = f"expected a finite number, got {_shown(given)}"
    elif kind in ("string_type",):
        message = f"expected text, got {_shown(given)}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        message = f"expected a mapping, got {_kind(given)}"
    elif kind == "list_type":
        message = f"expected a list, got {_kind(given)}"
    elif kind == "literal_error":
        expected = ctx.get("expected", "")
        choices = re.findall(r"'([^']*)'", expected)
        message = f"expected {expected}, got {_shown(given)}"
        hint = did_you_mean(str(given), choices) if isinstance(given, str) and choices else None
    elif kind == "value_error":
        message = str(ctx.get("error", err["msg"]))
    else:
        message = err["msg"]
    # Errors at an enclosing or enclosed key are the other halves of a union: not news.
    others = {
        other
        for other in (_clean_loc(e["loc"]) for e in errors)
        if other[: len(loc)] != loc and loc[: len(other)] != other
    }
    if others:
        message += f" (and {len(others)} more error{'s' if len(others) > 1 else ''})"
    return ConfigError(message, run.locate(*loc), hint)


def _shown(value: Any) -> str:
    """A given value as an error quotes it: its repr, cut to 80 characters."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's 4,300-digit repr limit
        text = f"<an integer of about {value.bit_length() * 0.30103:.0f} digits>"
    return text if len(text) <= 80 else text[:60] + "…" + text[-12:]


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union-member tags ('float', 'list[float]') from an error location."""
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS)))


_UNION_TAGS = {"float", "int", "str", "list", "dict", "constrained-float", "function-after"}


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = RunConfig
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        sub = field.annotation
        candidates = [sub, *getattr(sub, "__args__", ())]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return None
        model = nxt
    return model


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
