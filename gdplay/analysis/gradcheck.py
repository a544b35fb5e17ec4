"""torch.autograd.gradcheck's slow mode, for one real input tensor and real floating outputs,
without grad_outputs tensors (a complex output is refused; torch would split it in two).

Why not call torch's: every ``torch.autograd.grad(outputs, inputs, grad_outputs)`` with an
explicit grad_outputs *tensor* imports torch.fx's symbolic shapes and sympy on its first call
(about 0.7 s of a ``gdplay grad`` process that otherwise costs what ``run`` costs). Here each
grad_outputs tensor torch would pass is produced inside the graph instead, so that autograd
creates it implicitly, and the function sees the same gradient flowing into it:

- a Jacobian row: torch passes the unit vector e_j into the output's backward; here the graph
  is extended by ``out.reshape(-1)[j]`` and differentiated with the implicit 1, whose backward
  (SelectBackward, then the view's) hands e_j to the output's backward, exactly;
- "backward multiplied by grad_output": torch passes zeros; here ``(out * 0).sum()`` hands
  zeros to the output's backward;
- "undefined output grads": torch passes zeros into ``UndefinedGrad``; here ``(u * 0).sum()``
  passes zeros into the same node, which hands an undefined gradient on.

The checks, their order and their messages are torch's (``gradcheck(f, (x,), eps, atol, rtol)``
with its defaults otherwise: nondet_tol = 0, check_undefined_grad = True, no forward AD, no
batched grad, slow mode):

    numerical column i:   J_num[i] = (f(x + eps e_i) − f(x − eps e_i)) / (2 eps)
    analytical row j:     J_an[:, j] = ∂f_j/∂x by backward, computed twice (reentrancy: equal)
    pass when             |J_an − J_num| ≤ atol + rtol · |J_num|   (torch.allclose)

tests/test_gradcheck.py checks (passed, first line of the message) against torch's gradcheck on
every built-in objective, formula kinks, constants, NaNs, and autograd Functions whose backward
is wrong, non-reentrant, not multiplied by grad_output, or fails on undefined grads.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import Any

__all__ = ["GradcheckFailure", "gradcheck"]


class GradcheckFailure(RuntimeError):
    """A check failed; the message is torch's GradcheckError message for the same failure."""


def _outputs(value: Any) -> tuple[Any, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    return (value,)


def _differentiable(value: Any) -> tuple[Any, ...]:
    return tuple(o for o in _outputs(value) if o.requires_grad)


def _numerical_jacobians(fn: Callable[[Any], Any], x: Any, outputs: tuple[Any, ...], eps: float) -> list[Any]:
    """One [numel(x), numel(out)] Jacobian per output, perturbing x.data in place as torch does."""
    data = x.data
    outputs = tuple(o for o in outputs if o.is_floating_point())  # as torch: no Jacobian of an integer output
    columns: dict[int, list[Any]] = {}
    for d_idx, idx in enumerate(product(*[range(m) for m in data.size()])):
        entry = data[idx]

        def wrapped() -> tuple[Any, ...]:
            return tuple(a.clone() for a in _outputs(fn(x)) if a.is_floating_point())

        orig = entry.clone()
        entry.copy_(orig - eps)
        outa = wrapped()
        entry.copy_(orig + eps)
        outb = wrapped()
        entry.copy_(orig)
        cols = []
        for a, b in zip(outa, outb):  # noqa: B905 (torch's zip: extra outputs are left out)
            if a.shape != b.shape:
                raise AssertionError(
                    f"Expected `func` to return outputs with the same shape when inputs are perturbed "
                    f"on index {idx} by {eps}, but got: shapes {a.shape} and {b.shape}."
                )
            if a.dtype != b.dtype:
                raise AssertionError(
                    f"Expected `func` to return outputs with the same dtype when inputs are perturbed "
                    f"on index {idx} by {eps}, but got: dtypes {a.dtype} and {b.dtype}."
                )
            cols.append(((b - a) / (2 * eps)).detach().reshape(-1))
        columns[d_idx] = cols
    jacobians = [x.new_zeros((x.numel(), o.numel()), dtype=o.dtype) for o in outputs]
    for i, jacobian in enumerate(jacobians):
        for k, cols in columns.items():
            jacobian[k] = cols[i]
    return jacobians


def _analytical_rows(x: Any, output: Any) -> Any:
    """[numel(x), numel(out)]: column j is the gradient of the output's j-th entry."""
    import torch

    flat = output.reshape(-1)
    jacobian = x.new_zeros((x.numel(), output.numel()))
    for j in range(flat.numel()):
        (g,) = torch.autograd.grad(flat[j], [x], retain_graph=True, allow_unused=True)
        if g is None:
            jacobian[:, j].zero_()
            continue
        if g.dtype != x.dtype:  # torch's message for this case (its size and dtype flags are swapped)
            raise GradcheckFailure("Analytical gradient has incorrect size")
        jacobian[:, j] = g.clone().reshape(-1)
    return jacobian


def _jacobian_message(analytical: Any, numerical: Any, i: int) -> str:
    return (
        f"Jacobian mismatch for output {i:d} with respect to input 0,\nnumerical:{numerical}\nanalytical:{analytical}\n"
    )


def gradcheck(fn: Callable[[Any], Any], x: Any, *, eps: float, atol: float, rtol: float) -> bool:
    """True, or GradcheckFailure with torch's message; x is a leaf tensor with requires_grad."""
    import torch

    func_out = fn(x)
    outputs = _differentiable(func_out)
    all_outputs = tuple(o for o in _outputs(func_out) if o.is_floating_point())
    if any(o.is_complex() for o in _outputs(func_out)):
        raise GradcheckFailure("a complex output: gdplay's gradcheck takes real outputs only")
    numerical = _numerical_jacobians(fn, x, all_outputs, eps)
    if not outputs:  # nothing differentiable: the numerical Jacobian must vanish
        if any(torch.ne(j, 0).sum() > 0 for j in numerical):
            raise GradcheckFailure("Numerical gradient for function expected to be zero")
    else:
        numerical = [n for o, n in zip(all_outputs, numerical, strict=True) if o.requires_grad]
        for i, o in enumerate(outputs):
            first = _analytical_rows(x, o)
            second = _analytical_rows(x, o)
            if first.numel() != 0 and (first - second).abs().max() > 0.0:
                raise GradcheckFailure(
                    "Backward is not reentrant, i.e., running backward with same input and grad_output "
                    "multiple times gives different values, although analytical gradient matches "
                    "numerical gradient.The tolerance for nondeterminism was 0.0."
                )
            common = torch.promote_types(first.dtype, numerical[i].dtype)  # torch's type promotion
            if not torch.allclose(first.to(common), numerical[i].to(first.device, common), rtol, atol):
                raise GradcheckFailure(_jacobian_message(first, numerical[i], i))
    # backward multiplied by grad_output: a zero gradient in gives a zero gradient out
    if outputs:  # with none, torch's call returns (None,) and there is nothing to test
        (g,) = torch.autograd.grad(sum((o * 0).sum() for o in outputs), [x], allow_unused=True)
        if g is not None:
            if not g.eq(0).all():
                raise GradcheckFailure("backward not multiplied by grad_output")
            if g.dtype != x.dtype:
                raise GradcheckFailure("grad is incorrect type")
            if g.size() != x.size():
                raise GradcheckFailure("grad is incorrect size")
    # undefined output gradients: every input gradient undefined or zero
    again = [torch._C._functions.UndefinedGrad()(o) for o in _differentiable(fn(x)) if isinstance(o, torch.Tensor)]
    groups: list[list[Any]] = [again]
    if len(again) > 1:
        for k in range(len(outputs)):
            fresh = _differentiable(fn(x))
            groups.append([torch._C._functions.UndefinedGrad()(o) if idx == k else o for idx, o in enumerate(fresh)])
    for group in groups:
        try:
            total: Any = sum((o * 0).sum() for o in group) if group else None  # zeros into every output
            grads = torch.autograd.grad(total, [x], allow_unused=True) if total is not None else ()
        except RuntimeError as exc:
            raise GradcheckFailure(
                "Expected backward function to handle undefined output grads. "
                'Please look at "Notes about undefined output gradients" in '
                '"tools/autograd/derivatives.yaml"'
            ) from exc
        for gi in grads:
            if gi is not None and not gi.eq(0).all():
                raise GradcheckFailure(
                    "Expected all input grads to be undefined or zero when all output grads are undefined "
                    'or zero. Please look at "Notes about undefined output gradients" in '
                    '"tools/autograd/derivatives.yaml"'
                )
    return True
