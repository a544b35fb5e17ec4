"""pytest plugin: every gdplay config run that has an `expect:` block becomes a test item.

Turned on by naming config paths (files or folders, searched recursively for *.yaml, *.yml):

- the ini option `gdplay_configs` (paths relative to the ini file), collected when pytest
  chooses what to collect itself (no path arguments: like `testpaths`), so
  `pytest tests/test_one.py` stays quick;
- the flag `--gdplay PATH` (repeatable), collected on every run.

A config given as a path argument under one of those paths is collected too; pytest's
`--ignore` and `--ignore-glob` leave configs out, and a YAML file that is not a gdplay config (no
`objective` or `optimizer`: a CI workflow, say) is not collected (`-v` lists it). Python
objectives need `--gdplay-allow-python` (or the ini option `gdplay_allow_python = true`). Items are named
`configs/regression/quadratic.yaml::quadratic` (file, then run), so `-k quadratic`,
`--junitxml` and pytest-xdist (each worker collects the same items in the same order) work as
with any test. A missed expectation fails with one line per miss naming the config, the
quantity, expected, got and the tolerance; a broken config (also one that only building the
run finds, such as an optimizer option's typo) is a collection error, and a run on a device this
machine lacks (`device: cuda` on a CPU runner) is skipped with the reason.

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
    return [f"gdplay: not a gdplay config (no objective or optimizer), not collected: {p}" for p in found]


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
