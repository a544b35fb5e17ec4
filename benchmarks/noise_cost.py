"""The cost of noise: a 4,096-run sweep with noisy gradients over the same sweep with exact ones.

Three contenders, the same 64 × 64 lr × momentum grid of `sgd` on the 2-D quadratic
½(x − 1)² + 5(y + 1)² (float32, 500 steps, no history; the minimum away from 0, so that
the exact runs do not end in subnormal numbers, which are slow), run side by side in one
process, alternating, best of several repeats (so a busy machine slows all of them alike):

    exact      no noise                                                   (the reference)
    shared     noise: {sigma: 0.5}; every row has the same seed, so the rows share their
               draws (common random numbers): D normals per step, broadcast
    streams    `seeds: 4096` at lr 0.1, momentum 0.5 (over the same exact sweep): 4,096
               rows, each with its own stream: 4,096 × D normals per step by the
               counter-based hash of gdplay/engine/noise.py (int32, blocks of steps)
    minibatch  least_squares on 200 generated samples, batch_size 10 (replacement), 4,096
               seeds, over the same run with the exact gradient (batch_size 200)

Target (issue 14): noise ≤ 1.15× the exact sweep. Threads are pinned (torch.set_num_threads,
reported). Run from the repository root: `python benchmarks/noise_cost.py [--quick]`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gdplay.config.model import load_config_data  # noqa: E402
from gdplay.engine.problem import build_problem  # noqa: E402
from gdplay.sweeps.grid import build_sweep, run_sweep  # noqa: E402

QUICK = "--quick" in sys.argv
STEPS = 100 if QUICK else 500
REPEATS = 2 if QUICK else 5
THREADS = 1


def grid(extra: dict, axes: dict) -> object:
    cfg = {
        "objective": {"expr": "0.5*(x - 1)**2 + 5*(y + 1)**2", "init": {"x": 2.0, "y": 0.0}},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "steps": STEPS,
        "dtype": "float32",
        "sweep": axes,
        **extra,
    }
    (run,) = load_config_data(cfg).runs
    return build_sweep(build_problem(run), run)


def data_grid(batch: int) -> object:
    cfg = {
        "objective": {"name": "least_squares"},
        "optimizer": {"name": "sgd", "lr": 0.05},
        "steps": STEPS,
        "dtype": "float32",
        "data": {"generate": {"n": 200, "d": 2, "noise": 0.1, "seed": 0}},
        "batch_size": batch,
        "sampling": "replacement",
        "sweep": {"seeds": 4096},
    }
    (run,) = load_config_data(cfg).runs
    return build_sweep(build_problem(run), run)


def best_of(repeats: int, *sweeps: object) -> list[float]:
    best = [math.inf] * len(sweeps)
    for _ in range(repeats):
        for i, sweep in enumerate(sweeps):
            start = time.perf_counter()
            run_sweep(sweep)  # type: ignore[arg-type]
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    torch.set_num_threads(THREADS)
    load_before = os.getloadavg()[0]
    lr = {"from": 0.01, "to": 0.19, "num": 64}
    mu = {"from": 0.0, "to": 0.9, "num": 64}
    exact = grid({}, {"lr": lr, "momentum": mu})
    shared = grid({"noise": {"sigma": 0.5}}, {"lr": lr, "momentum": mu})
    exact_lr = grid({"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.5}}, {"seeds": 4096})
    streams = grid({"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.5}, "noise": {"sigma": 0.5}}, {"seeds": 4096})
    t_exact, t_shared, t_exact_lr, t_streams = best_of(REPEATS, exact, shared, exact_lr, streams)
    t_full, t_mini = best_of(2, data_grid(200), data_grid(10))
    rows = {
        "shared draws (64×64 lr × momentum, one seed)": (t_shared, t_exact),
        "own streams (4,096 seeds)": (t_streams, t_exact_lr),
        "minibatch 10 of 200 (4,096 seeds) over batch 200": (t_mini, t_full),
    }
    print(
        f"4,096 runs × {STEPS} steps, float32, cpu, torch {torch.__version__}, {THREADS} thread(s), "
        f"python {platform.python_version()}; best of {REPEATS}; load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    for label, (noisy, base) in rows.items():
        print(f"  {label:52s} {noisy:7.3f} s over {base:7.3f} s = {noisy / base:5.2f}×  (target ≤ 1.15×)")
    print(json.dumps({k: round(a / b, 3) for k, (a, b) in rows.items()}))


if __name__ == "__main__":
    main()
