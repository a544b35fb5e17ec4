"""Built-ins as a user configures them: `objective: {name, dim, params, init}` through `gdplay run`.

Mistakes are config errors (exit 3) naming the file, line and key, with "did you mean";
a run reports the distance to the nearest known minimiser and f − f*.
"""

from __future__ import annotations

import json
import math

import pytest


def run_json(cli, path, *extra):
    result = cli("run", path, "--json", *extra)
    return result, (json.loads(result.stdout) if result.exit_code in (0, 4) else None)


BASE = """
optimizer: {name: sgd, lr: 0.01}
steps: 5
"""


@pytest.mark.parametrize(
    ("objective", "line", "key", "words"),
    [
        ("{name: rosenbrok}", 1, "objective.name", ["unknown objective 'rosenbrok'", "did you mean 'rosenbrock'"]),
        ("{name: himmelblau, dim: 3}", 1, "objective.dim", ["himmelblau takes dimension exactly 2, got 3"]),
        ("{name: himmelblau, init: [1, 2, 3]}", 1, "objective.init", ["exactly 2, got 3"]),
        ("{name: rosenbrock, dim: 1}", 1, "objective.dim", ["at least 2, got 1"]),
        ("{name: sphere, dim: 3, init: [1, 2]}", 1, "objective.init", ["init has 2 numbers but dim is 3"]),
        ("{name: rosenbrock, params: {bb: 5}}", 1, "objective.params.bb", ["no parameter 'bb'", "did you mean 'b'"]),
        ("{name: ackley, params: {a: x}}", 1, "objective.params.a", ["expected a number"]),
        ("{name: rosenbrock, params: {b: -1}}", 1, "objective.params.b", ["needs b > 0"]),
        ("{name: booth, params: {a: 1}}", 1, "objective.params.a", ["booth has no parameter 'a'"]),
        ("{name: sphere, init: {x: 1}}", 1, "objective.init", ["list of", "not named variables"]),
        ("{name: quadratic, params: {A: [[1, 2], [3, 1]]}}", 1, "objective.params.A", ["symmetric"]),
        ("{name: quadratic, init: [1, 2, 3]}", 1, "objective.init", ["dimension 2 here (the length of b)"]),
    ],
)
def test_config_errors_point_at_the_key(cli, write_config, objective, line, key, words):
    path = write_config(f"objective: {objective}\n{BASE}")
    result = cli("run", path)
    assert result.exit_code == 3, result.output
    message = result.stderr
    assert f"cfg.yaml:{line}" in message and f"key '{key}'" in message, message
    for word in words:
        assert word in message, message
    assert "Traceback" not in result.output


def test_params_error_in_a_nested_block_points_at_its_line(cli, write_config):
    path = write_config(
        """
        objective:
          name: rosenbrock
          params:
            a: 1
            bee: 2
        optimizer: {name: sgd, lr: 0.01}
        steps: 5
        """
    )
    result = cli("run", path)
    assert result.exit_code == 3
    assert "cfg.yaml:5:5, key 'objective.params.bee'" in result.stderr


def test_dimension_defaults(cli, write_config):
    """dim: the length of init when given, else the function's default (2 for any-dimension ones)."""
    for objective, d in [
        ("{name: sphere}", 2),
        ("{name: sphere, init: [1, 2, 3, 4]}", 4),
        ("{name: zakharov, dim: 5}", 5),
    ]:
        _, doc = run_json(cli, write_config(f"objective: {objective}\n{BASE}"))
        assert len(doc["runs"][0]["final"]["point"]["x"]) == d


def test_report_shows_distance_to_the_nearest_minimizer_and_the_gap(cli, write_config):
    # Himmelblau from (4, -4): plain gradient descent lands on the south-east minimum.
    path = write_config(
        """
        objective: {name: himmelblau, init: [4.0, -4.0]}
        optimizer: {name: manual_sgd, lr: 0.01}
        steps: 15
        dtype: float64
        """
    )
    _, doc = run_json(cli, path)
    final = doc["runs"][0]["final"]
    x = final["point"]["x"]
    # The four minima to 7 digits (Himmelblau 1972): the distance to the nearest is independent
    # of gdplay's own constants up to 1e-7.
    literature = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)]
    nearest = min(math.dist(x, m) for m in literature)
    assert final["distance"] == pytest.approx(nearest, abs=2e-6)
    assert 1e-4 < final["distance"] < 0.5  # 15 steps: close, not there
    assert final["gap"] == final["value"]  # f* = 0
    text = cli("run", path)
    assert text.exit_code == 0
    assert "distance to min" in text.stdout and "f − f*" in text.stdout


def test_gap_uses_a_nonzero_minimum(cli, write_config):
    path = write_config(
        """
        objective: {name: styblinski_tang, dim: 3}
        optimizer: {name: adam, lr: 0.1}
        steps: 300
        dtype: float64
        """
    )
    _, doc = run_json(cli, path)
    final = doc["runs"][0]["final"]
    assert final["gap"] == pytest.approx(final["value"] - (-39.16616570377141 * 3), abs=1e-12)
    assert final["distance"] == pytest.approx(math.dist(final["point"]["x"], [-2.903534027771177] * 3))


def test_unknown_minimum_gives_null_facts(cli, write_config):
    # Rosenbrock with a = 2 in 4 dimensions has no known closed-form minimiser: distance and gap are
    # null (schema v2 keeps every key in every record; v1 left them out).
    path = write_config("objective: {name: rosenbrock, dim: 4, params: {a: 2}}\n" + BASE)
    _, doc = run_json(cli, path)
    final = doc["runs"][0]["final"]
    assert final["distance"] is None and final["gap"] is None


def test_quadratic_from_the_config(cli, write_config):
    path = write_config(
        """
        objective:
          name: quadratic
          params: {A: [[2, 1], [1, 3]], b: [1, 2]}
        optimizer: {name: sgd, lr: 0.2, momentum: 0.5}
        steps: 200
        dtype: float64
        """
    )
    _, doc = run_json(cli, path)
    final = doc["runs"][0]["final"]
    # A⁻¹ = [[3, −1], [−1, 2]]/5, so x* = (1/5, 3/5) and f* = −½·(1·1/5 + 2·3/5) = −0.7.
    assert final["point"]["x"] == pytest.approx([0.2, 0.6], abs=1e-12)
    assert final["gap"] == pytest.approx(final["value"] + 0.7, abs=1e-15)
    assert final["value"] == pytest.approx(-0.7, abs=1e-14)


def test_quadratic_that_is_not_positive_definite_runs_without_facts(cli, write_config):
    path = write_config(
        """
        objective: {name: quadratic, params: {A: [[1, 0], [0, -1]], b: [0, 0]}, init: [0.5, 0.5]}
        optimizer: {name: sgd, lr: 0.1}
        steps: 20
        """
    )
    result, doc = run_json(cli, path)
    assert result.exit_code == 0
    final = doc["runs"][0]["final"]
    assert final["gap"] is None and final["value"] < 0  # slides down the negative direction


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_builtin_runs_from_its_default_start(cli, write_config, dtype):
    """Each built-in by name alone, in both precisions: a finite result with its facts attached."""
    from gdplay.problems.registry import load_builtins

    names = list(load_builtins())
    runs = "\n".join(f"  - {{name: {n}, objective: {{name: {n}}}}}" for n in names)
    path = write_config(f"optimizer: {{name: sgd, lr: 1.0e-5}}\nsteps: 3\ndtype: {dtype}\nruns:\n{runs}\n")
    result, doc = run_json(cli, path)
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in doc["runs"]] == names
    for run in doc["runs"]:
        assert run["status"] == "max_steps"
        assert math.isfinite(run["final"]["value"]) and run["final"]["gap"] is not None
