"""torch.optim.SGD's update with a learning rate and options per run (row) of a batch.

torch.optim takes momentum, dampening and weight decay as Python numbers, one per
parameter group. A sweep over momentum would then need one group (and a pass of
Python) per momentum value; here each is a column tensor [B, 1] instead, so B
runs with B different settings advance in a handful of tensor operations:

    g ← −g if maximize;  g ← g + λ·x                      (weight decay λ)
    v ← g on the first step, else v ← μ·v + (1 − τ)·g     (momentum μ, dampening τ)
    d ← g + μ·v if nesterov, else v;   x ← x − lr·d

which is torch/optim/sgd.py's single-tensor rule line by line; tests check it
against torch.optim.SGD run alone. Every hyperparameter may be a number or a
tensor of shape [B, 1].
"""

from __future__ import annotations

from typing import Any

import torch


class RowwiseSGD:
    """SGD (PyTorch's momentum convention) over one [B, D] tensor, hyperparameters per row."""

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: Any,
        momentum: Any = 0.0,
        dampening: Any = 0.0,
        weight_decay: Any = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ):
        (self.param,) = params
        self.raw = self.param.detach()  # the same memory; updating it needs no autograd bookkeeping
        self.momentum, self.dampening, self.weight_decay = momentum, dampening, weight_decay
        self.nesterov, self.maximize = nesterov, maximize
        self.buffer: torch.Tensor | None = None
        self.param_groups = [{"params": [self.param], "lr": lr}]
        self._uses_momentum = _nonzero(momentum)
        self._uses_decay = _nonzero(weight_decay)
        self._keep = 1.0 - dampening  # a number or a [B, 1] tensor
        if isinstance(momentum, torch.Tensor):
            # torch.optim.SGD ignores dampening when momentum is 0: a row with μ = 0 must then
            # step by g itself (v ← 0·v + 1·g), not by (1 − τ)·g.
            self._keep = torch.where(momentum == 0, torch.ones_like(momentum), 1.0 - dampening)

    def step(self) -> None:
        x, g = self.raw, self.param.grad
        if g is None:
            return
        if self.maximize:
            g = -g
        if self._uses_decay:
            g = g + self.weight_decay * x
        if self._uses_momentum:
            v = self.buffer
            if v is None:
                v = self.buffer = g.clone()
            elif isinstance(self._keep, torch.Tensor):
                v.mul_(self.momentum).add_(self._keep * g)
            else:
                v.mul_(self.momentum).add_(g, alpha=self._keep)
            g = g + self.momentum * v if self.nesterov else v
        lr = self.param_groups[0]["lr"]
        if isinstance(lr, torch.Tensor):
            x.sub_(lr * g)
        else:
            x.add_(g, alpha=-lr)

    def zero_grad(self) -> None:
        self.param.grad = None


def _nonzero(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool((value != 0).any())
    return value != 0
