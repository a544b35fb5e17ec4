"""The public Python API: what `import gdplay` offers, and what the command line is a shell over.

    gdplay.load(config)                 → Config: the validated, frozen runs of a config
    gdplay.run(config, **overrides)     → Runs: one RunResult per run, judged by expect: blocks
    gdplay.sweep(config, **overrides)   → Sweeps: each run's grid, run as one batch
    gdplay.grad(config, at=...)         → Gradients: autograd vs central differences at a point
    gdplay.hessian(config, at=...)      → Hessians: ∇²f at a point, its eigenvalues, the kind of point
    gdplay.explain(config)              → Explanations: the prediction from the Hessian, the run, the measurement
    gdplay.check(paths)                 → CheckReport: every config with an expect: block, judged

`config` is a path, YAML text, a dict (whose `objective.python` may be a callable), or what
`gdplay.load` returned. Overrides are config keys as keywords, `__` for a dot:
`gdplay.run("q.yaml", steps=50, optimizer__lr=0.1)` is `--set steps=50 --set optimizer.lr=0.1`.

Every call keeps torch's process-wide state (threads, default dtype, RNG, grad mode) as it
found it, raises the GdplayError family with the CLI's messages, and prints nothing: results
show themselves in Jupyter (`_repr_html_`) and in rich (`__rich__`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from gdplay.config.model import ConfigFile
from gdplay.errors import UsageError
from gdplay.results.model import RunResult

if TYPE_CHECKING:
    from gdplay.pipeline import Judged, Planned, Source

T = TypeVar("T")
Config = ConfigFile


def _patches(sets: str | Sequence[str], overrides: Mapping[str, Any]) -> list[Any]:
    """`--set` strings, then keyword overrides as (keys, value) patches (a__b is the key a.b)."""
    patches: list[Any] = [sets] if isinstance(sets, str) else list(sets)
    for key, value in overrides.items():
        keys = key.split("__")
        if not all(keys):
            raise UsageError(f"override {key!r}: write nested keys as a__b (for a.b)")
        patches.append((keys, value))
    return patches


def _sources(config: Any) -> list[Any]:
    """The configs as a list; 'lesson:N' (or 'lesson:NAME') names a shipped lesson."""
    from gdplay.teach.course import resolve_source

    if isinstance(config, list | tuple):
        if not config:
            raise UsageError("no config given")
        return [resolve_source(c) for c in config]
    return [resolve_source(config)]


def load(config: Source, *, sets: Sequence[str] = (), **overrides: Any) -> Config:
    """The validated config: its runs (`.runs`, each with `.config`, a frozen RunConfig).

    Raises ConfigError naming the file, line and key for bad input, as the CLI does.
    """
    from gdplay.pipeline import load as load_source
    from gdplay.teach.course import resolve_source

    return load_source(resolve_source(config), _patches(sets, overrides))


def _plan(
    config: Any,
    sets: Any,
    overrides: Mapping[str, Any],
    allow_python: bool,
    run: str | None,
    bind: bool = True,
    record: bool = True,
    document: int | None = None,
) -> Any:
    from gdplay.pipeline import plan

    return plan(
        _sources(config), _patches(sets, overrides), allow_python, run, bind=bind, record=record, document=document
    )


class _Shown:
    """Display protocols for results: rich in a terminal, HTML in Jupyter. Prints nothing itself."""

    def _renderable(self) -> Any:
        raise NotImplementedError

    def __rich__(self) -> Any:
        return self._renderable()

    def _repr_html_(self) -> str:
        from gdplay.render.html import to_html

        return to_html(self._renderable())


class _Many(_Shown, Sequence[T], Generic[T]):
    """A list of results that shows itself and serialises as its command's `--json` document."""

    command = ""

    def __init__(self, items: Iterable[T]):
        self._items = list(items)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        return self._items[i]

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __repr__(self) -> str:
        names = ", ".join(repr(getattr(item, "name", "?")) for item in self._items)
        return f"{type(self).__name__}([{names}])"

    def to_dict(self) -> dict[str, Any]:
        from gdplay.results.serialize import document

        return document(self.command, runs=[item.to_dict() for item in self._items])  # type: ignore[attr-defined]


class Runs(_Many[RunResult]):
    """The runs of `gdplay.run`: a sequence of RunResult, in config order.

    `runs[0].final.point`, `.status`, `.history` (records), `.provenance`; `runs.passed` says
    whether every expect: block held; `runs.exit_code` is what `gdplay run` would exit with.
    """

    command = "run"

    def __init__(self, judged: Sequence[Judged]):
        super().__init__(j.result for j in judged)
        self.judged = list(judged)

    @property
    def expectations(self) -> list[Any]:
        """Per run, its expect: block's verdict (an Outcome with .passed and .checks), or None."""
        return [j.expect for j in self.judged]

    @property
    def passed(self) -> bool:
        return all(j.expect is None or j.expect.passed for j in self.judged)

    @property
    def exit_code(self) -> int:
        from gdplay.pipeline import exit_code

        return exit_code(self.judged)

    def to_dict(self, every: int | None = None) -> dict[str, Any]:
        """The `gdplay run --json` document (schema v2); history sampled every `every` steps when given."""
        from gdplay.results.serialize import runs_document

        document = runs_document(self._items, every)
        for entry, judged in zip(document["runs"], self.judged, strict=True):
            if judged.expect is not None:
                entry["expect"] = judged.expect.to_dict()
        return document

    def to_pandas(self, history: bool = False) -> Any:
        """One row per run (or, with history=True, one per recorded step of every run): the run's
        scalars, then the point's coordinates as columns `point.x`, `point.w[0]`, ... (prefixed, so
        a variable named `value` or `lr` cannot hide a column). Needs pandas ('gdplay[pandas]')."""
        pandas = _pandas()
        rows = []
        for result in self._items:
            if history:
                steps = result.history
                if steps is not None:  # a run with record=False kept none
                    for i, record in enumerate(steps):
                        rows.append({"name": result.name, **_scalars(record), **_coordinates(result, steps.points[i])})
                continue
            record = result.to_dict(config=False, history=False)
            final = record.pop("final")
            rows.append({**_scalars(record), **_scalars(final), **_coordinates(result, result.final_point)})
        return pandas.DataFrame(rows)

    def plot(self, size: tuple[int, int] | None = None, dpi: int = 100) -> Any:
        """The runs over the objective's landscape and their loss, as a matplotlib Figure (nothing
        is written; in Jupyter it displays itself). Every run must minimise the same objective."""
        from gdplay.pipeline import common_objective
        from gdplay.render.plot import runs_figure

        objective = common_objective([j.planned for j in self.judged])
        return runs_figure(objective, self._items, size=size, dpi=dpi)

    def band(self, index: int = 0, seeds: int = 64, size: tuple[int, int] | None = None, dpi: int = 100) -> Any:
        """Run `index`'s config again over `seeds` seeds (seed … seed + seeds − 1, batched at once)
        and draw its loss: the median per step and the 10%–90% band over the seeds (a Figure)."""
        from gdplay.analysis.noise import loss_band
        from gdplay.render.plot import band_figure

        return band_figure(loss_band(self.judged[index].planned.problem, seeds), size=size, dpi=dpi)

    def _renderable(self) -> Any:
        from gdplay.render.views import runs_renderable

        return runs_renderable(self._items, self.expectations)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError("to_pandas needs pandas, an optional extra: pip install 'gdplay[pandas]'") from None
    return pandas


def _scalars(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not isinstance(v, dict | list)}


def _coordinates(result: Any, flat: Sequence[float], prefix: str = "point") -> dict[str, Any]:
    return {f"{prefix}.{label}": v for label, v in zip(result.layout.labels(), flat, strict=True)}


def run(
    config: Source | Sequence[Source],
    *,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    run: str | None = None,
    record: bool = True,
    on_result: Callable[[Judged], None] | None = None,
    progress_for: Callable[[Planned], Any] | None = None,
    for_json: bool | int = False,
    **overrides: Any,
) -> Runs:
    """Run every run of the config(s) and return their results.

    Every config is validated and built before anything runs. `run` picks one run by name;
    `allow_python` allows 'file.py:function' objectives named by a config (a callable in a dict
    config needs nothing). `record=False` keeps no history (faster, less memory). A Ctrl-C
    ends the current run as `interrupted` and runs no more. `on_result` and `progress_for` are
    the hooks the command line uses to show runs as they finish and progress bars. `for_json`:
    True (or N, for `to_dict(every=N)`) when the caller will build the JSON document, so that the
    memory check made before any run counts it too.
    """
    from gdplay.pipeline import execute

    document = None if for_json is False else (1 if for_json is True else int(for_json))
    planned = _plan(config, sets, overrides, allow_python, run, record=record, document=document)
    return Runs(execute(planned, record=record, progress_for=progress_for, on_result=on_result))


class Sweeps(_Many[Any]):
    """The sweeps of `gdplay.sweep`: one SweepResult per run of the config (its grid, as one batch).

    `sweeps[0].runs()` gives every row as a RunResult; `sweeps[0].axes` the axes;
    `sweeps.tables` the grid reduced to cells (median f − f*, steps to tol, diverged counts).
    """

    command = "sweep"

    def __init__(self, results: Sequence[Any], tables: Sequence[Any]):
        super().__init__(results)
        self.tables = list(tables)

    @property
    def interrupted(self) -> bool:
        return any(r.interrupted for r in self._items)

    def to_dict(self) -> dict[str, Any]:
        from gdplay.sweeps.export import sweep_document

        return sweep_document(list(zip(self._items, self.tables, strict=True)))

    def to_csv(self) -> str:
        from gdplay.sweeps.export import sweep_csv

        return sweep_csv(self._items)

    def to_pandas(self) -> Any:
        """One row per run of every sweep: its swept settings, status and final state."""
        pandas = _pandas()
        rows = []
        for result, sweep_dict in zip(self._items, self.to_dict()["sweeps"], strict=True):
            finals = result.final_x.tolist()
            for record in sweep_dict["runs"]:
                final = record.pop("final")
                swept = record.pop("swept")
                b = record["run"]
                settings = {k: v for k, v in swept.items() if k != "start"}
                start = swept.get("start")
                if start is not None:  # a start axis: its point, flat, as start.x, start.w[0], ...
                    settings |= _coordinates(result, result.layout.flatten(start), "start")
                rows.append(
                    {"sweep": sweep_dict["name"], **settings, **_scalars(record), **_scalars(final)}
                    | _coordinates(result, finals[b])
                )
        return pandas.DataFrame(rows)

    def plot(self, index: int = 0, size: tuple[int, int] | None = None, dpi: int = 100) -> Any:
        """Sweep `index` as a heatmap (a matplotlib Figure; nothing is written)."""
        from gdplay.render.plot import sweep_figure

        return sweep_figure(self._items[index], self.tables[index], size=size, dpi=dpi)

    def _renderable(self) -> Any:
        from gdplay.render.views import sweeps_renderable

        return sweeps_renderable(self._items, self.tables)


def sweep(
    config: Source | Sequence[Source],
    *,
    axes: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
    rows: str | None = None,
    cols: str | None = None,
    run: str | None = None,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    progress_for: Callable[[Any], Any] | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
    record: bool = False,
    **overrides: Any,
) -> Sweeps:
    """Run each run's grid (its `sweep:` section, with `axes` replacing or adding axes: a mapping
    key → values as in the file, e.g. {"lr": {"from": 1e-3, "to": 1, "num": 20, "scale": "log"}};
    None drops an axis) as one batch. `rows`/`cols` pick the table's axes. `record` keeps every
    run's points and values at every step (result.history_x, history_f)."""
    from gdplay.engine.state import kept_state
    from gdplay.sweeps.grid import build_sweep, grid_table, run_sweep

    flags = list(axes.items()) if isinstance(axes, Mapping) else list(axes or ())
    planned = _plan(config, sets, overrides, allow_python, run, bind=False)
    grids = [build_sweep(p.problem, p.loaded, flags) for p in planned]
    results, tables = [], []
    for grid in grids:
        with kept_state():
            if progress_for is None:
                result = run_sweep(grid, record=record)
            else:
                with progress_for(grid) as tick:
                    result = run_sweep(grid, progress=tick, record=record)
        table = grid_table(result, rows, cols)
        results.append(result)
        tables.append(table)
        if on_result is not None:
            on_result(result, table)
        if result.interrupted:
            break
    return Sweeps(results, tables)


class _AtPoint(_Many[Any]):
    """What the derivative lab measured at a point, one item per run; `failed` is the CLI's exit 1."""

    @property
    def failed(self) -> bool:
        return any(item.failed for item in self._items)


def _at_point(
    measure: Callable[..., Any], config: Any, at: Any, sets: Any, overrides: Any, allow_python: bool, run: Any
):  # type: ignore[no-untyped-def]
    """`measure(loaded, objective, at)` for each selected run, torch's state kept."""
    from gdplay.engine.state import kept_state

    with kept_state():
        return [
            measure(loaded, objective, at)
            for loaded, objective in _objectives(config, sets, overrides, allow_python, run)
        ]


class Gradients(_AtPoint):
    """`gdplay.grad`: per run, a GradientAt (`.gradient` and `.point` by variable, `.check.autograd`,
    `.check.finite_difference`, `.check.verdict`)."""

    command = "grad"

    def _renderable(self) -> Any:
        from gdplay.render.views import gradients_renderable

        return gradients_renderable(self._items)


def _objectives(config: Any, sets: Any, overrides: Mapping[str, Any], allow_python: bool, run: str | None) -> Any:
    """(loaded run, objective) for each selected run: the derivative lab needs no optimizer."""
    from gdplay.engine.problem import build_objective
    from gdplay.pipeline import selected

    runs = selected(_sources(config), _patches(sets, overrides), run)
    return [(loaded, build_objective(loaded, allow_python=allow_python)) for loaded in runs]


def grad(
    config: Source | Sequence[Source],
    at: Any = None,
    *,
    run: str | None = None,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    h: float | None = None,
    h_sweep: bool = False,
    **overrides: Any,
) -> Gradients:
    """The gradient at `at` (default: the config's start) by autograd and by central differences,
    in float64. `at`: a mapping {"x": 1.0, "w": [1, 2]} (arrays and tensors too), the flat point,
    or the CLI's text "x=1,w[0]=2" (gdplay.analysis.at_point.resolve_point). `h` fixes the step of
    the difference, (f(x + h) − f(x − h)) / (2·h) as the notebook writes it; `h_sweep` adds the
    table of h = 1e-1 … 1e-12 in float64 and float32 (`.sweep`)."""
    from functools import partial

    from gdplay.analysis.at_point import gradient_at

    measure = partial(gradient_at, h=h, h_sweep=h_sweep)
    return Gradients(_at_point(measure, config, at, sets, overrides, allow_python, run))


class Hessians(_AtPoint):
    """`gdplay.hessian`: per run, a HessianAt (`.report.matrix`, `.report.eigenvalues`, `.report.kind`)."""

    command = "hessian"

    def _renderable(self) -> Any:
        from gdplay.render.views import hessians_renderable

        return hessians_renderable(self._items)


def hessian(
    config: Source | Sequence[Source],
    at: Any = None,
    *,
    run: str | None = None,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    **overrides: Any,
) -> Hessians:
    """The Hessian at `at` (default: the config's start) by autograd in float64, its eigenvalues
    and the kind of point (minimum, maximum, saddle, degenerate); `at` as for grad."""
    from gdplay.analysis.at_point import hessian_at

    return Hessians(_at_point(hessian_at, config, at, sets, overrides, allow_python, run))


class Explanations(_Many[Any]):
    """`gdplay.explain`: per run, an Explanation (`.prediction`, `.measured`, `.verdict`, `.result`)."""

    command = "explain"

    @property
    def diverged(self) -> bool:
        return any(e.diverged for e in self._items)

    @property
    def interrupted(self) -> bool:
        return any(e.result.status == "interrupted" for e in self._items)

    def _renderable(self) -> Any:
        from gdplay.render.views import explanations_renderable

        return explanations_renderable(self._items)


def explain(
    config: Source | Sequence[Source],
    *,
    run: str | None = None,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    on_result: Callable[[Any], None] | None = None,
    **overrides: Any,
) -> Explanations:
    """Predict stability and rate from the Hessian at the minimum, run, measure, compare."""
    from gdplay.analysis.explain import explain_planned
    from gdplay.engine.state import kept_state

    done = []
    for planned in _plan(config, sets, overrides, allow_python, run, bind=False):
        with kept_state():
            explanation = explain_planned(planned)
        done.append(explanation)
        if on_result is not None:
            on_result(explanation)
        if explanation.result.status == "interrupted":  # Ctrl-C: what was done, no more
            break
    return Explanations(done)


class CheckReport(_Many[Any]):
    """`gdplay.check`: one Case per run of every config found (passed, failed, error, skipped,
    interrupted), with `.summary` (counts) and `.passed`."""

    command = "check"

    def __init__(self, cases: Sequence[Any], seconds: float, interrupted: bool):
        super().__init__(cases)
        self.seconds = seconds
        self.interrupted = interrupted
        self.not_configs: list[str] = []  # YAML files found that are not gdplay configs (not checked)
        self.unused: list[Any] = []  # ci.unused.Unused: expectations of the files found that guard nothing
        self.stopped_early = False  # maxfail reached: the files after it were not checked

    @property
    def summary(self) -> dict[str, int]:
        from gdplay.ci.suite import tally

        return tally(self._items)

    @property
    def passed(self) -> bool:
        counts = self.summary
        return not self.interrupted and counts["failed"] == 0 and counts["error"] == 0 and counts["passed"] > 0

    def to_dict(self, updated: Sequence[Any] = (), not_updated: Sequence[Any] = ()) -> dict[str, Any]:
        """The `gdplay check --json` document; `updated`/`not_updated` are check --update's
        (file, Change) and (file, Skip) pairs."""
        from gdplay.results.serialize import document

        return document(
            "check",
            summary=self.summary,
            not_configs=list(self.not_configs),
            unused=[u.to_dict() for u in self.unused],
            stopped=self.stopped_early,
            cases=[c.to_dict() for c in self._items],
            updated=[
                {"file": file, "name": c.run, "quantity": c.quantity, "old": c.old, "new": c.new, "where": c.where}
                for file, c in updated
            ],
            not_updated=[
                {"file": file, "name": s.run, "quantity": s.quantity, "why": s.why} for file, s in not_updated
            ],
        )

    def _renderable(self) -> Any:
        from gdplay.render.views import check_renderable

        return check_renderable(self._items, self.seconds)


def check(
    paths: str | Path | Sequence[str | Path],
    *,
    sets: Sequence[str] = (),
    allow_python: bool = False,
    on_file: Callable[[Path, list[Any]], list[Any]] | None = None,
    exclude: Sequence[str] = (),
    keyword: str | None = None,
    maxfail: int | None = None,
    jobs: int = 1,
    threads: int | None = None,
    **overrides: Any,
) -> CheckReport:
    """Run every config under `paths` (files, or folders searched for *.yaml / *.yml) that has an
    expect: block, and judge it. A broken file is an error case; the others are still checked.
    `on_file(path, cases)` may replace a file's cases (check --update rewrites baselines there).

    `exclude`: globs of files or folders to leave out; `keyword`: a pytest-style -k expression
    over the case ids (`file::run`); `maxfail`: stop after that many failed or broken runs; `jobs`:
    worker processes (files are shared out, results come back in file order); `threads`: torch's
    thread count for the runs (default 1: the same bits on every machine)."""
    import time

    from gdplay.ci.suite import ERROR, FAILED, INTERRUPTED, check_files, find_configs
    from gdplay.teach.exercise import answers

    not_configs: list[Path] = []
    found = find_configs([paths] if isinstance(paths, str | Path) else list(paths), exclude, not_configs)
    began = time.perf_counter()
    cases: list[Any] = []
    interrupted = False
    stopped = False
    try:
        for path, found_cases in check_files(
            found,
            _patches(sets, overrides),
            allow_python,
            keyword=keyword,
            jobs=jobs,
            threads=threads,
            maxfail=maxfail,
            answers=answers,
        ):
            if on_file is not None:
                found_cases = on_file(path, found_cases)
            cases += found_cases
            if any(c.outcome == INTERRUPTED for c in found_cases):
                interrupted = True
                break
            if maxfail is not None and sum(c.outcome in (FAILED, ERROR) for c in cases) >= maxfail:
                stopped = True
                break
    except KeyboardInterrupt:
        interrupted = True
    report = CheckReport(cases, time.perf_counter() - began, interrupted)
    report.not_configs = [p.as_posix() for p in not_configs]
    from gdplay.ci.unused import find_unused

    report.unused = find_unused(found, answers)
    report.stopped_early = stopped
    return report
