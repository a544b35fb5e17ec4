"""`objective: {python: "file.py:function"}`: only with --allow-python, and never a traceback."""

from __future__ import annotations

import json
import textwrap

import pytest

CONFIG = """
objective: {python: "%s", init: [1.5, -0.5]}
optimizer: {name: sgd, lr: 0.1}
steps: 200
dtype: float64
"""

GOOD = """
import torch

def bowl(x):
    # (x0 - 1)² + 2(x1 + 2)²: minimum 0 at (1, -2)
    return (x[:, 0] - 1) ** 2 + 2 * (x[:, 1] + 2) ** 2
"""


@pytest.fixture
def project(tmp_path):
    """project(config_target, files={name: text}, config_dir='') -> path of the config file."""

    def make(target: str, files: dict[str, str], config_dir: str = "") -> str:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        folder = tmp_path / config_dir
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "cfg.yaml"
        config.write_text(CONFIG % target, encoding="utf-8")
        return str(config)

    return make


def test_runs_with_the_flag_and_the_path_is_relative_to_the_config(cli, project, tmp_path, monkeypatch):
    config = project("../funcs/bowl.py:bowl", {"funcs/bowl.py": GOOD}, config_dir="configs")
    monkeypatch.chdir(tmp_path / "funcs")  # the working folder must not matter
    result = cli("run", config, "--allow-python", "--json")
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout)["runs"][0]["final"]
    assert final["point"]["x"] == pytest.approx([1.0, -2.0], abs=1e-9)
    assert final["gap"] is None  # a Python function carries no known minimum


def test_refused_without_the_flag_before_the_file_is_read(cli, project, tmp_path):
    marker = tmp_path / "imported.txt"
    trap = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\ndef f(x):\n    return x.sum(dim=1)\n"
    config = project("trap.py:f", {"trap.py": trap})
    result = cli("run", config)
    assert result.exit_code == 3
    assert "--allow-python" in result.stderr and "key 'objective.python'" in result.stderr
    assert not marker.exists()  # nothing of the file ran
    # Even a file that does not exist gets the same answer: it was never looked at.
    missing = project("nowhere.py:f", {}, config_dir="other")
    result = cli("run", missing)
    assert result.exit_code == 3 and "--allow-python" in result.stderr and "no such file" not in result.stderr
    # With the flag the trap does run: the test above could have failed.
    cli("run", config, "--allow-python", "--json")
    assert marker.exists()


@pytest.mark.parametrize(
    ("target", "files", "words"),
    [
        ("nowhere.py:f", {}, ["no such file"]),
        ("bowl.py:bwol", {"bowl.py": GOOD}, ["has no function 'bwol'", "did you mean 'bowl'"]),
        ("bowl.py", {"bowl.py": GOOD}, ["expected 'file.py:function'"]),
        ("bowl.txt:bowl", {"bowl.txt": GOOD}, ["expected a .py file"]),
        ("bad.py:f", {"bad.py": "def f(x):\n    return x.sum(\n"}, ["bad.py:", "syntax error"]),
        (
            "boom.py:f",
            {"boom.py": "raise RuntimeError('no config today')\n"},
            ["importing boom.py failed", "no config"],
        ),
        ("raises.py:f", {"raises.py": "def f(x):\n    raise ValueError('bad x')\n"}, ["raised ValueError: bad x"]),
        ("num.py:f", {"num.py": "def f(x):\n    return 3.0\n"}, ["returned float", "torch tensor"]),
        ("shape.py:f", {"shape.py": "def f(x):\n    return x\n"}, ["returned shape [2, 2]", "expected [2]"]),
        (
            "detached.py:f",
            {"detached.py": "import torch\ndef f(x):\n    return torch.tensor([1.0, 2.0])\n"},
            ["without a gradient"],
        ),
        ("value.py:VALUE", {"value.py": "VALUE = 3\n"}, ["is not a function"]),
    ],
)
def test_mistakes_are_config_errors(cli, project, target, files, words):
    result = cli("run", project(target, files), "--allow-python")
    assert result.exit_code == 3, result.output
    for word in words:
        assert word in result.stderr, result.stderr
    assert "key 'objective.python'" in result.stderr
    assert "Traceback" not in result.output


def test_an_exception_during_the_run_is_a_config_error(cli, project):
    late = """
    import torch
    calls = []
    def f(x):
        calls.append(1)
        if len(calls) > 3:
            raise ZeroDivisionError("late failure")
        return (x ** 2).sum(dim=1)
    """
    result = cli("run", project("late.py:f", {"late.py": late}), "--allow-python")
    assert result.exit_code == 3
    assert "late.py:f raised ZeroDivisionError: late failure" in result.stderr
    assert "Traceback" not in result.output


def test_params_are_refused(cli, tmp_path):
    (tmp_path / "bowl.py").write_text(GOOD, encoding="utf-8")
    config = tmp_path / "cfg.yaml"
    config.write_text(
        'objective: {python: "bowl.py:bowl", init: [0, 0], params: {a: 1}}\n'
        "optimizer: {name: sgd, lr: 0.1}\nsteps: 3\n",
        encoding="utf-8",
    )
    result = cli("run", config, "--allow-python")
    assert result.exit_code == 3 and "params are for built-in objectives" in result.stderr


def test_named_variables_and_two_files_with_the_same_name(cli, tmp_path):
    for folder, shift in (("a", 1.0), ("b", -1.0)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "f.py").write_text(
            f"def f(x):\n    return ((x - {shift}) ** 2).sum(dim=1)\n", encoding="utf-8"
        )
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "optimizer: {name: sgd, lr: 0.25}\nsteps: 60\ndtype: float64\nruns:\n"
        '  - {name: a, objective: {python: "a/f.py:f", init: {u: 0.0, w: [0.0, 0.0]}}}\n'
        '  - {name: b, objective: {python: "b/f.py:f", init: [0.0]}}\n',
        encoding="utf-8",
    )
    result = cli("run", config, "--allow-python", "--json")
    assert result.exit_code == 0, result.output
    a, b = json.loads(result.stdout)["runs"]
    assert a["final"]["point"]["u"] == pytest.approx(1.0) and a["final"]["point"]["w"] == pytest.approx([1.0, 1.0])
    assert b["final"]["point"]["x"] == pytest.approx([-1.0])  # its own f.py, not a's


def test_a_python_objective_can_be_swept_with_allow_python(cli, tmp_path):
    (tmp_path / "bowl.py").write_text("def f(x):\n    return ((x - 1.0) ** 2).sum(dim=-1)\n", encoding="utf-8")
    config = tmp_path / "sweep.yaml"
    config.write_text(
        'objective: {python: "bowl.py:f", init: [3.0, -1.0]}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 200\n'
        "dtype: float64\nsweep:\n  lr: [0.1, 0.2]\n",
        encoding="utf-8",
    )
    refused = cli("sweep", config)
    assert refused.exit_code == 3 and "--allow-python" in refused.stderr
    result = cli("sweep", config, "--allow-python", "--json")
    assert result.exit_code == 0, result.output
    for run in json.loads(result.stdout)["sweeps"][0]["runs"]:  # f = |x − 1|²: minimum at (1, 1)
        assert run["final"]["point"]["x"] == pytest.approx([1.0, 1.0], abs=1e-9)
