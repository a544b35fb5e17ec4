"""The engine: runs gradient descent on a batch of B runs at once and returns results as data.

One code path serves a single run (a batch of one) and a sweep of thousands.
All runs' points live in tensors with a leading batch dimension; the objective is
evaluated once on all B points and one backward pass gives every run its own
gradient, since runs do not interact. Runs may differ in start, learning rate,
optimizer options, schedule and even optimizer; the rows are cut into *parts*:

- rows that differ only in lr share one torch optimizer: with lr-linear rules
  (SGD, Adam, RMSprop, ...; see optimizers/registry.py) the step is taken with
  lr = 1 and then scaled row by row, x ← x₀ + lr·(x₁ − x₀), because their state
  does not depend on lr; other rules get one parameter group per lr;
- rows that differ in options (betas, eps, ...) are separate parameter groups,
  each over its own leaf tensor; the leaves are concatenated for the one
  objective evaluation, so autograd splits the gradient back to them;
- `sgd` rows that differ in momentum, dampening or weight decay use gdplay's
  RowwiseSGD (optimizers/rowwise.py): the same rule with those numbers as [B, 1]
  columns, a few tensor operations for the whole batch instead of a Python pass
  per parameter group; `manual_sgd` takes per-row lr and momentum as they are;
- optimizers that mix coordinates (LBFGS, Adafactor) cannot share a tensor with
  other runs: their rows run one by one, and the trace says so in `notes`.

Per step t = 0..steps the engine keeps the point x_t, f(x_t) and the gradient at
x_t, then updates. It keeps *references* to the fresh tensors that autograd and
the objective produce (gradients are set to None after each step, so backward
allocates new ones) and copies only the point, which the optimizer updates in
place. Every chunk of steps (32 at first, doubling up to 1,024 for small batches;
8 for wide batches on the CPU, whose checks would not stay in cache) a vectorised
check finds, per run, the first step that diverged (NaN, inf, |f| > blowup) or
converged (gradient norm < tol). Checking per chunk keeps the hot
loop free of host-device synchronisation; a run that stopped keeps computing
until the chunk ends, but its result is read at its own stop step, so nothing
after that step leaks into it, and a diverged row never touches its neighbours
(every operation is row-wise).

The runner never prints: progress goes through a callback.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from gdplay.optim.factory import make_optimizer
from gdplay.optim.registry import OptimizerInfo
from gdplay.optim.schedule import Schedule
from gdplay.problems.base import Objective

Progress = Callable[[int, int], None]  # (steps done, steps in all)

CHUNK = 32  # steps in the first chunk between checks; later chunks double ...
MAX_CHUNK = 1024  # ... up to this many steps, while a chunk holds at most this many values of f (runs × steps):
CHUNK_VALUES_GPU = 1 << 17
CHUNK_VALUES_CPU = 1 << 17
MIN_CHUNK_CPU = 8  # but at least this many steps per check on the CPU
# A CPU batch of at most this many coordinates runs on one thread (see _serial): torch's grain
# size, below which its element-wise operations run on one thread anyway.
SERIAL_VALUES = 1 << 15

# Status codes inside the engine; names in results.
RUNNING, CONVERGED, DIVERGED, MAX_STEPS, INTERRUPTED = 0, 1, 2, 3, 4
STATUS_NAMES = {CONVERGED: "converged", DIVERGED: "diverged", MAX_STEPS: "max_steps", INTERRUPTED: "interrupted"}
# Why a run diverged.
CAUSES = {1: "f is not finite", 2: "the gradient is not finite", 3: "the point is not finite", 4: "|f| exceeds blowup"}

ROWWISE = {"sgd"}  # torch optimizers whose per-row options RowwiseSGD serves
ROW_OPTIONS = {"momentum", "dampening", "weight_decay"}  # the options it takes per row


@dataclass(frozen=True)
class Setting:
    """An optimizer with one set of options (everything but lr) and an optional schedule."""

    optimizer: OptimizerInfo
    options: Mapping[str, Any]
    schedule: Schedule | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.optimizer.name, repr(sorted(self.options.items())), self.schedule.key if self.schedule else None)


@dataclass(frozen=True)
class LrPlan:
    """A run's lr before update t: `sequence[t]` exactly, or a_t + lr·b_t, or lr (no schedule)."""

    sequence: Sequence[float] | None = None
    a: Sequence[float] | None = None
    b: Sequence[float] | None = None

    def lrs(self, lr: float, n: int) -> list[float]:
        if self.sequence is not None:
            return list(self.sequence[:n])
        if self.a is not None and self.b is not None:
            return [at + lr * bt for at, bt in zip(self.a[:n], self.b[:n], strict=True)]
        return [lr] * n


@dataclass
class BatchTrace:
    """What a batch of B runs did, as tensors on the CPU.

    stop[b]: the step at which run b stopped (its number of updates); status[b], cause[b]: codes.
    history_*: records for t = 0..max(stop), or None when history was not kept.
    """

    status: torch.Tensor  # [B] int
    cause: torch.Tensor  # [B] int (0 = none)
    stop: torch.Tensor  # [B] int
    final_x: torch.Tensor  # [B, D]
    final_f: torch.Tensor  # [B]
    final_g: torch.Tensor  # [B]  gradient norm
    history_x: torch.Tensor | None = None  # [T, B, D]
    history_f: torch.Tensor | None = None  # [T, B]
    history_g: torch.Tensor | None = None  # [T, B]
    wall_time_s: float = 0.0
    threads: int = 0  # torch's intra-op threads the steps ran on (1 for small CPU batches)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    lrs: torch.Tensor | None = None  # [B] float64: each run's configured lr
    # per row: evaluations of f and ∇f the optimizer asked for (-1: one per update, the usual case)
    # and the first step an L-BFGS step left x unchanged with its gradient still above tolerance_grad
    # (-1: never); see _SequentialPart
    evaluations: torch.Tensor | None = None  # [B] int
    stalled_at: torch.Tensor | None = None  # [B] int
    plans: list[LrPlan] = field(default_factory=lambda: [LrPlan()])
    plan_of_row: torch.Tensor | None = None  # [B] index into plans

    def row_lrs(self, row: int) -> list[float]:
        """The lr run `row` used before each of its updates (its schedule, if any, applied)."""
        n = int(self.stop[row])
        lr = float(self.lrs[row]) if self.lrs is not None else float("nan")
        plan = self.plans[int(self.plan_of_row[row])] if self.plan_of_row is not None else self.plans[0]
        return plan.lrs(lr, n)


@dataclass(frozen=True)
class BatchSpec:
    """A batch: one objective, B starts and B learning rates, and the optimizer settings of the rows.

    By default every row uses `optimizer` with `options` and `schedule`; a sweep gives
    `settings` and `which` (the index of each row's setting) instead.
    """

    objective: Objective
    optimizer: OptimizerInfo | None
    options: Mapping[str, Any]
    starts: torch.Tensor  # [B, D], on the target device and dtype
    lrs: torch.Tensor  # [B] learning rates, float64 on the CPU (exactly as configured)
    steps: int
    tol: float | None = None
    blowup: float = 1e20
    record: bool = True
    schedule: Schedule | None = None
    settings: tuple[Setting, ...] = ()
    which: torch.Tensor | None = None  # [B] int64 on the CPU
    rowwise: bool = True  # False: serve per-row sgd options with torch.optim parameter groups instead
    engine: str = "eager"  # eager | compiled | auto: see gdplay/engine/compiled.py
    noise: Any = None  # engine.noise.NoiseSpec: stochastic gradients (noise, minibatches), per row

    def resolved(self) -> tuple[tuple[Setting, ...], torch.Tensor]:
        batch = self.starts.shape[0]
        if self.settings:
            which = self.which if self.which is not None else torch.zeros(batch, dtype=torch.int64)
            return self.settings, which.to(torch.int64).cpu()
        if self.optimizer is None:
            raise ValueError("a BatchSpec needs an optimizer or settings")
        return (Setting(self.optimizer, dict(self.options), self.schedule),), torch.zeros(batch, dtype=torch.int64)


def run_batch(spec: BatchSpec, progress: Progress | None = None) -> BatchTrace:
    """Run every row of the batch: the batchable rows in one lockstep loop, the others one by one."""
    settings, which = spec.resolved()
    batch, dim = spec.starts.shape
    with _serial(spec.starts.device.type == "cpu" and batch * dim <= SERIAL_VALUES):
        note = None
        if spec.engine != "eager":  # the one door to the compiled engine; it declines what it cannot run
            from gdplay.engine.compiled import try_compiled

            compiled, note = try_compiled(spec, settings, which, progress)
            if compiled is not None:
                compiled.threads = torch.get_num_threads()
                return compiled
        trace = _run_batch(spec, settings, which, progress)
        if note:
            trace.notes.append(note)
        trace.threads = torch.get_num_threads()
        return trace


def _run_batch(
    spec: BatchSpec, settings: tuple[Setting, ...], which: torch.Tensor, progress: Progress | None
) -> BatchTrace:
    batch = spec.starts.shape[0]
    parts, sequential, notes = _plan(spec, settings, which)
    passes = (1 if parts else 0) + len(sequential)
    done = [0]

    def tick(step: int, total: int) -> None:
        if progress is not None:
            progress(done[0] * spec.steps + step, passes * spec.steps)

    pieces: list[tuple[torch.Tensor, BatchTrace]] = []
    used: list[_Part] = list(parts)
    if parts:
        order = torch.cat([part.rows for part in parts])
        pieces.append((order, _run_parts(spec, parts, tick)))
        done[0] += 1
    for row in sequential:
        if pieces and pieces[-1][1].interrupted:
            break
        part = _SequentialPart(spec, settings[int(which[row])], row)
        used.append(part)
        piece = _run_parts(spec, [part], tick, flat=True)
        piece.evaluations, piece.stalled_at = part.counts()
        pieces.append((part.rows, piece))
        done[0] += 1
    trace = _merge(pieces, spec, batch)
    trace.notes = notes
    trace.plans, trace.plan_of_row = _row_plans(used, batch)
    trace.lrs = spec.lrs.to(torch.float64).cpu()
    return trace


# ---- planning: rows -> parts ----------------------------------------------------------------


def _plan(
    spec: BatchSpec, settings: Sequence[Setting], which: torch.Tensor
) -> tuple[list[_Part], list[int], list[str]]:
    """Cut the rows into parts that can step together, and the rows that must run alone."""
    order = torch.argsort(which, stable=True)
    counts = torch.bincount(which, minlength=len(settings)).tolist()
    rows_of: dict[int, torch.Tensor] = {}
    start = 0
    for s, n in enumerate(counts):
        if n:
            rows_of[s] = order[start : start + n]
        start += n
    sequential: list[int] = []
    notes: list[str] = []
    families: dict[tuple[Any, ...], list[int]] = {}
    for s in rows_of:
        setting = settings[s]
        info = setting.optimizer
        if not info.batchable:
            sequential.extend(rows_of[s].tolist())
            continue
        sched = setting.schedule.key if setting.schedule else None
        if info.torch_class is None or (spec.rowwise and info.name in ROWWISE):
            flags = tuple(sorted((k, v) for k, v in setting.options.items() if k not in ROW_OPTIONS))
            families.setdefault(("own", info.name, flags, sched), []).append(s)
        else:
            families.setdefault(("torch", info.name, sched), []).append(s)
    parts: list[_Part] = []
    for key, members in families.items():
        # sgd takes gdplay's RowwiseSGD even alone: torch.optim's first step imports torch._dynamo
        # (over a second of start-up), and RowwiseSGD is torch's rule line by line (test_runner.py).
        if key[0] == "own":
            parts.append(_OwnPart(spec, [settings[s] for s in members], [rows_of[s] for s in members]))
        else:
            parts.append(_TorchPart(spec, [settings[s] for s in members], [rows_of[s] for s in members]))
    if sequential:
        names = sorted({settings[int(which[r])].optimizer.name for r in sequential})
        for name in names:
            info = next(st.optimizer for st in settings if st.optimizer.name == name)
            n = sum(1 for r in sequential if settings[int(which[r])].optimizer.name == name)
            if n > 1 or parts:
                notes.append(f"{name} cannot be batched ({info.why_not}): its {n} run(s) ran one by one")
    sequential.sort()
    return parts, sequential, notes


class _Part:
    """Rows that step together: their leaf tensors, where they sit in the batch, how their lr evolves."""

    rows: torch.Tensor  # original row indices, in the order of the leaves
    leaves: list[torch.Tensor]
    plans: list[tuple[torch.Tensor, LrPlan]]  # (rows, plan) for the row-lr history

    def step(self, t: int, x: torch.Tensor) -> None:  # x: this step's points of the whole batch
        raise NotImplementedError


def _lr_plan(spec: BatchSpec, schedule: Schedule | None, lrs: torch.Tensor) -> tuple[bool, LrPlan]:
    """(uniform, plan) for rows with these lrs: an exact sequence when they share one lr."""
    uniform = bool((lrs == lrs[0]).all())
    if schedule is None:
        return uniform, LrPlan()
    if uniform:
        return True, LrPlan(sequence=schedule.sequence(float(lrs[0]), spec.steps))
    a, b = schedule.affine(spec.steps)
    return False, LrPlan(a=a, b=b)


def _leaf(spec: BatchSpec, rows: torch.Tensor) -> torch.Tensor:
    index = rows.to(spec.starts.device)
    return spec.starts.index_select(0, index).detach().clone().requires_grad_(True)


def _column(spec: BatchSpec, values: torch.Tensor) -> torch.Tensor:
    return values.to(device=spec.starts.device, dtype=spec.starts.dtype).unsqueeze(1)


class _TorchPart(_Part):
    """One torch.optim optimizer: a parameter group per setting (and per lr for non-lr-linear rules)."""

    def __init__(self, spec: BatchSpec, settings: list[Setting], rows: list[torch.Tensor]):
        info = settings[0].optimizer
        schedule = settings[0].schedule
        groups: list[dict[str, Any]] = []
        self.leaves, self.plans, ordered = [], [], []
        self.sequenced: list[tuple[dict[str, Any], Sequence[float]]] = []
        scaled: list[tuple[int, torch.Tensor, LrPlan]] = []  # (leaf index, lr column, plan)
        for setting, r in zip(settings, rows, strict=True):
            lrs = spec.lrs[r]
            if info.lr_linear:
                pieces = [r]
            else:  # the lr lives in the optimizer's state: one group per lr value
                values, inverse = torch.unique(lrs, return_inverse=True)
                pieces = [r[inverse == i] for i in range(len(values))]
            for piece in pieces:
                piece_lrs = spec.lrs[piece]
                uniform, plan = _lr_plan(spec, schedule, piece_lrs)
                leaf = _leaf(spec, piece)
                group: dict[str, Any] = {"params": [leaf], **setting.options}
                if uniform:
                    group["lr"] = plan.sequence[0] if plan.sequence is not None else float(piece_lrs[0])
                else:
                    group["lr"] = 1.0
                    scaled.append((len(self.leaves), _column(spec, piece_lrs), plan))
                groups.append(group)
                if uniform and plan.sequence is not None:
                    self.sequenced.append((group, plan.sequence))
                self.leaves.append(leaf)
                self.plans.append((piece, plan))
                ordered.append(piece)
        self.rows = torch.cat(ordered)
        self.optimizer = make_optimizer(info, groups, groups[0]["lr"], {})
        if info.torch_class == "Adagrad":
            # Adagrad's constructor fills its sums from its own initial_accumulator_value argument
            # (0 here), not from the groups' values: set them as each group asks.
            for group in self.optimizer.param_groups:
                for p in group["params"]:
                    self.optimizer.state[p]["sum"].fill_(group["initial_accumulator_value"])
        self._scaled = [(self.leaves[i].detach(), lrs, plan) for i, lrs, plan in scaled]
        self._scaled_leaf = [i for i, _, _ in scaled]
        self._spans: list[tuple[int, int]] = []  # where each scaled leaf sits in x (see `place`)
        if not scaled and not self.sequenced:
            self.step = self._step_plain  # type: ignore[method-assign]

    def place(self, offset: int) -> None:
        """Learn where this part's leaves sit in the batch's x, which starts at row `offset`."""
        spans, at = [], offset
        for leaf in self.leaves:
            spans.append((at, at + leaf.shape[0]))
            at += leaf.shape[0]
        self._spans = [spans[i] for i in self._scaled_leaf]

    def _step_plain(self, t: int, x: torch.Tensor) -> None:
        self.optimizer.step()

    def step(self, t: int, x: torch.Tensor) -> None:
        for group, sequence in self.sequenced:
            group["lr"] = sequence[t]
        self.optimizer.step()
        for (raw, lrs, plan), (a, b) in zip(self._scaled, self._spans, strict=True):
            before = x[a:b]
            scale = lrs if plan.a is None or plan.b is None else plan.a[t] + lrs * plan.b[t]
            raw.sub_(before).mul_(scale).add_(before)  # x₀ + lr·(x₁ − x₀): the lr = 1 step, scaled


class _OwnPart(_Part):
    """gdplay's own rules over one leaf: manual_sgd, or RowwiseSGD for sgd rows with per-row options."""

    def __init__(self, spec: BatchSpec, settings: list[Setting], rows: list[torch.Tensor]):
        info, schedule = settings[0].optimizer, settings[0].schedule
        # Rows stay in the batch's order (no shuffling back afterwards); each knows its setting.
        member = torch.cat([torch.full((len(r),), i, dtype=torch.int64) for i, r in enumerate(rows)])
        self.rows, order = torch.sort(torch.cat(rows))
        member = member[order]
        leaf = _leaf(spec, self.rows)
        self.leaves = [leaf]
        lrs = spec.lrs[self.rows]
        uniform, plan = _lr_plan(spec, schedule, lrs)
        self.plans = [(self.rows, plan)]
        lr_column = _column(spec, lrs)
        if uniform:
            lr: Any = plan.sequence[0] if plan.sequence is not None else float(lrs[0])
        else:
            lr = lr_column if plan.a is None else plan.a[0] + lr_column * plan.b[0]  # type: ignore[index]
        options: dict[str, Any] = dict(settings[0].options)
        for key in ROW_OPTIONS:
            values = [float(st.options.get(key, 0.0)) for st in settings]
            if len(set(values)) > 1:
                options[key] = _column(spec, torch.tensor(values, dtype=torch.float64)[member])
        self.optimizer = _own_optimizer(info, leaf, lr, options)
        self.group = self.optimizer.param_groups[0]
        self._sequence = plan.sequence if uniform else None
        self._affine = (plan.a, plan.b, lr_column) if not uniform and plan.a is not None else None
        if self._sequence is None and self._affine is None:
            self.step = self._step_plain  # type: ignore[method-assign]

    def _step_plain(self, t: int, x: torch.Tensor) -> None:
        self.optimizer.step()

    def step(self, t: int, x: torch.Tensor) -> None:
        if self._sequence is not None:
            self.group["lr"] = self._sequence[t]
        elif self._affine is not None:
            a, b, lrs = self._affine
            self.group["lr"] = a[t] + lrs * b[t]  # type: ignore[index]
        self.optimizer.step()


def _own_optimizer(info: OptimizerInfo, leaf: torch.Tensor, lr: Any, options: Mapping[str, Any]) -> Any:
    if info.torch_class is None:
        from gdplay.optim.manual import ManualSGD

        return ManualSGD([leaf], lr=lr, **options)
    from gdplay.optim.rowwise import RowwiseSGD

    return RowwiseSGD([leaf], lr=lr, **options)


class _SequentialPart(_Part):
    """One run of an optimizer that must see a lone flat parameter (LBFGS, Adafactor)."""

    def __init__(self, spec: BatchSpec, setting: Setting, row: int):
        self.rows = torch.tensor([row])
        lr = float(spec.lrs[row])
        _, plan = _lr_plan(spec, setting.schedule, spec.lrs[self.rows])
        self.plans = [(self.rows, plan)]
        leaf = spec.starts[row].detach().clone().requires_grad_(True)  # [D]: no batch dimension at all
        self.leaves = [leaf]
        first = plan.sequence[0] if plan.sequence is not None else lr
        self.optimizer = make_optimizer(setting.optimizer, [leaf], first, setting.options)
        self.group = self.optimizer.param_groups[0]
        self._sequence = plan.sequence
        fn, dim = spec.objective.fn, leaf.shape[0]

        self.evaluations = 0  # closure calls: L-BFGS evaluates f and ∇f several times per step
        self.stalled_at = -1

        def closure() -> torch.Tensor:
            self.evaluations += 1
            leaf.grad = None
            total = fn(leaf.view(1, dim)).sum()
            total.backward()
            return total

        self._closure = closure if setting.optimizer.name == "lbfgs" else None

    def step(self, t: int, x: torch.Tensor) -> None:
        if self._sequence is not None:
            self.group["lr"] = self._sequence[t]
        if self._closure is not None:
            before = self.leaves[0].detach().clone()
            self.optimizer.step(self._closure)
            # A step that leaves x exactly where it was, with the gradient still above L-BFGS's own
            # tolerance_grad, ended its inner loop on tolerance_change (|Δf| or |Δx| < 1e-9 by
            # default): every later step does the same. That is a stall, not convergence.
            if self.stalled_at < 0 and torch.equal(before, self.leaves[0].detach()):
                grad = self.leaves[0].grad
                if grad is not None and float(grad.abs().max()) > float(self.group["tolerance_grad"]):
                    self.stalled_at = t + 1
        else:
            self.optimizer.step()

    def counts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """([evaluations], [stalled_at]) for this one row (-1: one evaluation per update; never)."""
        evals = self.evaluations if self._closure is not None else -1
        return torch.tensor([evals]), torch.tensor([self.stalled_at])


# ---- the lockstep loop ----------------------------------------------------------------------


def _run_parts(spec: BatchSpec, parts: list[_Part], progress: Progress, flat: bool = False) -> BatchTrace:
    objective, steps = spec.objective, spec.steps
    leaves = [leaf for part in parts for leaf in part.leaves]
    offset = 0
    for part in parts:
        if isinstance(part, _TorchPart):
            part.place(offset)
        offset += sum(leaf.shape[0] for leaf in part.leaves) if not flat else 1
    batch, dim = offset, spec.starts.shape[1]
    device, dtype = spec.starts.device, spec.starts.dtype
    first = leaves[0]
    raw = first.detach().view(1, dim) if flat else first.detach()  # shares the leaf's memory
    single = len(leaves) == 1
    fn = objective.fn
    backward = _fast_backward()
    steppers = [part.step for part in parts]
    if device.type == "cpu":
        cap = max(MIN_CHUNK_CPU, min(MAX_CHUNK, CHUNK_VALUES_CPU // batch))
    else:  # checks synchronise with the device: fewer of them
        cap = max(CHUNK, min(MAX_CHUNK, CHUNK_VALUES_GPU // batch))
    state = _Checker(batch, dim, steps, spec.tol, spec.blowup, device, dtype, spec.record)
    xs, fs, gs = state.xs, state.fs, state.gs
    # Stochastic gradients replace the exact ones after they are recorded (engine/noise.py).
    noise = spec.noise.bind(torch.cat([p.rows for p in parts]), dtype, device) if spec.noise is not None else None
    # LBFGS's steps cost many evaluations each: check after every one.
    size = 1 if flat and parts[0]._closure is not None else min(CHUNK, cap)  # type: ignore[attr-defined]
    check_at = min(size - 1, steps)
    seed: torch.Tensor | None = None
    own_values = True  # False when f is a view of the point (a formula `x`): then f must be copied
    interrupted = False
    # The clock starts after construction: torch.optim's first use imports torch._dynamo
    # (about a second, once per process), which is not the run's cost.
    began = time.perf_counter()
    try:
        for t in range(steps + 1):
            if single:
                points = first.view(1, dim) if flat else first
            else:
                points = torch.cat(leaves)
            values = fn(points)
            if seed is None:
                # A seed of ones instead of values.sum(): the same gradients (runs do not interact)
                # without the sum's extra nodes and the broadcast gradient they would send back.
                seed = torch.ones_like(values, memory_format=torch.contiguous_format).detach()
                own_values = not _shares_memory(values, leaves)
            backward(values, seed)
            if single:
                grad = first.grad
                x = raw.clone()  # the optimizer updates the leaf in place
                if grad is None:  # f does not depend on the point at all
                    grad = torch.zeros_like(first)
                elif flat:
                    grad = grad.view(1, dim)
            else:
                grad = torch.cat([leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves])
                x = points.detach()  # a fresh tensor already
            xs.append(x)
            fs.append(values if own_values else values.detach().clone())
            gs.append(grad)
            if t in (check_at, steps):
                state.check()
                if not state.rows_left():
                    break
                progress(t, steps)
                size = min(size * 2, cap) if size > 1 else 1
                check_at = min(t + size, steps)
            if t == steps:
                break
            if noise is not None:
                noise.apply(t, x, leaves)
            for step in steppers:
                step(t, x)
            if single:
                first.grad = None  # backward makes a fresh gradient next step, so records can keep this one
            else:
                for leaf in leaves:
                    leaf.grad = None
    except KeyboardInterrupt:
        interrupted = True  # the records written so far are complete (see _Checker.check)
    trace = state.finish(interrupted)
    trace.wall_time_s = time.perf_counter() - began
    progress(steps, steps)
    return trace


def _shares_memory(values: torch.Tensor, leaves: Sequence[torch.Tensor]) -> bool:
    storage = values.untyped_storage().data_ptr()
    return any(storage == leaf.untyped_storage().data_ptr() for leaf in leaves)


class _Checker:
    """Keeps the records of a chunk and decides, per run, when and why it stopped.

    Per step the loop appends x_t (a copy), f(x_t) and the gradient (references). A check then
    looks at f and |∇f| of the chunk, [n, B] numbers, and at x only where it must: a point that
    is not finite stays so under every update rule (x + Δ with x = inf or NaN is not finite), so
    the chunk's last point tells which runs lost theirs, and only those runs' points are scanned.
    """

    def __init__(self, batch, dim, steps, tol, blowup, device, dtype, keep):  # type: ignore[no-untyped-def]
        self.batch, self.dim, self.steps = batch, dim, steps
        self.tol, self.blowup, self.keep = tol, blowup, keep
        self.gmax = torch.finfo(dtype).max
        self.status = torch.zeros(batch, dtype=torch.int64, device=device)
        self.cause = torch.zeros(batch, dtype=torch.int64, device=device)
        self.stop = torch.full((batch,), steps, dtype=torch.int64, device=device)
        self.final_x = torch.full((batch, dim), float("nan"), dtype=dtype, device=device)
        self.final_f = torch.full((batch,), float("nan"), dtype=dtype, device=device)
        self.final_g = torch.full((batch,), float("nan"), dtype=dtype, device=device)
        self.xs: list[torch.Tensor] = []
        self.fs: list[torch.Tensor] = []
        self.gs: list[torch.Tensor] = []
        self.saved: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.start = 0  # step of the first record in the current chunk
        self.previous: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # (x, f, |∇f|) checked last
        self.running = torch.ones(batch, dtype=torch.bool, device=device)
        self._left = True

    def check(self, ending: bool = False, interrupted: bool = False) -> None:
        """Inspect the records of the chunk (complete ones only: an interrupt may tear the last)."""
        n = min(len(self.xs), len(self.fs), len(self.gs))
        if n == 0:
            return
        xs = self.xs[:n]
        with torch.no_grad():
            cf = torch.stack(self.fs[:n]).reshape(n, self.batch)
            cg = torch.stack(self.gs[:n])
            gnorm = _row_norm(cg)  # [n, B]
            cx = torch.stack(xs) if self.keep else None
        self.xs.clear()
        self.fs.clear()
        self.gs.clear()
        # ok: f finite with |f| <= blowup, |∇f| finite (and >= tol when given); NaN compares False,
        # so four passes over [n, B] decide all of it.
        ok = cf.abs() <= self.blowup
        ok &= gnorm <= self.gmax
        if self.tol is not None:
            ok &= gnorm >= self.tol
        # A point that went non-finite in this chunk is non-finite at its end.
        hit = self.running & ~(ok.all(dim=0) & torch.isfinite(xs[-1]).all(dim=-1))
        if bool(hit.any()):
            rows = torch.nonzero(hit).squeeze(1)
            k = torch.arange(len(rows), device=rows.device)
            xk = cx[:, rows] if cx is not None else torch.stack([step[rows] for step in xs])  # [n, k, D]
            finite_x = torch.isfinite(xk).all(dim=-1)  # [n, k]
            event = ~ok[:, rows] | ~finite_x
            at = torch.argmax(event.to(torch.int8), dim=0)  # the first event of each run
            x, f, g = xk[at, k], cf[at, rows], gnorm[at, rows]
            cause = torch.zeros_like(rows)
            cause = torch.where(f.abs() > self.blowup, 4, cause)
            cause = torch.where(~finite_x[at, k], 3, cause)
            cause = torch.where(~torch.isfinite(g), 2, cause)
            cause = torch.where(~torch.isfinite(f), 1, cause)
            self.status[rows] = torch.where(cause > 0, DIVERGED, CONVERGED)
            self.cause[rows] = cause
            self.stop[rows] = self.start + at
            self.final_x[rows] = x
            self.final_f[rows] = f
            self.final_g[rows] = g
            self.running[rows] = False
            self._left = bool(self.running.any())
        last = n - 1
        if self.start + last == self.steps or ending:
            self._finalize_left(xs[last], cf[last], gnorm[last], self.start + last, interrupted)
        self.previous = (xs[last], cf, gnorm)
        if cx is not None:
            self.saved.append((cx, cf, gnorm))
        self.start += n

    def _finalize_left(self, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor, step: int, interrupted: bool) -> None:
        """Runs still going at the end stop here: max_steps, or interrupted."""
        left = self.status == RUNNING
        self.final_x[left] = x[left]
        self.final_f[left] = f[left]
        self.final_g[left] = g[left]
        self.stop[left] = step
        self.status[left] = INTERRUPTED if interrupted else MAX_STEPS
        self.running[left] = False
        self._left = False

    def rows_left(self) -> bool:
        return self._left

    def finish(self, interrupted: bool) -> BatchTrace:
        if self.rows_left():
            if min(len(self.xs), len(self.fs), len(self.gs)):
                self.check(ending=True, interrupted=interrupted)
            elif self.previous is not None:  # interrupted right after a check
                x, cf, gnorm = self.previous
                self._finalize_left(x, cf[-1], gnorm[-1], self.start - 1, interrupted)
            else:  # interrupted before the first record was complete
                self._finalize_left(self.final_x, self.final_f, self.final_g, 0, interrupted)
        hx = hf = hg = None
        if self.keep and self.saved:
            hx = torch.cat([s[0] for s in self.saved]).cpu()
            hf = torch.cat([s[1] for s in self.saved]).cpu()
            hg = torch.cat([s[2] for s in self.saved]).cpu()
        return BatchTrace(
            status=self.status.cpu(),
            cause=self.cause.cpu(),
            stop=self.stop.cpu(),
            final_x=self.final_x.cpu(),
            final_f=self.final_f.cpu(),
            final_g=self.final_g.cpu(),
            history_x=hx,
            history_f=hf,
            history_g=hg,
            interrupted=interrupted,
        )


@contextlib.contextmanager
def _serial(enabled: bool) -> Iterator[None]:
    """Run the enclosed torch operations on one thread (CPU), set once for a whole batch.

    A batch of at most 32,768 coordinates steps on one thread anyway (torch splits element-wise
    operations from its grain size of 32,768 up), but its checks work on a chunk of steps at
    once, big enough to be split across cores; on a busy machine a split operation waits for its
    slowest thread: measured on a loaded 2-core machine, 5-25 ms per operation instead of 0.1 ms,
    which made a 4,096-run sweep 5× slower. (Switching threads per check instead was worse: the
    woken threads stalled the steps.) Wider batches keep every core for their steps."""
    if not enabled:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _row_norm(g: torch.Tensor) -> torch.Tensor:
    """|g| over the last dimension. For a few coordinates the sum of squares written out is 3×
    faster than torch's reduction over a short last dimension, and the same arithmetic."""
    dim = g.shape[-1]
    if dim > 4:
        return torch.linalg.vector_norm(g, dim=-1)
    total = g[..., 0] * g[..., 0]
    for d in range(1, dim):
        total = total + g[..., d] * g[..., d]
    return total.sqrt_()


# ---- putting the pieces back in row order ---------------------------------------------------


def _merge(pieces: list[tuple[torch.Tensor, BatchTrace]], spec: BatchSpec, batch: int) -> BatchTrace:
    """The traces of the parts (rows in part order) back in the order of the original rows."""
    if len(pieces) == 1 and bool((pieces[0][0] == torch.arange(batch)).all()):
        return pieces[0][1]
    dim, dtype = spec.starts.shape[1], spec.starts.dtype
    status = torch.full((batch,), INTERRUPTED, dtype=torch.int64)  # rows never reached (after an interrupt)
    cause = torch.zeros(batch, dtype=torch.int64)
    stop = torch.zeros(batch, dtype=torch.int64)
    fx = spec.starts.detach().cpu().clone()
    ff = torch.full((batch,), float("nan"), dtype=dtype)
    fg = torch.full((batch,), float("nan"), dtype=dtype)
    keep = spec.record and all(tr.history_x is not None for _, tr in pieces)
    length = max((tr.history_f.shape[0] for _, tr in pieces if tr.history_f is not None), default=0)
    hx = torch.full((length, batch, dim), float("nan"), dtype=dtype) if keep else None
    hf = torch.full((length, batch), float("nan"), dtype=dtype) if keep else None
    hg = torch.full((length, batch), float("nan"), dtype=dtype) if keep else None
    evaluations = torch.full((batch,), -1, dtype=torch.int64)
    stalled_at = torch.full((batch,), -1, dtype=torch.int64)
    for idx, tr in pieces:
        if tr.evaluations is not None and tr.stalled_at is not None:
            evaluations[idx], stalled_at[idx] = tr.evaluations, tr.stalled_at
        status[idx], cause[idx], stop[idx] = tr.status, tr.cause, tr.stop
        fx[idx], ff[idx], fg[idx] = tr.final_x, tr.final_f, tr.final_g
        if hx is not None and hf is not None and hg is not None:
            n = tr.history_f.shape[0]  # type: ignore[union-attr]
            hx[:n, idx] = tr.history_x  # type: ignore[assignment]
            hf[:n, idx] = tr.history_f  # type: ignore[assignment]
            hg[:n, idx] = tr.history_g  # type: ignore[assignment]
    return BatchTrace(
        status=status,
        cause=cause,
        stop=stop,
        final_x=fx,
        final_f=ff,
        final_g=fg,
        history_x=hx,
        history_f=hf,
        history_g=hg,
        wall_time_s=sum(tr.wall_time_s for _, tr in pieces),
        interrupted=any(tr.interrupted for _, tr in pieces),
        evaluations=evaluations,
        stalled_at=stalled_at,
    )


def _row_plans(parts: list[_Part], batch: int) -> tuple[list[LrPlan], torch.Tensor]:
    """Every scheduled row's LrPlan (row_lrs reads them); index 0 is 'no schedule'."""
    plans: list[LrPlan] = [LrPlan()]
    plan_of_row = torch.zeros(batch, dtype=torch.int64)
    for part in parts:
        for rows, plan in part.plans:
            if plan.sequence is not None or plan.a is not None:
                plans.append(plan)
                plan_of_row[rows] = len(plans) - 1
    return plans, plan_of_row


_BACKWARD: list[Callable[[torch.Tensor, torch.Tensor], None]] = []


def _fast_backward() -> Callable[[torch.Tensor, torch.Tensor], None]:
    """backward(values, seed): autograd's engine called directly, as torch.autograd.backward ends up
    doing after its per-call argument checks (about 9 µs of Python per call in torch 2.13, a sixth
    of a one-run step). The engine checks the shapes itself. A probe at first use must give the
    gradient torch.autograd.backward gives, else the public function is used."""
    if _BACKWARD:
        return _BACKWARD[0]

    def public(values: torch.Tensor, seed: torch.Tensor) -> None:
        torch.autograd.backward(values, seed)

    chosen = public
    try:
        from torch.autograd.variable import Variable

        run = Variable._execution_engine.run_backward

        def direct(values: torch.Tensor, seed: torch.Tensor) -> None:
            run((values,), (seed,), False, False, (), allow_unreachable=True, accumulate_grad=True)

        probes = []
        # The reference is the seed's own z.backward() of a sum (rows do not interact, so the same
        # gradient): torch.autograd.backward with an explicit grad tensor would import torch.fx's
        # symbolic shapes on its first call (0.7 s of every command's start-up).
        for way in (lambda v, s: v.sum().backward(), direct):
            x = torch.tensor([[1.5, -2.0], [0.5, 3.0]], dtype=torch.float64, requires_grad=True)
            values = (x * x * x).sum(dim=1)
            way(values, torch.ones_like(values))
            probes.append(x.grad)
        if probes[0] is not None and probes[1] is not None and torch.equal(probes[0], probes[1]):
            chosen = direct
    except Exception:  # any change in torch's internals: keep the public path
        chosen = public
    _BACKWARD.append(chosen)
    return chosen
