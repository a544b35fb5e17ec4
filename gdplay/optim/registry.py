"""The registry of optimizers: one entry each, with its update rule in one line.

Entries are plain data so `gdplay list` answers without importing torch. A test
compares this registry with the classes torch.optim really has, so the two cannot
drift apart unnoticed. `g` is the gradient, `lr` the learning rate.

batchable: the update is element-wise, so B runs stacked as rows of one tensor
  evolve exactly as B separate runs (a sweep can batch them).
lr_linear: the step is lr times something that does not depend on lr, so runs
  with different learning rates can share one optimizer (step with lr = 1, then
  scale each row's step by its own lr).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptimizerInfo:
    name: str  # the config name, lower case
    torch_class: str | None  # class in torch.optim, or None for gdplay's own
    rule: str  # the update rule in one line
    batchable: bool = True
    lr_linear: bool = True
    supported: bool = True
    why_not: str = ""  # for unsupported or non-batchable entries: the reason


_ENTRIES = [
    OptimizerInfo(
        "manual_sgd",
        None,
        "x ← x − lr·g (the notebook's x.data.sub_(lr * x.grad)); momentum μ: v ← μv + g, x ← x − lr·v",
    ),
    OptimizerInfo("sgd", "SGD", "v ← μv + (1−τ)g;  x ← x − lr·v  (nesterov: x ← x − lr·(g + μv))"),
    OptimizerInfo("adam", "Adam", "m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;  x ← x − lr·m̂/(√ŝ + ε)"),
    OptimizerInfo("adamw", "AdamW", "x ← x − lr·λx;  then the Adam step x ← x − lr·m̂/(√ŝ + ε)"),
    OptimizerInfo("adamax", "Adamax", "m ← β₁m + (1−β₁)g;  u ← max(β₂u, |g| + ε);  x ← x − lr·m/((1−β₁ᵗ)u)"),
    OptimizerInfo("nadam", "NAdam", "Adam with Nesterov momentum: x ← x − lr·(μₜ₊₁m̂ + (1−μₜ)ĝ)/(√ŝ + ε)"),
    OptimizerInfo(
        "radam", "RAdam", "Adam with the variance rectified: x ← x − lr·rₜ·m̂/(√ŝ + ε), SGD-like while ρₜ ≤ 5"
    ),
    OptimizerInfo("rmsprop", "RMSprop", "s ← αs + (1−α)g²;  x ← x − lr·g/(√s + ε)"),
    OptimizerInfo("adagrad", "Adagrad", "s ← s + g²;  x ← x − lr/(1 + (t−1)·decay)·g/(√s + ε)"),
    OptimizerInfo("adadelta", "Adadelta", "s ← ρs + (1−ρ)g²;  Δ ← √(u+ε)/√(s+ε)·g;  u ← ρu + (1−ρ)Δ²;  x ← x − lr·Δ"),
    OptimizerInfo(
        "asgd",
        "ASGD",
        "x ← x(1 − λη) − η·g with ηₜ = lr/(1 + λ·lr·t)^α; keeps an average of the iterates",
        lr_linear=False,
        why_not="ηₜ depends on lr non-linearly",
    ),
    OptimizerInfo(
        "rprop",
        "Rprop",
        "per coordinate: step ← step·η₊ if sign(g) kept, ·η₋ if flipped;  x ← x − sign(g)·step (step₀ = lr)",
        lr_linear=False,
        why_not="lr is the initial step size, kept in the state",
    ),
    OptimizerInfo(
        "lbfgs",
        "LBFGS",
        "x ← x − lr·Hₖg, Hₖ the limited-memory BFGS inverse-Hessian estimate (several evaluations per step)",
        batchable=False,
        lr_linear=False,
        why_not="its line search and curvature pairs use dot products over all coordinates",
    ),
    OptimizerInfo(
        "adafactor",
        "Adafactor",
        "x ← x − lr·g/√v̂ with v̂ factored over rows and columns of matrix parameters",
        batchable=False,
        lr_linear=False,
        why_not="it factors the second moment across a tensor's rows, which would mix runs",
    ),
    OptimizerInfo(
        "sparseadam",
        "SparseAdam",
        "Adam for sparse gradients",
        supported=False,
        why_not="needs sparse gradients; gdplay's objectives give dense ones",
    ),
    OptimizerInfo(
        "muon",
        "Muon",
        "momentum orthogonalised by Newton–Schulz iterations",
        supported=False,
        why_not="works only on 2-D weight matrices",
    ),
]

OPTIMIZERS: dict[str, OptimizerInfo] = {entry.name: entry for entry in _ENTRIES}


def supported_names() -> list[str]:
    return [name for name, info in OPTIMIZERS.items() if info.supported]
