"""`--at` points: the grammar, the defaults from the start, and a clear usage error for every mistake."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdplay.analysis.points import parse_point
from gdplay.errors import UsageError
from gdplay.problems.base import Layout

LAYOUT = Layout(("x", "w", "b"), (None, 3, None))  # x, w[0], w[1], w[2], b
START = [0.5, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x=1", [1.0, 1.0, 2.0, 3.0, 4.0]),
        ("x=1,b=-2.5", [1.0, 1.0, 2.0, 3.0, -2.5]),
        ("w=[7, 8, 9]", [0.5, 7.0, 8.0, 9.0, 4.0]),
        ("w=[7,8,9],x=1e-3", [1e-3, 7.0, 8.0, 9.0, 4.0]),
        ("w[1]=-6", [0.5, 1.0, -6.0, 3.0, 4.0]),
        ("w[-1]=6, w[0]=5", [0.5, 5.0, 2.0, 6.0, 4.0]),
        (" x = 2 , b = 3 ", [2.0, 1.0, 2.0, 3.0, 3.0]),
    ],
)
def test_points_parse(text, expected):
    assert parse_point(text, LAYOUT, START) == expected


def test_a_lone_variable_may_be_given_without_its_name():
    assert parse_point("[1, 2]", Layout.vector("x", 2), [0.0, 0.0]) == [1.0, 2.0]
    assert parse_point("2.5", Layout(("x",), (None,)), [0.0]) == [2.5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("xx=1", "unknown variable 'xx'; did you mean 'x'?"),
        ("w=[1, 2]", "'w' has length 3, got 2 numbers"),
        ("w=3", "'w' is a vector of length 3; write w=[v1, v2, ...] or w[i]=VALUE"),
        ("x=[1, 2]", "'x' is a number, not a vector"),
        ("x[0]=1", "'x' is a number, not a vector"),
        ("w[3]=1", "index 3 is out of range for 'w' of length 3"),
        ("x=one", "x expects a number, got 'one'"),
        ("x=inf", "x expects a finite number"),
        ("x=1,x=2", "'x' is given twice"),
        ("w[1]=1,w=[1,2,3]", "'w' is given twice"),
        ("x=1,", "empty item"),
        ("w=[1,2,3", "unbalanced '['"),
        ("x", "expected NAME=VALUE"),
        ("", "--at is empty"),
    ],
)
def test_mistakes_are_usage_errors_that_say_what_was_expected(text, message):
    with pytest.raises(UsageError) as info:
        parse_point(text, LAYOUT, START)
    assert message in str(info.value)
    assert info.value.exit_code == 2


@given(st.text(max_size=40))
def test_property_no_text_crashes_the_parser(text):
    try:
        point = parse_point(text, LAYOUT, START)
    except UsageError:
        return
    assert len(point) == 5
