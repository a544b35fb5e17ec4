"""The pytest plugin: config runs with expectations as test items, and nothing at all otherwise."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

# Load this checkout's plugin; block the entry point's name so an installed one cannot clash.
PLUGIN = ("-p", "no:gdplay", "-p", "gdplay.ci.pytest_plugin")

# The notebook's quadratic in float64: after 100 steps x is −1/3 to about 5e-10 (0.8¹⁰⁰·7/3).
CONFIG = """\
name: quad
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: 0.3}
steps: 100
dtype: float64
expect:
  argmin: {x: ARGMIN}
  atol: 1.0e-6
"""
GOOD = CONFIG.replace("ARGMIN", "-0.3333333333333333")
MOVED = CONFIG.replace("ARGMIN", "-0.3")  # 1/30 away from the minimiser
PLAIN = GOOD.split("expect:")[0]
A_TEST = "def test_ordinary():\n    assert 1 + 1 == 2\n"


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One real run before any pytester snapshot of sys.modules is taken.

    In-process runs delete the modules they imported when they end; torch (and torch._dynamo,
    imported on the first optimizer step) cannot be imported a second time in one process,
    so everything a run imports must already be loaded by then.
    """
    from gdplay.ci.suite import check_file

    path = tmp_path_factory.mktemp("warm") / "good.yaml"
    path.write_text(GOOD)
    (case,) = check_file(path)
    assert case.outcome == "passed"


@pytest.fixture
def project(warm: None, pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with an ordinary test and a folder of configs: one passes, one moved, one plain."""
    pytester.makepyfile(test_ordinary=A_TEST)
    folder = pytester.mkdir("cfgs")
    (folder / "good.yaml").write_text(GOOD)
    (folder / "moved.yaml").write_text(MOVED)
    (folder / "plain.yaml").write_text(PLAIN)
    return pytester


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and " " not in line]


def test_importing_the_plugin_imports_neither_torch_nor_gdplays_heavy_modules():
    code = (
        "import sys, gdplay.ci.pytest_plugin\n"
        "heavy = ['torch', 'pydantic', 'yaml', 'rich', 'typer', 'gdplay.config.model', 'gdplay.ci.suite']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_entry_point_is_declared_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"gdplay": "gdplay.ci.pytest_plugin"}


def test_without_config_paths_nothing_extra_is_collected(project):
    with_plugin = project.runpytest_inprocess(*PLUGIN, "--collect-only", "-q")
    without = project.runpytest_inprocess("-p", "no:gdplay", "--collect-only", "-q")
    assert collected(with_plugin) == collected(without) == ["test_ordinary.py::test_ordinary"]
    assert with_plugin.ret == without.ret == 0


def test_the_flag_collects_each_run_with_expectations_and_explains_a_miss(project):
    result = project.runpytest_inprocess(*PLUGIN, "--gdplay", "cfgs", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["cfgs/good.yaml::quad PASSED*", "cfgs/moved.yaml::quad FAILED*"])
    text = result.stdout.str()
    assert "cfgs/plain.yaml::" not in text  # no expect: block, no test; only listed as unused:
    assert "unused: cfgs/plain.yaml: guards nothing" in text
    assert "cfgs/moved.yaml::quad: argmin.x: expected -0.3, got -0.33333333" in text
    assert "tolerance 1.3e-06" in text and "off by 0.0333" in text  # atol + rtol·|−0.3|
    assert "def runtest" not in text  # a readable message, not a traceback into the plugin


def test_the_ini_option_collects_when_pytest_chooses_the_paths(project):
    project.makeini("[pytest]\ngdplay_configs = cfgs\n")
    project.runpytest_inprocess(*PLUGIN).assert_outcomes(passed=2, failed=1)
    # Naming a test file on the command line runs just that, as with testpaths.
    project.runpytest_inprocess(*PLUGIN, "test_ordinary.py").assert_outcomes(passed=1)
    # A config under the ini paths can be named directly.
    project.runpytest_inprocess(*PLUGIN, "cfgs/good.yaml").assert_outcomes(passed=1)


def test_keyword_selection_and_junitxml(project):
    report = project.path / "report.xml"
    result = project.runpytest_inprocess(*PLUGIN, "--gdplay", "cfgs", "-k", "moved", f"--junitxml={report}")
    result.assert_outcomes(failed=1, deselected=2)
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert [(c.get("classname"), c.get("name")) for c in cases] == [("cfgs.moved.yaml", "quad")]
    failure = cases[0].find("failure")
    assert failure is not None and "argmin.x: expected -0.3" in (failure.get("message") or "")


def test_a_broken_config_is_a_collection_error_with_its_file_and_line(project):
    (project.path / "cfgs" / "broken.yaml").write_text(GOOD.replace("steps: 100", "stpes: 100"))
    result = project.runpytest_inprocess(*PLUGIN, "--gdplay", "cfgs")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*gdplay config error: *broken.yaml:4:1, key 'stpes': unknown key 'stpes'*"])


def test_a_missing_path_is_a_usage_error(project):
    result = project.runpytest_inprocess(*PLUGIN, "--gdplay", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no such file or folder" in result.stderr.str()


def _subprocess_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *extra: Path) -> None:
    # The checkout (and any extra folder) first on the path, as an editable install would put it.
    monkeypatch.setenv("PYTHONPATH", ":".join(str(p) for p in (*extra, ROOT)))


@pytest.mark.slow
def test_xdist_workers_collect_the_same_items(project, monkeypatch):
    _subprocess_env(project, monkeypatch)
    result = project.runpytest_subprocess(*PLUGIN, "--gdplay", "cfgs", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    assert "cfgs/moved.yaml::quad: argmin.x: expected -0.3" in result.stdout.str()


def test_the_entry_point_alone_or_beside_an_explicit_p_loads_the_plugin_once(project, monkeypatch, tmp_path):
    # A distribution on the path that declares the entry point, as `pip install -e .` does.
    dist = tmp_path / "ep" / "gdplay_probe-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gdplay-probe\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\ngdplay = gdplay.ci.pytest_plugin\n")
    _subprocess_env(project, monkeypatch, dist.parent)
    # Collecting is enough to show the plugin is active (running is tested in-process above).
    expected = ["cfgs/good.yaml::quad", "cfgs/moved.yaml::quad", "test_ordinary.py::test_ordinary"]
    by_entry_point = project.runpytest_subprocess("--gdplay", "cfgs", "--collect-only", "-q")
    assert collected(by_entry_point) == expected, by_entry_point.stderr.str()
    both = project.runpytest_subprocess(*PLUGIN, "--gdplay", "cfgs", "--collect-only", "-q")
    assert collected(both) == expected, both.stderr.str()
    assert both.ret == 0


def test_our_own_pytest_config_collects_the_regression_suite():
    """`make test` runs configs/regression through the plugin (see pyproject's gdplay_configs)."""
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["gdplay_configs"] == ["configs/regression", "configs/lessons"]
    assert "-p no:gdplay -p gdplay.ci.pytest_plugin" in ini["addopts"]
    assert sorted(p.name for p in (ROOT / "configs" / "regression").glob("*.yaml")) == sorted(
        textwrap.dedent(
            """\
            booth.yaml builtins_literature.yaml himmelblau.yaml matyas.yaml quadratic.yaml quadratic_diverges.yaml
            quadratic_momentum.yaml rosenbrock.yaml sphere.yaml"""
        ).split()
    )
