"""Numerical edge cases are results with a status, and interruptions end cleanly."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gdplay.config.model import load_config_text
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_problem
from tests.conftest import ROOT


def run_text(text):
    return run_problem(build_problem(load_config_text(text, "edge.yaml").runs[0]))


def formula_run(expr, init, lr=0.1, steps=50, dtype="float64", extra=""):
    return run_text(
        f"""
objective: {{expr: "{expr}", init: {init}}}
optimizer: {{name: sgd, lr: {lr}}}
steps: {steps}
dtype: {dtype}
{extra}
"""
    )


@pytest.mark.parametrize(("expr", "init"), [("log(x)", "{x: -1.0}"), ("sqrt(x)", "{x: -4.0}")])
def test_log_or_sqrt_of_a_negative_number_is_diverged_at_step_0(expr, init):
    result = formula_run(expr, init)
    assert result.status == "diverged" and result.diverged_at == 0
    assert math.isnan(result.final_value)


def test_unbounded_below_diverges_to_minus_infinity():
    # f = −exp(x): every step increases x, and f runs off to −inf.
    result = formula_run("-exp(x)", "{x: 0.0}", lr=1.0, steps=10_000, extra="blowup: 1.0e+300")
    assert result.status == "diverged"
    assert result.final_value == -math.inf or result.final_value < -1e300


def test_float32_overflow_that_float64_survives():
    # exp(100) ≈ 2.7e43 overflows float32 (max ≈ 3.4e38) but not float64.
    text = "exp(x)"
    low = formula_run(text, "{x: 100.0}", lr=1e-45, steps=3, dtype="float32", extra="blowup: 1.0e+300")
    high = formula_run(text, "{x: 100.0}", lr=1e-45, steps=3, dtype="float64", extra="blowup: 1.0e+300")
    assert low.status == "diverged" and low.diverged_at == 0
    assert high.status == "max_steps"
    assert high.history.values[0] == pytest.approx(math.exp(100), rel=1e-12)
    x = 100.0
    for _ in range(3):  # x ← x − lr·exp(x), by hand
        x -= 1e-45 * math.exp(x)
    assert high.final_point[0] == pytest.approx(x, rel=1e-12)


def test_gradient_exactly_zero_at_the_start():
    result = formula_run("x**2", "{x: 0.0}", steps=5, extra="tol: 1.0e-12")
    assert result.status == "converged" and result.steps == 0 and result.final_point == [0.0]
    untouched = formula_run("x**2", "{x: 0.0}", steps=5)
    assert untouched.status == "max_steps" and untouched.final_point == [0.0]


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used (Linux /proc): progress that a loaded machine cannot fake."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def interrupted(tmp_path, command, config_text, cpu=8.0):
    """Start `gdplay COMMAND config` and send Ctrl-C (SIGINT) once it has used `cpu` seconds of CPU:
    past importing torch and building the run (about 3 s), well into the steps, however loaded
    the machine is. Returns (exit code, stdout, stderr)."""
    config = tmp_path / "long.yaml"
    config.write_text(config_text, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "gdplay", command, str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT must reach Python's default handler even if the test runner ignores it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180
    while cpu_seconds(process.pid) < cpu and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_ctrl_c_prints_the_partial_table_and_exits_130(tmp_path):
    code, stdout, stderr = interrupted(
        tmp_path,
        "run",
        'objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}\n'
        "optimizer: {name: manual_sgd, lr: 0.01}\n"
        "steps: 10000000\n"
        "tol: 1.0e-300\n",
    )
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout  # the status line of the partial summary
    assert re.search(r"│\s+0 │", stdout)  # the partial table starts at step 0


@pytest.mark.parametrize(
    ("objective", "fragment"),
    [
        ("{name: sphere, dim: 1000000000000}", "dimension 1000000000000 needs about 7.3 TiB"),
        ("{name: rosenbrock, dim: 100000000}", "a run of 100000 steps in dimension 100000000"),
    ],
)
def test_dimensions_that_do_not_fit_are_a_clear_error(cli, write_config, objective, fragment):
    path = write_config(f"objective: {objective}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 100000\ndtype: float64\n")
    result = cli("run", path)
    assert result.exit_code == 3
    assert fragment in result.stderr and "of memory" in result.stderr and "Traceback" not in result.output


def test_ctrl_c_during_a_sweep_prints_what_was_done_and_exits_130(tmp_path):
    code, stdout, stderr = interrupted(
        tmp_path,
        "sweep",
        "objective: {name: rosenbrock}\n"
        "optimizer: {name: sgd, lr: 0.001}\n"
        "steps: 50000000\n"
        "sweep:\n"
        "  lr: [1.0e-4, 1.0e-3]\n"
        "  momentum: [0.0, 0.5, 0.9]\n",
    )
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout + stderr
    assert "momentum" in stdout  # the partial grid table was printed


@pytest.mark.parametrize(
    ("objective", "start"),
    [
        ("ackley", [0.0, 0.0]),  # exactly at the minimum, where |x| is not differentiable
        ("bukin6", [-10.0, 1.0]),  # on the ridge y = 0.01x², where √|y − 0.01x²| has a kink
    ],
)
def test_a_start_on_a_kink_is_a_result_not_a_crash(objective, start):
    result = run_text(
        f"objective: {{name: {objective}, init: {start}}}\noptimizer: {{name: sgd, lr: 0.001}}\n"
        "steps: 20\ndtype: float64\n"
    )
    assert result.status in ("max_steps", "converged", "diverged")
    if result.status != "diverged":
        assert all(math.isfinite(v) for v in result.final_point)
    if objective == "ackley":  # gdplay takes the kink's derivative as 0: the run stays at the minimum
        assert result.final_point == [0.0, 0.0] and result.final_value == pytest.approx(0.0, abs=1e-15)


def test_ctrl_c_during_explain_shows_what_was_done_and_exits_130(tmp_path):
    code, stdout, stderr = interrupted(
        tmp_path,
        "explain",
        'objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}\n'
        "optimizer: {name: manual_sgd, lr: 0.01}\n"
        "steps: 10000000\n",
    )
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout
