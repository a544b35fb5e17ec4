"""Property-based tests: no input makes the config loader or the formula parser crash or hang.

Each example must end in a result or a GdplayError, never another exception. The number
of examples is bounded in `make test` (profile "ci") and large in `make fuzz`.
"""

from __future__ import annotations

import contextlib
import string

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gdplay.config.model import load_config_text
from gdplay.errors import GdplayError
from gdplay.problems.formula import compile_formula, parse

# ---- formulas -----------------------------------------------------------------------------

ATOMS = ["x", "y", "w", "w[0]", "w[-1]", "pi", "e", "1", "2.5", "0", "1e308", "9"]
FUNCS = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "sum", "foo", "__import__"]
OPS = ["+", "-", "*", "/", "**", "%", "//", "<", "and", ".", ",", ":="]


def expressions(depth: int = 4):
    """Python-like expressions, mostly well-formed, some not."""
    leaf = st.sampled_from(ATOMS)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPS), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(st.sampled_from(FUNCS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda s: f"({s})"),
            inner.map(lambda s: f"-{s}"),
            st.tuples(inner, st.sampled_from(["real", "__class__", "__bases__"])).map(lambda t: f"{t[0]}.{t[1]}"),
        ),
        max_leaves=12,
    )


def _parse_and_run(text: str) -> None:
    import torch

    try:
        formula = parse(text)
        fn = compile_formula(formula, {"x": None, "y": None, "w": 3})
    except GdplayError:
        return
    env = {
        "x": torch.tensor([[0.5]], dtype=torch.float64),
        "y": torch.tensor([[-2.0]], dtype=torch.float64),
        "w": torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64),
    }
    fn(env)  # evaluating an accepted formula never raises (NaN and inf are values)


@given(expressions())
def test_property_python_like_expressions_parse_or_fail_cleanly(text):
    _parse_and_run(text)


@given(st.text(max_size=200))
def test_property_arbitrary_text_parses_or_fails_cleanly(text):
    _parse_and_run(text)


@given(st.text(alphabet=string.printable, max_size=300))
def test_property_printable_text_parses_or_fails_cleanly(text):
    _parse_and_run(text)


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9**9",
        "(" * 59 + "x" + ")" * 59,
        "(" * 5000 + "x" + ")" * 5000,
        "x" + "**x" * 600,
        "-" * 1999 + "x",
        "1" * 1999,
        "x[" * 500,
    ],
)
def test_pathological_formulas_answer_quickly(text):
    _parse_and_run(text)  # pytest-timeout is not needed: each of these returns in milliseconds


# ---- YAML configs -------------------------------------------------------------------------

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=20,
)
KEYS = ["name", "objective", "optimizer", "steps", "device", "dtype", "seed", "tol", "blowup", "runs", "expr", "init"]
config_like = st.fixed_dictionaries(
    {},
    optional={
        "objective": st.fixed_dictionaries(
            {}, optional={"expr": st.one_of(expressions(), yaml_values), "init": yaml_values, "name": yaml_values}
        ),
        "optimizer": st.fixed_dictionaries(
            {}, optional={"name": st.sampled_from(["sgd", "adam", "manual_sgd", "nope", 3]), "lr": yaml_values}
        ),
        "steps": yaml_values,
        "device": yaml_values,
        "dtype": yaml_values,
        "runs": yaml_values,
        "tol": yaml_values,
    },
)


def _load(text: str) -> None:
    with contextlib.suppress(GdplayError):
        load_config_text(text, "fuzz.yaml")


@given(st.text(max_size=300))
def test_property_arbitrary_text_as_yaml_loads_or_fails_cleanly(text):
    _load(text)


@given(yaml_values)
def test_property_arbitrary_yaml_documents_load_or_fail_cleanly(value):
    _load(yaml.safe_dump(value))


@given(config_like)
def test_property_config_shaped_documents_load_or_fail_cleanly(value):
    _load(yaml.safe_dump(value))


def test_billion_laughs_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(GdplayError, match="expands to more than"):
        load_config_text("\n".join(lines), "laughs.yaml")
