"""`gdplay sweep`: every run of a sweep is the run done alone; the quadratic's map matches the theory."""

from __future__ import annotations

import csv
import io
import json
import math
import os

import pytest
import torch

from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_problem
from gdplay.errors import ConfigError
from gdplay.sweeps.grid import batch_spec, build_sweep, grid_table, run_sweep, sweep_flag
from tests.test_engine_batch import alone, quad2, rosenbrock, sphere

OBJECTIVES = {
    "quad2": ('expr: "2*x**2 + x*y + 3*y**2 - x"\n  init: {x: 1.0, y: -1.0}', quad2),
    "sphere": ("name: sphere\n  init: [1.0, -0.5]", sphere),
    "rosenbrock": ("name: rosenbrock", rosenbrock),
}


def sweep_of(text: str, file: str = "cfg.yaml", flags=()):
    run = load_config_text(text, file).runs[0]
    return build_sweep(build_problem(run), run, [sweep_flag(f) for f in flags])


def config(objective: str, optimizer: str, sweep: str, steps: int = 60, extra: str = "") -> str:
    return f"""
objective:
  {objective}
optimizer: {optimizer}
steps: {steps}
dtype: float64
{extra}
sweep:
{sweep}
"""


CASES = {
    "sgd lr × momentum × nesterov": (
        "{name: sgd, lr: 0.001}",
        "  lr: [0.0002, 0.0005, 0.001]\n  momentum: [0.5, 0.9]\n  nesterov: [false, true]",
    ),
    "sgd with and without momentum": ("{name: sgd, lr: 0.001}", "  lr: [0.0002, 0.001]\n  momentum: [0.0, 0.3, 0.9]"),
    "adam lr × betas": ("{name: adam, lr: 0.01}", "  lr: [0.001, 0.01]\n  betas: [[0.9, 0.999], [0.5, 0.9]]"),
    "rmsprop lr × alpha × momentum": (
        "{name: rmsprop, lr: 0.001}",
        "  lr: [0.0003, 0.001]\n  alpha: [0.9, 0.99]\n  optimizer.momentum: [0.0, 0.5]",
    ),
    "manual_sgd lr × momentum": ("{name: manual_sgd, lr: 0.001}", "  lr: [0.0002, 0.001]\n  momentum: [0.0, 0.9]"),
    "optimizer × lr": (
        "{name: sgd, lr: 0.001}",
        "  optimizer: [sgd, adam, rmsprop, manual_sgd]\n  lr: [0.0002, 0.001]",
    ),
}


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_run_of_a_sweep_equals_the_run_done_alone(case, objective):
    optimizer, axes = CASES[case]
    text, fn = OBJECTIVES[objective]
    sweep = sweep_of(config(text, optimizer, axes))
    result = run_sweep(sweep)
    start = list(sweep.problem.start)
    for b in range(result.size):
        s = int(result.which[b])
        name, options, lr = result.optimizers[s], result.options[s], float(result.lrs[b])
        expected = alone(fn, start, name, lr, options, 60)
        assert torch.isfinite(expected).all()
        diff = (result.final_x[b] - expected).abs().max().item()
        assert diff <= 1e-10, (case, b, result.settings_of(b), diff)


def test_random_start_points_are_reproducible_and_inside_the_domain():
    text = config(
        OBJECTIVES["rosenbrock"][0],
        "{name: adam, lr: 0.01}",
        "  start: {random: 50, domain: [[-2, 2], [0, 3]], seed: 7}",
    )
    first, second = sweep_of(text), sweep_of(text)
    points = torch.tensor(first.axes[0].values, dtype=torch.float64)
    assert points.shape == (50, 2)
    assert torch.equal(points, torch.tensor(second.axes[0].values, dtype=torch.float64))
    assert bool((points[:, 0] >= -2).all() and (points[:, 0] <= 2).all())
    assert bool((points[:, 1] >= 0).all() and (points[:, 1] <= 3).all())
    result = run_sweep(first)
    for b in (0, 17, 49):
        expected = alone(rosenbrock, points[b].tolist(), "adam", 0.01, {}, 60)
        assert (result.final_x[b] - expected).abs().max().item() <= 1e-10


def test_a_sweep_keeps_no_per_step_history():
    sweep = sweep_of(config(OBJECTIVES["sphere"][0], "{name: sgd, lr: 0.1}", "  lr: [0.1, 0.2]"))
    assert batch_spec(sweep).record is False


# ---- the stability boundary -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "init", "lam_max"),
    [
        ("3*x**2 + 2*x - 1", "{x: 2.0}", 6.0),  # the notebook's quadratic: f'' = 6
        ("2*x**2 + x*y + 3*y**2 - x", "{x: 1.0, y: -1.0}", 5 + math.sqrt(2)),  # Hessian [[4, 1], [1, 6]]
    ],
)
def test_the_quadratic_diverges_exactly_where_the_theory_says(expr, init, lam_max):
    spacing = 0.01
    text = f"""
objective: {{expr: "{expr}", init: {init}}}
optimizer: {{name: sgd, lr: 0.1}}
steps: 3000
dtype: float64
sweep:
  lr: {{from: 0.01, to: 0.7, num: 70}}
  momentum: [0.0, 0.25, 0.5, 0.75, 0.9]
"""
    result = run_sweep(sweep_of(text))
    table = grid_table(result)
    assert result.curvature is not None and result.curvature.lam_max == pytest.approx(lam_max, rel=1e-12)
    checked = 0
    for j, mu in enumerate(table.cols.values):
        bound = (2 + 2 * mu) / lam_max  # lr·λmax < 2 + 2μ (μ = 0: lr < 2/λmax)
        assert table.bounds[j] == pytest.approx(bound, rel=1e-12)
        for i, lr in enumerate(table.rows.values):
            cell = table.cells[i][j]
            assert cell.predicted_stable is (lr < bound)
            if lr >= bound + spacing:
                assert cell.diverged == 1, f"lr={lr}, μ={mu} should diverge (bound {bound:.4f})"
                checked += 1
            elif lr <= bound - spacing:
                assert cell.diverged == 0, f"lr={lr}, μ={mu} should not diverge (bound {bound:.4f})"
                checked += 1
    assert checked >= 300  # nearly every cell is decided; only those within one spacing of the bound are free


# ---- one by one --------------------------------------------------------------------------


def test_lbfgs_in_a_sweep_runs_one_by_one_and_says_so(cli, write_config):
    text = config(
        OBJECTIVES["rosenbrock"][0], "{name: sgd, lr: 0.001}", "  optimizer: [sgd, lbfgs]\n  lr: [0.001, 0.5]", 10
    )
    result = run_sweep(sweep_of(text))
    assert any(n.startswith("lbfgs cannot be batched") and "2 run(s) ran one by one" in n for n in result.notes)
    compared = []
    for b in range(4):
        s = int(result.which[b])
        expected = alone(rosenbrock, [-1.2, 1.0], result.optimizers[s], float(result.lrs[b]), {}, 10)
        if torch.isfinite(expected).all():  # sgd at lr 0.5 blows up alone too: nothing to compare
            assert (result.final_x[b] - expected).abs().max().item() <= 1e-10
            compared.append(result.optimizers[s])
    assert compared.count("lbfgs") == 2 and len(compared) >= 3  # both one-by-one runs were checked
    out = cli("sweep", write_config(text))
    assert out.exit_code == 0
    assert "note: lbfgs cannot be batched" in out.stdout


# ---- the command line --------------------------------------------------------------------

QUADRATIC = """
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 300
tol: 1.0e-6
dtype: float64
sweep:
  lr: [0.1, 0.2, 0.3, 0.4]
  momentum: [0.0, 0.5]
"""


def test_the_grid_table_marks_divergence_best_and_boundary(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC))
    assert result.exit_code == 0, result.output  # diverged cells are results, not failures
    text = result.stdout
    assert "lr \\ momentum" in text
    assert "✗ @" in text  # lr = 0.4, μ = 0 diverges (0.4 > 2/6)
    assert "★" in text and "best: lr = 0.2, momentum = 0" in text  # |1 − 6·0.2| = 0.2: the fastest
    assert "max stable lr" in text and "0.3333" in text and "0.5" in text
    assert "† predicted unstable: lr·λmax ≥ 2 + 2μ, with λmax = 6" in text
    assert "8 runs × 300 steps" in text


def test_every_run_diverged_is_still_exit_0(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--sweep", "lr=0.5,0.6", "--sweep", "momentum=0")
    assert result.exit_code == 0
    assert "no best setting: every cell diverged" in result.stdout


def test_json_has_every_run(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    sweep = doc["sweeps"][0]
    assert len(sweep["runs"]) == 8
    assert [a["label"] for a in sweep["axes"]] == ["lr", "momentum"]
    run = sweep["runs"][6]  # lr 0.4, μ 0: diverged
    assert run["swept"] == {"lr": 0.4, "momentum": 0.0}
    # x_t + 1/3 = (7/3)(1 − 6·0.4)^t = (7/3)(−1.4)^t: f + 4/3 = 3(x + 1/3)² passes the blow-up limit at:
    first = next(t for t in range(1000) if 3 * ((7 / 3) * 1.4**t) ** 2 - 4 / 3 > 1e20)
    assert run["status"] == "diverged" and run["diverged_at"] == run["steps"] == first
    ok = sweep["runs"][2]  # lr 0.2, μ 0: x* = −1/3 to within tol/6
    assert ok["status"] == "converged"
    assert ok["final"]["point"]["x"] == pytest.approx(-1 / 3, abs=1e-6)
    # f* = −4/3 is not a fact of a formula, so the record's gap is null (as for `gdplay run`); the
    # grid ranks by the f* of one Newton step on the quadratic, which the sweep reports with its source
    assert ok["final"]["gap"] is None
    assert sweep["f_min"] == pytest.approx(-4 / 3, abs=1e-12) and sweep["f_min_source"] == "newton"
    assert ok["final"]["value"] - sweep["f_min"] == pytest.approx(0, abs=1e-10)
    assert sweep["grid"]["best"] == {"lr": 0.2, "momentum": 0.0}
    assert sweep["predicted"]["lambda_max"] == pytest.approx(6.0)


def test_csv_is_written_atomically_with_every_run(cli, write_config, tmp_path):
    target = tmp_path / "runs.csv"
    target.write_text("old contents\n")
    result = cli("sweep", write_config(QUADRATIC), "--csv", target)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 8
    assert rows[6]["lr"] == "0.4" and rows[6]["status"] == "diverged"
    assert float(rows[2]["x_0"]) == pytest.approx(-1 / 3, abs=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".runs.csv")] == []  # no temporary left


def test_a_failed_csv_write_leaves_the_old_file(cli, write_config, tmp_path, monkeypatch):
    target = tmp_path / "runs.csv"
    target.write_text("old contents\n")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    result = cli("sweep", write_config(QUADRATIC), "--csv", target)
    assert result.exit_code != 0
    assert target.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".runs.csv")] == []


def test_rows_and_cols_choose_the_table_axes(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--rows", "momentum", "--cols", "lr")
    assert result.exit_code == 0
    assert "momentum \\ lr" in result.stdout


def test_an_unknown_table_axis_is_a_usage_error(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--rows", "momentun")
    assert result.exit_code == 2
    assert "--rows: no axis 'momentun'" in result.stderr and "did you mean 'momentum'" in result.stderr


def test_the_runs_table_lists_every_run(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--runs")
    assert result.exit_code == 0
    # lr < (2 + 2μ)/6 for every cell but (0.4, 0): the theory says 7 converge and 1 diverges.
    assert "7 converged, 1 diverged" in result.stdout


# ---- config errors -----------------------------------------------------------------------

BASE = """objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 10
"""


@pytest.mark.parametrize(
    ("sweep", "where", "message"),
    [
        ("sweep:\n  momentun: [0.5]", "cfg.yaml:5:3, key 'sweep.momentun'", "did you mean 'momentum'?"),
        ("sweep:\n  steps: [10, 20]", "cfg.yaml:5:3, key 'sweep.steps'", "cannot sweep 'steps'"),
        ("sweep:\n  lr: [0.1, -0.2]", "key 'sweep.lr[1]'", "a learning rate must be a number > 0, got -0.2"),
        (
            "sweep:\n  momentum: [0, fast]",
            "key 'sweep.momentum[1]'",
            "option 'momentum': expected a number, got 'fast'",
        ),
        (
            "sweep:\n  optimizer: [sgd, adamm]",
            "key 'sweep.optimizer[1]'",
            "unknown optimizer 'adamm' (did you mean 'adam'?",
        ),
        ("sweep:\n  start: [[1.0], [1.0, 2.0]]", "key 'sweep.start[1]'", "a start point is a list of 1 finite numbers"),
        ("sweep:\n  start: [{x: 1.0}, {y: 2.0}]", "key 'sweep.start[1].y'", "unknown variable 'y'"),
        ("sweep:\n  start: {random: 5}", "key 'sweep.start'", "random start points of a formula need a domain"),
        ("sweep:\n  lr: {from: 0, to: 1, num: 3, scale: log}", "key 'sweep.lr'", "a log scale needs from and to > 0"),
        ("sweep:\n  lr: {from: 0.1, to: 1, num: 0}", "key 'sweep.lr.num'", "expected a number >= 1"),
        ("sweep:\n  lr: [0.1, 0.1]", "key 'sweep.lr[1]'", "value 0.1 appears twice"),
        ("sweep:\n  momentum: [0.0, 0.9]\n  nesterov: true", "cfg.yaml", "Nesterov momentum requires a momentum"),
        ("sweep:\n  schedule.gamma: [0.5]", "key 'sweep.schedule.gamma'", "the config has no optimizer.schedule"),
        ("sweep:\n  lr: [0.1]\n  optimizer.lr: [0.2]", "key 'sweep.optimizer.lr'", "sweeps the same thing as 'lr'"),
        ("", "cfg.yaml", "nothing to sweep"),
    ],
)
def test_bad_sweeps_are_config_errors_that_say_where(sweep, where, message):
    with pytest.raises(ConfigError) as info:
        sweep_of(BASE + sweep)
    text = str(info.value)
    assert where in text and message in text, text


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("lr", "--sweep: expected key=values, got 'lr'"),
        ("lr=0:1:3:log", "a log scale needs from and to > 0"),
        ("momentun=0.1,0.2", "did you mean 'momentum'"),
        ("lr=[0.1", "invalid YAML"),
    ],
)
def test_bad_sweep_flags_exit_3_with_one_line(cli, write_config, flag, message):
    result = cli("sweep", write_config(BASE), "--sweep", flag)
    assert result.exit_code == 3
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_sweep_flags_read_lists_ranges_and_yaml():
    assert sweep_flag("lr=0.1,0.2") == ("lr", [0.1, 0.2])
    assert sweep_flag("lr=1e-3:1:4:log") == ("lr", {"from": 1e-3, "to": 1.0, "num": 4, "scale": "log"})
    assert sweep_flag("start={random: 3, domain: [-1, 1]}") == ("start", {"random": 3, "domain": [-1, 1]})
    sweep = sweep_of(BASE, flags=["lr=1e-3:1:4:log", "momentum=[0, 0.9]"])
    assert [a.label for a in sweep.axes] == ["lr", "momentum"]
    assert sweep.axes[0].values == pytest.approx((1e-3, 1e-2, 1e-1, 1.0), rel=1e-12)
    # a flag replaces the file's axis in its place; `key=` drops it
    text = BASE + "sweep:\n  lr: [0.1, 0.2]\n  momentum: [0.0, 0.5]"
    assert [a.label for a in sweep_of(text, flags=["lr=0.3"]).axes] == ["lr", "momentum"]
    assert [a.label for a in sweep_of(text, flags=["momentum="]).axes] == ["lr"]
    with pytest.raises(ConfigError, match="no such axis to drop"):
        sweep_of(text, flags=["nesterov="])


def test_a_missing_config_exits_3(cli, tmp_path):
    result = cli("sweep", tmp_path / "nope.yaml")
    assert result.exit_code == 3 and "no such file" in result.stderr


def test_the_cuda_benchmark_builds_the_same_batch_as_gdplay_sweep():
    """benchmarks/cuda_sweep.py falls back to building the batch by hand where pydantic is missing
    (GPU images); the numbers it reports must be for the very sweep `gdplay sweep` runs."""
    import importlib.util

    from tests.conftest import ROOT

    spec_file = importlib.util.spec_from_file_location("cuda_sweep", ROOT / "benchmarks" / "cuda_sweep.py")
    module = importlib.util.module_from_spec(spec_file)
    spec_file.loader.exec_module(module)
    a = module.via_config(5, 4, 30, "cpu", "float64")
    b = module.direct(5, 4, 30, "cpu", "float64")
    assert torch.equal(a.starts, b.starts) and torch.equal(a.lrs, b.lrs) and (a.steps, a.record) == (b.steps, b.record)
    options_a = [dict(a.settings[int(w)].options) for w in a.which]
    options_b = [dict(b.settings[int(w)].options) for w in b.which]
    assert options_a == options_b
    from gdplay.engine.runner import run_batch

    assert torch.equal(run_batch(a).final_x, run_batch(b).final_x)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_sweep_on_cuda_matches_the_same_sweep_on_the_cpu():
    text = config(
        OBJECTIVES["rosenbrock"][0], "{name: sgd, lr: 0.001}", "  lr: [0.0002, 0.001]\n  momentum: [0.0, 0.9]"
    )
    cpu = run_sweep(sweep_of(text))
    gpu = run_sweep(sweep_of(text.replace("dtype: float64", "dtype: float64\ndevice: cuda")))
    assert gpu.device == "cuda" and gpu.final_x.device.type == "cpu"
    assert torch.allclose(gpu.final_x, cpu.final_x, rtol=1e-9, atol=1e-12)
    assert gpu.status == cpu.status


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given when CUDA is missing")
def test_asking_for_cuda_without_it_exits_3(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--device", "cuda")
    assert result.exit_code == 3
    assert "CUDA is not available" in result.stderr


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.text(max_size=40))
def test_property_no_sweep_flag_crashes_the_parser(text):
    """Any --sweep text is an axis or a ConfigError, never another exception."""
    try:
        key, _ = sweep_flag(text)
        sweep_of(BASE, flags=[text])
    except ConfigError:
        return
    assert isinstance(key, str)


@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")))), max_size=40))
def test_property_cell_medians_are_statistics_median(pairs):
    import statistics

    from gdplay.sweeps.grid import _group_median

    groups = torch.tensor([g for g, _ in pairs], dtype=torch.int64)
    values = torch.tensor([v for _, v in pairs], dtype=torch.float64)
    got = _group_median(groups, values, 5).tolist()
    for g in range(5):
        mine = [v for h, v in pairs if h == g and not math.isnan(v)]
        if mine:
            assert got[g] == statistics.median(mine)
        else:
            assert math.isnan(got[g])


def test_naming_only_the_columns_picks_other_rows(cli, write_config):
    result = cli("sweep", write_config(QUADRATIC), "--cols", "lr", "--json")
    assert result.exit_code == 0, result.output
    grid = json.loads(result.stdout)["sweeps"][0]["grid"]
    assert (grid["rows"], grid["cols"]) == ("momentum", "lr")
