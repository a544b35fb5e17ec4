"""Learning-rate schedules: gdplay's runs and sweeps against torch's schedulers used by hand."""

from __future__ import annotations

import json

import pytest
import torch

from gdplay.config.model import load_config_text
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_problem
from gdplay.errors import ConfigError
from gdplay.optim.schedule import REJECTED, check_schedule, scheduler_classes, supported_schedules
from gdplay.sweeps.grid import build_sweep, run_sweep

# Options for every scheduler a config may name: a new torch class fails the next test until it has some.
OPTIONS = {
    "StepLR": {"step_size": 7, "gamma": 0.5},
    "MultiStepLR": {"milestones": [5, 20], "gamma": 0.3},
    "ConstantLR": {"factor": 0.5, "total_iters": 10},
    "LinearLR": {"start_factor": 0.2, "total_iters": 15},
    "ExponentialLR": {"gamma": 0.97},
    "CosineAnnealingLR": {"T_max": 30, "eta_min": 0.001},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "cycle_momentum": False},
    "CosineAnnealingWarmRestarts": {"T_0": 10, "T_mult": 2, "eta_min": 0.002},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 60, "cycle_momentum": False},
    "PolynomialLR": {"total_iters": 20, "power": 2.0},
}
STEPS = 50


def test_every_supported_scheduler_is_under_test():
    assert set(supported_schedules()) == set(OPTIONS)
    assert set(REJECTED) <= set(scheduler_classes())  # the refusals name real classes


def f(x):
    """2x² + xy + 3y² − x, written out."""
    return 2.0 * x[0] ** 2 + x[0] * x[1] + 3.0 * x[1] ** 2 - x[0]


def by_hand(name, options, lr, steps=STEPS, momentum=0.9, start=(1.0, -1.0)):
    """torch.optim.SGD and the scheduler, stepped as the torch docs say: optimizer, then scheduler."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr, momentum=momentum)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **options)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        f(x).backward()
        opt.step()
        sched.step()
    return x.detach(), lrs


def config(schedule: str, extra: str = "") -> str:
    return f"""
objective: {{expr: "2*x**2 + x*y + 3*y**2 - x", init: {{x: 1.0, y: -1.0}}}}
optimizer: {{name: sgd, lr: 0.05, momentum: 0.9, schedule: {schedule}}}
steps: {STEPS}
dtype: float64
{extra}
"""


def flow(options):
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in options.items()) + "}"


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_a_scheduled_run_equals_the_scheduler_used_by_hand(name):
    options = OPTIONS[name]
    run = load_config_text(config(flow({"name": name, **options}))).runs[0]
    result = run_problem(build_problem(run))
    x, lrs = by_hand(name, options, 0.05)
    assert result.history is not None
    assert result.history.lrs == lrs  # the very numbers the scheduler set, step by step
    assert torch.equal(torch.tensor(result.final_point, dtype=torch.float64), x)


@pytest.mark.parametrize(
    "name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "LinearLR", "CosineAnnealingWarmRestarts"]
)
def test_a_scheduled_sweep_over_lr_and_momentum_equals_each_run_by_hand(name):
    options = OPTIONS[name]
    sweep = "sweep: {lr: [0.01, 0.03, 0.05], momentum: [0.0, 0.5, 0.9]}"
    run = load_config_text(config(flow({"name": name, **options}), sweep)).runs[0]
    result = run_sweep(build_sweep(build_problem(run), run))
    assert result.size == 9
    for b in range(result.size):
        settings = result.settings_of(b)
        x, _ = by_hand(name, options, settings["lr"], momentum=settings["momentum"])
        assert (result.final_x[b] - x).abs().max().item() <= 1e-10, (b, settings)


def test_a_sweep_over_a_schedule_option():
    run = load_config_text(
        config(flow({"name": "StepLR", "step_size": 5, "gamma": 0.5}), "sweep: {schedule.gamma: [0.1, 0.5, 0.9]}")
    ).runs[0]
    result = run_sweep(build_sweep(build_problem(run), run))
    for b, gamma in enumerate([0.1, 0.5, 0.9]):
        x, _ = by_hand("StepLR", {"step_size": 5, "gamma": gamma}, 0.05)
        assert (result.final_x[b] - x).abs().max().item() <= 1e-10
    assert result.schedules == [
        "StepLR(step_size=5, gamma=0.1)",
        "StepLR(step_size=5, gamma=0.5)",
        "StepLR(step_size=5, gamma=0.9)",
    ]


def test_the_history_lr_column_follows_the_schedule_in_json(cli, write_config):
    path = write_config(config(flow({"name": "MultiStepLR", "milestones": [2, 4], "gamma": 0.1})))
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)["runs"][0]["history"]
    lrs = [row.get("lr") for row in history[:6]]
    assert lrs == pytest.approx([0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005], rel=1e-12)
    assert history[-1]["lr"] is None  # the last record is the end point: no update follows it


# ---- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("{name: LambdaLR}", "LambdaLR cannot be used: it takes a Python function"),
        ("{name: ReduceLROnPlateau}", "needs the loss at every step"),
        ("{name: SequentialLR}", "takes other schedulers"),
        ("{name: ChainedScheduler}", "takes other schedulers"),
        ("{name: StepRL, step_size: 3}", "unknown schedule 'StepRL' (did you mean 'StepLR'?"),
        ("{name: StepLR, step_sise: 3}", "StepLR has no option 'step_sise' (did you mean 'step_size'?"),
        ("{name: StepLR}", "StepLR needs step_size"),
        ("{name: StepLR, step_size: 2.5}", "option 'step_size': expected a whole number, got 2.5"),
        ("{name: StepLR, step_size: 3, gamma: fast}", "option 'gamma': expected a number, got 'fast'"),
        ("{name: MultiStepLR, milestones: 3}", "option 'milestones': expected a list of whole numbers"),
        ("{name: CyclicLR, base_lr: 0.01, max_lr: 0.1}", "set cycle_momentum: false"),
        ("{name: CyclicLR, base_lr: 0.01, max_lr: 0.1, cycle_momentum: false, mode: triangle}", "did you mean"),
        ("{name: StepLR, step_size: 3, last_epoch: 5}", "'last_epoch' is set by gdplay"),
        (
            "{name: OneCycleLR, max_lr: 0.1, total_steps: 10, cycle_momentum: false}",
            "schedule OneCycleLR: Tried to step",
        ),
    ],
)
def test_bad_schedules_are_config_errors_at_their_key(schedule, message):
    run = load_config_text(config(schedule), "cfg.yaml").runs[0]
    with pytest.raises(ConfigError) as info:
        build_problem(run)
    text = str(info.value)
    assert message in text
    assert text.startswith("cfg.yaml:3:")  # the optimizer line of the file
    assert "key 'optimizer.schedule" in text


def test_a_bad_schedule_exits_3_with_one_line(cli, write_config):
    result = cli("run", write_config(config("{name: LambdaLR}")))
    assert result.exit_code == 3
    assert "LambdaLR" in result.stderr and "Traceback" not in result.output


def test_schedule_names_are_case_insensitive():
    assert check_schedule({"name": "steplr", "step_size": 3}).name == "StepLR"


def test_manual_sgd_follows_a_schedule_too():
    text = """
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: 0.3, schedule: {name: ExponentialLR, gamma: 0.9}}
steps: 20
dtype: float64
"""
    result = run_problem(build_problem(load_config_text(text).runs[0]))
    x, lr = 2.0, 0.3
    for _ in range(20):  # the notebook's update with the lr decayed by hand: lr_t = 0.3·0.9^t
        x -= lr * (6 * x + 2)
        lr *= 0.9
    assert result.final_point[0] == pytest.approx(x, rel=1e-12)
