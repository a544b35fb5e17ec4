"""Values torch refuses are config errors naming the key (issue 17, class 3).

check_options checks names and types; torch checks the values when it builds the optimizer or
steps it. Whatever torch raises there becomes a ConfigError naming the option and torch's
reason; a value that only overflows later is a run that diverges.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gdplay
from gdplay.errors import ConfigError, GdplayError
from gdplay.optim.factory import accepted_options
from gdplay.optim.registry import OPTIMIZERS

SUPPORTED = sorted(name for name, info in OPTIMIZERS.items() if info.supported)


def config(name: str, options: dict, lr: float = 0.1, steps: int = 3, extra: str = "") -> str:
    body = ", ".join(f"{k}: {json.dumps(v)}" for k, v in options.items())
    return (
        f"objective: {{name: sphere, dim: 2}}\noptimizer: {{name: {name}, lr: {json.dumps(lr)}"
        f"{', ' + body if body else ''}}}\nsteps: {steps}\n{extra}"
    )


# The reproductions from the issue: optimizer, options, the key the error must name.
REFUSED = [
    ("adam", {"betas": [1, 2]}, "optimizer.betas"),
    ("sgd", {"weight_decay": 1.0e300}, "optimizer.weight_decay"),
    ("lbfgs", {"line_search_fn": "wolfe"}, "optimizer.line_search_fn"),
    ("lbfgs", {"history_size": 0}, "optimizer.history_size"),
    ("adafactor", {"d": 0}, "optimizer.d"),
    ("rprop", {"etas": [None, None]}, "optimizer.etas"),
    ("asgd", {"alpha": 1.0e300}, "optimizer.alpha"),
]


@pytest.mark.parametrize(("name", "options", "key"), REFUSED)
def test_a_value_torch_refuses_is_a_config_error_naming_the_key(name, options, key):
    with pytest.raises(ConfigError) as info:
        gdplay.run(config(name, options))
    assert info.value.location.key == key
    assert info.value.location.line == 2
    assert "torch says" in info.value.message


def test_an_lr_that_overflows_float32_names_lr():
    with pytest.raises(ConfigError) as info:
        gdplay.run(config("sgd", {}, lr=1.0e300, extra="dtype: float32\n"))
    assert info.value.location.key == "optimizer.lr"


def test_a_value_that_overflows_only_later_is_a_diverged_run():
    # momentum 1e20: v ← μv + g grows like μᵗ; finite for the probe's three steps, inf soon after.
    (result,) = gdplay.run(config("sgd", {"momentum": 1.0e20}, steps=50))
    assert result.status == "diverged"


@pytest.mark.parametrize(
    ("extra", "key"),
    [("seed: 18446744073709551616\n", "seed"), ('device: "cpu\\n"\n', "device"), ("device: cuda:\u0663\n", "device")],
)
def test_seed_and_device_out_of_torchs_range_are_config_errors(extra, key):
    with pytest.raises(ConfigError) as info:
        gdplay.run(config("sgd", {}, extra=extra))
    assert info.value.location.key == key


def test_a_schedule_torch_refuses_is_a_config_error():
    text = config("sgd", {}) + "".replace("", "")
    text = text.replace("lr: 0.1}", "lr: 0.1, schedule: {name: steplr, step_size: 0}}")
    with pytest.raises(ConfigError) as info:
        gdplay.run(text)
    assert "schedule" in str(info.value)


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 2, -1, 1e-300, 1e300, -1e300, 0.5, 1.0, 2**31, 2**63]),
    st.integers(-(2**70), 2**70),
)
VALUES = st.one_of(
    NUMBERS,
    st.booleans(),
    st.none(),
    st.sampled_from(["strong_wolfe", "wolfe", "", "x"]),
    st.lists(st.one_of(NUMBERS, st.none()), min_size=0, max_size=3),
)


@st.composite
def optimizer_settings(draw):
    name = draw(st.sampled_from(SUPPORTED))
    keys = sorted(k for k in accepted_options(OPTIMIZERS[name]) if k != "lr")
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3)) if keys else []
    options = {k: draw(VALUES) for k in chosen}
    lr = draw(st.one_of(st.sampled_from([0.1, 1e-3, 1.0, 1e300, 1e-300]), st.floats(1e-6, 10)))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    return name, options, lr, dtype


@given(setting=optimizer_settings())
def test_fuzz_every_optimizers_options_give_a_result_or_a_config_error(setting):
    name, options, lr, dtype = setting
    try:
        (result,) = gdplay.run(config(name, options, lr=lr, extra=f"dtype: {dtype}\n"))
    except GdplayError:
        return
    assert result.status in ("max_steps", "converged", "diverged")
    assert result.status == "diverged" or all(math.isfinite(v) for v in result.final_point)
