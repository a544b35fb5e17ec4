"""explain's verdicts against closed forms and NumPy: rates on the log scale, near-double roots,
the minimum the run approaches, and kinks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import CONFIGS

LESSONS = CONFIGS / "lessons"


def explain(cli, path, *args):
    result = cli("explain", path, "--json", *args)
    assert result.exit_code in (0, 4), result.output
    return json.loads(result.stdout)["runs"][0]


def test_rates_near_1_are_compared_by_steps_per_decade(cli, write_config):
    # Rosenbrock's Hessian at (1, 1) is [[802, −400], [−400, 200]]; plain GD with lr 0.001 has rate 1 − lr·λmin
    path = write_config(
        "objective: {name: rosenbrock, init: [-1.2, 1.0]}\noptimizer: {name: sgd, lr: 0.001}\nsteps: 2000\n"
        "dtype: float64\n"
    )
    doc = explain(cli, path)
    lam = np.linalg.eigvalsh(np.array([[802.0, -400.0], [-400.0, 200.0]]))
    predicted = 1 - 0.001 * lam[0]
    assert doc["predicted_rate"] == pytest.approx(predicted, rel=1e-9)
    m = doc["measured_rate"]
    assert abs(m - predicted) < 0.01  # the old absolute test called this agreement
    cmp = doc["rate_comparison"]
    assert cmp["log_rate_error"] == pytest.approx(abs(math.log(m) / math.log(predicted) - 1), rel=1e-9)
    assert cmp["predicted_steps_per_decade"] == pytest.approx(math.log(10) / -math.log(predicted), rel=1e-9)
    assert cmp["measured_steps_per_decade"] == pytest.approx(math.log(10) / -math.log(m), rel=1e-9)
    assert cmp["agree"] is False and "DIFFER" in doc["verdict"]
    # both rates and both step counts are printed
    text = cli("explain", path).stdout
    assert f"{round(math.log(10) / -math.log(predicted)):,} steps per decade" in text


def test_a_near_double_root_is_named_and_its_transient_explained(cli):
    doc = explain(cli, LESSONS / "06_momentum.yaml", "--run", "tuned μ=0.57")
    # heavy ball on f'' = 6, lr 0.01, μ 0.57: roots of z² − (1 − 0.06 + 0.57)z + 0.57
    roots = sorted(abs(np.roots([1.0, -(1 - 0.06 + 0.57), 0.57])), reverse=True)
    assert roots == pytest.approx([0.76, 0.75], abs=1e-9)
    double = doc["near_double_root"]
    assert double["roots"] == pytest.approx(roots, abs=1e-9) and double["fits"] is False
    assert doc["predicted_rate"] == pytest.approx(0.76, abs=1e-9)
    # the recurrence e_{k+1} = 1.51·e_k − 0.57·e_{k−1} (e₀ = e₋₁ = 1), measured over the same window
    first, last = doc["measured_window"]
    e = [1.0, 1.0]
    for _ in range(last + 1):
        e.append(1.51 * e[-1] - 0.57 * e[-2])
    two = [math.hypot(e[k + 1], e[k]) for k in range(last + 1)]
    assert double["window_rate"] == pytest.approx((two[last] / two[first]) ** (1 / (last - first)), rel=1e-9)
    assert doc["measured_rate"] == pytest.approx(double["window_rate"], rel=1e-5)
    verdict = doc["verdict"]
    assert "critical damping" in verdict and "No window fits" in verdict
    assert "not yet close to its quadratic model" not in verdict  # f is a quadratic


def test_the_minimum_is_the_one_the_run_approaches(cli):
    doc = explain(cli, LESSONS / "02_partial_derivatives.yaml")
    x1 = doc["minimum"]["point"]["x1"]
    assert x1 == pytest.approx(doc["final"]["point"]["x1"], abs=1e-8)  # where the run ends, not (1.75216, 0)
    assert x1 == pytest.approx(1.6473358, abs=1e-6)  # the lesson's own expect block
    assert doc["minimum"]["start_minimum"]["x1"] == pytest.approx(1.75216, abs=1e-4)
    # on the valley x2 = 0, H = diag(0, 2(x1 + 5)): the curved direction's rate is |1 − 0.01·2(x1 + 5)|
    assert doc["predicted_rate"] == pytest.approx(1 - 0.01 * 2 * (x1 + 5), rel=1e-9)
    assert doc["rate_comparison"]["agree"] is True
    assert "slower than any geometric rate" not in doc["verdict"] and "heads for" in doc["verdict"]


def test_at_a_kink_the_minimum_is_reported_and_the_theory_does_not_apply(cli, write_config):
    path = write_config(
        'objective: {expr: "abs(x) + x**2", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 50\n'
        "dtype: float64\n"
    )
    result = cli("explain", path, "--json")
    assert result.exit_code == 0, result.output  # was exit 3: "no minimum found … stalled at 5.55e-17"
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["minimum"]["point"] == {"x": 0.0} and doc["minimum"]["value"] == 0.0 and doc["minimum"]["kink"]
    assert doc["predicted_rate"] is None and "does not apply" in doc["not_covered"]
    assert "at a kink" in doc["verdict"]


def test_a_noisy_run_is_not_said_to_be_off_its_quadratic_model(cli):
    # configs/noisy_quadratic.yaml: f = ½(x² + 10y²) exactly, lr 0.1, σ = 0.5. Its error settles at the
    # floor lr·σ²/(λ(2 − lr·λ)) per mode instead of shrinking like 0.9ᵏ, so the measured rate is near 1;
    # the reason is the noise, not a window "where f is not yet close to its quadratic model".
    doc = explain(cli, CONFIGS / "noisy_quadratic.yaml")
    floor = 0.1 * 0.25 / (1 * (2 - 0.1)) + 0.1 * 0.25 / (10 * (2 - 1.0))
    assert doc["noise_floor"]["predicted"] == pytest.approx(floor, rel=1e-9)
    assert doc["measured_rate"] > doc["predicted_rate"]  # the floor stops the geometric decay
    text = doc["verdict"]
    assert "noise floor" in text and "gradients are noisy" in text
    assert "quadratic model" not in text


def test_a_noisy_run_past_the_stability_edge_is_called_diverging(cli):
    # λmax = 10, so lr = 0.201 > 2/λmax = 0.2: the stiff mode grows by |1 − 0.201·10| = 1.01 per step,
    # noise or not. There is no floor (the Lyapunov sum diverges), so the noise cannot explain the growth.
    result = cli("explain", str(CONFIGS / "noisy_quadratic.yaml"), "--set", "optimizer.lr=0.201", "--json")
    assert result.exit_code == 4, result.output
    doc = json.loads(result.stdout)["runs"][0]
    assert abs(1 - 0.201 * 10) > 1 and doc["noise_floor"]["predicted"] is None
    assert "diverging" in doc["verdict"] and "not a divergence" not in doc["verdict"]
    assert "gradients are noisy" not in doc["verdict"]


def test_multiplicative_noise_has_no_floor_and_explain_says_so(cli):
    # g·(1 + σ·ξ) is 0 where g is: at x* there is no noise left, so no floor to agree or disagree with.
    doc = explain(cli, CONFIGS / "noisy_quadratic.yaml", "--set", "noise.kind=multiplicative")
    floor = doc["noise_floor"]
    assert floor["predicted"] == 0.0 and floor["agree"] is None
    assert "no floor" in floor["verdict"] and "disagree" not in floor["verdict"]
    assert "run more steps" not in floor["verdict"]
    assert "gradients are noisy" not in doc["verdict"]  # the rate sentence blames no floor either


def test_modes_and_the_verdict_agree_on_critical_damping(cli):
    # Lesson 08's heavy ball: the stiff mode λ = 100 has roots 0.8330 and 0.8036 (numpy.roots of
    # z² − (1 + μ − lr·λ)z + μ); the verdict calls that a near-double root, so the mode table must too.
    result = cli("explain", "lesson:8", "--run", "heavy ball", "--modes", "--json")
    doc = json.loads(result.stdout)["runs"][0]
    lr, mu = doc["lr"], doc["options"]["momentum"]
    z = np.roots([1.0, -(1.0 + mu - lr * 100.0), mu])
    assert abs(abs(z[0]) - abs(z[1])) / max(abs(z)) < 0.1
    assert "near-double root" in doc["verdict"]
    stiff = next(m for m in doc["modes"] if m["eigenvalue"] == pytest.approx(100.0))
    assert stiff["regime"] == "critically damped"
