"""A regression suite: find the configs under some paths, run those with expectations, judge them.

The engine of `gdplay check` and of the pytest plugin. Each run of each config becomes a
`Case`: passed, failed (with the checks it missed), error (the config is broken: the
message says where), skipped (no `expect:` block) or interrupted. A broken file is one
error case and the other files are still checked. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdplay.errors import ConfigError, DeviceUnavailableError, UsageError
from gdplay.results.expect import Outcome

CONFIG_SUFFIXES = (".yaml", ".yml")

PASSED, FAILED, ERROR, SKIPPED, INTERRUPTED = "passed", "failed", "error", "skipped", "interrupted"


@dataclass
class Case:
    """One run of one config file, judged."""

    config: str  # the file, as found under the paths given
    run: str | None  # the run's name; None when the file did not load
    outcome: str  # passed | failed | error | skipped | interrupted
    message: str = ""  # the error, or why it was skipped
    index: int | None = None  # position in `runs:`
    outcome_checks: Outcome | None = None
    result: Any = None  # RunResult (kept as Any so this module imports nothing heavy)
    loaded: Any = None  # LoadedRun
    notes: list[str] = field(default_factory=list)
    line: int | None = None  # for an error: the line of the config it points at

    @property
    def id(self) -> str:
        """'configs/regression/quadratic.yaml::quadratic', as pytest names the item."""
        return f"{self.config}::{self.run}" if self.run is not None else self.config

    def explain(self) -> list[str]:
        """The lines that say why this case did not pass (empty when it did)."""
        if self.outcome == FAILED and self.outcome_checks is not None:
            return [f"{self.id}: {check.describe()}" for check in self.outcome_checks.misses]
        if self.outcome in (ERROR, INTERRUPTED):
            # A file that did not load: its error already starts with the file's name and line.
            return [self.message if self.run is None else f"{self.id}: {self.message}"]
        return []

    def key_line(self, quantity: str) -> int | None:
        """The line of the config where the expect: key of a check is written (its own entry's, or
        the inherited top-level one, or the nearest enclosing key)."""
        if self.loaded is None:
            return self.line
        parts: list[str | int] = []
        for word in re.split(r"\.", "max_steps" if quantity == "steps" else quantity):
            name, *indices = re.split(r"\[(\d+)\]", word)
            parts.append(name)
            parts += [int(i) for i in indices if i]
        return self.loaded.locate("expect", *parts).line

    def to_dict(self) -> dict[str, Any]:
        """The case in `check --json`: the file, the outcome, the checks, then the run's record
        (the same keys as `gdplay run --json`) when it ran."""
        out: dict[str, Any] = {
            "file": self.config,
            "name": self.run,
            "outcome": self.outcome,
            "message": self.message or None,
            "checks": [c.to_dict() for c in self.outcome_checks.checks] if self.outcome_checks is not None else None,
            "notes": list(self.notes),
        }
        if self.result is not None:
            record = self.result.to_dict()
            record.pop("name")
            out.update(record)
        return out


def discover(
    paths: Sequence[str | Path], exclude: Sequence[str] = (), not_configs: list[Path] | None = None
) -> list[Path]:
    """Config files named by `paths`: files as given, folders searched recursively for *.yaml and
    *.yml (hidden folders and files skipped), sorted, each once. A missing path is a usage error."""
    return [path for path, _ in find_configs(paths, exclude, not_configs)]


def find_configs(
    paths: Sequence[str | Path], exclude: Sequence[str] = (), not_configs: list[Path] | None = None
) -> list[tuple[Path, str]]:
    """`discover`, each file with its stable name (see `stable_name`).

    A file under `exclude` (globs matched against the path below the folder given, any folder of it,
    its name, or the path as found) is left out. A YAML file found in a folder that is not a gdplay
    config (no `objective`, `optimizer` or `expect`, at the top or in a `runs:` entry: a CI workflow,
    say) is left out too and listed in `not_configs`; a file named on its own is always loaded."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in _walk(path) if not excluded(p.relative_to(path), p, exclude))
            kept = [f for f in files if is_gdplay_config(f)]
            if not_configs is not None:
                not_configs += [f for f in files if f not in kept]
            files = kept
        elif path.exists():
            files = [] if excluded(Path(path.name), path, exclude) else [path]
        else:
            raise UsageError(f"no such file or folder: {raw}")
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append((f, stable_name(f, path)))
    return found


def excluded(relative: Path, path: Path, patterns: Sequence[str]) -> bool:
    """Whether a glob of `patterns` matches the file: its path below the folder given, one of that
    path's folders (so `--exclude drafts` leaves out a whole folder), its name, or the path as found."""
    if not patterns:
        return False
    rel = relative.as_posix()
    candidates = {rel, path.name, path.as_posix()}
    parts = relative.parts
    candidates |= {"/".join(parts[:i]) for i in range(1, len(parts))}
    return any(fnmatch.fnmatchcase(c, pattern.rstrip("/")) for c in candidates for pattern in patterns)


def is_gdplay_config(path: Path) -> bool:
    """Whether a YAML file is meant for gdplay: a mapping that names an `objective`, an `optimizer`
    or an `expect` (at the top or in an entry of `runs:`). A file that is not valid YAML counts as
    one, and so does a file with expectations whatever else it lacks (a misspelt `objectve:`), so
    that its error is reported rather than its baseline silently dropped."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError):
        return True
    if not isinstance(data, dict):
        return False
    keys = {"objective", "optimizer", "expect"}
    if keys & set(data):
        return True
    runs = data.get("runs")
    return isinstance(runs, list) and any(isinstance(r, dict) and keys & set(r) for r in runs)


def stable_name(path: Path, root: Path) -> str:
    """The name a config has in reports (JUnit classname, ids, --json): its path relative to the
    working folder when it lies under it, as pytest names items relative to its rootdir, so
    `configs/x.yaml`, `./configs/x.yaml` and `/abs/repo/configs/x.yaml` give one name. Outside the
    working folder: relative to the folder above the path given (`/tmp/ci/s` finds `s/a.yaml`)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        pass
    base = root.resolve().parent  # a folder's parent; for a file, the folder it is in
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(top: Path) -> list[Path]:
    """The *.yaml and *.yml files under `top`, hidden folders and files skipped; a loop over a stack
    of folders, not recursion (a tree 1,100 levels deep is fine), each real folder visited once
    (a symbolic link back up the tree is no endless walk)."""
    found: list[Path] = []
    stack, seen = [top], {os.path.realpath(top)}
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                real = os.path.realpath(entry.path)
                if real not in seen:
                    seen.add(real)
                    stack.append(Path(entry.path))
            elif Path(entry.name).suffix in CONFIG_SUFFIXES and entry.is_file():
                found.append(Path(entry.path))
    return found


def check_file(
    path: str | Path,
    overrides: Sequence[str] = (),
    allow_python: bool = False,
    on_case: Callable[[Case], None] | None = None,
    name: str | None = None,
    threads: int | None = None,
    match: Callable[[str], bool] | None = None,
    answers: Callable[[Path], dict[str, Any] | None] | None = None,
) -> list[Case]:
    """Every run of one config file, as cases (one error case when the file does not load).
    `name` is the file's name in the cases (default: the path as given); `match` keeps the runs
    whose id (`name::run`) it accepts; `answers(path)` may give {run name: expect block} that
    replace the file's own (an exercise graded by hidden answers: gdplay.teach.exercise)."""
    from gdplay.config.model import load_config

    display = name or Path(path).as_posix()
    try:
        loaded_file = load_config(path, overrides)
    except ConfigError as exc:
        case = Case(display, None, ERROR, str(exc), line=exc.location.line)
        if on_case:
            on_case(case)
        return [case]
    hidden = answers(Path(path)) if answers is not None else None
    cases: list[Case] = []
    for loaded in loaded_file.runs:
        if match is not None and not match(f"{display}::{loaded.config.name}"):
            continue
        if hidden is not None:
            import dataclasses

            if loaded.config.name not in hidden:  # a renamed run: no answer to grade it by
                names = ", ".join(repr(n) for n in hidden)
                case = Case(
                    display,
                    loaded.config.name,
                    ERROR,
                    f"run {loaded.config.name!r} is not a run of the lesson, so no answer grades it; "
                    f"keep the lesson's run names: {names}",
                    loaded.index,
                    loaded=loaded,
                )
                cases.append(case)
                if on_case:
                    on_case(case)
                continue
            expect = hidden.get(loaded.config.name)
            loaded = dataclasses.replace(loaded, config=loaded.config.model_copy(update={"expect": expect}))
        case = run_case(display, loaded, allow_python, threads=threads)
        cases.append(case)
        if on_case:
            on_case(case)
        if case.outcome == INTERRUPTED:
            break
    return cases


class _Stop(Exception):
    """maxfail reached inside a file."""


def check_files(
    found: Sequence[tuple[Path, str]],
    overrides: Sequence[Any] = (),
    allow_python: bool = False,
    keyword: str | None = None,
    jobs: int = 1,
    threads: int | None = None,
    maxfail: int | None = None,
    answers: Callable[[Path], dict[str, Any] | None] | None = None,
) -> Iterator[tuple[Path, list[Case]]]:
    """(path, cases) for each found file, in order. With `jobs` > 1 the files are checked in that
    many worker processes (each runs its files on `threads` threads, so the numbers are the same
    bits as in one process); `keyword` keeps the runs whose id matches the -k expression (the others
    are not run and not listed); `maxfail` stops after that many failed or broken runs."""
    match = keyword_matcher(keyword) if keyword else None
    failures = 0
    if jobs > 1 and len(found) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch threads
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [
                pool.submit(_check_one, path, name, tuple(overrides), allow_python, keyword, threads, answers)
                for path, name in found
            ]
            try:
                for (path, _), future in zip(found, futures, strict=True):
                    cases = future.result()
                    yield path, cases
                    failures += sum(c.outcome in (FAILED, ERROR) for c in cases)
                    if maxfail is not None and failures >= maxfail:
                        break
            finally:
                for future in futures:
                    future.cancel()
        return
    for path, name in found:
        done: list[Case] = []

        def seen(case: Case, done: list[Case] = done) -> None:
            nonlocal failures
            done.append(case)
            failures += case.outcome in (FAILED, ERROR)
            if maxfail is not None and failures >= maxfail:
                raise _Stop

        try:
            check_file(
                path, overrides, allow_python, name=name, threads=threads, match=match, on_case=seen, answers=answers
            )
        except _Stop:
            yield path, done
            return
        yield path, done


def _check_one(
    path: Path,
    name: str,
    overrides: tuple[Any, ...],
    allow_python: bool,
    keyword: str | None,
    threads: int | None,
    answers: Callable[[Path], dict[str, Any] | None] | None = None,
) -> list[Case]:
    """One file in a worker process: its cases, without the loaded configs (rebuilt by the parent
    when it needs them: --update)."""
    match = keyword_matcher(keyword) if keyword else None
    return check_file(path, overrides, allow_python, name=name, threads=threads, match=match, answers=answers)


def keyword_matcher(expression: str) -> Callable[[str], bool]:
    """pytest's -k: words matched case-insensitively as substrings of the id (`file::run`),
    combined with `and`, `or`, `not` and parentheses. A malformed expression is a usage error."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def disjunction() -> Callable[[str], bool]:
        parts = [conjunction()]
        while peek() == "or":
            take()
            parts.append(conjunction())
        return lambda text: any(p(text) for p in parts)

    def conjunction() -> Callable[[str], bool]:
        parts = [negation()]
        while peek() == "and":
            take()
            parts.append(negation())
        return lambda text: all(p(text) for p in parts)

    def negation() -> Callable[[str], bool]:
        if peek() == "not":
            take()
            inner = negation()
            return lambda text: not inner(text)
        token = peek()
        if token == "(":
            take()
            inner = disjunction()
            if peek() != ")":
                raise UsageError(f"-k {expression!r}: expected ')'")
            take()
            return inner
        if token is None or token in (")", "and", "or"):
            raise UsageError(f"-k {expression!r}: expected a word, got {token or 'the end'}")
        word = take().lower()
        return lambda text: word in text.lower()

    matcher = disjunction()
    if peek() is not None:
        raise UsageError(f"-k {expression!r}: unexpected {peek()!r}")
    return matcher


def prepare(loaded: Any, allow_python: bool = False) -> Any:
    """The run planned for a check: built and its expect: block bound (a ConfigError otherwise).
    The memory rule counts what a check keeps: no history, unless a statistic over the last steps
    (mean_of_last) needs it."""
    from gdplay.pipeline import plan
    from gdplay.results.expect import needs_history

    (planned,) = plan([loaded], allow_python=allow_python, record=needs_history(loaded.config.expect))
    return planned


def run_case(
    display: str, loaded: Any, allow_python: bool = False, planned: Any = None, threads: int | None = None
) -> Case:
    """Build, run and judge one loaded run; config problems become an error case, and a device
    this machine does not have (a `device: cuda` baseline on a CPU runner) a skipped one."""
    name = loaded.config.name
    if loaded.config.expect is None:
        return Case(display, name, SKIPPED, "no expect: block", loaded.index, loaded=loaded)
    from gdplay.pipeline import run_one
    from gdplay.results.expect import needs_history

    try:
        if planned is None:
            planned = prepare(loaded, allow_python)
        with deterministic(threads, planned.problem.device):
            # a statistic over the last steps (mean_of_last) needs the run's history
            judged = run_one(planned, record=needs_history(planned.problem.config.expect))
    except DeviceUnavailableError as exc:
        return Case(display, name, SKIPPED, exc.message, loaded.index, loaded=loaded)
    except ConfigError as exc:
        return Case(display, name, ERROR, str(exc), loaded.index, loaded=loaded, line=exc.location.line)
    except Exception as exc:  # one config's crash is its own ERROR row; the others still run
        return Case(display, name, ERROR, f"internal error: {type(exc).__name__}: {exc}", loaded.index, loaded=loaded)
    result, outcome = judged.result, judged.expect
    if result.status == "interrupted" or outcome is None:
        return Case(display, name, INTERRUPTED, result.reason, loaded.index, result=result, loaded=loaded)
    verdict = PASSED if outcome.passed else FAILED
    case = Case(display, name, verdict, "", loaded.index, outcome, result, loaded)
    if loaded.config.sweep is not None:
        case.notes.append(SWEEP_NOT_CHECKED)
    return case


SWEEP_NOT_CHECKED = (
    "its sweep: was not checked: only the base run is judged against expect: (run gdplay sweep for the grid)"
)


CHECK_THREADS = 1  # torch's intra-op threads for a check: one reduction order on every machine


@contextlib.contextmanager
def deterministic(threads: int | None = None, device: str = "cpu") -> Iterator[None]:
    """Run a check as a baseline needs it: bit for bit the same on every runner.

    A parallel reduction (a sum over more coordinates than torch's grain size) adds its partial
    sums in an order that depends on the thread count, and float addition is not associative:
    (a + b) + c ≠ a + (b + c) in the last bit, which an Adam run amplifies over its steps. So a
    check pins the thread count (CHECK_THREADS unless `threads` says; whatever OMP_NUM_THREADS
    says) and, on the CPU, asks torch for deterministic algorithms. On CUDA the flag is set only
    when CUBLAS_WORKSPACE_CONFIG is (torch refuses cuBLAS calls under the flag without it); the
    results record whether it was on. Both are restored afterwards."""
    import os

    import torch

    before = torch.get_num_threads()
    flag = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.set_num_threads(threads or CHECK_THREADS)
        if not device.startswith("cuda") or os.environ.get("CUBLAS_WORKSPACE_CONFIG"):
            torch.use_deterministic_algorithms(True)
        yield
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(flag, warn_only=warn_only)


def tally(cases: Iterable[Case]) -> dict[str, int]:
    counts = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0, INTERRUPTED: 0}
    for case in cases:
        counts[case.outcome] += 1
    return counts
