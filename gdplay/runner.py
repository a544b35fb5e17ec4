"""The engine: runs gradient descent on a batch of B runs at once and returns results as data.

One code path serves a single run (a batch of one) and a sweep of thousands:
all runs' points live in one tensor X of shape [B, D]; the objective is evaluated
on the whole batch and `backward` of the B values gives every run its own
gradient, since runs do not interact. Element-wise optimizers (SGD, Adam, ...)
then update every row exactly as they would a lone run.

Per step t = 0..steps the engine records the point x_t, f(x_t) and the gradient
at x_t, then updates. Records are kept in chunks of K steps, and every K steps a
vectorised check finds, per run, the first step that diverged (NaN, inf, |f| >
blowup) or converged (gradient norm < tol). Checking per chunk instead of per
step keeps the hot loop free of host-device synchronisation; a run that
stopped keeps computing until the chunk ends, but its result is read at its own
stop step, so nothing after that step leaks into it.

The runner never prints: progress goes through a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from gdplay.objectives.base import Objective
from gdplay.optimizers.factory import make_optimizer
from gdplay.optimizers.registry import OptimizerInfo

Progress = Callable[[int, int], None]  # (steps done, steps in all)

CHUNK = 32  # steps between checks for divergence/convergence

# Status codes inside the engine; names in results.
RUNNING, CONVERGED, DIVERGED, MAX_STEPS, INTERRUPTED = 0, 1, 2, 3, 4
STATUS_NAMES = {CONVERGED: "converged", DIVERGED: "diverged", MAX_STEPS: "max_steps", INTERRUPTED: "interrupted"}
# Why a run diverged.
CAUSES = {1: "f is not finite", 2: "the gradient is not finite", 3: "the point is not finite", 4: "|f| exceeds blowup"}


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
    lr_factor: list[float]  # the optimizer's group lr at each step (1.0 scaled per run when lrs differ)
    history_x: torch.Tensor | None = None  # [T, B, D]
    history_f: torch.Tensor | None = None  # [T, B]
    history_g: torch.Tensor | None = None  # [T, B]
    wall_time_s: float = 0.0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BatchSpec:
    """A batch: one objective, one optimizer with one set of options, B starts and B learning rates."""

    objective: Objective
    optimizer: OptimizerInfo
    options: dict[str, Any]
    starts: torch.Tensor  # [B, D], on the target device and dtype
    lrs: torch.Tensor  # [B] learning rates, float64 on the CPU (exactly as configured)
    steps: int
    tol: float | None = None
    blowup: float = 1e20
    record: bool = True


def run_batch(spec: BatchSpec, progress: Progress | None = None) -> BatchTrace:
    """Run every row of the batch; rows split into sub-batches only where the optimizer demands."""
    lrs = spec.lrs
    if not spec.optimizer.batchable:
        groups = [[b] for b in range(spec.starts.shape[0])]
    elif not spec.optimizer.lr_linear and bool((lrs != lrs[0]).any()):
        values = sorted(set(lrs.tolist()))
        groups = [[b for b in range(len(lrs)) if float(lrs[b]) == v] for v in values]
    else:
        return _run_rows(spec, progress)
    traces = []
    for rows in groups:
        index = torch.tensor(rows, device=spec.starts.device)
        sub = BatchSpec(
            spec.objective,
            spec.optimizer,
            spec.options,
            spec.starts[index],
            spec.lrs[index],
            spec.steps,
            spec.tol,
            spec.blowup,
            spec.record,
        )
        traces.append((rows, _run_rows(sub, progress)))
        if traces[-1][1].interrupted:
            break
    return _merge(traces, spec)


def _run_rows(spec: BatchSpec, progress: Progress | None) -> BatchTrace:
    objective, steps = spec.objective, spec.steps
    batch, dim = spec.starts.shape
    device, dtype = spec.starts.device, spec.starts.dtype
    lrs = spec.lrs.to(device=device, dtype=dtype)
    uniform_lr = not bool((spec.lrs != spec.lrs[0]).any())
    lr0 = float(spec.lrs[0])  # spec.lrs is float64 on the CPU: the config's number exactly

    # A lone run of an optimizer that must not see a batch dimension gets a flat leaf.
    flat = not spec.optimizer.batchable
    leaf = spec.starts.detach().clone().reshape(-1) if flat else spec.starts.detach().clone()
    leaf.requires_grad_(True)

    def points() -> torch.Tensor:
        return leaf.view(batch, dim) if flat else leaf

    if uniform_lr:
        opt_lr: Any = lr0
        scale = None
    elif spec.optimizer.torch_class is None:
        opt_lr, scale = lrs.unsqueeze(1), None  # manual_sgd takes a per-run lr tensor as is
    else:
        opt_lr, scale = 1.0, lrs.unsqueeze(1)  # step with lr = 1, then scale each row's step
    optimizer = make_optimizer(spec.optimizer, [leaf], opt_lr, spec.options)
    # The clock starts after construction: torch.optim's first use imports torch._dynamo
    # (about a second, once per process), which is not the run's cost.
    began = time.perf_counter()
    uses_closure = spec.optimizer.name == "lbfgs"

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        total = objective.fn(points()).sum()
        total.backward()
        return total

    chunk = 1 if uses_closure else CHUNK
    state = _Checker(batch, dim, steps, spec.tol, spec.blowup, device, dtype, chunk, spec.record)
    lr_factor: list[float] = []
    interrupted = False
    t = 0
    try:
        for t in range(steps + 1):
            values = objective.fn(points())
            # sum() then a scalar backward: each run's gradient is its own (runs do not
            # interact), and the scalar path skips autograd's slow per-call grad_tensors checks.
            values.sum().backward()
            grad = leaf.grad
            if grad is None:  # f does not depend on the point at all
                grad = leaf.grad = torch.zeros_like(leaf)
            state.record(t, points().detach(), values.detach(), grad.view(batch, dim))
            if state.due(t):
                if state.check() and not state.rows_left():
                    break
                if progress is not None:
                    progress(t, steps)
            if t == steps:
                break
            # The schedule's factor on each run's own lr (1.0 without a schedule).
            lr_factor.append(float(optimizer.param_groups[0]["lr"]) / lr0 if uniform_lr else 1.0)
            if scale is not None:
                before = leaf.detach().clone()
                optimizer.step()
                with torch.no_grad():
                    leaf.sub_(before).mul_(scale).add_(before)
            elif uses_closure:
                optimizer.step(closure)
            else:
                optimizer.step()
            optimizer.zero_grad()
    except KeyboardInterrupt:
        interrupted = True  # the records written so far are complete (see _Checker.record)
    trace = state.finish(interrupted)
    trace.lr_factor = lr_factor
    trace.wall_time_s = time.perf_counter() - began
    if progress is not None:
        progress(steps, steps)
    return trace


class _Checker:
    """Keeps the records in chunks and decides, per run, when and why it stopped."""

    def __init__(self, batch, dim, steps, tol, blowup, device, dtype, chunk, keep):  # type: ignore[no-untyped-def]
        self.batch, self.dim, self.steps = batch, dim, steps
        self.tol, self.blowup, self.chunk, self.keep = tol, blowup, chunk, keep
        self.device, self.dtype = device, dtype
        self.status = torch.zeros(batch, dtype=torch.int64, device=device)
        self.cause = torch.zeros(batch, dtype=torch.int64, device=device)
        self.stop = torch.full((batch,), steps, dtype=torch.int64, device=device)
        self.final_x = torch.full((batch, dim), float("nan"), dtype=dtype, device=device)
        self.final_f = torch.full((batch,), float("nan"), dtype=dtype, device=device)
        self.final_g = torch.full((batch,), float("nan"), dtype=dtype, device=device)
        self.saved: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._new_buffers()
        self.start = 0  # step of the first record in the current chunk
        self.filled = 0  # complete records in the current chunk
        self.previous: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # last checked record

    def _new_buffers(self, value_shape: tuple[int, ...] | None = None) -> None:
        n = min(self.chunk, self.steps + 1)
        # Objectives may return values as [B] or [B, 1] (formulas do, to save a squeeze per step).
        self.value_shape = value_shape or getattr(self, "value_shape", (self.batch,))
        self.cx = torch.empty((n, self.batch, self.dim), dtype=self.dtype, device=self.device)
        self.cf = torch.empty((n, *self.value_shape), dtype=self.dtype, device=self.device)
        self.cg = torch.empty((n, self.batch, self.dim), dtype=self.dtype, device=self.device)

    def record(self, t: int, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor) -> None:
        j = t - self.start
        if t == 0 and f.shape != self.value_shape:
            self._new_buffers(tuple(f.shape))
        self.cx[j].copy_(x)
        self.cf[j].copy_(f)
        self.cg[j].copy_(g)
        self.filled = j + 1  # counted only once all three copies are done: never a torn record

    def due(self, t: int) -> bool:
        return self.filled == self.cx.shape[0] or t == self.steps

    def check(self) -> bool:
        """Inspect the current chunk; returns True (after saving it) so the caller can test rows_left."""
        n = self.filled
        if n == 0:
            return True
        cx, cf, cg = self.cx[:n], self.cf[:n].reshape(n, self.batch), self.cg[:n]
        gnorm = torch.linalg.vector_norm(cg, dim=-1)  # [n, B]
        cause = torch.zeros_like(cf, dtype=torch.int64)
        cause = torch.where(cf.abs() > self.blowup, 4, cause)
        cause = torch.where(~torch.isfinite(cx).all(dim=-1), 3, cause)
        cause = torch.where(~torch.isfinite(gnorm), 2, cause)
        cause = torch.where(~torch.isfinite(cf), 1, cause)
        bad = cause > 0
        event = bad if self.tol is None else bad | (gnorm < self.tol)
        event &= (self.status == RUNNING).unsqueeze(0)
        hit = event.any(dim=0)  # [B]
        if bool(hit.any()):
            first = torch.argmax(event.to(torch.int8), dim=0)  # first True per run
            rows = torch.nonzero(hit).squeeze(1)
            at = first[rows]
            was_bad = bad[at, rows]
            self.status[rows] = torch.where(was_bad, DIVERGED, CONVERGED)
            self.cause[rows] = cause[at, rows]
            self.stop[rows] = self.start + at
            self.final_x[rows] = cx[at, rows]
            self.final_f[rows] = cf[at, rows]
            self.final_g[rows] = gnorm[at, rows]
        last = n - 1
        if self.start + last == self.steps or self._ending:
            self._finalize_left(cx[last], cf[last], gnorm[last], self.start + last)
        self.previous = (cx[last].clone(), cf[last].clone(), gnorm[last].clone())
        if self.keep:
            self.saved.append((cx, cf, gnorm))
            self._new_buffers()
        self.start += n
        self.filled = 0
        return True

    _ending = False
    _interrupted = False

    def _finalize_left(self, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor, step: int) -> None:
        """Runs still going at the end stop here: max_steps, or interrupted."""
        left = self.status == RUNNING
        self.final_x[left] = x[left]
        self.final_f[left] = f[left]
        self.final_g[left] = g[left]
        self.stop[left] = step
        self.status[left] = INTERRUPTED if self._interrupted else MAX_STEPS

    def rows_left(self) -> bool:
        return bool((self.status == RUNNING).any())

    def finish(self, interrupted: bool) -> BatchTrace:
        if self.rows_left():
            self._ending, self._interrupted = True, interrupted
            if self.filled:
                self.check()
            elif self.previous is not None:  # interrupted right after a check
                self._finalize_left(*self.previous, self.start - 1)
            else:  # interrupted before the first record was complete
                self._finalize_left(self.final_x, self.final_f, self.final_g, 0)
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
            lr_factor=[],
            history_x=hx,
            history_f=hf,
            history_g=hg,
            interrupted=interrupted,
        )


def _merge(traces: list[tuple[list[int], BatchTrace]], spec: BatchSpec) -> BatchTrace:
    """Put the traces of sub-batches back in the order of the original rows."""
    batch, dim = spec.starts.shape
    dtype = spec.starts.dtype
    status = torch.full((batch,), INTERRUPTED, dtype=torch.int64)
    cause = torch.zeros(batch, dtype=torch.int64)
    stop = torch.zeros(batch, dtype=torch.int64)
    fx = torch.full((batch, dim), float("nan"), dtype=dtype)
    ff = torch.full((batch,), float("nan"), dtype=dtype)
    fg = torch.full((batch,), float("nan"), dtype=dtype)
    keep = spec.record and all(tr.history_x is not None for _, tr in traces)
    length = max((tr.history_f.shape[0] for _, tr in traces if tr.history_f is not None), default=0)
    hx = torch.full((length, batch, dim), float("nan"), dtype=dtype) if keep else None
    hf = torch.full((length, batch), float("nan"), dtype=dtype) if keep else None
    hg = torch.full((length, batch), float("nan"), dtype=dtype) if keep else None
    for rows, tr in traces:
        idx = torch.tensor(rows)
        status[idx], cause[idx], stop[idx] = tr.status, tr.cause, tr.stop
        fx[idx], ff[idx], fg[idx] = tr.final_x, tr.final_f, tr.final_g
        if keep and hx is not None and hf is not None and hg is not None:
            n = tr.history_f.shape[0]  # type: ignore[union-attr]
            hx[:n, idx] = tr.history_x  # type: ignore[assignment]
            hf[:n, idx] = tr.history_f  # type: ignore[assignment]
            hg[:n, idx] = tr.history_g  # type: ignore[assignment]
    first = traces[0][1]
    return BatchTrace(
        status=status,
        cause=cause,
        stop=stop,
        final_x=fx,
        final_f=ff,
        final_g=fg,
        lr_factor=first.lr_factor,
        history_x=hx,
        history_f=hf,
        history_g=hg,
        wall_time_s=sum(tr.wall_time_s for _, tr in traces),
        interrupted=any(tr.interrupted for _, tr in traces),
    )
