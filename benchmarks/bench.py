"""`make bench`: gdplay against hand-written torch loops, side by side in one process.

1. one run, per step: gdplay (history on) over the notebook's own loop, same objective
   3x² + 2x − 1 and same update (manual_sgd: x.data.sub_(lr * x.grad)); target ≤ 1.10×;
2. a 4,096-run lr × momentum sweep on 2-D Rosenbrock, 1,000 steps: gdplay's batch over
   runs one by one through torch.optim (timed on a sample, extrapolated), target ≥ 1,000×,
   and over a hand-written vectorized torch loop doing the same arithmetic, target ≤ 1.3×;
3. the same at 65,536 runs (batched vs hand-written vectorized);
4. `gdplay --help` and `gdplay list` wall time over a bare `python -c pass` (target < 0.3 s).

Timings are the best of several repeats, alternating the contenders, so that a busy
machine slows both sides alike. CPU time (process_time) is used for the single-thread
one-run loop, wall time for everything else. Run from the repository root:
`python benchmarks/bench.py` (add `--quick` for a smoke run).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gdplay.config.model import load_config_text  # noqa: E402
from gdplay.engine.execute import run_problem  # noqa: E402
from gdplay.engine.problem import build_problem  # noqa: E402
from gdplay.sweeps.grid import build_sweep, run_sweep  # noqa: E402

QUICK = "--quick" in sys.argv
STEPS = 1000
DTYPE = "float32"  # gdplay's default dtype; both sides of every comparison use it


def best_of(repeats: int, *contenders, clock=time.perf_counter):  # type: ignore[no-untyped-def]
    """Best time of each contender over `repeats` rounds, run alternately."""
    best = [math.inf] * len(contenders)
    for _ in range(repeats):
        for i, fn in enumerate(contenders):
            start = clock()
            fn()
            best[i] = min(best[i], clock() - start)
    return best


# ---- 1. one run -----------------------------------------------------------------------------


def notebook_loop(steps: int, lr: float = 0.01) -> float:
    """The notebook's cell: f(x) = 3x² + 2x − 1 by hand, the update written out."""
    x = torch.tensor(2.0, requires_grad=True)
    for _ in range(steps):
        z = 3 * x**2 + 2 * x - 1
        z.backward()
        x.data.sub_(lr * x.grad)
        x.grad.zero_()
    return x.item()


def one_run_problem(steps: int):  # type: ignore[no-untyped-def]
    text = f"""
objective: {{expr: "3*x**2 + 2*x - 1", init: {{x: 2.0}}}}
optimizer: {{name: manual_sgd, lr: 0.01}}
steps: {steps}
"""
    return build_problem(load_config_text(text, "bench.yaml").runs[0])


def bench_one_run() -> dict[str, float]:
    short, long = (200, 1200) if QUICK else (500, 5500)
    problems = {n: one_run_problem(n) for n in (short, long)}
    for n in (short, long):  # warm up: first use imports parts of torch
        notebook_loop(n)
        run_problem(problems[n])
    result = run_problem(problems[long])
    assert result.history is not None and len(result.history.values) == long + 1  # history is on
    assert math.isclose(result.final_point[0], notebook_loop(long), rel_tol=0, abs_tol=0)  # the same numbers
    times = best_of(
        5 if QUICK else 15,
        lambda: notebook_loop(short),
        lambda: notebook_loop(long),
        lambda: run_problem(problems[short]),
        lambda: run_problem(problems[long]),
        clock=time.process_time,
    )
    # Per step: the slope between a short and a long run, so fixed costs (config, result) cancel.
    nb = (times[1] - times[0]) / (long - short)
    gd = (times[3] - times[2]) / (long - short)
    return {"notebook_us": nb * 1e6, "gdplay_us": gd * 1e6, "ratio": gd / nb, "whole_ratio": times[3] / times[1]}


# ---- 2, 3. sweeps ---------------------------------------------------------------------------


def sweep_config(runs: int, steps: int = STEPS) -> str:
    side = math.isqrt(runs)
    return f"""
objective: {{name: rosenbrock}}        # 2-D, from (-1.2, 1)
optimizer: {{name: sgd, lr: 0.001}}
steps: {steps}
dtype: {DTYPE}
sweep:
  lr: {{from: 1.0e-5, to: 1.0e-2, num: {side}, scale: log}}
  momentum: {{from: 0.0, to: 0.99, num: {runs // side}}}
"""


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """f(x, y) = 100 (y − x²)² + (1 − x)², written out for [B, 2] points."""
    head, tail = x[..., :-1], x[..., 1:]
    return (100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2).sum(dim=-1)


def grid(runs: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Starts, lrs and momenta of the sweep, in gdplay's grid order (lr slowest)."""
    side = math.isqrt(runs)
    lrs = torch.logspace(math.log10(1e-5), math.log10(1e-2), side, dtype=torch.float64)
    mus = torch.linspace(0.0, 0.99, runs // side, dtype=torch.float64)
    lr_col = lrs.repeat_interleave(len(mus)).unsqueeze(1)
    mu_col = mus.repeat(len(lrs)).unsqueeze(1)
    starts = torch.tensor([[-1.2, 1.0]]).expand(runs, 2)
    dtype = getattr(torch, DTYPE)
    return starts.to(dtype), lr_col.to(dtype), mu_col.to(dtype)


def vectorized_loop(starts: torch.Tensor, lr: torch.Tensor, mu: torch.Tensor, steps: int) -> torch.Tensor:
    """The same arithmetic as gdplay's batch, by hand: v ← μv + g (v₁ = g₁), x ← x − lr·v."""
    x = starts.clone().requires_grad_(True)
    v = None
    for _ in range(steps):
        rosenbrock(x).sum().backward()
        with torch.no_grad():
            g = x.grad
            v = g.clone() if v is None else v.mul_(mu).add_(g)
            x.sub_(lr * v)
        x.grad = None
    return x.detach()


def one_by_one(start: list[float], lr: float, mu: float, steps: int) -> torch.Tensor:
    """One run through torch.optim.SGD, as a user would write it without gdplay."""
    x = torch.tensor(start, dtype=getattr(torch, DTYPE), requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=mu)
    for _ in range(steps):
        optimizer.zero_grad()
        rosenbrock(x).backward()
        optimizer.step()
    return x.detach()


def gdplay_sweep(runs: int, steps: int = STEPS):  # type: ignore[no-untyped-def]
    loaded = load_config_text(sweep_config(runs, steps), "bench_sweep.yaml").runs[0]
    problem = build_problem(loaded)
    return run_sweep(build_sweep(problem, loaded))


def bench_sweep(runs: int, sample: int | None) -> dict[str, float]:
    steps = 200 if QUICK else STEPS
    starts, lr, mu = grid(runs)
    gdplay_sweep(min(runs, 64), 20)  # warm up
    vectorized_loop(starts[:64], lr[:64], mu[:64], 20)
    result = gdplay_sweep(runs, steps)
    hand = vectorized_loop(starts, lr, mu, steps)
    # Same arithmetic, same numbers: the runs that did not diverge end at the same points.
    ok = torch.tensor([s != "diverged" for s in result.status])
    agree = torch.allclose(result.final_x[ok].to(hand.dtype), hand[ok], rtol=1e-4, atol=1e-5)
    repeats = 2 if QUICK else (5 if runs <= 4096 else 3)
    t_gd, t_vec = best_of(repeats, lambda: gdplay_sweep(runs, steps), lambda: vectorized_loop(starts, lr, mu, steps))
    out = {
        "runs": runs,
        "steps": steps,
        "gdplay_s": t_gd,
        "vectorized_s": t_vec,
        "ratio_vectorized": t_gd / t_vec,
        "agree": float(agree),
        "diverged": sum(s == "diverged" for s in result.status),
    }
    if sample:
        picks = torch.linspace(0, runs - 1, sample).round().long().tolist()
        one_by_one([-1.2, 1.0], 1e-3, 0.5, 20)  # warm up torch.optim

        def sampled() -> None:
            for b in picks:
                one_by_one([-1.2, 1.0], float(lr[b]), float(mu[b]), steps)

        (t_sample,) = best_of(1 if QUICK else 2, sampled)
        per_run = t_sample / sample
        out.update({"one_by_one_s": per_run * runs, "per_run_step_us": per_run / steps * 1e6, "sample": sample})
        out["speedup_one_by_one"] = out["one_by_one_s"] / t_gd
    return out


# ---- 4. start-up ----------------------------------------------------------------------------


def wall(args: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_startup() -> dict[str, float | None]:
    repeats = 3 if QUICK else 7
    python = sys.executable
    bare = wall([python, "-c", "pass"], repeats)
    helps = wall([python, "-m", "gdplay", "--help"], repeats)
    has_list = (
        subprocess.run(
            [python, "-m", "gdplay", "list", "--help"], cwd=ROOT, capture_output=True, check=False
        ).returncode
        == 0
    )
    listing = wall([python, "-m", "gdplay", "list"], repeats) if has_list else None
    return {"bare_s": bare, "help_s": helps, "list_s": listing}


# ---- the table ------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores; torch {torch.__version__}, {torch.get_num_threads()} threads"


def main() -> None:
    print(f"machine: {machine()}")
    print(f"python {platform.python_version()}, dtype {DTYPE}{' (quick run)' if QUICK else ''}\n")
    rows: list[tuple[str, str, str, str]] = []

    one = bench_one_run()
    rows.append(
        (
            "1. one run, per step (history on)",
            f"gdplay {one['gdplay_us']:.1f} µs / notebook {one['notebook_us']:.1f} µs",
            f"{one['ratio']:.2f}×",
            f"≤ 1.10× {'met' if one['ratio'] <= 1.10 else 'MISSED'}",
        )
    )
    s4 = bench_sweep(4096, sample=16 if QUICK else 64)
    rows.append(
        (
            f"2. sweep 4,096 × {s4['steps']} steps: vs one by one",
            f"gdplay {s4['gdplay_s']:.3f} s / one by one {s4['one_by_one_s']:.0f} s "
            f"(sample of {s4['sample']}, {s4['per_run_step_us']:.0f} µs per run-step)",
            f"{s4['speedup_one_by_one']:,.0f}× faster",
            f"≥ 1,000× {'met' if s4['speedup_one_by_one'] >= 1000 else 'MISSED'}",
        )
    )
    rows.append(
        (
            "2. sweep 4,096: vs hand-written vectorized",
            f"gdplay {s4['gdplay_s']:.3f} s / vectorized {s4['vectorized_s']:.3f} s",
            f"{s4['ratio_vectorized']:.2f}×",
            f"≤ 1.3× {'met' if s4['ratio_vectorized'] <= 1.3 else 'MISSED'}",
        )
    )
    s64 = bench_sweep(16384 if QUICK else 65536, sample=None)
    rows.append(
        (
            f"3. sweep {s64['runs']:,}: vs hand-written vectorized",
            f"gdplay {s64['gdplay_s']:.2f} s / vectorized {s64['vectorized_s']:.2f} s",
            f"{s64['ratio_vectorized']:.2f}×",
            "(no target)",
        )
    )
    up = bench_startup()
    for name in ("help", "list"):
        value = up[f"{name}_s"]
        label = f"4. gdplay {'--help' if name == 'help' else 'list'}"
        if value is None:
            rows.append((label, "not measured: `gdplay list` does not exist in this checkout", "—", "—"))
            continue
        rows.append(
            (
                label,
                f"{value:.3f} s / python -c pass {up['bare_s']:.3f} s",
                f"{value / up['bare_s']:.1f}× (+{value - up['bare_s']:.3f} s)",
                f"< 0.3 s {'met' if value < 0.3 else 'MISSED'}",
            )
        )
    if QUICK:  # fewer steps and repeats: a smoke run, not a measurement against the targets
        rows = [(a, b, c, "(quick run)" if d not in ("—", "(no target)") else d) for a, b, c, d in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measurement", "times", "ratio", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    agree = s4["agree"] and s64["agree"]
    print(f"\nbatched and hand-written sweeps end at the same points (non-diverged runs): {bool(agree)}")
    print(f"diverged runs: {s4['diverged']:,} of 4,096; {s64['diverged']:,} of {s64['runs']:,}")


if __name__ == "__main__":
    main()
