"""The `make bench` Rosenbrock lr × momentum sweep at 1,000,000 runs on a CUDA device.

    PYTHONPATH=. python benchmarks/cuda_sweep.py            # 1000 lrs × 1000 momenta × 1,000 steps
    PYTHONPATH=. python benchmarks/cuda_sweep.py --runs 65536 --steps 200 --device cpu   # a smoke run

Prints the wall time of gdplay's batch (the same engine `gdplay sweep` runs) and of a
hand-written vectorized torch loop doing the same arithmetic on the same device, and checks
that the two end at the same points. Exits 1 with a one-line reason when CUDA is absent.

The sweep is built from a config exactly as `gdplay sweep` builds it when pydantic (gdplay's
config validator) is installed; GPU images often lack it, and then the same batch (runs,
settings, lrs, starts, in the same order) is handed to the engine directly. Both ways run
gdplay.engine.runner.run_batch, the part that is timed; the line `path:` says which was used.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """f(x, y) = 100 (y − x²)² + (1 − x)², written out for [B, 2] points."""
    head, tail = x[..., :-1], x[..., 1:]
    return (100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2).sum(dim=-1)


def axes(n_lr: int, n_mu: int) -> tuple[list[float], list[float]]:
    """The grid's values, as `{from, to, num, scale}` ranges give them (gdplay.config.model.RangeAxis)."""
    a, b = math.log(1e-5), math.log(1e-2)
    lrs = [float(f"{math.exp((a * (n_lr - 1 - i) + b * i) / (n_lr - 1)):.15g}") for i in range(n_lr)]
    mus = [float(f"{0.99 * i / (n_mu - 1):.15g}") for i in range(n_mu)]
    return lrs, mus


def via_config(n_lr: int, n_mu: int, steps: int, device: str, dtype: str):  # type: ignore[no-untyped-def]
    """The batch `gdplay sweep` would run for this config (needs pydantic)."""
    from gdplay.config.model import load_config_text
    from gdplay.engine.problem import build_problem
    from gdplay.sweeps.grid import batch_spec, build_sweep

    text = f"""
objective: {{name: rosenbrock}}
optimizer: {{name: sgd, lr: 0.001}}
steps: {steps}
device: {device}
dtype: {dtype}
sweep:
  lr: {{from: 1.0e-5, to: 1.0e-2, num: {n_lr}, scale: log}}
  momentum: {{from: 0.0, to: 0.99, num: {n_mu}}}
"""
    loaded = load_config_text(text, "cuda_sweep.yaml").runs[0]
    return batch_spec(build_sweep(build_problem(loaded), loaded))


def direct(n_lr: int, n_mu: int, steps: int, device: str, dtype: str):  # type: ignore[no-untyped-def]
    """The same batch built by hand: runs in grid order (lr slowest), one setting per momentum."""
    from gdplay.engine.runner import BatchSpec, Setting
    from gdplay.optim.factory import check_options, lookup
    from gdplay.problems.base import Layout, Objective
    from gdplay.problems.registry import load_builtins

    entry = load_builtins()["rosenbrock"]
    params = dict(entry.params)
    objective = Objective(
        name="rosenbrock",
        formula=entry.formula,
        layout=Layout.vector("x", 2),
        fn=lambda points: entry.fn(points, params),
        start=tuple(entry.start(2)),
        kind="builtin",
    )
    lrs, mus = axes(n_lr, n_mu)
    sgd = lookup("sgd")
    settings = tuple(Setting(sgd, check_options(sgd, {"momentum": mu})) for mu in mus)
    runs = n_lr * n_mu
    which = torch.arange(runs) % n_mu
    return BatchSpec(
        objective=objective,
        optimizer=None,
        options={},
        starts=torch.tensor([objective.start], dtype=getattr(torch, dtype), device=device).expand(runs, 2).contiguous(),
        lrs=torch.tensor(lrs, dtype=torch.float64).repeat_interleave(n_mu),
        steps=steps,
        record=False,
        settings=settings,
        which=which,
    )


def vectorized_loop(spec, mus: list[float], n_lr: int) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """The same arithmetic by hand: v ← μv + g (v₁ = g₁), x ← x − lr·v, for all runs at once."""
    dtype, device = spec.starts.dtype, spec.starts.device
    lr = spec.lrs.to(device=device, dtype=dtype).unsqueeze(1)
    mu = torch.tensor(mus, dtype=dtype, device=device).repeat(n_lr).unsqueeze(1)
    x = spec.starts.clone().requires_grad_(True)
    v = None
    for _ in range(spec.steps):
        rosenbrock(x).sum().backward()
        with torch.no_grad():
            g = x.grad
            v = g.clone() if v is None else v.mul_(mu).add_(g)
            x.sub_(lr * v)
        x.grad = None
    return x.detach()


def timed(fn):  # type: ignore[no-untyped-def]
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in all (a square grid, lr × momentum)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"cuda_sweep: CUDA is not available here (torch {torch.__version__}); nothing was run", file=sys.stderr)
        return 1
    from gdplay.engine.runner import run_batch

    n_lr = math.isqrt(args.runs)
    n_mu = args.runs // n_lr
    try:
        build, path = via_config, "config (as gdplay sweep builds it)"
        import pydantic  # noqa: F401
    except ImportError:
        build, path = direct, "engine (pydantic is not installed here; the same batch, built by hand)"
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"device: {name}; torch {torch.__version__}; {n_lr} lrs × {n_mu} momenta = {n_lr * n_mu:,} runs")
    print(f"path: {path}")
    small = build(8, 8, 20, args.device, args.dtype)
    run_batch(small)  # warm-up: CUDA context, kernels, torch.optim's first import
    vectorized_loop(small, axes(8, 8)[1], 8)
    spec, t_build = timed(lambda: build(n_lr, n_mu, args.steps, args.device, args.dtype))
    trace, t_run = timed(lambda: run_batch(spec))
    hand, t_hand = timed(lambda: vectorized_loop(spec, axes(n_lr, n_mu)[1], n_lr))
    ok = trace.status != 2  # not diverged
    agree = torch.allclose(trace.final_x[ok], hand.cpu()[ok], rtol=1e-4, atol=1e-5)
    counts = {
        name: int((trace.status == code).sum()) for code, name in ((1, "converged"), (2, "diverged"), (3, "max_steps"))
    }
    print(f"steps: {args.steps}; dtype: {args.dtype}")
    print(f"build the batch:            {t_build:8.3f} s")
    per = t_run / (spec.starts.shape[0] * args.steps) * 1e9
    print(f"gdplay batch (run_batch):   {t_run:8.3f} s   ({per:.2f} ns per run-step)")
    print(f"hand-written vectorized:    {t_hand:8.3f} s   (ratio gdplay / hand-written {t_run / t_hand:.2f}×)")
    print(f"same end points (non-diverged runs): {agree}; {counts}")
    return 0 if agree else 2


if __name__ == "__main__":
    sys.exit(main())
