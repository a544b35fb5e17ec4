"""pytest plugin: every gdplay config run that has an `expect:` block becomes a test item.

Turned on by naming config paths (files or folders, searched recursively for *.yaml, *.yml):

- the ini option `gdplay_configs` (paths relative to the ini file), collected when pytest
  chooses what to collect itself (no path arguments: like `testpaths`), so
  `pytest tests/test_one.py` stays quick;
- the flag `--gdplay PATH` (repeatable), collected on every run.

A config given as a path argument under one of those paths is collected too; pytest's
`--ignore` and `--ignore-glob` leave configs out, and a YAML file that is not a gdplay config (no
`objective`, `optimizer` or `expect`: a CI workflow, say) is not collected (`-v` lists it). Python
objectives need `--gdplay-allow-python` (or the ini option `gdplay_allow_python = true`). Items are named
`configs/regression/quadratic.yaml::quadratic` (file, then run), so `-k quadratic`,
`--junitxml` and pytest-xdist (each worker collects the same items in the same order) work as
with any test. A missed expectation fails with one line per miss naming the config, the
quantity, expected, got and the tolerance; a broken config (also one that only building the
run finds, such as an optimizer option's typo) is a collection error, and a run on a device this
machine lacks (`device: cuda` on a CPU runner) is skipped with the reason. Expectations that
guard nothing (gdplay.ci.unused: a config without any `expect:`, a top-level key no run inherits)
are listed in the terminal summary, and fail the session with `--gdplay-fail-unused` (or the ini
option `gdplay_fail_unused = true`), as syrupy fails on unused snapshots.

Registered through the `pytest11` entry point `gdplay`. Loading it imports only pytest and the
standard library (torch and gdplay's config loader are imported when a config is collected),
and a project that names no config paths collects nothing more and runs as before.

To load it explicitly while the entry point may also be installed (gdplay's own pyproject
does this), block the entry point's name first: `-p no:gdplay -p gdplay.ci.pytest_plugin`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SUFFIXES = (".yaml", ".yml")

_ROOTS = pytest.StashKey[list[Path]]()  # every named path: YAML under them is collectable
_EXTRA = pytest.StashKey[list[Path]]()  # the paths to add to this session's collection
_SEEN = pytest.StashKey[set[Path]]()  # config files already collected the usual way
_NOT_CONFIGS = pytest.StashKey[list[Path]]()  # YAML under the roots that is not a gdplay config
_UNUSED = pytest.StashKey[list[Any]]()  # ci.unused.Unused of the config files, found once


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gdplay", "gdplay regression configs")
    group.addoption(
        "--gdplay",
        action="append",
        default=[],
        dest="gdplay_paths",
        metavar="PATH",
        help="collect each run with an expect: block in the gdplay configs under PATH as a test (repeatable)",
    )
    group.addoption(
        "--gdplay-allow-python",
        action="store_true",
        default=False,
        dest="gdplay_allow_python",
        help="let gdplay configs run Python objectives (objective.python), as gdplay's --allow-python",
    )
    group.addoption(
        "--gdplay-fail-unused",
        action="store_true",
        default=False,
        dest="gdplay_fail_unused",
        help="fail the session when a gdplay expectation guards nothing (as gdplay check --fail-unused)",
    )
    parser.addini(
        "gdplay_fail_unused",
        type="bool",
        default=False,
        help="fail the session when a gdplay expectation guards nothing",
    )
    parser.addini(
        "gdplay_allow_python",
        type="bool",
        default=False,
        help="let gdplay configs run Python objectives (objective.python)",
    )
    parser.addini(
        "gdplay_configs",
        type="paths",
        default=[],
        help="gdplay config files or folders collected as tests when pytest is given no path arguments",
    )


def pytest_configure(config: pytest.Config) -> None:
    flagged = [Path(p).resolve() for p in config.getoption("gdplay_paths") or []]
    ini = [Path(p).resolve() for p in config.getini("gdplay_configs") or []]
    for path, source in [(p, "--gdplay") for p in flagged] + [(p, "ini option gdplay_configs") for p in ini]:
        if not path.exists():
            raise pytest.UsageError(f"{source}: no such file or folder: {path}")
    chose_own_args = config.args_source != pytest.Config.ArgsSource.ARGS
    config.stash[_ROOTS] = flagged + ini
    config.stash[_EXTRA] = flagged + (ini if chose_own_args else [])
    config.stash[_SEEN] = set()
    config.stash[_NOT_CONFIGS] = []


def _allow_python(config: pytest.Config) -> bool:
    return bool(config.getoption("gdplay_allow_python") or config.getini("gdplay_allow_python"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> GdplayFile | None:
    roots = parent.config.stash.get(_ROOTS, [])
    if not roots or file_path.suffix not in SUFFIXES:
        return None
    resolved = file_path.resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        return None
    from gdplay.ci.suite import is_gdplay_config

    if not is_gdplay_config(file_path):
        parent.config.stash[_NOT_CONFIGS].append(file_path)
        return None
    # Not marked as seen here: pytest asks about every file of a folder it enters, then keeps only
    # the ones its arguments name. A file counts as collected when its node is collected (below).
    return GdplayFile.from_parent(parent, path=file_path)


def _ignored(path: Path, root: Path, config: pytest.Config) -> bool:
    """What pytest's own collection would leave out: --ignore, --ignore-glob, collect_ignore,
    norecursedirs and virtual environments, asked for the file and each folder between it and the
    root path that was named (the named path itself is collected, as pytest collects an argument)."""
    probe = path
    while probe != root and root in probe.parents:
        if config.hook.pytest_ignore_collect(collection_path=probe, config=config):
            return True
        probe = probe.parent
    return False


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    found = config.stash.get(_NOT_CONFIGS, [])
    if not found or config.get_verbosity() < 1:
        return []
    return [f"gdplay: not a gdplay config (no objective, optimizer or expect), not collected: {p}" for p in found]


def _unused(config: pytest.Config) -> list[Any]:
    """The unused expectations of the config files this session collected (under pytest-xdist the
    controller collects nothing: then of the files under the named config paths)."""
    if _UNUSED in config.stash:
        return config.stash[_UNUSED]
    files: set[Path] = set(config.stash.get(_SEEN, None) or ())
    if not files and config.stash.get(_EXTRA, []):
        from gdplay.ci.suite import discover

        for root in config.stash[_EXTRA]:
            files |= {p.resolve() for p in discover([root]) if not _ignored(p.resolve(), root, config)}
    unused: list[Any] = []
    if files:
        from gdplay.ci.unused import find_unused

        rootpath = config.rootpath
        named = [(p, p.relative_to(rootpath).as_posix() if rootpath in p.parents else p.as_posix()) for p in files]
        unused = find_unused(sorted(named, key=lambda pair: pair[1]))
    config.stash[_UNUSED] = unused
    return unused


def _fail_unused(config: pytest.Config) -> bool:
    return bool(config.getoption("gdplay_fail_unused") or config.getini("gdplay_fail_unused"))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _fail_unused(session.config) and session.exitstatus == 0 and _unused(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    unused = _unused(config) if config.stash.get(_ROOTS, []) else []
    if not unused:
        return
    failing = _fail_unused(config)
    terminalreporter.section("gdplay: unused expectations", red=failing, yellow=not failing)
    for u in unused:
        terminalreporter.write_line(f"unused: {u.describe()}")


@pytest.hookimpl(tryfirst=True)  # before -k, -m and --deselect filter the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    extra = config.stash.get(_EXTRA, [])
    if not extra:
        return
    from gdplay.ci.suite import discover

    seen = config.stash[_SEEN]
    for root in extra:
        for path in discover([root], not_configs=config.stash[_NOT_CONFIGS]):
            resolved = path.resolve()
            if resolved in seen or _ignored(resolved, root, config):
                continue
            node = GdplayFile.from_parent(session, path=resolved)
            items.extend(session.genitems(node))


class GdplayFile(pytest.File):
    """A config file: one item per run that has an `expect:` block."""

    def collect(self) -> Iterator[GdplayItem]:
        from gdplay.ci.suite import prepare
        from gdplay.config.model import load_config
        from gdplay.errors import DeviceUnavailableError

        self.config.stash[_SEEN].add(self.path.resolve())
        for loaded in load_config(self.path).runs:
            if loaded.config.expect is None:
                continue
            # Built now, so that what only building finds (an optimizer option's typo, a Python
            # objective without --gdplay-allow-python) is a collection error, as the file's own are.
            skip = None
            planned = None
            try:
                planned = prepare(loaded, _allow_python(self.config))
            except DeviceUnavailableError as exc:
                skip = exc.message
            item = GdplayItem.from_parent(self, name=loaded.config.name, loaded=loaded, planned=planned)
            if skip is not None:
                item.add_marker(pytest.mark.skip(reason=skip))
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from gdplay.errors import GdplayError

        if isinstance(excinfo.value, GdplayError):
            return f"gdplay config error: {excinfo.value}"
        return super().repr_failure(excinfo)


_RECORDED = pytest.StashKey[list[Any]]()


def _record_suite_properties(config: pytest.Config, result: Any) -> None:
    """--junitxml: what produced the numbers (torch and its build, threads, the deterministic flag)
    as <testsuite> properties, as `gdplay check --junit` writes them (the JUnit schema has no
    properties on a test case). Not recorded by pytest-xdist workers, which write no report."""
    from _pytest.junitxml import xml_key  # where record_testsuite_property puts them

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    from gdplay.ci.junit import suite_properties

    results = config.stash.setdefault(_RECORDED, [])
    results.append(result)
    xml.global_properties[:] = [p for p in xml.global_properties if p[0] not in _GDPLAY_PROPERTIES]
    for name, value in suite_properties(results):
        xml.add_global_property(name, value)


_GDPLAY_PROPERTIES = {"gdplay", "torch", "torch_cuda", "threads", "deterministic", "devices"}


class ExpectationNotMet(AssertionError):
    """A run ended away from what its `expect:` block says; the message lists every miss."""


class GdplayItem(pytest.Item):
    """One run of one config: build, run, judge."""

    def __init__(self, *, loaded: Any, planned: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.planned = planned

    @property
    def config_path(self) -> str:
        return self.nodeid.split("::", 1)[0]

    def runtest(self) -> None:
        from gdplay.ci.suite import ERROR, FAILED, INTERRUPTED, run_case

        case = run_case(self.config_path, self.loaded, _allow_python(self.config), planned=self.planned)
        r = case.result
        if r is not None:
            _record_suite_properties(self.config, r)
        if case.outcome == INTERRUPTED:
            raise KeyboardInterrupt
        if case.outcome in (FAILED, ERROR):
            lines = case.explain()
            if r is not None:
                lines.append(
                    f"  run: {r.status} ({r.reason}); device {r.device}, dtype {r.dtype}, seed {r.seed}, "
                    f"torch {r.torch_version}, gdplay {r.gdplay_version}"
                )
            raise ExpectationNotMet("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from gdplay.errors import GdplayError

        if isinstance(excinfo.value, ExpectationNotMet | GdplayError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # The line (0-based, as pytest counts) where the run is written; a skip's report needs one.
        where = self.loaded.document.location(("runs", self.loaded.index) if self.loaded.index is not None else ())
        return self.path, (where.line or 1) - 1, f"gdplay: {self.nodeid}"
