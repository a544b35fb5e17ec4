"""`expect:` blocks: validation with file, line and key; the pure judge; `gdplay run`'s exit codes."""

from __future__ import annotations

import json
import math

import pytest

from gdplay.config.model import DEFAULT_ATOL, DEFAULT_RTOL, ExpectConfig, load_config_text
from gdplay.errors import ConfigError
from gdplay.problems.base import Layout
from gdplay.results.expect import evaluate, nearest, tolerance, within
from gdplay.results.model import RunResult

HEAD = """\
objective: {expr: "x**2 + y**2", init: {x: 1.0, y: 2.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 10
"""


def load(text: str):
    return load_config_text(text, "c.yaml").runs


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(text)
    return str(info.value)


# ---- validation ------------------------------------------------------------------------------


def test_expect_block_is_read_with_documented_defaults():
    (run,) = load(HEAD + "expect: {argmin: {x: 0, y: 0}, min: 0}\n")
    expect = run.config.expect
    assert expect.argmin == {"x": 0.0, "y": 0.0} and expect.min == 0.0
    assert (expect.atol, expect.rtol) == (DEFAULT_ATOL, DEFAULT_RTOL) == (1e-6, 1e-6)
    assert expect.status is None and expect.max_steps is None


@pytest.mark.parametrize(
    ("block", "where", "needle"),
    [
        ("expect:\n  min: 0\n  atoll: 1.0e-3\n", "c.yaml:6:3, key 'expect.atoll'", "did you mean 'atol'"),
        ("expect: {argmin: {x: 0, yy: 0}}\n", "key 'expect.argmin.yy'", "did you mean 'y'"),
        ("expect: {argmin: {x: 0}}\n", "key 'expect.argmin'", "no value for variable 'y'"),
        ("expect: {argmin: [0, 0]}\n", "key 'expect.argmin'", "maps each variable"),
        ("expect: {argmin: {x: 0, y: [0, 1]}}\n", "key 'expect.argmin.y'", "expected a number, as in init"),
        ("expect: {argmin: known}\n", "key 'expect.argmin'", "known needs a built-in"),
        ("expect: {min: known}\n", "key 'expect.min'", "known needs a built-in"),
        ("expect: {argmin: knwn}\n", "key 'expect.argmin'", "did you mean 'known'"),
        ("expect: {argmin: {x: abc, y: 0}}\n", "key 'expect.argmin'", "x: expected a number, got 'abc'"),
        ("expect: {min: zero}\n", "key 'expect.min'", "expected a number or `known`"),
        ("expect: {min: .nan}\n", "key 'expect.min'", "finite"),
        ("expect: {min: 0, atol: -1}\n", "key 'expect.atol'", ">= 0"),
        ("expect: {status: divergd}\n", "key 'expect.status'", "did you mean 'diverged'"),
        ("expect: {max_steps: 5}\n", "key 'expect.max_steps'", "needs tol"),
        ("tol: 1.0e-8\nexpect: {max_steps: 5, status: max_steps}\n", "key 'expect.max_steps'", "status converged"),
        ("expect: {min: 0, status: diverged}\n", "key 'expect.min'", "set min: null"),
        ("expect: {}\n", "c.yaml:4:1, key 'expect'", "nothing to check"),
        ("expect: {atol: 1.0e-3}\n", "key 'expect'", "nothing to check"),
    ],
)
def test_bad_expect_blocks_name_file_line_and_key(block, where, needle):
    message = error_of(HEAD + block)
    assert where in message
    assert needle in message


def test_vector_variables_need_lists_of_their_length():
    head = 'objective: {expr: "sum(w**2)", init: {w: [1.0, 2.0]}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\n'
    assert load(head + "expect: {argmin: {w: [0, 0]}}\n")[0].config.expect.argmin == {"w": [0.0, 0.0]}
    message = error_of(head + "expect: {argmin: {w: [0]}}\n")
    assert "key 'expect.argmin.w'" in message and "a list of 2 numbers" in message


def test_builtins_take_a_list_or_known():
    head = "objective: {name: sphere, dim: 2}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\n"
    assert load(head + "expect: {argmin: known, min: known}\n")[0].config.expect.argmin == "known"
    assert load(head + "expect: {argmin: [0, 0]}\n")[0].config.expect.argmin == [0.0, 0.0]
    assert "list of numbers" in error_of(head + "expect: {argmin: {x: 0}}\n")


def test_a_run_entry_merges_with_the_top_level_expect_key_by_key_and_null_drops_a_key():
    text = (
        HEAD
        + "expect: {min: 0, atol: 1.0e-3}\n"
        + "runs:\n"
        + "  - name: a\n"
        + "    expect: {argmin: {x: 0, y: 0}}\n"
        + "  - name: b\n"
        + "    optimizer: {name: sgd, lr: 5.0}\n"
        + "    expect: {min: null, status: diverged}\n"
    )
    a, b = load(text)
    assert (a.config.expect.argmin, a.config.expect.min, a.config.expect.atol) == ({"x": 0.0, "y": 0.0}, 0.0, 1e-3)
    assert (b.config.expect.min, b.config.expect.status, b.config.expect.atol) == (None, "diverged", 1e-3)


def test_an_inherited_value_that_contradicts_a_runs_status_is_reported_in_that_run():
    text = HEAD + "expect: {min: 0}\nruns:\n  - name: a\n  - name: b\n    expect: {status: diverged}\n"
    message = error_of(text)
    assert "set min: null" in message and "expect.min" in message


# ---- the judge, on results built by hand -----------------------------------------------------


def result(point, value, status="max_steps", steps=10, minimizers=(), f_min=None, names=("x", "y")):
    return RunResult(
        name="r",
        status=status,
        reason="diverged at step 3: f is not finite" if status == "diverged" else "ran all 10 steps",
        steps=steps,
        final_point=list(point),
        final_value=value,
        final_grad_norm=0.0,
        layout=Layout(tuple(names), (None,) * len(names)),
        history=None,
        optimizer="sgd",
        lr=0.1,
        options={},
        device="cpu",
        dtype="float64",
        seed=0,
        wall_time_s=0.0,
        torch_version="test",
        minimizers=tuple(tuple(m) for m in minimizers),
        f_min=f_min,
    )


def test_tolerance_is_atol_plus_rtol_times_the_expected_magnitude():
    assert tolerance(-4.0, 1e-3, 1e-2) == pytest.approx(1e-3 + 4e-2)
    assert within(1.0 + 0.9e-3, 1.0, 1e-3, 0.0)
    assert not within(1.0 + 1.1e-3, 1.0, 1e-3, 0.0)
    assert within(110.0, 100.0, 0.0, 0.1)  # 10 off, 10% of 100 allowed
    assert not within(math.nan, 0.0, 1.0, 1.0)
    assert not within(math.inf, 0.0, 1.0, 1.0)


def test_a_point_within_tolerance_passes_and_one_beyond_fails_per_coordinate():
    expect = ExpectConfig(argmin={"x": 1.0, "y": 3.0}, min=0.0, atol=1e-3, rtol=0.0)
    assert evaluate(expect, result([1.0005, 2.9995], 1e-6)).passed
    outcome = evaluate(expect, result([1.0005, 3.002], 1e-6))
    assert not outcome.passed
    (miss,) = outcome.misses
    assert miss.quantity == "argmin.y"
    assert (miss.expected, miss.got, miss.tolerance) == (3.0, 3.002, 1e-3)
    assert miss.difference == pytest.approx(0.002)
    text = miss.describe()
    assert "argmin.y: expected 3.0, got 3.002" in text and "tolerance 0.001" in text


def test_status_and_step_budget():
    converged = result([0, 0], 0.0, status="converged", steps=40)
    assert evaluate(ExpectConfig(status="converged", max_steps=40), converged).passed
    (miss,) = evaluate(ExpectConfig(max_steps=39), converged).misses
    assert (miss.quantity, miss.expected, miss.difference) == ("steps", 39, 1.0)
    ran_out = result([0, 0], 0.0, status="max_steps", steps=10)
    assert not evaluate(ExpectConfig(max_steps=100), ran_out).passed  # never converged
    diverged = result([math.nan, math.nan], math.nan, status="diverged", steps=3)
    assert evaluate(ExpectConfig(status="diverged"), diverged).passed
    miss = evaluate(ExpectConfig(argmin={"x": 0.0, "y": 0.0}), diverged).misses[0]
    assert "diverged at step 3" in miss.describe() and "got nan" in miss.describe()


def test_known_argmin_means_any_known_minimiser_reported_against_the_nearest():
    # Himmelblau's four minima (Himmelblau 1972).
    minima = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    expect = ExpectConfig(argmin="known", min="known", atol=1e-5, rtol=0.0)
    outcome = evaluate(expect, result([-3.7793102, -3.2831860], 1e-12, minimizers=minima, f_min=0.0))
    assert outcome.passed
    assert [c.expected for c in outcome.checks[:2]] == [-3.779310, -3.283186]
    assert "nearest of 4 known minimisers" in outcome.checks[0].note
    missed = evaluate(expect, result([0.0, 0.0], 170.0, minimizers=minima, f_min=0.0))
    assert not missed.passed and missed.checks[-1].quantity == "min"
    assert nearest([2.9, 2.1], minima, 0.0, 0.0)[0] == (3.0, 2.0)


def test_json_form_of_a_check_names_its_relation_in_words_and_has_no_nan():
    miss = evaluate(ExpectConfig(min=0.0), result([math.nan, 0], math.nan)).checks[0]
    assert miss.to_dict() == {
        "quantity": "min",
        "relation": "within_tolerance",
        "expected": 0.0,
        "got": None,
        "difference": None,
        "tolerance": 1e-6,
        "passed": False,
        "used": None,  # inf (a got that is not finite uses more than any tolerance) is null in JSON
        "note": "",
    }


# ---- gdplay run ------------------------------------------------------------------------------

QUADRATIC = """\
name: q
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: LR}
steps: 100
"""


def test_run_exits_1_with_a_table_of_expected_got_and_by_how_much(cli, write_config):
    # The closed-form minimiser is -1/3; -0.3 is off by 1/30.
    path = write_config(QUADRATIC.replace("LR", "0.3") + "expect: {argmin: {x: -0.3}, min: -1.3333333333333333}\n")
    result = cli("run", path)
    assert result.exit_code == 1, result.output
    assert "q: expectations NOT met" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "argmin.x" in line)
    assert "-0.3" in row and "0.0333" in row and "MISS" in row
    assert "Traceback" not in result.output


def test_run_exits_0_when_expectations_hold_and_reports_them_in_json(cli, write_config):
    path = write_config(
        QUADRATIC.replace("LR", "0.3") + "expect: {argmin: {x: -0.3333333333333333}, min: -1.3333333333333333}\n"
    )
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["runs"][0]
    assert run["expect"]["passed"] is True
    assert [c["quantity"] for c in run["expect"]["checks"]] == ["argmin.x", "min"]


def test_a_run_expected_to_diverge_that_diverges_exits_0(cli, write_config):
    # lr 1.0: x ← x − (6x + 2) = −5x − 2, so |x| grows five-fold per step.
    path = write_config(QUADRATIC.replace("LR", "1.0") + "expect: {status: diverged}\n")
    assert cli("run", path).exit_code == 0


def test_a_missed_expectation_outranks_an_unexpected_divergence(cli, write_config):
    text = (
        QUADRATIC.replace("LR", "0.3").replace("name: q\n", "")
        + "runs:\n"
        + "  - name: missed\n"
        + "    expect: {argmin: {x: 5.0}}\n"
        + "  - name: blows_up\n"
        + "    optimizer: {name: manual_sgd, lr: 1.0}\n"
    )
    assert cli("run", write_config(text)).exit_code == 1
    only_divergence = text.replace("    expect: {argmin: {x: 5.0}}\n", "")
    assert cli("run", write_config(only_divergence, "b.yaml")).exit_code == 4


def test_run_rejects_known_when_the_builtin_knows_no_minimiser(cli, write_config):
    # Rosenbrock with a = 2 in three dimensions: no closed-form minimiser (see builtins.py).
    text = (
        "objective: {name: rosenbrock, dim: 3, params: {a: 2.0}}\n"
        "optimizer: {name: sgd, lr: 0.001}\nsteps: 5\nexpect: {argmin: known}\n"
    )
    result = cli("run", write_config(text))
    assert result.exit_code == 3
    assert "key 'expect.argmin'" in result.stderr and "no global minimiser" in result.stderr


def test_run_rejects_a_builtin_argmin_of_the_wrong_dimension(cli, write_config):
    text = "objective: {name: sphere, dim: 3}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\nexpect: {argmin: [0, 0]}\n"
    result = cli("run", write_config(text))
    assert result.exit_code == 3
    assert "cfg.yaml:4:10, key 'expect.argmin'" in result.stderr and "dimension 3" in result.stderr


def test_each_check_reports_the_fraction_of_its_tolerance_it_used():
    # |0.25 − 0.2| = 0.05 against atol + rtol·|0.2| = 0.1 + 0: half the tolerance.
    (check,) = evaluate(ExpectConfig(min=0.2, atol=0.1, rtol=0.0), result([0.0, 0.0], 0.25)).checks
    assert check.passed and check.used == pytest.approx(0.5, rel=1e-12)
    assert check.to_dict()["used"] == pytest.approx(0.5, rel=1e-12)
    # Tolerance 0: bit-exact uses nothing, anything else is infinitely over.
    (exact,) = evaluate(ExpectConfig(min=0.25, atol=0.0, rtol=0.0), result([0.0, 0.0], 0.25)).checks
    (off,) = evaluate(ExpectConfig(min=0.2, atol=0.0, rtol=0.0), result([0.0, 0.0], 0.25)).checks
    assert exact.used == 0.0 and off.used == math.inf and not off.passed
