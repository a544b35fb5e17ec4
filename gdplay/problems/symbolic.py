"""Symbolic gradients: an objective as scalar expression trees over its coordinates, differentiated by rule.

gdplay owns the formula tree of every `expr:` objective (and writes a few built-ins as trees
here), so it can derive ∂f/∂xⱼ itself instead of asking autograd at every step. The compiled
engine (gdplay/engine/compiled.py) evaluates f and ∇f from these trees on one [K] tensor per
coordinate (K runs), which Inductor fuses into a single loop; autograd stays the oracle in the
tests and the default everywhere else.

A formula over vector variables is first *scalarised*: `w` of length n becomes the n
coordinates w[0..n−1], an element-wise operation becomes n scalar ones, and `sum(...)` adds
them up (left to right). The derivative rules, with u' = ∂u/∂xⱼ:

    (u ± v)' = u' ± v'          (u·v)' = u'·v + u·v'          (u/v)' = (u' − (u/v)·v')/v
    (uᶜ)' = c·uᶜ⁻¹·u'           (cᵛ)' = cᵛ·ln c·v'            (uᵛ)' = uᵛ·(v'·ln u + v·u'/u)
    sin' = cos   cos' = −sin   tan' = 1 + tan²   exp' = exp   log u' = u'/u   √u' = u'/(2√u)
    |u|' = sign(u)·u'   tanh' = 1 − tanh²   σ' = σ·(1 − σ)

A derivative that is structurally zero (xⱼ does not occur under a node) is dropped, as
autograd drops a path that does not exist, so a constant factor never turns 0 into 0·inf = NaN.
Nodes are shared (a dictionary of the nodes built so far), so the same sub-expression is
computed once per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdplay.problems.formula import Call, Expr, Formula, Index, Neg, Num, Var, parse

MAX_COORDINATES = 64  # wider objectives stay on autograd: one tensor per coordinate would not pay


@dataclass(frozen=True)
class S:
    """A scalar node: op is 'num' (value), 'x' (coordinate index), 'neg', '+', '-', '*', '/', '**',
    or a function name (sin, cos, ..., and 'sign' for |u|')."""

    op: str
    args: tuple[S, ...] = ()
    value: float = 0.0
    index: int = -1


def num(v: float) -> S:
    return S("num", value=float(v))


def coord(i: int) -> S:
    return S("x", index=i)


ZERO, ONE = num(0.0), num(1.0)


def _is(node: S, v: float) -> bool:
    return node.op == "num" and node.value == v


def add(a: S, b: S) -> S:
    if a is ZERO or b is ZERO:
        return b if a is ZERO else a
    return S("+", (a, b))


def sub(a: S, b: S) -> S:
    if b is ZERO:
        return a
    if a is ZERO:
        return neg(b)
    return S("-", (a, b))


def mul(a: S, b: S) -> S:
    if a is ZERO or b is ZERO:
        return ZERO
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    return S("*", (a, b))


def div(a: S, b: S) -> S:
    if a is ZERO:
        return ZERO
    if _is(b, 1.0):
        return a
    return S("/", (a, b))


def neg(a: S) -> S:
    if a is ZERO:
        return ZERO
    if a.op == "num":
        return num(-a.value)
    return S("neg", (a,))


def power(a: S, b: S) -> S:
    return S("**", (a, b))


def call(name: str, a: S) -> S:
    return S(name, (a,))


# ---- from a parsed formula ----------------------------------------------------------------


def scalarise(formula: Formula, layout_slices: Sequence[tuple[str, int, int]], sizes: Sequence[int | None]) -> S:
    """The formula as one scalar tree over the flat coordinates of its layout."""
    where = {name: (start, stop, n) for (name, start, stop), n in zip(layout_slices, sizes, strict=True)}

    def expand(node: Expr) -> list[S]:
        if isinstance(node, Num):
            return [num(node.value)]
        if isinstance(node, Var):
            start, stop, _ = where[node.name]
            return [coord(i) for i in range(start, stop)]
        if isinstance(node, Index):
            start, stop, _ = where[node.name]
            i = node.index if node.index >= 0 else (stop - start) + node.index
            return [coord(start + i)]
        if isinstance(node, Neg):
            return [neg(a) for a in expand(node.operand)]
        if isinstance(node, Call):
            inner = expand(node.arg)
            if node.func == "sum":
                total = inner[0]
                for term in inner[1:]:
                    total = S("+", (total, term))
                return [total]
            return [call(node.func, a) for a in inner]
        left, right = expand(node.left), expand(node.right)
        n = max(len(left), len(right))
        left = left * n if len(left) == 1 else left
        right = right * n if len(right) == 1 else right
        return [S(node.op, (a, b)) for a, b in zip(left, right, strict=True)]

    (tree,) = expand(formula.tree)
    return tree


# ---- built-ins written as trees -------------------------------------------------------------


def _rosenbrock(d: int, p: Mapping[str, Any]) -> S:
    a, b = num(p["a"]), num(p["b"])
    total: S | None = None
    for i in range(d - 1):
        head, tail = coord(i), coord(i + 1)
        term = S("+", (S("*", (b, S("**", (S("-", (tail, S("*", (head, head)))), num(2.0))))),
                       S("**", (S("-", (a, head)), num(2.0)))))  # fmt: skip
        total = term if total is None else S("+", (total, term))
    return total if total is not None else ZERO


def _sphere(d: int, p: Mapping[str, Any]) -> S:
    total = S("*", (coord(0), coord(0)))
    for i in range(1, d):
        total = S("+", (total, S("*", (coord(i), coord(i)))))
    return total


def _booth(d: int, p: Mapping[str, Any]) -> S:
    u, v = coord(0), coord(1)
    first = S("-", (S("+", (u, S("*", (num(2.0), v)))), num(7.0)))
    second = S("-", (S("+", (S("*", (num(2.0), u)), v)), num(5.0)))
    return S("+", (S("**", (first, num(2.0))), S("**", (second, num(2.0)))))


def _himmelblau(d: int, p: Mapping[str, Any]) -> S:
    u, v = coord(0), coord(1)
    first = S("-", (S("+", (S("*", (u, u)), v)), num(11.0)))
    second = S("-", (S("+", (u, S("*", (v, v)))), num(7.0)))
    return S("+", (S("**", (first, num(2.0))), S("**", (second, num(2.0)))))


def _matyas(d: int, p: Mapping[str, Any]) -> S:
    u, v = coord(0), coord(1)
    squares = S("*", (num(0.26), S("+", (S("*", (u, u)), S("*", (v, v))))))
    return S("-", (squares, S("*", (S("*", (num(0.48), u)), v))))


# name -> tree builder (d, params); each written as the built-in's torch code evaluates it.
BUILTIN_TREES: dict[str, Callable[[int, Mapping[str, Any]], S]] = {
    "rosenbrock": _rosenbrock,
    "sphere": _sphere,
    "booth": _booth,
    "himmelblau": _himmelblau,
    "matyas": _matyas,
}


# name -> the term φ of a built-in that is a sum over its coordinates, f(x) = Σᵢ φ(xᵢ), as a tree in
# coordinate 0: any dimension, evaluated element-wise on the whole [K, d] point (the wide path).
SEPARABLE_TERMS: dict[str, Callable[[Mapping[str, Any]], S]] = {
    "sphere": lambda p: S("*", (coord(0), coord(0))),
}


def separable_term(objective: Any) -> S | None:
    """φ when the objective is f(x) = Σᵢ φ(xᵢ) (then ∂f/∂xᵢ = φ'(xᵢ), one formula for every i), else None."""
    if objective.kind != "builtin":
        return None
    build = SEPARABLE_TERMS.get(objective.facts.get("builtin", ""))
    return None if build is None else build(objective.facts["params"])


def objective_tree(objective: Any) -> S | None:
    """The scalar tree of an objective, or None when gdplay has no tree for it (Python objectives,
    built-ins not in BUILTIN_TREES, more than MAX_COORDINATES coordinates)."""
    if objective.dim > MAX_COORDINATES:
        return None
    if objective.kind == "formula":
        formula = parse(objective.formula)
        tree = scalarise(formula, objective.layout.slices(), objective.layout.sizes)
        return None if _variable_power(tree) else tree
    if objective.kind == "builtin":
        build = BUILTIN_TREES.get(objective.facts.get("builtin", ""))
        if build is None:
            return None
        return build(objective.dim, objective.facts["params"])
    return None


def _variable_power(tree: S) -> bool:
    """Whether the tree has u**v with both u and v depending on x: its rule uᵛ·(v'·ln u + v·u'/u) is
    NaN or −inf at u = 0 where autograd gives 0 (torch masks that case), so such formulas stay with
    autograd (the compiled engine declines them)."""
    seen: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.op == "**":
            a, b = node.args
            if a.op != "num" and b.op != "num":
                return True
        stack.extend(arg for arg in getattr(node, "args", ()) if isinstance(arg, S))
    return False


# ---- derivatives ----------------------------------------------------------------------------


def gradient(tree: S, dim: int) -> list[S]:
    """[∂f/∂x₀, ..., ∂f/∂x_{dim−1}] as trees, by the rules in the module docstring."""
    return [derivative(tree, j) for j in range(dim)]


def derivative(tree: S, j: int) -> S:
    memo: dict[S, S] = {}

    def d(node: S) -> S:
        found = memo.get(node)
        if found is not None:
            return found
        memo[node] = out = _rule(node, j, d)
        return out

    return d(tree)


def _rule(node: S, j: int, d: Callable[[S], S]) -> S:
    op = node.op
    if op == "num":
        return ZERO
    if op == "x":
        return ONE if node.index == j else ZERO
    if op == "neg":
        return neg(d(node.args[0]))
    if op in ("+", "-"):
        a, b = node.args
        return add(d(a), d(b)) if op == "+" else sub(d(a), d(b))
    if op == "*":
        a, b = node.args
        return add(mul(d(a), b), mul(a, d(b)))
    if op == "/":
        a, b = node.args
        da, db = d(a), d(b)
        if db is ZERO:
            return div(da, b)
        return div(sub(da, mul(div(a, b), db)), b)
    if op == "**":
        a, b = node.args
        da, db = d(a), d(b)
        if b.op == "num":
            c = b.value
            if c == 0.0:
                return ZERO
            if c == 2.0:
                return mul(mul(num(2.0), a), da)
            return mul(mul(num(c), power(a, num(c - 1.0))), da)
        if a.op == "num":
            return mul(mul(node, num(math.log(a.value) if a.value > 0 else math.nan)), db)
        return mul(node, add(mul(db, call("log", a)), div(mul(b, da), a)))
    (a,) = node.args
    da = d(a)
    if da is ZERO:
        return ZERO
    outer = {
        "sin": lambda: call("cos", a),
        "cos": lambda: neg(call("sin", a)),
        "tan": lambda: add(ONE, mul(node, node)),
        "exp": lambda: node,
        "log": lambda: div(ONE, a),
        "sqrt": lambda: div(ONE, mul(num(2.0), node)),
        "abs": lambda: call("sign", a),
        "tanh": lambda: sub(ONE, mul(node, node)),
        "sigmoid": lambda: mul(node, sub(ONE, node)),
    }[op]()
    return mul(outer, da)


# ---- evaluation on tensors ------------------------------------------------------------------

Tape = tuple[tuple[Any, ...], ...]


def tape(roots: Sequence[S]) -> tuple[Tape, tuple[int, ...]]:
    """The trees as straight-line code: (op, operands...) per shared node, in an order where each
    node comes after its operands, and the slot of each root (roots[0] is f, the rest ∂f/∂xⱼ).
    An operand is a slot number (int) or a constant (float); a coordinate is ('x', i). Tracing
    this loop (torch.compile) costs a few list look-ups per node instead of hashing trees."""
    slots: dict[S, int] = {}
    code: list[tuple[Any, ...]] = []

    def visit(node: S) -> Any:
        if node.op == "num":
            return float(node.value)
        found = slots.get(node)
        if found is not None:
            return found
        if node.op == "x":
            code.append(("x", node.index))
        else:
            code.append((node.op, *(visit(a) for a in node.args)))
        slots[node] = len(code) - 1
        return slots[node]

    outs = [visit(r) for r in roots]
    fixed: list[int] = []
    for i, out in enumerate(outs):  # a constant root gets a slot of its own
        if isinstance(out, float):
            # f as the eager formula gives it (NaN where x is); a gradient as autograd's zeros
            code.append(("const" if i == 0 else "fill", out))
            out = len(code) - 1
        fixed.append(out)
    return tuple(code), tuple(fixed)


def run_tape(code: Tape, outs: Sequence[int], xs: Sequence[Any]) -> list[Any]:
    """Evaluate a tape at coordinates `xs` (one tensor per coordinate, all of one shape)."""
    import torch

    base = xs[0]
    values: list[Any] = []
    for op, *args in code:
        if op == "x":
            values.append(xs[args[0]])
            continue
        if op == "const":
            values.append(base * 0.0 + args[0])  # NaN where x is, as the eager formula's constant
            continue
        if op == "fill":
            values.append(torch.full_like(base, args[0]))
            continue
        a = [values[i] if isinstance(i, int) else i for i in args]
        if op == "neg":
            out = -a[0]
        elif op == "+":
            out = a[0] + a[1]
        elif op == "-":
            out = a[0] - a[1]
        elif op == "*":
            out = a[0] * a[1]
        elif op == "/":
            out = a[0] / a[1]
        elif op == "**":
            out = torch.pow(a[0], a[1]) if not isinstance(a[0], torch.Tensor) else a[0] ** a[1]
        else:
            x = a[0] if isinstance(a[0], torch.Tensor) else base * 0.0 + a[0]
            out = getattr(torch, op)(x)
        values.append(out)
    return [values[i] for i in outs]


def evaluate(roots: Sequence[S], xs: Sequence[Any]) -> list[Any]:
    """The roots' values at the coordinates `xs`, each shared node computed once."""
    code, outs = tape(roots)
    return run_tape(code, outs, xs)


def signature(roots: Sequence[S]) -> str:
    """A text key of the trees (for caching the compiled code that evaluates them)."""
    return repr(tape(roots))
