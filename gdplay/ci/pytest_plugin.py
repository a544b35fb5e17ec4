"""pytest plugin: every gdplay config run that has an `expect:` block becomes a test item.

Turned on by naming config paths (files or folders, searched recursively for *.yaml, *.yml):

- the ini option `gdplay_configs` (paths relative to the ini file), collected when pytest
  chooses what to collect itself (no path arguments: like `testpaths`), so
  `pytest tests/test_one.py` stays quick;
- the flag `--gdplay PATH` (repeatable), collected on every run.

A config given as a path argument under one of those paths is collected too. Items are named
`configs/regression/quadratic.yaml::quadratic` (file, then run), so `-k quadratic`,
`--junitxml` and pytest-xdist (each worker collects the same items in the same order) work as
with any test. A missed expectation fails with one line per miss naming the config, the
quantity, expected, got and the tolerance; a broken config is a collection error.

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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> GdplayFile | None:
    roots = parent.config.stash.get(_ROOTS, [])
    if not roots or file_path.suffix not in SUFFIXES:
        return None
    resolved = file_path.resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        return None
    parent.config.stash[_SEEN].add(resolved)
    return GdplayFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)  # before -k, -m and --deselect filter the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    extra = config.stash.get(_EXTRA, [])
    if not extra:
        return
    from gdplay.ci.suite import discover

    seen = config.stash[_SEEN]
    for path in discover(extra):
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        node = GdplayFile.from_parent(session, path=resolved)
        items.extend(session.genitems(node))


class GdplayFile(pytest.File):
    """A config file: one item per run that has an `expect:` block."""

    def collect(self) -> Iterator[GdplayItem]:
        from gdplay.config.model import load_config

        for loaded in load_config(self.path).runs:
            if loaded.config.expect is not None:
                yield GdplayItem.from_parent(self, name=loaded.config.name, loaded=loaded)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from gdplay.errors import GdplayError

        if isinstance(excinfo.value, GdplayError):
            return f"gdplay config error: {excinfo.value}"
        return super().repr_failure(excinfo)


class ExpectationNotMet(AssertionError):
    """A run ended away from what its `expect:` block says; the message lists every miss."""


class GdplayItem(pytest.Item):
    """One run of one config: build, run, judge."""

    def __init__(self, *, loaded: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded

    @property
    def config_path(self) -> str:
        return self.nodeid.split("::", 1)[0]

    def runtest(self) -> None:
        from gdplay.ci.suite import ERROR, FAILED, INTERRUPTED, run_case

        case = run_case(self.config_path, self.loaded)
        if case.outcome == INTERRUPTED:
            raise KeyboardInterrupt
        if case.outcome in (FAILED, ERROR):
            lines = case.explain()
            r = case.result
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
        return self.path, None, f"gdplay: {self.nodeid}"
