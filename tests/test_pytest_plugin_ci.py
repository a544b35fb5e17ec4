"""The pytest plugin in a CI pipeline: nothing dropped, nothing foreign collected, config errors
at collection, Python objectives on request, GPU baselines skipped on a CPU runner."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.test_pytest_plugin import GOOD, MOVED, PLUGIN, collected, warm  # noqa: F401  (warm is a fixture)

pytest_plugins = ["pytester"]


@pytest.fixture
def minima(warm: None, pytester: pytest.Pytester) -> pytest.Pytester:  # noqa: F811
    """minima/ holds five configs (two of which fail) and minima/sub/himmel one more."""
    folder = pytester.mkdir("minima")
    for name in ("a", "b", "quadratic64"):
        (folder / f"{name}.yaml").write_text(GOOD)
    for name in ("moved1", "moved2"):
        (folder / f"{name}.yaml").write_text(MOVED)
    (folder / "sub" / "himmel").mkdir(parents=True)
    (folder / "sub" / "himmel" / "h.yaml").write_text(GOOD)
    return pytester


def test_naming_a_file_inside_a_flagged_folder_drops_none_of_its_neighbours(minima):
    result = minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima", "minima/quadratic64.yaml", "--co", "-q")
    assert sorted(collected(result)) == [
        "minima/a.yaml::quad",
        "minima/b.yaml::quad",
        "minima/moved1.yaml::quad",
        "minima/moved2.yaml::quad",
        "minima/quadratic64.yaml::quad",
        "minima/sub/himmel/h.yaml::quad",
    ]
    run = minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima", "minima/quadratic64.yaml")
    run.assert_outcomes(passed=4, failed=2)


def test_ignore_and_ignore_glob_leave_configs_out(minima):
    result = minima.runpytest_inprocess(
        *PLUGIN, "--gdplay", "minima", "--ignore", "minima/sub", "--ignore-glob", "*/moved*.yaml", "--co", "-q"
    )
    assert sorted(collected(result)) == ["minima/a.yaml::quad", "minima/b.yaml::quad", "minima/quadratic64.yaml::quad"]


def test_yaml_that_is_not_a_gdplay_config_is_not_collected_and_v_says_so(minima):
    workflow = "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest, steps: [{run: make test}]}\n"
    (minima.path / "minima" / "notgdplay.yml").write_text(workflow)
    minima.makepyfile(test_ordinary="def test_ordinary():\n    assert True\n")
    result = minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima", "-v")
    result.assert_outcomes(passed=5, failed=2)  # the unit test still runs; no collection error
    result.stdout.fnmatch_lines(["*not a gdplay config*not collected*notgdplay.yml*"])
    quiet = minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima", "--co", "-q")
    assert "notgdplay" not in quiet.stdout.str()


def test_an_optimizer_option_typo_is_a_collection_error_not_a_failure(minima):
    (minima.path / "minima" / "typo.yaml").write_text(
        GOOD.replace("optimizer: {name: manual_sgd, lr: 0.3}", "optimizer: {name: sgd, lr: 0.3, momentun: 0.9}")
    )
    result = minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors stop the session, as pytest does
    text = result.stdout.str()
    assert "ERROR collecting" in text and "typo.yaml" in text and "momentun" in text
    assert "FAILED" not in text


PYTHON_CONFIG = """\
name: py
objective: {python: "f.py:f", init: {x: 2.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 200
dtype: float64
expect: {argmin: {x: 1.0}, atol: 1.0e-6}
"""


def test_python_objectives_run_with_the_flag_or_the_ini_option(warm: None, pytester: pytest.Pytester):  # noqa: F811
    folder = pytester.mkdir("py")
    (folder / "f.py").write_text("def f(x):\n    return (x - 1) ** 2\n")
    (folder / "py.yaml").write_text(PYTHON_CONFIG)
    refused = pytester.runpytest_inprocess(*PLUGIN, "--gdplay", "py")
    assert refused.ret == pytest.ExitCode.INTERRUPTED and "--allow-python" in refused.stdout.str()
    pytester.runpytest_inprocess(*PLUGIN, "--gdplay", "py", "--gdplay-allow-python").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ngdplay_allow_python = true\n")
    pytester.runpytest_inprocess(*PLUGIN, "--gdplay", "py").assert_outcomes(passed=1)


def test_a_cuda_config_on_a_cpu_runner_is_skipped_with_the_reason(warm: None, pytester: pytest.Pytester):  # noqa: F811
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the config would run")
    folder = pytester.mkdir("gpu")
    (folder / "cpu.yaml").write_text(GOOD)
    (folder / "gpu.yaml").write_text(GOOD + "device: cuda\n")
    result = pytester.runpytest_inprocess(*PLUGIN, "--gdplay", "gpu", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*CUDA is not available*"])


def test_junitxml_carries_the_runs_provenance_as_properties(minima, tmp_path):
    report = tmp_path / "r.xml"
    minima.runpytest_inprocess(*PLUGIN, "--gdplay", "minima/a.yaml", f"--junitxml={report}")
    root = ET.parse(report).getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    import torch

    assert props["torch"] == torch.__version__ and props["torch_cuda"] == str(torch.version.cuda or "none")
    assert props["threads"] == "1" and props["deterministic"] == "true"
