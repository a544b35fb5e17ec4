"""`engine: auto` decides by cost: it compiles only when the eager engine's estimated time exceeds the
compile cost plus the compiled run's own time. These tests check the decision, not timings."""

from __future__ import annotations

import pytest

import gdplay
from gdplay.engine import compiled

KEY = "a key no process has compiled"


@pytest.fixture(autouse=True)
def cold_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GDPLAY_CACHE_DIR", str(tmp_path))  # no marker: the cache counts as cold
    monkeypatch.setattr(compiled, "_CHUNKS", {})


def test_a_small_run_takes_the_eager_path():
    assert not compiled.choose("auto", batch=1, dim=1, steps=100, key=KEY)
    assert not compiled.choose("auto", batch=4096, dim=2, steps=100, key=KEY)


def test_a_long_wide_sweep_compiles():
    assert compiled.choose("auto", batch=1 << 20, dim=2, steps=10_000, key=KEY)


def test_explicit_choices_win():
    assert compiled.choose("compiled", batch=1, dim=1, steps=1, key=KEY)
    assert not compiled.choose("eager", batch=1 << 20, dim=2, steps=10_000, key=KEY)


def test_the_decision_follows_the_cost_model():
    """Compile exactly when the estimate says eager would take longer; a chunk this process has
    compiled costs nothing more, one a gdplay process compiled before costs the warm time."""
    batch, dim = 65536, 2
    per_step_eager = compiled.EAGER_STEP_S + compiled.EAGER_VALUE_S * batch * dim
    per_step_compiled = compiled.COMPILED_VALUE_S * batch * dim
    breakeven = compiled.COMPILE_COLD_S / (per_step_eager - per_step_compiled)
    assert not compiled.choose("auto", batch, dim, int(breakeven * 0.9), KEY)
    assert compiled.choose("auto", batch, dim, int(breakeven * 1.1), KEY)
    compiled._marker(KEY).parent.mkdir(parents=True)
    compiled._marker(KEY).touch()
    assert compiled.compile_cost_s(KEY) == compiled.COMPILE_WARM_S
    compiled._CHUNKS[KEY] = lambda *a: None
    assert compiled.compile_cost_s(KEY) == 0.0


def test_a_100_step_run_with_auto_never_reaches_the_compiler(monkeypatch, tmp_path):
    """Through the public API, as `check` runs it (no history): auto plans, then declines."""
    seen = []

    def refuse(*args, **kwargs):
        raise AssertionError("a 100-step run must not compile")

    real_plan = compiled.plan
    monkeypatch.setattr(compiled, "run_compiled", refuse)
    monkeypatch.setattr(compiled, "plan", lambda *a: seen.append(1) or real_plan(*a))
    text = 'objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}\noptimizer: {name: sgd, lr: 0.01}\nsteps: 100\n'
    path = tmp_path / "q.yaml"
    path.write_text(text + "expect: {status: max_steps}\n")
    report = gdplay.check([path])
    assert [case.outcome for case in report]  # it ran
    sweep = gdplay.sweep(text + "sweep: {lr: [0.01, 0.02]}\n", engine="auto")[0]
    assert sweep.status == ["max_steps", "max_steps"]
    assert seen  # the compiled engine was asked, and said no
