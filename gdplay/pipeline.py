"""Run every run of one config file and keep the results with their problems (for plot and compare).

Pure: nothing printed. A file whose runs minimise different objectives cannot share
one picture or one ranking, so `common_objective` refuses it, pointing at the run
that differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gdplay.config.model import LoadedRun, load_config
from gdplay.engine.problem import Problem, build_problem
from gdplay.problems.base import Objective
from gdplay.results.model import RunResult


@dataclass(frozen=True)
class FileRuns:
    """The runs of one file: loaded, built and run, in file order."""

    loaded: list[LoadedRun]
    problems: list[Problem]
    results: list[RunResult]

    @property
    def interrupted(self) -> bool:
        return any(r.status == "interrupted" for r in self.results)


def build_file(path: str | Path, overrides: Sequence[str] = (), allow_python: bool = False) -> FileRuns:
    """Load and check every run of the file (nothing runs yet: a typo fails before any work)."""
    loaded = load_config(path, overrides).runs
    problems = [build_problem(run, allow_python=allow_python) for run in loaded]
    return FileRuns(loaded, problems, [])


def run_all(runs: FileRuns) -> FileRuns:
    """Run the problems in order, with their history; stops after a run that was interrupted."""
    from gdplay.engine.execute import run_problem

    results: list[RunResult] = []
    for problem in runs.problems:
        results.append(run_problem(problem, record=True))
        if results[-1].status == "interrupted":
            break
    return FileRuns(runs.loaded, runs.problems, results)


def objective_key(objective: Objective) -> tuple[object, ...]:
    """What makes two objectives the same function: kind, formula, variables and parameters (not the start)."""
    return (objective.kind, objective.formula, objective.layout, repr(sorted(objective.facts.items())))


def common_objective(runs: FileRuns) -> Objective:
    """The objective every run of the file minimises; a ConfigError at the first run that differs."""
    first = runs.problems[0]
    for run, problem in zip(runs.loaded[1:], runs.problems[1:], strict=True):
        if objective_key(problem.objective) != objective_key(first.objective):
            raise run.error(
                f"run {problem.name!r} minimises another function than run {first.name!r}; "
                "plot and compare need one objective per file (put the others in their own file)",
                "objective",
            )
    return first.objective
