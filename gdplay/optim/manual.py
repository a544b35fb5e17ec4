"""The notebook's hand-written gradient descent, kept as the teaching update rule.

    plain:     x ← x − lr·g                      x.data.sub_(lr * x.grad); x.grad.zero_()
    momentum:  v ← μ·v + g;  x ← x − lr·v        PyTorch's convention (torch/optim/sgd.py)

Tests prove it equals torch.optim.SGD step for step in float64.
`lr` and `momentum` may be numbers or tensors of shape [B, 1] (one value per run of a batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class ManualSGD:
    """Gradient descent written out by hand, with the interface of a torch optimizer."""

    def __init__(self, params: Iterable[torch.Tensor], lr: Any = 0.3, momentum: float | torch.Tensor = 0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum if isinstance(momentum, torch.Tensor) else float(momentum)
        # A momentum tensor takes the velocity path for every row: with μ = 0, v = 0·v + g = g exactly.
        self._plain = not isinstance(momentum, torch.Tensor) and self.momentum == 0.0
        self.velocity: list[torch.Tensor | None] = [None] * len(self.params)
        # torch.optim keeps param_groups; schedulers and reports read the lr from there.
        self.param_groups = [{"params": self.params, "lr": lr, "momentum": self.momentum}]

    def step(self) -> None:
        lr = self.param_groups[0]["lr"]
        for i, x in enumerate(self.params):
            grad = x.grad
            if grad is None:
                continue
            if self._plain:
                x.data.sub_(lr * grad)  # the notebook's line
                continue
            v = self.velocity[i]
            if v is None:
                v = self.velocity[i] = grad.detach().clone()  # v₁ = g₁, as torch.optim.SGD
            else:
                v.mul_(self.momentum).add_(grad)
            x.data.sub_(lr * v)

    def zero_grad(self) -> None:
        for x in self.params:
            if x.grad is not None:
                x.grad.zero_()  # the notebook's x.grad.zero_()
