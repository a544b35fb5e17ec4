"""The public Python API: the same numbers as the CLI, no torch on import, no state left changed,
the CLI's errors, and results that show themselves."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gdplay

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHIPPED = sorted(p for p in CONFIGS.rglob("*.yaml"))
QUADRATIC = {
    "objective": {"expr": "3*x**2 + 2*x - 1", "init": {"x": 2.0}},
    "optimizer": {"name": "manual_sgd", "lr": 0.3},
    "steps": 100,
}


def without_timing(record):
    """A run record minus what may differ between two runs of the same numbers (wall time)."""
    return {k: v for k, v in record.items() if k != "wall_time_s"}


def test_import_gdplay_does_not_import_torch_until_a_run():
    code = (
        "import gdplay, sys; print('torch' in sys.modules); "
        "gdplay.run('configs/quadratic.yaml'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"], out.stderr


@pytest.fixture(scope="module")
def cli_records():
    """Every shipped config's runs from one `gdplay run ... --json` in a process of its own (the
    installed command line, as a user or CI calls it), split per config in file order."""
    out = subprocess.run(
        [sys.executable, "-m", "gdplay", "run", *map(str, SHIPPED), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert out.returncode in (0, 1, 4), out.stderr
    runs = json.loads(out.stdout)["runs"]
    split, start = {}, 0
    for path in SHIPPED:
        n = len(gdplay.load(path).runs)
        split[path] = runs[start : start + n]
        start += n
    assert start == len(runs)
    return split


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_the_api_reproduces_the_cli_bit_for_bit(cli_records, path):
    by_cli = cli_records[path]
    by_api = gdplay.run(path).to_dict()["runs"]
    # every float of every step, every bit (JSON keeps a float64's repr exactly)
    assert [without_timing(r) for r in by_api] == [without_timing(r) for r in by_cli]


def test_the_api_exit_code_is_the_clis(cli):
    for path in (CONFIGS / "quadratic.yaml", CONFIGS / "lessons" / "07_large_learning_rate.yaml"):
        assert gdplay.run(path).exit_code == cli("run", path).exit_code


def test_a_path_yaml_text_a_dict_and_a_loaded_config_give_the_same_run(tmp_path):
    import yaml

    text = yaml.safe_dump(QUADRATIC)
    path = tmp_path / "quadratic.yaml"
    path.write_text(text, encoding="utf-8")
    records = [
        without_timing(gdplay.run(source)[0].to_dict(config=False))
        for source in (path, str(path), text, QUADRATIC, gdplay.load(path))
    ]
    # names differ by source (the file's stem, '<string>', '<config>'); the numbers may not
    finals = [r["final"] for r in records]
    assert all(f == finals[0] for f in finals)
    assert finals[0]["point"]["x"] == pytest.approx(-1 / 3, abs=1e-6)  # f'(x) = 6x + 2 = 0


def test_keyword_overrides_are_the_clis_set(cli):
    path = CONFIGS / "quadratic.yaml"
    by_cli = json.loads(cli("run", path, "--set", "optimizer.lr=0.1", "--steps", "7", "--json").stdout)["runs"][0]
    by_api = gdplay.run(path, steps=7, optimizer__lr=0.1)[0]
    assert without_timing(by_api.to_dict()) == without_timing(by_cli)
    # x_k = −1/3 + (7/3)·(1 − 6·lr)^k for the manual update at lr = 0.1
    assert by_api.final.point["x"] == pytest.approx(-1 / 3 + (7 / 3) * 0.4**7, rel=1e-6)
    loaded = gdplay.load(path)
    again = gdplay.run(loaded, steps=7, optimizer__lr=0.1)[0]
    assert again.final == by_api.final  # overrides on a loaded config re-validate it
    assert loaded.runs[0].config.steps == 100  # and leave it as it was (frozen)


def test_the_result_model():
    (run,) = gdplay.run(QUADRATIC, dtype="float64", tol=1e-10, steps=500)
    assert run.status == gdplay.Status.CONVERGED and run.status == "converged"
    assert isinstance(run.status, gdplay.Status)
    # |x_k + 1/3| = (7/3)·0.8^k: below 1e-10/6 in |∇f| = 6|x + 1/3| after k ≥ 120 steps
    assert run.final.point["x"] == pytest.approx(-1 / 3, abs=1e-10)
    assert run.final.gap is None and run.final.distance is None  # a formula has no known f*
    records = list(run.history)
    assert len(records) == run.steps + 1 == len(run.history.values)
    assert records[0] == {"step": 0, "point": {"x": 2.0}, "value": 15.0, "grad_norm": 14.0, "lr": 0.3}
    assert records[-1]["lr"] is None and records[-1]["point"] == run.final.point
    assert run.history[1]["point"]["x"] == pytest.approx(2.0 - 0.3 * 14.0)
    made = run.provenance
    assert made["torch"] == torch.__version__ and made["gdplay"] == gdplay.__version__
    assert made["dtype"] == "float64" and made["seed"] == 0 and made["device"] == "cpu"


def test_a_builtin_knows_its_gap_and_distance():
    run = gdplay.run(CONFIGS / "regression" / "rosenbrock.yaml", steps=50)[0]
    # f* = 0 and x* = (1, 1) for Rosenbrock (a = 1)
    assert run.final.gap == run.final.value
    x = run.final_point
    assert run.final.distance == pytest.approx(((x[0] - 1) ** 2 + (x[1] - 1) ** 2) ** 0.5, rel=1e-12)


STATE_CALLS = {
    "run": lambda: gdplay.run(CONFIGS / "quadratic_momentum.yaml"),
    "run_float64": lambda: gdplay.run(QUADRATIC, dtype="float64"),
    "sweep": lambda: gdplay.sweep(CONFIGS / "sweep_quadratic.yaml"),
    "grad": lambda: gdplay.grad(CONFIGS / "notebook_g.yaml"),
    "hessian": lambda: gdplay.hessian(CONFIGS / "notebook_g.yaml"),
    "explain": lambda: gdplay.explain(CONFIGS / "ill_conditioned_momentum.yaml"),
    "check": lambda: gdplay.check(CONFIGS / "regression" / "quadratic.yaml"),
    "random_starts": lambda: gdplay.sweep(QUADRATIC, axes={"start": {"random": 5, "domain": [-2, 2]}}),
    # a callable is probed before the run (outside it): that must keep the state too
    "callable_drawing_noise": lambda: gdplay.run(
        {**QUADRATIC, "objective": {"python": lambda x: (x**2).sum() + 0.0 * torch.rand(()), "init": [1.0]}}
    ),
}


@pytest.mark.parametrize("call", STATE_CALLS, ids=str)
def test_no_process_wide_state_is_left_changed(call):
    threads, dtype, grad = torch.get_num_threads(), torch.get_default_dtype(), torch.is_grad_enabled()
    # an unusual state, as a notebook might have it: every piece must come back as it was
    torch.set_num_threads(max(1, threads - 1) if threads > 1 else 2)
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(12345)
    try:
        before = (torch.get_num_threads(), torch.random.get_rng_state().clone())
        STATE_CALLS[call]()
        assert torch.get_num_threads() == before[0]
        assert torch.equal(torch.random.get_rng_state(), before[1])
        assert torch.get_default_dtype() == torch.float64
        assert torch.is_grad_enabled() is False
        assert torch.are_deterministic_algorithms_enabled() is True
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.use_deterministic_algorithms(False)


def test_a_run_inside_inference_mode_is_the_same_run():
    expected = gdplay.run(QUADRATIC)[0].final
    with torch.inference_mode():
        got = gdplay.run(QUADRATIC)[0].final
        assert torch.is_inference_mode_enabled()
    assert got == expected


def test_state_is_restored_after_an_error_too():
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state().clone()

    def boom(x):
        if x.requires_grad and x.shape[0] > 0:
            raise ZeroDivisionError("no")
        return x.sum()

    with pytest.raises(gdplay.ConfigError, match="raised ZeroDivisionError"):
        gdplay.run({**QUADRATIC, "objective": {"python": boom, "init": [1.0]}})
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)


def test_a_runs_numbers_do_not_depend_on_the_callers_rng():
    torch.manual_seed(1)
    a = gdplay.sweep(QUADRATIC, axes={"start": {"random": 4, "domain": [-2, 2]}})[0]
    torch.manual_seed(2)
    b = gdplay.sweep(QUADRATIC, axes={"start": {"random": 4, "domain": [-2, 2]}})[0]
    assert torch.equal(a.final_x, b.final_x)  # the config's seed, on a generator of its own


def test_errors_are_the_clis_errors(cli, tmp_path):
    text = "objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nstepz: 10\n"
    path = tmp_path / "typo.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(gdplay.ConfigError) as caught:
        gdplay.run(path)
    by_cli = cli("run", path)
    assert by_cli.exit_code == 3
    assert str(caught.value) in by_cli.stderr
    assert "typo.yaml:3:1" in str(caught.value) and "did you mean 'steps'?" in str(caught.value)
    with pytest.raises(gdplay.ConfigError, match=r"key 'optimizer\.momentun'.*did you mean 'momentum'"):
        gdplay.run(QUADRATIC, optimizer__momentun=0.9)
    with pytest.raises(gdplay.UsageError, match="not int"):
        gdplay.run(42)
    with pytest.raises(gdplay.ConfigError, match="needs --allow-python"):
        gdplay.run({**QUADRATIC, "objective": {"python": "f.py:f", "init": [1.0]}})


def test_runs_render_as_the_cli_prints_them(cli):
    from rich.console import Console

    path = CONFIGS / "quadratic.yaml"
    console = Console(file=io.StringIO(), width=120, color_system=None, highlight=False, soft_wrap=False)
    console.print(gdplay.run(path))
    shown = console.file.getvalue()
    printed = cli("run", path).stdout

    def steady(text):
        return [line.rstrip() for line in text.splitlines() if "wall time" not in line]

    assert steady(shown) == steady(printed)


def test_runs_show_themselves_in_jupyter():
    runs = gdplay.run([CONFIGS / "quadratic.yaml", CONFIGS / "quadratic_momentum.yaml"])
    html = runs._repr_html_()
    assert html.lstrip().startswith("<") and "<script" not in html
    assert "quadratic_momentum" in html and "-0.33333334" in html  # the final x of both runs
    assert repr(runs) == "Runs(['quadratic', 'quadratic_momentum'])"


def test_plot_returns_a_figure_and_writes_nothing(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    monkeypatch.chdir(tmp_path)
    runs = gdplay.run(CONFIGS / "himmelblau_four_minima.yaml")
    figure = runs.plot()
    assert isinstance(figure, Figure) and len(figure.axes) >= 2  # landscape and loss
    assert list(tmp_path.iterdir()) == []
    heatmap = gdplay.sweep(CONFIGS / "sweep_quadratic.yaml").plot()
    assert isinstance(heatmap, Figure)


def test_plot_displays_inline_in_ipython_and_keeps_the_users_formats():
    pytest.importorskip("matplotlib")
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    from IPython.core.pylabtools import select_figure_formats

    shell = interactive.InteractiveShell.instance()
    try:
        figure = gdplay.run(CONFIGS / "quadratic.yaml").plot()
        assert "image/png" in shell.display_formatter.format(figure)[0]  # no %matplotlib inline needed
        select_figure_formats(shell, {"svg"})  # the user's choice
        figure = gdplay.run(CONFIGS / "quadratic.yaml").plot()
        shown = shell.display_formatter.format(figure)[0]
        assert "image/svg+xml" in shown and "image/png" not in shown
    finally:
        interactive.InteractiveShell.clear_instance()


def test_to_pandas():
    pandas = pytest.importorskip("pandas")
    runs = gdplay.run([CONFIGS / "quadratic.yaml", CONFIGS / "quadratic_momentum.yaml"])
    frame = runs.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["name"]) == ["quadratic", "quadratic_momentum"]
    assert list(frame["point.x"]) == [r.final_point[0] for r in runs]
    assert list(frame["value"]) == [r.final_value for r in runs]
    assert list(frame["status"]) == [str(r.status) for r in runs]
    steps = runs.to_pandas(history=True)
    assert len(steps) == sum(len(r.history) for r in runs)
    first = steps[steps["name"] == "quadratic"].iloc[0]
    assert (first["step"], first["point.x"], first["value"]) == (0, 2.0, 15.0)  # f(2) = 12 + 4 − 1
    # a variable named like a column keeps both: the column and its coordinate
    clash = gdplay.run({**QUADRATIC, "objective": {"expr": "(value - 1)**2", "init": {"value": 3.0}}}, steps=1)
    row = clash.to_pandas(history=True).iloc[0]
    assert (row["value"], row["point.value"]) == (4.0, 3.0)
    swept = gdplay.sweep(QUADRATIC, axes={"start": [[1.0], [2.0]], "lr": [0.1]}).to_pandas()
    assert list(swept["start.x"]) == [1.0, 2.0] and len(swept) == 2
    sweep_result = gdplay.sweep(QUADRATIC, axes={"start": [[1.0], [2.0]], "lr": [0.1]})[0]
    assert list(swept["point.x"]) == sweep_result.final_x[:, 0].tolist()


def test_the_other_calls_give_the_clis_documents(cli):
    for name, args, call in [
        ("grad", ["--at", "x=1"], lambda p: gdplay.grad(p, at={"x": 1.0})),
        ("hessian", [], lambda p: gdplay.hessian(p)),
        ("explain", [], lambda p: gdplay.explain(p)),
    ]:
        path = CONFIGS / "quadratic.yaml"
        by_cli = json.loads(cli(name, path, *args, "--json").stdout)["runs"]
        by_api = call(path).to_dict()["runs"]
        assert [without_timing(r) for r in by_api] == [without_timing(r) for r in by_cli], name
    (g,) = gdplay.grad(CONFIGS / "quadratic.yaml", at={"x": 1.0})
    assert g.check.autograd == [8.0]  # f'(1) = 6·1 + 2
    (h,) = gdplay.hessian(CONFIGS / "notebook_g.yaml")
    assert h.report.matrix == [[0.0, 6.0], [6.0, 14.0]]  # ∂²g: 0, 2x2, 2(x1 + 5) at (2, 3)


def test_check_reports_cases():
    report = gdplay.check(
        [CONFIGS / "regression" / "quadratic.yaml", CONFIGS / "regression" / "quadratic_diverges.yaml"]
    )
    assert report.passed and report.summary["passed"] == len(report) >= 2
    assert all(case.result.final.point for case in report)
    document = report.to_dict()
    assert document["schema_version"] == 2 and document["command"] == "check"


def test_a_result_prints_short_in_a_notebook():
    (run,) = gdplay.run(CONFIGS / "quadratic.yaml", steps=1000)
    assert repr(run).startswith("RunResult(name='quadratic', status='max_steps', steps=1000")
    assert len(repr(run)) < 200 and repr(run.history) == "History(1001 records, steps 0..1000)"


def test_one_run_shows_its_summary_in_jupyter():
    (run,) = gdplay.run(CONFIGS / "regression" / "quadratic.yaml")
    html = run._repr_html_()
    assert html.startswith("<table>") and "<script" not in html
    # the numbers shown are the run's own, at the table's 8 significant digits
    assert f"x={run.final_point[0]:.8g}" in html and f"{run.final_value:.8g}" in html
    assert str(run.status) in html and run.reason in html
    weird = gdplay.run({**QUADRATIC, "name": "<b>&"}, steps=1)[0]._repr_html_()
    assert "&lt;b&gt;&amp;" in weird  # names are escaped, not markup
