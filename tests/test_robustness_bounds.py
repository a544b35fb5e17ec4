"""Work and memory are bounded before they start (issue 17, class 2): validation linear in the
input, sweeps, derivatives and `show --dim` sized against the machine's memory, the exact
quadratic solve bounded."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from gdplay.config.memory import physical_memory
from gdplay.config.model import load_config_text
from gdplay.errors import ConfigError
from gdplay.sweeps.grid import _no_repeats


class Counted:
    """A value that counts how often it is compared for equality."""

    calls = 0

    def __init__(self, v: int):
        self.v = v

    def __eq__(self, other: object) -> bool:
        Counted.calls += 1
        return isinstance(other, Counted) and other.v == self.v

    def __hash__(self) -> int:
        return hash(self.v)


def test_repeats_are_found_in_linear_work():
    n = 20_000
    Counted.calls = 0
    _no_repeats([Counted(i) for i in range(n)], lambda *a: None)
    assert Counted.calls < n  # comparing each with all before it: n²/2 = 2·10⁸ comparisons
    with pytest.raises(ConfigError, match="appears twice"):
        _no_repeats([1.0, [1, 2], 2.0, [1, 2]], lambda *a: None)
    with pytest.raises(ConfigError, match="appears twice"):
        _no_repeats([0.0, 1, 1.0], lambda *a: None)  # 1 == 1.0, as a list's `in` said


def test_a_sweep_too_large_for_memory_is_refused_with_the_size():
    from gdplay import sweep

    text = """
objective: {name: sphere, dim: 1000}
optimizer: {name: sgd, lr: 0.1}
steps: 10
sweep: {lr: {from: 0.001, to: 0.1, num: 1000}, start: {random: 1000, domain: [-1, 1]}}
"""
    with pytest.raises(ConfigError, match=r"the sweep \(1,000,000 runs of dimension 1,000\) needs about [\d.]+ GiB"):
        sweep(text)


def test_random_starts_too_large_for_memory_are_refused_before_they_are_drawn():
    from gdplay import sweep

    dim = 100_000
    n = int(physical_memory() / (dim * 8)) + 1  # one more than fits, as float64
    text = f"""
objective: {{name: sphere, dim: {dim}}}
optimizer: {{name: sgd, lr: 0.1}}
steps: 1
sweep: {{start: {{random: {n}, domain: [-1, 1]}}}}
"""
    with pytest.raises(ConfigError, match="random start points of dimension 100,000 needs about"):
        sweep(text)


def test_the_exact_quadratic_solve_is_bounded_and_falls_back_to_float64():
    from gdplay.problems.exact import EXACT_BUDGET, exact_cost, solve_spd

    d = 40
    a = [[1e300 if i == j else 5e-324 for j in range(d)] for i in range(d)]
    assert exact_cost(d, 2072) > EXACT_BUDGET  # 1e300·2¹⁰⁷⁴ has 2,072 bits
    solution = solve_spd(a, [1.0] * d)
    assert solution.exact is False
    want = np.linalg.solve(np.array(a), np.ones(d))
    assert [float(v) for v in solution.x] == pytest.approx(want.tolist(), rel=1e-15)
    # small systems stay exact: x* of [[2, 1], [1, 2]] x = [1, 1] is (1/3, 1/3), exactly
    small = solve_spd([[2.0, 1.0], [1.0, 2.0]], [1.0, 1.0])
    assert small.exact and small.x == [Fraction(1, 3), Fraction(1, 3)]


def test_a_not_positive_definite_matrix_over_budget_names_the_failing_minor():
    from gdplay.problems.exact import solve_spd

    d = 40
    a = [[1e300 if i == j else 5e-324 for j in range(d)] for i in range(d)]
    a[5][5] = -1e300
    assert solve_spd(a, [1.0] * d).failed_minor == 6


def test_a_minimiser_beyond_float64_is_a_note_not_an_overflow():
    from gdplay import run

    text = """
objective: {name: quadratic, params: {A: [[5.0e-324]], b: [1.0]}}
optimizer: {name: sgd, lr: 0.1}
steps: 3
"""
    (result,) = run(text)  # raised OverflowError: x* = 2¹⁰⁷⁴
    assert result.status == "max_steps"
    from gdplay.problems.builtins import _quadratic_notes

    notes = _quadratic_notes(1, {"A": [[5e-324]], "b": [1.0]})
    assert "beyond float64's range" in notes[0]


BIG = "objective: {name: sphere, dim: 60000}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 3\n"


@pytest.mark.parametrize(("command", "what"), [("grad", "gradient check"), ("hessian", "dense Hessian"), ("explain", "dense Hessian")])
def test_derivatives_too_large_for_memory_are_refused_before_they_start(cli, write_config, command, what):
    # A dense Hessian at d = 60,000 is 3.6·10⁹ numbers: 28.8 GB for the matrix alone.
    if 60_000**2 * 8 < physical_memory() / 4:
        pytest.skip("this machine could hold it")
    result = cli(command, write_config(BIG))
    assert result.exit_code == 3, result.output
    assert what in result.stderr and "needs about" in result.stderr


@pytest.mark.parametrize("dim", ["60000", "99999999999999999999"])
def test_show_dim_too_large_is_a_usage_error_not_an_overflow(cli, dim):
    result = cli("show", "sphere", "--dim", dim)
    assert result.exit_code == 2, result.output
    assert f"--dim {dim}" in result.stderr and "needs about" in result.stderr
