"""Objectives on data: a data set from a CSV file or a generator, and the facts known about it.

A data set is n samples (xᵢ, yᵢ), xᵢ ∈ ℝᵈ. The parameters of a model on it are laid out as
(w₁, ..., w_d, b), the variables `w` (a vector) and `b`; with x̃ᵢ = (xᵢ, 1) and θ = (w, b):

- least squares:        f(θ) = (1/n)·Σᵢ (x̃ᵢ·θ − yᵢ)²
  ∇f = (2/n)·X̃ᵀ(X̃θ − y), Hessian H = (2/n)·X̃ᵀX̃ (constant). The minimiser solves the normal
  equations X̃ᵀX̃·θ* = X̃ᵀy, solved here in float64 (NumPy), with f* = f(θ*); unique when X̃ has
  full column rank.
- logistic regression:  f(θ) = (1/n)·Σᵢ [log(1 + e^{zᵢ}) − yᵢ·zᵢ] + (l2/2)·‖w‖²,  zᵢ = x̃ᵢ·θ, yᵢ ∈ {0, 1}
  (the mean log-loss; b is not penalised). H = (1/n)·X̃ᵀ·diag(pᵢ(1 − pᵢ))·X̃ + l2·diag(1, …, 1, 0),
  pᵢ = 1/(1 + e^{−zᵢ}). No closed form: θ* by Newton's method in float64 to ‖∇f‖ < 1e-12 (none
  when the classes are separable and l2 = 0: then f has no minimum, only an infimum).

A minibatch S of k samples gives f_S(θ), the same mean over S only; `sample_fn` evaluates it for
every run at once (points [B, D], indices [B, k]).

Generated data (`data: {generate: {n, d, noise, seed}}`, NumPy's PCG64 with that seed):
xᵢ ~ N(0, I_d), w° = (1, −1, 1, …), b° = 0.5, and yᵢ = w°·xᵢ + b° + noise·εᵢ (least squares) or
yᵢ ~ Bernoulli(1/(1 + e^{−(w°·xᵢ + b° + noise·εᵢ)})) (logistic), εᵢ ~ N(0, 1). The built-ins
without a `data:` key use n = 200, d = D − 1, noise = 0.1, seed 0.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdplay.errors import ConfigError, Location
from gdplay.problems.base import Layout, Objective
from gdplay.suggest import did_you_mean

if TYPE_CHECKING:  # the pydantic models cost 50 ms to build; `gdplay list` and `init` need none
    from gdplay.config.model import LoadedRun

DEFAULT = {"n": 200, "noise": 0.1, "seed": 0}
LEAST_SQUARES, LOGISTIC = "least_squares", "logistic_regression"


@dataclass(frozen=True)
class Dataset:
    """Features X (n rows of d numbers), targets y, and where they came from."""

    x: tuple[tuple[float, ...], ...]
    y: tuple[float, ...]
    features: tuple[str, ...]
    target: str
    source: str

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def d(self) -> int:
        return len(self.features)


@dataclass(frozen=True)
class DataFacts:
    """What an objective on data knows: its data set, minibatch evaluation, minimiser, Hessian."""

    dataset: Dataset
    kind: str
    # (points [B, D], indices [B, k]) -> values [B]; a closure, so not part of what makes two the same
    sample_fn: Any = field(repr=False, compare=False)
    minimizer: tuple[float, ...] | None
    f_min: float | None
    hessian: tuple[tuple[float, ...], ...] | None  # at the minimiser (constant for least squares)
    how: str  # how the minimiser was found

    @property
    def n(self) -> int:
        return self.dataset.n


# ---- the data set -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def generate(n: int, d: int, noise: float, seed: int, kind: str = LEAST_SQUARES) -> Dataset:
    """The generated data set described in the module docstring."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = np.array([1.0 if i % 2 == 0 else -1.0 for i in range(d)])
    z = x @ w + 0.5 + noise * rng.standard_normal(n)
    if kind == LOGISTIC:
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    else:
        y = z
    names = tuple(f"x{i + 1}" for i in range(d))
    return Dataset(tuple(map(tuple, x.tolist())), tuple(y.tolist()), names, "y", f"generated n={n} d={d}")


def load_csv(path: Path, features: Sequence[str] | None, target: str | None, run: LoadedRun) -> Dataset:
    """A CSV file with a header row; every error names the file, the line and the column."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise run.error(f"no such data file: {shown}", "data") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise run.error(f"cannot read data file {shown}: {exc}", "data") from None
    lines = text.splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ConfigError("the CSV file is empty: expected a header row and data rows", Location(file=shown, line=1))
    header_line, header_text = numbered[0]
    header = [h.strip() for h in _cells(header_text, shown, header_line)]
    for j, name in enumerate(header):
        if not name:
            raise ConfigError(f"column {j + 1} of the header has no name", Location(file=shown, line=header_line))
        if name in header[:j]:
            raise ConfigError(f"column {name!r} appears twice in the header", Location(file=shown, line=header_line))
    if len(numbered) == 1:
        raise ConfigError("the CSV file has a header but no data rows", Location(file=shown, line=header_line))
    target = target if target is not None else header[-1]
    if target not in header:
        raise run.error(
            f"{shown} has no column {target!r} (its columns: {', '.join(header)})",
            "target",
            hint=did_you_mean(target, header),
        )
    if features is None:
        features = [h for h in header if h != target]
    if not features:
        raise run.error(f"{shown} has no column besides the target {target!r}", "target")
    for i, name in enumerate(features):
        if name not in header:
            raise run.error(
                f"{shown} has no column {name!r} (its columns: {', '.join(header)})",
                "features",
                i,
                hint=did_you_mean(name, header),
            )
        if name == target:
            raise run.error(f"column {name!r} is the target; it cannot also be a feature", "features", i)
    if len(set(features)) != len(features):
        raise run.error("a column is named twice in features", "features")
    cols = [header.index(name) for name in features]
    t = header.index(target)
    xs: list[tuple[float, ...]] = []
    ys: list[float] = []
    for number, line in numbered[1:]:
        cells = _cells(line, shown, number)
        if len(cells) != len(header):
            raise ConfigError(
                f"this row has {len(cells)} cells, the header has {len(header)}", Location(file=shown, line=number)
            )
        values = [_number(cells, j, header, line, shown, number) for j in range(len(cells))]
        xs.append(tuple(values[j] for j in cols))
        ys.append(values[t])
    return Dataset(tuple(xs), tuple(ys), tuple(features), target, shown)


def _cells(line: str, file: str, number: int) -> list[str]:
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise ConfigError(f"cannot read this CSV row: {exc}", Location(file=file, line=number)) from None
    return rows[0] if rows else []


def _number(cells: list[str], j: int, header: list[str], line: str, file: str, number: int) -> float:
    raw = cells[j].strip()
    where = Location(file=file, line=number, column=_column(cells, j, line), key=header[j])
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"expected a number, got {cells[j]!r}", where) from None
    if not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {cells[j]!r}", where)
    return value


def _column(cells: list[str], j: int, line: str) -> int | None:
    """The 1-based character column where cell j starts (None when quoting makes it unclear)."""
    if '"' in line:
        return None
    return 1 + sum(len(c) for c in cells[:j]) + j


def dataset_for(run: LoadedRun, kind: str, dim: int | None) -> Dataset:
    """The data set a run's config names: its CSV file, a generator, or the default."""
    cfg = run.config
    if isinstance(cfg.data, str):
        path = Path(cfg.data)
        path = path if path.is_absolute() else run.base_dir / path
        data = load_csv(path, cfg.features, cfg.target, run)
    else:
        for key in ("features", "target"):
            if getattr(cfg, key) is not None:
                raise run.error(f"{key} names columns of a CSV file: it needs data: FILE.csv", key)
        if cfg.data is not None:
            g = cfg.data.generate
            data = generate(g.n, g.d, g.noise, g.seed, kind)
        else:
            data = generate(DEFAULT["n"], (dim or 3) - 1, DEFAULT["noise"], DEFAULT["seed"], kind)
    if kind == LOGISTIC:
        for i, v in enumerate(data.y):
            if v not in (0.0, 1.0):
                raise run.error(
                    f"logistic_regression needs targets 0 or 1; sample {i + 1} of {data.source} has {v:g}", "data"
                )
    return data


# ---- the facts --------------------------------------------------------------------------------


def least_squares_solution(data: Dataset) -> tuple[Any, float] | None:
    """θ* from the normal equations X̃ᵀX̃θ = X̃ᵀy (float64), and f* = mean((X̃θ* − y)²); None when
    X̃ does not have full column rank (then the minimisers form a line or plane)."""
    import numpy as np

    xt = np.hstack([np.asarray(data.x, dtype=np.float64), np.ones((data.n, 1))])
    y = np.asarray(data.y, dtype=np.float64)
    gram = xt.T @ xt
    if np.linalg.matrix_rank(gram) < gram.shape[0]:
        return None
    theta = np.linalg.solve(gram, xt.T @ y)
    r = xt @ theta - y
    return theta, float(np.mean(r * r))


def logistic_solution(data: Dataset, l2: float) -> tuple[Any, float] | None:
    """θ* by Newton's method in float64 (None when it does not reach ‖∇f‖ < 1e-12: no minimum)."""
    import numpy as np

    xt = np.hstack([np.asarray(data.x, dtype=np.float64), np.ones((data.n, 1))])
    y = np.asarray(data.y, dtype=np.float64)
    reg = np.full(xt.shape[1], l2)
    reg[-1] = 0.0
    theta = np.zeros(xt.shape[1])
    for _ in range(100):
        z = xt @ theta
        p = 1.0 / (1.0 + np.exp(-z))
        grad = xt.T @ (p - y) / data.n + reg * theta
        if np.linalg.norm(grad) < 1e-12:
            return theta, _logistic_value(xt, y, theta, l2)
        hess = (xt.T * (p * (1 - p))) @ xt / data.n + np.diag(reg)
        try:
            theta = theta - np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(theta)) or np.abs(theta).max() > 1e6:
            return None
    return None


def _logistic_value(xt: Any, y: Any, theta: Any, l2: float) -> float:
    import numpy as np

    z = xt @ theta
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * float(theta[:-1] @ theta[:-1]))


def hessian_at(data: Dataset, kind: str, theta: Any, l2: float) -> Any:
    """The Hessian of f at θ, float64: (2/n)X̃ᵀX̃, or the logistic one."""
    import numpy as np

    xt = np.hstack([np.asarray(data.x, dtype=np.float64), np.ones((data.n, 1))])
    if kind == LEAST_SQUARES:
        return 2.0 * xt.T @ xt / data.n
    p = 1.0 / (1.0 + np.exp(-(xt @ theta)))
    reg = np.full(xt.shape[1], l2)
    reg[-1] = 0.0
    return (xt.T * (p * (1 - p))) @ xt / data.n + np.diag(reg)


def solution(data: Dataset, kind: str, l2: float) -> tuple[Any, float] | None:
    return least_squares_solution(data) if kind == LEAST_SQUARES else logistic_solution(data, l2)


# ---- evaluation ---------------------------------------------------------------------------------


def loss(points: Any, x: Any, y: Any, kind: str, l2: float) -> Any:
    """The mean loss of each row of points [..., D] over the samples x [..., n, d], y [..., n]."""
    w, b = points[..., :-1], points[..., -1:]
    z = (x * w.unsqueeze(-2)).sum(-1) + b  # [..., n]
    if kind == LEAST_SQUARES:
        return ((z - y) ** 2).mean(-1)
    import torch

    # log(1 + e^z) as logaddexp(0, z): softplus returns z itself beyond z = 20, off by up to e^{-20}
    value = (torch.logaddexp(torch.zeros_like(z), z) - y * z).mean(-1)
    return value + 0.5 * l2 * (w * w).sum(-1) if l2 else value


class _Tensors:
    """The data set as tensors, once per dtype and device."""

    def __init__(self, data: Dataset):
        self.data = data
        self.ready: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    def get(self, like: Any) -> tuple[Any, Any]:
        import torch

        key = (like.dtype, like.device)
        if key not in self.ready:
            x = torch.tensor(self.data.x, dtype=like.dtype, device=like.device).reshape(self.data.n, self.data.d)
            y = torch.tensor(self.data.y, dtype=like.dtype, device=like.device)
            self.ready[key] = (x, y)
        return self.ready[key]


@functools.lru_cache(maxsize=16)
def _default_tensors(kind: str, d: int) -> _Tensors:
    return _Tensors(generate(DEFAULT["n"], d, DEFAULT["noise"], DEFAULT["seed"], kind))


def builtin_value(points: Any, kind: str, l2: float) -> Any:
    """f on the default data set of dimension D (the registry's fn: `gdplay show`, the test matrices)."""
    x, y = _default_tensors(kind, points.shape[-1] - 1).get(points)
    return loss(points, x, y, kind, l2)


def default_facts(kind: str, dim: int, l2: float) -> tuple[list[list[float]], float | None]:
    """Minimisers and f* on the default data set of dimension `dim`."""
    found = solution(generate(DEFAULT["n"], dim - 1, DEFAULT["noise"], DEFAULT["seed"], kind), kind, l2)
    if found is None:
        return [], None
    return [[float(v) for v in found[0]]], found[1]


def data_objective(run: LoadedRun, kind: str, formula: str, params: dict[str, Any], notes: Sequence[str]) -> Objective:
    """The objective of least_squares or logistic_regression on the run's data set."""
    spec = run.config.objective
    dim = spec.dim if spec.dim is not None else (len(spec.init) if isinstance(spec.init, list) else None)
    data = dataset_for(run, kind, dim if run.config.data is None else None)
    d = data.d + 1
    if dim is not None and dim != d:
        key = "dim" if spec.dim is not None else "init"
        raise run.error(
            f"the data set has {data.d} features, so the parameters are {d} numbers (w and b), got {dim}",
            "objective",
            key,
        )
    l2 = float(params.get("l2", 0.0))
    tensors = _Tensors(data)

    def fn(points: Any) -> Any:
        x, y = tensors.get(points)
        return loss(points, x, y, kind, l2)

    def sample_fn(points: Any, idx: Any) -> Any:
        x, y = tensors.get(points)
        return loss(points, x[idx], y[idx], kind, l2)

    found = solution(data, kind, l2)
    how = (
        "the normal equations X̃ᵀX̃θ = X̃ᵀy, solved in float64" if kind == LEAST_SQUARES else "Newton's method in float64"
    )
    minimizer = tuple(float(v) for v in found[0]) if found is not None else None
    hessian = None
    if found is not None:
        hessian = tuple(map(tuple, hessian_at(data, kind, found[0], l2).tolist()))
    facts = DataFacts(data, kind, sample_fn, minimizer, found[1] if found else None, hessian, how)
    extra = [f"data: {data.source}, n = {data.n}, features {', '.join(data.features)}, target {data.target}"]
    if found is None:
        extra.append(
            "no unique minimiser: "
            + (
                "X̃ lacks full column rank"
                if kind == LEAST_SQUARES
                else "Newton's method did not converge (separable classes? add l2)"
            )
        )
    start = [float(v) for v in spec.init] if isinstance(spec.init, list) else [0.0] * d
    return Objective(
        name=run.config.name,
        formula=formula,
        layout=Layout(("w", "b"), (data.d, None)),
        fn=fn,
        start=tuple(start),
        minimizers=(minimizer,) if minimizer is not None else (),
        f_min=facts.f_min,
        notes=(*notes, *extra),
        kind="builtin",
        facts={"builtin": kind, "params": params, "dim": d, "data": facts},
    )
