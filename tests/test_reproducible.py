"""Reproducibility: results say what produced them, and a float64 CPU run repeats bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from gdplay import __version__
from gdplay.config.model import load_config_text
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_problem
from tests.conftest import ROOT

# Adam on 3-D Rosenbrock in float64: square roots, divisions and a reduction over
# coordinates, so any nondeterminism would show in the last bits.
CONFIG = """\
name: repro
objective: {name: rosenbrock, dim: 3}
optimizer: {name: adam, lr: 0.01}
steps: 300
dtype: float64
seed: 7
"""


def run_once():
    (loaded,) = load_config_text(CONFIG, "repro.yaml").runs
    return run_problem(build_problem(loaded))


def bits(result) -> list[str]:
    """Every number of a run as its exact hexadecimal form."""
    assert result.history is not None
    numbers = [*result.final_point, result.final_value, result.final_grad_norm]
    for point, value, grad in zip(result.history.points, result.history.values, result.history.grad_norms, strict=True):
        numbers += [*point, value, grad]
    return [float(n).hex() for n in numbers]


@pytest.fixture
def deterministic():
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


def test_a_result_records_what_produced_it():
    document = run_once().to_dict()
    made = document["provenance"]
    assert made["seed"] == 7
    assert made["dtype"] == "float64"
    assert made["device"] == "cpu"
    assert made["torch"] == torch.__version__
    assert made["gdplay"] == __version__
    assert document["config"]["optimizer"] == {"name": "adam", "lr": 0.01}


def test_a_float64_cpu_run_repeated_in_one_process_is_bitwise_identical(deterministic):
    first, second = run_once(), run_once()
    assert first.status == second.status == "max_steps"
    assert len(bits(first)) == 301 * 5 + 5  # 301 records of (3 coordinates, f, |∇f|) and the final ones
    assert bits(first) == bits(second)


def test_two_processes_give_bitwise_identical_json(tmp_path):
    path = tmp_path / "repro.yaml"
    path.write_text(CONFIG)
    code = (
        "import sys, torch\n"
        "torch.use_deterministic_algorithms(True)\n"
        "from gdplay.cli.app import main\n"
        "main(['run', sys.argv[1], '--json'])\n"
    )

    # Two fresh interpreters at once (each pays for its own torch import).
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    runs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        run = json.loads(stdout)["runs"][0]
        run.pop("wall_time_s")
        runs.append(run)
    first, second = runs
    # json.dumps writes the shortest repr of each double, which reads back to the same bits.
    assert first == second
    assert first["history"][-1]["point"]["x"] == first["final"]["point"]["x"]
