"""The compiled engine: many steps of many runs fused into one Inductor kernel, the gradient a formula.

The eager engine (runner.py) takes one autograd pass and a few optimizer kernels per step, each
a trip through memory and through Python. When gdplay knows both the objective as a tree
(gdplay/problems/symbolic.py: ∇f derived by rule) and the optimizer's update as arithmetic
(the rules below), a chunk of CHUNK steps is one function of plain element-wise tensor
operations on one [K] tensor per coordinate (K runs, "structure of arrays"):

    for t in t₀ .. t₀+CHUNK−1:
        f, ∇f = formula(x)                       (symbolic gradient, no autograd)
        record / check step t                    (same tests as the eager engine's _Checker)
        x, state = update(x, ∇f, state, t)       (the optimizer's rule, written out)

`torch.compile` (Inductor) turns it into one loop over the runs that keeps every value in
registers across the CHUNK steps. The state is one stacked [rows, K] tensor (x, the optimizer's
slots, a running flag), so a call has six tensor arguments and Dynamo's guards stay cheap; the
chunk returns the state n steps later and how many running runs met an event in them, one
integer read by the host per chunk. Per step the chunk keeps only the running maxima of |f| and
Σg² (and the minimum of Σg² when a tol is set), tested against blowup, the largest float and tol
once at its end with the point's finiteness; the few runs that
met an event are replayed from the chunk's start in plain torch with the eager checker's own
test (`_replay_chunk`), which finds the step and the cause exactly as the eager engine does:
diverged when f is not finite, |f| > blowup, |∇f| is not finite or the point is not finite;
converged when |∇f| < tol.

Update rules (torch/optim/*.py, single-tensor path, line by line; options per run as [K] tensors):

    sgd:      g ← −g (maximize);  g ← g + λx;  v ← g (t = 0) else μv + (1−τ)g;  d ← g + μv (nesterov) else v;
              x ← x − lr·d  (without dampening, v ← μv + g from v₀ = 0: the first step is μ·0 + g = g)
    manual_sgd: v ← μv + g from v₀ = 0;  x ← x − lr·v  (μ = 0: x ← x − lr·g)
    adam(w):  x ← x(1 − lr·λ) (adamw) or g ← g + λx (adam);  m ← lerp(m, g, 1−β₁);  s ← β₂s + (1−β₂)g²;
              (amsgrad: ŝ ← max(ŝ, s));  x ← x − lr/(1−β₁ᵗ) · m/(√s/√(1−β₂ᵗ) + ε)
    rmsprop:  g ← g + λx;  s ← αs + (1−α)g²;  a ← √(s − ḡ²) (centered, ḡ ← lerp(ḡ, g, 1−α)) else √s;
              a ← a + ε;  b ← μb + g/a, x ← x − lr·b (momentum) else x ← x − lr·g/a
    adagrad:  g ← g + λx;  s ← s + g²;  x ← x − lr/(1 + (t−1)·decay) · g/(√s + ε)

tests/test_compiled_engine.py proves each equal to torch.optim and to the eager engine in float64
(same statuses and stop steps, final points within a relative 1e-9).

`engine: auto` compiles only when the eager engine's estimated time exceeds the compile cost
(`choose`); Inductor's on-disk cache (torch's default location) makes a second process pay
little, and a compiled chunk is kept for the rest of the process.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from gdplay.engine.runner import (
    CONVERGED,
    DIVERGED,
    INTERRUPTED,
    MAX_STEPS,
    BatchSpec,
    BatchTrace,
    Progress,
    Setting,
)
from gdplay.optim.factory import accepted_options
from gdplay.problems.symbolic import S, gradient, objective_tree, run_tape, separable_term, signature, tape

CHUNK = 8  # steps per compiled call: enough to amortise the call, short enough to compile in seconds
LONG_CHUNK = 16  # ... for a batch of at most 8,192 runs, whose 8 steps are too short to pay for the call

# The cost model of `auto` (seconds), measured on a 2-core machine with torch 2.13 (docs/benchmarks.md):
EAGER_STEP_S = 40e-6  # the eager engine's Python and dispatch per step, whatever the batch
EAGER_VALUE_S = 4e-9  # ... and per coordinate of every run per step
COMPILED_VALUE_S = 0.5e-9  # the compiled chunk per coordinate-step
COMPILE_COLD_S = 30.0  # compiling a chunk with an empty cache (speed.py measured 23-40 s)
COMPILE_WARM_S = 6.0  # tracing it again when Inductor's on-disk cache has the kernel (measured 4.5-8.4 s)


# ---- the update rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """An optimizer the compiled engine knows: its per-run numbers, its switches, its update."""

    numeric: tuple[str, ...]  # options that may differ per run ([K] tensors); `betas` is split in two
    switches: tuple[str, ...]  # boolean options, the same for every run of a batch
    slots: Callable[[Mapping[str, bool]], tuple[str, ...]]  # state tensors per coordinate
    step: Callable[..., tuple[Any, dict[str, Any]]]


def _sgd_slots(on: Mapping[str, bool]) -> tuple[str, ...]:
    return ("v",) if on["uses_momentum"] else ()


def _sgd_step(x: Any, g: Any, st: dict[str, Any], h: Mapping[str, Any], t: Any, on: Mapping[str, bool]) -> Any:
    if on["maximize"]:
        g = -g
    if on["uses_decay"]:
        g = g + h["weight_decay"] * x
    if on["uses_momentum"] and on.get("uses_dampening", True):
        v = torch.where(t == 0, g, h["momentum"] * st["v"] + h["keep"] * g)
        st = {"v": v}
        g = g + h["momentum"] * v if on["nesterov"] else v
    elif on["uses_momentum"]:  # v₀ = 0, so the first step's μ·0 + g is g, as torch.optim's v ← g
        v = h["momentum"] * st["v"] + g
        st = {"v": v}
        g = g + h["momentum"] * v if on["nesterov"] else v
    return x - h["lr"] * g, st


def _manual_step(x: Any, g: Any, st: dict[str, Any], h: Mapping[str, Any], t: Any, on: Mapping[str, bool]) -> Any:
    if on["uses_momentum"]:  # v₀ = 0: the first step's μ·0 + g is g
        v = h["momentum"] * st["v"] + g
        return x - h["lr"] * v, {"v": v}
    return x - h["lr"] * g, st


def _adam_step(x: Any, g: Any, st: dict[str, Any], h: Mapping[str, Any], t: Any, on: Mapping[str, bool]) -> Any:
    if on["maximize"]:
        g = -g
    if on["decoupled"]:
        x = x * (1 - h["lr"] * h["weight_decay"])
    elif on["uses_decay"]:
        g = g + h["weight_decay"] * x
    m = torch.lerp(st["m"], g, 1 - h["beta1"])
    s = st["s"] * h["beta2"] + (1 - h["beta2"]) * (g * g)
    out = {"m": m, "s": s}
    step = (t + 1).to(torch.float64)
    bc1 = (1 - h["beta1_64"] ** step).to(x.dtype)
    bc2_sqrt = (1 - h["beta2_64"] ** step).sqrt().to(x.dtype)
    if on["amsgrad"]:
        s = out["smax"] = torch.maximum(st["smax"], s)
    denom = s.sqrt() / bc2_sqrt + h["eps"]
    return x - (h["lr"] / bc1) * (m / denom), out


def _adam_slots(on: Mapping[str, bool]) -> tuple[str, ...]:
    return ("m", "s", "smax") if on["amsgrad"] else ("m", "s")


def _rmsprop_step(x: Any, g: Any, st: dict[str, Any], h: Mapping[str, Any], t: Any, on: Mapping[str, bool]) -> Any:
    if on["maximize"]:
        g = -g
    if on["uses_decay"]:
        g = g + h["weight_decay"] * x
    s = st["s"] * h["alpha"] + (1 - h["alpha"]) * (g * g)
    out = {"s": s}
    if on["centered"]:
        ga = out["ga"] = torch.lerp(st["ga"], g, 1 - h["alpha"])
        avg = (s - ga * ga).sqrt()
    else:
        avg = s.sqrt()
    avg = avg + h["eps"]
    if on["uses_momentum"]:
        b = out["b"] = st["b"] * h["momentum"] + g / avg
        return x - h["lr"] * b, out
    return x - h["lr"] * (g / avg), out


def _rmsprop_slots(on: Mapping[str, bool]) -> tuple[str, ...]:
    return ("s",) + (("ga",) if on["centered"] else ()) + (("b",) if on["uses_momentum"] else ())


def _adagrad_step(x: Any, g: Any, st: dict[str, Any], h: Mapping[str, Any], t: Any, on: Mapping[str, bool]) -> Any:
    if on["maximize"]:
        g = -g
    if on["uses_decay"]:
        g = g + h["weight_decay"] * x
    clr = h["lr"] / (1 + t.to(x.dtype) * h["lr_decay"])
    s = st["s"] + g * g
    return x - clr * (g / (s.sqrt() + h["eps"])), {"s": s}


RULES: dict[str, Rule] = {
    "manual_sgd": Rule(("momentum",), (), _sgd_slots, _manual_step),
    "sgd": Rule(("momentum", "dampening", "weight_decay"), ("nesterov", "maximize"), _sgd_slots, _sgd_step),
    "adam": Rule(
        ("beta1", "beta2", "eps", "weight_decay"),
        ("amsgrad", "maximize", "decoupled_weight_decay"),
        _adam_slots,
        _adam_step,
    ),
    "adamw": Rule(
        ("beta1", "beta2", "eps", "weight_decay"),
        ("amsgrad", "maximize", "decoupled_weight_decay"),
        _adam_slots,
        _adam_step,
    ),
    "rmsprop": Rule(
        ("alpha", "eps", "weight_decay", "momentum"), ("centered", "maximize"), _rmsprop_slots, _rmsprop_step
    ),
    "adagrad": Rule(
        ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
        ("maximize",),
        lambda on: ("s",),
        _adagrad_step,
    ),
}


# ---- planning: can this batch be compiled? ----------------------------------------------------

_KNOWN_SPEC_FIELDS = {
    "objective", "optimizer", "options", "starts", "lrs", "steps", "tol", "blowup", "record", "schedule",
    "settings", "which", "rowwise", "engine",
}  # fmt: skip


@dataclass
class Plan:
    """A batch the compiled engine can run: trees, rule, switches and per-run numbers."""

    name: str
    rule: Rule
    value: S
    grads: list[S]
    switches: dict[str, bool]
    columns: dict[str, torch.Tensor]  # option -> per-run values ([K], float64), in row order
    key: str  # what the compiled chunk depends on (trees, rule, switches, dtype, device)
    wide: bool = False  # f = Σᵢ φ(xᵢ): value is φ, grads [φ'], stepped on the whole [K, d] point


def plan(spec: BatchSpec, settings: Sequence[Setting], which: torch.Tensor) -> tuple[Plan | None, str]:
    """(plan, "") when the compiled engine can run the batch, else (None, why not)."""
    for f in fields(spec):  # something added to the engine that this one does not know (noise, minibatches)
        if f.name not in _KNOWN_SPEC_FIELDS and getattr(spec, f.name) != f.default:
            return None, f"{f.name} is set"
    if spec.record:
        return None, "the run keeps its history"
    if spec.starts.device.type not in ("cpu", "cuda"):
        return None, f"device {spec.starts.device.type}"
    names = {s.optimizer.name for s in settings}
    if len(names) != 1:
        return None, "the batch mixes optimizers"
    (name,) = names
    rule = RULES.get(name)
    if rule is None:
        return None, f"{name} has no compiled update rule"
    if any(s.schedule is not None for s in settings):
        return None, "a learning-rate schedule is set"
    derived = _derive(spec.objective)
    if derived is None:
        return None, f"no symbolic gradient for the {spec.objective.kind} objective"
    tree, wide, grads, sig = derived
    defaults = _defaults(settings[0])
    per_setting: list[dict[str, Any]] = []
    for s in settings:
        merged = {**defaults, **s.options}
        if "betas" in merged:
            merged["beta1"], merged["beta2"] = (float(b) for b in merged.pop("betas"))
        unknown = set(merged) - set(rule.numeric) - set(rule.switches) - {"lr"}
        bad = [k for k in unknown if merged[k] not in (None, False)]
        if bad:
            return None, f"option {sorted(bad)[0]!r} has no compiled form"
        per_setting.append(merged)
    switches: dict[str, bool] = {}
    for key in rule.switches:
        values = {bool(p.get(key) or False) for p in per_setting}
        if len(values) > 1:
            return None, f"runs differ in {key}"
        switches[key] = values.pop()
    # per setting, then per run by indexing (a sweep has few settings and many runs)
    index = which.to(device="cpu", dtype=torch.int64)
    columns = {
        key: torch.tensor([float(q[key]) for q in per_setting], dtype=torch.float64)[index] for key in rule.numeric
    }
    switches["uses_momentum"] = "momentum" in columns and bool((columns["momentum"] != 0).any())
    switches["uses_dampening"] = "dampening" in columns and bool(
        ((columns["dampening"] != 0) & (columns["momentum"] != 0)).any()
    )
    switches["uses_decay"] = "weight_decay" in columns and bool((columns["weight_decay"] != 0).any())
    switches["decoupled"] = name == "adamw" or switches.get("decoupled_weight_decay", False)
    key = "|".join(
        [
            name,
            "wide" if wide else "runs",
            sig,
            repr(sorted(switches.items())),
            str(spec.starts.dtype),
            spec.starts.device.type,
        ]
    )
    return Plan(name, rule, tree, grads, switches, columns, key, wide), ""


_DERIVED: list[tuple[Any, tuple[S, bool, list[S], str] | None]] = []  # (objective, what _derive found)


def _derive(objective: Any) -> tuple[S, bool, list[S], str] | None:
    """(tree, wide, ∇ trees, signature) of the objective, or None without a symbolic gradient;
    derived once per objective in a process (an Objective is frozen; deriving and hashing the
    trees cost about 0.5 ms, which a 4,096-run sweep would pay on every run)."""
    for obj, found in _DERIVED:
        if obj is objective:
            return found
    tree, wide = objective_tree(objective), False
    if tree is None:
        tree, wide = separable_term(objective), True
    result = None
    if tree is not None:
        grads = gradient(tree, 1 if wide else objective.dim)
        result = (tree, wide, grads, signature([tree, *grads]))
    _DERIVED.append((objective, result))
    del _DERIVED[:-8]
    return result


_TAPES: dict[str, Any] = {}


def _tape(p: Plan) -> Any:
    """tape([f, ∇f]) of the plan, built once per plan key (the key holds the trees' signature)."""
    found = _TAPES.get(p.key)
    if found is None:
        found = _TAPES[p.key] = tape([p.value, *p.grads])
    return found


def _defaults(setting: Setting) -> dict[str, Any]:
    """The optimizer's own defaults, read from its constructor (what torch.optim would use)."""
    out: dict[str, Any] = {}
    for key, param in accepted_options(setting.optimizer).items():
        if key != "lr" and param.default is not inspect.Parameter.empty:
            out[key] = param.default
    return out


# ---- choosing ---------------------------------------------------------------------------------


def estimate_eager_s(batch: int, dim: int, steps: int) -> float:
    return steps * (EAGER_STEP_S + EAGER_VALUE_S * batch * dim)


def compile_cost_s(key: str) -> float:
    """What compiling the chunk of `key` would cost now: nothing if this process has it, the warm
    cost if a gdplay process compiled it before (Inductor's disk cache has it), else the cold cost."""
    if key in _CHUNKS:
        return 0.0
    return COMPILE_WARM_S if _marker(key).exists() else COMPILE_COLD_S


def choose(engine: str, batch: int, dim: int, steps: int, key: str) -> bool:
    """Whether to compile: always for `compiled`; for `auto` only when the eager engine's estimated
    time exceeds the compile cost plus the compiled run's own time (so a small run never waits)."""
    if engine == "compiled":
        return True
    if engine != "auto":
        return False
    eager = estimate_eager_s(batch, dim, steps)
    compiled = compile_cost_s(key) + COMPILED_VALUE_S * batch * dim * steps
    return eager > compiled


def _marker(key: str) -> Path:
    """A file whose presence says that a gdplay process compiled `key` before (in gdplay's cache dir)."""
    base = os.environ.get("GDPLAY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gdplay"
    )
    digest = hashlib.sha256(f"{torch.__version__}|{key}".encode()).hexdigest()[:32]
    return Path(base) / "compiled" / digest


# ---- the chunk ------------------------------------------------------------------------------

_CHUNKS: dict[str, Callable[..., Any]] = {}


class _Direct:
    """torch.compile(fn, fullgraph=True) with Inductor, called past Dynamo once compiled.

    A call through Dynamo costs some 40–80 µs before the kernel runs (the frame hook, the guards,
    the rewritten bytecode): at 4,096 runs that is as long as a 16-step kernel. Our callers always
    pass the same kinds of tensors (dtype, device, rows fixed by the chunk's key; only the batch
    size varies, a symbol), so after the first call compiled exactly one graph, the graph's own
    compiled function (Inductor's, the same kernel Dynamo would call) is called with the graph's
    inputs read from the arguments: a tensor argument, an element of a tuple argument, or a size
    of one. Anything else (a second graph, an input of another kind, an output Dynamo rebuilds)
    keeps the Dynamo path."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.params = list(inspect.signature(fn).parameters)
        self.graphs: list[tuple[Callable[..., Any], list[Callable[[Sequence[Any]], Any]] | None]] = []
        self.direct: tuple[Callable[..., Any], list[Callable[[Sequence[Any]], Any]]] | None = None
        self.dynamo = torch.compile(fn, backend=self._backend, fullgraph=True)

    def _backend(self, gm: Any, example_inputs: Any) -> Any:
        from torch._inductor.compile_fx import compile_fx

        compiled: Any = compile_fx(gm, example_inputs)  # what backend="inductor" does
        getters: list[Callable[[Sequence[Any]], Any]] | None = []
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                get = self._getter(getattr(node.meta.get("grapharg"), "source", None))
                if get is None or getters is None:
                    getters = None
                else:
                    getters.append(get)
            elif node.op == "output" and getters is not None:
                (outs,) = node.args
                if not isinstance(outs, (tuple, list)) or len(outs) != len(set(map(id, outs))):
                    getters = None
        self.graphs.append((compiled, getters))
        return compiled

    def _getter(self, source: Any) -> Callable[[Sequence[Any]], Any] | None:
        from torch._dynamo.source import GetItemSource, LocalSource, TensorProperty, TensorPropertySource

        def local(src: Any) -> int | None:
            name = getattr(src, "local_name", None)
            return self.params.index(name) if isinstance(src, LocalSource) and name in self.params else None

        i = local(source.base if isinstance(source, (GetItemSource, TensorPropertySource)) else source)
        if i is None:
            return None
        if isinstance(source, LocalSource):
            return lambda args: args[i]
        if isinstance(source, GetItemSource) and isinstance(source.index, int) and not source.index_is_slice:
            j: int = source.index
            return lambda args: args[i][j]
        if isinstance(source, TensorPropertySource) and source.prop == TensorProperty.SIZE and source.idx is not None:
            d: int = source.idx
            return lambda args: args[i].size(d)
        return None

    def __call__(self, *args: Any) -> Any:
        if self.direct is not None:
            compiled, getters = self.direct
            return tuple(compiled(*[get(args) for get in getters]))  # as Dynamo's bytecode calls it
        out = self.dynamo(*args)
        if len(self.graphs) == 1 and self.graphs[0][1] is not None and isinstance(out, tuple):
            self.direct = self.graphs[0]  # type: ignore[assignment]
        return out


def _inductor(fn: Callable[..., Any]) -> Callable[..., Any]:
    return _Direct(fn)  # no graph breaks: one graph, or an error and eager


# What turns a chunk into a kernel. The tests of the update rules swap in the identity (the same
# torch code run eagerly, seconds cheaper); tests/test_compiled_engine.py compiles for real too.
COMPILER: Callable[[Callable[..., Any]], Callable[..., Any]] = _inductor


def _layout(p: Plan, dim: int) -> tuple[tuple[str, ...], int]:
    """(state slots per coordinate, rows of the stacked state): rows 0..dim−1 are x, then each
    coordinate's slots, then one row that is 1 while the run is going and 0 once it stopped."""
    slots = p.rule.slots(p.switches)
    return slots, dim * (1 + len(slots)) + 1


def _unstack(p: Plan, dim: int, z: Any, hyper: Sequence[str], h: Any, h64: Any) -> tuple[Any, ...]:
    slots, rows = _layout(p, dim)
    xs = [z[d] for d in range(dim)]
    state = [{k: z[dim + d * len(slots) + j] for j, k in enumerate(slots)} for d in range(dim)]
    hp = {k: h[i] for i, k in enumerate(hyper)}
    if "beta1" in hp:
        hp["beta1_64"], hp["beta2_64"] = h64[0], h64[1]
    return xs, state, hp, z[rows - 1] > 0


def _fast_chunk(p: Plan, dim: int, gmax: float, n: int, hyper: Sequence[str], with_tol: bool) -> Callable[..., Any]:
    """n steps of the batch as one function of element-wise operations (what Inductor compiles).

    chunk(a, b, h, h64, t0, limits) reads the stacked state a ([rows, K]: x, the optimizer's slots,
    running) and returns (the state n steps later, how many running runs met an event in these n
    steps); a is left as it was, for a replay. With b given (the uncompiled tail) the new state is
    written into b; the compiled form gets None and returns one new buffer (writing into b there
    made Inductor stage the rows in a buffer of its own and copy it, a second pass). Per step the
    test is the eager checker's, rewritten to cost two maxima per step and three compares per chunk:

        ok ⇔ maxₜ |fₜ| ≤ blowup ∧ maxₜ Σⱼ gⱼ² ≤ max    (Σg² ≤ max ⇔ |∇f| = √Σg² finite; maximum
             ∧ √(minₜ Σⱼ gⱼ²) ≥ tol                    propagates NaN, and NaN compares False;
                                                        the tol term only when a tol is set)

    and the point's finiteness once, at the chunk's end (a point that is not finite stays so
    under every update rule: x − lr·d with x = ±inf or NaN is not finite). Which step and why is
    left to the replay (`_replay_chunk`) of the few runs that met one."""
    code, outs = _tape(p)
    step_rule = p.rule.step
    on = dict(p.switches)
    slots, _ = _layout(p, dim)

    def chunk(a, b, h, h64, t0, limits):  # type: ignore[no-untyped-def]
        xs, state, hp, running = _unstack(p, dim, a, hyper, h, h64)
        tol, blowup = limits[0], limits[1]
        fmax = gmax_seen = gmin_seen = None
        for i in range(n):
            t = t0 + i
            f, *gs = run_tape(code, outs, xs)
            gsq = gs[0] * gs[0]
            for g in gs[1:]:
                gsq = gsq + g * g
            fa = f.abs()
            fmax = fa if fmax is None else torch.maximum(fmax, fa)  # NaN-propagating
            gmax_seen = gsq if gmax_seen is None else torch.maximum(gmax_seen, gsq)
            if with_tol:
                gmin_seen = gsq if gmin_seen is None else torch.minimum(gmin_seen, gsq)
            for d in range(dim):
                xs[d], state[d] = step_rule(xs[d], gs[d], state[d], hp, t, on)
        nan_if_not_finite = xs[0] * 0.0
        for x in xs[1:]:
            nan_if_not_finite = nan_if_not_finite + x * 0.0
        ok = running & (fmax <= blowup) & (gmax_seen <= gmax) & (nan_if_not_finite == 0.0)
        if with_tol:  # √ is monotone and correctly rounded: min √(Σg²) = √(min Σg²)
            ok = ok & (gmin_seen.sqrt() >= tol)
        rows = [*xs, *(s[k] for s in state for k in slots), ok.to(xs[0].dtype)]
        if b is None:
            return torch.stack(rows), (running & ~ok).sum()
        b.copy_(torch.stack(rows))
        return b, (running & ~ok).sum()

    return chunk


def _evaluate(p: Plan, dim: int, code: Any, outs: Any, xs: Sequence[Any], gmax: float, tol: Any, blowup: Any):
    """f, |∇f| and the eager checker's test (ok) at the points xs."""
    f, *gs = run_tape(code, outs, list(xs))
    gn = gs[0] * gs[0]
    for g in gs[1:]:
        gn = gn + g * g
    gn = gn.sqrt()
    finite_x = torch.isfinite(xs[0])
    for x in xs[1:]:
        finite_x = finite_x & torch.isfinite(x)
    ok = (f.abs() <= blowup) & (gn <= gmax) & (gn >= tol) & finite_x
    return f, gs, gn, ok


def _replay_chunk(p: Plan, dim: int, gmax: float, n: int, hyper: Sequence[str]) -> Callable[..., Any]:
    """The same n steps in plain torch on the few runs that met an event, from the chunk's start,
    with the eager checker's test at each step: (found, stop, [x₀.., f, |∇f|] at the stop step)."""
    code, outs = _tape(p)
    step_rule = p.rule.step
    on = dict(p.switches)

    def replay(a, h, h64, t0, tol, blowup):  # type: ignore[no-untyped-def]
        xs, state, hp, running = _unstack(p, dim, a, hyper, h, h64)
        stop = torch.zeros_like(running, dtype=torch.int64)
        kept = [torch.full_like(xs[0], float("nan")) for _ in range(dim + 2)]
        for i in range(n + 1):  # n steps, and the point they end at (a point gone non-finite there)
            t = t0 + i
            f, gs, gn, ok = _evaluate(p, dim, code, outs, xs, gmax, tol, blowup)
            new = running & ~ok
            if i == n:
                new = new & ~torch.isfinite(sum(x * 0.0 for x in xs))  # only the end test of the chunk
            stop = torch.where(new, t, stop)
            kept = [torch.where(new, v, k) for v, k in zip([*xs, f, gn], kept, strict=True)]
            running = running & ~new
            if i < n:
                for d in range(dim):
                    xs[d], state[d] = step_rule(xs[d], gs[d], state[d], hp, t, on)
        return ~running, stop, kept

    return replay


def compiled_chunk(p: Plan, dim: int, dtype: torch.dtype, batch: int, hyper: Sequence[str], with_tol: bool
                   ) -> tuple[Callable[..., Any], bool]:  # fmt: skip
    """(the compiled chunk of the plan, whether it is new): compiled once per process for one run
    and once for any number of runs ≥ 2 (the batch size a symbol), cached on disk by Inductor."""
    n = chunk_steps(batch)
    key = f"{p.key}|n={n}|tol={with_tol}|threads={torch.get_num_threads()}|{'one' if batch == 1 else 'many'}"
    found = _CHUNKS.get(key)
    if found is not None:
        return found, False
    fn = _fast_chunk(p, dim, torch.finfo(dtype).max, n, hyper, with_tol)
    # dynamic=None, not True: True would also make the tape's numbers symbols (guards on each);
    # the batch size is marked dynamic on the inputs instead (see run_compiled).
    found = _CHUNKS[key] = COMPILER(fn)
    _CHUNKS[p.key] = found
    return found, True


def chunk_steps(batch: int) -> int:
    """Steps per compiled call: CHUNK, or LONG_CHUNK for a small batch whose call would be too short
    to pay the call's own cost (Dynamo's guards and the wrapper, some 10–30 µs)."""
    return LONG_CHUNK if 1 < batch <= 8192 else CHUNK


# ---- running --------------------------------------------------------------------------------


def _hyper(p: Plan, spec: BatchSpec, dtype: torch.dtype, device: torch.device, batch: int
            ) -> tuple[tuple[str, ...], torch.Tensor, torch.Tensor]:  # fmt: skip
    """(names, h, h64): the per-run numbers of the update stacked into one [names, K] tensor (and
    the betas in float64 for Adam's bias corrections, else a placeholder row)."""
    hyper = ("lr", *p.columns, *(("keep",) if "dampening" in p.columns else ()))
    cols: dict[str, torch.Tensor] = {"lr": spec.lrs.to(device=device, dtype=dtype)}
    for key, values in p.columns.items():
        cols[key] = values.to(device=device, dtype=dtype)
    if "dampening" in cols:  # torch.optim.SGD ignores dampening where momentum is 0
        cols["keep"] = torch.where(cols["momentum"] == 0, torch.ones_like(cols["momentum"]), 1 - cols["dampening"])
    h = torch.stack([cols[k] for k in hyper]).contiguous()
    if "beta1" in cols:
        h64 = torch.stack([p.columns["beta1"], p.columns["beta2"]]).to(device=device, dtype=torch.float64)
    else:
        h64 = torch.zeros((1, batch), dtype=torch.float64, device=device)
    return hyper, h, h64


def _wide_step(p: Plan, hyper: Sequence[str], names: Sequence[str]) -> Callable[..., Any]:
    """One step of a separable objective f(x) = Σᵢ φ(xᵢ) on the whole [K, d] point, in place:

        f ← Σᵢ φ(xᵢ),  Σg² ← Σᵢ φ'(xᵢ)²,  0·Σx (NaN where a coordinate is not finite)    (at x_t)
        x_{t+1} → xb,  slots updated where they lie                                       (the rule)

    One pass over memory: x_t and the slots read once, x_{t+1} and the slots written once (a step
    of momentum SGD moves two copies' worth of bytes, the floor). x_t stays in xa, so a run that
    stopped at step t is read there; the host swaps xa and xb."""
    code, outs = _tape(p)
    step_rule = p.rule.step
    on = dict(p.switches)

    def step(xa, xb, slots, h, h64, t):  # type: ignore[no-untyped-def]
        hp = {k: h[i].unsqueeze(-1) for i, k in enumerate(hyper)}
        if "beta1" in hp:
            hp["beta1_64"], hp["beta2_64"] = h64[0].unsqueeze(-1), h64[1].unsqueeze(-1)
        phi, g = run_tape(code, outs, [xa])
        f = phi.sum(-1)
        gsq = (g * g).sum(-1)
        nan_if_not_finite = (xa * 0.0).sum(-1)
        new, st = step_rule(xa, g, dict(zip(names, slots, strict=True)), hp, t, on)
        xb.copy_(new)
        for k, slot in zip(names, slots, strict=True):
            slot.copy_(st[k])
        return f, gsq, nan_if_not_finite

    return step


def run_wide(spec: BatchSpec, p: Plan, progress: Progress | None = None) -> BatchTrace:
    """Run a batch of a separable objective (any d) one fused in-place step per call."""
    batch, dim = spec.starts.shape
    device, dtype = spec.starts.device, spec.starts.dtype
    first_compile = p.key not in _CHUNKS
    hyper, h, h64 = _hyper(p, spec, dtype, device, batch)
    names = p.rule.slots(p.switches)
    key = f"{p.key}|threads={torch.get_num_threads()}"
    fn = _CHUNKS.get(key)
    fresh = fn is None
    if fn is None:
        fn = _CHUNKS[key] = _CHUNKS[p.key] = COMPILER(_wide_step(p, hyper, names))
    xa = spec.starts.detach().clone().contiguous()
    xb = torch.empty_like(xa)
    if p.name == "adagrad":
        init = h[hyper.index("initial_accumulator_value")].unsqueeze(-1)
        slots = tuple((torch.zeros_like(xa) + init).contiguous() for _ in names)
    else:
        slots = tuple(torch.zeros_like(xa) for _ in names)
    if fresh:
        for tensor in (xa, xb, *slots):
            torch._dynamo.mark_dynamic(tensor, 1)  # d a symbol: one compile for every width
    gmax = torch.finfo(dtype).max
    tol = spec.tol if spec.tol is not None else 0.0
    nan = float("nan")
    stop = torch.full((batch,), spec.steps, dtype=torch.int64, device=device)
    stopped = torch.zeros(batch, dtype=torch.bool, device=device)
    fx = torch.full((batch, dim), nan, dtype=dtype, device=device)
    ff = torch.full((batch,), nan, dtype=dtype, device=device)
    fg = torch.full((batch,), nan, dtype=dtype, device=device)

    def verdict(f: torch.Tensor, gsq: torch.Tensor, nx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gn = gsq.sqrt()
        return gn, (f.abs() <= spec.blowup) & (gn <= gmax) & (gn >= tol) & (nx == 0)

    done = 0
    interrupted = False
    began = time.perf_counter()
    try:
        while done < spec.steps:
            t = torch.tensor([done], dtype=torch.int64, device=device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                f, gsq, nx = fn(xa, xb, slots, h, h64, t)
            gn, ok = verdict(f, gsq, nx)
            new = ~stopped & ~ok
            if bool(new.any()):  # read these runs at x_t, which is still in xa
                rows = torch.nonzero(new).squeeze(1)
                fx[rows], ff[rows], fg[rows], stop[rows] = xa[rows], f[rows], gn[rows], done
                stopped |= new
                if bool(stopped.all()):
                    break
            xa, xb = xb, xa
            done += 1
            if progress is not None:
                progress(done, spec.steps)
    except KeyboardInterrupt:
        interrupted = True
    wall = _ended(p, began, first_compile, interrupted)
    going = ~stopped
    code, outs = _tape(p)
    phi, g = run_tape(code, outs, [xa])
    gn, ok = verdict(phi.sum(-1), (g * g).sum(-1), (xa * 0.0).sum(-1))
    rows = torch.nonzero(going).squeeze(1)
    fx[rows], ff[rows], fg[rows], stop[rows] = xa[rows], phi.sum(-1)[rows], gn[rows], done
    if progress is not None:
        progress(spec.steps, spec.steps)
    return _trace(spec, fx, ff, fg, stop, going & ok, interrupted, wall)


def _trace(spec: BatchSpec, fx: torch.Tensor, ff: torch.Tensor, fg: torch.Tensor, stop: torch.Tensor,
           passed: torch.Tensor, interrupted: bool, wall: float) -> BatchTrace:  # fmt: skip
    """The BatchTrace: why each stopped run stopped follows from what it was at its stop step (the
    eager checker's order: f not finite, then the gradient, the point, |f| > blowup; none of them:
    converged); a run still going that passed its last test is max_steps (or interrupted)."""
    cause = torch.zeros(len(ff), dtype=torch.int64, device=ff.device)
    cause = torch.where(ff.abs() > spec.blowup, 4, cause)
    cause = torch.where(~torch.isfinite(fx).all(dim=1), 3, cause)
    cause = torch.where(~torch.isfinite(fg), 2, cause)
    cause = torch.where(~torch.isfinite(ff), 1, cause)
    cause = torch.where(passed, 0, cause)
    status = torch.where(cause > 0, DIVERGED, CONVERGED)
    status = torch.where(passed, INTERRUPTED if interrupted else MAX_STEPS, status)
    return BatchTrace(
        status=status.cpu(),
        cause=cause.cpu(),
        stop=stop.cpu(),
        final_x=fx.contiguous().cpu(),
        final_f=ff.cpu(),
        final_g=fg.cpu(),
        wall_time_s=wall,
        interrupted=interrupted,
    )


def run_compiled(spec: BatchSpec, p: Plan, progress: Progress | None = None) -> BatchTrace:
    """Run the batch on the compiled chunk: the BatchTrace the eager engine would give (no history)."""
    if p.wide:
        return run_wide(spec, p, progress)
    batch, dim = spec.starts.shape
    device, dtype = spec.starts.device, spec.starts.dtype
    first_compile = p.key not in _CHUNKS
    with_tol = spec.tol is not None and spec.tol > 0
    hyper, h, h64 = _hyper(p, spec, dtype, device, batch)
    fn, fresh = compiled_chunk(p, dim, dtype, batch, hyper, with_tol)
    n = chunk_steps(batch)
    slots, rows = _layout(p, dim)
    a = torch.zeros((rows, batch), dtype=dtype, device=device)
    a[:dim] = spec.starts.detach().t()
    if p.name == "adagrad":
        for d in range(dim):
            for j in range(len(slots)):
                a[dim + d * len(slots) + j] = h[hyper.index("initial_accumulator_value")]
    a[rows - 1] = 1.0
    b = torch.empty_like(a)

    nan = float("nan")
    stop = torch.full((batch,), spec.steps, dtype=torch.int64, device=device)
    stopped = torch.zeros(batch, dtype=torch.bool, device=device)
    fx = torch.full((dim, batch), nan, dtype=dtype, device=device)
    ff, fg = (
        torch.full((batch,), nan, dtype=dtype, device=device),
        torch.full((batch,), nan, dtype=dtype, device=device),
    )

    def scalar(v: float, kind: torch.dtype = dtype) -> torch.Tensor:
        # shape [1], not 0-d: torch.compile would read a 0-d tensor as a number (a guard, a restart)
        return torch.tensor([v], dtype=kind, device=device)

    tol_t = scalar(spec.tol if spec.tol is not None else 0.0)
    blowup_t = scalar(spec.blowup)
    limits = torch.cat([tol_t, blowup_t])
    gmax = torch.finfo(dtype).max
    done = 0  # updates made (the point is at step `done`)
    left = batch
    interrupted = False
    if fresh and batch > 1:
        for t in (a, h, h64):
            torch._dynamo.mark_dynamic(t, 1)
    starts_t = torch.arange(spec.steps + 1, dtype=torch.int64, device=device)  # t₀ of every chunk
    began = time.perf_counter()
    try:
        while done < spec.steps and left:
            k = min(n, spec.steps - done)
            # The last few steps (fewer than a chunk) run the same function uncompiled.
            call = fn if k == n else _fast_chunk(p, dim, gmax, k, hyper, with_tol)
            t0 = starts_t[done : done + 1]  # a view: torch.tensor([done]) costs 5 µs a chunk
            if fresh and done == 0:  # the call that compiles: torch's own deprecations are not the user's
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    b, hits_t = call(a, None if call is fn else b, h, h64, t0, limits)
            else:
                b, hits_t = call(a, None if call is fn else b, h, h64, t0, limits)
            hits = int(hits_t)
            if hits:  # some runs met an event in this chunk: replay it for them to find where and why
                idx = torch.nonzero((a[rows - 1] > 0) & ~(b[rows - 1] > 0)).squeeze(1)
                found, at, kept = _replay_chunk(p, dim, gmax, k, hyper)(
                    a[:, idx], h[:, idx], h64[:, idx], t0, tol_t, blowup_t
                )
                rows_found = idx[found]
                stop[rows_found] = at[found]
                stopped[rows_found] = True
                for d in range(dim):
                    fx[d, rows_found] = kept[d][found]
                ff[rows_found], fg[rows_found] = kept[dim][found], kept[dim + 1][found]
                b[rows - 1, idx[~found]] = 1.0  # no event after all (the chunk's test is the cheaper one)
                left = batch - int(stopped.sum())
            a, b = b, a
            done += k
            if progress is not None:
                progress(done, spec.steps)
    except KeyboardInterrupt:
        interrupted = True
    wall = _ended(p, began, first_compile, interrupted)
    # The runs still going are read at the point they reached (step `done`): checked there as the
    # eager engine checks its last step; what passes is max_steps (or interrupted).
    going = ~stopped
    xs = [a[d] for d in range(dim)]
    code, outs = _tape(p)
    f, _, gn, ok = _evaluate(p, dim, code, outs, xs, gmax, tol_t, blowup_t)
    for d in range(dim):
        fx[d] = torch.where(going, xs[d], fx[d])
    ff, fg = torch.where(going, f, ff), torch.where(going, gn, fg)
    stop = torch.where(going, done, stop)
    if progress is not None:
        progress(spec.steps, spec.steps)
    return _trace(spec, fx.t(), ff, fg, stop, going & ok, interrupted, wall)


def _ended(p: Plan, began: float, first_compile: bool, interrupted: bool) -> float:
    """The run's wall time since `began`; a chunk compiled by this run that ran to its end is
    marked as in Inductor's on-disk cache (an interrupted compile may have left it half written)."""
    wall = time.perf_counter() - began
    if first_compile and not interrupted:
        _mark(p.key)
    return wall


def _mark(key: str) -> None:
    try:
        path = _marker(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:  # a read-only home: auto then assumes a cold cache, which is only slower
        pass


def try_compiled(
    spec: BatchSpec, settings: Sequence[Setting], which: torch.Tensor, progress: Progress | None
) -> tuple[BatchTrace | None, str | None]:
    """(trace, None) when the batch ran compiled; (None, note) when it must run eager, with the
    reason as a note when `compiled` was asked for explicitly (auto falls back silently)."""
    p, why = plan(spec, settings, which)
    if p is None:
        return None, (f"engine compiled: ran eager instead ({why})" if spec.engine == "compiled" else None)
    batch, dim = spec.starts.shape
    if not choose(spec.engine, batch, dim, spec.steps, p.key):
        return None, None
    try:
        trace = run_compiled(spec, p, progress)
    except Exception as exc:  # no C compiler, an Inductor failure: the eager engine is always there
        if spec.engine != "compiled":
            return None, None
        return None, f"engine compiled: ran eager instead (compiling failed: {type(exc).__name__})"
    trace.lrs = spec.lrs.to(torch.float64).cpu()
    trace.notes = [f"compiled engine: symbolic gradient, fused chunks of {chunk_steps(batch)} steps"]
    return trace, None
