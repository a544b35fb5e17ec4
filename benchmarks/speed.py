"""`make bench` (part 2): the compiled engine against JAX, eager gdplay and a hand-written loop; start-up.

Every figure is a ratio measured side by side: contenders alternate in one process (best of
several rounds) or run as interleaved whole-process A/B pairs (median of the pairs' ratios), with
torch's (and XLA's) thread count pinned and reported. Writes benchmarks/results.json; `--readme`
regenerates the table between the markers in docs/benchmarks.md. JAX is optional (`pip install
gdplay[bench]`); without it the JAX rows say so.

    python benchmarks/speed.py [--quick] [--readme] [--processes]

`--processes` measures only the whole-process figures (start-up, each command against `run`)
and keeps the rest of the last results.json.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = 1  # pinned for both sides (XLA's flags must be set before jax is imported)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

QUICK = "--quick" in sys.argv
STEPS = 200 if QUICK else 1000
OUT = ROOT / "benchmarks" / "results.json"
PAGES = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")


def best_of(repeats: int, *fns):  # type: ignore[no-untyped-def]
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


# ---- the sweep --------------------------------------------------------------------------------


def sweep_text(runs: int, steps: int, engine: str) -> str:
    side = math.isqrt(runs)
    return f"""
objective: {{name: rosenbrock}}
optimizer: {{name: sgd, lr: 0.001}}
steps: {steps}
engine: {engine}
sweep:
  lr: {{from: 1.0e-5, to: 1.0e-3, num: {side}, scale: log}}
  momentum: {{from: 0.0, to: 0.9, num: {runs // side}}}
"""


def gdplay_sweeper(runs: int, steps: int, engine: str):  # type: ignore[no-untyped-def]
    from gdplay.config.model import load_config_text
    from gdplay.engine.problem import build_problem
    from gdplay.sweeps.grid import build_sweep, run_sweep

    loaded = load_config_text(sweep_text(runs, steps, engine), "bench.yaml").runs[0]
    sweep = build_sweep(build_problem(loaded), loaded)
    return lambda: run_sweep(sweep)


def grid(runs: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    side = math.isqrt(runs)
    lrs = torch.logspace(-5, -3, side, dtype=torch.float64)
    mus = torch.linspace(0.0, 0.9, runs // side, dtype=torch.float64)
    lr = lrs.repeat_interleave(len(mus)).float()
    mu = mus.repeat(len(lrs)).float()
    return torch.tensor([[-1.2, 1.0]]).expand(runs, 2).contiguous(), lr, mu


def hand_loop(runs: int, steps: int):  # type: ignore[no-untyped-def]
    """A hand-written batched torch loop: autograd, v ← μv + g, x ← x − lr·v."""
    starts, lr, mu = grid(runs)
    lr, mu = lr.unsqueeze(1), mu.unsqueeze(1)

    def run() -> torch.Tensor:
        x = starts.clone().requires_grad_(True)
        v = None
        for _ in range(steps):
            h, t = x[:, 0], x[:, 1]
            (100.0 * (t - h * h) ** 2 + (1.0 - h) ** 2).sum().backward()
            with torch.no_grad():
                g = x.grad
                v = g.clone() if v is None else v.mul_(mu).add_(g)
                x.sub_(lr * v)
            x.grad = None
        return x.detach()

    return run


def jax_sweeper(runs: int, steps: int):  # type: ignore[no-untyped-def]
    """jax.jit of lax.fori_loop over vmap(value_and_grad): the peer a researcher would write."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    starts, lr, mu = grid(runs)

    def f(p):  # type: ignore[no-untyped-def]
        return 100.0 * (p[1] - p[0] ** 2) ** 2 + (1.0 - p[0]) ** 2

    vg = jax.vmap(jax.value_and_grad(f))

    @jax.jit
    def run(x, lr, mu):  # type: ignore[no-untyped-def]
        def body(i, carry):  # type: ignore[no-untyped-def]
            x, v = carry
            _, g = vg(x)
            v = mu[:, None] * v + g  # v₀ = 0: the first step is v = g, as torch.optim
            return x - lr[:, None] * v, v

        return jax.lax.fori_loop(0, steps, body, (x, jnp.zeros_like(x)))[0]

    args = (jnp.asarray(starts.numpy()), jnp.asarray(lr.numpy()), jnp.asarray(mu.numpy()))
    run(*args).block_until_ready()  # compile
    return lambda: run(*args).block_until_ready()


def bench_sweep(runs: int) -> dict[str, float | None]:
    steps = STEPS
    compiled = gdplay_sweeper(runs, steps, "compiled")
    began = time.perf_counter()
    first = compiled()  # the first call compiles (or loads Inductor's cache)
    first_s = time.perf_counter() - began
    assert any("compiled engine" in n for n in first.notes), first.notes
    eager = gdplay_sweeper(runs, steps, "eager")
    hand = hand_loop(runs, steps)
    jax_run = jax_sweeper(runs, steps)
    contenders = [compiled, eager, hand] + ([jax_run] if jax_run else [])
    times = best_of(2 if QUICK else 3, *contenders)
    out: dict[str, float | None] = {
        "runs": runs,
        "steps": steps,
        "first_call_s": first_s,
        "compiled_s": times[0],
        "eager_s": times[1],
        "hand_s": times[2],
        "jax_s": times[3] if jax_run else None,
        "compiled_ns_per_run_step": times[0] / (runs * steps) * 1e9,
    }
    out["compiled_over_eager"] = times[0] / times[1]
    out["compiled_over_hand"] = times[0] / times[2]
    out["compiled_over_jax"] = times[0] / times[3] if jax_run else None
    return out


# ---- compile time, cold and warm, in fresh processes --------------------------------------------


def compile_times() -> dict[str, float]:
    """Wall time of a 4,096-run compiled sweep's first call in a fresh process: with an empty
    Inductor cache (cold), then again with the cache that run left (warm)."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
        "sys.argv = ['x']\n"
        "from benchmarks.speed import gdplay_sweeper\n"
        "run = gdplay_sweeper(4096, 64, 'compiled')\n"
        "t = time.perf_counter(); run(); print(time.perf_counter() - t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "GDPLAY_CACHE_DIR": cache}
        cold = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1])  # fmt: skip
        warm = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1])  # fmt: skip
    return {"cold_s": cold, "warm_s": warm}


# ---- whole processes -------------------------------------------------------------------------

NOTEBOOK_CELL = """
import torch
x = torch.tensor(2.0, requires_grad=True)
for _ in range(100):
    z = 3 * x**2 + 2 * x - 1
    z.backward()
    x.data.sub_(0.3 * x.grad)
    x.grad.zero_()
print(x.item())
"""
NOTEBOOK_OPTIM_CELL = """
import torch
x = torch.tensor([2.0, 1.5], requires_grad=True)
opt = torch.optim.SGD([x], lr=0.05, momentum=0.9)
for _ in range(200):
    opt.zero_grad()
    z = (x ** 2).sum()
    z.backward()
    opt.step()
print(x.tolist())
"""


# Children run as a user's shell runs them: one thread (the figures are per core), bytecode cached
# (PYTHONDONTWRITEBYTECODE, set in some sandboxes, would time gdplay's compiling of its own
# sources on every start: 0.1 s that no installed copy pays).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
}


def wall(args: list[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode not in (0, 1, 4):  # a usage or config error would time an error message
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return time.perf_counter() - start


def pairs(a: list[str], b: list[str], n: int) -> tuple[float, float, float, float]:
    """Interleaved A/B pairs: (median ratio a/b, min ratio, max ratio, median a seconds), after one
    unmeasured run of each (bytecode written, files in the page cache)."""
    wall(a), wall(b)
    ratios, times = [], []
    for _ in range(n):
        ta, tb = wall(a), wall(b)
        ratios.append(ta / tb)
        times.append(ta)
    return statistics.median(ratios), min(ratios), max(ratios), statistics.median(times)


def bench_processes() -> dict[str, object]:
    py, gd = sys.executable, [sys.executable, "-m", "gdplay"]
    n = 3 if QUICK else 7
    out: dict[str, object] = {"load_before": os.getloadavg()[0]}
    out["run_quadratic_over_cell"] = pairs([*gd, "run", "configs/quadratic.yaml"], [py, "-c", NOTEBOOK_CELL], n)
    out["run_momentum_over_optim_cell"] = pairs(
        [*gd, "run", "configs/quadratic_momentum.yaml"], [py, "-c", NOTEBOOK_OPTIM_CELL], n
    )
    run = [*gd, "run", "configs/quadratic.yaml"]
    for name, args in {
        "explain": [*gd, "explain", "configs/quadratic.yaml"],
        "compare": [*gd, "compare", "configs/quadratic.yaml"],
        "check": [*gd, "check", "configs/regression/booth.yaml"],  # against run on the same config, below
        "grad": [*gd, "grad", "configs/quadratic.yaml"],
        "hessian": [*gd, "hessian", "configs/quadratic.yaml"],
    }.items():
        same = [*gd, "run", "configs/regression/booth.yaml"] if name == "check" else run
        out[f"{name}_over_run"] = pairs(args, same, n)
    with tempfile.TemporaryDirectory() as folder:
        for name, args in {
            "help": [*gd, "--help"],
            "list": [*gd, "list"],
            "schema": [*gd, "schema"],
            "init": [*gd, "init", str(Path(folder) / "starter"), "--force"],  # writes the file
        }.items():
            wall(args)
            times = [wall(args) for _ in range(n)]
            out[f"{name}_s"] = statistics.median(times)
            out[f"{name}_min_s"] = min(times)
    out["python_s"] = statistics.median(wall([py, "-c", "pass"]) for _ in range(n))
    out["load_after"] = os.getloadavg()[0]
    return out


# ---- long scalar run, wide momentum step ------------------------------------------------------


def bench_long_scalar() -> dict[str, float]:
    """A 10⁶-step scalar quadratic without history (as `check` runs it), per step."""
    from gdplay.config.model import load_config_text
    from gdplay.engine.execute import run_problem
    from gdplay.engine.problem import build_problem

    steps = 20_000 if QUICK else 200_000
    out = {}
    for engine in ("eager", "compiled"):
        text = f'objective: {{expr: "3*x**2 + 2*x - 1", init: {{x: 2.0}}}}\noptimizer: {{name: manual_sgd, lr: 0.01}}\nsteps: {steps}\nengine: {engine}\n'  # noqa: E501
        problem = build_problem(load_config_text(text, "long.yaml").runs[0])
        run_problem(problem, record=False)  # warm (compiles)
        start = time.perf_counter()
        run_problem(problem, record=False)
        out[f"{engine}_us_per_step"] = (time.perf_counter() - start) / steps * 1e6
    return out


def wide_text(d: int, steps: int, engine: str) -> str:
    # blowup raised: sphere's start (1 + i/2 per coordinate) has f ≈ d³/12, 8·10¹⁹ at d = 10⁷
    return (
        f"objective: {{name: sphere, dim: {d}}}\noptimizer: {{name: sgd, lr: 1.0e-9, momentum: 0.9}}\n"
        f"steps: {steps}\nengine: {engine}\nblowup: 1.0e30\n"
    )


def bench_wide_momentum() -> dict[str, float]:
    """d = 10⁷ quadratic (sphere), momentum SGD: gdplay's compiled engine (one fused in-place step
    per call) per step over two copies' worth of memory traffic (copy_ there and back in the same
    process). Per step from the run's own progress callback, timed between its step 10 and its
    step 110, so that the run's fixed cost (about 2 s outside its steps, not profiled yet,
    whose noise swamped a slope between two runs) stays out. Eager torch.optim.SGD beside it."""
    from gdplay.config.model import load_config_text
    from gdplay.engine.execute import run_problem
    from gdplay.engine.problem import build_problem

    d = 2_000_000 if QUICK else 10_000_000
    first, last = 10, 110
    problem = build_problem(load_config_text(wide_text(d, last, "compiled"), "wide.yaml").runs[0], record=False)
    from gdplay.engine import compiled

    run_problem(problem, record=False)  # compiles (or loads Inductor's cache)
    assert any("|wide|" in key for key in compiled._CHUNKS), "the wide run did not take the compiled engine"
    x = torch.randn(d, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.01, momentum=0.9)
    a, b = torch.empty(d), torch.empty(d)

    def optim_step() -> None:
        opt.zero_grad()
        (x * x).sum().backward()
        opt.step()

    def copy2() -> None:  # two copies' worth of memory traffic
        a.copy_(b)
        b.copy_(a)

    marks: dict[int, float] = {}

    def progress(done: int, total: int) -> None:
        if done in (first, last):
            marks[done] = time.perf_counter()

    steps: list[float] = []

    def engine_run() -> None:
        marks.clear()
        run_problem(problem, progress=progress, record=False)
        steps.append((marks[last] - marks[first]) / (last - first))

    optim_step()
    _, t_optim, t_copy = best_of(3, engine_run, optim_step, copy2)
    step = min(steps)
    return {"d": d, "step_s": step, "copy2_s": t_copy, "ratio": step / t_copy, "optim_ratio": t_optim / t_copy}


# ---- report --------------------------------------------------------------------------------


def rows(r: dict[str, object]) -> list[tuple[str, str, str]]:
    def ratio(v: object) -> str:
        return "—" if v is None else f"{v:.2f}×"  # type: ignore[str-format]

    out = []
    for key in ("sweep_65536", "sweep_4096"):
        s = r[key]  # type: ignore[index]
        n = s["runs"]  # type: ignore[index]
        target = "≤ 1.0" if n > 4096 else "≤ 1.5"
        out.append((f"sweep {n:,} × {s['steps']} compiled / JAX", ratio(s["compiled_over_jax"]), target))  # type: ignore[index]
        out.append((f"sweep {n:,} compiled / eager gdplay", ratio(s["compiled_over_eager"]), "—"))  # type: ignore[index]
        out.append((f"sweep {n:,} compiled / hand-written torch loop", ratio(s["compiled_over_hand"]), "—"))  # type: ignore[index]
    c = r["compile"]  # type: ignore[index]
    out.append(("first compile, cold cache (s)", f"{c['cold_s']:.1f} s", "reported"))  # type: ignore[index]
    out.append(("first compile, second process, warm cache (s)", f"{c['warm_s']:.1f} s", "reported"))  # type: ignore[index]
    p = r["processes"]  # type: ignore[index]
    for key, target in (
        ("run_quadratic_over_cell", "≤ 1.1"),
        ("run_momentum_over_optim_cell", "≤ 1.1"),
        ("explain_over_run", "≤ 1.2"),
        ("compare_over_run", "≤ 1.2"),
        ("check_over_run", "≤ 1.2"),
        ("grad_over_run", "≤ 1.2"),
        ("hessian_over_run", "≤ 1.2"),
    ):
        if key not in p:  # type: ignore[operator]
            continue
        med, lo, hi, _ = p[key]  # type: ignore[index]
        out.append((key.replace("_", " "), f"{med:.2f}× ({lo:.2f}–{hi:.2f})", target))
    for key in ("help_s", "list_s", "schema_s", "init_s", "python_s"):
        low = p.get(key.replace("_s", "_min_s"))  # type: ignore[attr-defined]
        spread = f" (min {low:.2f} s)" if low is not None else ""
        out.append(
            (
                key[:-2].replace("_", " ") + " (whole process, median)",
                f"{p[key]:.2f} s{spread}",  # type: ignore[index]
                "≤ 0.2 s" if key != "python_s" else "—",
            )
        )
    ls = r["long_scalar"]  # type: ignore[index]
    out.append(("scalar quadratic, no history, compiled µs/step", f"{ls['compiled_us_per_step']:.1f} µs", "≤ 2 µs"))  # type: ignore[index]
    out.append(("scalar quadratic, no history, eager µs/step", f"{ls['eager_us_per_step']:.1f} µs", "—"))  # type: ignore[index]
    w = r["wide"]  # type: ignore[index]
    out.append((f"d = {w['d']:,} momentum SGD step / 2 copies", f"{w['ratio']:.1f}×", "≤ 2"))  # type: ignore[index]
    if "optim_ratio" in w:  # type: ignore[operator]
        out.append((f"d = {w['d']:,} eager torch.optim.SGD step / 2 copies", f"{w['optim_ratio']:.1f}×", "—"))  # type: ignore[index]
    return out


def table(r: dict[str, object]) -> str:
    lines = ["| measurement | measured | target |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows(r)]
    return "\n".join(lines)


def main() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    if "--processes" in sys.argv:  # only the whole-process figures; the others kept from the last JSON
        results = json.loads(OUT.read_text())
        results["processes"] = bench_processes()
        torch.set_num_threads(threads)
    else:
        results = measure_all()
    write(results)


def measure_all() -> dict[str, object]:
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        results: dict[str, object] = {
            "date": time.strftime("%Y-%m-%d"),
            "load_before": os.getloadavg()[0],
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "torch": torch.__version__,
            "threads": THREADS,
            "quick": QUICK,
            "sweep_4096": bench_sweep(4096),
            "sweep_65536": bench_sweep(65536),
            "compile": compile_times(),
            "processes": bench_processes(),
            "long_scalar": bench_long_scalar(),
            "wide": bench_wide_momentum(),
        }
    finally:
        torch.set_num_threads(threads)
    results["load_after"] = os.getloadavg()[0]
    try:
        import jax

        results["jax"] = jax.__version__
    except ImportError:
        results["jax"] = None
    return results


def header(r: dict[str, object]) -> str:
    """The line above the table: what produced these numbers (written by --readme, never by hand)."""
    p: dict[str, object] = r.get("processes") or {}  # type: ignore[assignment]
    found = (r.get("load_before"), p.get("load_before"), p.get("load_after"), r.get("load_after"))
    loads = [float(v) for v in found if isinstance(v, (int, float))]
    load = f", load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    run = "a `--quick` run (200 steps, 3 pairs per whole-process figure)" if r.get("quick") else "a full run"
    return (
        f"Measured {r.get('date', '?')} by `python benchmarks/speed.py --readme`, {run}: {r.get('machine')}, "
        f"torch {r.get('torch')}, JAX {r.get('jax') or 'not installed'}, {r.get('threads')} thread pinned for "
        f"torch and XLA{load}. Ratios are medians of interleaved pairs (their spread in brackets) or best-of "
        "side-by-side timings in one process; `benchmarks/results.json` holds every number."
    )


def write(results: dict[str, object]) -> None:
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nthreads pinned to {THREADS}; JSON in {OUT.relative_to(ROOT)}")
    if "--readme" in sys.argv:
        block = f"{header(results)}\n\n{table(results)}"
        for page in PAGES:  # the README's performance table and the benchmarks page: the same block
            text = page.read_text()
            start, end = "<!-- bench:start -->", "<!-- bench:end -->"
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            page.write_text(f"{head}{start}\n{block}\n{end}{tail}")


if __name__ == "__main__":
    main()
