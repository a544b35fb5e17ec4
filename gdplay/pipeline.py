"""The one path every command takes: config → problems → runs → judged results, and the exit code.

    load      a config source (a path, YAML text, a dict, or a loaded config) → validated runs
    plan      every run of every source built into a Problem, its expect: block bound to the
              objective — all before anything runs, so a typo in the last file fails at once
    execute   the problems in order, each judged by its expect: block when it has one; the
              interrupt rule: a run stopped by Ctrl-C ends the whole execution after itself
    exit_code the outcome as the CLI's exit code: 130 interrupted, then 1 an expectation
              missed, then 4 a run diverged (without an expect: block), else 0 (a broken
              config, 3, is a ConfigError raised by plan before anything runs)

`gdplay run`, `check` (through gdplay.ci.suite), the pytest plugin, `compare`, `plot`,
`explain` and the public API all call these. Pure: nothing printed; progress and results
reach a caller through callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdplay.config.model import ConfigFile, LoadedRun, load_config, load_config_data, load_config_text
from gdplay.errors import EXIT_DIVERGED, EXIT_EXPECTATION, EXIT_INTERRUPTED, EXIT_OK, UsageError
from gdplay.suggest import did_you_mean

if TYPE_CHECKING:
    from gdplay.engine.problem import Problem
    from gdplay.problems.base import Objective
    from gdplay.results.expect import Outcome
    from gdplay.results.model import RunResult

# What `load` accepts: a path (str or Path), YAML text, a mapping, or what load returned.
Source = str | Path | Mapping[str, Any] | ConfigFile


def load(source: Source, overrides: Sequence[Any] = (), base_dir: str | Path | None = None) -> ConfigFile:
    """Validate a config source into its runs; overrides are `key=value` strings (`--set`).

    A str is a path when it names an existing file or ends in .yaml/.yml, else YAML text (so a
    typo in a path is reported as a missing file, not as YAML). A ConfigFile is re-validated only
    when overrides are given.
    """
    if isinstance(source, ConfigFile):
        return source.with_overrides(overrides) if overrides else source
    if isinstance(source, Mapping):
        return load_config_data(source, base_dir=base_dir, overrides=overrides)
    if isinstance(source, Path):
        return load_config(source, overrides)
    if isinstance(source, str):
        if _looks_like_path(source):
            return load_config(source, overrides)
        if "\n" not in source and ":" not in source:  # neither a file nor a YAML mapping
            raise UsageError(f"no such config file: {source}")
        return load_config_text(source, "<string>", overrides)
    raise UsageError(f"a config is a path, YAML text, a dict or a loaded config, not {type(source).__name__}")


def _looks_like_path(text: str) -> bool:
    if "\n" in text:
        return False
    try:
        return text.endswith((".yaml", ".yml")) or Path(text).is_file()
    except OSError:  # a name too long for the file system is YAML text
        return False


def select(runs: Sequence[LoadedRun], name: str | None, where: str = "config") -> list[LoadedRun]:
    """All runs, or only the one named `name` (a UsageError with the close names otherwise)."""
    if name is None:
        return list(runs)
    chosen = [r for r in runs if r.config.name == name]
    if not chosen:
        names = [r.config.name for r in runs]
        raise UsageError(f"--run: {where} has no run named {name!r}; {did_you_mean(name, names)}")
    return chosen


@dataclass(frozen=True)
class Planned:
    """One run ready to go: its validated config and the problem built from it."""

    loaded: LoadedRun
    problem: Problem


def plan(
    sources: Iterable[Source | LoadedRun],
    overrides: Sequence[Any] = (),
    allow_python: bool = False,
    run_name: str | None = None,
    bind: bool = True,
    record: bool = True,
    document: int | None = None,
) -> list[Planned]:
    """Every run of every source, built (a Python objective is probed: torch's state is kept
    around that too) and, with `bind`, its expect: block checked against the objective, before
    any runs. Commands that do not judge (compare, explain, sweep, plot) pass bind=False; those
    that keep no history (check) pass record=False, so the memory rule counts what they keep;
    `document` (an `every`, 1 for all steps) says that the JSON document of the runs will be built
    (run --json), which the rule counts too: for each run, and for all of them together, since the
    results are kept until the end (config.memory.sequence_bytes)."""
    from gdplay.engine.problem import build_problem
    from gdplay.engine.state import kept_state
    from gdplay.results.expect import bind as bind_expect

    planned = []
    for loaded in selected(sources, overrides, run_name):
        with kept_state():
            problem = build_problem(loaded, allow_python=allow_python, record=record, document=document)
        if bind:
            objective = problem.objective
            bind_expect(loaded, objective.layout, objective.minimizers, objective.f_min)
        planned.append(Planned(loaded, problem))
    if len(planned) > 1:
        _fits_together(planned, record, document)
    return planned


def _fits_together(planned: Sequence[Planned], record: bool, document: int | None) -> None:
    """Each run fits on its own (build_problem checked it); the results of all are kept together."""
    from gdplay.config.memory import check_fits, run_memory, sequence_bytes

    memories = [
        run_memory(p.problem.objective.dim, p.problem.config.steps, p.problem.dtype, record, document) for p in planned
    ]
    kept = "their histories kept together" + (", and the --json document" if document is not None else "")
    check_fits(sequence_bytes(memories), f"{len(planned)} runs ({kept})", planned[-1].loaded.locate("steps"))


def selected(
    sources: Iterable[Source | LoadedRun], overrides: Sequence[Any] = (), run_name: str | None = None
) -> list[LoadedRun]:
    """The validated runs of every source (or only those named `run_name`), in order."""
    runs: list[LoadedRun] = []
    for source in sources:
        if isinstance(source, LoadedRun):
            runs.append(source)
        else:
            runs += select(load(source, overrides).runs, run_name, _label(source))
    return runs


def _label(source: object) -> str:
    return str(source) if isinstance(source, str | Path) and _looks_like_path(str(source)) else "the config"


@dataclass(frozen=True)
class Judged:
    """A run's result and, when its config has an expect: block, the verdict on it."""

    planned: Planned
    result: RunResult
    expect: Outcome | None

    @property
    def name(self) -> str:
        return self.result.name


def run_one(planned: Planned, progress: Any = None, record: bool = True, judge: bool = True) -> Judged:
    """Run one planned problem (torch's global state kept) and, with `judge`, judge it by its
    expect: block (compare and plot show runs without judging them)."""
    from gdplay.engine.execute import run_problem
    from gdplay.engine.state import kept_state
    from gdplay.results.expect import evaluate

    with kept_state():
        result = run_problem(planned.problem, progress=progress, record=record)
    expect = planned.problem.config.expect
    judged = judge and expect is not None and result.status != "interrupted"
    outcome = evaluate(expect, result) if judged and expect is not None else None
    return Judged(planned, result, outcome)


def execute(
    planned: Sequence[Planned],
    record: bool = True,
    judge: bool = True,
    progress_for: Callable[[Planned], Any] | None = None,
    on_result: Callable[[Judged], None] | None = None,
) -> list[Judged]:
    """Run the planned problems in order; stops after a run that was interrupted (the rule every
    command follows: show what was done, run no more). `progress_for(planned)` may give a context
    manager whose value is the engine's progress callback; `on_result` sees each judged run."""
    done: list[Judged] = []
    for item in planned:
        if progress_for is None:
            judged = run_one(item, record=record, judge=judge)
        else:
            with progress_for(item) as tick:
                judged = run_one(item, progress=tick, record=record, judge=judge)
        done.append(judged)
        if on_result is not None:
            on_result(judged)
        if judged.result.status == "interrupted":
            break
    return done


def exit_code(judged: Sequence[Judged]) -> int:
    """130 when interrupted, then 1 when an expectation was missed, then 4 when a run without an
    expect: block diverged (a run expected to diverge that diverges is fine), else 0."""
    if any(j.result.status == "interrupted" for j in judged):
        return EXIT_INTERRUPTED
    if any(j.expect is not None and not j.expect.passed for j in judged):
        return EXIT_EXPECTATION
    if any(j.result.status == "diverged" and j.expect is None for j in judged):
        return EXIT_DIVERGED
    return EXIT_OK


def objective_key(objective: Objective) -> tuple[object, ...]:
    """What makes two objectives the same function: kind, formula, variables and parameters (not the start)."""
    return (objective.kind, objective.formula, objective.layout, repr(sorted(objective.facts.items())))


def common_objective(planned: Sequence[Planned]) -> Objective:
    """The objective every planned run minimises (plot and compare need one); a ConfigError at the
    first run that differs."""
    first = planned[0].problem
    for item in planned[1:]:
        if objective_key(item.problem.objective) != objective_key(first.objective):
            raise item.loaded.error(
                f"run {item.problem.name!r} minimises another function than run {first.name!r}; "
                "plot and compare need one objective per file (put the others in their own file)",
                "objective",
            )
    return first.objective
