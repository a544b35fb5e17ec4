"""The formula parser: what it accepts computes what the math says; everything else is refused."""

from __future__ import annotations

import math

import pytest
import torch

from gdplay.errors import FormulaError
from gdplay.problems.formula import compile_formula, parse


def evaluate(text, **values):
    """Evaluate a formula at one point (scalars) in float64."""
    shapes = {k: (len(v) if isinstance(v, list) else None) for k, v in values.items()}
    env = {k: torch.tensor([v if isinstance(v, list) else [v]], dtype=torch.float64) for k, v in values.items()}
    out = compile_formula(parse(text), shapes)(env)
    return out if isinstance(out, float) else out.reshape(-1)[0].item()


@pytest.mark.parametrize(
    ("text", "point", "expected"),
    [
        ("3*x**2 + 2*x - 1", {"x": 2.0}, 3 * 4 + 4 - 1),
        ("(x1 + 5) * x2**2", {"x1": 2.0, "x2": 3.0}, 7 * 9),
        ("-x**2", {"x": 3.0}, -9.0),  # Python precedence: -(x**2)
        ("2**-x", {"x": 1.0}, 0.5),
        ("x / 4 - 1", {"x": 2.0}, -0.5),
        ("sin(x) + cos(x) + tan(x)", {"x": 0.3}, math.sin(0.3) + math.cos(0.3) + math.tan(0.3)),
        ("exp(x) * log(x) + sqrt(x)", {"x": 2.0}, math.exp(2) * math.log(2) + math.sqrt(2)),
        ("abs(x) + tanh(x) + sigmoid(x)", {"x": -1.5}, 1.5 + math.tanh(-1.5) + 1 / (1 + math.exp(1.5))),
        ("pi * e", {"x": 0.0}, math.pi * math.e),
        ("sum(w**2)", {"w": [1.0, 2.0, 3.0]}, 14.0),
        ("w[0] * w[-1]", {"w": [2.0, 5.0, 7.0]}, 14.0),
        ("sum((w - a)**2)", {"w": [1.0, 2.0], "a": 1.0}, 1.0),
        ("+x", {"x": 4.0}, 4.0),
    ],
)
def test_formulas_compute_what_the_math_says(text, point, expected):
    value = evaluate(text, **point) if "pi * e" not in text else evaluate(text + " + 0*x", **point)
    assert value == pytest.approx(expected, rel=1e-12)


def test_autograd_flows_through_a_parsed_formula():
    x = torch.tensor([[2.0]], dtype=torch.float64, requires_grad=True)
    y = compile_formula(parse("3*x**2 + 2*x - 1"), {"x": None})({"x": x})
    y.sum().backward()
    assert x.grad.item() == 14.0  # 6x + 2 at x = 2


def test_constants_fold_without_huge_integers():
    # 9**9**9 is an integer with ~370 million digits; folded in floats it is simply inf.
    formula = parse("9**9**9 + x")
    assert math.isinf(formula.tree.left.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('id')", "only named functions may be called"),
        ("().__class__.__bases__", "not allowed"),
        ("x.real", "attribute access is not allowed"),
        ("getattr(x, 'a')", "unknown function 'getattr'"),
        ("lambda: 1", "lambda is not allowed"),
        ("[i for i in x]", "comprehensions is not allowed"),
        ("f'{x}'", "f-strings is not allowed"),
        ("(y := 2)", "assignment (:=) is not allowed"),
        ("sin(*x)", "exactly one argument"),
        ("x[0+1]", "index must be a whole number"),
        ("x if x else 1", "conditional expressions is not allowed"),
        ("x < 1", "comparisons is not allowed"),
        ("x % 2", "operator Mod is not allowed"),
        ("x // 2", "operator FloorDiv is not allowed"),
        ("'abc'", "strings are not allowed"),
        ("x +", "syntax error"),
        ("ｘ**2", "formulas are ASCII"),  # full-width x: Python would fold it to 'x'
        ("x" + "+x" * 1500, "longer than"),
        ("(" * 80 + "x" + ")" * 80, "nesting is deeper"),
        ("", "empty"),
        ("sinn(x)", "did you mean 'sin'"),
        ("sin", "must be called"),
        ("_x", "not allowed"),
        ("True", "bool constants are not allowed"),
        ("1j * x", "complex constants are not allowed"),
    ],
)
def test_everything_outside_the_whitelist_is_refused(text, fragment):
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_errors_point_at_the_column():
    with pytest.raises(FormulaError) as info:
        parse("3*x + foo(x)")
    assert "column 7" in str(info.value)


@pytest.mark.parametrize(
    ("text", "shapes", "fragment"),
    [
        ("x + y", {"x": None}, "unknown variable 'y'"),
        ("xx**2", {"xs": None}, "did you mean 'xs'"),
        ("x[0]", {"x": None}, "is a scalar and cannot be indexed"),
        ("w[3]", {"w": 3}, "out of range"),
        ("sum(w + v)", {"w": 2, "v": 3}, "lengths 2 and 3"),
    ],
)
def test_binding_checks_names_and_shapes(text, shapes, fragment):
    with pytest.raises(FormulaError) as info:
        compile_formula(parse(text), shapes)
    assert fragment in str(info.value)
