"""Run a Problem: seed, place the start on its device, run the engine, collect a RunResult.

The seed goes into torch's global generator (so any randomness a Python objective draws is
reproducible); callers wrap runs in gdplay.engine.state.kept_state, which restores it.
"""

from __future__ import annotations

import platform
from typing import Any

import torch

from gdplay.engine.problem import Problem
from gdplay.engine.runner import (
    CAUSES,
    CONVERGED,
    DIVERGED,
    INTERRUPTED,
    STATUS_NAMES,
    BatchSpec,
    BatchTrace,
    Progress,
    run_batch,
)
from gdplay.results.model import History, RunResult, Status

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def run_problem(problem: Problem, progress: Progress | None = None, record: bool = True) -> RunResult:
    """One run, as a batch of one on the engine every sweep uses."""
    seed_generators(problem.config.seed, torch.device(problem.device))
    trace = run_batch(seeded_copies(problem, 1, record=record), progress)
    return result_from_trace(problem, trace, 0)


CONFIG_TOL: Any = object()  # seeded_copies' default: the config's own `tol:`


def seeded_copies(
    problem: Problem, runs: int, *, lr: float | None = None, tol: Any = CONFIG_TOL, record: bool = True
) -> BatchSpec:
    """`runs` copies of the problem's run as one batch: copy k has the noise stream of `seed: seed + k`
    (k = 0 is the run itself), so copy k equals the run with that seed, bit for bit. `lr` and `tol`
    replace the config's where given (tol=None: run every step, as a floor measurement must)."""
    cfg = problem.config
    dtype = DTYPES[problem.dtype]
    sigma = cfg.noise.sigma if cfg.noise is not None else 0.0
    return BatchSpec(
        objective=problem.objective,
        optimizer=problem.optimizer,
        options=problem.options,
        starts=torch.tensor([list(problem.start)] * runs, dtype=dtype, device=problem.device),
        lrs=torch.full((runs,), cfg.optimizer.lr if lr is None else lr, dtype=torch.float64),
        steps=cfg.steps,
        tol=cfg.tol if tol is CONFIG_TOL else tol,
        blowup=cfg.blowup,
        record=record,
        schedule=problem.schedule,
        engine=cfg.engine or "eager",  # the default: compiling is asked for (see docs/benchmarks.md)
        noise=noise_spec(
            problem, torch.arange(runs, dtype=torch.int64), torch.full((runs,), sigma, dtype=torch.float64)
        ),
    )


def noise_spec(problem: Problem, offsets: Any, sigmas: Any) -> Any:
    """The engine's NoiseSpec for rows with seeds `seed + offset` and these noise scales (None:
    exact gradients). Offsets, not seeds, travel in int64 tensors: a seed may be up to 2⁶⁴ − 1."""
    from gdplay.engine.noise import NoiseSpec, keys_tensor, run_key

    cfg = problem.config
    sigma = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
    if problem.minibatch is None and not bool((sigma > 0).any()):
        return None
    offset_list = torch.as_tensor(offsets, dtype=torch.int64).reshape(-1).tolist()
    cache: dict[int, tuple[int, int]] = {}
    pairs = [cache.setdefault(o, run_key(cfg.seed + o, problem.stream)) for o in offset_list]
    kind = cfg.noise.kind if cfg.noise is not None else "gaussian"
    return NoiseSpec(keys=keys_tensor(pairs), sigma=sigma, kind=kind, minibatch=problem.minibatch)


def seed_generators(seed: int, device: torch.device) -> None:
    """Seed the CPU generator and, for a CUDA run, that device's: the same as torch.manual_seed for
    the run, without queueing a seed for every CUDA device (torch.manual_seed does, and that
    would outlive kept_state on a machine where CUDA was not initialised yet)."""
    torch.random.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):  # initialised by now: the start is on it
            torch.cuda.manual_seed(seed)


def result_from_trace(problem: Problem, trace: BatchTrace, row: int) -> RunResult:
    """The RunResult of one row of a batch trace."""
    cfg = problem.config
    lr = cfg.optimizer.lr
    status_code = int(trace.status[row])
    stop = int(trace.stop[row])
    status = Status(STATUS_NAMES[status_code])
    history = None
    if trace.history_x is not None and trace.history_f is not None and trace.history_g is not None:
        n = stop + 1
        history = History(
            steps=list(range(n)),
            points=trace.history_x[:n, row].tolist(),
            values=trace.history_f[:n, row].tolist(),
            grad_norms=trace.history_g[:n, row].tolist(),
            lrs=trace.row_lrs(row),
            layout=problem.objective.layout,
        )
    final_value = float(trace.final_f[row])
    grad_norm = float(trace.final_g[row])
    reason = reason_for(status_code, int(trace.cause[row]), stop, cfg.steps, cfg.tol, grad_norm)
    evaluations, stalled_at = stop, None
    if trace.evaluations is not None and trace.stalled_at is not None:
        if int(trace.evaluations[row]) >= 0:
            evaluations = int(trace.evaluations[row])
        if 0 <= int(trace.stalled_at[row]) <= stop and status_code != CONVERGED:
            stalled_at = int(trace.stalled_at[row])
            reason += (
                f"; STALLED from step {stalled_at}: each L-BFGS step since left x unchanged with |∇f| = "
                f"{grad_norm:.3g} (its inner loop stops once f or x changes by less than tolerance_change, "
                "1e-9 by default; lower it in optimizer options)"
            )
    return RunResult(
        name=problem.name,
        status=status,
        reason=reason,
        steps=stop,
        final_point=trace.final_x[row].tolist(),
        final_value=final_value,
        final_grad_norm=grad_norm,
        layout=problem.objective.layout,
        history=history,
        optimizer=problem.optimizer.name,
        lr=lr,
        options=dict(problem.options),
        device=problem.device,
        dtype=problem.dtype,
        seed=cfg.seed,
        wall_time_s=trace.wall_time_s,
        torch_version=torch.__version__,
        objective_formula=problem.objective.formula,
        minimizers=problem.objective.minimizers,
        f_min=problem.objective.f_min,
        config=plain_config(cfg),
        diverged_at=stop if status_code == DIVERGED else None,
        python_version=platform.python_version(),
        threads=trace.threads,
        deterministic=torch.are_deterministic_algorithms_enabled(),
        evaluations=evaluations,
        stalled_at=stalled_at,
    )


def reason_for(status: int, cause: int, stop: int, steps: int, tol: float | None, gnorm: float) -> str:
    """The one sentence a result gives for how it ended (runs and sweep rows alike)."""
    if status == DIVERGED:
        return f"diverged at step {stop}: {CAUSES.get(cause, 'blow-up')}"
    if status == CONVERGED:
        return f"gradient norm {gnorm:.3g} < tol {tol:g} after {stop} steps"
    if status == INTERRUPTED:
        return f"interrupted after {stop} of {steps} steps"
    return f"ran all {steps} steps"


def plain_config(cfg: Any) -> dict[str, Any]:
    """A run config as plain data, unset keys left out (what a result records of its config)."""
    return _plain(cfg.model_dump(by_alias=True, warnings=False))  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if callable(value):  # objective.python given as a callable (the API): its label, as the formula shows it
        from gdplay.problems.python_objective import python_target

        return python_target(value)
    return value
