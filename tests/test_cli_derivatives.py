"""`gdplay grad`, `gdplay hessian` and `gdplay explain` as a user sees them: output, JSON keys, exit codes."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.conftest import CONFIGS, ROOT

GRAD_KEYS = {"point", "autograd", "finite_difference", "abs_error"}
HESSIAN_KEYS = {"point", "variables", "matrix", "eigenvalues", "kind", "condition_number"}
EXPLAIN_KEYS = {"predicted_rate", "measured_rate", "stable", "lr_bound", "eigenvalues", "verdict"}


# ---- grad ------------------------------------------------------------------------------------------


def test_grad_json_reproduces_the_notebook(cli):
    result = cli("grad", CONFIGS / "notebook_g.yaml", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["runs"][0]
    assert set(doc) >= GRAD_KEYS
    assert doc["point"] == {"x1": 2.0, "x2": 3.0}
    assert doc["autograd"] == {"x1": 9.0, "x2": 42.0}  # x2² and 2(x1 + 5)·x2
    assert doc["finite_difference"]["x1"] == pytest.approx(9.0, abs=1e-9)
    assert doc["finite_difference"]["x2"] == pytest.approx(42.0, abs=1e-9)
    assert all(e < 1e-9 for e in doc["abs_error"].values())
    assert all(1e-10 <= h <= 1e-2 for h in doc["step"].values())
    assert doc["verdict"] == "agree" and doc["gradcheck"]["passed"] is True


def test_grad_at_a_point_of_the_notebook_quadratic(cli):
    # f'(x) = 6x + 2: f'(1) = 8
    result = cli("grad", CONFIGS / "quadratic.yaml", "--at", "x=1", "--json")
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["point"] == {"x": 1.0} and doc["autograd"] == {"x": 8.0}
    assert doc["finite_difference"]["x"] == pytest.approx(8.0, abs=1e-9)


def test_grad_table_states_its_formulas_and_explains_float32(cli):
    result = cli("grad", CONFIGS / "notebook_g.yaml")
    assert result.exit_code == 0
    text = result.stdout
    assert "∂f/∂x1" in text and "∂f/∂x2" in text
    assert "[f(x + h·eᵢ) − f(x − h·eᵢ)] / 2h" in text  # brackets survive rich markup
    assert "gradcheck" in text and "passed" in text
    assert "float32" in text and "float64" in text  # the config is float32: the note says why float64


def test_grad_of_a_float64_config_has_no_float32_note(cli, write_config):
    path = write_config(
        'objective: {expr: "x**2", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\ndtype: float64\n'
    )
    doc = json.loads(cli("grad", path, "--json").stdout)["runs"][0]
    assert doc["float32_note"] is None and doc["config_dtype"] == "float64"


def test_grad_of_a_builtin_with_a_vector_point(cli, write_config):
    path = write_config("objective: {name: rosenbrock}\noptimizer: {name: sgd, lr: 0.001}\nsteps: 1\n")
    doc = json.loads(cli("grad", path, "--at", "x=[1, 1]", "--json").stdout)["runs"][0]
    assert doc["point"] == {"x": [1.0, 1.0]}
    assert doc["autograd"] == {"x[0]": 0.0, "x[1]": 0.0}  # the minimum
    # at (0, 0): ∂f/∂x0 = −400·x0·(x1 − x0²) − 2(1 − x0) = −2, ∂f/∂x1 = 200(x1 − x0²) = 0
    doc = json.loads(cli("grad", path, "--at", "x[0]=0,x[1]=0", "--json").stdout)["runs"][0]
    assert doc["autograd"] == {"x[0]": -2.0, "x[1]": 0.0}


def test_grad_exits_1_when_a_derivative_is_not_finite(cli, write_config):
    path = write_config(
        'objective: {expr: "sqrt(x) + y", init: {x: 0.0, y: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n'
    )
    result = cli("grad", path, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["autograd"]["x"] is None  # inf is not JSON: null, with the verdict saying why
    assert doc["verdicts"] == {"x": "not finite", "y": "agree"}


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("x3=1", "unknown variable 'x3'"),
        ("x11=1", "did you mean 'x1'?"),
        ("x1=[1,2]", "'x1' is a number, not a vector"),
        ("x1=abc", "x1 expects a number, got 'abc'"),
    ],
)
def test_grad_at_usage_errors(cli, at, message):
    result = cli("grad", CONFIGS / "notebook_g.yaml", "--at", at)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_grad_of_a_missing_file_is_a_config_error(cli, tmp_path):
    result = cli("grad", tmp_path / "nope.yaml")
    assert result.exit_code == 3
    assert "no such file" in result.stderr


# ---- hessian ---------------------------------------------------------------------------------------


def test_hessian_json_reproduces_the_notebook(cli):
    result = cli("hessian", CONFIGS / "notebook_g.yaml", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["runs"][0]
    assert set(doc) >= HESSIAN_KEYS
    assert doc["variables"] == ["x1", "x2"]
    assert doc["matrix"] == [[0.0, 6.0], [6.0, 14.0]]  # ∂²g/∂x1² is 0, not None
    assert doc["eigenvalues"] == pytest.approx([7 - math.sqrt(85), 7 + math.sqrt(85)])
    assert doc["kind"] == "saddle"
    assert doc["condition_number"] == pytest.approx((7 + math.sqrt(85)) / (math.sqrt(85) - 7))


def test_hessian_at_the_minimum_of_rosenbrock(cli, write_config):
    # H(1, 1) = [[1200x² − 400y + 2, −400x], [−400x, 200]] = [[802, −400], [−400, 200]]
    path = write_config("objective: {name: rosenbrock}\noptimizer: {name: sgd, lr: 0.001}\nsteps: 1\n")
    doc = json.loads(cli("hessian", path, "--at", "x=[1,1]", "--json").stdout)["runs"][0]
    assert doc["matrix"] == [[802.0, -400.0], [-400.0, 200.0]]
    assert doc["kind"] == "minimum"
    # λ = 501 ± √(301² + 400²) = 501 ± √250601
    root = math.sqrt(301**2 + 400**2)
    assert doc["eigenvalues"] == pytest.approx([501 - root, 501 + root])


def test_hessian_table(cli):
    result = cli("hessian", CONFIGS / "notebook_g.yaml")
    assert result.exit_code == 0
    for phrase in ("Hᵢⱼ = ∂²f/∂xᵢ∂xⱼ", "create_graph=True", "saddle", "κ = max|λ| / min|λ|", "eigenvalues"):
        assert phrase in result.stdout


def test_hessian_that_is_not_finite_exits_1(cli, write_config):
    path = write_config('objective: {expr: "sqrt(x)", init: {x: 0.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n')
    result = cli("hessian", path, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["runs"][0]["kind"] == "undefined"


# ---- explain ---------------------------------------------------------------------------------------


def test_explain_json_keys_and_exit_code(cli):
    result = cli("explain", CONFIGS / "ill_conditioned_momentum.yaml", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["runs"][0]
    assert set(doc) >= EXPLAIN_KEYS
    assert doc["eigenvalues"] == pytest.approx([1.0, 100.0])
    assert doc["lr_bound"] == pytest.approx(0.038)  # (2 + 2·0.9)/100
    assert doc["method"] == "heavy-ball momentum"
    assert isinstance(doc["verdict"], str) and doc["verdict"]
    # what momentum buys at κ = 100: (κ − 1)/(κ + 1) = 99/101 against (√κ − 1)/(√κ + 1) = 9/11,
    # i.e. log(99/101)/log(9/11) ≈ 1/10 of the steps
    assert doc["best_settings"]["gradient descent"] == pytest.approx({"lr": 2 / 101, "rate": 99 / 101})
    heavy = doc["best_settings"]["heavy-ball momentum"]
    assert heavy == pytest.approx({"lr": 4 / 121, "momentum": 81 / 121, "rate": 9 / 11})
    assert "about 10× fewer steps" in doc["verdict"]


def test_explain_table_states_the_theory(cli):
    result = cli("explain", CONFIGS / "quadratic.yaml")
    assert result.exit_code == 0
    text = result.stdout
    for phrase in ("2/λmax", "|1 − lr·λ|", "predicted rate", "measured rate", "verdict:", "x=-0.333333"):
        assert phrase in text
    assert "lands on x* in one step" in text  # κ = 1: lr = 1/6 solves it at once


def test_explain_an_optimizer_the_theory_does_not_cover(cli, write_config):
    path = write_config(
        """
        objective: {expr: "0.5*(x**2 + 10*y**2)", init: {x: 1.0, y: 1.0}}
        optimizer: {name: adam, lr: 0.05}
        steps: 200
        """
    )
    result = cli("explain", path, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["predicted_rate"] is None and doc["stable"] is None and doc["lr_bound"] is None
    assert "covers only gradient descent" in doc["verdict"]
    assert doc["eigenvalues"] == pytest.approx([1.0, 10.0])


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("-(x**2) + y**2", "ran off to infinity"),  # unbounded below along x
        ("x**3 + y**2", "not a minimum"),  # the search stops at the inflection (0, 0)
    ],
)
def test_explain_without_a_minimum_is_a_clear_error(cli, write_config, expr, message):
    path = write_config(
        f'objective: {{expr: "{expr}", init: {{x: 1.0, y: 1.0}}}}\noptimizer: {{name: sgd, lr: 0.01}}\nsteps: 5\n'
    )
    result = cli("explain", path)
    assert result.exit_code == 3
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_explain_a_flat_valley_of_minima(cli):
    # g = (x1 + 5)·x2²: ∇g = 0 on the line x2 = 0, where H = [[0, 0], [0, 2(x1 + 5)]]: one λ is 0
    doc = json.loads(cli("explain", CONFIGS / "notebook_g.yaml", "--json").stdout)["runs"][0]
    assert doc["minimum"]["point"]["x2"] == 0.0
    x1 = doc["minimum"]["point"]["x1"]
    assert doc["eigenvalues"] == pytest.approx([0.0, 2 * (x1 + 5)])
    # the flat direction is a line of minima, not x⁴-like flatness: nothing pulls along it, and the
    # error toward the point the run reaches shrinks at the curved direction's |1 − lr·2(x1 + 5)|
    assert doc["predicted_rate"] == pytest.approx(1 - 0.01 * 2 * (x1 + 5), rel=1e-9)
    assert "valley of minima" in doc["verdict"] and "slower than any geometric rate" not in doc["verdict"]


def test_explain_every_run_of_a_runs_list_or_one_by_name(cli, write_config):
    path = write_config(
        """
        objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
        optimizer: {name: manual_sgd, lr: 0.3}
        steps: 200
        dtype: float64
        runs:
          - {name: slow, optimizer: {lr: 0.05}}
          - {name: fast, optimizer: {lr: 0.3}}
        """
    )
    doc = json.loads(cli("explain", path, "--json").stdout)
    # |1 − 0.05·6| = 0.7 and |1 − 0.3·6| = 0.8
    assert [r["name"] for r in doc["runs"]] == ["slow", "fast"]
    assert [r["predicted_rate"] for r in doc["runs"]] == pytest.approx([0.7, 0.8])
    one = json.loads(cli("explain", path, "--run", "fast", "--json").stdout)["runs"][0]
    assert one["name"] == "fast" and set(one) >= EXPLAIN_KEYS
    wrong = cli("explain", path, "--run", "fats")
    assert wrong.exit_code == 2 and "did you mean 'fast'?" in wrong.stderr


# ---- the command line as a whole -------------------------------------------------------------------


def test_help_lists_the_commands_without_importing_torch():
    code = (
        "import sys\n"
        "from gdplay.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'gdplay --help imported torch'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("grad", "hessian", "explain"):
        assert name in result.stdout


def test_hessian_gradient_is_keyed_as_grads(cli):
    # g = (x1 + 5)·x2²: ∇g(2, 3) = (x2², 2(x1 + 5)·x2) = (9, 42), by the same labels in both commands
    hess = json.loads(cli("hessian", CONFIGS / "notebook_g.yaml", "--json").stdout)["runs"][0]
    grad = json.loads(cli("grad", CONFIGS / "notebook_g.yaml", "--json").stdout)["runs"][0]
    assert hess["gradient"] == grad["autograd"] == {"x1": 9.0, "x2": 42.0}
