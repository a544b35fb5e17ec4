"""Formula errors written for students: what they probably meant, in the notation the parser takes."""

from __future__ import annotations

import difflib

import pytest

from gdplay.errors import FormulaError
from gdplay.problems.formula import FUNCTIONS, REDUCTIONS, parse

WHITELIST = sorted(set(FUNCTIONS) | REDUCTIONS)


def message(text: str) -> str:
    with pytest.raises(FormulaError) as info:
        parse(text)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("x^2", "x**2"),
        ("(x + 1)^3", "(x + 1)**3"),
        ("x**2 + y^2", "x**2 + y**2"),  # ^ binds looser than +: the whole sum is its left side
    ],
)
def test_caret_is_not_a_power(text, meant):
    assert f"'^' is not a power here; did you mean '{meant}'?" in message(text)
    parse(text.replace("^", "**"))  # and the suggestion parses


@pytest.mark.parametrize(("text", "meant"), [("3x", "3*x"), ("x + 2.5y", "2.5*y"), ("1e-3*x + 2x", "2*x")])
def test_a_number_against_a_name_is_not_a_product(text, meant):
    assert f"did you mean '{meant}'?" in message(text)


def test_a_number_before_a_bracket():
    assert "did you mean '2*(x + 1)'?" in message("2(x + 1)")


def test_ln_is_log():
    assert "did you mean 'log'?" in message("ln(x)")


@pytest.mark.parametrize("name", ["sinn", "coss", "exq", "sqr", "tanhh", "foo", "sigmod", "logg"])
def test_unknown_functions_list_every_close_match(name):
    text = message(f"{name}(x)")
    assert f"unknown function '{name}'" in text
    close = difflib.get_close_matches(name, WHITELIST, n=4, cutoff=0.5)
    for candidate in close:
        assert f"'{candidate}'" in text  # each close match, quoted
    if not close:
        assert "did you mean" not in text
    assert "valid: " + ", ".join(WHITELIST) in text
